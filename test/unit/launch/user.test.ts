import t from 'tap'
import {InvalidValueError} from '../../../src/errors.js'
import {chooseUser, describeUser, resolveUser, rootWarning, type UserInputs} from '../../../src/launch/user.js'
import {errnoError, thrown} from '../helpers/errors.js'
import type {TestContext} from '../helpers/tap.js'

const PASSWD = `\
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
# a comment
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash
bob:x:1001:1001::/home/bob:/bin/sh
`
const GROUP = `\
root:x:0:
adm:x:4:alice
www-data:x:33:
alice:x:1000:
bob:x:1001:
docker:x:998:alice,bob
sudo:x:27:alice
staff:x:50:
`

/** A readFile over /etc/passwd and /etc/group texts; other paths do not exist. */
function etc(files: Record<string, string> = {'/etc/passwd': PASSWD, '/etc/group': GROUP}) {
  return (path: string) => {
    const text = files[path]
    if (text === undefined) throw errnoError('ENOENT', path)
    return text
  }
}

function assertInvalid(t: TestContext, error: Error, value: string, problem: RegExp) {
  t.type(error, InvalidValueError)
  t.equal((error as InvalidValueError).field, '--user')
  t.equal((error as InvalidValueError).value, value)
  t.match(error.message, problem)
  t.match((error as InvalidValueError).fix, /\w/)
}

t.test('a name resolves uid, primary gid, home and supplementary groups from /etc', async t => {
  t.strictSame(resolveUser('--user', 'alice', etc()), {uid: 1000, gid: 1000, groups: [4, 998, 27], name: 'alice', home: '/home/alice'})
  t.strictSame(resolveUser('--user', 'www-data', etc()), {uid: 33, gid: 33, groups: [], name: 'www-data', home: '/var/www'})
})

t.test('a uid in /etc/passwd resolves like the name', async t => {
  t.strictSame(resolveUser('--user', '1001', etc()), {uid: 1001, gid: 1001, groups: [998], name: 'bob', home: '/home/bob'})
  t.strictSame(resolveUser('--user', '0', etc()), {uid: 0, gid: 0, groups: [], name: 'root', home: '/root'})
})

t.test('a uid not in /etc/passwd is accepted with gid 0 and no groups, as Docker does', async t => {
  t.strictSame(resolveUser('--user', '4242', etc()), {uid: 4242, gid: 0, groups: [], name: undefined, home: undefined})
})

t.test('uid:gid takes both numbers as given', async t => {
  t.strictSame(resolveUser('--user', '4242:4343', etc()), {uid: 4242, gid: 4343, groups: [], name: undefined, home: undefined})
  t.equal(resolveUser('--user', '1000:50', etc()).gid, 50, 'a known uid with another gid')
})

t.test('name:group looks the group up in /etc/group', async t => {
  const user = resolveUser('--user', 'alice:staff', etc())
  t.equal(user.uid, 1000)
  t.equal(user.gid, 50)
  t.strictSame(user.groups, [4, 998, 27], 'supplementary groups stay')
})

t.test('the primary group is not repeated among the supplementary ones', async t => {
  t.strictSame(resolveUser('--user', 'alice:docker', etc()).groups, [4, 27])
  t.strictSame(resolveUser('--user', 'bob:998', etc()).groups, [])
})

t.test('an unknown name is an InvalidValueError naming /etc/passwd', async t => {
  assertInvalid(
    t,
    thrown(() => resolveUser('--user', 'mallory', etc())),
    'mallory',
    /^--user: no user named "mallory" in \/etc\/passwd/,
  )
})

t.test('an unknown group is an InvalidValueError naming /etc/group', async t => {
  assertInvalid(
    t,
    thrown(() => resolveUser('--user', 'alice:wheel', etc())),
    'alice:wheel',
    /no group named "wheel" in \/etc\/group/,
  )
})

t.test('malformed values are rejected', async t => {
  for (const text of ['', ':1000', 'alice:', 'a:b:c']) {
    assertInvalid(
      t,
      thrown(() => resolveUser('--user', text, etc())),
      text,
      /not a user/,
    )
  }
})

t.test('comment lines are not users', async t => {
  assertInvalid(
    t,
    thrown(() => resolveUser('--user', '# a comment', etc())),
    '# a comment',
    /no user named/,
  )
})

t.test('without /etc/passwd only numeric users resolve', async t => {
  const empty = etc({})
  t.strictSame(resolveUser('--user', '1000:1000', empty), {uid: 1000, gid: 1000, groups: [], name: undefined, home: undefined})
  assertInvalid(
    t,
    thrown(() => resolveUser('--user', 'alice', empty)),
    'alice',
    /no user named "alice"/,
  )
})

t.test('chooseUser', async t => {
  const inputs = (overrides: Partial<UserInputs> = {}): UserInputs => ({
    workdir: '/srv/shop',
    userNamespace: false,
    callerUid: 0,
    workdirOwner: {uid: 1001, gid: 1001},
    ...overrides,
  })

  t.test('root contain, no user given: the owner of the working directory, with its passwd group and memberships', async t => {
    t.strictSame(chooseUser(inputs({workdirOwner: {uid: 1000, gid: 33}}), etc()), {
      user: {uid: 1000, gid: 1000, groups: [4, 998, 27], name: 'alice', home: '/home/alice'},
      reason: 'directory-owner',
    })
  })

  t.test("an owner without a passwd entry keeps the directory's group", async t => {
    t.strictSame(chooseUser(inputs({workdirOwner: {uid: 5000, gid: 5001}}), etc()), {
      user: {uid: 5000, gid: 5001, groups: [], name: undefined, home: undefined},
      reason: 'directory-owner',
    })
  })

  t.test('a root-owned directory: no switch, reason directory-root', async t => {
    t.strictSame(chooseUser(inputs({workdirOwner: {uid: 0, gid: 1000}}), etc()), {reason: 'directory-root'})
  })

  t.test('a given user wins, root included', async t => {
    t.strictSame(chooseUser(inputs({given: '0'}), etc()), {user: {uid: 0, gid: 0, groups: [], name: 'root', home: '/root'}, reason: 'given'})
    t.equal(chooseUser(inputs({given: 'bob', workdirOwner: {uid: 0, gid: 0}}), etc()).user?.uid, 1001)
  })

  t.test('--userns and a non-root contain keep the current identity', async t => {
    t.strictSame(chooseUser(inputs({userNamespace: true}), etc()), {reason: 'user-namespace'})
    t.strictSame(chooseUser(inputs({callerUid: 1000}), etc()), {reason: 'caller'})
  })

  t.test('describeUser says who and why, for --dry-run', async t => {
    t.match(describeUser(chooseUser(inputs(), etc()), '/srv/shop', 0), /^user uid 1001 gid 1001 \(bob\): the owner of the working directory \/srv\/shop/)
    t.match(describeUser({reason: 'directory-root'}, '/srv/shop', 0), /uid 0 \(root\): the working directory \/srv\/shop is root's/)
    t.match(describeUser(chooseUser(inputs({given: 'alice'}), etc()), '/srv/shop', 0), /given with --user/)
    t.match(describeUser({reason: 'user-namespace'}, '/srv/shop', 1000), /root inside the user namespace, uid 1000 outside/)
  })

  t.test('rootWarning: one line naming the apps, the directories and both spellings of the fix', async t => {
    const one = rootWarning(['web'], ['/srv/shop'])
    t.match(one, /^web runs as host root \(uid 0\) because \/srv\/shop is owned by root: .*-u\/--user \(user: in contain\.yml\)/)
    t.notMatch(one, /\n/)
    t.match(rootWarning(['web', 'worker'], ['/srv/shop', '/srv/shop']), /^web, worker run as host root \(uid 0\) because \/srv\/shop is owned/)
  })
})
