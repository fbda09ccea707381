import t from 'tap'
import {parseInitReport} from '../../../src/launch/status.js'

t.test('reads the pid of PID 1 and the exit status', async t => {
  t.strictSame(parseInitReport('pid 4321\nexit 0\n'), {pid1: 4321, exitCode: 0})
  t.strictSame(parseInitReport('pid 4321\nexit 3\n'), {pid1: 4321, exitCode: 3})
})

t.test('reads a terminating signal', async t => {
  t.strictSame(parseInitReport('pid 4321\nsignal 9\n'), {pid1: 4321, signal: 9})
})

t.test('reads an error as stage, errno and message', async t => {
  t.strictSame(parseInitReport('pid 10\nerror mount 1 /proc: Operation not permitted\n'), {
    pid1: 10,
    error: {stage: 'mount', errno: 1, message: '/proc: Operation not permitted'},
  })
  t.strictSame(parseInitReport('error exec 2 No such file or directory\n').error, {stage: 'exec', errno: 2, message: 'No such file or directory'})
})

t.test('the first error wins: later ones are consequences', async t => {
  const report = parseInitReport('pid 10\nerror hostname 1 sethostname: Operation not permitted\nerror exec 13 Permission denied\n')
  t.equal(report.error?.stage, 'hostname')
  t.equal(report.error?.errno, 1)
})

t.test('nothing reported is an empty report', async t => {
  t.strictSame(parseInitReport(''), {})
  t.strictSame(parseInitReport('\n\n'), {})
})

t.test('a last line without its newline still counts', async t => {
  t.strictSame(parseInitReport('pid 7\nexit 1'), {pid1: 7, exitCode: 1})
})

t.test('unknown words and blank lines are ignored', async t => {
  t.strictSame(parseInitReport('hello world\n\nwarning something odd\npid 5\n'), {pid1: 5})
})

t.test('a truncated line without its number does not invent a status', async t => {
  t.equal(parseInitReport('pid 7\nexit').exitCode, undefined, '"exit" alone is no exit code')
  t.equal(parseInitReport('pid 7\nexit ').exitCode, undefined, '"exit " is not exit code 0')
  t.equal(parseInitReport('pid\n').pid1, undefined, '"pid" alone is no pid')
  t.equal(parseInitReport('pid 7\nsignal x\n').signal, undefined, 'a garbage signal is no signal')
})

t.test('reads the pid of the reaper contain-init enter left watching the cgroup', async t => {
  t.strictSame(parseInitReport('reaper 77\npid 4321\nexit 0\n'), {reaper: 77, pid1: 4321, exitCode: 0})
  t.strictSame(parseInitReport('reaper \npid 4321\n'), {pid1: 4321}, 'a line cut before its number reports nothing')
})

t.test("reads that the app's setup is done (PID 1 saw its command executed)", async t => {
  t.strictSame(parseInitReport('pid 4321\nstarted\n'), {pid1: 4321, started: true})
  t.strictSame(parseInitReport('pid 4321\nerror chdir 13 /srv: Permission denied\n').started, undefined, 'not after a setup error')
})
