/**
 * The README's option reference, generated from RUN_OPTIONS as the JSON Schema is: one row per
 * option with its flag, its contain.yml key and example, and what it does. A unit test keeps the
 * README's copy (between the markers below) equal to this.
 */
import {describeOption, RUN_OPTIONS, type OptionSpec} from './schema.js'

export const OPTION_DOCS_START = '<!-- options: generated from src/config/schema.ts by src/config/option-docs.ts; do not edit -->'
export const OPTION_DOCS_END = '<!-- options: end -->'

/** A table cell: pipes escaped, so a value such as host|none stays in its column. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|')
}

function flagOf(spec: OptionSpec): string {
  const value = spec.kind === 'boolean' ? '' : ` ${spec.helpValue ?? 'VALUE'}`
  return `${spec.char ? `-${spec.char}, ` : ''}--${spec.flag}${value}${spec.multiple ? ' (repeatable)' : ''}`
}

/** The reference as Markdown, markers included. */
export function renderOptionDocs(): string {
  const rows = (RUN_OPTIONS as readonly OptionSpec[]).map(spec => {
    const key = spec.key === undefined ? '(command line only)' : `\`${spec.key}: ${spec.example ?? ''}\``
    return `| \`${cell(flagOf(spec))}\` | ${cell(key)} | ${cell(describeOption(spec, id => `--${id}`))} |`
  })
  return [OPTION_DOCS_START, '', '| `contain run` flag | contain.yml key (example) | What it does |', '| --- | --- | --- |', ...rows, '', OPTION_DOCS_END].join(
    '\n',
  )
}

/** `text` (the README) with its generated section replaced by `section`; undefined when it has no markers. */
export function replaceOptionDocs(text: string, section = renderOptionDocs()): string | undefined {
  const start = text.indexOf(OPTION_DOCS_START)
  const end = text.indexOf(OPTION_DOCS_END)
  if (start === -1 || end < start) return undefined
  return text.slice(0, start) + section + text.slice(end + OPTION_DOCS_END.length)
}
