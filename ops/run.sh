#!/usr/bin/env bash
# ops/run.sh — runs onecount on this machine, from nothing to a working console.
#
# Installs missing Debian packages, builds, starts a private PostgreSQL and
# Redis under data/ (loopback only), applies migrations, and serves the API
# and the console in the foreground.  Ctrl-C stops everything it started.
#
#   ops/run.sh              run (listens on 127.0.0.1:8080, or ONECOUNT_LISTEN)
#   ops/run.sh stop         stop services a previous run left behind
#
# Set ONECOUNT_DATABASE_URL (and ONECOUNT_MIGRATE_DATABASE_URL) and
# ONECOUNT_REDIS_URL to use your own PostgreSQL and Redis instead.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DATA="${ONECOUNT_DATA_DIR:-$OC_ROOT/data}"
if [ "${1:-}" = "stop" ]; then
  "$OC_ROOT/ops/services.sh" stop --dir "$DATA"
  exit 0
fi

"$OC_ROOT/ops/setup.sh"
oc_say "building (build/)"
oc_build "$OC_ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DONECOUNT_SANITIZE=OFF
BIN="$OC_ROOT/build/onecount"

mkdir -p "$DATA/logs"
own_services=0
if [ -z "${ONECOUNT_DATABASE_URL:-}" ] || [ -z "${ONECOUNT_REDIS_URL:-}" ]; then
  own_services=1
  "$OC_ROOT/ops/services.sh" start --dir "$DATA"
  # shellcheck disable=SC1091
  . "$DATA/services.env"
fi

export ONECOUNT_DATA_DIR="$DATA"
export ONECOUNT_WEB_DIR="$OC_ROOT/web"
export ONECOUNT_MIGRATIONS_DIR="$OC_ROOT/migrations"
export ONECOUNT_MASTER_KEY_FILE="${ONECOUNT_MASTER_KEY_FILE:-$DATA/master.key}"
LISTEN="${ONECOUNT_LISTEN:-127.0.0.1:8080}"
port="${LISTEN##*:}"
if oc_port_in_use "$port"; then
  newport="$(oc_free_port)"
  oc_say "port $port is taken; using $newport"
  LISTEN="${LISTEN%:*}:$newport"
fi
export ONECOUNT_LISTEN="$LISTEN"

oc_say "migrating"
"$BIN" migrate >"$DATA/logs/migrate.log" 2>&1 || { cat "$DATA/logs/migrate.log" >&2; oc_die "migrate failed"; }

pids=()
stop_all() {
  trap - INT TERM EXIT
  oc_say ""
  oc_say "stopping onecount"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$own_services" = 1 ]; then "$OC_ROOT/ops/services.sh" stop --dir "$DATA"; fi
  oc_say "stopped"
}
trap stop_all INT TERM EXIT

export ONECOUNT_PORT_FILE="$DATA/run/serve.port"
mkdir -p "$DATA/run"
rm -f "$ONECOUNT_PORT_FILE"
"$BIN" serve >>"$DATA/logs/serve.log" 2>&1 &
pids+=($!)

url="http://${LISTEN%:*}:${LISTEN##*:}"
for _ in $(seq 1 200); do
  curl -fsS "$url/readyz" >/dev/null 2>&1 && break
  kill -0 "${pids[0]}" 2>/dev/null || { tail -n 20 "$DATA/logs/serve.log" >&2; oc_die "onecount serve exited"; }
  sleep 0.1
done
curl -fsS "$url/readyz" >/dev/null 2>&1 || oc_die "onecount is not ready (see $DATA/logs/serve.log)"

cat <<EOM

  onecount is running

    console and API   $url/
    readiness         $url/readyz
    data              $DATA  (PostgreSQL, Redis, keys)
    logs              $DATA/logs/  (serve.log, postgresql.log, redis.log)

  Press Ctrl-C to stop everything this command started.

EOM
wait "${pids[0]}"
