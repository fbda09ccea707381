import t from 'tap'
import {
  CAPABILITIES,
  capabilitiesToMask,
  capabilityNumber,
  DEFAULT_CAPABILITIES,
  DOCKER_DEFAULT_CAPABILITIES,
  maskToCapabilities,
  parseCapability,
  resolveCapabilities,
} from '../../src/capabilities.js'
import {InvalidValueError} from '../../src/errors.js'

function thrown(fn: () => unknown): Error {
  try {
    fn()
  } catch (error) {
    return error as Error
  }
  throw new Error('expected an error')
}

t.test('numbers follow linux/capability.h', async t => {
  t.equal(CAPABILITIES.length, 41)
  t.equal(capabilityNumber('CAP_CHOWN'), 0)
  t.equal(capabilityNumber('CAP_NET_RAW'), 13)
  t.equal(capabilityNumber('CAP_SYS_ADMIN'), 21)
  t.equal(capabilityNumber('CAP_AUDIT_READ'), 37)
  t.equal(capabilityNumber('CAP_CHECKPOINT_RESTORE'), 40)
})

t.test('parseCapability accepts any case, with or without CAP_', async t => {
  for (const spelling of ['sys_admin', 'SYS_ADMIN', 'CAP_SYS_ADMIN', 'cap_Sys_Admin', ' sys_admin ']) {
    t.equal(parseCapability(spelling), 'CAP_SYS_ADMIN', spelling)
  }
  t.type(
    thrown(() => parseCapability('ALL', '--cap-add')),
    InvalidValueError,
    'ALL is not one capability',
  )
})

t.test("Docker's default set is 14", async t => {
  t.equal(DOCKER_DEFAULT_CAPABILITIES.length, 14)
  // The CapEff a default `docker run` shows in /proc/self/status.
  t.equal(capabilitiesToMask(DOCKER_DEFAULT_CAPABILITIES), 0xa80425fbn)
})

t.test("contain's default set is podman's 11: Docker's without NET_RAW, MKNOD and AUDIT_WRITE, sorted by number", async t => {
  t.equal(DEFAULT_CAPABILITIES.length, 11)
  const resolved = resolveCapabilities()
  t.same(
    resolved,
    [...DEFAULT_CAPABILITIES].sort((a, b) => capabilityNumber(a) - capabilityNumber(b)),
  )
  for (const name of ['CAP_NET_RAW', 'CAP_MKNOD', 'CAP_AUDIT_WRITE'] as const) t.notOk(resolved.includes(name), name)
  // The CapEff a default `podman run` shows as root.
  t.equal(capabilitiesToMask(resolved), 0x800405fbn)
})

t.test('--cap-add restores each of the three', async t => {
  t.same(
    resolveCapabilities({add: ['NET_RAW', 'MKNOD', 'AUDIT_WRITE']}),
    [...DOCKER_DEFAULT_CAPABILITIES].sort((a, b) => capabilityNumber(a) - capabilityNumber(b)),
  )
})

t.test('add and drop', async t => {
  const caps = resolveCapabilities({add: ['net_admin'], drop: ['NET_RAW', 'cap_mknod'], base: DOCKER_DEFAULT_CAPABILITIES})
  t.ok(caps.includes('CAP_NET_ADMIN'))
  t.notOk(caps.includes('CAP_NET_RAW'))
  t.notOk(caps.includes('CAP_MKNOD'))
  t.equal(caps.length, 13)
})

t.test('ALL follows Docker: drop ALL then add X gives X; add ALL keeps all but the dropped', async t => {
  t.same(resolveCapabilities({drop: ['ALL'], add: ['chown', 'kill']}), ['CAP_CHOWN', 'CAP_KILL'])
  t.same(resolveCapabilities({drop: ['all']}), [])
  const allButOne = resolveCapabilities({add: ['ALL'], drop: ['SYS_ADMIN']})
  t.equal(allButOne.length, 40)
  t.notOk(allButOne.includes('CAP_SYS_ADMIN'))
  // Docker checks "add ALL" first, so ALL in both lists means every capability.
  t.equal(resolveCapabilities({add: ['ALL'], drop: ['ALL']}).length, 41)
})

t.test('privileged gets every capability whatever add and drop say', async t => {
  t.same(resolveCapabilities({privileged: true, drop: ['ALL']}), [...CAPABILITIES])
})

t.test('an unknown name names the flag, the value and a suggestion', async t => {
  const add = thrown(() => resolveCapabilities({add: ['SYS_ADMN']}))
  t.type(add, InvalidValueError)
  t.match(add.message, /^--cap-add: unknown capability; did you mean SYS_ADMIN\? \(got "SYS_ADMN"\)$/)
  t.match((add as InvalidValueError).fix, /SYS_ADMIN/)

  const drop = thrown(() => resolveCapabilities({drop: ['net_rawx']}))
  t.match(drop.message, /^--cap-drop: .*did you mean NET_RAW\?.*"net_rawx"/)

  const nonsense = thrown(() => resolveCapabilities({add: ['make-coffee']}))
  t.notMatch(nonsense.message, /did you mean/, 'no suggestion when nothing is close')
})

t.test('masks round-trip', async t => {
  t.equal(capabilitiesToMask(['CAP_CHOWN', 'CAP_SYS_ADMIN', 'CAP_CHECKPOINT_RESTORE']), 1n | (1n << 21n) | (1n << 40n))
  t.same(maskToCapabilities((1n << 41n) - 1n), [...CAPABILITIES])
  t.same(maskToCapabilities(capabilitiesToMask(['CAP_KILL', 'CAP_BPF'])), ['CAP_KILL', 'CAP_BPF'])
})
