/**
 * Which syscall arguments the kernel reads as 32-bit values.
 *
 * seccomp_data carries every argument as the full 64-bit register, but the kernel's syscall
 * wrappers cast each one to the type its SYSCALL_DEFINE declares (__SC_CAST in
 * include/linux/syscalls.h, on x86_64 and arm64 alike), so an `int` argument keeps only its low
 * 32 bits. A filter that compares all 64 bits can be walked around: Docker's default allows
 * `socket` when arg0 > 40, and (1 << 32) | AF_VSOCK is > 40 for the filter and AF_VSOCK (40) for
 * the kernel. libseccomp and runc compare 64 bits; contain compares these arguments the way the
 * kernel reads them.
 *
 * The table lists the syscalls profiles condition on, and others whose 32-bit arguments are plain
 * (flags, commands, ids). Arguments left out are compared on 64 bits, which is libseccomp's rule:
 * `umode_t` (16 bits) is not handled here, nor are `unsigned long` arguments the kernel checks
 * whole (unshare's flags: a high bit is EINVAL, so the 64-bit compare is the right one).
 * A change here changes compiled filters: bump COMPILER_VERSION (cache.ts) with it.
 */
import type {SeccompArch} from './syscalls.js'

/** [syscall, 32-bit argument positions, the kernel's declaration they come from]. */
type Row = readonly [string, readonly number[], string]

/** Declarations from Linux 6.x; the same on x86_64 and arm64 unless a row says otherwise. */
const COMMON_ROWS: readonly Row[] = [
  ['socket', [0, 1, 2], 'net/socket.c: socket(int family, int type, int protocol)'],
  ['socketpair', [0, 1, 2], 'net/socket.c: socketpair(int family, int type, int protocol, int *usockvec)'],
  ['setsockopt', [0, 1, 2, 4], 'net/socket.c: setsockopt(int fd, int level, int optname, char *optval, int optlen)'],
  ['getsockopt', [0, 1, 2], 'net/socket.c: getsockopt(int fd, int level, int optname, char *optval, int *optlen)'],
  ['accept4', [0, 3], 'net/socket.c: accept4(int fd, struct sockaddr *, int *, int flags)'],
  ['shutdown', [0, 1], 'net/socket.c: shutdown(int fd, int how)'],
  ['personality', [0], 'kernel/exec_domain.c: personality(unsigned int personality)'],
  // Declared unsigned long, but kernel_clone_args takes lower_32_bits(clone_flags) (Linux 5.7, for glibc's sign extension).
  ['clone', [0], 'kernel/fork.c: clone(unsigned long clone_flags, ...) reads lower_32_bits(clone_flags)'],
  ['setns', [0, 1], 'kernel/nsproxy.c: setns(int fd, int flags)'],
  ['ioctl', [0, 1], 'fs/ioctl.c: ioctl(unsigned int fd, unsigned int cmd, unsigned long arg)'],
  ['fcntl', [0, 1], 'fs/fcntl.c: fcntl(unsigned int fd, unsigned int cmd, unsigned long arg)'],
  ['flock', [0, 1], 'fs/locks.c: flock(unsigned int fd, unsigned int cmd)'],
  ['prctl', [0], 'kernel/sys.c: prctl(int option, unsigned long arg2, ...)'],
  ['kill', [0, 1], 'kernel/signal.c: kill(pid_t pid, int sig)'],
  ['tkill', [0, 1], 'kernel/signal.c: tkill(pid_t pid, int sig)'],
  ['tgkill', [0, 1, 2], 'kernel/signal.c: tgkill(pid_t tgid, pid_t pid, int sig)'],
  ['pidfd_open', [0, 1], 'kernel/pid.c: pidfd_open(pid_t pid, unsigned int flags)'],
  ['pidfd_send_signal', [0, 1, 3], 'kernel/signal.c: pidfd_send_signal(int pidfd, int sig, siginfo_t *info, unsigned int flags)'],
  ['bpf', [0, 2], 'kernel/bpf/syscall.c: bpf(int cmd, union bpf_attr *uattr, unsigned int size)'],
  ['keyctl', [0], 'security/keys/keyctl.c: keyctl(int option, unsigned long arg2, ...)'],
  ['seccomp', [0, 1], 'kernel/seccomp.c: seccomp(unsigned int op, unsigned int flags, void *uargs)'],
  ['memfd_create', [1], 'mm/memfd.c: memfd_create(const char *uname, unsigned int flags)'],
  ['madvise', [2], 'mm/madvise.c: madvise(unsigned long start, size_t len, int behavior)'],
  ['openat', [0, 2], 'fs/open.c: openat(int dfd, const char *filename, int flags, umode_t mode)'],
  ['umount2', [1], 'fs/namespace.c: umount(char *name, int flags)'],
  ['syslog', [0, 2], 'kernel/printk/printk.c: syslog(int type, char *buf, int len)'],
  ['reboot', [0, 1, 2], 'kernel/reboot.c: reboot(int magic1, int magic2, unsigned int cmd, void *arg)'],
  ['perf_event_open', [1, 2, 3], 'kernel/events/core.c: perf_event_open(attr, pid_t pid, int cpu, int group_fd, unsigned long flags)'],
  ['kcmp', [0, 1, 2], 'kernel/kcmp.c: kcmp(pid_t pid1, pid_t pid2, int type, unsigned long idx1, unsigned long idx2)'],
  ['ioprio_set', [0, 1, 2], 'block/ioprio.c: ioprio_set(int which, int who, int ioprio)'],
  ['sched_setscheduler', [0, 1], 'kernel/sched/syscalls.c: sched_setscheduler(pid_t pid, int policy, struct sched_param *)'],
  ['quotactl', [0], 'fs/quota/quota.c: quotactl(unsigned int cmd, ...)'],
  ['mknodat', [0, 3], 'fs/namei.c: mknodat(int dfd, const char *filename, umode_t mode, unsigned int dev)'],
  ['setuid', [0], 'kernel/sys.c: setuid(uid_t uid)'],
  ['setgid', [0], 'kernel/sys.c: setgid(gid_t gid)'],
  ['setreuid', [0, 1], 'kernel/sys.c: setreuid(uid_t ruid, uid_t euid)'],
  ['setregid', [0, 1], 'kernel/sys.c: setregid(gid_t rgid, gid_t egid)'],
  ['setresuid', [0, 1, 2], 'kernel/sys.c: setresuid(uid_t ruid, uid_t euid, uid_t suid)'],
  ['setresgid', [0, 1, 2], 'kernel/sys.c: setresgid(gid_t rgid, gid_t egid, gid_t sgid)'],
]

/** Calls only one of the two arches has. */
const ARCH_ROWS: Record<SeccompArch, readonly Row[]> = {
  x86_64: [
    ['open', [1], 'fs/open.c: open(const char *filename, int flags, umode_t mode)'],
    ['mknod', [2], 'fs/namei.c: mknod(const char *filename, umode_t mode, unsigned dev)'],
    ['arch_prctl', [0], 'arch/x86/kernel/process_64.c: arch_prctl(int option, unsigned long arg2)'],
  ],
  aarch64: [],
}

export interface ThirtyTwoBitArguments {
  /** Syscall name -> 32-bit argument positions. */
  readonly positions: ReadonlyMap<string, ReadonlySet<number>>
  /** Syscall name -> the kernel declaration that makes them 32-bit, for messages. */
  readonly declarations: ReadonlyMap<string, string>
}

function tableOf(rows: readonly Row[]): ThirtyTwoBitArguments {
  return {
    positions: new Map(rows.map(([name, indexes]) => [name, new Set(indexes)])),
    declarations: new Map(rows.map(([name, , declaration]) => [name, declaration])),
  }
}

const TABLES: Record<SeccompArch, ThirtyTwoBitArguments> = {
  x86_64: tableOf([...COMMON_ROWS, ...ARCH_ROWS.x86_64]),
  aarch64: tableOf([...COMMON_ROWS, ...ARCH_ROWS.aarch64]),
}

/** An empty table: every argument compared on 64 bits, as libseccomp (and so Docker) does. */
export const SIXTY_FOUR_BIT_ONLY: ThirtyTwoBitArguments = tableOf([])

export function thirtyTwoBitArguments(arch: SeccompArch): ThirtyTwoBitArguments {
  return TABLES[arch]
}

/** How many bits of argument `index` of `syscall` the kernel reads on `arch`. */
export function argumentBits(table: ThirtyTwoBitArguments, syscall: string, index: number): 32 | 64 {
  return table.positions.get(syscall)?.has(index) ? 32 : 64
}

/** True when `value` is what a 32-bit argument can carry: zero-extended, or a sign-extended negative int. */
export function fitsThirtyTwoBits(value: bigint): boolean {
  return value <= 0xffffffffn || value >= 0xffffffff80000000n
}
