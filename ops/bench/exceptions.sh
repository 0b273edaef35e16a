#!/usr/bin/env bash
# ops/bench/exceptions.sh — the exception queue and the dashboard at 1,000
# brands and 100,000 open items: how long their API answers take (p50, p99,
# max over --requests requests each, one client, keep-alive off) beside the
# baseline, a plain SELECT count(*) over the same rows (pgbench, per-statement
# latencies); then what one refresh of the queue costs (exceptions_refresh
# over a chunk of 400 brands, as the worker's job runs it): every brand
# refreshed (the baseline: each round before migration 0038), nothing changed
# (every brand skipped), and 40 of the 400 changed.
#
#   ops/bench/exceptions.sh [--brands 1000] [--items 100000] [--skus 20] [--requests 200] [--no-build]
#
# Loopback only: a private PostgreSQL (fsync on) and Redis from
# ops/services.sh in a fresh folder removed at the end (trap), and one
# `onecount serve` on a free loopback port; no worker runs during the timed
# reads (its refresh would close the made-up items, whose conditions are not
# true).  Set-up by bulk SQL as the superuser: one portfolio and an admin,
# --brands brands (each with the default SOP's routines), per brand --skus
# simple SKUs with stock, one Walmart connection listing each SKU, a sale
# movement per SKU, and --items items spread over the brands, kinds and
# severities (a fifth acknowledged) after one refresh of every brand (which
# opens the items the data's real conditions call for and keeps each brand's
# health for the dashboard).  Stops by itself (about 5 minutes).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

BRANDS=1000; ITEMS=100000; SKUS=20; REQUESTS=200; BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --brands) BRANDS="$2"; shift 2 ;;
    --items) ITEMS="$2"; shift 2 ;;
    --skus) SKUS="$2"; shift 2 ;;
    --requests) REQUESTS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    *) oc_die "usage: ops/bench/exceptions.sh [--brands N] [--items N] [--skus N] [--requests N] [--no-build]" ;;
  esac
done
within() { [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ] || oc_die "$1 must be a whole number from $3 to $4"; }
within --brands "$BRANDS" 1 100000
within --items "$ITEMS" 0 10000000
within --skus "$SKUS" 1 1000
within --requests "$REQUESTS" 10 100000
for t in pgbench psql curl; do command -v "$t" >/dev/null || oc_die "$t not installed (ops/setup.sh)"; done
[ "$BUILD" = 1 ] && oc_build "$OC_ROOT/build" -DCMAKE_BUILD_TYPE=Release -DONECOUNT_SANITIZE=OFF
BIN="$OC_ROOT/build/onecount"

LOAD0="$(cut -d' ' -f1-3 /proc/loadavg)"
DIR="$(mktemp -d "${TMPDIR:-/tmp}/oc-bench-exc-XXXXXX")"
chmod 755 "$DIR"
mkdir -p "$DIR/logs" "$DIR/app"
SERVE=""
cleanup() {
  [ -n "$SERVE" ] && { kill -TERM "$SERVE" 2>/dev/null || true; wait "$SERVE" 2>/dev/null || true; }
  "$OC_ROOT/ops/services.sh" stop --dir "$DIR" >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

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

# --- set-up ----------------------------------------------------------------------------------------
PASSWORD="$(oc_random_secret)"
PID="$("$BIN" admin create-portfolio "bench portfolio")"
"$BIN" admin create-user --portfolio "$PID" --email bench@example.test --name Bench --password-stdin <<< "$PASSWORD" >/dev/null
oc_say "set-up: $BRANDS brands × $SKUS SKUs with a Walmart listing each, then a refresh, then $ITEMS made-up items"
t0=$(date +%s%N)
SUDB -v pid="$PID" -v nb="$BRANDS" -v ns="$SKUS" <<'EOS' >/dev/null
INSERT INTO brands (portfolio_id, name) SELECT :'pid', 'bench brand ' || lpad(g::text, 6, '0') FROM generate_series(1, :nb) g;
CREATE TABLE bench_brands AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM brands;
INSERT INTO channel_connections (tenant_id, kind, name, base_url)
SELECT id, 'walmart', 'Walmart', 'http://127.0.0.1:9' FROM brands;
INSERT INTO skus (tenant_id, code, title)
SELECT b.id, 'SKU-' || lpad(g::text, 4, '0'), 'Bench product ' || g FROM brands b, generate_series(1, :ns) g;
INSERT INTO stock (tenant_id, sku_id, on_hand) SELECT tenant_id, id, (id % 40) FROM skus
ON CONFLICT (tenant_id, sku_id) DO UPDATE SET on_hand = excluded.on_hand;
INSERT INTO listings (tenant_id, connection_id, sku_id, external_sku, desired_qty, pushed_qty, desired_version, pushed_version)
SELECT s.tenant_id, c.id, s.id, s.code, greatest((s.id % 40) - 2, 0), greatest((s.id % 40) - 2, 0), 1, 1
  FROM skus s JOIN channel_connections c ON c.tenant_id = s.tenant_id;
INSERT INTO movements (tenant_id, sku_id, kind, qty, on_hand_delta, committed_delta, on_hand_after, committed_after)
SELECT tenant_id, id, 'sale', 1, 0, 1, (id % 40), 1 FROM skus;
VACUUM ANALYZE;
EOS
SETUP_MS=$(( ($(date +%s%N) - t0) / 1000000 ))

# refresh CHUNK_SQL [FULL_S]: one exceptions_refresh as the worker runs it (as onecount_app, the chunk's brands
# as its tenants); FULL_S 0 refreshes every brand whatever its marks (as before migration 0038); prints its answer
refresh() {
  SUDB -At <<EOS | grep '^{'
BEGIN;
SELECT set_config('app.tenant_id', (SELECT string_agg(id::text, ',') FROM ($1) b), true);
SET LOCAL ROLE onecount_app;
SELECT exceptions_refresh(300, ${2:-600});
COMMIT;
EOS
}
# The worker's first pass over every brand, 400 at a time: real conditions open real items, each brand's health kept.
t0=$(date +%s%N)
for off in $(seq 0 400 $((BRANDS - 1))); do refresh "SELECT id FROM brands ORDER BY id OFFSET $off LIMIT 400" >/dev/null; done
FIRST_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
REAL="$(SUDB -At -c "SELECT count(*) FROM exceptions WHERE state <> 'resolved'")"
# Then the made-up items, to reach --items.
SUDB -v ni="$ITEMS" <<'EOS' >/dev/null
INSERT INTO exceptions (tenant_id, kind, subject, severity, state, title, detail, opened_at)
SELECT b.id, k.kind, 'bench:' || g, k.severity, CASE WHEN g % 5 = 0 THEN 'acknowledged' ELSE 'open' END,
       'bench item ' || g, jsonb_build_object('n', g), now() - (g % 10000) * interval '1 minute'
  FROM generate_series(1, :ni) g
  JOIN bench_brands b ON b.n = 1 + (g % (SELECT count(*) FROM bench_brands))
  JOIN (SELECT row_number() OVER () - 1 AS i, kind, severity FROM (VALUES
        ('oversell', 'critical'), ('unmapped_line', 'warning'), ('listing_stuck', 'warning'),
        ('drift_unhealed', 'warning'), ('connection_failing', 'critical'), ('credentials_expiring', 'warning'),
        ('sop_run_failed', 'warning'), ('checklist_overdue', 'warning'), ('sku_unlisted', 'info'),
        ('stranded_stockout', 'warning'), ('low_stock', 'info')) v (kind, severity)) k ON k.i = g % 11;
VACUUM ANALYZE;
EOS
read -r NOPEN NBRANDS <<< "$(SUDB -At -F ' ' -c "SELECT count(*), count(DISTINCT tenant_id) FROM exceptions WHERE state <> 'resolved'")"
BRAND="$(SUDB -At -c "SELECT id FROM bench_brands WHERE n = 1")"
oc_say "  $NOPEN open items over $NBRANDS brands ($SETUP_MS ms)"

PORT="$(oc_free_port)"
ONECOUNT_LISTEN="127.0.0.1:$PORT" ONECOUNT_METRICS_LISTEN=off "$BIN" serve >"$DIR/logs/serve.log" 2>&1 &
SERVE=$!
for _ in $(seq 1 200); do curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null || { tail -n 20 "$DIR/logs/serve.log" >&2; oc_die "serve did not start"; }
COOKIES="$DIR/cookies"
curl -fsS -c "$COOKIES" -H 'content-type: application/json' \
  -d "{\"email\": \"bench@example.test\", \"password\": \"$PASSWORD\"}" "http://127.0.0.1:$PORT/api/v1/auth/login" >/dev/null \
  || oc_die "sign-in failed"

# pct FILE: p50 p99 max of the numbers in FILE (seconds), in ms
pct() { sort -g "$1" | awk '{v[NR] = $1} END {i50 = int(NR * 0.50 + 0.5); i99 = int(NR * 0.99 + 0.5); if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1;
  printf "%.1f %.1f %.1f", v[i50] * 1000, v[i99] * 1000, v[NR] * 1000}'; }
RESULTS=()
timed() { # label path
  local f="$DIR/t.$RANDOM" code i
  code="$(curl -sS -o "$DIR/body.json" -w '%{http_code}' -b "$COOKIES" "http://127.0.0.1:$PORT$2")"
  [ "$code" = 200 ] || { head -c 300 "$DIR/body.json" >&2; oc_die "$1: HTTP $code"; }
  for i in $(seq 1 "$REQUESTS"); do
    curl -sS -o /dev/null -w '%{time_total}\n' -b "$COOKIES" "http://127.0.0.1:$PORT$2" >> "$f"
  done
  RESULTS+=("$(printf '%-52s %s' "$1" "$(pct "$f")")")
}
oc_say "timing: $REQUESTS requests each, one client"
timed "GET portfolio dashboard ($BRANDS brands)" "/api/v1/portfolios/$PID/dashboard"
timed "GET portfolio queue (first page of 50, counts)" "/api/v1/portfolios/$PID/exceptions"
timed "GET portfolio queue ?kind=low_stock" "/api/v1/portfolios/$PID/exceptions?kind=low_stock"
timed "GET portfolio queue ?severity=critical&owner=none" "/api/v1/portfolios/$PID/exceptions?severity=critical&owner=none"
timed "GET portfolio queue ?brand_id=… (one brand)" "/api/v1/portfolios/$PID/exceptions?brand_id=$BRAND"
timed "GET brand queue" "/api/v1/brands/$BRAND/exceptions"
timed "GET brand dashboard" "/api/v1/brands/$BRAND/dashboard"

# The baseline: a plain count over the same rows, pgbench's per-transaction latencies.
base() { # label sql
  local f="$DIR/base.sql" log
  echo "$2" > "$f"
  (cd "$DIR" && pgbench -n -c 1 -t "$REQUESTS" -f "$f" -l --log-prefix=pgb "$ONECOUNT_DATABASE_URL" >"$DIR/logs/pgbench.out" 2>&1) \
    || { cat "$DIR/logs/pgbench.out" >&2; oc_die "pgbench failed"; }
  log="$(ls "$DIR"/pgb.* | head -1)"
  awk '{print $3 / 1e6}' "$log" > "$DIR/base.t"
  rm -f "$DIR"/pgb.*
  RESULTS+=("$(printf '%-52s %s' "$1" "$(pct "$DIR/base.t")")")
}
base "baseline: SELECT count(*) of the open items (pgbench)" "SELECT count(*) FROM exceptions WHERE state <> 'resolved';"
base "baseline: the same, one brand (pgbench)" "SELECT count(*) FROM exceptions WHERE tenant_id = '$BRAND' AND state <> 'resolved';"

# The refresh of the first 400 brands: once, every brand (their made-up items close, their conditions are not
# true); again, every brand with nothing changed — the baseline: what each round cost before the marks; then as
# the worker runs it with nothing changed (every brand skipped), and with 40 of the 400 marked as changed.
FIRST400="SELECT id FROM brands ORDER BY id LIMIT 400"
t0=$(date +%s%N); refresh "$FIRST400" 0 >/dev/null; CLOSE_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
t0=$(date +%s%N); ALL="$(refresh "$FIRST400" 0)"; ALL_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
t0=$(date +%s%N); QUIET="$(refresh "$FIRST400")"; QUIET_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
SUDB -c "INSERT INTO exception_dirty (tenant_id) SELECT id FROM ($FIRST400) b ORDER BY id LIMIT 40" >/dev/null
t0=$(date +%s%N); SOME="$(refresh "$FIRST400")"; SOME_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
# The queue's counts per state read the items resolved in the last 30 days: the first page again, now that the
# first 400 brands' made-up items closed.
NRESOLVED="$(SUDB -At -c "SELECT count(*) FROM exceptions WHERE state = 'resolved'")"
timed "GET portfolio queue, first page, $NRESOLVED resolved" "/api/v1/portfolios/$PID/exceptions"
timed "GET portfolio queue ?state=resolved" "/api/v1/portfolios/$PID/exceptions?state=resolved"

LOAD1="$(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "exceptions benchmark: $BRANDS brands, $NOPEN open items, $SKUS SKUs per brand; $(nproc) cores; load $LOAD0 → $LOAD1"
printf '%-52s %s\n' "" "p50 ms p99 ms max ms"
for r in "${RESULTS[@]}"; do echo "$r"; done
echo "refresh (exceptions_refresh as onecount_app): first pass over $BRANDS brands $FIRST_MS ms ($REAL real items opened);"
echo "  400 brands closing their made-up items $CLOSE_MS ms;"
echo "  baseline, the same 400 again, every brand refreshed, nothing changed: $ALL_MS ms: $ALL"
echo "  the same 400 as the worker runs them, nothing changed: $QUIET_MS ms: $QUIET"
echo "  the same 400, 40 of them changed: $SOME_MS ms: $SOME"
