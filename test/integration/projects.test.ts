import {execa} from 'execa'
import {mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {basename, join} from 'node:path'
import t, {type Test} from 'tap'
import {appCgroupDirs, assertNothingLeftBehind, containBin, guestCase, requireRoot} from './helpers.js'

/** Apps named as in nearly every Rails project: each project below has both. */
const APPS = `
apps:
  web:
    command: sleep 300
  worker:
    command: sleep 300
`
const mark = `projects${process.pid.toString(36)}`

function contain(args: string[], cwd: string, env: Record<string, string>) {
  return execa(process.execPath, [containBin, ...args], {cwd, env, reject: false, all: true})
}

/** Project directories `names` below one test dir, and one state root that all of them share, as on a host. */
function projects(t: Test, names: string[], yml: (name: string) => string = () => APPS): {dirs: string[]; env: Record<string, string>} {
  const root = t.testdir({state: {}})
  const dirs = names.map(name => {
    const dir = join(root, name)
    mkdirSync(dir, {recursive: true})
    writeFileSync(join(dir, 'contain.yml'), yml(name))
    return dir
  })
  return {dirs, env: {CONTAIN_STATE_DIR: join(root, 'state')}}
}

interface Status {
  name: string
  state: string
  pid?: number
}

if (requireRoot(t)) {
  assertNothingLeftBehind(t)

  t.test('two projects with apps named web and worker run side by side, each ps shows its own, down leaves nothing', guestCase('side-by-side'), async t => {
    const {
      dirs: [shop, blog],
      env,
    } = projects(t, [`${mark}-shop`, `${mark}-blog`])
    try {
      for (const dir of [shop, blog]) {
        const up = await contain(['up', '-d'], dir, env)
        t.equal(up.exitCode, 0, `contain up -d in ${basename(dir)}: ${up.all}`)
      }
      const seen = new Map<string, Status[]>()
      for (const dir of [shop, blog]) {
        const ps = await contain(['ps', '--json'], dir, env)
        const statuses = JSON.parse(ps.stdout) as Status[]
        seen.set(dir, statuses)
        t.strictSame(
          statuses.map(app => [app.name, app.state]),
          [
            ['web', 'running'],
            ['worker', 'running'],
          ],
          `${basename(dir)}: both of its apps run`,
        )
      }
      const webOf = (dir: string) => seen.get(dir)?.find(app => app.name === 'web')?.pid as number
      t.not(webOf(shop), webOf(blog), 'two webs, two processes')
      for (const dir of [shop, blog]) {
        // The kernel's word: its web's cgroup below contain/<this project's key>, with processes in it.
        const own = appCgroupDirs('web').filter(cgroup => new RegExp(`/contain/${basename(dir)}-[0-9a-f]{8}/web$`).test(cgroup))
        // Its processes are in its running instance's cgroup, right below the app's (web/i<n>).
        const running = (cgroup: string) =>
          readdirSync(cgroup, {withFileTypes: true}).some(
            entry => entry.isDirectory() && readFileSync(join(cgroup, entry.name, 'cgroup.procs'), 'utf8').trim() !== '',
          )
        t.ok(own.length > 0 && own.every(running), `${basename(dir)}'s web runs in contain/<its project>/web: ${own.join(' ')}`)
      }

      // exec finds its own project's web, not the other one.
      const exec = await contain(['exec', 'web', '--', 'cat', '/proc/self/cgroup'], shop, env)
      t.equal(exec.exitCode, 0, `exec: ${exec.all}`)

      const all = await contain(['ps', '--all', '--json'], shop, env)
      t.equal(all.exitCode, 0, all.all)
      const listed = JSON.parse(all.stdout) as Array<{project: string; dir: string; stateDir: string; supervisor: {pid: number}; apps: Status[]}>
      t.strictSame(listed.map(project => project.project).sort(), [basename(blog), basename(shop)], 'ps --all lists both projects')
      for (const project of listed) {
        t.ok(project.supervisor.pid > 0, `${project.project}: supervisor pid`)
        t.match(project.stateDir, new RegExp(`^${env.CONTAIN_STATE_DIR}/`), `${project.project}: its state directory`)
        t.strictSame(
          project.apps.map(app => app.name),
          ['web', 'worker'],
          `${project.project}: its apps`,
        )
      }
      t.strictSame(listed.map(project => project.dir).sort(), [blog, shop].sort(), 'with their directories')
      const text = await contain(['ps', '--all'], blog, env)
      t.match(
        text.stdout,
        new RegExp(`^${basename(shop)}  ${shop}  supervisor \\d+  state `, 'm'),
        'the text form names each project, its directory and supervisor',
      )
    } finally {
      for (const dir of [shop, blog]) {
        const down = await contain(['down'], dir, env)
        t.equal(down.exitCode, 0, `contain down in ${basename(dir)}: ${down.all}`)
      }
    }
  })

  t.test("ps --all after a SIGKILLed supervisor: listed as killed, and its apps' cgroups and state removed", guestCase('ps-all-killed'), async t => {
    const {
      dirs: [dir],
      env,
    } = projects(t, [`${mark}-killed`])
    const up = await contain(['up', '-d'], dir, env)
    t.equal(up.exitCode, 0, `up: ${up.all}`)
    const [listed] = JSON.parse((await contain(['ps', '--all', '--json'], dir, env)).stdout) as Array<{supervisor: {pid: number}; stateDir: string}>
    process.kill(listed.supervisor.pid, 'SIGKILL')
    // Its apps die with it (PR_SET_PDEATHSIG); until then their cgroups are in use.
    const deadline = Date.now() + 10_000
    let after: Array<{project: string; killed: boolean}> = []
    while (Date.now() < deadline) {
      after = JSON.parse((await contain(['ps', '--all', '--json'], dir, env)).stdout) as typeof after
      if (after.length > 0 && after[0].killed && appCgroupDirs('web').every(cgroup => !cgroup.includes(`${mark}-killed`))) break
      await new Promise(resolve => setTimeout(resolve, 200))
    }
    t.match(after, [{project: `${mark}-killed`, killed: true}], 'listed as killed')
    t.strictSame(
      appCgroupDirs('web').filter(cgroup => cgroup.includes(`${mark}-killed`)),
      [],
      'its cgroups were removed',
    )
    t.strictSame(JSON.parse((await contain(['ps', '--all', '--json'], dir, env)).stdout), [], 'and its state: the next ps --all lists nothing')
  })

  t.test('the same name: in two directories: the second is refused (exit 125) naming both, and nothing stops', guestCase('same-name'), async t => {
    const name = `${mark}-same`
    const {
      dirs: [first, second],
      env,
    } = projects(t, ['one/app', 'two/app'], () => `name: ${name}\n${APPS}`)
    try {
      const up = await contain(['up', '-d'], first, env)
      t.equal(up.exitCode, 0, `first up: ${up.all}`)
      const refused = await contain(['up', '-d'], second, env)
      t.equal(refused.exitCode, 125, 'exit 125')
      t.match(refused.stderr, `project name "${name}" is already used by ${first}`, 'names the directory that has the name')
      t.match(refused.stderr, `${second} cannot run under the same name`, 'and this one')
      t.match(refused.stderr, /name:/, 'the fix is a name: of its own')
      const foreground = await contain(['up'], second, env)
      t.equal(foreground.exitCode, 125, 'a foreground up is refused too')
      const ps = JSON.parse((await contain(['ps', '--json'], first, env)).stdout) as Status[]
      t.strictSame(
        ps.map(app => app.state),
        ['running', 'running'],
        'the running project was not stopped',
      )
    } finally {
      await contain(['down'], first, env)
      await contain(['down'], second, env)
    }
  })
}
