#!/usr/bin/env bash
# ops/run.sh — runs onecount on this machine, from nothing to a working console.
#
# Installs missing Debian packages, builds, starts a private PostgreSQL and
# Redis under data/ (loopback only), applies migrations, creates the vault's
# key-encryption key on first start, and runs the API and console, the sync
# worker and the channel simulators with a demo portfolio, in the foreground.
# Ctrl-C stops everything it started.
#
#   ops/run.sh              run (listens on 127.0.0.1:8080, or ONECOUNT_LISTEN)
#   ops/run.sh --no-demo    no simulators and no demo portfolio
#   ops/run.sh stop         stop services a previous run left behind
#
# Set ONECOUNT_DATABASE_URL (and ONECOUNT_MIGRATE_DATABASE_URL) and
# ONECOUNT_REDIS_URL to use your own PostgreSQL and Redis instead.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DATA="${ONECOUNT_DATA_DIR:-$OC_ROOT/data}"
demo=1
[ "${1:-}" = "--no-demo" ] && demo=0
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

# The credential vault's key-encryption key: made once, readable by its owner only.
if [ -z "${ONECOUNT_MASTER_KEY:-}" ] && [ ! -s "$ONECOUNT_MASTER_KEY_FILE" ]; then
  oc_say "creating the vault key ($ONECOUNT_MASTER_KEY_FILE)"
  "$BIN" admin keygen >/dev/null || oc_die "keygen failed"
fi

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

mkdir -p "$DATA/run"
# wait_port <file> <pid> <log>: the port a process wrote once it listens
wait_port() {
  for _ in $(seq 1 200); do
    [ -s "$1" ] && { cat "$1"; return 0; }
    kill -0 "$2" 2>/dev/null || { tail -n 20 "$3" >&2; return 1; }
    sleep 0.1
  done
  return 1
}

sim_url=""
if [ "$demo" = 1 ]; then
  rm -f "$DATA/run/sim.port"
  ONECOUNT_LISTEN=127.0.0.1:0 ONECOUNT_PORT_FILE="$DATA/run/sim.port" "$BIN" sim >>"$DATA/logs/sim.log" 2>&1 &
  pids+=($!)
  sim_port="$(wait_port "$DATA/run/sim.port" "$!" "$DATA/logs/sim.log")" || oc_die "the simulators did not start"
  sim_url="http://127.0.0.1:$sim_port"
fi

rm -f "$DATA/run/serve.port"
ONECOUNT_PORT_FILE="$DATA/run/serve.port" "$BIN" serve >>"$DATA/logs/serve.log" 2>&1 &
serve_pid=$!
pids+=($serve_pid)
rm -f "$DATA/run/worker.port"
ONECOUNT_WORKER_PORT_FILE="$DATA/run/worker.port" "$BIN" worker >>"$DATA/logs/worker.log" 2>&1 &
worker_pid=$!
pids+=($worker_pid)

url="http://${LISTEN%:*}:${LISTEN##*:}"
for _ in $(seq 1 200); do
  curl -fsS "$url/readyz" >/dev/null 2>&1 && break
  kill -0 "$serve_pid" 2>/dev/null || { tail -n 20 "$DATA/logs/serve.log" >&2; oc_die "onecount serve exited"; }
  sleep 0.1
done
curl -fsS "$url/readyz" >/dev/null 2>&1 || oc_die "onecount is not ready (see $DATA/logs/serve.log)"
worker_port="$(wait_port "$DATA/run/worker.port" "$worker_pid" "$DATA/logs/worker.log")" || oc_die "the worker did not start"
worker_host="${ONECOUNT_WORKER_LISTEN:-127.0.0.1:0}"; worker_host="${worker_host%:*}"

signin="(your own: onecount admin create-portfolio / create-user)"
if [ "$demo" = 1 ]; then
  oc_say "wiring the demo portfolio to the simulators"
  "$BIN" demo --api "$url" --sim "$sim_url" --state "$DATA/demo.json" >"$DATA/logs/demo.log" 2>&1 \
    || { cat "$DATA/logs/demo.log" >&2; oc_die "the demo portfolio could not be set up"; }
  signin="$(tail -n 1 "$DATA/logs/demo.log" | sed -n 's/^demo portfolio ready: sign in as \(.*\) with password \(.*\)$/\1  password \2/p')"
fi

cat <<EOM

  onecount is running

    console and API   $url/
    sign in           $signin
    simulators        ${sim_url:-off}
    readiness         $url/readyz
    worker            http://$worker_host:$worker_port/readyz  (and /metrics)
    data              $DATA  (PostgreSQL, Redis, keys, demo.json)
    logs              $DATA/logs/  (serve.log, worker.log, sim.log, postgresql.log, redis.log)

  Press Ctrl-C to stop everything this command started.

EOM
wait "$serve_pid"
