#!/usr/bin/env bash
# ops/setup.sh — installs the Debian packages onecount needs, when missing.
#
#   ops/setup.sh          packages to build and run onecount
#   ops/setup.sh --test   also what the test suite needs (Chromium, Node.js, npm packages)
#
# Idempotent: installs nothing when everything is present.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

RUN_PKGS=(build-essential cmake pkg-config git libh2o-evloop-dev libpq-dev libhiredis-dev libjansson-dev
          libcurl4-openssl-dev libsodium-dev libssl-dev postgresql postgresql-contrib redis-server
          ca-certificates util-linux procps)
TEST_PKGS=(chromium nodejs npm wrk curl clang clang-format)

want=("${RUN_PKGS[@]}")
[ "${1:-}" = "--test" ] && want+=("${TEST_PKGS[@]}")

have_tool() { [ "$1" = nodejs ] && command -v node >/dev/null || { [ "$1" = npm ] && command -v npm >/dev/null; }; }
missing=()
for p in "${want[@]}"; do
  # The machine image may ship Node.js and npm outside Debian's packages.
  have_tool "$p" && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  oc_say "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # Debian's postgresql and redis-server start system services on install;
  # onecount runs its own instances, so keep the system ones from starting.
  DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

if [ "${1:-}" = "--test" ]; then
  cd "$OC_ROOT/tests"
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    oc_say "installing npm packages for the tests"
    npm ci --no-audit --no-fund --loglevel=error >&2
    touch node_modules
  fi
fi
