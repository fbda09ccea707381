#!/bin/sh
# Runs inside the pure cgroup v2 guest (test/vm/run-in-cgroupv2-vm.sh): the cgroup
# integration tests and parts 1 and 3 of the hardening suite (soak, escape attempts), on the
# kernel's v2 code path.
#
# Started with -g (a nested, systemd-like cgroup), this script acts as the service manager: it
# moves itself into a leaf and enables the controllers, and every test then starts contain alone
# in a fresh cgroup below, as a unit with Delegate=yes would. That exercises contain's delegation
# path (moving itself into a leaf before enabling controllers for its apps). The hardening helpers
# also remove a unit's leftovers once its processes are gone, as systemd does when a unit stops.
set -eu
own=$(sed -n 's/^0:://p' /proc/self/cgroup)
guest=plain
if [ "$own" != "/" ]; then
  guest=nested
  parent=/sys/fs/cgroup$own
  mkdir "$parent/test-runner"
  echo $$ > "$parent/test-runner/cgroup.procs"
  echo "+cpu +memory +pids" > "$parent/cgroup.subtree_control"
  export CONTAIN_TEST_UNIT_PARENT="$parent"
fi
# One file at a time, as on the host: the leak checks snapshot shared cgroup directories.
# The two guests run side by side on the same shared checkout, and tap names a test's fixture
# directory (.tap/fixtures/...) after its file and arguments: without an argument of its own, one
# guest's test removed the other's fixture while it was in use (a writable path gone: ENOENT).
exec node_modules/.bin/tap --reporter=tap --jobs=1 --test-arg="guest-$guest" "$@"
