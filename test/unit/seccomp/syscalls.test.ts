import {existsSync, readFileSync} from 'node:fs'
import t from 'tap'
import {HostError} from '../../../src/errors.js'
import {seccompArchOf} from '../../../src/seccomp/host.js'
import {AUDIT_ARCH, isKnownSyscallName, syscallName, syscallNumber, syscallTable, X32_SYSCALL_BIT} from '../../../src/seccomp/syscalls.js'

const DOCKER_DEFAULT = new URL('../../fixtures/seccomp/docker-default.json', import.meta.url).pathname

t.test('x86_64: syscall_64.tbl, common and 64 ABIs only', async t => {
  const expected: Record<string, number> = {
    read: 0,
    write: 1,
    open: 2,
    ioctl: 16,
    socket: 41,
    clone: 56,
    execve: 59,
    mkdir: 83,
    ptrace: 101,
    personality: 135,
    arch_prctl: 158,
    umount2: 166,
    rseq: 334,
    uretprobe: 335,
    uprobe: 336,
    pidfd_send_signal: 424,
    io_uring_setup: 425,
    clone3: 435,
    quotactl_fd: 443,
    memfd_secret: 447,
    mseal: 462,
    setxattrat: 463,
    removexattrat: 466,
    file_setattr: 469,
    listns: 470,
  }
  for (const [name, nr] of Object.entries(expected)) t.equal(syscallNumber('x86_64', name), nr, name)

  const table = syscallTable('x86_64')
  t.equal(table.byName.size, 384, '0-336 and 424-470')
  t.equal(table.highest, 470)
  for (let nr = 337; nr < 424; nr++) t.equal(syscallName('x86_64', nr), undefined, `${nr} is unused`)
  t.notOk(
    [...table.byNumber.keys()].some(nr => nr >= 512),
    'no x32 entries',
  )
})

t.test("aarch64: the generic table with arm64's ABIs", async t => {
  const expected: Record<string, number> = {
    io_setup: 0,
    getcwd: 17,
    fcntl: 25,
    ioctl: 29,
    mkdirat: 34,
    renameat: 38,
    fstat: 80,
    personality: 92,
    getrlimit: 163,
    socket: 198,
    clone: 220,
    execve: 221,
    mmap: 222,
    recvmmsg: 243,
    wait4: 260,
    kexec_file_load: 294,
    clone3: 435,
    memfd_secret: 447,
    removexattrat: 466,
    listns: 470,
  }
  for (const [name, nr] of Object.entries(expected)) t.equal(syscallNumber('aarch64', name), nr, name)
  for (const name of ['open', 'mkdir', 'fork', 'arch_prctl', 'fcntl64', 'renameat2x'])
    t.equal(syscallNumber('aarch64', name), undefined, `${name} is not on aarch64`)
  for (let nr = 244; nr < 260; nr++) t.equal(syscallName('aarch64', nr), undefined, `${nr} is reserved for other arches`)
  t.equal(syscallTable('aarch64').byName.size, 326)
})

t.test('byName and byNumber agree', async t => {
  for (const arch of ['x86_64', 'aarch64'] as const) {
    const table = syscallTable(arch)
    t.equal(table.byName.size, table.byNumber.size, `${arch}: no name twice`)
    for (const [name, nr] of table.byName) if (table.byNumber.get(nr) !== name) t.fail(`${arch} ${name}`)
  }
})

t.test('audit arch values', async t => {
  t.equal(AUDIT_ARCH.x86_64, 0xc000003e)
  t.equal(AUDIT_ARCH.aarch64, 0xc00000b7)
  t.equal(X32_SYSCALL_BIT, 0x40000000)
})

t.test('names of other ABIs are known, typos are not', async t => {
  for (const name of ['chown32', '_llseek', 'socketcall', 'arm_fadvise64_64', 's390_runtime_instr', 'riscv_flush_icache', 'mkdirat', 'open']) {
    t.ok(isKnownSyscallName(name), name)
  }
  t.notOk(isKnownSyscallName('mkdri'))
})

t.test("every name in Docker's default profile is known", {skip: existsSync(DOCKER_DEFAULT) ? false : `${DOCKER_DEFAULT} is missing`}, async t => {
  const profile = JSON.parse(readFileSync(DOCKER_DEFAULT, 'utf8')) as {syscalls: Array<{names: string[]}>}
  const unknown = profile.syscalls.flatMap(rule => rule.names).filter(name => !isKnownSyscallName(name))
  t.same(unknown, [])
})

t.test('seccompArchOf maps Node arches and refuses the rest', async t => {
  t.equal(seccompArchOf('x64'), 'x86_64')
  t.equal(seccompArchOf('arm64'), 'aarch64')
  t.throws(() => seccompArchOf('ia32'), HostError)
  t.throws(() => seccompArchOf('riscv64'), /x86_64 and aarch64 only, and this host is riscv64/)
})
