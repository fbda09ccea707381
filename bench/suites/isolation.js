// Suite 7: isolation. One static probe (bench/native/isolation-probe.c) runs inside each confinement and
// makes ~40 real escape attempts; each prints the kernel's answer. Before every column the harness plants
// the targets on the host (secrets in /root, /home/contain-probe, /srv/contain-probe-other; markers in
// /tmp, /run, /dev/shm; a listening unix socket in /run whose server is also the host process to signal
// and ptrace), starts the confinement with fd 300 open on the host's / and SSH_AUTH_SOCK /
// AWS_SECRET_ACCESS_KEY in the launcher's environment, then checks the host for files the probe claims to
// have written, and removes everything. Columns:
//   host         the probe with no confinement: what the machine itself allows (the baseline)
//   contain      contain run with its defaults (the probe bound in with -v when contain has it)
//   docker       docker run with its default profile (the bench's private dockerd, busybox image)
//   systemd      a sandboxed transient unit (systemd-run) inside the real-systemd UML guest
//   bwrap        bubblewrap with a typical invocation
import {spawn} from 'node:child_process'
import {chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync} from 'node:fs'
import {basename, dirname, join, resolve} from 'node:path'
import {randomBytes} from 'node:crypto'
import {release} from 'node:os'
import {heldByMachine, heldCounts, machineNote, parseProbe, protections, tableRows} from '../lib/isolation-table.js'
import {Unavailable, firstLine, requirePackages} from '../lib/peers/common.js'
import {startDocker} from '../lib/peers/docker.js'
import {run as exec, stopPid, tail, which} from '../lib/proc.js'

export const name = 'isolation'
export const title = 'Isolation: one escape probe inside each confinement'

const sources = ctx => join(ctx.benchDir, 'native/isolation-probe.c')

/** Paths the probe reads (planted with this column's token) and writes (checked on the host afterwards). */
const planted = {
  '/root/contain-probe-secret': 0o644,
  '/home/contain-probe/secret': 0o644,
  '/srv/contain-probe-other/secret': 0o644,
  '/tmp/contain-probe-marker': 0o644,
  '/run/contain-probe-marker': 0o644,
  '/dev/shm/contain-probe-marker': 0o644,
}
const plantedDirs = ['/home/contain-probe', '/srv/contain-probe-other']
const socketPath = '/run/contain-probe.sock'
const written = {writeetc: '/etc/contain-probe-write', writeusr: '/usr/contain-probe-write', inheritedfd: '/tmp/contain-probe-fd'}
const scratch = ['/tmp/contain-probe-exec', '/tmp/contain-probe-node', '/dev/shm/contain-probe-node', '/run/contain-probe-node']

// Every column is started the same way: a shell opens fd 300 on the host's / (as in runc's
// CVE-2024-21626) and execs the launcher, whose environment carries two secrets.
const withFd300 = argv => ['/bin/bash', '-c', 'exec 300</ && exec "$@"', 'bash', ...argv]
const leakyEnv = token => ({SSH_AUTH_SOCK: `/tmp/ssh-${token}/agent.1`, AWS_SECRET_ACCESS_KEY: `probe-${token}`})

/** The device under / : mountinfo gives major:minor, /sys/dev/block its name (the whole disk if a partition). */
export function rootDisk() {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ')
    if (f[4] !== '/') continue
    const [major, minor] = f[2].split(':').map(Number)
    if (!major) return {note: `/ is on ${f[f.indexOf('-') + 2] ?? 'a virtual filesystem'} (device ${f[2]}): no block device`}
    let sys
    try {
      sys = resolve('/sys/dev/block', readlinkSync(`/sys/dev/block/${major}:${minor}`))
    } catch {
      return {note: `no /sys/dev/block/${major}:${minor}`}
    }
    if (existsSync(join(sys, 'partition'))) {
      const [dmaj, dmin] = readFileSync(join(dirname(sys), 'dev'), 'utf8')
        .trim()
        .split(':')
        .map(Number)
      return {name: basename(dirname(sys)), major: dmaj, minor: dmin, note: `/ is on partition ${basename(sys)}; probing the whole disk`}
    }
    return {name: basename(sys), major, minor}
  }
  return {note: 'no mount of / in /proc/self/mountinfo'}
}

const hostNamespaces = () => ['pid', 'mnt', 'ipc', 'net'].map(n => readlinkSync(`/proc/self/ns/${n}`)).join(',')

/** Runs argv with stdio piped and a wall-clock limit; never rejects. */
function runCaptured(argv, {env, cwd, timeoutMs = 120_000}) {
  return new Promise(resolvePromise => {
    const child = spawn(argv[0], argv.slice(1), {env, cwd, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', d => (stdout += d))
    child.stderr.on('data', d => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', error => {
      clearTimeout(timer)
      resolvePromise({exitCode: undefined, stdout, stderr: `${stderr}${error.message}`})
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolvePromise({exitCode: code ?? undefined, signal: signal ?? undefined, stdout, stderr})
    })
  })
}

function removeProbeFiles() {
  for (const path of [...Object.keys(planted), ...Object.values(written), ...scratch, socketPath]) rmSync(path, {force: true})
}

/**
 * Plants this column's targets on the host and starts the server process (socket + process to
 * signal/ptrace). Returns {pid, undo}: undo removes all of it (also registered with ctx.cleanup).
 */
async function plant(ctx, probe, token) {
  removeProbeFiles()
  // mkdir -p returns the first directory it had to create: that one (and all below it) goes afterwards.
  const createdDirs = plantedDirs.map(d => mkdirSync(d, {recursive: true, mode: 0o755})).filter(Boolean)
  // World-readable: file permissions alone do not stop a non-root app, only the view can.
  for (const [path, mode] of Object.entries(planted)) {
    writeFileSync(path, `${token}\n`, {mode})
    chmodSync(path, mode)
  }
  const server = spawn(probe, ['--serve', socketPath, token], {stdio: ['ignore', 'pipe', 'pipe']})
  const ready = await new Promise(ok => {
    const timer = setTimeout(() => ok(false), 5000)
    server.stdout.on('data', d => String(d).includes('ready') && (clearTimeout(timer), ok(true)))
    server.on('exit', () => (clearTimeout(timer), ok(false)))
  })
  const undo = async () => {
    const stopped = await stopPid(server.pid, 2000)
    removeProbeFiles()
    for (const d of createdDirs.reverse()) rmSync(d, {recursive: true, force: true})
    return `probe server ${stopped}; removed the planted files${createdDirs.length ? ` and ${createdDirs.join(', ')}` : ''}`
  }
  const unregister = ctx.cleanup.add('isolation: remove planted targets, stop the probe server', undo)
  if (!ready) {
    unregister()
    await undo()
    throw new Error(`the probe server did not start on ${socketPath}`)
  }
  return {pid: server.pid, undo: async () => (unregister(), undo())}
}

/** Turns a write the probe claims into held when the file did not land on the host (a private copy). */
function checkHostWrites(results, token, hostFiles) {
  for (const [id, path] of Object.entries(written)) {
    const r = results[id]
    const onHost = hostFiles
      ? hostFiles[path]
      : (() => {
          try {
            return readFileSync(path, 'utf8').includes(token)
          } catch {
            return false
          }
        })()
    if (r?.status === 'BROKEN' && !onHost) results[id] = {status: 'held', detail: `${r.detail}, but not on the host: a private copy`}
    if (r && r.status !== 'BROKEN' && onHost) results[id] = {status: 'BROKEN', detail: `${r.detail}; yet ${path} appeared on the host`}
  }
}

async function probeBinary(ctx) {
  const dir = join(ctx.workDir, 'isolation', 'probe')
  mkdirSync(dir, {recursive: true})
  chmodSync(join(ctx.workDir, 'isolation'), 0o755)
  chmodSync(dir, 0o755)
  const out = join(dir, 'isolation-probe')
  const r = await exec('gcc', ['-static', '-O2', '-o', out, sources(ctx)])
  if (!r.ok) throw new Error(`cannot build the static probe (${tail(r.all || r.error, 300)}); install gcc and libc6-dev`)
  chmodSync(out, 0o755)
  return {dir, probe: out}
}

/** The columns: each {id, label, what, prepare(setup) → {argv(args), env?, cwd?, command, version?, note?}} or run(). */
function columns(ctx, setup) {
  const {dir, probe} = setup
  return [
    {
      id: 'host',
      label: 'no confinement (host)',
      what: 'The probe run directly by the bench as root: what this machine allows without any confinement, the baseline.',
      async prepare() {
        return {argv: args => [probe, ...args], version: `Linux ${release()}`, note: 'run as root, like the root launchers in the other columns'}
      },
    },
    {
      id: 'contain',
      label: 'contain run (defaults)',
      what: "node bin/run.js run -- PROBE in a fresh app directory owned by nobody (65534), as a deployed app's directory is owned by its service user; every other setting is contain's default.",
      async prepare() {
        const cli = join(ctx.repoRoot, 'bin/run.js')
        for (const f of [cli, join(ctx.repoRoot, 'dist/cli.js'), join(ctx.repoRoot, 'native/build/contain-init')])
          if (!existsSync(f)) throw new Unavailable(`${f} is missing: run npm run build first`)
        const help = await exec(process.execPath, [cli, 'run', '--help'])
        // Other work may change contain's default view; bind the probe in when contain can, else use its host path.
        const volumes = /--volume/.test(help.stdout)
        const app = join(ctx.workDir, 'isolation', 'app')
        mkdirSync(app, {recursive: true})
        chownSync(app, 65534, 65534)
        const inside = volumes ? '/probe/isolation-probe' : probe
        const rev = await exec('git', ['--no-optional-locks', '-C', ctx.repoRoot, 'rev-parse', '--short', 'HEAD'])
        return {
          argv: args => [process.execPath, cli, 'run', '--name', 'isolation-probe', ...(volumes ? ['-v', `${dir}:/probe:ro`] : []), '--', inside, ...args],
          cwd: app,
          version: `${JSON.parse(readFileSync(join(ctx.repoRoot, 'package.json'), 'utf8')).version}${rev.ok ? ` (${rev.stdout})` : ''}`,
          note: `app directory ${app} owned by 65534:65534; ${volumes ? 'probe bound in with -v DIR:/probe:ro' : 'contain has no -v here: probe run at its host path'}`,
        }
      },
    },
    {
      id: 'docker',
      label: 'docker run (default profile)',
      what: "docker run --rm --network none -v PROBEDIR:/probe:ro IMAGE /probe/isolation-probe: docker's defaults (root in the container, 14 capabilities, the default seccomp profile, masked /proc and /sys paths; no AppArmor on this host), the bench's private dockerd and busybox image. --network none because the private dockerd has no bridge (--bridge=none); docker's default bridge would also be a network namespace of its own.",
      async prepare() {
        const d = await startDocker(ctx)
        return {
          argv: args => [
            ...d.argvPrefix,
            'run',
            '--rm',
            '--pull',
            'never',
            '--network',
            'none',
            '-v',
            `${dir}:/probe:ro`,
            d.image,
            '/probe/isolation-probe',
            ...args,
          ],
          env: d.env,
          version: d.version,
          note: `${d.note}; the CLI is started with fd 300 and the two variables, and passes neither on`,
        }
      },
    },
    {
      id: 'systemd',
      label: 'systemd unit (sandboxed)',
      what: `systemd-run --wait --pipe with the properties in the command (no User=: root without capabilities) inside ../shared/tools/run-in-systemd-vm.sh (real systemd as PID 1 in a UML guest, kernel 6.1, pure cgroup v2); the guest plants the same targets in its own / and runs the same binary.`,
      async run(args, token) {
        return runSystemdColumn(ctx, setup, args, token)
      },
    },
    {
      id: 'bwrap',
      label: 'bwrap (typical)',
      what: `bwrap ${bwrapFlags(dir).join(' ')} -- /probe/isolation-probe: a typical desktop-sandbox invocation (bubblewrap's README style), run as root.`,
      async prepare() {
        requirePackages(ctx, ['bubblewrap'])
        const bin = which('bwrap', ['/usr/bin', '/bin'])
        if (!bin) throw new Unavailable('bwrap not found after installing bubblewrap')
        return {argv: args => [bin, ...bwrapFlags(dir), '--', '/probe/isolation-probe', ...args], version: firstLine((await exec(bin, ['--version'])).stdout)}
      },
    },
  ]
}

function bwrapFlags(dir) {
  const flags = ['--ro-bind', '/usr', '/usr']
  for (const d of ['bin', 'lib', 'lib64', 'sbin']) {
    try {
      flags.push('--symlink', readlinkSync(`/${d}`), `/${d}`) // merged /usr: /bin -> usr/bin
    } catch {
      if (existsSync(`/${d}`)) flags.push('--ro-bind', `/${d}`, `/${d}`)
    }
  }
  return [
    ...flags,
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--tmpfs',
    '/tmp',
    '--unshare-all',
    '--share-net',
    '--die-with-parent',
    '--new-session',
    '--ro-bind',
    dir,
    '/probe',
  ]
}

// A typical hardened service: the options the systemd.exec man page suggests for a network daemon.
export const systemdProperties = [
  'ProtectSystem=strict',
  'ProtectHome=yes',
  'PrivateTmp=yes',
  'PrivateDevices=yes',
  'ProtectKernelTunables=yes',
  'ProtectKernelModules=yes',
  'ProtectKernelLogs=yes',
  'ProtectControlGroups=yes',
  'NoNewPrivileges=yes',
  'RestrictNamespaces=yes',
  'SystemCallFilter=@system-service',
  'SystemCallErrorNumber=EPERM',
  'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6',
  'CapabilityBoundingSet=',
].map(p => `--property=${p}`)

const vmTool = ctx => resolve(ctx.repoRoot, '../shared/tools/run-in-systemd-vm.sh')

/** The guest plants its own targets (its /tmp, /run and / writes are its own), runs the unit, checks, reports. */
async function runSystemdColumn(ctx, setup, args, token) {
  const tool = vmTool(ctx)
  if (!existsSync(tool)) throw new Unavailable(`${tool} not found`)
  if (!which('linux.uml', ['/usr/bin', '/bin']) && !process.env.RUNVM_UML)
    throw new Unavailable('linux.uml not found: apt-get install --no-install-recommends user-mode-linux')
  const guestDir = join(ctx.workDir, 'isolation')
  const script = join(guestDir, 'systemd-guest.sh')
  const q = s => `'${String(s).replace(/'/g, "'\\''")}'`
  const dirsToMake = plantedDirs.map(q).join(' ')
  const plants = Object.keys(planted)
    .map(p => `printf '%s\\n' "$T" > ${q(p)}; chmod 644 ${q(p)}`)
    .join('\n')
  const checks = Object.values(written)
    .map(p => `if grep -qs "$T" ${q(p)}; then echo "hostfile ${p} present"; else echo "hostfile ${p} absent"; fi`)
    .join('\n')
  writeFileSync(
    script,
    `#!/bin/bash
# Runs inside the systemd guest: plant the targets, start the server, run the probe as a sandboxed unit.
set -u
P=${q(setup.probe)}
T=${q(token)}
mkdir -p ${dirsToMake}
${plants}
"$P" --serve ${q(socketPath)} "$T" > /run/contain-probe-serve.out 2>&1 &
SP=$!
for i in $(seq 50); do grep -qs ready /run/contain-probe-serve.out && break; sleep 0.1; done
NS=$(for n in pid mnt ipc net; do readlink /proc/self/ns/$n; done | paste -sd,)
echo "guest systemd: $(systemctl --version | head -1); kernel $(uname -r)"
export SSH_AUTH_SOCK=${q(leakyEnv(token).SSH_AUTH_SOCK)} AWS_SECRET_ACCESS_KEY=${q(leakyEnv(token).AWS_SECRET_ACCESS_KEY)}
bash -c 'exec 300</ && exec "$@"' bash systemd-run --wait --pipe --quiet --collect ${systemdProperties.map(q).join(' ')} "$P" ${args.map(q).join(' ')} --host-pid "$SP" --host-ns "$NS"
echo "unit-exit $?"
${checks}
kill "$SP"
`,
  )
  chmodSync(script, 0o755)
  const argv = [tool, '-C', guestDir, '-t', '300', '--', '/bin/bash', script]
  const r = await runCaptured(argv, {env: {...process.env}, timeoutMs: 330_000})
  const out = `${r.stdout}\n${r.stderr}`
  const results = parseProbe(out)
  const hostFiles = {}
  for (const m of out.matchAll(/^hostfile (\S+) (present|absent)$/gm)) hostFiles[m[1]] = m[2] === 'present'
  if (!Object.keys(results).length) throw new Unavailable(`the guest gave no probe output (exit ${r.exitCode ?? r.signal}): ${tail(out, 600)}`)
  checkHostWrites(results, token, hostFiles)
  const guest = /^guest systemd: (.*)$/m.exec(out)?.[1]
  return {
    results,
    exitCode: r.exitCode,
    output: out,
    version: guest,
    command: [
      'run-in-systemd-vm.sh',
      '-C',
      'bench/work/run/isolation',
      '--',
      'systemd-run',
      '--wait',
      '--pipe',
      '--quiet',
      '--collect',
      ...systemdProperties,
      setup.probe,
      '...',
    ],
    note: "in the guest, /, /tmp and /run are the guest's (the host's / read-only below a tmpfs): the targets are planted there by the guest script; the guest has no /dev/NAME of the host disk, and UML is its own kernel",
  }
}

export async function run(ctx) {
  const setup = await probeBinary(ctx)
  const disk = rootDisk()
  const ns = hostNamespaces()
  const out = []
  for (const column of columns(ctx, setup)) {
    ctx.cleanup.assertNotStopping()
    const token = `cp${randomBytes(6).toString('hex')}`
    const entry = {id: column.id, label: column.label, what: column.what, available: false}
    out.push(entry)
    ctx.log.info(`isolation: ${column.label}`)
    try {
      if (column.run) {
        const baseArgs = ['--token', token, ...(disk.name ? ['--disk', `${disk.name}:${disk.major}:${disk.minor}`] : [])]
        const r = await column.run(baseArgs, token)
        Object.assign(entry, {
          available: true,
          results: r.results,
          exitCode: r.exitCode,
          output: tail(r.output, 4000),
          version: r.version,
          command: r.command,
          note: r.note,
        })
        continue
      }
      const prepared = await column.prepare()
      const site = await plant(ctx, setup.probe, token)
      try {
        const args = [
          '--token',
          token,
          '--host-pid',
          String(site.pid),
          '--host-ns',
          ns,
          ...(disk.name ? ['--disk', `${disk.name}:${disk.major}:${disk.minor}`] : []),
        ]
        const argv = withFd300(prepared.argv(args))
        const env = {...(prepared.env ?? process.env), ...leakyEnv(token)}
        const r = await runCaptured(argv, {env, cwd: prepared.cwd})
        const results = parseProbe(r.stdout)
        checkHostWrites(results, token)
        Object.assign(entry, {
          available: true,
          results,
          exitCode: r.exitCode,
          signal: r.signal,
          output: tail(`${r.stdout}\n${r.stderr}`, 4000),
          version: prepared.version,
          note: prepared.note,
          command: argv,
        })
        if (!Object.keys(results).length)
          Object.assign(entry, {available: false, reason: `no probe output (exit ${r.exitCode ?? r.signal}): ${tail(`${r.stdout}\n${r.stderr}`, 400)}`})
      } finally {
        await site.undo()
      }
    } catch (error) {
      if (ctx.cleanup.started) throw error
      entry.reason = error instanceof Unavailable ? error.message : `failed: ${error?.stack ?? error}`
      ctx.log.warn(`isolation: ${column.label}: ${entry.reason}`)
    }
  }
  const result = {columns: out}
  const counts = heldCounts(result)
  const byId = Object.fromEntries(counts.map(c => [c.id, c]))
  const contain = out.find(c => c.id === 'contain')
  const docker = out.find(c => c.id === 'docker')
  // contain shares the host network by default (--network none opts out), as docker's --network host would:
  // a choice, not a hole, so that row is shown but not held against contain.
  const byDesign = new Set(['nsnet'])
  const worse =
    contain?.available && docker?.available
      ? protections
          .filter(([id]) => !byDesign.has(id) && docker.results[id]?.status === 'held' && contain.results[id]?.status === 'BROKEN')
          .map(([, label]) => label)
      : undefined
  return {
    title,
    config: {rounds: 1, untimed: true, quick: ctx.opts.quick, token: 'one per column', disk, hostNamespaces: ns},
    columns: out,
    peers: out.map(c => ({
      id: c.id,
      label: c.label,
      available: c.available,
      reason: c.reason,
      version: c.version,
      note: [c.what, c.note].filter(Boolean).join(' '),
      command: c.command,
    })),
    intro: [
      "One static probe (`bench/native/isolation-probe.c`, `gcc -static`) runs unchanged inside each confinement and makes every attempt for real; each cell is the kernel's answer (errno). **BROKEN** = the attempt succeeded from inside; held = it failed; n/a = the attempt says nothing on that kernel (e.g. no such device). Writes the probe reports are checked on the host: a file that did not land there is a private copy (held).",
      `Before each column the bench plants a token in /root/contain-probe-secret, /home/contain-probe/secret, /srv/contain-probe-other/secret (world-readable; /root keeps its own mode), markers in /tmp, /run and /dev/shm, and a listening socket ${socketPath} whose server process is the host process to see, signal and ptrace; it starts the launcher through \`bash -c 'exec 300</ && exec "$@"'\` with SSH_AUTH_SOCK and AWS_SECRET_ACCESS_KEY set, and removes everything afterwards. Root disk: ${disk.name ? `/dev/${disk.name} (${disk.major}:${disk.minor})` : 'none'}${disk.note ? ` (${disk.note})` : ''}.`,
    ],
    sections: [
      {
        title: 'Protections',
        text: ['One row per attempt, one column per confinement.', ...(heldByMachine(result).size ? [machineNote] : [])],
        columns: ['protection', ...out.map(c => c.label)],
        rows: [...tableRows(result), ['**held / tried** († and n/a rows not counted)', ...counts.map(c => (c.available ? `${c.held} / ${c.tried}` : 'n/a'))]],
      },
      {
        title: 'Columns that did not run',
        text:
          out
            .filter(c => !c.available)
            .map(c => `- ${c.label}: ${c.reason}`)
            .join('\n') || 'None: every column ran.',
        summary: false,
      },
      ...out
        .filter(c => c.available)
        .map(c => ({
          title: `What the probe printed: ${c.label}`,
          text: [`Command: \`${(c.command ?? []).join(' ').split(ctx.workDir).join('bench/work/run')}\``, c.note ? `Note: ${c.note}` : ''].filter(Boolean),
          columns: ['attempt', 'result', 'detail'],
          rows: protections.map(([id, label]) => [label, c.results[id]?.status ?? 'no answer', c.results[id]?.detail ?? '']),
          summary: false,
        })),
    ],
    targets: [
      ...counts.map(c => ({
        text: `${c.label}: protections held`,
        value: c.available ? c.held : undefined,
        unit: c.available ? `of ${c.tried}` : undefined,
        status: 'info',
        detail: c.available ? '† rows (denied by the bare machine) and n/a rows not counted' : byId[c.id] && out.find(o => o.id === c.id)?.reason,
      })),
      {
        text: 'contain run holds everything docker run holds (the host network aside: shared by design)',
        value: worse?.length,
        unit: 'broken',
        status: worse === undefined ? 'n/a' : worse.length ? 'missed' : 'met',
        detail:
          worse === undefined
            ? 'contain or docker did not run'
            : worse.length
              ? `held by docker, broken under contain: ${worse.join('; ')}`
              : 'no protection docker holds is broken under contain',
      },
    ],
  }
}
