import {constants} from 'node:os'
import t from 'tap'
import {ExitCode, LaunchError} from '../../../src/errors.js'
import type {LaunchPlan} from '../../../src/launch/plan.js'
import {retryCannotFix, setupFailure} from '../../../src/launch/setup-failure.js'

const errno = constants.errno

/** A plan as setupFailure reads it: the command after the last --, the configured paths, the view's binds. */
const PLAN = {
  name: 'web',
  argv: ['/opt/contain-init', 'enter', '--', '/usr/bin/unshare', '--', '/opt/contain-init', 'run', '--', 'bundle', 'exec', 'rails', 's'],
  env: {PATH: '/usr/bin:/bin'},
  configuredPaths: {
    workdir: '/srv/app',
    volumes: ['/mnt/data'],
    tmpfs: ['/tmp', '/srv/app/tmp/pids'],
    writable: ['/srv/app/tmp', '/srv/app/log'],
    user: {uid: 1000, gid: 1000},
  },
  view: {steps: [{kind: 'bind', source: '/home/data', target: '/mnt/data', readOnly: false}], visible: ['/usr', '/srv/app', '/mnt/data'], warnings: []},
} as unknown as LaunchPlan

t.test('what a retry cannot fix: configuration errors, whatever the stage', async t => {
  for (const [stage, name] of [
    ['chdir', 'ENOENT'],
    ['chdir', 'EACCES'],
    ['view', 'ELOOP'],
    ['view', 'EROFS'],
    ['view', 'ENOENT'],
    ['user', 'EINVAL'],
    ['user', 'EPERM'],
    ['exec', 'ENOENT'],
    ['exec', 'EACCES'],
    ['seccomp', 'EINVAL'],
    ['usage', 'EINVAL'],
    ['hostname', 'EPERM'],
  ] as const) {
    t.ok(retryCannotFix({stage, errno: errno[name]}), `${stage} ${name}`)
  }
})

t.test("what may pass: the host's state of the moment, and stages outside the configuration", async t => {
  for (const [stage, name] of [
    ['fork', 'EAGAIN'],
    ['user', 'EAGAIN'],
    ['view', 'ENOMEM'],
    ['view', 'ENOSPC'],
    ['exec', 'ETXTBSY'],
    ['view', 'EMFILE'],
    ['tmpfs', 'EBUSY'],
    ['fork', 'EPERM'],
    ['cgroup', 'ENOENT'],
    ['prctl', 'EINVAL'],
    ['close-fds', 'EBADF'],
  ] as const) {
    t.notOk(retryCannotFix({stage, errno: errno[name]}), `${stage} ${name}`)
  }
})

t.test('a working directory the app cannot enter names -w / working_dir, the uid and the fix', async t => {
  const error = setupFailure(PLAN, {stage: 'chdir', errno: errno.EACCES, message: '/srv/app: Permission denied'})
  t.type(error, LaunchError)
  t.ok(error.permanent)
  t.equal(error.exitCode, ExitCode.containFailed)
  t.equal(error.message, 'bundle: the app (uid 1000) cannot enter its working directory /srv/app (-w / working_dir:): Permission denied')
  t.match(error.fix, /chmod o\+x.*-u \/ user:.*working_dir/)
})

t.test('a view failure names the setting the path comes from', async t => {
  const loop = setupFailure(PLAN, {stage: 'view', errno: errno.ELOOP, message: '/srv/app/tmp: Too many levels of symbolic links'})
  t.ok(loop.permanent)
  t.match(loop.message, '/srv/app/tmp has a symbolic link in its path, which contain does not follow for a mount (writable path (--writable / writable:))')
  const readOnly = setupFailure(PLAN, {stage: 'view', errno: errno.EROFS, message: '/srv/app/tmp/pids: Read-only file system'})
  t.match(readOnly.message, 'cannot make the mount point /srv/app/tmp/pids (tmpfs (--tmpfs / tmpfs:)): Read-only file system')
  // An intermediate directory of a volume's target: the setting below it.
  const parent = setupFailure(PLAN, {stage: 'view', errno: errno.EACCES, message: '/mnt: Permission denied'})
  t.match(parent.message, '(volume (-v / volumes:))')
  const gone = setupFailure(PLAN, {stage: 'view', errno: errno.ENOENT, message: '/home/data: No such file or directory'})
  t.match(gone.message, '(a host path given to the app)')
  t.match(gone.fix, /removed since contain planned the app/)
  const busy = setupFailure(PLAN, {stage: 'view', errno: errno.ENOMEM, message: '/mnt/data: Cannot allocate memory'})
  t.notOk(busy.permanent, 'out of memory may pass')
})

t.test('exec: not found exits 127, not executable 126, both permanent; a busy text file is retried', async t => {
  const notFound = setupFailure(PLAN, {stage: 'exec', errno: errno.ENOENT, message: 'No such file or directory'})
  t.match(notFound, {exitCode: ExitCode.commandNotFound, permanent: true, message: 'bundle: command not found'})
  const denied = setupFailure(PLAN, {stage: 'exec', errno: errno.EACCES, message: 'Permission denied'})
  t.match(denied, {exitCode: ExitCode.cannotExecute, permanent: true})
  const busy = setupFailure(PLAN, {stage: 'exec', errno: errno.ETXTBSY, message: 'Text file busy'})
  t.match(busy, {exitCode: ExitCode.cannotExecute, permanent: false})
})

t.test('a user that cannot exist in a user namespace: the ids and the fix', async t => {
  const error = setupFailure(PLAN, {stage: 'user', errno: errno.EINVAL, message: 'setuid: Invalid argument'})
  t.ok(error.permanent)
  t.equal(error.message, "bundle: cannot switch to the app's user (uid 1000, gid 1000): setuid: Invalid argument")
  t.match(error.fix, /--userns/)
})

t.test('without configured paths (an older plan) the messages still stand', async t => {
  const error = setupFailure(
    {...PLAN, configuredPaths: undefined, view: undefined},
    {stage: 'tmpfs', errno: errno.ENOENT, message: '/x: No such file or directory'},
  )
  t.equal(error.message, 'bundle: setting up the app failed at tmpfs: /x: No such file or directory')
  t.ok(error.permanent)
})
