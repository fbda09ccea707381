/**
 * contain's seccomp compiler against libseccomp, judged by the kernel. Docker's default profile is
 * built with libseccomp as Docker and runc build it (fixtures/seccomp-differential.py); contain's
 * default profile is compiled by contain; a real process installs each filter and makes every
 * x86_64 syscall number, and the argument cases of the conditional ones (socket families,
 * personality values, clone flags, with and without high bits), and the errno the kernel answers
 * is compared. No call runs: a marker filter under the one tested turns "allowed" into an errno.
 *
 * Both filters cover the native ABI only: Docker's also filters x32 and i386 calls by the same
 * rules, where contain's kills them (test/unit/seccomp/bpf.test.ts covers that by design).
 *
 * Every difference is listed below with its reason; anything else fails. Runs as any user
 * (no_new_privs makes seccomp unprivileged), needs python3-seccomp (setup.sh installs it).
 */
import {execa} from 'execa'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import t from 'tap'
import {DOCKER_DEFAULT_CAPABILITIES, type CapabilityName} from '../../src/capabilities.js'
import {compileFilter} from '../../src/seccomp/bpf.js'
import {parseProfile} from '../../src/seccomp/profile.js'
import {currentKernelVersion, resolvePolicy} from '../../src/seccomp/resolve.js'
import {syscallNumber, syscallTable} from '../../src/seccomp/syscalls.js'
import {root, skipFile} from './helpers.js'

const python = '/usr/bin/python3'
const probe = join(root, 'test/integration/fixtures/seccomp-differential.py')
const DOCKER_DEFAULT = join(root, 'test/fixtures/seccomp/docker-default.json')
const TEMPLATE = join(root, 'templates/seccomp/default.json')

const HIGH = 1n << 32n
const SIGCHLD = 17n
const CLONE_THREAD_FLAGS = 0x003d0f00n // what glibc passes for pthread_create
const NAMESPACE_FLAGS = [0x00020000n, 0x02000000n, 0x04000000n, 0x08000000n, 0x10000000n, 0x20000000n, 0x40000000n]
const SIGN_EXTENDED = 0xffffffff00000000n

/** Argument cases for the syscalls Docker's profile decides by argument (arg0 each). */
const ARGUMENT_CASES: Record<string, bigint[]> = {
  socket: [
    ...Array.from({length: 50}, (_, family) => BigInt(family)),
    0xffffffffn,
    ...[2n, 16n, 38n, 39n, 40n, 41n].map(family => HIGH | family),
    SIGN_EXTENDED | 40n,
  ],
  personality: [0n, 8n, 0x20000n, 0x20008n, 0xffffffffn, 0x40000n, 1n, 0x20009n, ...[0n, 8n, 0xffffffffn, 0x40000n].map(persona => HIGH | persona)],
  clone: [
    0n,
    SIGCHLD,
    CLONE_THREAD_FLAGS,
    0x7e020000n,
    ...NAMESPACE_FLAGS.map(flag => flag | SIGCHLD),
    HIGH | SIGCHLD,
    HIGH | 0x10000000n | SIGCHLD,
    SIGN_EXTENDED | SIGCHLD,
  ],
  clone3: [0n],
}

/** Each syscall number from 0 to a little past the table, with zero arguments, then the argument cases. */
function casesToTry(): Array<{label: string; call: bigint[]}> {
  const cases: Array<{label: string; call: bigint[]}> = []
  const highest = syscallTable('x86_64').highest
  for (let nr = 0; nr <= highest + 30; nr++) cases.push({label: `nr ${nr}`, call: [BigInt(nr)]})
  for (const [name, values] of Object.entries(ARGUMENT_CASES)) {
    for (const value of values) cases.push({label: `${name}(0x${value.toString(16)})`, call: [BigInt(syscallNumber('x86_64', name)!), value]})
  }
  return cases
}

interface Report {
  libseccomp: string
  byNumber: string[]
  numberMismatches: string[]
  instructions: {contain: number; libseccomp: number}
  verdicts: {contain: string[]; libseccomp: string[]}
}

/** Differences as lines; runs of syscall numbers with the same pair of verdicts are one line ("nr 467-500"). */
function differences(cases: Array<{label: string}>, report: Report): string[] {
  const lines: string[] = []
  let run: {first: number; last: number; pair: string} | undefined
  const flush = () => {
    if (run) lines.push(`nr ${run.first}${run.last > run.first ? `-${run.last}` : ''}: ${run.pair}`)
    run = undefined
  }
  cases.forEach(({label}, index) => {
    const [ours, theirs] = [report.verdicts.contain[index], report.verdicts.libseccomp[index]]
    const number = /^nr (\d+)$/.exec(label)
    if (ours === theirs) {
      if (number) flush()
      return
    }
    const pair = `contain ${ours}, libseccomp ${theirs}`
    if (number && run && run.pair === pair && run.last === Number(number[1]) - 1) {
      run.last++
      return
    }
    flush()
    if (number) run = {first: Number(number[1]), last: Number(number[1]), pair}
    else lines.push(`${label}: ${pair}`)
  })
  flush()
  return lines
}

/** The differences by design, the same for every capability set tried, each with its reason. */
function expectedDifferences(enosysAbove: number, last: number): string[] {
  return [
    // runc's rule: numbers above the highest one the profile names answer ENOSYS, so programs
    // fall back as on an older kernel. runc patches this into libseccomp's output itself
    // (libcontainer/seccomp/patchbpf), so Docker answers ENOSYS here too; plain libseccomp does not.
    `nr ${enosysAbove + 1}-${last}: contain ERRNO(38), libseccomp ERRNO(1)`,
    // socket's family is an int: the kernel reads the low 32 bits, AF_ALG (38) and AF_VSOCK (40),
    // which Docker's rules mean to deny; libseccomp's 64-bit compare sees "above 40" and allows.
    'socket(0x100000026): contain ERRNO(1), libseccomp ALLOW',
    'socket(0x100000028): contain ERRNO(1), libseccomp ALLOW',
    'socket(0xffffffff00000028): contain ERRNO(1), libseccomp ALLOW',
    // personality's persona is an unsigned int: the kernel reads 0 (PER_LINUX), 8 and 0xffffffff
    // (a query), which Docker's rules allow; libseccomp's 64-bit compare sees other values.
    'personality(0x100000000): contain ALLOW, libseccomp ERRNO(1)',
    'personality(0x100000008): contain ALLOW, libseccomp ERRNO(1)',
    'personality(0x1ffffffff): contain ALLOW, libseccomp ERRNO(1)',
  ]
}

const CAPABILITY_SETS: Record<string, readonly CapabilityName[]> = {
  "Docker's default 14": DOCKER_DEFAULT_CAPABILITIES,
  'default + SYS_ADMIN': [...DOCKER_DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'],
  none: [],
}

async function libseccompAvailable(): Promise<string | undefined> {
  if (process.arch !== 'x64') return `the probe uses x86_64 syscall numbers, this is ${process.arch}`
  if (!existsSync(python)) return `${python} is missing`
  const check = await execa(python, ['-c', 'import seccomp'], {reject: false})
  return check.exitCode === 0 ? undefined : 'python3-seccomp is not installed (apt-get install python3-seccomp; setup.sh does)'
}

const unavailable = await libseccompAvailable()
if (unavailable) {
  skipFile(t, unavailable)
} else {
  const kernel = currentKernelVersion()
  const cases = casesToTry()
  const template = parseProfile(readFileSync(TEMPLATE, 'utf8'), {file: TEMPLATE}).profile

  for (const [setName, capabilities] of Object.entries(CAPABILITY_SETS)) {
    t.test(`the kernel's verdicts under contain's filter and libseccomp's: ${setName}`, async t => {
      const policy = resolvePolicy(template, {arch: 'x86_64', capabilities, kernel})
      const containFilter = join(t.testdir(), 'contain.bpf')
      writeFileSync(containFilter, compileFilter(policy))
      const spec = {
        profile: DOCKER_DEFAULT,
        capabilities,
        kernel: [kernel.major, kernel.minor],
        containFilter,
        numbers: Object.fromEntries(syscallTable('x86_64').byName),
        cases: cases.map(({call}) => call.map(String)),
      }
      const result = await execa(python, [probe], {input: JSON.stringify(spec), reject: false, timeout: 60_000})
      t.equal(result.exitCode, 0, `the probe ran: ${result.stderr.trim()}`)
      if (result.exitCode !== 0) return
      const report = JSON.parse(result.stdout) as Report

      t.equal(report.verdicts.contain.length, cases.length, 'one verdict per case under contain')
      t.equal(report.verdicts.libseccomp.length, cases.length, 'one verdict per case under libseccomp')
      const ran = [...report.verdicts.contain, ...report.verdicts.libseccomp].filter(verdict => verdict.startsWith('RAN'))
      t.same(ran, [], 'no call ran: the marker filter caught every allowed one')
      t.same(report.numberMismatches, [], 'libseccomp and contain number every syscall libseccomp knows the same way')
      t.comment(
        `libseccomp ${report.libseccomp}: ${cases.length} calls, filters of ${report.instructions.contain} (contain) and ${report.instructions.libseccomp} (libseccomp) instructions; names this libseccomp does not know, added by contain's number: ${report.byNumber.join(', ') || 'none'}`,
      )

      const last = syscallTable('x86_64').highest + 30
      t.same(differences(cases, report), expectedDifferences(policy.enosysAbove!, last), 'the only differences are the ones by design')
      const allowed = report.verdicts.contain.filter(verdict => verdict === 'ALLOW').length
      t.ok(allowed > 250, `contain's filter allows ${allowed} of the ${cases.length} calls`)
    })
  }
}
