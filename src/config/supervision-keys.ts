/** The supervision keys of an app in contain.yml (restart, healthcheck, logging, ...) read into a SupervisionConfig. */
import {resolve} from 'node:path'
import {BACKOFF_KEYS, DEPLOY_KEYS, HEALTHCHECK_KEYS, HEALTHCHECK_UNSUPPORTED, LOGGING_KEYS, LOGGING_OPTION_KEYS} from './app-keys.js'
import {
  defaultSupervision,
  DEFAULT_HEALTHCHECK_TIMING,
  parseDuration,
  parseHttpTarget,
  parseLogSize,
  parseNumberInRange,
  parseReplicas,
  parseRestart,
  parseRestartMode,
  parseSignal,
  parseTcpTarget,
  type HealthcheckConfig,
  type SupervisionConfig,
} from './supervision.js'
import {parseInteger} from './units.js'
import {checkKeys, describe, expectBoolean, expectMap, expectString, isPlainMap, typeError, type Path, type YamlMap, type YamlSource} from './yaml-source.js'

/** Node's timers hold at most 2^31-1 ms (24.8 days); a longer one fires after 1 ms instead. */
const MAX_TIMER_MS = 2 ** 31 - 1

function parseDurationAt(source: YamlSource, path: Path, value: unknown, example: string): number {
  const text = expectString(source, path, value, example)
  const ms = source.check(path, field => parseDuration(field, text))
  if (ms > MAX_TIMER_MS) source.fail(path, `is too long (${text}): contain waits at most 596h`, `use a shorter duration, e.g. ${example.split(': ')[1]}`)
  return ms
}

function parseHealthTest(source: YamlSource, path: Path, value: unknown): Pick<HealthcheckConfig, 'kind' | 'target'> | undefined {
  const example = 'test: ["CMD", "curl", "-f", "http://127.0.0.1:3000/up"]'
  if (typeof value === 'string') {
    if (value.trim() === '') source.fail(path, 'is empty', `give the check to run, e.g. ${example}`)
    return {kind: 'shell', target: value}
  }
  if (Array.isArray(value)) {
    const [first, ...rest] = value as unknown[]
    if (first === 'NONE') return undefined
    if (first === 'CMD') {
      const argv = rest.map((item, index) => expectString(source, [...path, index + 1], item, '"curl"'))
      if (argv.length === 0 || argv[0] === '') source.fail(path, 'CMD has no command after it', `write ${example}`)
      return {kind: 'command', target: argv}
    }
    if (first === 'CMD-SHELL') {
      if (rest.length !== 1)
        source.fail(path, `CMD-SHELL takes one shell string, not ${rest.length}`, 'write ["CMD-SHELL", "curl -f http://127.0.0.1:3000/up || exit 1"]')
      const script = expectString(source, [...path, 1], rest[0], '"curl -f http://127.0.0.1:3000/up"', false)
      if (script.trim() === '') source.fail([...path, 1], 'is empty', 'give the shell command to run')
      return {kind: 'shell', target: script}
    }
    return source.fail(
      value.length === 0 ? path : [...path, 0],
      value.length === 0 ? 'is empty' : `must start with CMD, CMD-SHELL or NONE, not ${describe(first)}`,
      `write ${example}, ["CMD-SHELL", "script"] or ["NONE"]`,
    )
  }
  if (isPlainMap(value)) {
    checkKeys(source, path, value, ['http', 'tcp'])
    const kinds = Object.keys(value)
    if (kinds.length !== 1) source.fail(path, kinds.length === 0 ? 'is empty' : 'has both http and tcp', 'give one of {http: URL} or {tcp: HOST:PORT}')
    if (value.http !== undefined) {
      const url = expectString(source, [...path, 'http'], value.http, 'http: "http://127.0.0.1:3000/up"', false)
      return {kind: 'http', target: source.check([...path, 'http'], field => parseHttpTarget(field, url))}
    }
    const address = typeof value.tcp === 'number' ? `127.0.0.1:${value.tcp}` : expectString(source, [...path, 'tcp'], value.tcp, 'tcp: "127.0.0.1:3000"', false)
    return {kind: 'tcp', target: source.check([...path, 'tcp'], field => parseTcpTarget(field, address))}
  }
  return typeError(source, path, value, 'a list, a shell string, {http: URL} or {tcp: HOST:PORT}', example)
}

function parseHealthcheck(source: YamlSource, path: Path, value: unknown): HealthcheckConfig | undefined {
  const check = expectMap(source, path, value, 'healthcheck: {test: {http: "http://127.0.0.1:3000/up"}, interval: 5s}')
  checkKeys(source, path, check, Object.keys(HEALTHCHECK_KEYS), {unsupported: HEALTHCHECK_UNSUPPORTED})
  if (check.disable !== undefined && expectBoolean(source, [...path, 'disable'], check.disable, 'disable: true')) return undefined
  if (check.test === undefined) source.fail(path, 'has no test', 'add test:, e.g. test: {http: "http://127.0.0.1:3000/up"}, or disable: true', 'key')
  const test = parseHealthTest(source, [...path, 'test'], check.test)
  if (!test) return undefined
  const timing = {...DEFAULT_HEALTHCHECK_TIMING}
  const positive = (key: string, ms: number) => {
    if (ms <= 0) source.fail([...path, key], 'must be longer than 0', `give a duration such as ${HEALTHCHECK_KEYS[key].example}`)
    return ms
  }
  if (check.interval !== undefined) timing.intervalMs = positive('interval', parseDurationAt(source, [...path, 'interval'], check.interval, 'interval: 5s'))
  if (check.timeout !== undefined) timing.timeoutMs = positive('timeout', parseDurationAt(source, [...path, 'timeout'], check.timeout, 'timeout: 2s'))
  if (check.start_period !== undefined) timing.startPeriodMs = parseDurationAt(source, [...path, 'start_period'], check.start_period, 'start_period: 10s')
  if (check.retries !== undefined) {
    const text = expectString(source, [...path, 'retries'], check.retries, 'retries: 3')
    timing.retries = source.check([...path, 'retries'], field =>
      parseInteger(field, text, 1, 1_000_000, 'give the number of failures in a row that make the app unhealthy, e.g. 3'),
    )
  }
  return {...test, ...timing}
}

function parseLogging(source: YamlSource, path: Path, value: unknown, dir: string, logging: SupervisionConfig['logging']): void {
  const map = expectMap(source, path, value, 'logging: {max_size: 10m, max_files: 5}')
  checkKeys(source, path, map, Object.keys(LOGGING_KEYS))
  if (map.driver !== undefined) {
    const driver = expectString(source, [...path, 'driver'], map.driver, 'driver: json-file', false)
    if (driver !== 'json-file' && driver !== 'local')
      source.fail(
        [...path, 'driver'],
        `contain writes its own rotated log files, not the ${JSON.stringify(driver)} driver's`,
        'remove driver, or write json-file',
      )
  }
  let size: {value: unknown; path: Path} | undefined = map.max_size === undefined ? undefined : {value: map.max_size, path: [...path, 'max_size']}
  let files: {value: unknown; path: Path} | undefined = map.max_files === undefined ? undefined : {value: map.max_files, path: [...path, 'max_files']}
  if (map.options !== undefined) {
    const optionsPath = [...path, 'options']
    const options = expectMap(source, optionsPath, map.options, 'options: {max-size: 10m, max-file: "5"}')
    checkKeys(source, optionsPath, options, Object.keys(LOGGING_OPTION_KEYS))
    for (const [key, own] of [
      ['max-size', 'max_size'],
      ['max-file', 'max_files'],
    ] as const) {
      if (options[key] === undefined) continue
      if (map[own] !== undefined) source.fail([...optionsPath, key], `repeats ${own}`, `give the value once, as ${own}`, 'key')
      if (key === 'max-size') size = {value: options[key], path: [...optionsPath, key]}
      else files = {value: options[key], path: [...optionsPath, key]}
    }
  }
  if (size) {
    const text = expectString(source, size.path, size.value, 'max_size: 10m')
    logging.maxSizeBytes = source.check(size.path, field => parseLogSize(field, text))
  }
  if (files) {
    const text = expectString(source, files.path, files.value, 'max_files: 5')
    logging.maxFiles = source.check(files.path, field => parseInteger(field, text, 1, 1000, 'keep from 1 to 1000 files'))
  }
  if (map.dir !== undefined) logging.dir = resolve(dir, expectString(source, [...path, 'dir'], map.dir, 'dir: log/contain', false))
}

function parseBackoff(source: YamlSource, path: Path, value: unknown, backoff: SupervisionConfig['backoff']): void {
  const map = expectMap(source, path, value, 'backoff: {initial: 100ms, max: 60s}')
  checkKeys(source, path, map, Object.keys(BACKOFF_KEYS))
  if (map.initial !== undefined) backoff.initialMs = parseDurationAt(source, [...path, 'initial'], map.initial, 'initial: 100ms')
  if (map.max !== undefined) backoff.maxMs = parseDurationAt(source, [...path, 'max'], map.max, 'max: 60s')
  if (map.reset_after !== undefined) backoff.resetAfterMs = parseDurationAt(source, [...path, 'reset_after'], map.reset_after, 'reset_after: 10s')
  for (const [key, min, max] of [
    ['factor', 1, 100],
    ['jitter', 0, 1],
  ] as const) {
    if (map[key] === undefined) continue
    const text = expectString(source, [...path, key], map[key], `${key}: ${BACKOFF_KEYS[key].example}`)
    backoff[key] = source.check([...path, key], field => parseNumberInRange(field, text, min, max))
  }
  if (backoff.maxMs < backoff.initialMs) {
    source.fail(
      [...path, map.max === undefined ? 'initial' : 'max'],
      `max (${backoff.maxMs} ms) is shorter than initial (${backoff.initialMs} ms)`,
      'make max at least as long as initial',
    )
  }
}

export function parseSupervision(source: YamlSource, appPath: Path, app: YamlMap, dir: string): SupervisionConfig {
  const supervision = defaultSupervision()
  const at = (key: string) => [...appPath, key]
  if (app.restart !== undefined) {
    const text = expectString(source, at('restart'), app.restart, 'restart: on-failure', false)
    supervision.restart = source.check(at('restart'), field => parseRestart(field, text))
  }
  if (app.stop_signal !== undefined) {
    const text = expectString(source, at('stop_signal'), app.stop_signal, 'stop_signal: SIGINT')
    supervision.stopSignal = source.check(at('stop_signal'), field => parseSignal(field, text))
  }
  if (app.stop_grace_period !== undefined)
    supervision.stopGraceMs = parseDurationAt(source, at('stop_grace_period'), app.stop_grace_period, 'stop_grace_period: 30s')
  if (app.healthcheck !== undefined) supervision.healthcheck = parseHealthcheck(source, at('healthcheck'), app.healthcheck)
  if (app.logging !== undefined) parseLogging(source, at('logging'), app.logging, dir, supervision.logging)
  if (app.backoff !== undefined) parseBackoff(source, at('backoff'), app.backoff, supervision.backoff)
  if (app.restart_mode !== undefined) {
    const text = expectString(source, at('restart_mode'), app.restart_mode, 'restart_mode: rolling', false)
    supervision.restartMode = source.check(at('restart_mode'), field => parseRestartMode(field, text))
  }
  parseReplicasAt(source, appPath, app, supervision)
  return supervision
}

/** replicas, compose's scale, or compose's deploy.replicas: one of them, a whole number of at least 1. */
function parseReplicasAt(source: YamlSource, appPath: Path, app: YamlMap, supervision: SupervisionConfig): void {
  const given: Path[] = []
  if (app.deploy !== undefined) {
    const path = [...appPath, 'deploy']
    const deploy = expectMap(source, path, app.deploy, 'deploy: {replicas: 2}')
    const limits = {problem: 'contain reads limits directly under the app', fix: 'use cpus, mem_limit, mem_reservation and pids_limit under the app'}
    checkKeys(source, path, deploy, Object.keys(DEPLOY_KEYS), {
      unsupported: {resources: limits},
      foreign: new Set(['mode', 'placement', 'endpoint_mode', 'labels', 'restart_policy', 'rollback_config', 'update_config']),
    })
    if (deploy.replicas !== undefined) given.push([...path, 'replicas'])
  }
  if (app.replicas !== undefined) given.push([...appPath, 'replicas'])
  if (app.scale !== undefined) given.push([...appPath, 'scale'])
  if (given.length > 1)
    source.fail(given[1], `${given.map(path => path.slice(2).join('.')).join(' and ')} both give the number of instances`, 'keep one of them', 'key')
  if (given.length === 0) return
  const path = given[0]
  const value = path.length === 4 ? (app.deploy as YamlMap).replicas : app[path[2]]
  const text = expectString(source, path, value, `${path.slice(2).join('.')}: 2`)
  supervision.replicas = source.check(path, field => parseReplicas(field, text))
}
