// contain itself for the suites: `contain up -d` projects with a state directory of their own under the
// bench's work dir, their supervisors, and the cleanup of everything they started.
import {existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {readProcs} from './cgroup.js'
import {pidAlive, processes, run, stopPid, tail} from './proc.js'
import {Unavailable} from './peers/common.js'

/** node bin/run.js, after checking the tree is built. */
export function containArgv(ctx) {
  const cli = join(ctx.repoRoot, 'bin/run.js')
  for (const f of [cli, join(ctx.repoRoot, 'dist/cli.js'), join(ctx.repoRoot, 'native/build/contain-init')]) {
    if (!existsSync(f)) throw new Unavailable(`${f} is missing: run npm run build first`)
  }
  return [process.execPath, cli]
}

/** App names carry the bench's pid, so cleanup and the leak check find exactly this run's cgroups. */
export const appPrefix = () => `cb${process.pid}`

/**
 * Projects under `contain up -d`: each in <work>/contain/<name>/ with contain.yml, and CONTAIN_STATE_DIR
 * <work>/contain/<name>/state, so its state.json is the only one there.
 */
export class ContainProjects {
  #up = new Map()

  constructor(ctx) {
    this.ctx = ctx
    this.argv = containArgv(ctx)
    this.base = join(ctx.workDir, 'contain')
    ctx.cleanup.add('contain: down every project, remove app cgroups left', async () => {
      const notes = []
      for (const project of [...this.#up.values()])
        notes.push(
          `${project.name}: ${await this.down(project).then(
            () => 'down',
            e => e.message,
          )}`,
        )
      for (const p of processes().filter(p => p.pid !== process.pid && p.cmdline.includes(this.base)))
        notes.push(`${p.pid} ${p.comm}: ${await stopPid(p.pid, 5000)}`)
      const removed = await removeAppCgroups(ctx.layout)
      return `${notes.length ? notes.join('; ') : 'no project up'}; ${removed.length} app cgroup(s) removed`
    })
  }

  /** Writes the project; `yml` is the contain.yml text. */
  project(name, yml) {
    const dir = join(this.base, name)
    const state = join(dir, 'state')
    mkdirSync(state, {recursive: true, mode: 0o700})
    writeFileSync(join(dir, 'contain.yml'), yml)
    return {name, dir, state, env: {...process.env, CONTAIN_STATE_DIR: state}}
  }

  cli(project, args, options = {}) {
    return run(this.argv[0], [...this.argv.slice(1), ...args], {cwd: project.dir, env: project.env, timeout: 120_000, ...options})
  }

  /** contain up -d; resolves the supervisor's pid. */
  async up(project, apps = []) {
    this.ctx.cleanup.assertNotStopping()
    this.#up.set(project.dir, project)
    const r = await this.cli(project, ['up', '-d', ...apps])
    if (!r.ok) throw new Error(`contain up -d in ${project.dir} failed (exit ${r.exitCode}): ${tail(r.all, 600)}`)
    const pid = this.supervisor(project)
    if (!pid) throw new Error(`contain up -d in ${project.dir}: no supervisor in its state`)
    return pid
  }

  supervisor(project) {
    try {
      const sub = readdirSync(project.state).find(d => existsSync(join(project.state, d, 'state.json')))
      const pid = JSON.parse(readFileSync(join(project.state, sub, 'state.json'), 'utf8')).supervisor.pid
      return pidAlive(pid) ? pid : undefined
    } catch {
      return undefined
    }
  }

  async down(project) {
    const pid = this.supervisor(project)
    const r = await this.cli(project, ['down'], {timeout: 90_000})
    if (pid) {
      const deadline = Date.now() + 30_000
      while (pidAlive(pid) && Date.now() < deadline) await sleep(20)
      if (pidAlive(pid)) await stopPid(pid, 5000)
    }
    this.#up.delete(project.dir)
    if (!r.ok) throw new Error(`contain down in ${project.dir}: exit ${r.exitCode}: ${tail(r.all, 300)}`)
  }
}

/** App cgroups named <prefix>* in any project below the bench's own cgroup (contain/<project>/<app>), in every hierarchy. */
export function appCgroups(layout, prefix = appPrefix()) {
  const subdirs = dir => {
    try {
      return readdirSync(dir, {withFileTypes: true})
        .filter(e => e.isDirectory())
        .map(e => join(dir, e.name))
    } catch {
      return []
    }
  }
  return [...new Set(layout.hierarchies.map(h => h.ownDir))]
    .flatMap(own => subdirs(join(own, 'contain')).flatMap(subdirs))
    .filter(dir => basename(dir).startsWith(prefix))
}

async function removeAppCgroups(layout) {
  const removed = []
  for (const dir of appCgroups(layout)) {
    for (const pid of readProcs(dir)) await stopPid(pid, 2000)
    try {
      rmdirSync(dir)
      removed.push(dir)
    } catch {}
    // Its project and the contain parent, once empty (EBUSY while another app uses them).
    for (const parent of [dirname(dir), dirname(dirname(dir))]) {
      try {
        rmdirSync(parent)
      } catch {}
    }
  }
  return removed
}
