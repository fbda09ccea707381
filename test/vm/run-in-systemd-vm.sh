#!/bin/bash
# run-in-systemd-vm.sh [-C DIR] [-B DIR]... [-m MEM] [-t SECS] [--] CMD [ARGS...]
#
# Runs CMD inside a throw-away User-Mode-Linux guest (Debian package
# user-mode-linux, kernel 6.1; needs no KVM) whose PID 1 is real systemd
# (the host's /lib/systemd/systemd) on pure cgroup v2: cgroup2 at
# /sys/fs/cgroup, controllers "cpu io memory pids", managed by systemd.
# CMD runs as root as the ExecStart of runvm.service (wanted by the boot
# target runvm.target, after basic.target; cgroup
# /system.slice/runvm.service), so it can write unit files, daemon-reload,
# systemctl start/stop/show, journalctl -u, systemd-run, systemd-cgls, and
# use Type=notify and Delegate=yes units as on a real host.  When CMD exits
# the guest is powered off at once (no orderly shutdown).
# The guest's / is an overlay: the HOST's / (hostfs, read-only) below, a
# tmpfs above, so all of it is writable and every write is thrown away
# (units can go to /etc/systemd/system or /run/systemd/system).  /run and
# /tmp are fresh tmpfs; DIR (default $PWD) is shared READ-WRITE at the same
# path.  CMD runs in DIR with the caller's environment (plus RUNVM_GUEST=1
# RUNVM_SYSTEMD=1); its stdout+stderr (merged, a pipe, not a tty) stream to
# this script's stdout.  Exit status = CMD's (124 timeout, 125 harness).
# Boot until CMD starts: ~2.5 s.
#
#   -C DIR   working directory, shared writable (default: $PWD)
#   -B DIR   share another host DIR writable at the same path (repeatable;
#            needed for files under /tmp outside DIR, since guest /tmp is tmpfs)
#   -m MEM   guest RAM (default 2G; the tmpfs holding writes to / counts)
#   -t SECS  wall-clock limit for the whole guest (default 900)
#   RUNVM_UML=/path/linux.uml (default: linux.uml on PATH)
#   RUNVM_DEBUG=1  stream kernel, systemd and journal messages to stderr
#   RUNVM_NO_SHIM=1  don't LD_PRELOAD the xstate shim (see below)
#
# Inside: 1 CPU, hostname systemd-vm, a fresh machine-id, journald
# Storage=volatile, no network but lo, no udev, no kernel modules but
# overlay; all generators, the timers the host enables and the units in
# $MASK below are masked.  Units that CMD starts get systemd's defaults
# (90 s start/stop timeouts); runvm.service has none: only -t limits CMD.
# Needs: apt-get install --no-install-recommends user-mode-linux; perl (to
# load overlay.ko); a C compiler (cc) where the CPU has AVX-512, PKU or
# AMX: there UML 6.1 panics at boot ("ptrace set fp regs failed, errno =
# 14") because ptrace rejects its 832-byte XSAVE buffer; an LD_PRELOAD shim,
# built once into $TMPDIR/run-in-systemd-vm-UID/, hands the host kernel
# full-size buffers and keeps each guest thread's full register state.
# DIR and -B DIRs: not /, no commas or newlines in their paths.  $TMPDIR
# (default /tmp; holds the per-run control dir, whose path goes on the
# kernel command line): no spaces.  A copy of this file is the guest's
# first PID 1 (mounts the overlay root, pivot_root, execs systemd) and the
# ExecStart of runvm.service.
#
# Origin: the project's shared tools (shared/tools/ beside the checkouts), copied into the repo
# so that a clone runs the guest tiers with nothing beside it. Keep the two in step.
set -u

# Units masked in the guest (symlinks to /dev/null in /run/systemd/system):
# they fail here (no autofs4, no modprobe), would use the host's state
# (random seed, NTP), could prompt (firstboot), or only cost boot time.
# Timers that the host enables in timers.target.wants are masked as well
# (Persistent= ones would fire at once), and all generators.
MASK="systemd-timesyncd.service systemd-random-seed.service systemd-firstboot.service
  systemd-journal-flush.service systemd-sysusers.service systemd-update-utmp.service
  systemd-binfmt.service proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount
  systemd-modules-load.service systemd-hwdb-update.service ldconfig.service
  systemd-journal-catalog-update.service systemd-update-done.service
  sys-kernel-debug.mount sys-kernel-tracing.mount sys-kernel-config.mount
  sys-fs-fuse-connections.mount dev-hugepages.mount
  systemd-udevd.service systemd-udev-trigger.service systemd-udev-settle.service"

guest_init() {  # PID 1 inside UML until it execs systemd
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  local C=/run/runvm N=/run/.runvm/root kver mid
  die() {   # no rc file: the host then shows the end of the console log
    echo "run-in-systemd-vm: $*" >&2
    echo o > /proc/sysrq-trigger; while :; do sleep 1; done
  }
  # every exec costs ~40 ms under UML: one mount(8) per stage
  mount -a -T "$RUNVM_CTL/fstab0" || die "early mounts failed"
  # UML's reboot(2) restarts the guest: don't run CMD a second time
  [ -e $C/booted ] && die "the guest rebooted (CMD must not reboot or power off)"
  : > $C/booted
  mkdir -p /run/.runvm/u /run/.runvm/w $N || die "mkdir failed"
  read -r kver < /proc/sys/kernel/osrelease
  # overlayfs is a module in this kernel; kmod isn't needed: finit_module(2)
  # shellcheck disable=SC2016
  perl -e 'open(my $f, "<", $ARGV[0]) or exit 1; my $p = "";
           exit(syscall(313, fileno($f), $p, 0) == 0 ? 0 : 1)' \
    "/usr/lib/uml/modules/$kver/kernel/fs/overlayfs/overlay.ko" 2>/dev/null ||
    grep -qw overlay /proc/filesystems || die "cannot load overlay.ko"
  # new root $N: overlay of the host's / + /dev /proc /sys /run /tmp + shares
  mount -a -T $C/fstab || die "guest mounts failed"
  cp -R $C/runfs/. $N/run/ || die "cannot populate /run"
  # a host /.dockerenv would make systemd believe it runs in a container
  if [ -e $N/.dockerenv ]; then rm -f $N/.dockerenv; fi
  read -r mid < $C/machine-id && echo "$mid" > $N/etc/machine-id
  echo systemd-vm > $N/etc/hostname
  stty -F /dev/ttyS0 raw -echo   # ttyS0 = ssl0 = host fd 3: CMD's output
  cd $N || die "no new root"
  pivot_root . run/.oldroot || die "pivot_root failed"
  umount -l /run/.oldroot   # the overlay keeps its upper tmpfs alive
  exec /lib/systemd/systemd
}

guest_run() {  # ExecStart of runvm.service; stdout is /dev/ttyS0
  local C=/run/runvm S=/run/.runvm WD kv rc catpid _
  read -r WD < $C/wd
  exec </dev/null 2>&1
  mkfifo $S/out $S/tick
  cat $S/out & catpid=$!
  (
    while IFS= read -r -d '' kv; do
      case ${kv%%=*} in PWD|OLDPWD|SHLVL|_|RUNVM_*|BASH_FUNC_*|INVOCATION_ID|NOTIFY_SOCKET|LISTEN_*|JOURNAL_STREAM) continue ;; esac
      # shellcheck disable=SC2163
      export "$kv" 2>/dev/null
    done < $C/env
    export RUNVM_GUEST=1 RUNVM_SYSTEMD=1
    unset INVOCATION_ID RUNVM_SYSTEMD_GUEST
    cd "$WD" || exit 125
    eval "exec $(< $C/cmd)"
  ) > $S/out 2>&1   # CMD sees a pipe (as in CI), not a tty
  rc=$?
  # processes CMD left behind may hold the pipe open: give cat 2 s to drain
  exec 7<>$S/tick
  for _ in {1..20}; do kill -0 $catpid 2>/dev/null || break; read -r -t 0.1 -u 7; done
  echo "$rc" > $C/rc
  sync
  read -r -t 0.1 -u 7   # let the serial line flush
  echo o > /proc/sysrq-trigger
  while :; do read -r -t 1 -u 7; done
}

if [ $$ = 1 ] && [ -n "${RUNVM_CTL:-}" ]; then guest_init; exit 125; fi
if [ "${1:-}" = --runvm-guest-run ] && [ -n "${RUNVM_SYSTEMD_GUEST:-}" ]; then guest_run; exit 125; fi

# ---------------------------- host side ------------------------------------
WD=$PWD MEM=2G TMO=900 SHARES=()
while getopts "C:B:m:t:h" o; do
  case $o in
    C) WD=$OPTARG ;; m) MEM=$OPTARG ;; t) TMO=$OPTARG ;;
    B) SHARES+=("$(cd "$OPTARG" && pwd -P)") || exit 125 ;;
    *) sed -n '2,47p' "$0"; exit 125 ;;
  esac
done
shift $((OPTIND-1))
[ $# -ge 1 ] || { echo "usage: $0 [-C DIR] [-B DIR] [-m MEM] [-t SECS] CMD..." >&2; exit 125; }
UML=${RUNVM_UML:-$(command -v linux.uml)}
[ -x "$UML" ] || { echo "run-in-systemd-vm: linux.uml not found: apt-get install --no-install-recommends user-mode-linux" >&2; exit 125; }
[ -x /lib/systemd/systemd ] || { echo "run-in-systemd-vm: /lib/systemd/systemd not found" >&2; exit 125; }
WD=$(cd "$WD" && pwd -P) || exit 125

# --- LD_PRELOAD shim for linux.uml (see header) ---
build_shim() {  # prints the path of the shim, or nothing
  command -v cc >/dev/null 2>&1 || return 0
  local src dir sum so
  src=$(cat <<'EOF'
/* UML 6.1 hands PTRACE_{GET,SET}REGSET(NT_X86_XSTATE) an 832-byte buffer;
 * hosts with a larger XSAVE area reject the SET with EFAULT.  Keep each
 * guest thread's full state, keyed by UML's buffer (its regs->fp), and pass
 * full-size buffers to the host kernel. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#define GETREGSET 0x4204
#define SETREGSET 0x4205
#define NT_XSTATE 0x202
#define NSLOT 4096
static long (*real_ptrace)(int, ...);
static size_t full;                 /* host xstate size; 0 = not known yet */
static unsigned char *tab;          /* NSLOT * full bytes */
static void *key[NSLOT];
static unsigned char tmp[65536] __attribute__((aligned(64)));

static long sys_pt(long req, long pid, void *addr, void *data)
{
	return syscall(SYS_ptrace, req, pid, addr, data);
}
static unsigned slot(void *p)
{
	return (unsigned)(((uintptr_t)p * 0x9E3779B97F4A7C15ull) >> 52) % NSLOT;
}
long ptrace(int req, ...)
{
	va_list ap;
	va_start(ap, req);
	long pid = va_arg(ap, long);
	void *addr = va_arg(ap, void *);
	void *data = va_arg(ap, void *);
	va_end(ap);
	struct iovec *iov = data;
	if ((req == GETREGSET || req == SETREGSET) && (long)addr == NT_XSTATE && iov) {
		if (!full) {
			struct iovec g = { tmp, sizeof tmp };
			if (sys_pt(GETREGSET, pid, addr, &g) == 0 && g.iov_len > 0) {
				full = g.iov_len;
				void *m = mmap(NULL, (size_t)NSLOT * full, PROT_READ | PROT_WRITE,
					       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
				tab = m == MAP_FAILED ? NULL : m;
			}
		}
		if (full && iov->iov_len < full && full <= sizeof tmp) {
			unsigned s = slot(iov->iov_base);
			unsigned char *b = tab ? tab + (size_t)s * full : tmp;
			struct iovec g = { b, full };
			if (req == GETREGSET) {
				long r = sys_pt(GETREGSET, pid, addr, &g);
				if (r == 0) {
					memcpy(iov->iov_base, b, iov->iov_len);
					if (tab)
						key[s] = iov->iov_base;
				}
				return r;
			}
			if (!tab || key[s] != iov->iov_base) {  /* unknown: merge with current */
				g.iov_base = b = tmp;
				if (sys_pt(GETREGSET, pid, addr, &g) != 0 || g.iov_len != full)
					goto pass;
			}
			memcpy(b, iov->iov_base, iov->iov_len);
			return sys_pt(SETREGSET, pid, addr, &g);
		}
	}
pass:
	if (!real_ptrace)
		real_ptrace = (long (*)(int, ...))dlsym(RTLD_NEXT, "ptrace");
	return real_ptrace(req, pid, addr, data);
}
EOF
)
  dir=${TMPDIR:-/tmp}/run-in-systemd-vm-$(id -u)
  mkdir -m 700 "$dir" 2>/dev/null
  [ -d "$dir" ] && [ ! -L "$dir" ] && [ -O "$dir" ] || return 0
  sum=$(printf '%s' "$src" | cksum | cut -d' ' -f1)
  so=$dir/xstate-$sum.so
  if [ ! -f "$so" ]; then
    if ! printf '%s\n' "$src" | cc -O2 -shared -fPIC -x c -o "$so.$$" - -ldl 2>"$dir/build.log" ||
       ! mv -f "$so.$$" "$so"; then
      rm -f "$so.$$"; echo "run-in-systemd-vm: cannot build the xstate shim, see $dir/build.log" >&2
      return 0
    fi
  fi
  printf '%s' "$so"
}
SHIM=
[ -z "${RUNVM_NO_SHIM:-}" ] && SHIM=$(build_shim)

CTL=$(mktemp -d "${TMPDIR:-/tmp}/sdvm.XXXXXX") || exit 125
trap 'rm -rf "$CTL"' EXIT
fsesc() { local s=${1//\\/\\134}; s=${s// /\\040}; printf '%s' "${s//	/\\011}"; }
printf '%s\n' "proc /proc proc defaults 0 0" "tmpfs /run tmpfs mode=755 0 0" \
  "hostfs /run/runvm hostfs $CTL,X-mount.mkdir 0 0" > "$CTL/fstab0" || exit 125
N=/run/.runvm/root
{
  echo "overlay $N overlay lowerdir=/,upperdir=/run/.runvm/u,workdir=/run/.runvm/w 0 0"
  echo "devtmpfs $N/dev devtmpfs mode=755 0 0"
  echo "proc $N/proc proc defaults 0 0"
  echo "sysfs $N/sys sysfs defaults 0 0"
  echo "tmpfs $N/run tmpfs mode=755 0 0"
  echo "tmpfs $N/tmp tmpfs mode=1777 0 0"
  echo "hostfs $N/run/runvm hostfs $CTL,X-mount.mkdir 0 0"
  for d in "$WD" "${SHARES[@]}"; do
    case $d in *,*|*$'\n'*|/) echo "run-in-systemd-vm: unsupported path: $d" >&2; exit 125 ;; esac
    echo "hostfs $(fsesc "$N$d") hostfs $(fsesc "$d"),X-mount.mkdir 0 0"
  done
} > "$CTL/fstab" || exit 125

# the guest's /run: units, masks, drop-ins
R=$CTL/runfs
mkdir -p "$R/systemd/system" "$R/systemd/system-generators" "$R/systemd/journald.conf.d" \
  "$R/.runvm" "$R/.oldroot" || exit 125
for u in $MASK /etc/systemd/system/timers.target.wants/*.timer \
         /usr/lib/systemd/system/timers.target.wants/*.timer; do
  [ "${u#/}" = "$u" ] || [ -e "$u" ] || continue
  ln -sf /dev/null "$R/systemd/system/${u##*/}" || exit 125
done
for g in /usr/lib/systemd/system-generators/* /lib/systemd/system-generators/* \
         /usr/local/lib/systemd/system-generators/* /etc/systemd/system-generators/*; do
  [ -e "$g" ] && ln -sf /dev/null "$R/systemd/system-generators/${g##*/}"
done
cp "$(readlink -f "$0")" "$CTL/init" && chmod 755 "$CTL/init" || exit 125   # guest PID 1
cat > "$R/systemd/system/runvm.target" <<'EOF'
[Unit]
Description=run-in-systemd-vm boot target
Wants=basic.target runvm.service
After=basic.target
AllowIsolate=yes
EOF
cat > "$R/systemd/system/runvm.service" <<'EOF'
[Unit]
Description=run-in-systemd-vm command
DefaultDependencies=no
Wants=basic.target
After=basic.target
[Service]
Type=exec
ExecStart=/run/runvm/init --runvm-guest-run
Environment=RUNVM_SYSTEMD_GUEST=1
StandardInput=null
StandardOutput=file:/dev/ttyS0
StandardError=inherit
TimeoutStartSec=infinity
TimeoutStopSec=infinity
RuntimeMaxSec=infinity
EOF
LVL=warning; [ -n "${RUNVM_DEBUG:-}" ] && LVL=info
printf '[Journal]\nStorage=volatile\nForwardToConsole=yes\nTTYPath=/dev/console\nMaxLevelConsole=%s\n' \
  "$LVL" > "$R/systemd/journald.conf.d/runvm.conf"
MID=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$MID" > "$CTL/machine-id"
printf '%s\n' "$WD" > "$CTL/wd"
printf '%q ' "$@" > "$CTL/cmd"
env -0 > "$CTL/env"
if [ -n "${RUNVM_DEBUG:-}" ]; then
  QUIET="systemd.show_status=1 systemd.log_level=info"
else
  QUIET="quiet systemd.show_status=error"
fi
# UML keeps the guest RAM in an unlinked file in $TMPDIR, else /dev/shm, else
# /tmp, and needs PROT_EXEC mmap there.  A /dev/shm smaller than MEM or
# mounted noexec (docker: 64M, noexec) breaks the guest: use /tmp instead.
if [ -z "${TMPDIR:-}" ]; then
  need_k=$(( $(numfmt --from=iec "$MEM") / 1024 ))
  shm_k=$(df -Pk /dev/shm 2>/dev/null | awk 'NR==2{print $4}')
  if [ "${shm_k:-0}" -le "$need_k" ] || awk '$2=="/dev/shm" && $4 ~ /(^|,)noexec(,|$)/ {f=1} END {exit !f}' /proc/mounts; then
    export TMPDIR=/tmp
  fi
fi
# CMD's output: guest /dev/ttyS0 (ssl0) -> fd 3 -> FIFO -> cat -> our stdout.
# Console (kernel, systemd, journal warnings; shown on failure) -> $CTL/uml.log,
# or everything to our stderr with RUNVM_DEBUG.
mkfifo "$CTL/out"
cat "$CTL/out" & CAT=$!
SECONDS=0
if [ -n "${RUNVM_DEBUG:-}" ]; then exec 5>&2; else exec 5>"$CTL/uml.log"; fi
PRELOAD=(); [ -n "$SHIM" ] && PRELOAD=(env "LD_PRELOAD=$SHIM")
# shellcheck disable=SC2086
timeout -k 10 "$TMO" "${PRELOAD[@]}" "$UML" mem="$MEM" rootfstype=hostfs rootflags=/ ro \
  init="$CTL/init" RUNVM_CTL="$CTL" $QUIET \
  systemd.unified_cgroup_hierarchy=1 systemd.unit=runvm.target \
  systemd.machine_id="$MID" systemd.hostname=systemd-vm \
  con=null con0=null,fd:2 ssl=null ssl0=null,fd:3 uml_dir="$CTL" umid=uml \
  3>"$CTL/out" >&5 2>&5 5>&- </dev/null &
TPID=$!
exec 5>&-
SIG=
trap 'SIG=1; kill -TERM $TPID 2>/dev/null' INT TERM HUP
while :; do wait $TPID; ust=$?; kill -0 $TPID 2>/dev/null || break; done
trap - INT TERM HUP
# after a SIGKILL, UML's helper processes (own session; pgid = UML's pid) linger
[ -s "$CTL/uml/pid" ] && kill -KILL -- -"$(cat "$CTL/uml/pid")" 2>/dev/null
wait $CAT
[ -n "$SIG" ] && { echo "run-in-systemd-vm: interrupted" >&2; exit 143; }
if [ "$ust" = 124 ] || { [ "$ust" = 137 ] && [ $SECONDS -ge "$TMO" ]; }; then
  echo "run-in-systemd-vm: timeout after ${TMO}s" >&2
  [ -f "$CTL/uml.log" ] && tail -n 30 "$CTL/uml.log" >&2
  exit 124
fi
if [ ! -s "$CTL/rc" ]; then
  echo "run-in-systemd-vm: guest reported no exit code (linux.uml rc=$ust)" >&2
  [ -f "$CTL/uml.log" ] && tail -n 30 "$CTL/uml.log" >&2
  grep -q 'set fp regs failed' "$CTL/uml.log" 2>/dev/null && [ -z "$SHIM" ] &&
    echo "run-in-systemd-vm: this host needs the xstate shim: install a C compiler (cc)" >&2
  exit 125
fi
exit "$(cat "$CTL/rc")"
