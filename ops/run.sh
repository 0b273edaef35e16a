#!/usr/bin/env bash
# ops/run.sh — runs onecount on this machine, from nothing to a working console.
#
# Installs missing Debian packages, builds, starts a private PostgreSQL and
# Redis under data/ (loopback only), applies migrations, creates the vault's
# key-encryption key on first start, and runs the API and console, the sync
# worker and the channel simulators with a demo portfolio, in the foreground.
# Ctrl-C stops everything it started, and says what.
#
#   ops/run.sh              run (listens on 127.0.0.1:8080, or ONECOUNT_LISTEN)
#   ops/run.sh --no-demo    no simulators and no demo portfolio
#   ops/run.sh stop         stop everything a run from this checkout started
#                           (also one that was killed), one line per thing
#
# Set ONECOUNT_DATABASE_URL (and ONECOUNT_MIGRATE_DATABASE_URL) and
# ONECOUNT_REDIS_URL to use your own PostgreSQL and Redis instead.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DATA="${ONECOUNT_DATA_DIR:-$OC_ROOT/data}"
[ -d "$DATA" ] && DATA="$(cd "$DATA" && pwd)"
RUN_PID="$DATA/run.pid" # this script's pid while it runs
demo=1
[ "${1:-}" = "--no-demo" ] && demo=0

# is_running PID: the process exists and is not a zombie waiting for its parent.
is_running() {
  local st
  st="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  st="${st##*) }"
  [ "${st%% *}" != Z ]
}

# name_of PID: what an onecount process of this checkout is (serve, worker, sim, demo…); nothing when it
# has exited meanwhile (the redirection's own failure is silenced too, and never ends the script: a stop
# that died here left PostgreSQL and Redis running).
name_of() { { tr '\0' ' ' < "/proc/$1/cmdline"; } 2>/dev/null | awk '{print $2}' || true; }

# The onecount processes started from this checkout's builds for this data
# folder (their environment names it), whoever started them.
ours() {
  local p exe
  for p in /proc/[0-9]*; do
    p="${p#/proc/}"
    exe="$(readlink "/proc/$p/exe" 2>/dev/null)" || continue
    exe="${exe% (deleted)}"
    case "$exe" in "$OC_ROOT"/build*/onecount) ;; *) continue ;; esac
    tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qxF "ONECOUNT_DATA_DIR=$DATA" || continue
    printf '%s\n' "$p"
  done
}

# The pid of a run of this script for this data folder that is still going, or nothing.
running_script() {
  local p
  p="$(cat "$RUN_PID" 2>/dev/null)" || return 0
  { tr '\0' ' ' < "/proc/$p/cmdline"; } 2>/dev/null | grep -q 'ops/run\.sh' && printf '%s\n' "$p"
  return 0
}

# stop_pids PID...: TERM, wait up to 15 s, then KILL; one line per process.
stop_pids() {
  local p name
  declare -A names=()
  for p in "$@"; do names[$p]="$(name_of "$p")"; kill -TERM "$p" 2>/dev/null || true; done
  for p in "$@"; do
    for _ in $(seq 1 150); do is_running "$p" || break; sleep 0.1; done
    if is_running "$p"; then
      kill -KILL "$p" 2>/dev/null || true
      oc_say "killed ${names[$p]:-onecount} (pid $p): it did not stop within 15 s"
    else
      oc_say "stopped ${names[$p]:-onecount} (pid $p)"
    fi
  done
}

if [ "${1:-}" = "stop" ]; then
  said=0
  script="$(running_script)"
  if [ -n "$script" ]; then
    # The run stops what it started itself, in order (its own terminal says so
    # too); here, one line for each thing that was running and is gone.
    declare -A was=()
    for p in $(ours); do was[$p]="$(name_of "$p")"; done
    services_before="$("$OC_ROOT/ops/services.sh" status --dir "$DATA" 2>/dev/null || true)"
    outside="$(readlink "$DATA/pg" 2>/dev/null || true)"
    kill -TERM "$script" 2>/dev/null || true
    for _ in $(seq 1 300); do is_running "$script" || break; sleep 0.1; done
    is_running "$script" && oc_die "ops/run.sh (pid $script) did not stop within 30 s"
    for p in "${!was[@]}"; do is_running "$p" || oc_say "stopped ${was[$p]} (pid $p)"; done
    services_after="$("$OC_ROOT/ops/services.sh" status --dir "$DATA" 2>/dev/null || true)"
    for svc in PostgreSQL Redis; do
      line="$(grep -i "^$svc: running on " <<< "$services_before" || true)"
      if [ -n "$line" ] && ! grep -qi "^$svc: running" <<< "$services_after"; then
        oc_say "stopped $svc (${line#*running on })"
      fi
    done
    case "$outside" in /var/tmp/onecount-pg-*/pg)
      [ -e "$outside" ] || oc_say "removed ${outside%/pg} (PostgreSQL's files, kept outside $DATA)" ;;
    esac
    oc_say "stopped ops/run.sh (pid $script)"
    said=1
  fi
  mapfile -t left < <(ours)
  if [ "${#left[@]}" -gt 0 ]; then stop_pids "${left[@]}"; said=1; fi
  rm -f "$RUN_PID"
  if [ -d "$DATA" ]; then
    out="$("$OC_ROOT/ops/services.sh" stop --dir "$DATA" 2>&1)" || true
    [ -z "$out" ] || { printf '%s\n' "$out" >&2; said=1; }
  fi
  [ "$said" = 1 ] || oc_say "nothing was running (data in $DATA)"
  exit 0
fi

other="$(running_script)"
[ -z "$other" ] || oc_die "onecount is already running from $DATA (ops/run.sh, pid $other); stop it first: ops/run.sh stop"

"$OC_ROOT/ops/setup.sh"
oc_say "building (build/)"
oc_build "$OC_ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DONECOUNT_SANITIZE=OFF
BIN="$OC_ROOT/build/onecount"

mkdir -p "$DATA/logs"
DATA="$(cd "$DATA" && pwd)"
RUN_PID="$DATA/run.pid"
echo $$ > "$RUN_PID"

pids=()
declare -A names=() # pid → serve, worker, sim, demo-scenario
own_services=0
stop_all() {
  trap - INT TERM EXIT
  oc_say ""
  oc_say "stopping onecount"
  local alive=()
  for pid in "${pids[@]}"; do
    # (after Ctrl-C, the terminal's SIGINT reached them too and they may be gone already)
    if is_running "$pid"; then alive+=("$pid"); else oc_say "stopped ${names[$pid]} (pid $pid)"; fi
  done
  [ "${#alive[@]}" = 0 ] || stop_pids "${alive[@]}"
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$own_services" = 1 ]; then "$OC_ROOT/ops/services.sh" stop --dir "$DATA" || true; fi
  rm -f "$RUN_PID"
  oc_say "everything this command started is stopped; the data stays in $DATA (delete it to start from nothing)"
}
trap stop_all INT TERM EXIT

if [ -z "${ONECOUNT_DATABASE_URL:-}" ] || [ -z "${ONECOUNT_REDIS_URL:-}" ]; then
  own_services=1
  # A new cluster (data/ deleted, or its files kept outside it and removed at the last stop)
  # has no demo portfolio: the demo state is made again.
  if [ ! -f "$DATA/pg/PG_VERSION" ] && [ -f "$DATA/demo.json" ]; then rm -f "$DATA/demo.json"; fi
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
# serve's Prometheus listener (loopback): the default port, or a free one.
METRICS="${ONECOUNT_METRICS_LISTEN:-127.0.0.1:9464}"
if [ "$METRICS" != off ] && oc_port_in_use "${METRICS##*:}"; then
  METRICS="${METRICS%:*}:$(oc_free_port)"
fi
export ONECOUNT_METRICS_LISTEN="$METRICS"

oc_say "migrating"
"$BIN" migrate >"$DATA/logs/migrate.log" 2>&1 || { cat "$DATA/logs/migrate.log" >&2; oc_die "migrate failed"; }

# The credential vault's key-encryption key: made once, readable by its owner only.
if [ -z "${ONECOUNT_MASTER_KEY:-}" ] && [ ! -s "$ONECOUNT_MASTER_KEY_FILE" ]; then
  oc_say "creating the vault key ($ONECOUNT_MASTER_KEY_FILE)"
  "$BIN" admin keygen >/dev/null || oc_die "keygen failed"
fi

mkdir -p "$DATA/run"

sim_url=""
if [ "$demo" = 1 ]; then
  rm -f "$DATA/run/sim.port"
  ONECOUNT_LISTEN=127.0.0.1:0 ONECOUNT_PORT_FILE="$DATA/run/sim.port" "$BIN" sim >>"$DATA/logs/sim.log" 2>&1 &
  pids+=($!); names[$!]=sim
  sim_port="$(oc_wait_port "$DATA/run/sim.port" "$!" "$DATA/logs/sim.log")" || oc_die "the simulators did not start"
  sim_url="http://127.0.0.1:$sim_port"
fi

rm -f "$DATA/run/serve.port"
ONECOUNT_PORT_FILE="$DATA/run/serve.port" "$BIN" serve >>"$DATA/logs/serve.log" 2>&1 &
serve_pid=$!
pids+=($serve_pid); names[$serve_pid]=serve
rm -f "$DATA/run/worker.port"
ONECOUNT_WORKER_PORT_FILE="$DATA/run/worker.port" "$BIN" worker >>"$DATA/logs/worker.log" 2>&1 &
worker_pid=$!
pids+=($worker_pid); names[$worker_pid]=worker

url="http://${LISTEN%:*}:${LISTEN##*:}"
for _ in $(seq 1 200); do
  curl -fsS "$url/readyz" >/dev/null 2>&1 && break
  kill -0 "$serve_pid" 2>/dev/null || { tail -n 20 "$DATA/logs/serve.log" >&2; oc_die "onecount serve exited"; }
  sleep 0.1
done
curl -fsS "$url/readyz" >/dev/null 2>&1 || oc_die "onecount is not ready (see $DATA/logs/serve.log)"
worker_port="$(oc_wait_port "$DATA/run/worker.port" "$worker_pid" "$DATA/logs/worker.log")" || oc_die "the worker did not start"
worker_host="${ONECOUNT_WORKER_LISTEN:-127.0.0.1:0}"; worker_host="${worker_host%:*}"

signin="(your own: onecount admin create-portfolio / create-user)"
if [ "$demo" = 1 ]; then
  oc_say "wiring the demo portfolio to the simulators"
  "$BIN" demo --api "$url" --sim "$sim_url" --state "$DATA/demo.json" >"$DATA/logs/demo.log" 2>&1 \
    || { cat "$DATA/logs/demo.log" >&2; oc_die "the demo portfolio could not be set up"; }
  signin="$(tail -n 1 "$DATA/logs/demo.log" | sed -n 's/^demo portfolio ready: sign in as \(.*\) with password \(.*\)$/\1  password \2/p')"
  # The first minutes of a bad week (an oversell, an outage, an unmapped line, a stuck listing, low stock),
  # so the exception queue has work to show; it exits when done.
  "$BIN" demo --api "$url" --sim "$sim_url" --state "$DATA/demo.json" --scenario >"$DATA/logs/demo-scenario.log" 2>&1 &
  pids+=($!); names[$!]=demo-scenario
fi

cat <<EOM

  onecount is running

    console and API   $url/
    sign in           $signin
    simulators        ${sim_url:-off}
    readiness         $url/readyz
    metrics           $( [ "$METRICS" = off ] && echo off || echo "http://$METRICS/metrics  (serve's own listener)")
    worker            http://$worker_host:$worker_port/readyz  (and /metrics)
    demo              $( [ "$demo" = 1 ] && echo "problems appear over the next minutes (logs/demo-scenario.log)" || echo off)
    data              $DATA  (PostgreSQL, Redis, keys, demo.json)
    logs              $DATA/logs/  (serve.log, worker.log, sim.log, postgresql.log, redis.log)

  Press Ctrl-C to stop everything this command started.

EOM
wait "$serve_pid"
