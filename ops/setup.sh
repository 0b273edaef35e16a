#!/usr/bin/env bash
# ops/setup.sh — installs the Debian packages onecount needs, when missing.
#
#   ops/setup.sh          packages to build and run onecount
#   ops/setup.sh --test   also what the test suite needs (Chromium, Node.js, npm packages)
#
# Idempotent: installs nothing when everything is present.  What it changes
# on the host: the missing packages are installed; the system services that
# installing postgresql or redis-server enabled are disabled and stopped
# again, and a PostgreSQL cluster the install created is dropped (onecount
# runs its own under data/).  As root, ops/services.sh also adds the system
# user `onecount` (PostgreSQL refuses to run as root).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

RUN_PKGS=(build-essential cmake pkg-config git libh2o-evloop-dev libpq-dev libhiredis-dev libjansson-dev
          libcurl4-openssl-dev libsodium-dev libssl-dev zlib1g-dev postgresql postgresql-contrib redis-server
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

# The system services a package enables on install, which onecount does not
# use (it runs its own PostgreSQL and Redis under data/): after installing
# one of these, its service is disabled at boot and stopped, and a cluster
# the install created (postgresql-common's "main") is dropped, so the host
# is left as it was found but for the packages themselves.
declare -A SERVICES_OF=([redis-server]=redis-server [postgresql]=postgresql)

# leave_host_as_found PKG...: undo what installing PKG... switched on.
leave_host_as_found() {
  local pkg svc c
  for pkg in "$@"; do
    svc="${SERVICES_OF[$pkg]:-}"
    [ -n "$svc" ] || continue
    if [ -d /run/systemd/system ]; then
      $SUDO systemctl disable --now --quiet "$svc.service" 2>/dev/null || true
    else
      # No systemd running (a container): remove the boot links the package
      # made for systemd and for SysV init, and stop it if it did start.
      $SUDO deb-systemd-helper disable "$svc.service" >/dev/null 2>&1 || true
      $SUDO update-rc.d "$svc" disable >/dev/null 2>&1 || true
      [ -x "/etc/init.d/$svc" ] && $SUDO "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
    fi
    oc_say "setup: $svc (Debian's own service) disabled at boot and stopped: onecount runs its own under data/"
  done
  if command -v pg_lsclusters >/dev/null; then
    while read -r c; do
      [ -n "$c" ] || continue
      grep -qxF "$c" <<< "$clusters_before" && continue
      # shellcheck disable=SC2086
      $SUDO pg_dropcluster --stop $c >/dev/null 2>&1 || true
      oc_say "setup: dropped PostgreSQL cluster $c that installing postgresql created"
    done < <(pg_lsclusters -h 2>/dev/null | awk '{print $1, $2}')
  fi
}

if [ "${#missing[@]}" -gt 0 ]; then
  oc_say "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  clusters_before="$(pg_lsclusters -h 2>/dev/null | awk '{print $1, $2}' || true)"
  $SUDO apt-get update -qq
  # Debian's postgresql and redis-server start system services on install;
  # onecount runs its own instances, so keep the system ones from starting.
  DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  leave_host_as_found "${missing[@]}"
fi

if [ "${1:-}" = "--test" ]; then
  cd "$OC_ROOT/tests"
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    oc_say "installing npm packages for the tests"
    npm ci --no-audit --no-fund --loglevel=error >&2
    touch node_modules
  fi
fi
