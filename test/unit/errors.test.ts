import t from 'tap'
import {CgroupError, ContainError, ExitCode, FileError, HostError, InvalidValueError, LaunchError, renderError} from '../../src/errors.js'

t.test('exit codes follow Docker', async t => {
  t.strictSame(ExitCode, {containFailed: 125, cannotExecute: 126, commandNotFound: 127})
})

t.test('InvalidValueError names the field, the problem and the quoted value', async t => {
  const error = new InvalidValueError('--cpus', 'abc', 'not a number', 'use 0.5')
  t.equal(error.message, '--cpus: not a number (got "abc")')
  t.equal(error.name, 'InvalidValueError')
  t.equal(error.fix, 'use 0.5')
  t.equal(error.exitCode, 125)
  t.equal(new InvalidValueError('--read-only', true, 'x', 'y').message, '--read-only: x (got true)', 'non-strings are not quoted')
})

t.test('FileError names the file, with line and column when known', async t => {
  t.equal(new FileError('contain.yml', 'bad indent').message, 'contain.yml: bad indent')
  t.equal(new FileError('contain.yml', 'bad indent', {line: 3}).message, 'contain.yml:3: bad indent')
  t.equal(new FileError('contain.yml', 'bad indent', {line: 3, column: 7}).message, 'contain.yml:3:7: bad indent')
})

t.test('CgroupError names the cgroup path; LaunchError the command', async t => {
  t.equal(new CgroupError('/sys/fs/cgroup/x/cpu.max', 'cannot write').message, 'cgroup /sys/fs/cgroup/x/cpu.max: cannot write')
  t.equal(new LaunchError(['rails', 's'], 'not found', {exitCode: 127}).message, 'rails: not found')
  t.equal(new LaunchError([], 'nothing to run').message, '(no command): nothing to run')
})

t.test('renderError: a ContainError is its message, a fix line and its exit code', async t => {
  t.strictSame(renderError(new InvalidValueError('--memory', '5x', 'not a size', 'use 512m')), {
    message: 'contain: --memory: not a size (got "5x")\n  fix: use 512m',
    exitCode: 125,
  })
  t.strictSame(renderError(new LaunchError(['nope'], 'command not found', {fix: 'check PATH', exitCode: ExitCode.commandNotFound})), {
    message: 'contain: nope: command not found\n  fix: check PATH',
    exitCode: 127,
  })
})

t.test('renderError works for every ContainError subclass', async t => {
  const errors: ContainError[] = [
    new FileError('env', 'unreadable', {fix: 'f1'}),
    new CgroupError('/cg', 'busy', {fix: 'f2'}),
    new HostError('no unshare', {fix: 'f3'}),
  ]
  t.strictSame(
    errors.map(error => renderError(error).message),
    ['contain: env: unreadable\n  fix: f1', 'contain: cgroup /cg: busy\n  fix: f2', 'contain: no unshare\n  fix: f3'],
  )
  t.equal(renderError(new HostError('x', {exitCode: 126})).exitCode, 126)
})

t.test('renderError: no fix, no fix line', async t => {
  t.strictSame(renderError(new HostError('no unshare')), {message: 'contain: no unshare', exitCode: 125})
})

t.test('renderError: the cause is shown only when verbose', async t => {
  const error = new CgroupError('/cg/cpu.max', 'cannot write', {fix: 'f', cause: new Error('EINVAL')})
  t.equal(renderError(error).message, 'contain: cgroup /cg/cpu.max: cannot write\n  fix: f')
  t.equal(renderError(error, true).message, 'contain: cgroup /cg/cpu.max: cannot write\n  fix: f\n  cause: Error: EINVAL')
})

t.test('renderError: a plain Error is an internal error, exit 125, asking for a report', async t => {
  t.strictSame(renderError(new TypeError('x is undefined')), {
    message: 'contain: internal error: x is undefined\n  fix: rerun with CONTAIN_DEBUG=1 and report it',
    exitCode: 125,
  })
})

t.test('renderError: verbose shows the stack of an internal error', async t => {
  const error = new Error('boom')
  const {message} = renderError(error, true)
  t.ok(message.startsWith(`contain: internal error: ${error.stack}`))
})

t.test('renderError: something thrown that is not an Error is shown as text', async t => {
  t.strictSame(renderError('oops'), {message: 'contain: internal error: oops\n  fix: rerun with CONTAIN_DEBUG=1 and report it', exitCode: 125})
})
