import t from 'tap'
import {InvalidValueError} from '../../src/errors.js'
import {DEFAULT_NAMESPACES, NAMESPACES, parseNamespaces, unshareArguments} from '../../src/namespaces.js'
import {thrown} from './helpers/errors.js'

t.test("the default set is Docker's: pid, mount, uts, ipc, cgroup", async t => {
  t.strictSame(DEFAULT_NAMESPACES, ['pid', 'mount', 'uts', 'ipc', 'cgroup'])
})

t.test('parseNamespaces', async t => {
  t.test('a plain list is the exact set, in canonical order', async t => {
    t.strictSame(parseNamespaces('--namespaces', 'pid,mount'), ['pid', 'mount'])
    t.strictSame(parseNamespaces('--namespaces', 'net,pid'), ['pid', 'net'])
    t.strictSame(parseNamespaces('--namespaces', 'user'), ['user'])
    t.strictSame(parseNamespaces('--namespaces', NAMESPACES.join(',')), [...NAMESPACES])
  })

  t.test('-name turns one default off', async t => {
    t.strictSame(parseNamespaces('--namespaces', '-ipc'), ['pid', 'mount', 'uts', 'cgroup'])
    t.strictSame(parseNamespaces('--namespaces', '-ipc,-cgroup'), ['pid', 'mount', 'uts'])
  })

  t.test('+name adds one to the defaults', async t => {
    t.strictSame(parseNamespaces('--namespaces', '+net'), ['pid', 'mount', 'uts', 'ipc', 'cgroup', 'net'])
    t.strictSame(parseNamespaces('--namespaces', '-ipc,+net'), ['pid', 'mount', 'uts', 'cgroup', 'net'])
  })

  t.test('aliases: mnt, network, cgroupns, userns', async t => {
    t.strictSame(parseNamespaces('--namespaces', 'mnt,network'), ['mount', 'net'])
    t.strictSame(parseNamespaces('--namespaces', 'cgroupns,userns'), ['cgroup', 'user'])
    t.strictSame(parseNamespaces('--namespaces', '-mnt'), ['pid', 'uts', 'ipc', 'cgroup'])
    t.strictSame(parseNamespaces('--namespaces', '+network'), ['pid', 'mount', 'uts', 'ipc', 'cgroup', 'net'])
  })

  t.test('whitespace and duplicates are ignored', async t => {
    t.strictSame(parseNamespaces('--namespaces', ' pid , mount ,pid'), ['pid', 'mount'])
  })

  t.test('an unknown namespace is an InvalidValueError naming the flag, the entry and the choices', async t => {
    for (const text of ['pid,time', '-bogus', '+', 'PID']) {
      const error = thrown(() => parseNamespaces('--namespaces', text))
      t.type(error, InvalidValueError, text)
      t.equal((error as InvalidValueError).field, '--namespaces')
      t.equal((error as InvalidValueError).value, text)
      t.match(error.message, /^--namespaces: unknown namespace/)
      t.match((error as InvalidValueError).fix, /pid, mount, uts, ipc, cgroup, net, user/)
    }
    t.match(thrown(() => parseNamespaces('--namespaces', 'pid,time')).message, /unknown namespace "time"/)
  })

  t.test('the error names the field it was given', async t => {
    t.equal((thrown(() => parseNamespaces('apps.web.namespaces', 'x')) as InvalidValueError).field, 'apps.web.namespaces')
  })
})

t.test('unshareArguments', async t => {
  t.test('one util-linux flag per namespace, and private propagation with a mount namespace', async t => {
    t.strictSame(unshareArguments(DEFAULT_NAMESPACES), ['--pid', '--mount', '--uts', '--ipc', '--cgroup', '--propagation', 'private'])
  })

  t.test('a user namespace maps the caller to root', async t => {
    t.strictSame(unshareArguments(['user']), ['--user', '--map-root-user'])
    t.strictSame(unshareArguments(['pid', 'mount', 'net', 'user']), ['--pid', '--mount', '--net', '--user', '--map-root-user', '--propagation', 'private'])
  })

  t.test('no mount namespace, no --propagation', async t => {
    t.strictSame(unshareArguments(['uts', 'ipc']), ['--uts', '--ipc'])
  })

  t.test('never --fork: contain-init forks PID 1 itself', async t => {
    for (const namespaces of [DEFAULT_NAMESPACES, NAMESPACES, ['pid'] as const]) {
      t.notOk(unshareArguments(namespaces).includes('--fork'))
    }
  })

  t.test('no namespaces, no arguments', async t => {
    t.strictSame(unshareArguments([]), [])
  })
})
