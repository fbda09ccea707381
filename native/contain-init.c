/*
 * contain-init: the part of contain that Node cannot do (it has no hook between fork and exec,
 * and no sethostname, mount, prctl, capset or seccomp). It takes explicit, already-decided
 * instructions from contain's TypeScript and makes no policy decisions of its own.
 *
 *   contain-init enter [--status-fd N] [--clone-into DIR] ATTACH_FILE... -- CMD ARGS...
 *       Joins the given cgroups by writing "0" (itself) to each file (v1 `tasks`, v2
 *       cgroup.procs: one per hierarchy, chosen by contain), then execs CMD. With --clone-into
 *       (cgroup v2) CMD starts in a child created inside DIR by clone3(CLONE_INTO_CGROUP), and
 *       this process stays to relay signals and exit as the child did: a cgroup.procs write
 *       waits for an RCU grace period (tens of ms on some hosts), a clone into the cgroup does
 *       not. Where clone3 is refused (kernel < 5.7, a seccomp filter) it writes cgroup.procs. contain
 *       runs `unshare` through this so that the app is inside its cgroup before its first
 *       instruction and the cgroup namespace is rooted at the app's cgroup.
 *
 *   contain-init run [OPTIONS] -- CMD ARGS...
 *       Runs after `unshare` has created the namespaces (pid_ns_for_children is the new one).
 *       This process stays in the caller's pid namespace as a monitor that relays signals; its
 *       child is PID 1 of the new namespace, which sets up the mounts and hostname, starts CMD,
 *       reaps zombies and forwards signals to CMD. Options:
 *         --status-fd N        report lines to fd N (see report())
 *         --seccomp-fd N       read a compiled classic-BPF filter (struct sock_filter[]) from fd N
 *         --hostname NAME      sethostname in the new UTS namespace
 *         --mount-proc         mount a fresh /proc for the new pid namespace
 *         --readonly-root      remount every mount read-only, except /proc and /dev
 *         --tmpfs FLAGS PATH   mount a tmpfs at PATH (after --readonly-root), nosuid and nodev;
 *                              FLAGS "noexec" or "exec"
 *         --writable PATH      bind PATH back writable (after --readonly-root)
 *         --mount FSTYPE TARGET DATA
 *                              mount a fresh FSTYPE at TARGET read-only (after --tmpfs), creating
 *                              TARGET if needed; FSTYPE "bind" binds the path DATA (not its
 *                              submounts), "rbind" with its submounts
 *         --new-root           build the app's filesystem from scratch: a fresh tmpfs root, filled
 *                              by the --view-* steps below in their order, then pivot_root into it
 *                              (the host's tree is detached), before every other mount option; the
 *                              root is made read-only once every mount is in place
 *         --view-bind FLAGS SOURCE TARGET
 *                              bind the host path SOURCE ("." : TARGET itself, already in the view)
 *                              at TARGET; FLAGS, comma separated: ro, rec (with submounts), dev
 *                              (device nodes work), suid, own (see --view-owner), late (its flags,
 *                              read-only above all, only after every step: the mount points made
 *                              in it by later steps; without it at once, so no later step can
 *                              create anything in a host directory shown read-only)
 *         --view-fs FSTYPE FLAGS TARGET DATA
 *                              mount a fresh FSTYPE (tmpfs, devpts, mqueue) at TARGET with mount
 *                              data DATA, always nosuid and nodev; FLAGS: noexec, ro, own
 *         --view-symlink TO TARGET
 *                              create the symbolic link TARGET -> TO
 *         --view-owner UID GID owner of the directories and files a step flagged "own" creates
 *                              (mount points contain makes inside the app's own directories)
 *       Every SOURCE and TARGET is opened one component at a time without following symbolic
 *       links (O_PATH|O_NOFOLLOW), and mounted through its descriptor (/proc/self/fd/N): a
 *       symlink an app planted in its directory fails the launch (stage "view", ELOOP) instead of
 *       redirecting a root mount. Missing TARGET components are created.
 *         --loopback-up        bring up "lo" in the new network namespace
 *         --chdir DIR          working directory of CMD
 *         --uid N --gid N      identity of CMD; --groups N,N,... supplementary groups
 *         --caps-bounding HEX --caps-effective HEX --caps-permitted HEX --caps-inheritable HEX
 *         --caps-ambient HEX   capability sets of CMD (bit N = capability N); absent = unchanged
 *         --no-new-privs       set no_new_privs before exec
 *
 *   contain-init exec [OPTIONS] -- CMD ARGS...
 *       For `contain exec` and command health checks, after nsenter has joined the app's
 *       namespaces: applies the same identity, capabilities, no_new_privs and seccomp options as
 *       `run` (--seccomp-fd, --caps-*, --no-new-privs, --uid/--gid/--groups, --chdir) and execs.
 *
 *   contain-init notify [--pid PID] [--barrier] MESSAGE
 *       sd_notify(3) for contain, which as a systemd unit's main process must tell systemd when
 *       it is ready: Node has no unix datagram sockets. Sends MESSAGE ("READY=1", "STATUS=...")
 *       to $NOTIFY_SOCKET, a path or an abstract socket ("@name"). --pid PID puts PID in the
 *       SCM_CREDENTIALS, so that systemd counts the message as contain's (NotifyAccess=main); the
 *       kernel allows that to root only. --barrier then waits, up to 5 s, until the receiver has
 *       handled the message (BARRIER=1, as sd_notify_barrier(3)), so that a receiver that looks
 *       the sender up (NotifyAccess=all) still finds it. Exit status 0, or 125 with the reason.
 *
 * Report lines on the status fd (one per line, space separated):
 *   pid N                  host pid of PID 1 (from the monitor)
 *   error STAGE ERRNO MSG  setup failed at STAGE; exit status 125 (126/127 for exec)
 *   exit N | signal N      how CMD ended (from PID 1)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

#define MAX_PATHS 64
#define MAX_VIEW_STEPS 256

/* One step of --new-root: kind 'b' bind, 'f' fresh filesystem, 'l' symlink. */
struct view_step {
  char kind;
  const char *flags, *source, *target, *data;
  int source_fd;
};

struct options {
  int status_fd;
  int seccomp_fd;
  const char *hostname;
  int mount_proc;
  int readonly_root;
  int loopback_up;
  int new_root;
  struct view_step view[MAX_VIEW_STEPS];
  int view_count;
  long view_uid, view_gid;
  const char *tmpfs[MAX_PATHS];
  int tmpfs_noexec[MAX_PATHS];
  int tmpfs_count;
  const char *writable[MAX_PATHS];
  int writable_count;
  const char *mounts[MAX_PATHS][3];
  int mount_count;
  const char *chdir;
  long uid, gid;
  const char *groups;
  int set_caps;
  uint64_t caps_bounding, caps_effective, caps_permitted, caps_inheritable, caps_ambient;
  int no_new_privs;
  char **argv;
};

static struct options opt = {.status_fd = -1, .seccomp_fd = -1, .uid = -1, .gid = -1, .view_uid = -1, .view_gid = -1};
static struct sock_fprog seccomp_program;

static void report(const char *format, ...) {
  if (opt.status_fd < 0) return;
  char line[512];
  va_list args;
  va_start(args, format);
  int length = vsnprintf(line, sizeof line - 1, format, args);
  va_end(args);
  if (length < 0) return;
  if (length > (int)sizeof line - 2) length = sizeof line - 2;
  line[length++] = '\n';
  /* One write per line so lines from the monitor and PID 1 never interleave (PIPE_BUF). */
  while (write(opt.status_fd, line, length) < 0 && errno == EINTR) {}
}

static void fail(const char *stage, const char *detail) __attribute__((noreturn));
static void fail(const char *stage, const char *detail) {
  int saved = errno;
  report("error %s %d %s: %s", stage, saved, detail, strerror(saved));
  if (opt.status_fd < 0) fprintf(stderr, "contain-init: %s %s: %s\n", stage, detail, strerror(saved));
  _exit(125);
}

/* Dies with the process that started it, so a killed contain never leaves an app behind. */
static void die_with_parent(void) {
  pid_t parent = getppid();
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) fail("prctl", "PR_SET_PDEATHSIG");
  if (getppid() != parent) _exit(125);
}

static uint64_t parse_hex(const char *text) { return strtoull(text, NULL, 16); }

/* A uid or gid in full, or fail: atol would wrap 4294967296 to 0 (root) and 4294967295 is
 * (uid_t)-1, which setresuid takes as "unchanged" (root again). */
static long parse_id(const char *flag, const char *text) {
  char *end;
  errno = 0;
  unsigned long long id = strtoull(text, &end, 10);
  if (errno || end == text || *end || text[0] == '-' || id > 4294967294ULL) { errno = EINVAL; fail("usage", flag); }
  return (long)id;
}

/* --view-bind FLAGS SOURCE TARGET | --view-fs FSTYPE FLAGS TARGET DATA | --view-symlink TO TARGET |
 * --view-owner UID GID; returns the index of its last argument. */
static int parse_view_step(int argc, char **argv, int i) {
  const char *flag = argv[i];
  int arity = strcmp(flag, "--view-bind") == 0 ? 3 : strcmp(flag, "--view-fs") == 0 ? 4 : 2;
  if (strcmp(flag, "--view-bind") && strcmp(flag, "--view-fs") && strcmp(flag, "--view-symlink") && strcmp(flag, "--view-owner")) { errno = EINVAL; fail("usage", flag); }
  if (i + arity >= argc || opt.view_count == MAX_VIEW_STEPS) { errno = EINVAL; fail("usage", flag); }
  char **a = argv + i + 1;
  if (strcmp(flag, "--view-owner") == 0) {
    opt.view_uid = parse_id(flag, a[0]);
    opt.view_gid = parse_id(flag, a[1]);
    return i + arity;
  }
  struct view_step *step = &opt.view[opt.view_count++];
  *step = (struct view_step){.source_fd = -1};
  if (flag[7] == 'b') { step->kind = 'b'; step->flags = a[0]; step->source = a[1]; step->target = a[2]; }
  else if (flag[7] == 'f') { step->kind = 'f'; step->source = a[0]; step->flags = a[1]; step->target = a[2]; step->data = a[3]; }
  else { step->kind = 'l'; step->source = a[0]; step->target = a[1]; step->flags = ""; }
  return i + arity;
}

static void parse_run_options(int argc, char **argv) {
  for (int i = 2; i < argc; i++) {
    const char *flag = argv[i];
    if (strcmp(flag, "--") == 0) { opt.argv = argv + i + 1; break; }
    const char *value = i + 1 < argc ? argv[i + 1] : NULL;
    int takes_value = 1;
    if (strcmp(flag, "--mount-proc") == 0) { opt.mount_proc = 1; takes_value = 0; }
    else if (strcmp(flag, "--readonly-root") == 0) { opt.readonly_root = 1; takes_value = 0; }
    else if (strcmp(flag, "--no-new-privs") == 0) { opt.no_new_privs = 1; takes_value = 0; }
    else if (strcmp(flag, "--loopback-up") == 0) { opt.loopback_up = 1; takes_value = 0; }
    else if (strcmp(flag, "--new-root") == 0) { opt.new_root = 1; takes_value = 0; }
    else if (!value) { errno = EINVAL; fail("usage", flag); }
    else if (strcmp(flag, "--status-fd") == 0) opt.status_fd = atoi(value);
    else if (strcmp(flag, "--seccomp-fd") == 0) opt.seccomp_fd = atoi(value);
    else if (strcmp(flag, "--hostname") == 0) opt.hostname = value;
    else if (strcmp(flag, "--tmpfs") == 0 && opt.tmpfs_count < MAX_PATHS && i + 2 < argc) {
      opt.tmpfs_noexec[opt.tmpfs_count] = strcmp(value, "noexec") == 0;
      opt.tmpfs[opt.tmpfs_count++] = argv[++i + 1];
    }
    else if (strcmp(flag, "--writable") == 0 && opt.writable_count < MAX_PATHS) opt.writable[opt.writable_count++] = value;
    else if (strcmp(flag, "--mount") == 0) {
      if (i + 3 >= argc || opt.mount_count == MAX_PATHS) { errno = EINVAL; fail("usage", flag); }
      for (int part = 0; part < 3; part++) opt.mounts[opt.mount_count][part] = argv[i + 1 + part];
      opt.mount_count++;
      i += 2;
    }
    else if (strncmp(flag, "--view-", 7) == 0) { i = parse_view_step(argc, argv, i); continue; }
    else if (strcmp(flag, "--chdir") == 0) opt.chdir = value;
    else if (strcmp(flag, "--uid") == 0) opt.uid = parse_id(flag, value);
    else if (strcmp(flag, "--gid") == 0) opt.gid = parse_id(flag, value);
    else if (strcmp(flag, "--groups") == 0) opt.groups = value;
    else if (strcmp(flag, "--caps-bounding") == 0) { opt.caps_bounding = parse_hex(value); opt.set_caps = 1; }
    else if (strcmp(flag, "--caps-effective") == 0) opt.caps_effective = parse_hex(value);
    else if (strcmp(flag, "--caps-permitted") == 0) opt.caps_permitted = parse_hex(value);
    else if (strcmp(flag, "--caps-inheritable") == 0) opt.caps_inheritable = parse_hex(value);
    else if (strcmp(flag, "--caps-ambient") == 0) opt.caps_ambient = parse_hex(value);
    else { errno = EINVAL; fail("usage", flag); }
    i += takes_value;
  }
  if (!opt.argv || !opt.argv[0]) { errno = EINVAL; fail("usage", "run: no command after --"); }
}

/* The filter is read before any fork so PID 1 and the app inherit it in memory. */
static void read_seccomp_filter(void) {
  if (opt.seccomp_fd < 0) return;
  size_t capacity = 4096 * sizeof(struct sock_filter), used = 0;
  char *buffer = malloc(capacity);
  if (!buffer) fail("seccomp", "malloc");
  for (;;) {
    if (used == capacity) { errno = E2BIG; fail("seccomp", "filter longer than 4096 instructions"); }
    ssize_t n = read(opt.seccomp_fd, buffer + used, capacity - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("seccomp", "read filter");
    if (n == 0) break;
    used += n;
  }
  close(opt.seccomp_fd);
  if (used == 0 || used % sizeof(struct sock_filter) != 0) { errno = EINVAL; fail("seccomp", "filter size"); }
  seccomp_program.len = used / sizeof(struct sock_filter);
  seccomp_program.filter = (struct sock_filter *)buffer;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_mount_path(char *path) {
  char *out = path;
  for (char *in = path; *in; in++) {
    if (in[0] == '\\' && in[1] >= '0' && in[1] <= '7' && in[2] && in[3]) {
      *out++ = (char)(((in[1] - '0') << 6) | ((in[2] - '0') << 3) | (in[3] - '0'));
      in += 3;
    } else {
      *out++ = *in;
    }
  }
  *out = 0;
}

static int is_under(const char *path, const char *prefix) {
  size_t length = strlen(prefix);
  return strncmp(path, prefix, length) == 0 && (path[length] == 0 || path[length] == '/');
}

/* A bind remount must repeat the mount's locked flags (nosuid, nodev, noexec, atime) or the
 * kernel refuses it inside a user namespace. */
static unsigned long locked_flags(const char *path) {
  struct statvfs info;
  if (statvfs(path, &info) < 0) return 0;
  unsigned long flags = 0;
  if (info.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (info.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (info.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (info.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (info.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (info.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  return flags;
}

static void remount_all_readonly(void) {
  FILE *mountinfo = fopen("/proc/self/mountinfo", "re");
  if (!mountinfo) fail("readonly-root", "/proc/self/mountinfo");
  char *line = NULL;
  size_t size = 0;
  while (getline(&line, &size, mountinfo) > 0) {
    char target[4096];
    if (sscanf(line, "%*s %*s %*s %*s %4095s", target) != 1) continue;
    unescape_mount_path(target);
    if (is_under(target, "/proc") || is_under(target, "/dev")) continue;
    if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | locked_flags(target), NULL) < 0 &&
        errno != ENOENT && errno != EACCES)
      fail("readonly-root", target);
  }
  free(line);
  fclose(mountinfo);
}

/* A new network namespace starts with "lo" down; Docker's "none" network has it up. */
static void bring_loopback_up(void) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq request = {0};
  strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &request) < 0) fail("loopback", "lo");
  request.ifr_flags |= IFF_UP;
  if (ioctl(fd, SIOCSIFFLAGS, &request) < 0) fail("loopback", "lo");
  close(fd);
}

/* Whether the comma-separated FLAGS holds WORD. */
static int has_flag(const char *flags, const char *word) {
  size_t length = strlen(word);
  for (const char *at = flags; at && *at;) {
    if (strncmp(at, word, length) == 0 && (at[length] == ',' || at[length] == 0)) return 1;
    at = strchr(at, ',');
    if (at) at++;
  }
  return 0;
}

/* "/proc/self/fd/N": mounting on or from it acts on exactly the file the descriptor holds. */
static const char *fd_path(int fd, char buffer[32]) {
  snprintf(buffer, 32, "/proc/self/fd/%d", fd);
  return buffer;
}

/*
 * Opens PATH below the directory ROOT one component at a time with O_PATH|O_NOFOLLOW, so no
 * symbolic link is ever followed (a symlink component fails with ELOOP). CREATE 'd' makes missing
 * components as directories, 'f' makes the last one an empty file; OWN gives what it makes to
 * --view-owner. Returns the descriptor, or -1 with errno set.
 */
static int open_beneath(int root, const char *path, int create, int own) {
  char copy[4096];
  if (snprintf(copy, sizeof copy, "%s", path) >= (int)sizeof copy) { errno = ENAMETOOLONG; return -1; }
  int fd = fcntl(root, F_DUPFD_CLOEXEC, 0);
  char *save = NULL;
  for (char *name = strtok_r(copy, "/", &save); fd >= 0 && name; name = strtok_r(NULL, "/", &save)) {
    int last = save == NULL || *save == 0;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) { close(fd); errno = EINVAL; return -1; }
    int next = openat(fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOENT && create) {
      int made = last && create == 'f' ? openat(fd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644) : mkdirat(fd, name, 0755);
      if (made < 0 && errno != EEXIST) { close(fd); return -1; }
      if (last && create == 'f') close(made);
      if (own && opt.view_uid >= 0 && fchownat(fd, name, opt.view_uid, opt.view_gid, AT_SYMLINK_NOFOLLOW) < 0) { close(fd); return -1; }
      next = openat(fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    }
    struct stat info;
    int saved = errno;
    if (next >= 0 && fstat(next, &info) < 0) { saved = errno; close(next); next = -1; }
    else if (next >= 0 && S_ISLNK(info.st_mode)) { saved = ELOOP; close(next); next = -1; }
    else if (next >= 0 && !last && !S_ISDIR(info.st_mode)) { saved = ENOTDIR; close(next); next = -1; }
    close(fd);
    fd = next;
    errno = saved;
  }
  return fd;
}

static int open_or_fail(int root, const char *path, int create, int own) {
  int fd = open_beneath(root, path, create, own);
  if (fd < 0) fail("view", path);
  return fd;
}

/* The flags a bind step asks for, plus those the kernel locks on the mount (user namespaces). */
static unsigned long bind_flags(const struct view_step *step, const char *path) {
  unsigned long flags = MS_REMOUNT | MS_BIND | locked_flags(path);
  if (has_flag(step->flags, "ro")) flags |= MS_RDONLY;
  if (!has_flag(step->flags, "dev")) flags |= MS_NODEV;
  if (!has_flag(step->flags, "suid")) flags |= MS_NOSUID;
  return flags;
}

/* Gives a bind (or a read-only fresh filesystem) its flags, through the mount now at its target. */
static void remount_step(int root, struct view_step *step) {
  char path[32];
  int fd = open_or_fail(root, step->target, 0, 0);
  fd_path(fd, path);
  /* A fresh sysfs shares its superblock with the host's: read-only only as a bind remount. */
  unsigned long flags = step->kind == 'b' ? bind_flags(step, path) : MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
  if (mount(NULL, path, NULL, flags, NULL) < 0) fail("view", step->target);
  close(fd);
}

static void make_view_step(int root, struct view_step *step) {
  char source[32], target[32];
  if (step->kind == 'l') {
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", step->target);
    char *slash = strrchr(parent, '/');
    if (!slash || !slash[1]) { errno = EINVAL; fail("view", step->target); }
    *slash = 0;
    int dir = open_or_fail(root, parent, 'd', has_flag(step->flags, "own"));
    if (symlinkat(step->source, dir, slash + 1) < 0 && errno != EEXIST) fail("view", step->target);
    close(dir);
    return;
  }
  int own = has_flag(step->flags, "own");
  if (step->kind == 'f') {
    unsigned long flags = MS_NOSUID | MS_NODEV | (has_flag(step->flags, "noexec") ? MS_NOEXEC : 0);
    int fd = open_or_fail(root, step->target, 'd', own);
    if (mount(step->source, fd_path(fd, target), step->source, flags, step->data) < 0) fail("view", step->target);
    close(fd);
    return;
  }
  struct stat info;
  int from = step->source_fd;
  if (from >= 0 && fstat(from, &info) < 0) fail("view", step->source);
  int fd = open_or_fail(root, step->target, from < 0 || S_ISDIR(info.st_mode) ? 'd' : 'f', own);
  if (from < 0) from = fd; /* "." : the target itself, so it stays a mount of its own */
  if (mount(fd_path(from, source), fd_path(fd, target), NULL, MS_BIND | (has_flag(step->flags, "rec") ? MS_REC : 0), NULL) < 0)
    fail("view", step->target);
  close(fd);
  if (!has_flag(step->flags, "late")) remount_step(root, step);
}

/*
 * --new-root: every host path the view takes is opened first (the staging tmpfs below may cover
 * it), then the steps fill a fresh tmpfs, each bind gets its flags (read-only, nodev, nosuid),
 * "late" ones once all are made (a read-only bind would refuse the mount points below it), and the tmpfs becomes
 * the root: pivot_root(".", ".") stacks the old root under the new one, and the lazy unmount
 * detaches the whole host tree from this mount namespace.
 */
static void build_new_root(void) {
  int host = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (host < 0) fail("view", "/");
  for (int i = 0; i < opt.view_count; i++) {
    struct view_step *step = &opt.view[i];
    if (step->kind == 'b' && strcmp(step->source, ".") != 0) step->source_fd = open_or_fail(host, step->source, 0, 0);
  }
  close(host);
  const char *staging = "/tmp";
  if (mount("tmpfs", staging, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0) fail("view", "new root");
  int root = open(staging, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) fail("view", "new root");
  for (int i = 0; i < opt.view_count; i++) make_view_step(root, &opt.view[i]);
  for (int i = 0; i < opt.view_count; i++) {
    struct view_step *step = &opt.view[i];
    if (step->source_fd >= 0) close(step->source_fd);
    if ((step->kind == 'b' && has_flag(step->flags, "late")) || (step->kind == 'f' && has_flag(step->flags, "ro"))) remount_step(root, step);
  }
  if (fchdir(root) < 0 && chdir(staging) < 0) fail("view", "chdir new root");
  close(root);
  if (syscall(SYS_pivot_root, ".", ".") < 0) fail("view", "pivot_root");
  if (umount2(".", MNT_DETACH) < 0) fail("view", "detach the host's root");
  if (chdir("/") < 0) fail("view", "chdir /");
}

static void set_up_mounts(void) {
  if (opt.new_root) build_new_root();
  if (opt.mount_proc && mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    fail("mount-proc", "/proc");
  if (opt.readonly_root) remount_all_readonly();
  for (int i = 0; i < opt.writable_count; i++) {
    const char *path = opt.writable[i];
    if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) fail("writable", path);
    if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | locked_flags(path), NULL) < 0) fail("writable", path);
  }
  for (int i = 0; i < opt.tmpfs_count; i++) {
    unsigned long flags = MS_NOSUID | MS_NODEV | (opt.tmpfs_noexec[i] ? MS_NOEXEC : 0);
    if (mount("tmpfs", opt.tmpfs[i], "tmpfs", flags, "mode=1777") < 0) fail("tmpfs", opt.tmpfs[i]);
  }
  const unsigned long safe = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  for (int i = 0; i < opt.mount_count; i++) {
    const char *type = opt.mounts[i][0], *target = opt.mounts[i][1], *data = opt.mounts[i][2];
    if (mkdir(target, 0755) < 0 && errno != EEXIST) fail("mount", target);
    int bind = strcmp(type, "bind") == 0, rbind = strcmp(type, "rbind") == 0;
    int bound = bind || rbind ? mount(data, target, NULL, MS_BIND | (rbind ? MS_REC : 0), NULL)
                              : mount(type, target, type, safe, data);
    if (bound < 0) fail("mount", target);
  }
  /* Read-only per mount point, after all are made: a sysfs or cgroupfs shares its superblock
   * with the host's writable mount (asking for MS_RDONLY at mount time gets EBUSY), and a tmpfs
   * holds the mount points of the mounts after it. */
  for (int i = 0; i < opt.mount_count; i++) {
    if (mount(NULL, opt.mounts[i][1], NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | safe, NULL) < 0) fail("mount", opt.mounts[i][1]);
  }
  /* The app may not create anything in its root: no directory of its own outside what it was given. */
  if (opt.new_root && mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0) fail("view", "read-only root");
}

/* Needs CAP_SETPCAP, which a setuid to non-root takes away: runs before set_identity(). */
static void drop_bounding_set(void) {
  for (int cap = 0; cap <= 63; cap++) {
    if (opt.caps_bounding & (1ULL << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) fail("capabilities", "PR_CAPBSET_DROP");
  }
}

/* Runs after set_identity(): PR_SET_KEEPCAPS kept the permitted set across setuid. */
static void apply_capability_sets(void) {
  struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2] = {
      {(uint32_t)opt.caps_effective, (uint32_t)opt.caps_permitted, (uint32_t)opt.caps_inheritable},
      {(uint32_t)(opt.caps_effective >> 32), (uint32_t)(opt.caps_permitted >> 32),
       (uint32_t)(opt.caps_inheritable >> 32)},
  };
  if (syscall(SYS_capset, &header, data) < 0) fail("capabilities", "capset");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    fail("capabilities", "PR_CAP_AMBIENT_CLEAR_ALL");
  for (int cap = 0; cap <= 63; cap++) {
    if (!(opt.caps_ambient & (1ULL << cap))) continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) fail("capabilities", "PR_CAP_AMBIENT_RAISE");
  }
}

static void install_seccomp(void) {
  if (!seccomp_program.filter) return;
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &seccomp_program) < 0) fail("seccomp", "install filter");
}

static void set_identity(void) {
  if (opt.groups) {
    gid_t groups[64];
    int count = 0;
    for (char *cursor = (char *)opt.groups; *cursor && count < 64;) {
      groups[count++] = (gid_t)strtoul(cursor, &cursor, 10);
      if (*cursor == ',') cursor++;
    }
    if (setgroups(count, groups) < 0) fail("user", "setgroups");
  } else if (opt.gid >= 0 && setgroups(0, NULL) < 0 && errno != EPERM) {
    fail("user", "setgroups");
  }
  if (opt.gid >= 0 && setresgid(opt.gid, opt.gid, opt.gid) < 0) fail("user", "setgid");
  if (opt.uid >= 0 && setresuid(opt.uid, opt.uid, opt.uid) < 0) fail("user", "setuid");
}

/* The app's side of the fork: identity, capabilities and filters, in the order that keeps each
 * step permitted, then exec. Seccomp goes last when no_new_privs is set (it may block the calls
 * before it); without no_new_privs installing it needs CAP_SYS_ADMIN, so it goes first (runc). */
static void exec_app(const sigset_t *original_mask) {
  sigprocmask(SIG_SETMASK, original_mask, NULL);
  for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
  prctl(PR_SET_PDEATHSIG, 0);
  if (setsid() < 0) fail("setsid", "app");
  if (!opt.no_new_privs) install_seccomp();
  if (opt.set_caps) {
    drop_bounding_set();
    if (opt.uid > 0 && prctl(PR_SET_KEEPCAPS, 1) < 0) fail("capabilities", "PR_SET_KEEPCAPS");
  }
  set_identity();
  if (opt.set_caps) apply_capability_sets();
  if (opt.chdir && chdir(opt.chdir) < 0) fail("chdir", opt.chdir);
  if (opt.no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail("no-new-privs", "prctl");
  if (opt.no_new_privs) install_seccomp();
  execvp(opt.argv[0], opt.argv);
  int saved = errno;
  report("error exec %d %s", saved, strerror(saved));
  _exit(saved == ENOENT ? 127 : 126);
}

static const int forwarded_signals[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2,
                                        SIGTTIN, SIGTTOU, SIGWINCH, SIGCONT, SIGALRM};

static int is_forwarded(int sig) {
  for (size_t i = 0; i < sizeof forwarded_signals / sizeof *forwarded_signals; i++)
    if (forwarded_signals[i] == sig) return 1;
  return 0;
}

/* Waits for `child` while relaying signals to it; returns its wait status. As PID 1 it also
 * reaps every orphan that the namespace hands to it. */
static int supervise(pid_t child, const sigset_t *waited) {
  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(waited, &info);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      if (is_forwarded(sig)) kill(child, sig);
      continue;
    }
    int status;
    pid_t reaped;
    while ((reaped = waitpid(-1, &status, WNOHANG)) > 0)
      if (reaped == child) return status;
  }
}

/* Ends this process the way the child ended, so whoever waits for it sees the same status. */
static void exit_like(int status) {
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, sig);
    signal(sig, SIG_DFL);
    kill(getpid(), sig);
    sigprocmask(SIG_UNBLOCK, &only, NULL);
    _exit(128 + sig);
  }
  _exit(WEXITSTATUS(status));
}

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* struct clone_args of linux/sched.h, version 2 (with .cgroup); spelled out because that header
 * clashes with glibc's sched.h. */
struct clone3_args {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

/* Execs CMD in a child born inside the cgroup `dir`; returns only in the parent, with the child's pid,
 * or -1 (errno set) when the kernel refuses clone3. */
static pid_t spawn_into_cgroup(const char *dir, char **command, const sigset_t *original_mask) {
  int cgroup = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cgroup < 0) fail("cgroup", dir);
  struct clone3_args args = {.flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)cgroup};
  pid_t child = (pid_t)syscall(SYS_clone3, &args, sizeof args);
  if (child == 0) {
    sigprocmask(SIG_SETMASK, original_mask, NULL);
    die_with_parent();
    execvp(command[0], command);
    fail("exec", command[0]);
  }
  int saved = errno;
  close(cgroup);
  errno = saved;
  return child;
}

static void join_cgroup(const char *attach_file) {
  int fd = open(attach_file, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, "0\n", 2) != 2) fail("cgroup", attach_file);
  close(fd);
}

static int enter(int argc, char **argv) {
  const char *clone_into = NULL;
  int i = 2;
  for (; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--status-fd") == 0) opt.status_fd = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--clone-into") == 0) clone_into = argv[i + 1];
    else break;
  }
  die_with_parent();
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) join_cgroup(argv[i]);
  if (i + 1 >= argc) { errno = EINVAL; fail("usage", "enter: no command after --"); }
  char **command = argv + i + 1;
  if (clone_into) {
    sigset_t all, original;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &original);
    pid_t child = spawn_into_cgroup(clone_into, command, &original);
    if (child > 0) exit_like(supervise(child, &all));
    if (errno != ENOSYS && errno != EINVAL && errno != EPERM) fail("cgroup", clone_into);
    sigprocmask(SIG_SETMASK, &original, NULL);
    char attach_file[4096];
    if (snprintf(attach_file, sizeof attach_file, "%s/cgroup.procs", clone_into) >= (int)sizeof attach_file) { errno = ENAMETOOLONG; fail("cgroup", clone_into); }
    join_cgroup(attach_file);
  }
  execvp(command[0], command);
  fail("exec", command[0]);
}

static void run_pid1(const sigset_t *original_mask, const sigset_t *waited) {
  die_with_parent();
  set_up_mounts();
  if (opt.loopback_up) bring_loopback_up();
  if (opt.hostname && sethostname(opt.hostname, strlen(opt.hostname)) < 0) fail("hostname", opt.hostname);
  pid_t app = fork();
  if (app < 0) fail("fork", "app");
  if (app == 0) exec_app(original_mask);
  int status = supervise(app, waited);
  if (WIFSIGNALED(status)) {
    report("signal %d", WTERMSIG(status));
    _exit(128 + WTERMSIG(status));
  }
  report("exit %d", WEXITSTATUS(status));
  _exit(WEXITSTATUS(status));
}

static int run(int argc, char **argv) {
  parse_run_options(argc, argv);
  die_with_parent();
  if (opt.status_fd >= 0 && fcntl(opt.status_fd, F_SETFD, FD_CLOEXEC) < 0) fail("status-fd", "fcntl");
  read_seccomp_filter();
  sigset_t all, original;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &original);
  pid_t init = fork();
  if (init < 0) fail("fork", "pid 1");
  if (init == 0) run_pid1(&original, &all);
  report("pid %d", init);
  int status = supervise(init, &all);
  /* PID 1 reports the app's own status; this only covers PID 1 itself being killed. */
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

static int exec_in_app(int argc, char **argv) {
  parse_run_options(argc, argv);
  read_seccomp_filter();
  sigset_t current;
  sigprocmask(SIG_SETMASK, NULL, &current);
  exec_app(&current);
  return 125;
}

/* One datagram to the notify socket; with credentials naming `pid` (when > 0) and the file
 * descriptor `pass_fd` (when >= 0) attached. */
static void send_notify(int fd, const struct sockaddr_un *address, socklen_t length, const char *message,
                        pid_t pid, int pass_fd) {
  union {
    char buffer[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct iovec text = {.iov_base = (void *)message, .iov_len = strlen(message)};
  struct msghdr datagram = {.msg_name = (void *)address, .msg_namelen = length, .msg_iov = &text, .msg_iovlen = 1,
                            .msg_control = control.buffer, .msg_controllen = sizeof control.buffer};
  struct cmsghdr *header = CMSG_FIRSTHDR(&datagram);
  size_t used = 0;
  if (pid > 0) {
    struct ucred credentials = {.pid = pid, .uid = getuid(), .gid = getgid()};
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_CREDENTIALS;
    header->cmsg_len = CMSG_LEN(sizeof credentials);
    memcpy(CMSG_DATA(header), &credentials, sizeof credentials);
    used += CMSG_SPACE(sizeof credentials);
    header = CMSG_NXTHDR(&datagram, header);
  }
  if (pass_fd >= 0) {
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof pass_fd);
    memcpy(CMSG_DATA(header), &pass_fd, sizeof pass_fd);
    used += CMSG_SPACE(sizeof pass_fd);
  }
  datagram.msg_controllen = used;
  if (used == 0) datagram.msg_control = NULL;
  while (sendmsg(fd, &datagram, MSG_NOSIGNAL) < 0)
    if (errno != EINTR) fail("notify", errno == EPERM && pid > 0 ? "send (--pid needs root)" : "send");
}

static int notify(int argc, char **argv) {
  pid_t pid = 0;
  int barrier = 0, i = 2;
  for (; i < argc - 1; i++) {
    if (strcmp(argv[i], "--pid") == 0 && i + 2 < argc && (pid = (pid_t)atol(argv[i + 1])) > 0) i++;
    else if (strcmp(argv[i], "--barrier") == 0) barrier = 1;
    else break;
  }
  if (i != argc - 1) { errno = EINVAL; fail("usage", "notify [--pid PID] [--barrier] MESSAGE"); }
  const char *socket_path = getenv("NOTIFY_SOCKET");
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  size_t path_length = socket_path ? strlen(socket_path) : 0;
  if (path_length < 2 || (socket_path[0] != '/' && socket_path[0] != '@') || path_length >= sizeof address.sun_path) {
    errno = EINVAL;
    fail("notify", "NOTIFY_SOCKET must be an absolute path or an @abstract name, of at most 107 bytes");
  }
  memcpy(address.sun_path, socket_path, path_length);
  if (socket_path[0] == '@') address.sun_path[0] = 0;
  /* An abstract name's length is exact; a path's includes its terminating NUL. */
  socklen_t length = offsetof(struct sockaddr_un, sun_path) + path_length + (socket_path[0] == '/');
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("notify", "socket");
  send_notify(fd, &address, length, argv[i], pid, -1);
  if (barrier) {
    /* The receiver closes the write end it was sent once it has handled all earlier messages. */
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) < 0) fail("notify", "pipe");
    send_notify(fd, &address, length, "BARRIER=1", pid, pipe_fds[1]);
    close(pipe_fds[1]);
    struct pollfd hangup = {.fd = pipe_fds[0]};
    int ready;
    while ((ready = poll(&hangup, 1, 5000)) < 0 && errno == EINTR) {}
    if (ready <= 0) { errno = ready == 0 ? ETIMEDOUT : errno; fail("notify", "barrier"); }
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "enter") == 0) return enter(argc, argv);
  if (argc > 1 && strcmp(argv[1], "exec") == 0) return exec_in_app(argc, argv);
  if (argc > 1 && strcmp(argv[1], "run") == 0) return run(argc, argv);
  if (argc > 1 && strcmp(argv[1], "notify") == 0) return notify(argc, argv);
  fprintf(stderr, "usage: contain-init enter [--clone-into DIR] ATTACH_FILE... -- CMD... | run [OPTIONS] -- CMD... | exec [OPTIONS] -- CMD... | notify [--pid PID] [--barrier] MESSAGE\n");
  return 125;
}
