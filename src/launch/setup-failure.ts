/**
 * What contain-init reported when it could not set the app up (an `error STAGE ERRNO DETAIL`
 * line on the status fd), turned into a LaunchError that names the setting at fault and its fix,
 * and classified: a failure that a retry cannot fix (a working directory the app's user cannot
 * enter, a mount target that cannot be made, a command that is not there) is `permanent`, so a
 * supervisor marks the app failed once instead of restarting it in backoff forever; a failure of
 * the moment (memory, process or file limits, a busy file) goes through the restart policy.
 */
import {constants} from 'node:os'
import {dirname, isAbsolute} from 'node:path'
import {ExitCode, LaunchError} from '../errors.js'
import {findOnPath} from '../paths.js'
import {DEFAULT_PATH} from './environment.js'
import type {LaunchPlan} from './plan.js'
import {isUnder} from './view-paths.js'

/** One `error` line of contain-init (see native/contain-init.c, fail()). */
export interface InitError {
  stage: string
  errno: number
  message: string
}

/**
 * errnos that describe the host's state of the moment rather than the app's configuration: the
 * same start may succeed later (memory, pid and descriptor limits, a binary being replaced by a
 * deploy, a mount count limit). Every other errno answers the same way however often it is asked.
 */
const TRANSIENT_ERRNOS = new Set(
  ['EAGAIN', 'ENOMEM', 'ENOSPC', 'EMFILE', 'ENFILE', 'EINTR', 'EBUSY', 'ETXTBSY', 'ETIMEDOUT'].map(
    name => constants.errno[name as keyof typeof constants.errno],
  ),
)

/**
 * Stages that fail for reasons outside the app's configuration, whatever the errno: a fork or a
 * descriptor operation, the app's cgroup (removed or changed under contain), and the monitor
 * dying while PID 1 starts (a stop during the start).
 */
const TRANSIENT_STAGES = new Set(['fork', 'status-fd', 'close-fds', 'cgroup', 'prctl'])

/** Whether retrying the same launch cannot succeed: only transient failures go through the restart policy. */
export function retryCannotFix(error: Pick<InitError, 'stage' | 'errno'>): boolean {
  return !TRANSIENT_STAGES.has(error.stage) && !TRANSIENT_ERRNOS.has(error.errno)
}

/** The setting a path in the app's view comes from, in the words of both the CLI and contain.yml. */
function settingOf(plan: LaunchPlan, path: string): string | undefined {
  const paths = plan.configuredPaths
  if (!paths) return undefined
  const exact = (list: string[]) => list.includes(path)
  const below = (list: string[]) => list.some(dir => isUnder(dir, path))
  for (const match of [exact, below]) {
    if (match(paths.tmpfs)) return 'tmpfs (--tmpfs / tmpfs:)'
    if (match(paths.writable)) return 'writable path (--writable / writable:)'
    if (match(paths.volumes)) return 'volume (-v / volumes:)'
    if (match([paths.workdir])) return 'working directory (-w / working_dir:)'
  }
  return undefined
}

/** The host directory holding the command, when it exists on the host but outside the app's view. */
function outsideView(program: string, plan: LaunchPlan): string | undefined {
  const path = program.includes('/') ? program : findOnPath(program, plan.env.PATH)
  if (!path || !isAbsolute(path) || !plan.view || plan.view.visible.some(dir => isUnder(path, dir))) return undefined
  return dirname(path)
}

/** The errno's name (ENOENT), for messages that explain it. */
const errnoIs = (error: InitError, ...names: (keyof typeof constants.errno)[]) => names.some(name => constants.errno[name] === error.errno)

/** contain-init's detail without its trailing ": strerror". */
const detailOf = (error: InitError) => error.message.replace(/: [^:]*$/, '')

/** The command could not be executed (by `contain run`, an app's start, `contain exec` or a health check). */
export function commandFailure(plan: LaunchPlan, command: string[], error: InitError): LaunchError {
  const notFound = errnoIs(error, 'ENOENT')
  // In the contained view a command (or its interpreter) may exist on the host but outside the view.
  const outside = notFound && plan.view ? outsideView(command[0], plan) : undefined
  return new LaunchError(
    command,
    notFound ? (outside ? `not found in the app's view (${outside} is outside it)` : 'command not found') : `cannot execute: ${error.message}`,
    {
      exitCode: notFound ? ExitCode.commandNotFound : ExitCode.cannotExecute,
      permanent: retryCannotFix(error),
      fix: outside
        ? `show it to the app: volumes: ["${outside}:${outside}:ro"] in contain.yml, or -v ${outside}:${outside}:ro`
        : notFound
          ? `check the command name; the app's PATH is ${plan.env.PATH ?? DEFAULT_PATH} (set it with -e PATH=... or environment: in contain.yml), or give the command's full path`
          : 'check that the file is an executable the app user may run',
    },
  )
}

/** The working directory exists on the host (checked at plan time) but the app cannot enter it. */
function chdirFailure(plan: LaunchPlan, command: string[], error: InitError): LaunchError {
  const dir = detailOf(error)
  const who = plan.configuredPaths?.user ? `uid ${plan.configuredPaths.user.uid}` : 'its user'
  const denied = errnoIs(error, 'EACCES', 'EPERM')
  return new LaunchError(command, `the app (${who}) cannot enter its working directory ${dir} (-w / working_dir:): ${error.message.slice(dir.length + 2)}`, {
    permanent: retryCannotFix(error),
    fix: denied
      ? `let ${who} reach it (it needs x on ${dir} and every directory above it: chmod o+x), or run the app as a user who may (-u / user:), or choose another working_dir`
      : `check that ${dir} is a directory that exists when the app starts and that no tmpfs: or volumes: entry covers it`,
  })
}

function viewFailure(plan: LaunchPlan, command: string[], error: InitError): LaunchError {
  const path = detailOf(error)
  const setting = settingOf(plan, path)
  const named = setting ? ` (${setting})` : ''
  const permanent = retryCannotFix(error)
  if (errnoIs(error, 'ELOOP')) {
    return new LaunchError(
      command,
      `setting up the app's view failed: ${path} has a symbolic link in its path, which contain does not follow for a mount${named}`,
      {
        permanent,
        fix: 'replace the symbolic link with a directory (an app may have planted it), or give the real path',
      },
    )
  }
  if (errnoIs(error, 'EROFS', 'EACCES', 'EPERM')) {
    return new LaunchError(command, `setting up the app's view failed: cannot make the mount point ${path}${named}: ${error.message.slice(path.length + 2)}`, {
      permanent,
      fix: "a mount point that does not exist can be made only in the app's own directories or a new top-level directory (e.g. /srv/data): choose such a path, or create it on the host first",
    })
  }
  const source = plan.view?.steps.some(step => step.kind === 'bind' && step.source === path && step.target !== path)
  return new LaunchError(command, `setting up the app's view failed: ${error.message}${source ? ' (a host path given to the app)' : named}`, {
    permanent,
    fix: errnoIs(error, 'ENOENT', 'ENOTDIR')
      ? `check that ${path} exists and is a directory or file as the config says (it may have been removed since contain planned the app)`
      : 'see contain doctor for what this host supports',
  })
}

function userFailure(plan: LaunchPlan, command: string[], error: InitError): LaunchError {
  const user = plan.configuredPaths?.user
  const who = user ? `uid ${user.uid}, gid ${user.gid}` : "the app's user"
  return new LaunchError(command, `cannot switch to the app's user (${who}): ${error.message}`, {
    permanent: retryCannotFix(error),
    fix: errnoIs(error, 'EINVAL')
      ? 'in a user namespace (--userns / userns:) only the mapped ids exist: leave -u / user: out, or run without --userns as root'
      : errnoIs(error, 'EAGAIN')
        ? 'the user has reached its process limit (ulimit -u): the app is retried by its restart policy'
        : 'switching users needs root: run contain as root, or leave -u / user: out',
  })
}

/** contain-init's report of a failed setup, as the LaunchError a user reads (and a supervisor classifies). */
export function setupFailure(plan: LaunchPlan, error: InitError): LaunchError {
  const command = plan.argv.slice(plan.argv.lastIndexOf('--') + 1)
  const permanent = retryCannotFix(error)
  switch (error.stage) {
    case 'exec':
      return commandFailure(plan, command, error)
    case 'chdir':
      return chdirFailure(plan, command, error)
    case 'view':
      return viewFailure(plan, command, error)
    case 'user':
      return userFailure(plan, command, error)
    case 'device':
      return new LaunchError(command, `cannot bind the --device node at ${error.message}`, {
        permanent,
        fix: "with view: host the app shares the host's /dev, where a node is bound only over one that exists: give an existing path after the colon, or the host path alone",
      })
    case 'devices':
      return new LaunchError(command, `the kernel refused the app's device allow-list (cgroup v2 device program): ${error.message}`, {
        permanent,
        fix: 'contain needs root and a kernel with CONFIG_CGROUP_BPF to restrict devices on cgroup v2 (see contain doctor); --privileged runs the app without the restriction',
      })
    case 'tmpfs':
    case 'writable':
    case 'mount': {
      const setting = settingOf(plan, detailOf(error))
      return new LaunchError(command, `setting up the app failed at ${error.stage}: ${error.message}${setting ? ` (${setting})` : ''}`, {
        permanent,
        fix: errnoIs(error, 'ENOENT', 'ENOTDIR')
          ? 'check that the path exists on the host and is a directory'
          : 'see contain doctor for what this host supports',
      })
    }
    default:
      return new LaunchError(command, `setting up the app failed at ${error.stage}: ${error.message}`, {
        permanent,
        fix: errnoIs(error, 'EPERM', 'EACCES') ? 'run contain as root, or add --userns' : 'see contain doctor for what this host supports',
      })
  }
}
