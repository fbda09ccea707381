/**
 * The JSON Schema of contain.yml, generated from the same tables the loader reads (RUN_OPTIONS
 * with a key, and the key tables of app-keys.ts), so editors complete and check exactly
 * what contain accepts. Draft-07: the newest draft the YAML language server (VS Code's YAML
 * extension, Neovim's yamlls) fully supports. templates/contain.schema.json is this, rendered; a
 * unit test keeps the two equal.
 */
import {parse as parseYaml} from 'yaml'
import {CAPABILITIES} from '../capabilities.js'
import {NAMESPACES} from '../namespaces.js'
import {
  APP_KEYS,
  appKeys,
  BACKOFF_KEYS,
  COMPOSE_REPLICA_KEYS,
  DEPLOY_KEYS,
  ENV_FILE_KEYS,
  HEALTHCHECK_KEYS,
  LOGGING_KEYS,
  LOGGING_OPTION_KEYS,
  TOP_KEYS,
  type KeyDoc,
} from './app-keys.js'
import {APP_NAME_PATTERN, PROJECT_NAME_PATTERN} from './project-file.js'
import {describeOption, FILE_OPTIONS, optionSpec} from './schema.js'
import {DURATION_PATTERN, MAX_REPLICAS, RESTART_MODES, RESTART_POLICIES} from './supervision.js'

export type JsonSchema = {[key: string]: unknown}

export const JSON_SCHEMA_DRAFT = 'http://json-schema.org/draft-07/schema#'

const string: JsonSchema = {type: 'string'}
const stringOrNumber: JsonSchema = {type: ['string', 'number']}
const extensions = {'^x-': {description: 'Extension field, ignored (a place for YAML anchors, as in docker-compose)'}}

/** A closed set editors offer, while other text still passes (e.g. sys_admin for SYS_ADMIN). */
function suggest(values: readonly string[]): JsonSchema {
  return {anyOf: [{enum: [...values]}, string]}
}

function stringOrList(item: JsonSchema): JsonSchema {
  return {anyOf: [item, {type: 'array', items: item}]}
}

const duration: JsonSchema = {anyOf: [{type: 'string', pattern: DURATION_PATTERN.source}, {const: 0}], examples: ['10s', '1m30s', '500ms']}

/** The example of a key as a JSON value, from its YAML text. */
function examples(doc: {example?: string}): JsonSchema {
  return doc.example === undefined ? {} : {examples: [parseYaml(doc.example)]}
}

function described(doc: KeyDoc, schema: JsonSchema): JsonSchema {
  return {description: doc.description, ...schema, ...examples(doc)}
}

function object(keys: Record<string, KeyDoc>, properties: Record<string, JsonSchema>, extra: JsonSchema = {}): JsonSchema {
  const missing = Object.keys(keys).filter(key => !(key in properties))
  const unknown = Object.keys(properties).filter(key => !(key in keys))
  if (missing.length > 0 || unknown.length > 0)
    throw new Error(`JSON Schema and key table disagree: missing ${missing.join(', ') || '-'}, unknown ${unknown.join(', ') || '-'}`)
  return {
    type: 'object',
    properties: Object.fromEntries(Object.entries(properties).map(([key, schema]) => [key, described(keys[key], schema)])),
    additionalProperties: false,
    ...extra,
  }
}

const capabilityNames = ['ALL', ...CAPABILITIES.map(name => name.replace(/^CAP_/, ''))]

/** The value schema of a key that holds a `contain run` flag, by the flag's kind. */
function flagSchema(spec: (typeof FILE_OPTIONS)[number]): JsonSchema {
  const {key} = spec
  switch (key) {
    case 'environment':
      return {
        anyOf: [
          {type: 'object', additionalProperties: {type: ['string', 'number', 'boolean', 'null']}},
          {type: 'array', items: string},
        ],
      }
    case 'env_file':
      return stringOrList({anyOf: [string, object(ENV_FILE_KEYS, {path: string, required: {type: 'boolean'}}, {required: ['path']})]})
    case 'namespaces':
      return stringOrList(suggest([...NAMESPACES, ...NAMESPACES.map(name => `-${name}`), ...NAMESPACES.map(name => `+${name}`)]))
    case 'cap_add':
    case 'cap_drop':
      return stringOrList(suggest(capabilityNames))
    case 'seccomp':
      return suggest(['default', 'unconfined'])
    case 'volumes':
      return {
        type: 'array',
        items: {
          anyOf: [
            {type: 'string', pattern: '^[^:]+:/[^:]*(:(ro|rw))?$'},
            {
              type: 'object',
              properties: {type: {const: 'bind'}, source: string, target: {type: 'string', pattern: '^/'}, read_only: {type: 'boolean'}},
              required: ['source', 'target'],
              additionalProperties: false,
            },
          ],
        },
      }
    case 'security_opt':
      return stringOrList(suggest(['no-new-privileges', 'no-new-privileges=false', 'seccomp=unconfined']))
  }
  if (spec.kind === 'boolean') return {type: 'boolean'}
  if (spec.multiple) return stringOrList(string)
  // helpValue "host|none" lists every value the flag takes.
  if (spec.helpValue && /^[a-z]+(\|[a-z]+)+$/.test(spec.helpValue)) return {enum: spec.helpValue.split('|')}
  return stringOrNumber
}

/** How contain.yml's docs name an option: its key, or its flag when the file has none. */
export function fileName(id: string): string {
  return optionSpec(id)?.key ?? `--${id}`
}

function appSchema(): JsonSchema {
  const healthTest: JsonSchema = {
    anyOf: [
      {type: 'string', minLength: 1},
      {type: 'array', minItems: 1, items: [{enum: ['CMD', 'CMD-SHELL', 'NONE']}], additionalItems: stringOrNumber},
      {
        type: 'object',
        properties: {http: {type: 'string', pattern: '^http://', description: 'GET this URL; healthy on 2xx and 3xx'}},
        required: ['http'],
        additionalProperties: false,
      },
      {
        type: 'object',
        properties: {tcp: {type: ['string', 'integer'], description: 'HOST:PORT, or a port on 127.0.0.1; healthy when it accepts a connection'}},
        required: ['tcp'],
        additionalProperties: false,
      },
    ],
  }
  const replicaCount: JsonSchema = {type: ['integer', 'string'], minimum: 1, maximum: MAX_REPLICAS}
  const own: Record<string, JsonSchema> = {
    command: {
      anyOf: [
        {type: 'string', minLength: 1},
        {type: 'array', minItems: 1, items: stringOrNumber},
      ],
    },
    restart: {anyOf: [{enum: [...RESTART_POLICIES]}, {type: 'string', pattern: '^on-failure:[1-9][0-9]*$'}]},
    healthcheck: object(HEALTHCHECK_KEYS, {
      test: healthTest,
      interval: duration,
      timeout: duration,
      retries: {type: ['integer', 'string'], minimum: 1},
      start_period: duration,
      disable: {type: 'boolean'},
    }),
    stop_signal: {anyOf: [suggest(['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGKILL']), {type: 'integer', minimum: 1}]},
    stop_grace_period: duration,
    logging: object(LOGGING_KEYS, {
      max_size: stringOrNumber,
      max_files: {type: ['integer', 'string'], minimum: 1, maximum: 1000},
      dir: string,
      driver: {enum: ['json-file', 'local']},
      options: object(LOGGING_OPTION_KEYS, {'max-size': stringOrNumber, 'max-file': {type: ['string', 'integer']}}),
    }),
    backoff: object(BACKOFF_KEYS, {
      initial: duration,
      max: duration,
      factor: {type: 'number', minimum: 1, maximum: 100},
      jitter: {type: 'number', minimum: 0, maximum: 1},
      reset_after: duration,
    }),
    restart_mode: {enum: [...RESTART_MODES, 'start-first']},
    replicas: replicaCount,
    scale: replicaCount,
    deploy: object(DEPLOY_KEYS, {replicas: replicaCount}),
  }
  const properties: Record<string, JsonSchema> = {}
  for (const key of appKeys()) {
    const option = FILE_OPTIONS.find(candidate => candidate.key === key)
    if (option) {
      properties[key] = {
        description: `${describeOption(option, fileName)} (contain run --${option.flag})`,
        ...flagSchema(option),
        examples: [parseYaml(option.example)],
      }
    } else if (key in own) {
      properties[key] = described(APP_KEYS[key], own[key])
    } else {
      throw new Error(`JSON Schema: no schema for app key ${key}`)
    }
  }
  properties.scale = described(COMPOSE_REPLICA_KEYS.scale, own.scale)
  properties.deploy = described(COMPOSE_REPLICA_KEYS.deploy, own.deploy)
  return {type: 'object', properties, required: ['command'], patternProperties: extensions, additionalProperties: false}
}

/** The JSON Schema of contain.yml. */
export function containJsonSchema(): JsonSchema {
  const apps: JsonSchema = {
    type: 'object',
    minProperties: 1,
    propertyNames: {pattern: `^(?!.*\\.\\.)${APP_NAME_PATTERN.source.slice(1)}`},
    additionalProperties: {$ref: '#/definitions/app'},
  }
  return {
    $schema: JSON_SCHEMA_DRAFT,
    title: 'contain.yml',
    description: "Apps that `contain up` runs isolated and limited, with docker-compose's keys where compose has one",
    ...object(
      TOP_KEYS,
      {
        // Beside $ref, draft-07 ignores other keywords (the description): hence allOf.
        apps: {allOf: [{$ref: '#/definitions/apps'}]},
        services: {allOf: [{$ref: '#/definitions/apps'}]},
        name: {type: 'string', pattern: PROJECT_NAME_PATTERN.source},
        version: stringOrNumber,
      },
      {patternProperties: extensions, anyOf: [{required: ['apps']}, {required: ['services']}]},
    ),
    definitions: {apps, app: appSchema()},
  }
}

/** The schema as templates/contain.schema.json holds it. */
export function renderJsonSchema(): string {
  return `${JSON.stringify(containJsonSchema(), null, 2)}\n`
}
