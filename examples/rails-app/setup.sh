#!/usr/bin/env bash
# Prepare the example Rails app using only Debian's packages (no gem downloads).
# Idempotent: safe to run again; apt is touched only when a package is missing.
set -euo pipefail

cd "$(dirname "$0")"

# Run a command quietly; show its output only if it fails.
quiet() {
  local out
  if ! out=$("$@" 2>&1); then
    printf '%s\n' "$out" >&2
    echo "setup: failed: $*" >&2
    return 1
  fi
}

# railties + actionpack 6.1 (via ruby-railties), puma 5.6, bundler 2.3.
# Not the `rails` metapackage: it conflicts with a nodejs that isn't Debian's.
packages=(ruby-railties puma bundler)

missing=()
for p in "${packages[@]}"; do
  if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]]; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  if ((EUID != 0)); then
    echo "setup: missing Debian packages: ${missing[*]}; run this as root to install them" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  quiet apt-get update
  quiet apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "setup: Debian packages already installed: ${packages[*]}"
fi

# Resolve the Gemfile against the gems already on disk only (no network).
# Gemfile.lock is git-ignored on purpose: a Debian point release would make a
# committed one stale, so it is made afresh here every time.
echo "setup: resolving the Gemfile offline (bundle lock --local --update)"
quiet bundle lock --local --update

echo "setup: checking every gem is present (bundle check)"
quiet bundle check

# `rails s` always creates these; made here so an unprivileged user or a
# read-only app directory can still start it.
echo "setup: creating tmp/cache, tmp/pids, tmp/sockets"
mkdir -p tmp/cache tmp/pids tmp/sockets

echo "setup: ready: ruby $(ruby -e 'print RUBY_VERSION'), $(bundle exec ruby -e '
  require "rails/version"; require "puma/const"
  print "railties #{Rails.version}, puma #{Puma::Const::PUMA_VERSION}"')"
