/** An app's command in contain.yml: a list, or a string split into words as compose splits it. */
import {InvalidValueError} from '../errors.js'
import {expectString, typeError, type Path, type YamlSource} from './yaml-source.js'

const SHELL_OPERATORS = ['&&', '||', ';;', '>>', '<<', '$(', '|', '&', ';', '<', '>', '(', ')', '`', '$']

/**
 * Splits a command string into words as compose does (go-shellwords): whitespace separates,
 * quotes and backslashes group, nothing is expanded. Shell syntax ($VAR, &&, |, >, ...) would be
 * passed to the app literally, which is never what was meant, so it is refused with the fix.
 */
export function splitCommand(text: string, field = 'command'): string[] {
  const words: string[] = []
  let word = ''
  let inWord = false
  const shellSyntax = (at: number): never => {
    const operator = SHELL_OPERATORS.find(candidate => text.startsWith(candidate, at)) ?? text[at]
    throw new InvalidValueError(
      field,
      text,
      `uses shell syntax (${operator}) that contain does not interpret`,
      `run it through a shell: ${field.split('.').at(-1)}: ["sh", "-c", ${JSON.stringify(text.trim())}], or quote the ${JSON.stringify(operator)}`,
    )
  }
  const unterminated = (quote: string): never => {
    throw new InvalidValueError(field, text, `has an unterminated ${quote} quote`, `close the ${quote} quote`)
  }
  for (let i = 0; i < text.length; i++) {
    const char = text[i]
    if (char === "'") {
      const end = text.indexOf("'", i + 1)
      if (end === -1) unterminated("'")
      word += text.slice(i + 1, end)
      i = end
      inWord = true
    } else if (char === '"') {
      inWord = true
      for (i++; ; i++) {
        if (i >= text.length) unterminated('"')
        const inner = text[i]
        if (inner === '"') break
        if (inner === '\\' && i + 1 < text.length && '"\\$`\n'.includes(text[i + 1])) {
          if (text[i + 1] !== '\n') word += text[i + 1]
          i++
        } else if (inner === '$' || inner === '`') {
          shellSyntax(i)
        } else {
          word += inner
        }
      }
    } else if (char === '\\') {
      if (i + 1 < text.length && text[i + 1] !== '\n') word += text[i + 1]
      else if (i + 1 >= text.length) word += '\\'
      i++
      inWord = true
    } else if (/\s/.test(char)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
    } else if ('|&;<>()`$'.includes(char)) {
      shellSyntax(i)
    } else {
      word += char
      inWord = true
    }
  }
  if (inWord) words.push(word)
  return words
}

export function parseCommand(source: YamlSource, appPath: Path, value: unknown): string[] {
  const path = [...appPath, 'command']
  const example = 'command: bundle exec rails s -p 3000'
  if (value === undefined) source.fail(appPath, 'has no command', `add the command to run, e.g. ${example}`, 'key')
  let command: string[]
  if (typeof value === 'string') command = source.check(path, field => splitCommand(value, field))
  else if (Array.isArray(value)) command = value.map((item, index) => expectString(source, [...path, index], item, '[bundle, exec, rails, s]'))
  else return typeError(source, path, value, 'a string or a list of strings', example)
  if (command.length === 0 || command[0] === '') source.fail(path, 'is empty', `give the command to run, e.g. ${example}`)
  return command
}
