// The isolation suite's rows and cells, shared by the suite (its .md) and `npm run bench:readme` (the table
// the README quotes), so both always say the same thing about the same .json.
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

/** Probe ids (bench/native/isolation-probe.c) in row order, with what the row means to a reader. */
export const protections = [
  ['shadow', 'read /etc/shadow'],
  ['rootsecret', 'read a secret planted in /root'],
  ['homesecret', 'read a secret in /home/USER (world-readable)'],
  ['otherapp', "read another app's directory (/srv/…/secret)"],
  ['hosttmp', "see the host's /tmp (marker file)"],
  ['hostrun', "see the host's /run (marker file)"],
  ['hostshm', "see the host's /dev/shm (marker file)"],
  ['writeetc', "write the host's /etc"],
  ['writeusr', "write the host's /usr"],
  ['blockdev', 'open the root disk /dev/NAME'],
  ['mknodblock', "mknod the root disk's major:minor, then open it"],
  ['mknodchar', 'mknod /dev/kmsg (1:11), then open it'],
  ['hostsocket', 'connect to a host unix socket in /run'],
  ['inheritedfd', 'write the host / through an inherited fd 300'],
  ['hostenv', "the launcher's SSH_AUTH_SOCK / AWS_SECRET_ACCESS_KEY"],
  ['uid0', 'runs as host uid 0'],
  ['caps', 'effective capabilities'],
  ['nonewprivs', 'setuid can raise privileges (no_new_privs off)'],
  ['seccomp', 'syscalls unfiltered (no seccomp)'],
  ['rawsocket', 'raw socket (AF_INET, SOCK_RAW)'],
  ['vsockhighbit', 'socket((1<<32)|AF_VSOCK): the high-bit family'],
  ['procsys', 'open /proc/sys/kernel/core_pattern for writing'],
  ['sysfs', 'open a /sys attribute for writing'],
  ['mount', 'mount a tmpfs'],
  ['userns', 'unshare a user namespace'],
  ['keyctl', 'keyctl (kernel keyrings)'],
  ['bpf', 'bpf(BPF_MAP_CREATE)'],
  ['seeproc', 'see a host process in /proc'],
  ['killhost', 'signal a host process (kill 0)'],
  ['ptracehost', 'ptrace a host process'],
  ['exectmp', 'exec a file written to /tmp'],
  ['dmesg', 'read the kernel log (syslog)'],
  ['kmod', 'load a kernel module (finit_module)'],
  ['kcore', 'read /proc/kcore'],
  ['sysrq', 'open /proc/sysrq-trigger for writing'],
  ['sysfirmware', 'list /sys/firmware'],
  ['powercap', 'list /sys/devices/virtual/powercap'],
  ['nspid', "the host's PID namespace"],
  ['nsmnt', "the host's mount namespace"],
  ['nsipc', "the host's IPC namespace"],
  ['nsnet', "the host's network namespace"],
]

// Probe details mapped to a few words for the table cell (the full detail is in the per-column sections).
const shortForms = [
  [/private copy/, () => 'private copy'],
  [/fd 300 is not open/, () => 'fd 300 closed'],
  [/^neither /, () => 'not passed'],
  [/reached the app/, () => 'passed'],
  [/^euid 0 = host uid 0/, () => 'uid 0'],
  [/^euid 0 inside a user namespace/, () => 'root in a userns'],
  [/^euid (\d+)/, m => `uid ${m[1]}`],
  [/^CapEff 0$/, () => 'none'],
  [/\((\d+) capabilities(, in a user namespace)?/, m => `${m[1]} caps${m[2] ? ' in a userns' : ''}`],
  [/NoNewPrivs: 1/, () => 'set'],
  [/NoNewPrivs: 0/, () => 'not set'],
  [/Seccomp: 2/, () => 'filtered'],
  [/Seccomp: 0/, () => 'none'],
  [/AF_VSOCK\): created \(plain AF_VSOCK: (\w+)\)/, m => (m[1] === 'created' ? 'created' : `created; plain: ${m[1]}`)],
  [/is empty \(masked\)/, () => 'masked'],
  [/lists (\d+) entries/, m => `${m[1]} entries`],
  [/^own \w+ namespace/, () => 'own'],
  [/^the host's \w+ namespace/, () => 'shared'],
  [/is another process/, () => 'not that pid'],
  [/killed by (\w+)/, m => `killed: ${m[1]}`],
  [/read the planted secret/, () => 'read'],
  [/read (\d+) bytes of \/etc\/shadow/, () => 'read'],
  [/read (\d+) bytes/, m => `read ${m[1]} B`],
  [/^connected/, () => 'connected'],
  [/through inherited fd/, () => 'wrote host /tmp'],
  [/^created |: created$/, () => 'created'],
  [/for writing$/, () => 'opened'],
  [/^mounted/, () => 'mounted'],
  [/created a map/, () => 'created'],
  [/is the host's process/, () => 'visible'],
  [/allowed to signal/, () => 'allowed'],
  [/attached to/, () => 'attached'],
  [/executed it/, () => 'executed'],
  [/past the permission check/, () => 'permitted'],
  [/: ok$/, () => 'ok'],
]

/** Parses the probe's "ID held|BROKEN|n/a DETAIL" lines; anything else (a launcher's own output) is ignored. */
export function parseProbe(text) {
  const results = {}
  for (const line of String(text).split('\n')) {
    const m = /^([a-z0-9]+) (held|BROKEN|n\/a) ?(.*)$/.exec(line.trim())
    if (m && protections.some(([id]) => id === m[1])) results[m[1]] = {status: m[2], detail: m[3]}
  }
  return results
}

/** The short reason in a probe detail: a known phrase, else its last errno name, else its first words. */
export function shortReason(detail = '') {
  const text = String(detail)
  for (const [re, short] of shortForms) {
    const m = re.exec(text)
    if (m) return short(m)
  }
  const errnos = text.match(/\bE[A-Z0-9]{2,}\b/g)
  if (errnos) return errnos[errnos.length - 1]
  return text.split(' ').slice(0, 4).join(' ')
}

/** One table cell: "held (EACCES)", "**BROKEN** (created /etc/…)", "n/a (…)", or why there is no answer. */
export function cell(column, id) {
  if (!column.available) {
    const why = String(column.reason ?? 'column did not run')
      .replace(/^failed: /, '')
      .split('\n')[0]
    return `n/a: ${why.length > 80 ? `${why.slice(0, 79)}…` : why}`
  }
  const r = column.results?.[id]
  if (!r) return `no answer${column.exitCode !== undefined && column.exitCode !== 0 ? ` (exit ${column.exitCode})` : ''}`
  const why = shortReason(r.detail)
  if (r.status === 'BROKEN') return `**BROKEN** (${why})`
  return `${r.status}${why ? ` (${why})` : ''}`
}

/** Rows the unconfined baseline already holds: the machine itself denies them, so they cannot tell the columns apart. */
export function heldByMachine(result) {
  const host = result.columns.find(c => c.id === 'host' && c.available)
  return new Set(protections.filter(([id]) => host?.results?.[id] && host.results[id].status !== 'BROKEN').map(([id]) => id))
}

export const machineMark = '†'
export const machineNote = `${machineMark} the machine itself denies this, or its kernel lacks it, even without confinement (the first column), so the row does not tell the confinements apart here.`

/** Rows [protection, cell per column], for a result of the isolation suite. */
export function tableRows(result) {
  const byMachine = heldByMachine(result)
  return protections.map(([id, label]) => [`${label}${byMachine.has(id) ? ` ${machineMark}` : ''}`, ...result.columns.map(c => cell(c, id))])
}

/** Held of tried per column, over the rows the bare machine does not already deny (†) and that are not n/a. */
export function heldCounts(result) {
  const byMachine = heldByMachine(result)
  return result.columns.map(c => {
    const answered = protections.filter(([id]) => !byMachine.has(id) && c.results?.[id] && c.results[id].status !== 'n/a')
    const held = answered.filter(([id]) => c.results[id].status === 'held')
    return {id: c.id, label: c.label, available: c.available, held: held.length, tried: answered.length}
  })
}

/** Markdown of the README table: one row per protection, one column per confinement, plus held/tried. */
export function readmeTable(result) {
  const L = []
  L.push(`| protection | ${result.columns.map(c => String(c.label).replace(/\|/g, '\\|')).join(' | ')} |`)
  L.push(`|---|${result.columns.map(() => '---').join('|')}|`)
  for (const row of tableRows(result)) L.push(`| ${row.map(c => String(c).replace(/\|/g, '\\|')).join(' | ')} |`)
  L.push(
    `| **held / tried** († and n/a rows not counted) | ${heldCounts(result)
      .map(h => (h.available ? `${h.held} / ${h.tried}` : 'n/a'))
      .join(' | ')} |`,
  )
  L.push('')
  if (heldByMachine(result).size) L.push(machineNote, '')
  L.push(
    `Measured by \`${result.command}\` on ${result.date} (Linux ${result.machine?.kernel}, cgroup ${result.machine?.cgroupMode}); every cell is the kernel's answer to a real attempt from inside (bench/native/isolation-probe.c). Commands and details: [bench/results/${result.date}-isolation.md](bench/results/${result.date}-isolation.md).`,
  )
  return `${L.join('\n')}\n`
}

/** The newest bench/results/<date>-isolation.json (full runs before quick ones of the same day). */
export function latestIsolationResult(resultsDir) {
  const files = readdirSync(resultsDir)
    .filter(f => /^\d{4}-\d{2}-\d{2}-isolation(-quick)?\.json$/.test(f))
    .sort((a, b) => a.slice(0, 10).localeCompare(b.slice(0, 10)) || (a.includes('-quick') ? -1 : 1))
  if (!files.length) throw new Error(`no <date>-isolation.json in ${resultsDir}: run npm run bench -- --suite isolation first`)
  return JSON.parse(readFileSync(join(resultsDir, files[files.length - 1]), 'utf8'))
}

export const readmeMarkers = ['<!-- isolation-table -->', '<!-- /isolation-table -->']

/** FILE's text with the block between the markers replaced by `table`; throws when the markers are missing. */
export function replaceReadmeBlock(text, table) {
  const [open, close] = readmeMarkers
  const start = text.indexOf(open)
  const end = text.indexOf(close)
  if (start === -1 || end < start) throw new Error(`no ${open} … ${close} block to replace`)
  return `${text.slice(0, start + open.length)}\n${table}${text.slice(end)}`
}
