#!/bin/bash
# run-in-cgroupv2-vm.sh [-C DIR] [-B DIR]... [-m MEM] [-t SECS] [-g CGROUP] [--] CMD [ARGS...]
#
# Runs CMD inside a throw-away User-Mode-Linux guest (Debian package
# user-mode-linux, kernel 6.1; needs no KVM) whose cgroups are pure v2:
# cgroup2 at /sys/fs/cgroup, controllers "cpu io memory pids", with
# "+cpu +memory +pids" already written to the root cgroup.subtree_control.
# The guest's / is the HOST's / (hostfs, read-only); /tmp /run /var/tmp
# /dev/shm are fresh tmpfs; DIR (default $PWD) is shared READ-WRITE at the
# same path.  CMD runs as root (uid 0, pid != 1) in DIR with the caller's
# environment; its stdout+stderr (merged, through a pipe, not a tty) stream
# to this script's stdout.  Exit status = CMD's (124 timeout, 125 harness).
#
#   -C DIR   working directory, shared writable (default: $PWD)
#   -B DIR   share another host DIR writable at the same path (repeatable;
#            needed for files under /tmp outside DIR, since guest /tmp is tmpfs)
#   -m MEM   guest RAM (default 2G)
#   -t SECS  wall-clock limit for the whole guest (default 900)
#   -g CG    run CMD in /sys/fs/cgroup/CG (created; +cpu +memory +pids enabled
#            on its ancestors) instead of the root cgroup
#   RUNVM_UML=/path/linux.uml (default: linux.uml on PATH)
#   RUNVM_DEBUG=1  stream UML's own/kernel messages to stderr
#
# Needs: apt-get install --no-install-recommends user-mode-linux
# DIR and -B DIRs: no commas or newlines in their paths.  $TMPDIR (default
# /tmp; holds the per-run control dir, whose path goes on the kernel command
# line): no spaces.  A copy of this file is the guest's init (PID 1).
#
# Origin: the project's shared tools (shared/tools/ beside the checkouts), copied into the repo
# so that a clone runs the guest tiers with nothing beside it. Keep the two in step.
set -u

guest_main() {  # PID 1 inside UML
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  # one mount(8) for everything: every exec costs ~40 ms under UML
  mount -a -T "$RUNVM_CTL/fstab" || echo "run-in-cgroupv2-vm: some guest mounts failed" >&2
  local C=/run/runvm WD CG kv rc _
  read -r WD < $C/wd; read -r CG < $C/cg
  echo cgv2-vm > /proc/sys/kernel/hostname
  echo "1 4 1 7" > /proc/sys/kernel/printk
  echo "+cpu +memory +pids" > /sys/fs/cgroup/cgroup.subtree_control
  ip link set lo up
  stty -F /dev/ttyS0 raw -echo
  cp -a $C/devlinks/. /dev/      # /dev/fd, /dev/std{in,out,err}: devtmpfs lacks them
  mkfifo /run/.out /run/.tick
  exec </dev/null >/dev/ttyS0 2>&1   # ttyS0 = ssl0 = host fd 3
  cat /run/.out & local catpid=$!
  (
    while IFS= read -r -d '' kv; do
      case ${kv%%=*} in PWD|OLDPWD|SHLVL|_|RUNVM_*|BASH_FUNC_*) continue ;; esac
      # shellcheck disable=SC2163
      export "$kv" 2>/dev/null
    done < $C/env
    export RUNVM_GUEST=1
    if [ -n "$CG" ]; then
      p=/sys/fs/cgroup
      for part in ${CG//\// }; do
        [ "$p" = /sys/fs/cgroup ] || echo "+cpu +memory +pids" > "$p/cgroup.subtree_control"
        p=$p/$part; mkdir -p "$p"
      done
      echo $BASHPID > "$p/cgroup.procs"
    fi
    cd "$WD" || exit 125
    eval "exec $(< $C/cmd)"
  ) > /run/.out 2>&1   # CMD sees a pipe (as in CI), not a tty
  rc=$?
  exec 2>/dev/null   # no "Killed" job notices on the output
  # processes CMD left behind may hold the pipe open: give cat 2 s to drain,
  # then kill everything but PID 1 (as a container runtime would)
  exec 7<>/run/.tick
  for _ in {1..20}; do kill -0 $catpid 2>/dev/null || break; read -r -t 0.1 -u 7; done
  kill -KILL -1 2>/dev/null
  echo "$rc" > $C/rc
  sync
  echo o > /proc/sysrq-trigger
  while :; do sleep 1; done
}

if [ $$ = 1 ] && [ -n "${RUNVM_CTL:-}" ]; then guest_main; exit 0; fi

# ---------------------------- host side ------------------------------------
WD=$PWD MEM=2G TMO=900 CG='' SHARES=()
while getopts "C:B:m:t:g:h" o; do
  case $o in
    C) WD=$OPTARG ;; m) MEM=$OPTARG ;; t) TMO=$OPTARG ;; g) CG=${OPTARG#/} ;;
    B) SHARES+=("$(cd "$OPTARG" && pwd -P)") || exit 125 ;;
    *) sed -n '2,27p' "$0"; exit 125 ;;
  esac
done
shift $((OPTIND-1))
[ $# -ge 1 ] || { echo "usage: $0 [-C DIR] [-B DIR] [-m MEM] [-t SECS] [-g CG] CMD..." >&2; exit 125; }
UML=${RUNVM_UML:-$(command -v linux.uml)}
[ -x "$UML" ] || { echo "run-in-cgroupv2-vm: linux.uml not found: apt-get install --no-install-recommends user-mode-linux" >&2; exit 125; }
WD=$(cd "$WD" && pwd -P) || exit 125
CTL=$(mktemp -d "${TMPDIR:-/tmp}/runvm.XXXXXX") || exit 125
trap 'rm -rf "$CTL"' EXIT
fsesc() { local s=${1//\\/\\134}; s=${s// /\\040}; printf '%s' "${s//	/\\011}"; }
{
  echo "proc /proc proc defaults 0 0"
  echo "sysfs /sys sysfs defaults 0 0"
  echo "cgroup2 /sys/fs/cgroup cgroup2 nsdelegate 0 0"
  echo "devpts /dev/pts devpts gid=5,mode=620,ptmxmode=666,X-mount.mkdir 0 0"
  echo "tmpfs /dev/shm tmpfs mode=1777,X-mount.mkdir 0 0"
  echo "tmpfs /tmp tmpfs mode=1777 0 0"
  echo "tmpfs /run tmpfs mode=755 0 0"
  echo "tmpfs /var/tmp tmpfs mode=1777 0 0"
  echo "hostfs /run/runvm hostfs $CTL,X-mount.mkdir 0 0"
  for d in "$WD" "${SHARES[@]}"; do
    case $d in *,*|*$'\n'*) echo "run-in-cgroupv2-vm: unsupported path: $d" >&2; exit 125 ;; esac
    echo "hostfs $(fsesc "$d") hostfs $(fsesc "$d"),X-mount.mkdir 0 0"
  done
} > "$CTL/fstab" || exit 125
cp "$(readlink -f "$0")" "$CTL/init" && chmod 755 "$CTL/init" || exit 125   # guest PID 1
mkdir "$CTL/devlinks" && ln -s /proc/self/fd "$CTL/devlinks/fd" && ln -s fd/0 "$CTL/devlinks/stdin" &&
  ln -s fd/1 "$CTL/devlinks/stdout" && ln -s fd/2 "$CTL/devlinks/stderr" || exit 125
printf '%s\n' "$WD" > "$CTL/wd"
printf '%s\n' "$CG" > "$CTL/cg"
printf '%q ' "$@" > "$CTL/cmd"
env -0 > "$CTL/env"
QUIET="quiet loglevel=1"; [ -n "${RUNVM_DEBUG:-}" ] && QUIET=
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
# (UML sets O_NONBLOCK on its fds; through the FIFO that can't leak to the
# caller's terminal/log.)  Kernel console + UML chatter -> $CTL/uml.log.
mkfifo "$CTL/out"
cat "$CTL/out" & CAT=$!
SECONDS=0
if [ -n "${RUNVM_DEBUG:-}" ]; then LOG=/dev/stderr; else LOG=$CTL/uml.log; fi
timeout -k 10 "$TMO" "$UML" mem="$MEM" rootfstype=hostfs rootflags=/ ro \
  init="$CTL/init" RUNVM_CTL="$CTL" $QUIET \
  con=null con0=null,fd:2 ssl=null ssl0=null,fd:3 uml_dir="$CTL" umid=uml \
  3>"$CTL/out" >"$LOG" 2>&1 </dev/null &
TPID=$!
SIG=
trap 'SIG=1; kill -TERM $TPID 2>/dev/null' INT TERM HUP
while :; do wait $TPID; ust=$?; kill -0 $TPID 2>/dev/null || break; done
trap - INT TERM HUP
# after a SIGKILL, UML's helper processes (own session; pgid = UML's pid) linger
[ -s "$CTL/uml/pid" ] && kill -KILL -- -"$(cat "$CTL/uml/pid")" 2>/dev/null
wait $CAT
[ -n "$SIG" ] && { echo "run-in-cgroupv2-vm: interrupted" >&2; exit 143; }
if [ $ust = 124 ] || { [ $ust = 137 ] && [ $SECONDS -ge "$TMO" ]; }; then
  echo "run-in-cgroupv2-vm: timeout after ${TMO}s" >&2; exit 124
fi
if [ ! -s "$CTL/rc" ]; then
  echo "run-in-cgroupv2-vm: guest reported no exit code (linux.uml rc=$ust)" >&2
  [ -f "$CTL/uml.log" ] && tail -n 30 "$CTL/uml.log" >&2
  exit 125
fi
exit "$(cat "$CTL/rc")"
