#!/usr/bin/env bash
# ops/bench/idle.sh — what the demo stack costs when nothing is due.
#
#   ops/bench/idle.sh [--seconds 60] [--settle 300] [--selling] [--no-build]
#
# Starts the stack ops/run.sh starts (a private PostgreSQL and Redis from
# ops/services.sh, `onecount sim`, `serve`, `worker`, then `onecount demo`:
# three brands, each connected to a simulated Shopify, Amazon and Walmart
# account), all on loopback in a fresh folder that is removed at the end.
# The demo starts each simulator account's order generator; this script
# stops them once the demo is wired (--selling keeps them: four units an hour
# per SKU and account, so a few pushes a minute), so "nothing is due" is true
# apart from the scheduled routines (order polls every 60 s on Amazon and
# Walmart, 300 s on Shopify; returns every 900 s; read-backs every 600 s).
#
# It waits for the first sync to settle (no listing behind, no lease held,
# the same for 10 s in a row; at most --settle seconds), then measures for
# --seconds: the CPU of the worker, of every PostgreSQL process (postmaster
# and all its children, from /proc/<pid>/stat), of serve and of the
# simulators, and transactions per second of the onecount database
# (pg_stat_database xact_commit + xact_rollback).  Then it stops the worker
# and measures the same again: the baseline, PostgreSQL's and serve's own
# idle cost.  Stops by itself.  OC_BENCH_PROFILE=1 also loads
# pg_stat_statements and prints the statements run in the first window.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

SECS=60; SETTLE=300; SELLING=0; BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECS="$2"; shift 2 ;;
    --settle) SETTLE="$2"; shift 2 ;;
    --selling) SELLING=1; shift ;;
    --no-build) BUILD=0; shift ;;
    *) oc_die "usage: ops/bench/idle.sh [--seconds N] [--settle N] [--selling] [--no-build]" ;;
  esac
done
[ "$SECS" -ge 5 ] 2>/dev/null || oc_die "--seconds must be 5 or more"
[ "$BUILD" = 1 ] && oc_build "$OC_ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DONECOUNT_SANITIZE=OFF
BIN="$OC_ROOT/build/onecount"
command -v node >/dev/null || oc_die "node is needed (ops/setup.sh --test)"

DIR="$(mktemp -d "${TMPDIR:-/tmp}/oc-bench-idle-XXXXXX")"
chmod 755 "$DIR" # PostgreSQL runs as its own user when this runs as root
mkdir -p "$DIR/logs" "$DIR/run"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  "$OC_ROOT/ops/services.sh" stop --dir "$DIR" >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "${OC_BENCH_PROFILE:-0}" = 1 ] && export OC_PG_CONF_EXTRA="shared_preload_libraries = 'pg_stat_statements'\npg_stat_statements.track = all"
oc_say "starting PostgreSQL and Redis (ops/services.sh, under $DIR)"
"$OC_ROOT/ops/services.sh" start --dir "$DIR" >/dev/null 2>"$DIR/logs/services.err" \
  || { cat "$DIR/logs/services.err" >&2; oc_die "services did not start"; }
# shellcheck disable=SC1091
. "$DIR/services.env"
export ONECOUNT_DATA_DIR="$DIR" ONECOUNT_WEB_DIR="$OC_ROOT/web" ONECOUNT_MIGRATIONS_DIR="$OC_ROOT/migrations"
export ONECOUNT_MASTER_KEY_FILE="$DIR/master.key"
SU() { psql -X -q -v ON_ERROR_STOP=1 "$OC_PG_SUPERUSER_URL" "$@"; }
SUDB() { psql -X -q -v ON_ERROR_STOP=1 "postgresql://postgres@/onecount?host=$DIR/run&port=$OC_PG_PORT" "$@"; }
"$BIN" migrate >"$DIR/logs/migrate.log" 2>&1 || { cat "$DIR/logs/migrate.log" >&2; oc_die "migrate failed"; }
"$BIN" admin keygen >/dev/null || oc_die "keygen failed"

ONECOUNT_LISTEN=127.0.0.1:0 ONECOUNT_PORT_FILE="$DIR/run/sim.port" "$BIN" sim >>"$DIR/logs/sim.log" 2>&1 &
SIM_PID=$!; pids+=($SIM_PID)
SIM_URL="http://127.0.0.1:$(oc_wait_port "$DIR/run/sim.port" "$SIM_PID" "$DIR/logs/sim.log")" || oc_die "sim did not start"
ONECOUNT_LISTEN=127.0.0.1:0 ONECOUNT_PORT_FILE="$DIR/run/serve.port" "$BIN" serve >>"$DIR/logs/serve.log" 2>&1 &
SERVE_PID=$!; pids+=($SERVE_PID)
URL="http://127.0.0.1:$(oc_wait_port "$DIR/run/serve.port" "$SERVE_PID" "$DIR/logs/serve.log")" || oc_die "serve did not start"
"$BIN" worker >>"$DIR/logs/worker.log" 2>&1 &
WORKER_PID=$!; pids+=($WORKER_PID)
for _ in $(seq 1 200); do curl -fsS "$URL/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

oc_say "wiring the demo portfolio (onecount demo)"
"$BIN" demo --api "$URL" --sim "$SIM_URL" --state "$DIR/demo.json" >"$DIR/logs/demo.log" 2>&1 \
  || { cat "$DIR/logs/demo.log" >&2; oc_die "demo failed"; }
if [ "$SELLING" = 0 ]; then
  SIM_URL="$SIM_URL" node -e '
    const base = process.env.SIM_URL;
    const { accounts } = await (await fetch(`${base}/_sim/accounts`)).json();
    for (const a of accounts) {
      const r = await fetch(`${base}/_sim/accounts/${a.id}/generator/stop`, { method: "POST" });
      if (!r.ok) throw new Error(`generator stop ${a.id}: ${r.status}`);
    }
    console.error(`stopped the order generators of ${accounts.length} simulator accounts`);
  ' --input-type=module
fi

# --- settling ------------------------------------------------------------------------------
state() {
  SUDB -At -c "SELECT (SELECT count(*) FROM listings WHERE state = 'active' AND desired_version > pushed_version)
    || ' ' || (SELECT count(*) FROM listings WHERE lease_until > now())
    || ' ' || (SELECT count(*) FROM routines WHERE lease_until > now())
    || ' ' || (SELECT count(*) FROM listings WHERE state = 'active' AND pushed_version = 0)"
}
oc_say "waiting for the first sync to settle (at most ${SETTLE}s)"
start=$(date +%s); same=0; last=""
while :; do
  s="$(state)"
  read -r behind leased rleased never <<< "$s"
  if [ "$leased" = 0 ] && [ "$rleased" = 0 ] && [ "$never" = 0 ] && [ "$s" = "$last" ]; then same=$((same + 1)); else same=0; fi
  last="$s"
  [ "$same" -ge 10 ] && break
  [ $(( $(date +%s) - start )) -ge "$SETTLE" ] && { oc_say "not settled after ${SETTLE}s: $s"; break; }
  sleep 1
done
settled=$(( $(date +%s) - start ))
read -r behind leased rleased never <<< "$(state)"
LISTINGS="$(SUDB -At -c "SELECT count(*) FROM listings WHERE state = 'active'")"

# --- measuring -------------------------------------------------------------------------------
TICK="$(getconf CLK_TCK)"
PG_PM="$(head -n 1 "$DIR/pg/postmaster.pid")"
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_ticks() {
  local t c; t="$(ticks "$PG_PM")"
  for c in $(ps -o pid= --ppid "$PG_PM"); do t=$((t + $(ticks "$c"))); done
  echo "$t"
}
xacts() { SU -At -c "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'onecount'"; }
# snapshot: wall-ns worker postgres serve sim transactions
snap() { echo "$(date +%s%N) $(ticks "$1") $(pg_ticks) $(ticks "$SERVE_PID") $(ticks "$SIM_PID") $(xacts)"; }
measure() { # worker-pid-or-0 → "worker% postgres% serve% sim% tx/s"
  local a b
  a="$(snap "$1")"; sleep "$SECS"; b="$(snap "$1")"
  read -r w0 k0 p0 s0 m0 x0 <<< "$a"; read -r w1 k1 p1 s1 m1 x1 <<< "$b"
  awk -v w="$(( w1 - w0 ))" -v t="$TICK" -v k="$(( k1 - k0 ))" -v p="$(( p1 - p0 ))" -v s="$(( s1 - s0 ))" \
      -v m="$(( m1 - m0 ))" -v x="$(( x1 - x0 ))" 'BEGIN {
    sec = w / 1e9; f = 100 / (t * sec)
    printf "%.1f %.1f %.1f %.1f %.1f\n", k * f, p * f, s * f, m * f, x / sec }'
}
oc_say "measuring ${SECS}s with the worker running"
PROFILE=1; [ "${OC_BENCH_PROFILE:-0}" = 1 ] || PROFILE=0
[ "$PROFILE" = 1 ] && SUDB -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" -c "SELECT pg_stat_statements_reset()" >/dev/null
read -r A_W A_P A_S A_M A_X <<< "$(measure "$WORKER_PID")"
[ "$PROFILE" = 1 ] && SUDB -At -F ' | ' -c "SELECT calls, round(total_exec_time)::text || ' ms',
    left(regexp_replace(query, '\s+', ' ', 'g'), 110) FROM pg_stat_statements WHERE toplevel
    ORDER BY calls DESC LIMIT 8" > "$DIR/profile.txt"
kill -TERM "$WORKER_PID"; wait "$WORKER_PID" 2>/dev/null || true
sleep 3
oc_say "measuring ${SECS}s with the worker stopped (baseline)"
read -r B_W B_P B_S B_M B_X <<< "$(measure 0)"

MODE="generators stopped"; [ "$SELLING" = 1 ] && MODE="generators selling (4 units/hour per SKU and account)"
cat <<EOR

machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(free -g | awk '/Mem:/ {print $2}') GiB
demo: 3 brands, 9 connections, $LISTINGS active listings; $MODE
settled after ${settled}s: $behind listing(s) behind, $leased leased, $never never pushed
window: ${SECS}s each; CPU in % of one core (utime + stime from /proc/<pid>/stat)

                                  worker   postgres (all)   serve    sim    transactions/s
with the worker running       $(printf '%8s %12s %11s %7s %12s' "$A_W" "$A_P" "$A_S" "$A_M" "$A_X")
baseline: worker stopped      $(printf '%8s %12s %11s %7s %12s' "-" "$B_P" "$B_S" "$B_M" "$B_X")
the worker's share            $(awk -v a="$A_W" -v p="$A_P" -v bp="$B_P" -v x="$A_X" -v bx="$B_X" 'BEGIN {
  printf "%8.1f %12.1f %11s %7s %12.1f   (worker + its PostgreSQL: %.1f %% of a core)", a, p - bp, "", "", x - bx, a + p - bp }')
EOR
if [ "$PROFILE" = 1 ]; then
  echo; echo "statements sent in the first window (pg_stat_statements, top level, by calls):"
  sed 's/^/  /' "$DIR/profile.txt"
fi
