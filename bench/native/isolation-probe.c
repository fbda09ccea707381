// The isolation suite's probe: one static binary run unchanged inside every confinement (contain run,
// docker's busybox image, a systemd unit, bwrap). Each protection is a real attempt; the line it prints
// is the kernel's answer:
//   ID held|BROKEN|n/a DETAIL
// "BROKEN" means the attempt succeeded from inside. Writes that succeed are reported BROKEN with the
// path; the harness then looks on the host and turns them into "held" when the file did not land there
// (a private copy). Nothing here changes the host beyond files the harness removes afterwards: devices
// are opened read-only, sysctl/sysfs files are opened for writing but never written, a mount is undone.
//
//   isolation-probe --token T [--host-pid PID] [--disk NAME:MAJ:MIN] [--host-ns pid:[N],mnt:[N],...]
//   isolation-probe --serve SOCKET T   (harness side: listen on SOCKET, then sleep; its pid is the
//                                       host process to signal/ptrace, and T in its argv identifies it)
//   isolation-probe --noop             (exit 0: what the exec-from-/tmp attempt runs)
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static const char *token = "";
static pid_t host_pid = 0;
static char disk_name[64] = "";
static unsigned disk_major = 0, disk_minor = 0;
static const char *host_ns = "";

static const char *en(int e) {
  const char *name = strerrorname_np(e);
  return name ? name : "errno?";
}

static void report(const char *id, const char *status, const char *fmt, ...) {
  char detail[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  for (char *p = detail; *p; p++)
    if (*p == '\n') *p = ' ';
  printf("%s %s %s\n", id, status, detail);
  fflush(stdout);
}

// Runs fn in a child so attempts that change the caller (unshare, keyrings, ptrace) cannot affect the
// later ones; returns fn's result (0 = success, else an errno).
static int in_child(int (*fn)(void)) {
  pid_t pid = fork();
  if (pid < 0) return errno;
  if (pid == 0) _exit(fn() & 0xff);
  int status;
  if (waitpid(pid, &status, 0) < 0) return errno;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

static ssize_t read_file(const char *path, char *buf, size_t size, int *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *err = errno;
    return -1;
  }
  ssize_t n = read(fd, buf, size - 1);
  *err = n < 0 ? errno : 0;
  close(fd);
  if (n >= 0) buf[n] = 0;
  return n;
}

// A planted secret: BROKEN when the file is readable and holds this run's token.
static void probe_secret(const char *id, const char *path) {
  char buf[256];
  int err;
  ssize_t n = read_file(path, buf, sizeof buf, &err);
  if (n < 0) report(id, "held", "%s: %s", path, en(err));
  else if (strstr(buf, token)) report(id, "BROKEN", "read the planted secret %s", path);
  else report(id, "held", "%s exists but is not the host's file", path);
}

static void probe_shadow(void) {
  char buf[4096];
  int err;
  ssize_t n = read_file("/etc/shadow", buf, sizeof buf, &err);
  if (n < 0) report("shadow", "held", "/etc/shadow: %s", en(err));
  else if (n == 0) report("shadow", "held", "/etc/shadow is empty (masked)");
  else if (strstr(buf, "root:")) report("shadow", "BROKEN", "read %zd bytes of /etc/shadow, root's hash included", n);
  else report("shadow", "held", "/etc/shadow has no root entry (not the host's)");
}

// Creates DIR/contain-probe-write (left in place: the harness checks the host for it and removes it).
static void probe_write_dir(const char *id, const char *dir) {
  char path[256];
  snprintf(path, sizeof path, "%s/contain-probe-write", dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    report(id, "held", "create %s: %s", path, en(errno));
    return;
  }
  ssize_t w = write(fd, token, strlen(token));
  (void)w;
  close(fd);
  report(id, "BROKEN", "created %s", path);
}

static int first_writable_dir(char *out, size_t size, const char *name, mode_t mode, dev_t dev, int *last_err) {
  const char *dirs[] = {"/tmp", "/dev/shm", "/run", "."};
  *last_err = 0;
  for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
    snprintf(out, size, "%s/%s", dirs[i], name);
    unlink(out);
    if (mknod(out, mode, dev) == 0) return 0;
    *last_err = errno;
    if (errno == EPERM) return -1;  // the capability or the filter said no: another directory will not help
  }
  return -1;
}

// mknod a node for a device, then try to open it read-only: the device cgroup decides the open.
static void probe_mknod_open(const char *id, const char *what, mode_t type, unsigned maj, unsigned min) {
  char path[256];
  int err;
  if (first_writable_dir(path, sizeof path, "contain-probe-node", type | 0600, makedev(maj, min), &err) < 0) {
    report(id, "held", "mknod %s (%u:%u): %s", what, maj, min, en(err));
    return;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  int open_err = errno;
  unlink(path);
  if (fd < 0) {
    // ENXIO/ENODEV: no such device behind the number (another kernel, e.g. the systemd guest): says nothing.
    const char *status = open_err == ENXIO || open_err == ENODEV ? "n/a" : "held";
    report(id, status, "mknod %s (%u:%u) in %s: ok; open: %s", what, maj, min, path, en(open_err));
    return;
  }
  char buf[512];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  report(id, "BROKEN", "mknod %s (%u:%u) in %s and open: ok; read %zd bytes", what, maj, min, path, n);
}

static void probe_block_open(void) {
  if (!disk_name[0]) {
    report("blockdev", "n/a", "the harness found no root disk");
    return;
  }
  char path[128];
  snprintf(path, sizeof path, "/dev/%s", disk_name);
  int fd = open(path, O_RDWR | O_CLOEXEC);
  const char *mode = "read-write";
  int rw_err = errno;
  if (fd < 0) {
    fd = open(path, O_RDONLY | O_CLOEXEC);
    mode = "read-only";
  }
  if (fd < 0) {
    report("blockdev", "held", "open %s: %s (read-write: %s)", path, en(errno), en(rw_err));
    return;
  }
  char buf[512];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  report("blockdev", "BROKEN", "opened %s %s, read %zd bytes of the raw disk", path, mode, n);
}

static void probe_unix_socket(void) {
  const char *path = "/run/contain-probe.sock";
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    report("hostsocket", "held", "socket(AF_UNIX): %s", en(errno));
    return;
  }
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) report("hostsocket", "BROKEN", "connected to the host's %s", path);
  else report("hostsocket", "held", "connect %s: %s", path, en(errno));
  close(fd);
}

static void probe_inherited_fd(void) {
  char fds[256] = "";
  DIR *d = opendir("/proc/self/fd");
  if (d) {
    int self = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d))) {
      int n = atoi(e->d_name);
      if (e->d_name[0] == '.' || n <= 2 || n == self) continue;
      size_t len = strlen(fds);
      snprintf(fds + len, sizeof fds - len, "%s%d", len ? "," : "", n);
    }
    closedir(d);
  }
  if (fcntl(300, F_GETFD) < 0) {
    report("inheritedfd", "held", "fd 300 is not open (fds above 2: %s)", fds[0] ? fds : "none");
    return;
  }
  int fd = openat(300, "tmp/contain-probe-fd", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    report("inheritedfd", "held", "fd 300 open, but creating tmp/contain-probe-fd through it: %s (fds above 2: %s)", en(errno), fds);
    return;
  }
  ssize_t w = write(fd, token, strlen(token));
  (void)w;
  close(fd);
  report("inheritedfd", "BROKEN", "created /tmp/contain-probe-fd through inherited fd 300 (fds above 2: %s)", fds);
}

static void probe_env(void) {
  char leaked[128] = "";
  const char *names[] = {"SSH_AUTH_SOCK", "AWS_SECRET_ACCESS_KEY"};
  for (size_t i = 0; i < 2; i++) {
    const char *v = getenv(names[i]);
    if (v && strstr(v, token)) {
      size_t len = strlen(leaked);
      snprintf(leaked + len, sizeof leaked - len, "%s%s", len ? ", " : "", names[i]);
    }
  }
  if (leaked[0]) report("hostenv", "BROKEN", "the launcher's %s reached the app", leaked);
  else report("hostenv", "held", "neither SSH_AUTH_SOCK nor AWS_SECRET_ACCESS_KEY of the launcher is set");
}

// The first line of uid_map: "0 0 4294967295" is the host's own ids.
static int host_uid_of_root(char *map, size_t size) {
  int err;
  if (read_file("/proc/self/uid_map", map, size, &err) < 0) {
    snprintf(map, size, "?");
    return -1;
  }
  char *nl = strchr(map, '\n');
  if (nl) *nl = 0;
  unsigned long inside, outside, count;
  if (sscanf(map, "%lu %lu %lu", &inside, &outside, &count) != 3) return -1;
  if (inside == 0) return (int)outside;
  return -1;
}

static void probe_uid(void) {
  char map[128];
  int outside = host_uid_of_root(map, sizeof map);
  uid_t uid = geteuid();
  if (uid == 0 && outside == 0) report("uid0", "BROKEN", "euid 0 = host uid 0 (uid_map: %s)", map);
  else if (uid == 0) report("uid0", "held", "euid 0 inside a user namespace (uid_map: %s)", map);
  else report("uid0", "held", "euid %u (uid_map: %s)", uid, map);
}

static void status_field(const char *name, char *out, size_t size) {
  char buf[8192];
  int err;
  snprintf(out, size, "?");
  if (read_file("/proc/self/status", buf, sizeof buf, &err) < 0) return;
  char key[64];
  snprintf(key, sizeof key, "\n%s:", name);
  char *p = strstr(buf, key);
  if (!p) return;
  p += strlen(key);
  while (*p == ' ' || *p == '\t') p++;
  size_t n = strcspn(p, "\n");
  if (n >= size) n = size - 1;
  memcpy(out, p, n);
  out[n] = 0;
}

static void probe_caps(void) {
  char eff[64], map[128];
  status_field("CapEff", eff, sizeof eff);
  unsigned long long caps = strtoull(eff, NULL, 16);
  unsigned long inside = 1, outside = 1, count = 0;
  char raw[128];
  int err;
  if (read_file("/proc/self/uid_map", raw, sizeof raw, &err) >= 0) sscanf(raw, "%lu %lu %lu", &inside, &outside, &count);
  (void)map;
  int in_userns = !(inside == 0 && outside == 0 && count == 4294967295UL);
  if (!caps) report("caps", "held", "CapEff 0");
  else report("caps", "BROKEN", "CapEff %s (%d capabilities%s)", eff, __builtin_popcountll(caps), in_userns ? ", in a user namespace" : "");
}

static void probe_status_flag(const char *id, const char *field, const char *good, const char *what) {
  char v[64];
  status_field(field, v, sizeof v);
  if (strcmp(v, good) == 0 || (strcmp(good, "!0") == 0 && strcmp(v, "0") != 0 && strcmp(v, "?") != 0))
    report(id, "held", "%s: %s", field, v);
  else report(id, "BROKEN", "%s: %s (%s)", field, v, what);
}

static void probe_socket(const char *id, long family, int type, int protocol, const char *what) {
  int fd = (int)syscall(SYS_socket, family, type, protocol);
  if (fd >= 0) {
    close(fd);
    report(id, "BROKEN", "%s: created", what);
  } else report(id, "held", "%s: %s", what, en(errno));
}

static void probe_vsock_high_bit(void) {
  int plain = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int plain_err = errno;
  if (plain >= 0) close(plain);
  char plain_text[64];
  snprintf(plain_text, sizeof plain_text, "plain AF_VSOCK: %s", plain >= 0 ? "created" : en(plain_err));
  int fd = (int)syscall(SYS_socket, (1UL << 32) | AF_VSOCK, SOCK_STREAM, 0);
  int err = errno;
  if (fd >= 0) {
    close(fd);
    report("vsockhighbit", "BROKEN", "socket((1<<32)|AF_VSOCK): created (%s)", plain_text);
  } else if (err == EAFNOSUPPORT && plain < 0 && plain_err == EAFNOSUPPORT) {
    report("vsockhighbit", "n/a", "socket((1<<32)|AF_VSOCK): %s, and so is %s: the kernel has no vsock, nothing to filter", en(err), plain_text);
  } else report("vsockhighbit", "held", "socket((1<<32)|AF_VSOCK): %s (%s)", en(err), plain_text);
}

static void probe_open_write(const char *id, const char *const *paths, size_t count) {
  const char *tried = NULL;
  int err = ENOENT;
  for (size_t i = 0; i < count; i++) {
    struct stat st;
    if (stat(paths[i], &st) < 0) continue;
    tried = paths[i];
    int fd = open(paths[i], O_WRONLY | O_CLOEXEC);  // opened for writing, never written
    if (fd >= 0) {
      close(fd);
      report(id, "BROKEN", "opened %s for writing", paths[i]);
      return;
    }
    err = errno;
    break;
  }
  if (!tried) report(id, "held", "none of the files exist here (%s, ...): %s", paths[0], en(err));
  else report(id, "held", "open %s for writing: %s", tried, en(err));
}

// Mounts on a directory of its own; /tmp itself only when none can be made (then /tmp is not writable,
// so not the host's usual /tmp), and the mount is detached at once either way.
static void probe_mount(void) {
  char dir[128] = "/tmp";
  const char *candidates[] = {"/tmp/contain-probe-mnt", "/dev/shm/contain-probe-mnt", "./contain-probe-mnt"};
  for (size_t i = 0; i < 3; i++) {
    if (mkdir(candidates[i], 0700) == 0 || errno == EEXIST) {
      snprintf(dir, sizeof dir, "%s", candidates[i]);
      break;
    }
  }
  if (mount("contain-probe", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=16k") == 0) {
    umount2(dir, MNT_DETACH);
    report("mount", "BROKEN", "mounted a tmpfs on %s (unmounted again)", dir);
  } else report("mount", "held", "mount tmpfs on %s: %s", dir, en(errno));
  if (strcmp(dir, "/tmp") != 0) rmdir(dir);
}

static int try_userns(void) { return unshare(CLONE_NEWUSER) == 0 ? 0 : errno; }
static int try_keyctl(void) { return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0) >= 0 ? 0 : errno; }

static void probe_child(const char *id, int (*fn)(void), const char *what) {
  int r = in_child(fn);
  if (r == 0) report(id, "BROKEN", "%s: ok", what);
  else report(id, "held", "%s: %s", what, r == 255 ? "child died" : en(r));
}

static void probe_bpf(void) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = 4;
  attr.max_entries = 1;
  int fd = (int)syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
  if (fd >= 0) {
    close(fd);
    report("bpf", "BROKEN", "bpf(BPF_MAP_CREATE): created a map");
  } else report("bpf", "held", "bpf(BPF_MAP_CREATE): %s", en(errno));
}

// True when PID here is the harness's host process (its argv carries this run's token).
static int is_host_target(char *why, size_t size) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/cmdline", host_pid);
  int err;
  ssize_t n = read_file(path, buf, sizeof buf, &err);
  if (n < 0) {
    snprintf(why, size, "%s: %s", path, en(err));
    return 0;
  }
  for (ssize_t i = 0; i < n; i++)
    if (!buf[i]) buf[i] = ' ';
  if (!strstr(buf, token)) {
    snprintf(why, size, "pid %d here is another process", host_pid);
    return 0;
  }
  return 1;
}

static int try_ptrace(void) { return ptrace(PTRACE_SEIZE, host_pid, 0, 0) == 0 ? 0 : errno; }

static void probe_see_host_process(void) {
  char why[256];
  if (!host_pid) report("seeproc", "n/a", "no host pid given");
  else if (is_host_target(why, sizeof why)) report("seeproc", "BROKEN", "/proc/%d is the host's process (its argv is readable)", host_pid);
  else report("seeproc", "held", "%s", why);
}

static void probe_kill_host(void) {
  char why[256];
  if (!host_pid) report("killhost", "n/a", "no host pid given");
  // kill(pid, 0) delivers nothing: it only asks whether a signal would be allowed.
  else if (kill(host_pid, 0) < 0) report("killhost", "held", "kill(%d, 0): %s", host_pid, en(errno));
  else if (!is_host_target(why, sizeof why)) report("killhost", "held", "kill(%d, 0) ok, but %s", host_pid, why);
  else report("killhost", "BROKEN", "kill(%d, 0): allowed to signal the host process", host_pid);
}

static void probe_ptrace_host(void) {
  char why[256];
  if (!host_pid) {
    report("ptracehost", "n/a", "no host pid given");
    return;
  }
  // Only the harness's own process is ever attached to, and only when this pid is it.
  if (!is_host_target(why, sizeof why)) {
    report("ptracehost", "held", "%s", why);
    return;
  }
  // PTRACE_SEIZE does not stop the tracee; the child exits and the kernel detaches.
  int r = in_child(try_ptrace);
  if (r == 0) report("ptracehost", "BROKEN", "ptrace(PTRACE_SEIZE, %d): attached to the host process", host_pid);
  else report("ptracehost", "held", "ptrace(PTRACE_SEIZE, %d): %s", host_pid, r == 255 ? "child died" : en(r));
}

static void probe_exec_tmp(void) {
  const char *path = "/tmp/contain-probe-exec";
  int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  unlink(path);
  int out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
  if (in < 0 || out < 0) {
    report("exectmp", "held", "write %s: %s", path, en(errno));
    if (in >= 0) close(in);
    if (out >= 0) close(out);
    return;
  }
  char buf[65536];
  ssize_t n;
  while ((n = read(in, buf, sizeof buf)) > 0)
    if (write(out, buf, (size_t)n) != n) break;
  close(in);
  close(out);
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0) return;
  pid_t pid = fork();
  if (pid == 0) {
    char *argv[] = {(char *)path, "--noop", NULL};
    execve(path, argv, environ);
    int e = errno;
    ssize_t w = write(pipefd[1], &e, sizeof e);
    (void)w;
    _exit(127);
  }
  close(pipefd[1]);
  int e = 0;
  ssize_t got = read(pipefd[0], &e, sizeof e);
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  unlink(path);
  if (got == sizeof e) report("exectmp", "held", "wrote %s; execve: %s", path, en(e));
  else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) report("exectmp", "BROKEN", "wrote %s and executed it", path);
  else report("exectmp", "held", "wrote %s; it did not run (status %d)", path, status);
}

static void probe_klog(void) {
  char buf[256];
  int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, sizeof buf);
  if (n >= 0) report("dmesg", "BROKEN", "syslog(READ_ALL): read %d bytes of the kernel log", n);
  else report("dmesg", "held", "syslog(READ_ALL): %s", en(errno));
}

static void probe_kmod(void) {
  // A bad fd: the kernel checks CAP_SYS_MODULE first, so EBADF means the permission check passed.
  long r = syscall(SYS_finit_module, -1, "", 0);
  int e = errno;
  if (r == 0 || e == EBADF) report("kmod", "BROKEN", "finit_module(-1): %s: past the permission check", r == 0 ? "ok" : en(e));
  else if (e == ENOSYS && access("/proc/modules", F_OK) < 0) report("kmod", "n/a", "finit_module(-1): ENOSYS, and no /proc/modules: a kernel without loadable modules");
  else report("kmod", "held", "finit_module(-1): %s", en(e));
}

static void probe_readable(const char *id, const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && access("/proc/self", F_OK) == 0 && strncmp(path, "/proc/", 6) == 0) {
    report(id, "n/a", "open %s: ENOENT (this kernel has none)", path);
    return;
  }
  if (fd < 0) {
    report(id, "held", "open %s: %s", path, en(errno));
    return;
  }
  char buf[64];
  ssize_t n = read(fd, buf, sizeof buf);
  int e = errno;
  close(fd);
  if (n > 0) report(id, "BROKEN", "read %s", path);
  else report(id, "held", "open %s ok, read: %s", path, n == 0 ? "empty" : en(e));
}

static void probe_dir_listable(const char *id, const char *path) {
  DIR *d = opendir(path);
  if (!d) {
    report(id, "held", "%s: %s", path, en(errno));
    return;
  }
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  if (n) report(id, "BROKEN", "%s lists %d entries", path, n);
  else report(id, "held", "%s is empty (masked)", path);
}

// host_ns is "pid:[N],mnt:[N],...": the host's namespace links, as readlink(/proc/self/ns/X) shows them.
static void probe_namespace(const char *kind) {
  char id[32], link[64], path[64];
  snprintf(id, sizeof id, "ns%s", kind);
  snprintf(path, sizeof path, "/proc/self/ns/%s", kind);
  ssize_t n = readlink(path, link, sizeof link - 1);
  if (n < 0) {
    report(id, "n/a", "readlink %s: %s", path, en(errno));
    return;
  }
  link[n] = 0;
  if (!host_ns[0]) report(id, "n/a", "the harness gave no host namespaces (%s here)", link);
  else if (strstr(host_ns, link)) report(id, "BROKEN", "the host's %s namespace (%s)", kind, link);
  else report(id, "held", "own %s namespace (%s)", kind, link);
}

static int serve(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
  unlink(path);
  if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 16) < 0) {
    perror(path);
    return 1;
  }
  chmod(path, 0666);  // file permissions never stop the app: only the view can
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (c >= 0) close(c);
  }
}

static void p_shadow(void) { probe_shadow(); }
static void p_rootsecret(void) { probe_secret("rootsecret", "/root/contain-probe-secret"); }
static void p_homesecret(void) { probe_secret("homesecret", "/home/contain-probe/secret"); }
static void p_otherapp(void) { probe_secret("otherapp", "/srv/contain-probe-other/secret"); }
static void p_hosttmp(void) { probe_secret("hosttmp", "/tmp/contain-probe-marker"); }
static void p_hostrun(void) { probe_secret("hostrun", "/run/contain-probe-marker"); }
static void p_hostshm(void) { probe_secret("hostshm", "/dev/shm/contain-probe-marker"); }
static void p_writeetc(void) { probe_write_dir("writeetc", "/etc"); }
static void p_writeusr(void) { probe_write_dir("writeusr", "/usr"); }
static void p_mknodblock(void) {
  if (disk_name[0]) probe_mknod_open("mknodblock", "the root disk", S_IFBLK, disk_major, disk_minor);
  else report("mknodblock", "n/a", "the harness found no root disk");
}
static void p_mknodchar(void) { probe_mknod_open("mknodchar", "/dev/kmsg", S_IFCHR, 1, 11); }
static void p_nonewprivs(void) { probe_status_flag("nonewprivs", "NoNewPrivs", "1", "setuid binaries can raise privileges"); }
static void p_seccomp(void) { probe_status_flag("seccomp", "Seccomp", "2", "no seccomp filter"); }
static void p_rawsocket(void) { probe_socket("rawsocket", AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP, "socket(AF_INET, SOCK_RAW)"); }
static void p_procsys(void) {
  const char *sysctl[] = {"/proc/sys/kernel/core_pattern"};
  probe_open_write("procsys", sysctl, 1);
}
static void p_sysfs(void) {
  const char *sysfs[] = {"/sys/kernel/mm/transparent_hugepage/enabled", "/sys/kernel/profiling", "/sys/module/printk/parameters/time", "/sys/power/state"};
  probe_open_write("sysfs", sysfs, sizeof sysfs / sizeof *sysfs);
}
static void p_userns(void) { probe_child("userns", try_userns, "unshare(CLONE_NEWUSER)"); }
static void p_keyctl(void) { probe_child("keyctl", try_keyctl, "keyctl(GET_KEYRING_ID, user keyring)"); }
static void p_kcore(void) { probe_readable("kcore", "/proc/kcore"); }
static void p_sysfirmware(void) { probe_dir_listable("sysfirmware", "/sys/firmware"); }
static void p_powercap(void) { probe_dir_listable("powercap", "/sys/devices/virtual/powercap"); }
static void p_sysrq(void) {
  const char *trigger[] = {"/proc/sysrq-trigger"};
  probe_open_write("sysrq", trigger, 1);
}
static void p_nspid(void) { probe_namespace("pid"); }
static void p_nsmnt(void) { probe_namespace("mnt"); }
static void p_nsipc(void) { probe_namespace("ipc"); }
static void p_nsnet(void) { probe_namespace("net"); }

// In the order of the report's rows; the ids are the harness's keys.
static const struct {
  const char *id;
  void (*fn)(void);
} probes[] = {
    {"shadow", p_shadow}, {"rootsecret", p_rootsecret}, {"homesecret", p_homesecret}, {"otherapp", p_otherapp},
    {"hosttmp", p_hosttmp}, {"hostrun", p_hostrun}, {"hostshm", p_hostshm}, {"writeetc", p_writeetc},
    {"writeusr", p_writeusr}, {"blockdev", probe_block_open}, {"mknodblock", p_mknodblock}, {"mknodchar", p_mknodchar},
    {"hostsocket", probe_unix_socket}, {"inheritedfd", probe_inherited_fd}, {"hostenv", probe_env}, {"uid0", probe_uid},
    {"caps", probe_caps}, {"nonewprivs", p_nonewprivs}, {"seccomp", p_seccomp}, {"rawsocket", p_rawsocket},
    {"vsockhighbit", probe_vsock_high_bit}, {"procsys", p_procsys}, {"sysfs", p_sysfs}, {"mount", probe_mount},
    {"userns", p_userns}, {"keyctl", p_keyctl}, {"bpf", probe_bpf}, {"seeproc", probe_see_host_process},
    {"killhost", probe_kill_host}, {"ptracehost", probe_ptrace_host}, {"exectmp", probe_exec_tmp}, {"dmesg", probe_klog},
    {"kmod", probe_kmod}, {"kcore", p_kcore}, {"sysrq", p_sysrq}, {"sysfirmware", p_sysfirmware}, {"powercap", p_powercap}, {"nspid", p_nspid},
    {"nsmnt", p_nsmnt}, {"nsipc", p_nsipc}, {"nsnet", p_nsnet},
};

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "--noop") == 0) return 0;
  if (argc >= 4 && strcmp(argv[1], "--serve") == 0) return serve(argv[2]);
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--token") == 0) token = argv[i + 1];
    else if (strcmp(argv[i], "--host-pid") == 0) host_pid = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--host-ns") == 0) host_ns = argv[i + 1];
    else if (strcmp(argv[i], "--disk") == 0) {
      if (sscanf(argv[i + 1], "%63[^:]:%u:%u", disk_name, &disk_major, &disk_minor) != 3) disk_name[0] = 0;
    }
  }
  if (!token[0]) {
    fprintf(stderr, "usage: isolation-probe --token T [--host-pid PID] [--disk NAME:MAJ:MIN] [--host-ns LIST]\n");
    return 2;
  }
  printf("probe-start uid=%u pid=%d\n", geteuid(), getpid());
  fflush(stdout);
  for (size_t i = 0; i < sizeof probes / sizeof *probes; i++) {
    // Each attempt in a child of its own: one that a filter kills (SIGSYS) or that changes the process
    // cannot take the others with it.
    pid_t pid = fork();
    if (pid == 0) {
      probes[i].fn();
      fflush(stdout);
      _exit(0);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) report(probes[i].id, "n/a", "fork/wait: %s", en(errno));
    else if (WIFSIGNALED(status)) report(probes[i].id, "held", "the attempt was killed by %s (the filter)", sigabbrev_np(WTERMSIG(status)) ?: "a signal");
  }
  printf("probe-end\n");
  return 0;
}
