// JSON with positions. JSON.parse is native and fast, so it reads well-formed profiles. But it rounds
// integers past 2^53 (seccomp argument values are 64-bit) and its syntax errors often carry no
// position, so a small RFC 8259 scanner takes over for those, and finds lines for messages when one fails.

export type JsonObject = {[key: string]: JsonValue}
export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | JsonObject

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message)
  }
}

export interface JsonDocument {
  text: string
  value: JsonValue
  /** Where an object or list starts, or where one of an object's keys is. */
  offsetOf(node: object, key?: string): number | undefined
}

interface Location {
  start: number
  keys?: Map<string, number>
}

export function parseJsonDocument(text: string): JsonDocument {
  let value: JsonValue
  if (/\d{16}/.test(text)) {
    value = scanJson(text).value
  } else {
    try {
      value = JSON.parse(text) as JsonValue
    } catch {
      // Throws the same problem with its position.
      value = scanJson(text).value
    }
  }
  let locations: WeakMap<object, Location> | undefined
  return {
    text,
    value,
    offsetOf(node, key) {
      if (!locations) {
        const scanned = scanJson(text)
        locations = new WeakMap()
        copyLocations(value, scanned.value, scanned.locations, locations)
      }
      const location = locations.get(node)
      return (key === undefined ? undefined : location?.keys?.get(key)) ?? location?.start
    },
  }
}

/** Give each node of `target` the location of the node at the same path in the scanned tree. */
function copyLocations(target: JsonValue, scanned: JsonValue, from: WeakMap<object, Location>, into: WeakMap<object, Location>): void {
  if (target === null || typeof target !== 'object' || scanned === null || typeof scanned !== 'object') return
  const location = from.get(scanned)
  if (location) into.set(target, location)
  if (Array.isArray(target) && Array.isArray(scanned)) {
    target.forEach((item, index) => copyLocations(item, scanned[index], from, into))
  } else if (!Array.isArray(target) && !Array.isArray(scanned)) {
    for (const key of Object.keys(target)) copyLocations(target[key], scanned[key], from, into)
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y
const ESCAPES: Record<string, string> = {'"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t'}

/** Parse keeping every node's location and whole numbers exact (bigint past 2^53). A repeated key keeps the last value, as in Go and JSON.parse. */
function scanJson(text: string): {value: JsonValue; locations: WeakMap<object, Location>} {
  const locations = new WeakMap<object, Location>()
  let pos = 0

  const fail = (message: string, at = pos): never => {
    throw new JsonSyntaxError(message, at)
  }
  const found = () => (pos >= text.length ? 'the end of the file' : JSON.stringify(text[pos]))
  const skipWhitespace = () => {
    while (pos < text.length && ' \t\n\r'.includes(text[pos])) pos++
  }
  const expect = (char: string, what: string) => {
    skipWhitespace()
    if (text[pos] !== char) fail(`expected ${what} but found ${found()}`)
    pos++
  }

  function value(): JsonValue {
    skipWhitespace()
    const char = text[pos]
    if (char === '{') return object()
    if (char === '[') return array()
    if (char === '"') return string()
    if (char === '-' || (char >= '0' && char <= '9')) return number()
    for (const [word, result] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(word, pos)) {
        pos += word.length
        return result
      }
    }
    return fail(`expected a value but found ${found()}`)
  }

  function object(): JsonObject {
    const result = Object.create(null) as JsonObject
    const keys = new Map<string, number>()
    locations.set(result, {start: pos, keys})
    pos++
    skipWhitespace()
    if (text[pos] === '}') {
      pos++
      return result
    }
    for (;;) {
      skipWhitespace()
      if (text[pos] !== '"') fail(`expected a double-quoted key but found ${found()}`)
      const keyAt = pos
      const key = string()
      keys.set(key, keyAt)
      expect(':', `':' after the key`)
      result[key] = value()
      skipWhitespace()
      if (text[pos] === '}') {
        pos++
        return result
      }
      expect(',', `',' or '}' after the value`)
    }
  }

  function array(): JsonValue[] {
    const result: JsonValue[] = []
    locations.set(result, {start: pos})
    pos++
    skipWhitespace()
    if (text[pos] === ']') {
      pos++
      return result
    }
    for (;;) {
      result.push(value())
      skipWhitespace()
      if (text[pos] === ']') {
        pos++
        return result
      }
      expect(',', `',' or ']' after the list item`)
    }
  }

  function string(): string {
    let result = ''
    for (pos++; ; pos++) {
      const char = text[pos]
      if (char === '"') {
        pos++
        return result
      }
      if (char === undefined) fail('unterminated string')
      if (char < ' ') fail('control character in string (write it as an escape such as \\n)')
      if (char !== '\\') {
        result += char
        continue
      }
      const escape = text[pos + 1]
      if (escape === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(pos + 2, pos + 6))) {
        result += String.fromCharCode(Number.parseInt(text.slice(pos + 2, pos + 6), 16))
        pos += 5
      } else if (escape !== undefined && escape in ESCAPES) {
        result += ESCAPES[escape]
        pos += 1
      } else {
        fail('invalid escape in string')
      }
    }
  }

  function number(): number | bigint {
    NUMBER.lastIndex = pos
    const match = NUMBER.exec(text)
    if (!match) return fail('invalid number')
    pos += match[0].length
    const numeric = Number(match[0])
    if (match[1] === undefined && match[2] === undefined && !Number.isSafeInteger(numeric)) return BigInt(match[0])
    return numeric
  }

  const result = value()
  skipWhitespace()
  if (pos < text.length) fail(`unexpected ${found()} after the end of the JSON value`)
  return {value: result, locations}
}

export function lineAndColumn(text: string, offset: number): {line: number; column: number} {
  let line = 1
  let lineStart = 0
  for (let index = text.indexOf('\n'); index !== -1 && index < offset; index = text.indexOf('\n', index + 1)) {
    line++
    lineStart = index + 1
  }
  return {line, column: offset - lineStart + 1}
}
