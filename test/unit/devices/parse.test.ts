import t from 'tap'
import {majorOf, minorOf, parseDevice, type NodeStat} from '../../../src/devices/parse.js'
import {deviceRules, DEFAULT_DEVICE_RULES, formatRule, v1DeviceWrites} from '../../../src/devices/rules.js'
import {InvalidValueError} from '../../../src/errors.js'
import {thrown} from '../helpers/errors.js'

/** makedev(3) for the numbers the tests use. */
const makedev = (major: number, minor: number) => BigInt((major << 8) | (minor & 0xff) | ((minor & ~0xff) << 12))
const NODES: Record<string, NodeStat> = {
  '/dev/fuse': {kind: 'char', rdev: makedev(10, 229)},
  '/dev/sdb': {kind: 'block', rdev: makedev(8, 16)},
  '/etc/passwd': {kind: 'file', rdev: 0n},
  '/dev/disk': {kind: 'directory', rdev: 0n},
}
const stat = (path: string) => NODES[path]

t.test("Docker's forms: HOST, HOST:MODE, HOST:CONTAINER, HOST:CONTAINER:MODE", async t => {
  t.same(parseDevice('--device', '/dev/fuse', stat), {host: '/dev/fuse', container: '/dev/fuse', type: 'c', major: 10, minor: 229, access: 'rwm'})
  t.same(parseDevice('--device', '/dev/fuse:r', stat), {host: '/dev/fuse', container: '/dev/fuse', type: 'c', major: 10, minor: 229, access: 'r'})
  t.same(parseDevice('--device', '/dev/sdb:/dev/xvdb', stat), {host: '/dev/sdb', container: '/dev/xvdb', type: 'b', major: 8, minor: 16, access: 'rwm'})
  t.same(parseDevice('--device', '/dev/sdb:/dev/xvdb:mwr', stat).access, 'rwm', 'the mode in a fixed order')
  t.same(parseDevice('--device', '/dev/fuse:/dev/fuse:rw', stat).access, 'rw')
})

t.test('each bad value names the flag, the problem and the fix', async t => {
  const cases: Array<[string, RegExp]> = [
    ['/dev/nothing', /there is no \/dev\/nothing on this host/],
    ['/etc/passwd', /\/etc\/passwd is a regular file, not a character or block device/],
    ['/dev/disk', /\/dev\/disk is a directory/],
    ['/dev/fuse:rwx', /unknown access mode "rwx"/],
    ['/dev/fuse:rr', /unknown access mode "rr"/],
    ['/dev/fuse:/dev/fuse:', /not of the form/],
    ['/dev/fuse:/a:rw:x', /not of the form/],
    ['/dev/fuse:dev/fuse', /the path in the app "dev\/fuse" must be absolute/],
    ['fuse', /the host device "fuse" must be an absolute path/],
  ]
  for (const [value, problem] of cases) {
    const error = thrown(() => parseDevice('--device', value, stat))
    t.type(error, InvalidValueError, value)
    t.match((error as InvalidValueError).message, /^--device: /, `${value}: names the flag`)
    t.match((error as InvalidValueError).message, problem, `${value}: says what is wrong`)
    t.equal((error as InvalidValueError).value, value, `${value}: carries the entry (contain.yml finds its line by it)`)
    t.ok((error as InvalidValueError).fix, `${value}: has a fix`)
  }
})

t.test("dev_t splits as glibc's major()/minor(), large numbers included", async t => {
  t.equal(majorOf(makedev(254, 0)), 254)
  t.equal(minorOf(makedev(136, 300)), 300)
  // major 4095 and minor 2^20-1, in the kernel's new encoding (huge_encode_dev).
  const huge = (0xfffn << 8n) | 0xffn | (0xfff00n << 12n)
  t.equal(majorOf(huge), 4095)
  t.equal(minorOf(huge), 2 ** 20 - 1)
})

t.test("the rules: Docker's set plus each device, none when privileged; v1 files deny all first", async t => {
  const device = parseDevice('--device', '/dev/fuse:rw', stat)
  const rules = deviceRules([device], false) ?? []
  t.same(rules.slice(0, DEFAULT_DEVICE_RULES.length), DEFAULT_DEVICE_RULES)
  t.equal(formatRule(rules[rules.length - 1]), 'c 10:229 rw')
  t.equal(deviceRules([device], true), undefined)
  t.same(v1DeviceWrites([{type: 'c', major: 136, minor: '*', access: 'rwm'}]), [
    {file: 'devices.deny', value: 'a'},
    {file: 'devices.allow', value: 'c 136:* rwm'},
  ])
  t.same(
    DEFAULT_DEVICE_RULES.map(formatRule),
    ['c *:* m', 'b *:* m', 'c 1:3 rwm', 'c 1:5 rwm', 'c 1:7 rwm', 'c 1:8 rwm', 'c 1:9 rwm', 'c 5:0 rwm', 'c 5:1 rwm', 'c 5:2 rwm', 'c 136:* rwm'],
    "Docker's list, without 10:200 (tun)",
  )
})
