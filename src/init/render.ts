/**
 * The contain.yml `contain init` proposes for what it detected, from templates/init/: a Rails
 * web app with limits, a read-only root and the /up health check; one app per Procfile line; or
 * a placeholder app to fill in.
 */
import {join} from 'node:path'
import type {ProcfileEntry} from '../config/procfile.js'
import {FOREMAN_BASE_PORT, FOREMAN_PORT_STEP} from '../config/procfile.js'
import {splitCommand} from '../config/project.js'
import type {Detection} from './detect.js'
import {fillTemplate, readTemplate} from './template.js'

export interface RenderOptions {
  /** The host's CPU count: a proposed cpus: must not exceed it. */
  cpus: number
  /** Absolute paths of contain's JSON Schema and commented reference (templates/). */
  schema: string
  reference: string
  /** Where templates/ is (default: the package's). */
  templateRoot?: string
}

export type AppOrigin = 'rails' | 'procfile' | 'placeholder'

export interface RenderedProject {
  text: string
  apps: {name: string; from: AppOrigin}[]
}

/** Rails' own default port, which the /up health check then uses. */
export const RAILS_PORT = 3000
/** Heroku's release phase runs once per deploy, not as a long-running process. */
const ONE_OFF_PROCESS_TYPES = new Set(['release'])

/** A YAML scalar: plain where that reads the same, else a JSON (double-quoted YAML) string. */
function scalar(text: string): string {
  return /^[A-Za-z0-9_./][\w@%+=,./ -]*$/.test(text) && !/[\s]$/.test(text) ? text : JSON.stringify(text)
}

/**
 * A Procfile command as contain.yml's command: as it is when it needs no shell, else through
 * `sh -c` as foreman runs it, with `exec` in front of a single command so that the app itself
 * gets contain's stop signal (a shell in between would not pass it on).
 */
export function commandFromProcfile(command: string): string {
  try {
    const words = splitCommand(command)
    if (words.length > 0) return scalar(command)
  } catch {
    // Shell syntax ($PORT, &&, |): through sh -c below.
  }
  const single = !/[;&|()`\n<>]/.test(command) && !/^\s*exec\s/.test(command)
  return JSON.stringify(['sh', '-c', single ? `exec ${command}` : command]).replace(/","/g, '", "')
}

/** The port a command serves on: its -p/--port, else $PORT as given to it. */
function explicitPort(command: string): number | undefined {
  const match = /(?:^|\s)(?:-p|--port)[\s=]+(\d{1,5})(?:\s|$)/.exec(command)
  return match ? Number(match[1]) : undefined
}

function environmentLine(command: string, port: number): string {
  return /\$\{?PORT\b/.test(command) ? `    environment: {PORT: "${port}"}` : ''
}

/**
 * The user: line: the directory's owner, whom contain would pick anyway, written down so the file
 * says who the app is. A root-owned directory gets `user: root` with what that means.
 */
function userLine(detection: Detection): string {
  const owner = detection.owner
  if (!owner) return ''
  if (owner.uid === 0) {
    return [
      comment([
        "This directory is root's, so the app runs as host root: a compromised app would own the host.",
        'Better: a user of its own (useradd --system shop; chown -R shop tmp log), named here.',
      ]),
      '    user: root',
    ].join('\n')
  }
  const user = owner.name ?? `${owner.uid}:${owner.gid}`
  return [comment(['Who the app runs as: the owner of this directory (what contain picks when user: is left out).']), `    user: ${scalar(user)}`].join('\n')
}

function comment(lines: string[]): string {
  return lines.map(line => (line === '' ? '' : `    # ${line}`)).join('\n')
}

/**
 * read_only with tmp and log writable and tmp/pids a tmpfs of its own. What a fresh clone lacks
 * (tmp/ is git-ignored) is made by contain at the first start, owned by the app's user; an app
 * below /tmp stays visible under the tmpfs at /tmp (its directory is bound back over it).
 */
function readOnlyBlock(detection: Detection): string {
  const pids = join(detection.dir, 'tmp/pids')
  const missing = ['tmp', 'log'].filter(path => !detection.writable.includes(path)).concat(detection.pidsDir ? [] : ['tmp/pids'])
  return [
    '    read_only: true',
    comment([
      'tmp/pids is a tmpfs of each run: a server.pid left by a killed server is gone at the next',
      'start. (In a pid namespace it would name the new server itself, and Rails would refuse to',
      'start.) The path is absolute, as tmpfs paths are: change it if the app moves.',
      ...(missing.length > 0
        ? [
            `${missing.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist yet: contain makes ${missing.length === 1 ? 'it' : 'them'} at the first start, owned by the app's user.`,
          ]
        : []),
    ]),
    `    tmpfs: ${JSON.stringify(['/tmp', pids]).replace(/","/g, '", "')}`,
    '    writable: [tmp, log]',
  ].join('\n')
}

function railsWeb(detection: Detection, options: RenderOptions, fromProcfile?: ProcfileEntry): string {
  const command = fromProcfile?.command ?? `bundle exec rails s -b 127.0.0.1 -p ${RAILS_PORT}`
  const port = explicitPort(command) ?? RAILS_PORT
  const origin = fromProcfile
    ? ` Its command is the Procfile's (line ${fromProcfile.line}).`
    : '\n  # -b 127.0.0.1 serves a proxy on this host (nginx, Caddy); -b 0.0.0.0 serves other hosts too.'
  return fillTemplate(readTemplate('init/rails-web.yml', options.templateRoot), {
    origin,
    command: fromProcfile ? commandFromProcfile(command) : scalar(command),
    environment: environmentLine(command, port),
    user: userLine(detection),
    cpus: String(Math.min(1, options.cpus)),
    readOnly: readOnlyBlock(detection),
    port: String(port),
    upRoute: detection.rails?.upRoute
      ? ''
      : comment(['config/routes.rb has no /up route: add one (Rails 7.1: get "up" => "rails/health#show"),', 'or point the check at a URL the app answers']),
  })
}

function procfileApp(entry: ProcfileEntry, index: number, detection: Detection, options: RenderOptions): string {
  const port = explicitPort(entry.command) ?? FOREMAN_BASE_PORT + index * FOREMAN_PORT_STEP
  return fillTemplate(readTemplate('init/procfile-app.yml', options.templateRoot), {
    line: String(entry.line),
    procfileCommand: entry.command.replace(/\n/g, ' '),
    name: entry.name,
    command: commandFromProcfile(entry.command),
    environment: environmentLine(entry.command, port),
    user: userLine(detection),
    healthcheck:
      entry.name === 'web'
        ? `${comment(['A health check tells contain (and systemd) when it is ready:'])}\n    #healthcheck: {test: {http: "http://127.0.0.1:${port}/up"}, interval: 5s, timeout: 2s}`
        : '',
  })
}

const WORKER_EXAMPLE = [
  '  # A background worker next to it (Sidekiq, GoodJob, a plain loop), if the app has one:',
  '  #worker:',
  '  #  command: bundle exec sidekiq',
  '  #  mem_limit: 512m',
  '  #  restart: on-failure',
].join('\n')

function summary(detection: Detection, skipped: string[]): string {
  const parts: string[] = []
  if (detection.rails) parts.push(`a Rails app (${detection.rails.evidence.join(', ')})`)
  if (detection.procfile)
    parts.push(
      `a Procfile (${detection.procfile.entries.map(entry => entry.name).join(', ')}${skipped.length > 0 ? `; ${skipped.join(', ')} left out: it runs once per deploy, not as an app` : ''})`,
    )
  return parts.length === 0 ? 'It found neither a Rails app nor a Procfile.' : `It found ${parts.join(' and ')}.`
}

export function renderProject(detection: Detection, options: RenderOptions): RenderedProject {
  const blocks: string[] = []
  const apps: RenderedProject['apps'] = []
  const entries = detection.procfile?.entries ?? []
  const skipped = entries.filter(entry => ONE_OFF_PROCESS_TYPES.has(entry.name)).map(entry => entry.name)
  const running = entries.filter(entry => !ONE_OFF_PROCESS_TYPES.has(entry.name))
  if (detection.rails) {
    blocks.push(
      railsWeb(
        detection,
        options,
        running.find(entry => entry.name === 'web'),
      ),
    )
    apps.push({name: 'web', from: 'rails'})
  }
  for (const entry of running) {
    if (detection.rails && entry.name === 'web') continue
    blocks.push(procfileApp(entry, entries.indexOf(entry), detection, options))
    apps.push({name: entry.name, from: 'procfile'})
  }
  if (detection.rails && running.length <= 1) blocks.push(WORKER_EXAMPLE)
  if (blocks.length === 0) {
    blocks.push(fillTemplate(readTemplate('init/placeholder-app.yml', options.templateRoot), {user: userLine(detection)}).trimEnd())
    apps.push({name: 'app', from: 'placeholder'})
  }
  const text = fillTemplate(readTemplate('init/contain.yml', options.templateRoot), {
    schema: options.schema,
    dir: detection.dir,
    detectedSummary: summary(detection, skipped),
    reference: options.reference,
    apps: blocks.map(block => block.trimEnd()).join('\n\n'),
  })
  return {text, apps}
}
