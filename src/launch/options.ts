/**
 * The validated options of one app: what config/resolve.ts makes of flags or contain.yml, and
 * what the launch plans from. Nothing here knows how the user wrote them.
 */
import type {CgroupLimits} from '../cgroup/limits.js'
import type {DeviceOption} from '../devices/rules.js'
import type {Namespace} from '../namespaces.js'
import type {ListenAddress} from './listen-address.js'
import type {SecurityOptions} from './security.js'
import type {UserIdentity, UserReason} from './user.js'

/** contained: a view built for the app (the default); host: the host's filesystem as it is. */
export type ViewMode = 'contained' | 'host'

/** A host path shown inside the app (-v, volumes:). */
export interface Volume {
  source: string
  target: string
  readOnly: boolean
}

/** A tmpfs of the app's own (--tmpfs PATH[:exec][,size=N]). */
export interface TmpfsMount {
  path: string
  /** Programs on it may run: off by default, as Docker's --tmpfs. */
  exec: boolean
  sizeBytes?: number
}

/** Everything `contain run` needs to start one app, validated. */
export interface RunOptions {
  name: string
  command: string[]
  limits: CgroupLimits
  hostname?: string
  namespaces: Namespace[]
  env: Record<string, string>
  workdir: string
  /** Who the app is switched to; undefined keeps contain's uid (root with a root-owned directory, --userns, or a non-root contain). */
  user?: UserIdentity
  /** Why the app runs as that user (--dry-run shows it; 'directory-root' warns). */
  userReason: UserReason
  readOnly: boolean
  tmpfs: TmpfsMount[]
  writable: string[]
  /** Host device nodes passed through (--device / devices:): each adds an allow rule and a bind into /dev. */
  devices: DeviceOption[]
  view: ViewMode
  volumes: Volume[]
  shmSizeBytes: number
  security: SecurityOptions
  /** Sockets contain binds before the launch and passes as fds 3.. (systemd's LISTEN_FDS). */
  listen: ListenAddress[]
}

/** What validation needs to know about the host; injectable for tests. */
export interface HostFacts {
  cpus: number
  env: Record<string, string | undefined>
  cwd: string
  /** A seam, called unbound (tests pass a fake): a function property, not a method. */
  readFile: (path: string) => string
  /** contain's own effective uid; default: this process's. */
  uid?: number
  /** Owner of a directory (following symlinks, as chdir does); default: stat. */
  ownerOf?: (path: string) => {uid: number; gid: number}
  /** Whether the app's stdin or stdout is a terminal (TERM is passed only then); default: no. */
  terminal?: boolean
  /** The host's hostname: HOSTNAME of an app without a uts namespace of its own. */
  hostname?: string
}
