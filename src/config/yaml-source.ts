/**
 * contain.yml as YAML: the parsed document with its line counter, errors at a key path as
 * FILE:LINE:COLUMN, duplicate keys, and the checks of value types and key names.
 */
import {isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type Pair, type YAMLMap} from 'yaml'
import {FileError, InvalidValueError} from '../errors.js'
import {nearest} from '../suggest.js'

export type Path = readonly (string | number)[]

/** `apps.web.cap_add[1]`; a key other than a plain word in brackets: `apps["web.1"].cpus`. */
export function formatPath(path: Path): string {
  return path
    .map((segment, index) =>
      typeof segment === 'number' ? `[${segment}]` : !/^[\w-]+$/.test(segment) ? `[${JSON.stringify(segment)}]` : index === 0 ? segment : `.${segment}`,
    )
    .join('')
}

/** Rewrites `--memory` in a flag's message to `mem_limit`, the key the user wrote. */

function keyText(key: unknown): string {
  if (isScalar(key)) return typeof key.value === 'symbol' ? '<<' : String(key.value)
  return String(key)
}

/** The contain.yml being read: its text, document and line counter, and errors at a path. */
export class YamlSource {
  constructor(
    readonly display: string,
    readonly doc: Document.Parsed,
    readonly lines: LineCounter,
  ) {}

  /** The position of an offset, 1-based. */
  at(offset: number): {line: number; column: number} {
    const {line, col} = this.lines.linePos(offset)
    return {line, column: col}
  }

  /** Where the node at `path` is: its value, or its key; the nearest ancestor when it has none. */
  locate(path: Path, part: 'key' | 'value' = 'value'): {line: number; column: number} {
    let node: unknown = this.doc.contents
    let key: Node | undefined
    let best: {node?: Node; key?: Node} = {node: node as Node}
    for (const segment of path) {
      node = this.resolve(node)
      if (isMap(node)) {
        const pair = this.findPair(node, String(segment), 0)
        if (!pair) break
        key = pair.key as Node
        node = pair.value
      } else if (isSeq(node) && typeof segment === 'number' && node.items[segment] !== undefined) {
        key = undefined
        node = node.items[segment]
      } else {
        break
      }
      best = {node: (node ?? undefined) as Node | undefined, key}
    }
    const target = part === 'key' ? (best.key ?? best.node) : (best.node ?? best.key)
    return target?.range ? this.at(target.range[0]) : {line: 1, column: 1}
  }

  /** The pair that gives a map's key its value: its own last one, else the first merged one. */
  private findPair(map: YAMLMap, key: string, depth: number): Pair | undefined {
    const own = [...map.items].reverse().find(pair => keyText(pair.key) === key)
    if (own || depth > 20) return own
    for (const merge of map.items.filter(pair => keyText(pair.key) === '<<')) {
      const sources = isSeq(merge.value) ? merge.value.items : [merge.value]
      for (const source of sources) {
        const resolved = this.resolve(source)
        const found = isMap(resolved) ? this.findPair(resolved, key, depth + 1) : undefined
        if (found) return found
      }
    }
    return undefined
  }

  /** The keys of the map at `path` in the order the file gives them (JS objects put "1" first). */
  keysInOrder(path: Path, map: Record<string, unknown>): string[] {
    let node: unknown = this.doc.contents
    for (const segment of path) {
      node = this.resolve(node)
      node = isMap(node) ? this.findPair(node, String(segment), 0)?.value : undefined
    }
    node = this.resolve(node)
    const written = isMap(node) ? node.items.map(pair => keyText(pair.key)).filter(key => key !== '<<' && key in map) : []
    return [...new Set([...written, ...Object.keys(map)])]
  }

  private resolve(node: unknown): unknown {
    return isAlias(node) ? node.resolve(this.doc) : node
  }

  /** An error at the value (or key) at `path`, in the form FILE:LINE:COLUMN: PATH: PROBLEM. */
  fail(path: Path, problem: string, fix: string, part: 'key' | 'value' = 'value'): never {
    throw this.error(path, problem, fix, this.locate(path, part))
  }

  error(path: Path, problem: string, fix: string, position: {line: number; column: number}, cause?: unknown): FileError {
    return new FileError(this.display, path.length === 0 ? problem : `${formatPath(path)}: ${problem}`, {...position, fix, cause})
  }

  /** Runs a value parser named after `path` and reports its InvalidValueError at the value. */
  check<T>(path: Path, parse: (field: string) => T): T {
    try {
      return parse(formatPath(path))
    } catch (error) {
      if (!(error instanceof InvalidValueError)) throw error
      throw new FileError(this.display, error.message, {...this.locate(path), fix: error.fix, cause: error})
    }
  }
}

/** First line of a yaml error, without the "at line X, column Y" yaml appends. */
function yamlProblem(message: string): string {
  return message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')
}

const YAML_FIXES: Record<string, string> = {
  TAB_AS_INDENT: 'indent with spaces, not tabs',
  MULTIPLE_DOCS: 'keep one YAML document: remove the second ---',
  BAD_INDENT: 'line the key up with its siblings, and close every [ and {',
  TAG_RESOLVE_FAILED: 'remove the tag (the word starting with !)',
}

/** Parses YAML, turning the parser's first error into a FileError at its line and column. */
export function parseYaml(display: string, text: string): YamlSource {
  const lines = new LineCounter()
  // Duplicate keys are found below, with the path and both lines in the message.
  const doc = parseDocument(text, {lineCounter: lines, merge: true, uniqueKeys: false, prettyErrors: true})
  const problem = doc.errors[0] ?? doc.warnings[0]
  if (problem) {
    const position = problem.linePos?.[0] ?? lines.linePos(problem.pos[0])
    throw new FileError(display, `invalid YAML: ${yamlProblem(problem.message)}`, {
      line: position.line,
      column: position.col,
      fix: YAML_FIXES[problem.code] ?? 'correct the YAML syntax there (quote values that hold ": " or " #")',
    })
  }
  const source = new YamlSource(display, doc, lines)
  findDuplicateKeys(source, doc.contents, [])
  return source
}

/** YAML allows one value per key; a second one would silently win, so it is an error. */
function findDuplicateKeys(source: YamlSource, node: unknown, path: Path): void {
  if (isSeq(node)) node.items.forEach((item, index) => findDuplicateKeys(source, item, [...path, index]))
  if (!isMap(node)) return
  const seen = new Map<string, Pair>()
  for (const pair of node.items) {
    // A list, map or !!binary as a key (`? [a]`, `{a: 1}: x`) would be stringified by toJS, with a Node warning.
    const keyNode = isAlias(pair.key) ? pair.key.resolve(source.doc) : pair.key
    if (
      keyNode !== null &&
      !(isScalar(keyNode) && ['string', 'number', 'boolean', 'symbol'].includes(typeof keyNode.value)) &&
      !(isScalar(keyNode) && keyNode.value === null)
    ) {
      throw source.error(
        path,
        'has a key that is not a plain word (a list, a map or binary data)',
        'write each key as a plain word, e.g. web:',
        source.at((pair.key as Node | null)?.range?.[0] ?? 0),
      )
    }
    const key = keyText(pair.key)
    const first = seen.get(key)
    if (first && key !== '<<') {
      const firstLine = source.at((first.key as Node).range?.[0] ?? 0).line
      const isApp = path.length === 1 && (path[0] === 'apps' || path[0] === 'services')
      throw source.error(
        [...path, key],
        isApp ? `duplicate app name (first at line ${firstLine})` : `duplicate key (first at line ${firstLine})`,
        isApp ? 'give each app its own name' : `keep one ${key}`,
        source.at((pair.key as Node).range?.[0] ?? 0),
      )
    }
    seen.set(key, pair)
    findDuplicateKeys(source, pair.value, [...path, key])
  }
}

export type YamlMap = Record<string, unknown>

export function isPlainMap(value: unknown): value is YamlMap {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype
}

/** How a value reads in "must be a string, not ..." messages. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return 'empty'
  if (Array.isArray(value)) return 'a list'
  if (isPlainMap(value)) return 'a map'
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (value instanceof Uint8Array) return 'binary data'
  return 'an unsupported YAML type'
}

export function typeError(source: YamlSource, path: Path, value: unknown, expected: string, example: string): never {
  return source.fail(
    path,
    `must be ${expected}, not ${describe(value)}`,
    value === null ? `give it a value, e.g. ${example}, or remove the key` : `write it as ${example}`,
  )
}

/** A string, or a number written as the CLI would get it (0.5 -> "0.5"). */
export function expectString(source: YamlSource, path: Path, value: unknown, example: string, numbers = true): string {
  if (typeof value === 'string') return value
  if (numbers && typeof value === 'number') return String(value)
  return typeError(source, path, value, numbers ? 'a string or a number' : 'a string', example)
}

/** A string, or a list of them. */
export function expectStringList(source: YamlSource, path: Path, value: unknown, example: string): string[] {
  if (typeof value === 'string' || typeof value === 'number') return [String(value)]
  if (!Array.isArray(value)) return typeError(source, path, value, 'a string or a list of strings', example)
  return value.map((item, index) => expectString(source, [...path, index], item, example))
}

export function expectBoolean(source: YamlSource, path: Path, value: unknown, example: string): boolean {
  if (typeof value === 'boolean') return value
  return typeError(source, path, value, 'true or false', example)
}

export function expectMap(source: YamlSource, path: Path, value: unknown, example: string): YamlMap {
  if (isPlainMap(value)) return value
  return typeError(source, path, value, 'a map of keys', example)
}

/** The known key closest to `key`, when it is close enough to be a typo (a one-letter key never is). */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  return nearest(key, known, Math.min(Math.max(2, Math.ceil(key.length * 0.4)), key.length - 1))[0]
}

export interface KeyRules {
  /** x-* keys are compose's extension fields, kept for YAML anchors: allowed and ignored. */
  extensions?: boolean
  /** Keys known from docker-compose that contain does not read, with why and what instead. */
  unsupported?: Record<string, {problem: string; fix: string}>
  /** Other docker-compose keys contain does not read. */
  foreign?: ReadonlySet<string>
  /** Words that stand for a known key (CLI flag names and synonyms). */
  aliases?: Record<string, string>
}

/** Unknown keys are errors (a typo would otherwise be ignored), with the closest known key. */
export function checkKeys(source: YamlSource, path: Path, map: YamlMap, known: readonly string[], rules: KeyRules = {}): void {
  for (const key of Object.keys(map)) {
    if (known.includes(key) || (rules.extensions && key.startsWith('x-'))) continue
    const at = [...path, key]
    const unsupported = rules.unsupported?.[key]
    if (unsupported) source.fail(at, `docker-compose's ${key} does not apply: ${unsupported.problem}`, unsupported.fix, 'key')
    if (rules.foreign?.has(key))
      source.fail(at, `docker-compose's ${key} is not supported by contain`, 'remove it (templates/contain.yml shows every key contain reads)', 'key')
    const alias = rules.aliases?.[key]
    const suggestion = alias !== undefined && known.includes(alias) ? alias : closestKey(key, known)
    if (suggestion) source.fail(at, `unknown key (did you mean ${suggestion}?)`, `rename it to ${suggestion}`, 'key')
    source.fail(at, 'unknown key', `use one of: ${known.join(', ')}`, 'key')
  }
}
