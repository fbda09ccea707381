/**
 * Syscall name <-> number for the architectures contain compiles seccomp filters for.
 *
 * x86_64: arch/x86/entry/syscalls/syscall_64.tbl, the "common" and "64" ABI entries (the x32
 * entries 512-547 are left out: x32 calls are rejected by the filter). aarch64: the generic table
 * (scripts/syscall.tbl, formerly include/uapi/asm-generic/unistd.h) with arm64's ABIs "common",
 * "64", renameat, rlimit and memfd_secret. Both through Linux 6.19 (listns, 470).
 *
 * Each row is [first number, names in number order]: a row never spans a hole in the table.
 */

export type SeccompArch = 'x86_64' | 'aarch64'

/** seccomp_data.arch values (linux/audit.h): EM_* | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE. */
export const AUDIT_ARCH = {
  x86_64: 0xc000003e,
  aarch64: 0xc00000b7,
} as const satisfies Record<SeccompArch, number>

/** x32 syscalls run with AUDIT_ARCH_X86_64 and this bit set in the number (__X32_SYSCALL_BIT). */
export const X32_SYSCALL_BIT = 0x40000000

type TableRows = ReadonlyArray<readonly [number, string]>

/** From 424 on, a new system call takes the same number on every architecture (asm-generic/unistd.h). */
const UNIFIED_ROWS: TableRows = [
  [424, 'pidfd_send_signal io_uring_setup io_uring_enter io_uring_register open_tree move_mount fsopen fsconfig'],
  [432, 'fsmount fspick pidfd_open clone3 close_range openat2 pidfd_getfd faccessat2'],
  [440, 'process_madvise epoll_pwait2 mount_setattr quotactl_fd landlock_create_ruleset landlock_add_rule landlock_restrict_self memfd_secret'],
  [448, 'process_mrelease futex_waitv set_mempolicy_home_node cachestat fchmodat2 map_shadow_stack futex_wake futex_wait'],
  [456, 'futex_requeue statmount listmount lsm_get_self_attr lsm_set_self_attr lsm_list_modules mseal setxattrat'],
  [464, 'getxattrat listxattrat removexattrat open_tree_attr file_getattr file_setattr listns'],
]

const X86_64_ROWS: TableRows = [
  [0, 'read write open close stat fstat lstat poll'],
  [8, 'lseek mmap mprotect munmap brk rt_sigaction rt_sigprocmask rt_sigreturn'],
  [16, 'ioctl pread64 pwrite64 readv writev access pipe select'],
  [24, 'sched_yield mremap msync mincore madvise shmget shmat shmctl'],
  [32, 'dup dup2 pause nanosleep getitimer alarm setitimer getpid'],
  [40, 'sendfile socket connect accept sendto recvfrom sendmsg recvmsg'],
  [48, 'shutdown bind listen getsockname getpeername socketpair setsockopt getsockopt'],
  [56, 'clone fork vfork execve exit wait4 kill uname'],
  [64, 'semget semop semctl shmdt msgget msgsnd msgrcv msgctl'],
  [72, 'fcntl flock fsync fdatasync truncate ftruncate getdents getcwd'],
  [80, 'chdir fchdir rename mkdir rmdir creat link unlink'],
  [88, 'symlink readlink chmod fchmod chown fchown lchown umask'],
  [96, 'gettimeofday getrlimit getrusage sysinfo times ptrace getuid syslog'],
  [104, 'getgid setuid setgid geteuid getegid setpgid getppid getpgrp'],
  [112, 'setsid setreuid setregid getgroups setgroups setresuid getresuid setresgid'],
  [120, 'getresgid getpgid setfsuid setfsgid getsid capget capset rt_sigpending'],
  [128, 'rt_sigtimedwait rt_sigqueueinfo rt_sigsuspend sigaltstack utime mknod uselib personality'],
  [136, 'ustat statfs fstatfs sysfs getpriority setpriority sched_setparam sched_getparam'],
  [144, 'sched_setscheduler sched_getscheduler sched_get_priority_max sched_get_priority_min sched_rr_get_interval mlock munlock mlockall'],
  [152, 'munlockall vhangup modify_ldt pivot_root _sysctl prctl arch_prctl adjtimex'],
  [160, 'setrlimit chroot sync acct settimeofday mount umount2 swapon'],
  [168, 'swapoff reboot sethostname setdomainname iopl ioperm create_module init_module'],
  [176, 'delete_module get_kernel_syms query_module quotactl nfsservctl getpmsg putpmsg afs_syscall'],
  [184, 'tuxcall security gettid readahead setxattr lsetxattr fsetxattr getxattr'],
  [192, 'lgetxattr fgetxattr listxattr llistxattr flistxattr removexattr lremovexattr fremovexattr'],
  [200, 'tkill time futex sched_setaffinity sched_getaffinity set_thread_area io_setup io_destroy'],
  [208, 'io_getevents io_submit io_cancel get_thread_area lookup_dcookie epoll_create epoll_ctl_old epoll_wait_old'],
  [216, 'remap_file_pages getdents64 set_tid_address restart_syscall semtimedop fadvise64 timer_create timer_settime'],
  [224, 'timer_gettime timer_getoverrun timer_delete clock_settime clock_gettime clock_getres clock_nanosleep exit_group'],
  [232, 'epoll_wait epoll_ctl tgkill utimes vserver mbind set_mempolicy get_mempolicy'],
  [240, 'mq_open mq_unlink mq_timedsend mq_timedreceive mq_notify mq_getsetattr kexec_load waitid'],
  [248, 'add_key request_key keyctl ioprio_set ioprio_get inotify_init inotify_add_watch inotify_rm_watch'],
  [256, 'migrate_pages openat mkdirat mknodat fchownat futimesat newfstatat unlinkat'],
  [264, 'renameat linkat symlinkat readlinkat fchmodat faccessat pselect6 ppoll'],
  [272, 'unshare set_robust_list get_robust_list splice tee sync_file_range vmsplice move_pages'],
  [280, 'utimensat epoll_pwait signalfd timerfd_create eventfd fallocate timerfd_settime timerfd_gettime'],
  [288, 'accept4 signalfd4 eventfd2 epoll_create1 dup3 pipe2 inotify_init1 preadv'],
  [296, 'pwritev rt_tgsigqueueinfo perf_event_open recvmmsg fanotify_init fanotify_mark prlimit64 name_to_handle_at'],
  [304, 'open_by_handle_at clock_adjtime syncfs sendmmsg setns getcpu process_vm_readv process_vm_writev'],
  [312, 'kcmp finit_module sched_setattr sched_getattr renameat2 seccomp getrandom memfd_create'],
  [320, 'kexec_file_load bpf execveat userfaultfd membarrier mlock2 copy_file_range preadv2'],
  [328, 'pwritev2 pkey_mprotect pkey_alloc pkey_free statx io_pgetevents rseq uretprobe'],
  [336, 'uprobe'],
  // 337-423 are unused: new calls share numbers across architectures from 424 on.
  ...UNIFIED_ROWS,
]

const AARCH64_ROWS: TableRows = [
  [0, 'io_setup io_destroy io_submit io_cancel io_getevents setxattr lsetxattr fsetxattr'],
  [8, 'getxattr lgetxattr fgetxattr listxattr llistxattr flistxattr removexattr lremovexattr'],
  [16, 'fremovexattr getcwd lookup_dcookie eventfd2 epoll_create1 epoll_ctl epoll_pwait dup'],
  [24, 'dup3 fcntl inotify_init1 inotify_add_watch inotify_rm_watch ioctl ioprio_set ioprio_get'],
  [32, 'flock mknodat mkdirat unlinkat symlinkat linkat renameat umount2'],
  [40, 'mount pivot_root nfsservctl statfs fstatfs truncate ftruncate fallocate'],
  [48, 'faccessat chdir fchdir chroot fchmod fchmodat fchownat fchown'],
  [56, 'openat close vhangup pipe2 quotactl getdents64 lseek read'],
  [64, 'write readv writev pread64 pwrite64 preadv pwritev sendfile'],
  [72, 'pselect6 ppoll signalfd4 vmsplice splice tee readlinkat newfstatat'],
  [80, 'fstat sync fsync fdatasync sync_file_range timerfd_create timerfd_settime timerfd_gettime'],
  [88, 'utimensat acct capget capset personality exit exit_group waitid'],
  [96, 'set_tid_address unshare futex set_robust_list get_robust_list nanosleep getitimer setitimer'],
  [104, 'kexec_load init_module delete_module timer_create timer_gettime timer_getoverrun timer_settime timer_delete'],
  [112, 'clock_settime clock_gettime clock_getres clock_nanosleep syslog ptrace sched_setparam sched_setscheduler'],
  [
    120,
    'sched_getscheduler sched_getparam sched_setaffinity sched_getaffinity sched_yield sched_get_priority_max sched_get_priority_min sched_rr_get_interval',
  ],
  [128, 'restart_syscall kill tkill tgkill sigaltstack rt_sigsuspend rt_sigaction rt_sigprocmask'],
  [136, 'rt_sigpending rt_sigtimedwait rt_sigqueueinfo rt_sigreturn setpriority getpriority reboot setregid'],
  [144, 'setgid setreuid setuid setresuid getresuid setresgid getresgid setfsuid'],
  [152, 'setfsgid times setpgid getpgid getsid setsid getgroups setgroups'],
  [160, 'uname sethostname setdomainname getrlimit setrlimit getrusage umask prctl'],
  [168, 'getcpu gettimeofday settimeofday adjtimex getpid getppid getuid geteuid'],
  [176, 'getgid getegid gettid sysinfo mq_open mq_unlink mq_timedsend mq_timedreceive'],
  [184, 'mq_notify mq_getsetattr msgget msgctl msgrcv msgsnd semget semctl'],
  [192, 'semtimedop semop shmget shmctl shmat shmdt socket socketpair'],
  [200, 'bind listen accept connect getsockname getpeername sendto recvfrom'],
  [208, 'setsockopt getsockopt shutdown sendmsg recvmsg readahead brk munmap'],
  [216, 'mremap add_key request_key keyctl clone execve mmap fadvise64'],
  [224, 'swapon swapoff mprotect msync mlock munlock mlockall munlockall'],
  [232, 'mincore madvise remap_file_pages mbind get_mempolicy set_mempolicy migrate_pages move_pages'],
  [240, 'rt_tgsigqueueinfo perf_event_open accept4 recvmmsg'],
  // 244-259 are reserved for architecture-specific calls; arm64 has none.
  [260, 'wait4 prlimit64 fanotify_init fanotify_mark name_to_handle_at open_by_handle_at clock_adjtime syncfs'],
  [268, 'setns sendmmsg process_vm_readv process_vm_writev kcmp finit_module sched_setattr sched_getattr'],
  [276, 'renameat2 seccomp getrandom memfd_create bpf execveat userfaultfd membarrier'],
  [284, 'mlock2 copy_file_range preadv2 pwritev2 pkey_mprotect pkey_alloc pkey_free statx'],
  [292, 'io_pgetevents rseq kexec_file_load'],
  // 295-423: unused, or 32-bit time64 calls that a 64-bit process does not have.
  ...UNIFIED_ROWS,
]

/**
 * Names that exist only on other ABIs (i386, 32-bit arm and the generic 32-bit table, ppc, s390,
 * mips, riscv). Docker's profile lists them for its sub-architectures; they are not typos, so
 * they do not warn, they simply have no number here.
 */
const OTHER_ABI_NAMES = new Set(
  `_llseek _newselect arm_fadvise64_64 arm_sync_file_range bdflush break breakpoint cachectl cacheflush
  chown32 clock_adjtime64 clock_getres_time64 clock_gettime64 clock_nanosleep_time64 clock_settime64
  fadvise64_64 fchown32 fcntl64 fstat64 fstatat64 fstatfs64 ftime ftruncate64 futex_time64 getegid32
  geteuid32 getgid32 getgroups32 getresgid32 getresuid32 getuid32 gtty idle io_pgetevents_time64 ipc
  lchown32 llseek lock lstat64 mmap2 mpx mq_timedreceive_time64 mq_timedsend_time64 multiplexer nice
  oldfstat oldlstat oldolduname oldstat olduname pciconfig_iobase pciconfig_read pciconfig_write
  ppoll_time64 prof profil pselect6_time64 readdir recv recvmmsg_time64 riscv_flush_icache
  riscv_hwprobe rt_sigtimedwait_time64 rtas s390_guarded_storage s390_pci_mmio_read
  s390_pci_mmio_write s390_runtime_instr s390_sthyi sched_rr_get_interval_time64 semtimedop_time64
  send sendfile64 set_tls setfsgid32 setfsuid32 setgid32 setgroups32 setregid32 setresgid32
  setresuid32 setreuid32 setuid32 sgetmask sigaction signal sigpending sigprocmask sigreturn
  sigsuspend socketcall spu_create spu_run ssetmask stat64 statfs64 stime stty subpage_prot
  swapcontext switch_endian sync_file_range2 sys_debug_setcontext sysmips timer_gettime64
  timer_settime64 timerfd_gettime64 timerfd_settime64 truncate64 ugetrlimit ulimit umount usr26 usr32
  utimensat_time64 vm86 vm86old waitpid`.split(/\s+/),
)

export interface SyscallTable {
  readonly arch: SeccompArch
  readonly byName: ReadonlyMap<string, number>
  readonly byNumber: ReadonlyMap<number, string>
  /** The highest number in the table. */
  readonly highest: number
}

function buildTable(arch: SeccompArch, rows: TableRows): SyscallTable {
  const byName = new Map<string, number>()
  const byNumber = new Map<number, string>()
  for (const [first, names] of rows) {
    names.split(' ').forEach((name, offset) => {
      byName.set(name, first + offset)
      byNumber.set(first + offset, name)
    })
  }
  return {arch, byName, byNumber, highest: Math.max(...byNumber.keys())}
}

const tables: Record<SeccompArch, SyscallTable> = {
  x86_64: buildTable('x86_64', X86_64_ROWS),
  aarch64: buildTable('aarch64', AARCH64_ROWS),
}

export const SECCOMP_ARCHES: readonly SeccompArch[] = ['x86_64', 'aarch64']

export function syscallTable(arch: SeccompArch): SyscallTable {
  return tables[arch]
}

export function syscallNumber(arch: SeccompArch, name: string): number | undefined {
  return tables[arch].byName.get(name)
}

export function syscallName(arch: SeccompArch, number: number): string | undefined {
  return tables[arch].byNumber.get(number)
}

/** True for any syscall name of any Linux ABI we know of, including ones with no number here. */
export function isKnownSyscallName(name: string): boolean {
  return tables.x86_64.byName.has(name) || tables.aarch64.byName.has(name) || OTHER_ABI_NAMES.has(name)
}

/** Every name we know, for "did you mean" suggestions. */
export function allSyscallNames(): string[] {
  return [...new Set([...tables.x86_64.byName.keys(), ...tables.aarch64.byName.keys(), ...OTHER_ABI_NAMES])]
}
