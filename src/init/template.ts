/**
 * The files contain writes for its user (contain.yml, systemd units) are kept in templates/ as
 * the user will read them, with {{name}} placeholders: the comments stay in one readable place.
 */
import {readFileSync} from 'node:fs'
import {packageRoot, templatePath} from '../paths.js'

/** The text of templates/NAME. */
export function readTemplate(name: string, root = packageRoot()): string {
  return readFileSync(templatePath(name, root), 'utf8')
}

/**
 * Fills {{name}} placeholders. A line holding only a placeholder whose value is empty goes away,
 * so optional lines leave no blank behind. A placeholder without a value is a bug: it throws.
 */
export function fillTemplate(text: string, values: Record<string, string>): string {
  const missing = [...text.matchAll(/\{\{(\w+)\}\}/g)].map(match => match[1]).filter(name => values[name] === undefined)
  if (missing.length > 0) throw new Error(`template placeholders without a value: ${[...new Set(missing)].join(', ')}`)
  return text
    .split('\n')
    .filter(line => !(/^\s*\{\{\w+\}\}\s*$/.test(line) && values[line.trim().slice(2, -2)] === ''))
    .join('\n')
    .replace(/\{\{(\w+)\}\}/g, (_, name: string) => values[name])
}
