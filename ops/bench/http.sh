#!/usr/bin/env bash
# ops/bench/http.sh — HTTP throughput and latency of `onecount serve`, beside
# a minimal h2o server (same library, same threads) measured in the same run.
#
#   ops/bench/http.sh [seconds=10] [connections=64]
#
# Routes: /healthz (no I/O) and /readyz (one PostgreSQL round trip and one
# Redis round trip, concurrently).  Baselines: bench_hello (constant JSON from
# h2o) and pgbench running `SELECT 1` with the same number of clients (the
# database's own ceiling for a trivial round trip).  Loopback only; stops by
# itself.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
SECS="${1:-10}"; CONNS="${2:-64}"
command -v wrk >/dev/null || oc_die "wrk not installed (apt-get install wrk)"
oc_build "$OC_ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DONECOUNT_SANITIZE=OFF
DIR="$OC_ROOT/build/bench-http"
"$OC_ROOT/ops/services.sh" start --dir "$DIR" >/dev/null 2>&1
. "$DIR/services.env"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; "$OC_ROOT/ops/services.sh" stop --dir "$DIR"; }
trap cleanup EXIT
ONECOUNT_MIGRATIONS_DIR="$OC_ROOT/migrations" "$OC_ROOT/build/onecount" migrate >/dev/null

OCPORT="$(oc_free_port)"; HPORT="$(oc_free_port)"
ONECOUNT_LISTEN="127.0.0.1:$OCPORT" ONECOUNT_METRICS_LISTEN=off ONECOUNT_THREADS=2 ONECOUNT_LOG_LEVEL=warn ONECOUNT_WEB_DIR="$OC_ROOT/web" \
  ONECOUNT_MIGRATIONS_DIR="$OC_ROOT/migrations" "$OC_ROOT/build/onecount" serve 2>"$DIR/serve.log" & pids+=($!)
"$OC_ROOT/build/bench_hello" "$HPORT" 2 & pids+=($!)
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$OCPORT/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

run_wrk() { # name url
  local out rps p50 p99
  out="$(wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "$2")"
  rps="$(awk '/Requests\/sec/ {print $2}' <<< "$out")"
  p50="$(awk '$1=="50%" {print $2}' <<< "$out")"
  p99="$(awk '$1=="99%" {print $2}' <<< "$out")"
  printf '%-34s %12s req/s   p50 %-8s p99 %-8s\n' "$1" "$rps" "$p50" "$p99"
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; wrk -t2 -c$CONNS -d${SECS}s; server threads 2"
run_wrk "baseline: h2o hello (bench_hello)" "http://127.0.0.1:$HPORT/"
run_wrk "onecount GET /healthz" "http://127.0.0.1:$OCPORT/healthz"
run_wrk "onecount GET /readyz (PG+Redis)" "http://127.0.0.1:$OCPORT/readyz"
printf 'SELECT 1;\n' > "$DIR/select1.sql"
tps="$(pgbench -n -f "$DIR/select1.sql" -c "$CONNS" -j 2 -T "$SECS" "$ONECOUNT_DATABASE_URL" 2>/dev/null | awk '/^tps/ {print $3}')"
printf '%-34s %12s tx/s\n' "baseline: pgbench SELECT 1 -c$CONNS" "$tps"
