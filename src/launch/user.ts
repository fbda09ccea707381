import {InvalidValueError} from '../errors.js'

export interface UserIdentity {
  uid: number
  gid: number
  /** Supplementary groups, from /etc/group membership of a named user. */
  groups: number[]
  name?: string
  home?: string
}

interface PasswdEntry {
  name: string
  uid: number
  gid: number
  home: string
}

function readLines(readFile: (path: string) => string, path: string): string[][] {
  try {
    return readFile(path)
      .split('\n')
      .filter(line => line && !line.startsWith('#'))
      .map(line => line.split(':'))
  } catch {
    return []
  }
}

function passwdEntries(readFile: (path: string) => string): PasswdEntry[] {
  return readLines(readFile, '/etc/passwd').map(([name, , uid, gid, , home]) => ({name, uid: Number(uid), gid: Number(gid), home}))
}

const isNumber = (text: string) => /^\d+$/.test(text)

/** uid_t is 32 bits and (uid_t)-1 means "leave unchanged" to setresuid: a larger number would run the app as root. */
const MAX_ID = 4_294_967_294

function parseId(flag: string, text: string, kind: 'UID' | 'GID', digits: string): number {
  const id = Number(digits)
  if (!Number.isSafeInteger(id) || id > MAX_ID)
    throw new InvalidValueError(flag, text, `${kind} ${digits} is out of range`, `give a ${kind} from 0 to ${MAX_ID}`)
  return id
}

/**
 * `--user NAME|UID[:GROUP|GID]` as Docker resolves it: a name must exist in /etc/passwd; a
 * number need not, and then its group is 0 unless one is given.
 */
export function resolveUser(flag: string, text: string, readFile: (path: string) => string): UserIdentity {
  const [userPart, groupPart, ...rest] = text.split(':')
  if (!userPart || rest.length > 0 || groupPart === '') {
    throw new InvalidValueError(flag, text, 'not a user', 'write NAME or UID, optionally followed by :GROUP or :GID')
  }
  const passwd = passwdEntries(readFile)
  const entry = isNumber(userPart) ? passwd.find(candidate => candidate.uid === Number(userPart)) : passwd.find(candidate => candidate.name === userPart)
  if (!entry && !isNumber(userPart)) {
    throw new InvalidValueError(flag, text, `no user named ${JSON.stringify(userPart)} in /etc/passwd`, 'give an existing user name, or a numeric UID')
  }
  const groups = readLines(readFile, '/etc/group')
  let gid = entry?.gid ?? 0
  if (groupPart !== undefined) {
    if (isNumber(groupPart)) gid = parseId(flag, text, 'GID', groupPart)
    else {
      const group = groups.find(([name]) => name === groupPart)
      if (!group)
        throw new InvalidValueError(flag, text, `no group named ${JSON.stringify(groupPart)} in /etc/group`, 'give an existing group name, or a numeric GID')
      gid = Number(group[2])
    }
  }
  const uid = entry?.uid ?? parseId(flag, text, 'UID', userPart)
  return identityOf(entry, uid, gid, groups)
}

/** The identity with its supplementary groups (a named user's /etc/group memberships). */
function identityOf(entry: PasswdEntry | undefined, uid: number, gid: number, groups: string[][]): UserIdentity {
  const supplementary = entry ? groups.filter(([, , , members = '']) => members.split(',').includes(entry.name)).map(([, , id]) => Number(id)) : []
  return {uid, gid, groups: [...new Set(supplementary.filter(id => id !== gid))], name: entry?.name, home: entry?.home}
}

/** The passwd entry of a uid, for the environment (HOME, USER) of an app that keeps its uid. */
export function passwdEntryOf(uid: number, readFile: (path: string) => string): {name: string; home: string} | undefined {
  const entry = passwdEntries(readFile).find(candidate => candidate.uid === uid)
  return entry && {name: entry.name, home: entry.home}
}

/** Why the app runs as who it runs as: shown by --dry-run, and the reason for the root warning. */
export type UserReason =
  /** -u/--user or user: named the user (root included: no warning). */
  | 'given'
  /** contain is root and nobody was named: the owner of the working directory. */
  | 'directory-owner'
  /** ...and that owner is root: host root, with one warning naming -u / user:. */
  | 'directory-root'
  /** --userns without --user: root inside, mapped to the caller outside (unchanged). */
  | 'user-namespace'
  /** contain is not root: the app keeps the caller's uid. */
  | 'caller'

export interface UserChoice {
  /** Who the app is switched to; undefined keeps contain's own uid (root, or the caller's). */
  user?: UserIdentity
  reason: UserReason
}

export interface UserInputs {
  /** The -u/--user value, when given. */
  given?: string
  /** How the user wrote that value's option, for messages (`--user`, `user`). */
  givenField?: string
  workdir: string
  userNamespace: boolean
  /** contain's own effective uid. */
  callerUid: number
  /** Owner of the working directory (stat, following the path as chdir will). */
  workdirOwner: {uid: number; gid: number}
}

/**
 * Who the app runs as. A root contain without a named user runs the app as the owner of its
 * working directory, so a compromised app holds that user's files and no more, not the host.
 * Only an owner of root (or an explicit -u 0) leaves the app host root: the caller chose a
 * root-owned directory, and the warning says how to choose someone else.
 */
export function chooseUser(inputs: UserInputs, readFile: (path: string) => string): UserChoice {
  if (inputs.given !== undefined) return {user: resolveUser(inputs.givenField ?? 'user', inputs.given, readFile), reason: 'given'}
  if (inputs.userNamespace) return {reason: 'user-namespace'}
  if (inputs.callerUid !== 0) return {reason: 'caller'}
  const {uid, gid} = inputs.workdirOwner
  if (uid === 0) return {reason: 'directory-root'}
  const entry = passwdEntries(readFile).find(candidate => candidate.uid === uid)
  return {user: identityOf(entry, uid, entry?.gid ?? gid, readLines(readFile, '/etc/group')), reason: 'directory-owner'}
}

/** One line for --dry-run: the identity and why. */
export function describeUser(choice: UserChoice, workdir: string, callerUid: number): string {
  const who = (identity: Pick<UserIdentity, 'uid' | 'gid' | 'name'>) => `uid ${identity.uid} gid ${identity.gid}${identity.name ? ` (${identity.name})` : ''}`
  switch (choice.reason) {
    case 'given':
      return `user ${who(choice.user!)}: given with --user (user: in contain.yml)`
    case 'directory-owner':
      return `user ${who(choice.user!)}: the owner of the working directory ${workdir} (no --user / user: given)`
    case 'directory-root':
      return `user uid 0 (root): the working directory ${workdir} is root's and no --user / user: was given`
    case 'user-namespace':
      return `user root inside the user namespace, uid ${callerUid} outside`
    case 'caller':
      return `user uid ${callerUid}: contain's own (it is not root)`
  }
}

/** The one warning of a root app nobody asked for, naming the fix. */
export function rootWarning(apps: string[], workdirs: string[]): string {
  const subject = apps.length === 1 ? `${apps[0]} runs` : `${apps.join(', ')} run`
  const dirs = [...new Set(workdirs)]
  return `${subject} as host root (uid 0) because ${dirs.join(', ')} ${dirs.length > 1 ? 'are' : 'is'} owned by root: name a user with -u/--user (user: in contain.yml), or -u 0 to keep root without this warning`
}
