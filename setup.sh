#!/usr/bin/env bash
# From a fresh Debian/Ubuntu host to the Rails example running under contain, in one command:
# the Debian packages contain and its tests use, the npm packages, the native helper, the Ruby
# packages of the example, then the example itself (Ctrl-C stops it).
#   ./setup.sh            set up and run the example
#   ./setup.sh --no-run   set up only (what CI does before npm test)
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '==> %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (it installs Debian packages; contain needs root for cgroups): sudo ./setup.sh"
command -v node >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ] ||
  die "contain needs Node.js 20 or newer: install it (https://nodejs.org or your distribution), then run ./setup.sh again"

# util-linux: unshare; gcc/libc6-dev: the native helper; procps, python3: used by the tests;
# python3-seccomp: libseccomp, which the seccomp differential test compares contain's filters with;
# user-mode-linux: the pure cgroup v2 guest the tests also run in; curl: the example's check;
# systemd: systemd-analyze, which checks the units contain systemd writes (npm test under CI=true
# fails without it).
packages=(util-linux gcc libc6-dev procps python3 python3-seccomp curl user-mode-linux systemd)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

step "installing npm packages"
npm ci --no-audit --no-fund --loglevel=error
step "building contain (native helper and bundle)"
npm run --silent build
step "setting up the Rails example (Debian's Ruby packages, offline bundle)"
examples/rails-app/setup.sh

# contain, run as root, refuses a project file that another user could change (that user could
# make it run anything as root). A clone made by a normal user and then `sudo ./setup.sh` hands the
# example's contain.yml to root; the app itself keeps running as the directory's owner.
example_config=examples/rails-app/contain.yml
if [ "$(stat -c %u "$example_config")" != 0 ]; then
  step "handing $example_config to root: contain refuses project files another user could change (edit it with sudo)"
  chown root:root "$example_config"
  chmod go-w "$example_config"
fi

[ "${1:-}" = --no-run ] && { step "set up; run the tests with: npm test"; exit 0; }

step "starting the Rails example under contain up on http://127.0.0.1:3000 (Ctrl-C stops it)"
step "try, in another terminal: curl 127.0.0.1:3000/up; curl 127.0.0.1:3000/info; cd examples/rails-app && ../../bin/run.js ps"
cd examples/rails-app
exec ../../bin/run.js up
