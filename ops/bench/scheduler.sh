#!/usr/bin/env bash
# ops/bench/scheduler.sh — the scheduler at 10,000 brands × 10 steps: how fast
# `onecount worker` claims due routines, how late each run starts after its
# due time (goal: p99 < 1 s), and what the worker costs when nothing is due;
# beside the same claim SQL run by pgbench without the worker.
#
#   ops/bench/scheduler.sh [--brands 10000] [--portfolios 4] [--burst-steps 1] [--spread 30]
#                          [--spread-runs 3000] [--idle-seconds 60] [--timeout 240] [--no-build]
#
# Loopback only: a private PostgreSQL (fsync on) and Redis from
# ops/services.sh in a fresh folder that is removed at the end (trap).
#
# Set-up (bulk SQL as the superuser, timed): --portfolios portfolios, each
# with one SOP version of 10 steps that are SQL alone (no channel needed):
# velocity, low_stock ×2, unlisted_skus, bundle_components and 5 checklist
# steps, interval and cron cadences; then --brands brands in one INSERT: the
# brand_routines trigger runs sop_apply for each, making its 10 routines.
# Brands have no SKUs, so each action is the scheduler's cost, not the
# action's.  Every routine is then parked a day ahead.
#
# Runs (routine_runs emptied and every routine parked before each):
#   burst       --burst-steps steps of every brand fall due at one instant
#               (default 1: 10,000 runs, a daily cron step at 07:00 in one
#               time zone), workers already idle; with 1 and then 2 workers.
#   spread      --spread-runs routines (one per brand) due at instants spread
#               evenly over --spread seconds (a steady rate below capacity);
#               with 1 worker.
#   baseline    no worker: pgbench, 2 and 8 clients, one transaction per
#               brand doing what the worker does for it with the same SQL —
#               routines_claim (as onecount_app, app.tenant_id set), then per
#               leased run its action (sop_action / velocity_refresh) and
#               routine_finish — over the burst's due routines.
#               The worker's own periodic jobs are held back during these.
#   idle        nothing due: one worker for --idle-seconds, then the same
#               window without it: CPU of the worker and of PostgreSQL (all
#               its processes, /proc/<pid>/stat) and transactions/s of the
#               database (pg_stat_database), and the worker's scans
#               (onecount_worker_scans_total from its /metrics); its periodic
#               jobs run as always (the window starts after the first prune).
# From routine_runs: runs started per second (runs / (last start − due
# instant) for a burst) and the delay started_at − due_at, p50/p90/p99/max.
# Stops by itself (about 5.5 minutes with the defaults); a run whose runs do
# not all start within --timeout seconds is reported as such.  The worker
# reads its settings from the environment as always (e.g.
# ONECOUNT_WORKER_SCAN_MS=250).  OC_BENCH_PROFILE=1 also loads
# pg_stat_statements and prints the statements of the first burst.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

BRANDS=10000; PORTFOLIOS=4; BURST_STEPS=1; SPREAD=30; SPREAD_RUNS=3000; IDLE=60; TIMEOUT=240; BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --brands) BRANDS="$2"; shift 2 ;;
    --portfolios) PORTFOLIOS="$2"; shift 2 ;;
    --burst-steps) BURST_STEPS="$2"; shift 2 ;;
    --spread) SPREAD="$2"; shift 2 ;;
    --spread-runs) SPREAD_RUNS="$2"; shift 2 ;;
    --idle-seconds) IDLE="$2"; shift 2 ;;
    --timeout) TIMEOUT="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    *) oc_die "usage: ops/bench/scheduler.sh [--brands N] [--portfolios N] [--burst-steps 1-10] [--spread S] [--spread-runs N] [--idle-seconds S] [--timeout S] [--no-build]" ;;
  esac
done
# within NAME VALUE LOW HIGH: VALUE is a whole number in [LOW, HIGH], or the script stops.
within() { [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ] || oc_die "$1 must be a whole number from $3 to $4"; }
within --brands "$BRANDS" 10 1000000
within --portfolios "$PORTFOLIOS" 1 "$BRANDS"
within --burst-steps "$BURST_STEPS" 1 10
within --spread "$SPREAD" 1 3600
within --spread-runs "$SPREAD_RUNS" 1 "$BRANDS"
within --idle-seconds "$IDLE" 5 3600
within --timeout "$TIMEOUT" 10 3600
for t in pgbench psql curl; do command -v "$t" >/dev/null || oc_die "$t not installed (ops/setup.sh)"; done
[ "$BUILD" = 1 ] && oc_build "$OC_ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DONECOUNT_SANITIZE=OFF
BIN="$OC_ROOT/build/onecount"

LOAD0="$(cut -d' ' -f1-3 /proc/loadavg)"
DIR="$(mktemp -d "${TMPDIR:-/tmp}/oc-bench-sched-XXXXXX")"
chmod 755 "$DIR" # PostgreSQL runs as its own user when this runs as root
mkdir -p "$DIR/logs" "$DIR/app"
WORKERS=()
stop_workers() {
  local p
  for p in "${WORKERS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${WORKERS[@]}"; do wait "$p" 2>/dev/null || true; done
  WORKERS=()
}
cleanup() {
  stop_workers
  "$OC_ROOT/ops/services.sh" stop --dir "$DIR" >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PROFILE="${OC_BENCH_PROFILE:-0}"
[ "$PROFILE" = 1 ] && export OC_PG_CONF_EXTRA="shared_preload_libraries = 'pg_stat_statements'\npg_stat_statements.track = all"
oc_say "starting PostgreSQL and Redis (ops/services.sh, under $DIR)"
"$OC_ROOT/ops/services.sh" start --dir "$DIR" >/dev/null 2>"$DIR/logs/services.err" \
  || { cat "$DIR/logs/services.err" >&2; oc_die "services did not start"; }
# shellcheck disable=SC1091
. "$DIR/services.env"
export ONECOUNT_DATA_DIR="$DIR/app" ONECOUNT_MIGRATIONS_DIR="$OC_ROOT/migrations" ONECOUNT_LOG_LEVEL=warn
export ONECOUNT_MASTER_KEY_FILE="$DIR/app/master.key"
SUDB() { PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 "postgresql://postgres@/onecount?host=$DIR/run&port=$OC_PG_PORT" "$@"; }
"$BIN" migrate >"$DIR/logs/migrate.log" 2>&1 || { cat "$DIR/logs/migrate.log" >&2; oc_die "migrate failed"; }
"$BIN" admin keygen >/dev/null || oc_die "keygen failed"

# --- set-up ----------------------------------------------------------------------------------
# The SOP: 10 steps, SQL alone; interval steps start a day out, cron steps are daily or weekly,
# so a claimed routine's next run is hours away and nothing falls due again during a run.
SOP='{"title": "scheduler benchmark", "steps": [
  {"key": "unlisted_skus", "title": "Find unlisted SKUs", "action": "unlisted_skus", "cron": "0 7 * * *"},
  {"key": "velocity", "title": "Measure sales velocity", "action": "velocity", "every_s": 3600, "start_after_s": 86400},
  {"key": "bundle_components", "title": "Find unlisted bundle components", "action": "bundle_components", "cron": "5 7 * * *"},
  {"key": "low_stock", "title": "Find SKUs with less than a week of cover", "action": "low_stock", "cron": "10 7 * * *",
   "params": {"days_of_cover": 7}},
  {"key": "low_units", "title": "Find SKUs with 5 units or fewer", "action": "low_stock", "every_s": 21600,
   "start_after_s": 86400, "params": {"units": 5}},
  {"key": "map_new_skus", "title": "Map new SKUs", "action": "checklist", "cron": "0 9 * * 1",
   "checklist": {"role": "operator", "due_after_s": 86400, "done_when": "every SKU is listed"}},
  {"key": "review_oversells", "title": "Review oversells", "action": "checklist", "cron": "30 9 * * 1-5",
   "checklist": {"role": "operator", "due_after_s": 14400, "done_when": "every oversell has a resolution"}},
  {"key": "returns_restocked", "title": "Check returns were restocked", "action": "checklist", "cron": "0 10 * * 5",
   "checklist": {"role": "operator", "due_after_s": 86400, "done_when": "every return is restocked"}},
  {"key": "cycle_count", "title": "Count one shelf", "action": "checklist", "every_s": 86400, "start_after_s": 86400,
   "checklist": {"role": "operator", "due_after_s": 28800, "done_when": "the shelf is counted"}},
  {"key": "month_close", "title": "Close the month", "action": "checklist", "cron": "0 8 1 * *",
   "checklist": {"role": "portfolio_admin", "due_after_s": 259200, "done_when": "the month is closed"}}
]}'
oc_say "set-up: $PORTFOLIOS portfolios, $BRANDS brands (the brand_routines trigger runs sop_apply for each)"
PROBLEMS="$(SUDB -At -v sop="$SOP" <<< "SELECT sop_check(:'sop'::jsonb, false, NULL, NULL, NULL)")"
[ "$PROBLEMS" = "[]" ] || oc_die "the benchmark's SOP is not sound: $PROBLEMS"
SUDB -v sop="$SOP" -v np="$PORTFOLIOS" <<'EOS' >/dev/null
INSERT INTO portfolios (name) SELECT 'bench portfolio ' || g FROM generate_series(1, :np) g;
INSERT INTO sop_versions (portfolio_id, brand_id, version, document, reason)
SELECT id, NULL, 1, :'sop'::jsonb, 'scheduler benchmark' FROM portfolios;
CREATE TABLE bench_portfolios AS SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM portfolios;
CREATE TABLE bench_steps AS SELECT k, x ->> 'key' AS key FROM jsonb_array_elements(:'sop'::jsonb -> 'steps') WITH ORDINALITY s (x, k);
EOS
t0=$(date +%s%N)
SUDB <<< "INSERT INTO brands (portfolio_id, name) SELECT p.id, 'bench brand ' || g FROM generate_series(1, $BRANDS) g
  JOIN bench_portfolios p ON p.n = g % $PORTFOLIOS" >/dev/null
SETUP_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
read -r NROUT MINR MAXR <<< "$(SUDB -At -F ' ' -c "SELECT sum(n), min(n), max(n) FROM (SELECT b.id, count(r.id) AS n
    FROM brands b LEFT JOIN routines r ON r.tenant_id = b.id AND r.in_sop GROUP BY b.id) x")"
{ [ "$MINR" = 10 ] && [ "$MAXR" = 10 ]; } || oc_die "expected 10 routines per brand, found $MINR .. $MAXR"
SUDB <<'EOS' >/dev/null
UPDATE routines SET next_run_at = now() + interval '1 day';
CREATE TABLE bench_brands (n int PRIMARY KEY, id uuid NOT NULL);
INSERT INTO bench_brands SELECT row_number() OVER (ORDER BY id), id FROM brands;
CREATE SEQUENCE bench_seq;
GRANT SELECT ON bench_brands TO onecount_app;
GRANT USAGE, UPDATE ON SEQUENCE bench_seq TO onecount_app;
-- What the worker does for one brand, in one transaction: claim (8 at a time, as the worker
-- does), then each leased run's action and its end.  Answers the runs it claimed.
CREATE FUNCTION bench_brand() RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    k bigint := nextval('bench_seq');
    b uuid := (SELECT id FROM bench_brands WHERE n = k);
    got jsonb;
    r jsonb;
    total int := 0;
BEGIN
    IF b IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM set_config('app.tenant_id', b::text, true);
    LOOP
        got := routines_claim(b, 'pgbench', 8, 30);
        EXIT WHEN jsonb_array_length(got) = 0;
        total := total + jsonb_array_length(got);
        FOR r IN SELECT * FROM jsonb_array_elements(got) LOOP
            IF r ->> 'kind' = 'velocity' THEN
                PERFORM velocity_refresh(b), listings_refresh_brand(b);
            ELSE
                PERFORM sop_action(b, r ->> 'kind', NULL, r -> 'params');
            END IF;
            PERFORM routine_finish(b, (r ->> 'id')::uuid, 'pgbench', 'ok', '{}', NULL, (r ->> 'run_id')::uuid);
        END LOOP;
    END LOOP;
    RETURN total;
END $$;
GRANT EXECUTE ON FUNCTION bench_brand() TO onecount_app;
VACUUM ANALYZE;
EOS

# --- helpers -----------------------------------------------------------------------------------
TICK="$(getconf CLK_TCK)"
PG_PM="$(head -n 1 "$DIR/pg/postmaster.pid")"
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_ticks() { # the postmaster, its children, and the children it has reaped (pgbench's backends)
  local t c; t="$(awk '{print $14 + $15 + $16 + $17}' "/proc/$PG_PM/stat")"
  for c in $(ps -o pid= --ppid "$PG_PM"); do t=$((t + $(ticks "$c"))); done
  echo "$t"
}
busy_ticks() { awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; } # every process, all cores
xacts() { SUDB -At -c "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'onecount'"; }
workers_ticks() { local t=0 p; for p in "${WORKERS[@]}"; do t=$((t + $(ticks "$p"))); done; echo "$t"; }
scans() { # the workers' scan transactions so far (their /metrics)
  local s=0 f v
  for f in "$DIR"/app/worker-*.port; do
    v="$(curl -fsS "http://127.0.0.1:$(cat "$f")/metrics" 2>/dev/null \
      | awk '$1 == "onecount_worker_scans_total" {print $2}')"
    s=$(( s + ${v:-0} ))
  done
  echo "$s"
}

# Empties routine_runs and checklist items, parks every routine a day ahead, clears leases; the
# worker's own periodic jobs (stuck alerts, pruning: worker_jobs) are parked too, so that a run's
# figures are the routines' alone and every run starts alike.
reset() {
  SUDB <<'EOS' >/dev/null
UPDATE worker_jobs SET next_run_at = now() + interval '1 day', last_started_at = now(), lease_owner = NULL,
       lease_until = NULL;
TRUNCATE routine_runs, checklist_items;
DELETE FROM alerts;
UPDATE routines SET next_run_at = now() + interval '1 day', lease_owner = NULL, lease_until = NULL
 WHERE next_run_at < now() + interval '1 hour' OR lease_owner IS NOT NULL;
VACUUM ANALYZE routines, routine_runs, checklist_items;
EOS
}

start_workers() { # n
  local i port
  rm -f "$DIR"/app/worker-*.port
  for i in $(seq 1 "$1"); do
    ONECOUNT_WORKER_PORT_FILE="$DIR/app/worker-$i.port" "$BIN" worker >>"$DIR/logs/worker-$i.log" 2>&1 &
    WORKERS+=($!)
  done
  for i in $(seq 1 "$1"); do
    port="$(oc_wait_port "$DIR/app/worker-$i.port" "${WORKERS[$((i - 1))]}" "$DIR/logs/worker-$i.log")" \
      || oc_die "worker $i did not start"
    for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  done
  sleep 3 # past the first scans: the workers are idle when the runs fall due
}

# Makes routines due: $1 = SQL choosing them (over routines r joined with bench_brands b and
# the step's position k in 1..10), $2 = SQL for the due instant (may use b.n); answers the count.
make_due() {
  SUDB -At -c "WITH s AS (SELECT r.tenant_id, r.id, $2 AS at FROM routines r JOIN bench_brands b ON b.id = r.tenant_id
      JOIN bench_steps st ON st.key = r.step_key WHERE $1)
    , u AS (UPDATE routines r SET next_run_at = s.at FROM s WHERE r.tenant_id = s.tenant_id AND r.id = s.id RETURNING 1)
    SELECT count(*) FROM u"
}

# Waits until $1 runs have started and none is still running (at most TIMEOUT s from the due instant).
wait_runs() { # expected due-epoch
  local n running
  while :; do
    read -r n running <<< "$(SUDB -At -F ' ' -c "SELECT count(*), count(*) FILTER (WHERE status = 'running') FROM routine_runs")"
    [ "$n" -ge "$1" ] && [ "$running" = 0 ] && return 0
    [ "$(date +%s)" -ge $(( $2 + TIMEOUT )) ] && { oc_say "  timeout: $n of $1 runs started"; return 1; }
    sleep 0.5
  done
}

# The figures of the runs recorded: "runs started/s p50 p90 p99 max" (delays in ms).  $1: the
# instant throughput counts from ('due': the earliest due time; 'first': the first start).
figures() {
  SUDB -At -F ' ' -c "SELECT count(*),
      round(CASE WHEN count(*) < 2 THEN 0 ELSE (count(*) - CASE WHEN '$1' = 'first' THEN 1 ELSE 0 END)
            / nullif(extract(epoch FROM max(started_at) - CASE WHEN '$1' = 'first' THEN min(started_at)
                                                               ELSE min(due_at) END), 0) END),
      round(1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - due_at))),
      round(1000 * percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - due_at))),
      round(1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - due_at))),
      round(1000 * max(extract(epoch FROM started_at - due_at)))
    FROM routine_runs"
}

RESULTS=()
# run_workers label nworkers choose-sql at-sql throughput-from
run_workers() {
  local label="$1" nw="$2" want due w0 p0 x0 w1 p1 x1 t0 t1 a0 a1 ok=1
  reset
  start_workers "$nw"
  due=$(( $(date +%s) + 3 ))
  want="$(make_due "$3" "${4//@DUE@/$due}")"
  oc_say "$label: $want runs due from $(date -u -d "@$due" +%T), $nw worker(s)"
  while [ "$(date +%s)" -lt "$due" ]; do sleep 0.05; done
  t0=$(date +%s%N); w0="$(workers_ticks)"; p0="$(pg_ticks)"; x0="$(xacts)"; a0="$(busy_ticks)"
  wait_runs "$want" "$due" || ok=0
  t1=$(date +%s%N); w1="$(workers_ticks)"; p1="$(pg_ticks)"; x1="$(xacts)"; a1="$(busy_ticks)"
  stop_workers
  local f cpu
  f="$(figures "$5")"
  cpu="$(awk -v w="$((w1 - w0))" -v p="$((p1 - p0))" -v x="$((x1 - x0))" -v a="$((a1 - a0))" -v s="$((t1 - t0))" \
    -v t="$TICK" 'BEGIN { sec = s / 1e9; f = 100 / t / sec
      printf "%.0f %.0f %.0f %.0f", w * f, p * f, x / sec, (a - w - p) * f }')"
  [ "$ok" = 1 ] || label="$label (TIMEOUT)"
  RESULTS+=("$label|$nw|$want|$f|$cpu")
}

# run_pgbench label clients: the burst's routines due a second ago, pgbench does every brand once.
run_pgbench() {
  local label="$1" c="$2" want t0 t1 p0 p1 a0 a1
  reset
  want="$(make_due "st.k <= $BURST_STEPS" "now() - interval '1 second'")"
  SUDB -c "SELECT setval('bench_seq', 1, false)" >/dev/null
  oc_say "$label: $want runs due, pgbench -c $c, one transaction per brand"
  t0=$(date +%s%N); p0="$(pg_ticks)"; a0="$(busy_ticks)"
  pgbench -n -f <(echo 'SELECT bench_brand();') -c "$c" -j 2 -t $(( (BRANDS + c - 1) / c )) \
    "$ONECOUNT_DATABASE_URL" >"$DIR/logs/pgbench-$c.out" 2>&1 || { cat "$DIR/logs/pgbench-$c.out" >&2; oc_die "pgbench failed"; }
  t1=$(date +%s%N); p1="$(pg_ticks)"; a1="$(busy_ticks)"
  local f n
  f="$(figures first)"
  n="${f%% *}"
  [ "$n" = "$want" ] || oc_say "  pgbench started $n runs of $want"
  RESULTS+=("$label|-|$want|$f|$(awk -v p="$((p1 - p0))" -v a="$((a1 - a0))" -v s="$((t1 - t0))" -v t="$TICK" \
    'BEGIN { f = 100 / t / (s / 1e9); printf "- %.0f - %.0f", p * f, (a - p) * f }')")
}

# --- runs ---------------------------------------------------------------------------------------
BURST="st.k <= $BURST_STEPS"
[ "$PROFILE" = 1 ] && SUDB -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" -c "SELECT pg_stat_statements_reset()" >/dev/null
run_workers "burst, 1 worker" 1 "$BURST" "to_timestamp(@DUE@)" due
[ "$PROFILE" = 1 ] && SUDB -At -F ' | ' -c "SELECT calls, round(total_exec_time)::text || ' ms',
    left(regexp_replace(query, '\s+', ' ', 'g'), 120) FROM pg_stat_statements WHERE toplevel
    AND query NOT LIKE '%pg_stat%' AND query !~* '^(TRUNCATE|DELETE FROM alerts|UPDATE routines SET next_run_at = now|VACUUM|WITH s AS)'
    ORDER BY total_exec_time DESC LIMIT 12" > "$DIR/profile.txt"
run_workers "burst, 2 workers" 2 "$BURST" "to_timestamp(@DUE@)" due
STEP=$(awk -v s="$SPREAD" -v n="$SPREAD_RUNS" 'BEGIN { printf "%.6f", s / n }')
run_workers "spread over ${SPREAD}s, 1 worker" 1 "st.k = 1 AND b.n <= $SPREAD_RUNS" \
  "to_timestamp(@DUE@) + (b.n - 1) * $STEP * interval '1 second'" first
run_pgbench "baseline: pgbench, 2 clients" 2
run_pgbench "baseline: pgbench, 8 clients" 8

# --- idle ---------------------------------------------------------------------------------------
reset
# The worker's periodic jobs are part of its idle cost: they run from its start (stuck alerts every
# 30 s, pruning hourly); the window starts once both have run once (the first prune walks every brand).
SUDB -c "UPDATE worker_jobs SET next_run_at = now(), last_started_at = NULL, last_finished_at = NULL" >/dev/null
start_workers 1
for _ in $(seq 1 "$TIMEOUT"); do
  [ "$(SUDB -At -c "SELECT count(*) FROM worker_jobs WHERE last_finished_at IS NOT NULL AND lease_owner IS NULL")" = 2 ] && break
  sleep 1
done
PRUNE_MS="$(SUDB -At -c "SELECT round(1000 * extract(epoch FROM last_finished_at - last_started_at))
  FROM worker_jobs WHERE kind = 'prune'")"
oc_say "idle: ${IDLE}s with one worker and nothing due, then ${IDLE}s without it"
idle_window() { # → "worker% postgres% tx/s scans/s other%"
  local a b
  a="$(date +%s%N) $(workers_ticks) $(pg_ticks) $(xacts) $(scans) $(busy_ticks)"; sleep "$IDLE"
  b="$(date +%s%N) $(workers_ticks) $(pg_ticks) $(xacts) $(scans) $(busy_ticks)"
  read -r t0 w0 p0 x0 s0 a0 <<< "$a"; read -r t1 w1 p1 x1 s1 a1 <<< "$b"
  awk -v s="$((t1 - t0))" -v w="$((w1 - w0))" -v p="$((p1 - p0))" -v x="$((x1 - x0))" -v n="$((s1 - s0))" \
    -v a="$((a1 - a0))" -v t="$TICK" 'BEGIN { sec = s / 1e9; f = 100 / t / sec
      printf "%.1f %.1f %.1f %.2f %.0f\n", w * f, p * f, x / sec, n / sec, (a - w - p) * f }'
}
read -r IW IP IX IS IO <<< "$(idle_window)"
DUE_LEFT="$(SUDB -At -c "SELECT count(*) FROM routine_runs")"
stop_workers
sleep 2
read -r _ BP BX _ BO <<< "$(idle_window)"

# --- summary ------------------------------------------------------------------------------------
cat <<EOR

machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(free -g | awk '/Mem:/ {print $2}') GiB; load average at the start $LOAD0, at the end $(cut -d' ' -f1-3 /proc/loadavg)
PostgreSQL $(SUDB -At -c "SHOW server_version"), fsync $(SUDB -At -c "SHOW fsync"); worker defaults (scan every ${ONECOUNT_WORKER_SCAN_MS:-1000} ms, 32 runs in flight, 8 connections)
set-up: $BRANDS brands in $PORTFOLIOS portfolios, $NROUT routines (10 per brand) in $(awk -v m="$SETUP_MS" 'BEGIN { printf "%.1f", m / 1000 }') s ($(awk -v m="$SETUP_MS" -v n="$BRANDS" 'BEGIN { printf "%.2f", m / n }') ms per brand: INSERT INTO brands, sop_apply in its trigger)

runs (delay = started_at - due_at from routine_runs; runs/s from the due instant to the last start,
for the spread and pgbench from the first start to the last; CPU in % of one core while it ran;
other%: every other process on the machine, pgbench included — the machine's noise)

$(printf '%-30s %7s %11s %7s %7s %7s %7s %7s %8s %9s %6s %6s\n' "" workers runs "runs/s" "p50 ms" "p90 ms" "p99 ms" "max ms" "worker%" "postgres%" "tx/s" "other%")
$(for r in "${RESULTS[@]}"; do
  IFS='|' read -r label nw want f cpu <<< "$r"
  read -r n rate p50 p90 p99 mx <<< "$f"; read -r wc pc xs oc <<< "$cpu"
  if [ "${label#baseline}" != "$label" ]; then p50=-; p90=-; p99=-; mx=-; fi
  printf '%-30s %7s %11s %7s %7s %7s %7s %7s %8s %9s %6s %6s\n' "$label" "$nw" "$n/$want" "$rate" "$p50" "$p90" "$p99" "$mx" "$wc" "$pc" "$xs" "$oc"
done)

idle, nothing due, ${IDLE}s windows (CPU in % of one core)
                                worker   postgres (all)   transactions/s   scan transactions/s   other%
one worker                    $(printf '%8s %12s %16s %18s %10s' "$IW" "$IP" "$IX" "$IS" "$IO")
baseline: no worker           $(printf '%8s %12s %16s %18s %10s' "-" "$BP" "$BX" "-" "$BO")
the worker's share            $(awk -v w="$IW" -v p="$IP" -v bp="$BP" -v x="$IX" -v bx="$BX" 'BEGIN {
  printf "%8.1f %12.1f %16.1f   (worker + its PostgreSQL: %.1f %% of a core)", w, p - bp, x - bx, w + p - bp }')
runs started while idle: $DUE_LEFT (expected 0); the worker's first prune over every brand (hourly, before the window): ${PRUNE_MS:-?} ms
goal: due -> start p99 < 1 s
EOR
if [ "$PROFILE" = 1 ]; then
  echo; echo "statements of the first burst (pg_stat_statements, top level, by time; the bench's own left out):"
  sed 's/^/  /' "$DIR/profile.txt"
fi
