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
    return readFile(path).split('\n').filter(line => line && !line.startsWith('#')).map(line => line.split(':'))
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
  if (!Number.isSafeInteger(id) || id > MAX_ID) throw new InvalidValueError(flag, text, `${kind} ${digits} is out of range`, `give a ${kind} from 0 to ${MAX_ID}`)
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
      if (!group) throw new InvalidValueError(flag, text, `no group named ${JSON.stringify(groupPart)} in /etc/group`, 'give an existing group name, or a numeric GID')
      gid = Number(group[2])
    }
  }
  const uid = entry?.uid ?? parseId(flag, text, 'UID', userPart)
  const supplementary = entry ? groups.filter(([, , , members = '']) => members.split(',').includes(entry.name)).map(([, , id]) => Number(id)) : []
  return {uid, gid, groups: [...new Set(supplementary.filter(id => id !== gid))], name: entry?.name, home: entry?.home}
}
