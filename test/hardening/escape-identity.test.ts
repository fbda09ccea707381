/**
 * Part of the hardening suite: who a contained app is under contain's defaults, and what it
 * inherits from whoever started contain. Every check runs inside the app (fixtures/identity.py
 * reports what the kernel answered): its uid and effective capabilities, a raw socket and a device
 * node (the capabilities podman drops and Docker keeps), and the environment the kernel handed it.
 * Each check that must hold is one attempt of the tally printed at the end.
 */
import {copyFileSync, chownSync, chmodSync, existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa} from 'execa'
import t, {type Test} from 'tap'
import {cli, figure, nested, requireRoot, root, settledLeftovers, startCli, testdir, token, until, skipFile} from './helpers.js'

const mark = token('id')
const probeSource = join(root, 'test/hardening/fixtures/identity.py')
/** The probe, copied into the app's directory: the rest of the repository is outside the app's view. */
function probeIn(dir: string): string {
  const path = join(dir, 'identity.py')
  if (!existsSync(path)) copyFileSync(probeSource, path)
  return path
}
const python = '/usr/bin/python3'
const [EPERM] = [1]
const NOBODY = 65534
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** What the caller of contain holds and no app may see. */
const PLANTED: Record<string, string> = {
  SSH_AUTH_SOCK: `/tmp/${mark}-agent.sock`,
  AWS_SECRET_ACCESS_KEY: `${mark}-aws-secret`,
  AWS_ACCESS_KEY_ID: `AKIA${mark}`,
  GITHUB_TOKEN: `ghp_${mark}`,
  GOOGLE_APPLICATION_CREDENTIALS: `/root/${mark}.json`,
  LD_LIBRARY_PATH: `/nonexistent-${mark}`,
  OLDPWD: `/nonexistent-${mark}-old`,
  PWD: `/nonexistent-${mark}-pwd`,
  HOME: `/nonexistent-${mark}-home`,
  PATH_EXTRA: 'x',
}
/** Passed on purpose, by -e KEY / environment: [KEY]. */
const PASSED = {[`KEEP_${mark}`]: `${mark}-kept`}

interface Tally {
  attempts: number
  failures: string[]
}
const tally: Tally = {attempts: 0, failures: []}

/** One attempt that must hold: counted, and asserted with what was seen. */
function hold(t: Test, held: boolean, what: string): void {
  tally.attempts++
  if (!held) tally.failures.push(what)
  t.ok(held, what)
}

function parseProbe(stdout: string): Record<string, string> {
  return Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(line => [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ') + 1)]),
  )
}

/** The environment checks, for one view of the app (run, up's app, exec, a health check). */
function checkEnvironment(t: Test, where: string, env: Record<string, string>, expected: {pwd: string; home: string; user?: string}): void {
  for (const key of Object.keys(PLANTED)) {
    if (key === 'PWD' || key === 'HOME') continue
    hold(t, !(key in env), `${where}: the caller's ${key} does not reach the app${key in env ? ` (it sees ${env[key]})` : ''}`)
  }
  hold(t, env.PWD === expected.pwd, `${where}: PWD is the working directory (${env.PWD})`)
  hold(t, env.HOME === expected.home, `${where}: HOME is the app user's (${env.HOME})`)
  if (expected.user)
    hold(t, env.USER === expected.user && env.LOGNAME === expected.user, `${where}: USER and LOGNAME are the app user's (${env.USER}, ${env.LOGNAME})`)
  hold(t, env.PATH === DEFAULT_PATH, `${where}: PATH is Docker's default (${env.PATH})`)
  const keep = Object.keys(PASSED)[0]
  t.equal(env[keep], PASSED[keep], `${where}: the variable passed on purpose arrives`)
}

/** A directory owned by nobody, for an app contain must run as nobody. */
function nobodysDir(t: Test, files: Parameters<typeof testdir>[1] = {}): string {
  const dir = testdir(t, files)
  chmodSync(dir, 0o755)
  chownSync(dir, NOBODY, NOBODY)
  return dir
}

/** A state directory of the test's own (root's, outside the app's directory), removed at the end. */
function stateDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), `contain-${mark}-`))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  return dir
}

const rootWarnings = (stderr: string) => stderr.split('\n').filter(line => /warning: .* runs? as host root/.test(line))

if (process.arch !== 'x64') {
  skipFile(t, `the probe's checks are written for x86_64 hosts, this is ${process.arch}`)
} else if (requireRoot(t)) {
  const nobody = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map(line => line.split(':'))
    .find(fields => fields[2] === String(NOBODY))
  const nobodyHome = nobody?.[5] || '/'

  t.test("contain run in a directory of nobody's: the app is nobody, with no capability and a clean environment", async t => {
    const dir = nobodysDir(t)
    const result = await cli(
      ['run', '--name', `r${mark}`, '-e', Object.keys(PASSED)[0], '--', python, probeIn(dir), dir, 'uid', 'capeff', 'raw_socket', 'mknod', 'environ'],
      {cwd: dir, env: {...PLANTED, ...PASSED}},
    )
    t.equal(result.exitCode, 0, result.stderr)
    const answers = parseProbe(result.stdout)
    hold(t, answers.uid === String(NOBODY), `the app runs as the directory's owner, uid ${answers.uid}`)
    hold(t, answers.capeff === '0000000000000000', `and holds no effective capability (CapEff ${answers.capeff})`)
    hold(t, Number(answers.raw_socket) === EPERM, `a raw socket is refused (errno ${answers.raw_socket})`)
    hold(t, Number(answers.mknod) === EPERM, `a device node is refused (errno ${answers.mknod})`)
    checkEnvironment(t, 'run', JSON.parse(answers.environ ?? '{}'), {pwd: dir, home: nobodyHome, user: nobody?.[0]})
    t.same(rootWarnings(result.stderr), [], 'no root warning')
  })

  t.test("contain run as root (a root-owned directory): podman's 11 capabilities, one warning line", async t => {
    const dir = testdir(t)
    const run = (flags: string[]) => cli(['run', '--name', `o${mark}`, ...flags, '--', python, probeIn(dir), dir, 'uid', 'raw_socket', 'mknod'], {cwd: dir})
    const defaults = await run([])
    t.equal(defaults.exitCode, 0, defaults.stderr)
    const answers = parseProbe(defaults.stdout)
    t.equal(answers.uid, '0', "root, because the directory is root's")
    hold(t, Number(answers.raw_socket) === EPERM, `root without NET_RAW: a raw socket is refused (errno ${answers.raw_socket})`)
    hold(t, Number(answers.mknod) === EPERM, `root without MKNOD: a device node is refused (errno ${answers.mknod})`)
    const warnings = rootWarnings(defaults.stderr)
    t.equal(warnings.length, 1, `exactly one root warning: ${defaults.stderr}`)
    t.match(warnings[0] ?? '', /-u\/--user \(user: in contain\.yml\)/, 'naming the flag and the key')
    const explicit = await run(['-u', '0'])
    t.equal(parseProbe(explicit.stdout).uid, '0')
    t.same(rootWarnings(explicit.stderr), [], '-u 0 is root on purpose: no warning')
    // The controls: the same attempts succeed once the capability is given back.
    const restored = parseProbe((await run(['--cap-add', 'NET_RAW', '--cap-add', 'MKNOD'])).stdout)
    t.equal(restored.raw_socket, '0', '--cap-add NET_RAW gives the raw socket back')
    t.equal(restored.mknod, '0', '--cap-add MKNOD gives mknod back')
  })

  const noScript = !existsSync('/usr/bin/script') ? 'no script(1) here' : nested ? 'script(1) would start contain outside its unit cgroup' : false
  t.test('TERM reaches the app only on a terminal (script(1) gives contain run a pseudo-terminal)', {skip: noScript}, async t => {
    const dir = nobodysDir(t)
    const command = `${process.execPath} ${join(root, 'bin/run.js')} run --name t${mark} -- sh -c 'echo "TERM=$TERM"'`
    const onTerminal = await execa('script', ['-qec', command, '/dev/null'], {cwd: dir, env: {TERM: `xterm-${mark}`}, reject: false, stdin: 'ignore'})
    t.match(onTerminal.stdout.replace(/\r/g, ''), new RegExp(`^TERM=xterm-${mark}$`, 'm'), "on a terminal: the caller's TERM")
    const piped = await cli(['run', '--name', `p${mark}`, '--', 'sh', '-c', 'echo "TERM=$TERM"'], {cwd: dir, env: {TERM: `xterm-${mark}`}})
    hold(t, piped.stdout.trim() === 'TERM=', `through pipes: no TERM (${piped.stdout.trim()})`)
  })

  t.test('contain up, contain exec and a CMD health check: the same user and the same clean environment', async t => {
    const keep = Object.keys(PASSED)[0]
    const app = `u${mark}`
    const stateRoot = stateDir(t)
    const dir = nobodysDir(t, {
      'contain.yml': [
        'apps:',
        `  ${app}:`,
        `    command: ["sh", "-c", "cat /proc/self/environ > app.env; exec sleep 600"]`,
        `    environment: [${keep}]`,
        '    healthcheck:',
        `      test: ["CMD-SHELL", "cat /proc/self/environ > health.env; id -u > health.uid"]`,
        '      interval: 1s',
        '',
      ].join('\n'),
    })
    const env = {...PLANTED, ...PASSED, CONTAIN_STATE_DIR: stateRoot}
    let foreground: ReturnType<typeof startCli> | undefined
    const environOf = (file: string) =>
      Object.fromEntries(
        readFileSync(join(dir, file), 'utf8')
          .split('\0')
          .filter(Boolean)
          .map(entry => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
      )
    try {
      if (nested) {
        foreground = startCli(['up', '--no-color'], {cwd: dir, env})
      } else {
        const up = await cli(['up', '-d'], {cwd: dir, env})
        t.equal(up.exitCode, 0, up.stderr)
        t.same(rootWarnings(up.stderr), [], 'no root warning')
      }
      await until(
        () => existsSync(join(dir, 'health.uid')) && readFileSync(join(dir, 'health.uid'), 'utf8').endsWith('\n'),
        "the health check's files",
        60_000,
        200,
      )
      checkEnvironment(t, "the up's app", environOf('app.env'), {pwd: dir, home: nobodyHome, user: nobody?.[0]})
      checkEnvironment(t, 'the health check', environOf('health.env'), {pwd: dir, home: nobodyHome, user: nobody?.[0]})
      hold(t, readFileSync(join(dir, 'health.uid'), 'utf8').trim() === String(NOBODY), "the health check runs as the app's user")
      // contain exec from a caller holding the planted variables too.
      const exec = await cli(['exec', app, '--', python, probeIn(dir), dir, 'uid', 'capeff', 'raw_socket', 'environ'], {cwd: dir, env})
      t.equal(exec.exitCode, 0, exec.stderr)
      const answers = parseProbe(exec.stdout)
      hold(t, answers.uid === String(NOBODY), `contain exec runs as the app's user (uid ${answers.uid})`)
      hold(t, answers.capeff === '0000000000000000', `contain exec holds no effective capability (CapEff ${answers.capeff})`)
      hold(t, Number(answers.raw_socket) === EPERM, `contain exec: a raw socket is refused (errno ${answers.raw_socket})`)
      checkEnvironment(t, 'contain exec', JSON.parse(answers.environ ?? '{}'), {pwd: dir, home: nobodyHome, user: nobody?.[0]})
    } finally {
      await cli(['down'], {cwd: dir, env})
      await foreground
    }
    t.same(await settledLeftovers(mark), {cgroups: [], processes: [], stateFiles: []}, 'nothing left behind')
  })

  t.test(
    'contain up of root-owned apps: one warning line for all of them',
    {skip: nested ? 'the foreground up of the nested guest prints while it runs' : false},
    async t => {
      const stateRoot = stateDir(t)
      const dir = testdir(t, {'contain.yml': `apps:\n  a${mark}:\n    command: sleep 600\n  b${mark}:\n    command: sleep 600\n`})
      const env = {CONTAIN_STATE_DIR: stateRoot}
      try {
        const up = await cli(['up', '-d'], {cwd: dir, env})
        t.equal(up.exitCode, 0, up.stderr)
        const warnings = rootWarnings(up.stderr)
        t.equal(warnings.length, 1, `one line: ${up.stderr}`)
        t.match(warnings[0] ?? '', new RegExp(`a${mark}, b${mark} run as host root`))
      } finally {
        await cli(['down'], {cwd: dir, env})
      }
      t.same(await settledLeftovers(mark), {cgroups: [], processes: [], stateFiles: []}, 'nothing left behind')
    },
  )

  t.test('the figure', async t => {
    figure(
      t,
      `identity and environment: ${tally.attempts} tried, ${tally.attempts - tally.failures.length} held${tally.failures.length ? ` (failed: ${tally.failures.join('; ')})` : ''}`,
    )
    t.equal(tally.failures.length, 0, 'every attempt held')
  })
}
