#!/usr/bin/env bash
# ops/bench/ledger.sh — sales and holds through the HTTP API, each beside
# pgbench running the same single-statement sale on the same data, in one run.
#
#   ops/bench/ledger.sh [seconds=10] [connections=64]
#
# OC_BENCH_PARTS (default "sales hot holds") picks the parts to run; the
# warm-up always runs.  The part "marks" (not in the default) runs the sale
# statement with the exception queue's change-mark triggers, without them,
# and with them again.  A partial run prints only its parts' goals.
# OC_BENCH_PROFILE=1 also loads pg_stat_statements (nested statements too)
# and prints, after the random-holds run, the statements PostgreSQL spent its
# time on.
#
# Data: one portfolio, 100 brands (API), 1,000 SKUs each with 1,000,000,000
# units on hand (bulk SQL as the superuser: skus, stock and one receipt
# movement per SKU, so ledger_verify agrees), one operator API token per brand
# (API).  SKU codes are the numbers 100001 .. 101000 in every brand.
#
# Runs, each `seconds` long with `connections` clients:
#   warm-up   every brand × SKU sold once through the API (fills the Redis
#             availability cache the sale gate and holds read; reported, not judged)
#   sales     pgbench: the server's one-line sale statement (SELECT ledger_sale(…),
#             extracted from tenants/ledger.c), random brand × SKU, app.tenant_id set in the
#             same implicit transaction, pipelined like the server does it;
#             then wrk: POST /api/v1/brands/{bid}/movements {"kind":"sale"},
#             random brand × SKU, Bearer token, unique Idempotency-Key.
#             Then, for scale, pgbench on the bare sale STACK.md measured.
#   hot       the same pair with every client on brand 0, SKU 100001.
#   holds     wrk GET /healthz (the HTTP ceiling, for scale); the baseline:
#             bench_hold (ops/bench/baseline/hold.c: h2o + onecount's hold
#             script through the same Redis client, no auth, parsing or
#             commit) sent the same requests; then wrk
#             POST /api/v1/brands/{bid}/holds, random brand × SKU, ttl 30 s;
#             then, not judged, holds on brand 0's 1,000 SKUs only (one brand,
#             fewer stock rows: shows what the spread over 100,000 SKUs costs).
# Goals (from the ledger issue): sales ≥ 0.7 × pgbench, hot ≥ 1.0 × pgbench
# hot, holds ≥ 50,000/s.  Missing a goal prints NOT MET and still exits 0;
# a run that fails to start exits non-zero.  Loopback only; stops everything
# it started (trap).  Data lives in build/bench-ledger (recreated each run).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
SECS="${1:-10}"; CONNS="${2:-64}"; PARTS=" ${OC_BENCH_PARTS:-sales hot holds} "
part() { [[ "$PARTS" == *" $1 "* ]]; }
NPROC="$(nproc)"; NBRANDS=100; NSKUS=1000; FIRST=100001; STOCK=1000000000; HOLD_TTL=30
case "$SECS$CONNS" in *[!0-9]*) oc_die "usage: ops/bench/ledger.sh [seconds] [connections]" ;; esac
[ "$CONNS" -ge "$NPROC" ] || oc_die "connections must be at least $NPROC (one per wrk thread)"
for t in wrk pgbench psql curl jq; do command -v "$t" >/dev/null || oc_die "$t not installed (ops/setup.sh)"; done
oc_build "$OC_ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DONECOUNT_SANITIZE=OFF
DIR="$OC_ROOT/build/bench-ledger"
LUA="$OC_ROOT/ops/bench/ledger.lua"
"$OC_ROOT/ops/services.sh" stop --dir "$DIR" >/dev/null 2>&1 || true
rm -rf "$DIR"
mkdir -p "$DIR/app"
SERVE_PID=""; HOLD_PID=""
cleanup() {
  [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null || true
  [ -n "$HOLD_PID" ] && kill "$HOLD_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  "$OC_ROOT/ops/services.sh" stop --dir "$DIR" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
[ "${OC_BENCH_PROFILE:-0}" = 1 ] && export OC_PG_CONF_EXTRA="shared_preload_libraries = 'pg_stat_statements'\npg_stat_statements.track = all"
"$OC_ROOT/ops/services.sh" start --dir "$DIR" >/dev/null 2>&1 || oc_die "services did not start (see $DIR/logs)"
. "$DIR/services.env"
export ONECOUNT_DATA_DIR="$DIR/app" ONECOUNT_MIGRATIONS_DIR="$OC_ROOT/migrations"
"$OC_ROOT/build/onecount" migrate >/dev/null || oc_die "migrate failed"

PORT="$(oc_free_port)"; URL="http://127.0.0.1:$PORT"
MPORT="$(oc_free_port)"; METRICS_URL="http://127.0.0.1:$MPORT/metrics" # serve's own metrics listener
ONECOUNT_LISTEN="127.0.0.1:$PORT" ONECOUNT_METRICS_LISTEN="127.0.0.1:$MPORT" ONECOUNT_THREADS="$NPROC" \
  ONECOUNT_LOG_LEVEL=warn ONECOUNT_WEB_DIR="$OC_ROOT/web" "$OC_ROOT/build/onecount" serve 2>"$DIR/serve.log" & SERVE_PID=$!
for _ in $(seq 1 100); do curl -fsS -m 2 "$URL/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS -m 10 "$URL/readyz" >/dev/null 2>&1 || { tail -n 20 "$DIR/serve.log" >&2; oc_die "onecount serve did not become ready"; }

# --- data ------------------------------------------------------------------
SU() { psql -X -q -v ON_ERROR_STOP=1 "$OC_PG_SUPERUSER_URL&dbname=onecount" "$@"; }
PASSWORD="$(oc_random_secret)"
PID="$("$OC_ROOT/build/onecount" admin create-portfolio "Bench")"
USER_ID="$(printf '%s\n' "$PASSWORD" | "$OC_ROOT/build/onecount" admin create-user --portfolio "$PID" \
  --email bench@example.test --name Bench --password-stdin)"
CSRF="$(curl -fsS -m 10 -c "$DIR/cookies" -H 'content-type: application/json' \
  -d "{\"email\":\"bench@example.test\",\"password\":\"$PASSWORD\"}" "$URL/api/v1/auth/login" | jq -r .csrf_token)"
api() { curl -fsS -m 10 -b "$DIR/cookies" -H "x-csrf-token: $CSRF" -H 'content-type: application/json' -d "$2" "$URL$1"; }
umask 077
: > "$DIR/brands.txt"
for i in $(seq 0 $((NBRANDS - 1))); do
  bid="$(api "/api/v1/portfolios/$PID/brands" "{\"name\":\"bench-$i\"}" | jq -r .id)"
  api "/api/v1/brands/$bid/tokens" '{"name":"bench","role":"operator"}' | jq -r '"\(.brand_id) \(.token) \(.id)"' \
    >> "$DIR/brands.txt"
done
[ "$(wc -l < "$DIR/brands.txt")" = "$NBRANDS" ] || oc_die "brand setup failed"
TOKEN_ID="$(awk 'NR==1 {print $3}' "$DIR/brands.txt")"
SU -v pid="$PID" -v uid="$USER_ID" <<EOS
BEGIN;
INSERT INTO skus (tenant_id, code, title)
SELECT b.id, ($FIRST + g - 1)::text, 'Bench SKU ' || g FROM brands b, generate_series(1, $NSKUS) g
 WHERE b.portfolio_id = :'pid';
INSERT INTO stock (tenant_id, sku_id, on_hand, version)
SELECT k.tenant_id, k.id, $STOCK, 1 FROM skus k JOIN brands b ON b.id = k.tenant_id WHERE b.portfolio_id = :'pid';
INSERT INTO movements (tenant_id, sku_id, kind, qty, on_hand_delta, committed_delta, on_hand_after, committed_after,
                       reference, actor_user)
SELECT s.tenant_id, s.sku_id, 'receipt', $STOCK, $STOCK, 0, $STOCK, 0, 'bench setup', :'uid'
  FROM stock s JOIN brands b ON b.id = s.tenant_id WHERE b.portfolio_id = :'pid';
COMMIT;
VACUUM ANALYZE skus, stock, movements, idempotency_keys, audit_log, brands;
EOS
[ "$(SU -tAc "SELECT count(*) FROM stock")" = "$((NBRANDS * NSKUS))" ] || oc_die "SKU setup failed"

# --- the pgbench scripts: the server's statement, parameters typed as the server's are ----
awk '/^OC_DB_STMT\($/ {getline; if ($1 == "ledger_sale_stmt,") {on = 1; next}}
     on {s = $0; sub(/^[^"]*"/, "", s); sub(/"[^"]*$/, "", s); printf "%s", s; if ($0 ~ /\);[[:space:]]*$/) exit}' \
  "$OC_ROOT/tenants/ledger.c" > "$DIR/sale.sql"
grep -q 'ledger_sale(' "$DIR/sale.sql" || oc_die "could not find ledger_sale_stmt in tenants/ledger.c"
# The pgbench transaction is what the server sends for one sale: set app.tenant_id,
# then the statement, pipelined in one implicit transaction.  pgbench variables are
# numbers, so the brand is looked up by name inside the set_config query (one index
# probe) and $1 reads it back.  $2 SKU code; $3 qty; $4 guard (an API sale is
# guarded); $5 Idempotency-Key; $6 request hash; $7 user (a token's creator); $8
# token (the first brand's); $9 request id; $10 reference, $11 channel and $12
# reason: none.
# pgbench commits each sale on its own; the server may put up to 24 in one
# transaction (its batcher): that difference is what is being measured.
HASH="$(printf 'bench' | sha256sum | cut -c1-64)"; RID="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
SALE="$(sed -e 's/\$12/(NULL::text)/g' -e 's/\$11/(NULL::uuid)/g' -e 's/\$10/(NULL::text)/g' \
  -e "s/\\\$1/(current_setting('app.tenant_id')::uuid)/g" -e 's/\$2/((:s)::text)/g' -e 's/\$3/((:q)::bigint)/g' \
  -e 's/\$4/(true)/g' -e 's/\$5/((:k)::text)/g' -e "s/\\\$6/('$HASH'::text)/g" -e "s/\\\$7/('$USER_ID'::uuid)/g" \
  -e "s/\\\$8/('$TOKEN_ID'::uuid)/g" -e "s/\\\$9/('$RID'::text)/g" "$DIR/sale.sql")"
! grep -q '\$[0-9]' <<< "$SALE" || oc_die "unsubstituted parameter in the sale statement"
pgb_script() { # file brand-expr sku-expr
  cat > "$1" <<EOP
\\set b $2
\\set s $3
\\set q 1
\\set k random(1, 999999999999999)
\\startpipeline
SELECT set_config('app.tenant_id', (SELECT id::text FROM brands WHERE portfolio_id = '$PID' AND lower(name) = 'bench-' || :b), true);
$SALE;
\\endpipeline
EOP
}
pgb_script "$DIR/pgb-sales.sql" "random(0, $((NBRANDS - 1)))" "random($FIRST, $((FIRST + NSKUS - 1)))"
# For scale only: the bare sale STACK.md's baseline measured (conditional UPDATE
# stock + INSERT movements, one statement; the stock trigger still fires), showing
# what this machine does right now and what the server's fuller statement costs.
SALE_FULL="$SALE"
SALE="WITH u AS (UPDATE stock s SET committed = s.committed + :q, version = s.version + 1, updated_at = now()
 FROM skus k WHERE k.tenant_id = current_setting('app.tenant_id')::uuid AND k.code = (:s)::text
 AND s.tenant_id = k.tenant_id AND s.sku_id = k.id AND s.on_hand - s.committed - s.held >= :q
 RETURNING s.tenant_id, s.sku_id, s.on_hand, s.committed)
INSERT INTO movements (tenant_id, sku_id, kind, qty, on_hand_delta, committed_delta, on_hand_after, committed_after,
 guarded, actor_user) SELECT tenant_id, sku_id, 'sale', :q, 0, :q, on_hand, committed, true, '$USER_ID' FROM u"
pgb_script "$DIR/pgb-bare.sql" "random(0, $((NBRANDS - 1)))" "random($FIRST, $((FIRST + NSKUS - 1)))"
SALE="$SALE_FULL"
pgb_script "$DIR/pgb-hot.sql" 0 "$FIRST"
cut -d' ' -f1,2 "$DIR/brands.txt" > "$DIR/wrk-brands.txt"

# --- measuring -------------------------------------------------------------------
TICK="$(getconf CLK_TCK)"
PG_PM="$(head -n 1 "$DIR/pg/postmaster.pid")"; REDIS_PID="$(cat "$DIR/run/redis.pid")"
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_ticks() {
  local t; t="$(awk '{print $14 + $15 + $16 + $17}' "/proc/$PG_PM/stat")"
  for c in $(ps -o pid= --ppid "$PG_PM"); do t=$((t + $(ticks "$c"))); done
  echo "$t"
}
# snapshot: wall-ns machine-busy-ticks server postgres redis
snap() { echo "$(date +%s%N) $(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat) $(ticks "$SERVE_PID") $(pg_ticks) $(ticks "$REDIS_PID")"; }
# cpu_line snapshot-before snapshot-after load-generator-ticks
cpu_line() {
  read -r w0 b0 s0 p0 r0 <<< "$1"; read -r w1 b1 s1 p1 r1 <<< "$2"
  awk -v w="$(( w1 - w0 ))" -v t="$TICK" -v b="$(( b1 - b0 ))" -v s="$(( s1 - s0 ))" -v p="$(( p1 - p0 ))" \
      -v r="$(( r1 - r0 ))" -v g="$3" 'BEGIN {
    sec = w / 1e9; f = 1 / (t * sec); o = b - s - p - r - g; if (o < 0) o = 0
    printf "      cpu (cores): load generator %.2f, onecount %.2f, postgres %.2f, redis %.2f, other processes %.2f\n",
      g * f, s * f, p * f, r * f, o * f }'
}
# OC_BENCH_PROFILE: where PostgreSQL spent its time since the last reset.
profile() { # reset | print
  [ "${OC_BENCH_PROFILE:-0}" = 1 ] || return 0
  if [ "$1" = reset ]; then
    SU -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" -c "SELECT pg_stat_statements_reset()" >/dev/null
    return
  fi
  echo "      PostgreSQL's time by statement (pg_stat_statements, nested statements included; top 10):"
  SU -At -F ' | ' -c "SELECT round(total_exec_time)::text || ' ms', calls,
      round((total_exec_time / calls * 1000)::numeric, 1)::text || ' µs/call', rows,
      left(regexp_replace(query, '\s+', ' ', 'g'), 120)
    FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 10" | sed 's/^/        /'
}
metric() { curl -fsS -m 10 "$METRICS_URL" | awk -v m="$1" '$1 == m {print $2; f = 1} END {if (!f) print 0}'; }
metrics_snap() {
  echo "$(metric onecount_ledger_batches_total) $(metric onecount_ledger_items_total) $(metric onecount_ledger_retries_total)" \
       "$(metric 'onecount_db_transactions_total{result="ok"}') $(metric 'onecount_hold_reservations_total{result="cache_rebuild"}')" \
       "$(metric 'onecount_db_transactions_total{result="error"}')"
}
FAILED=0
declare -A RATE P50 P99 DONE

# run_pgbench name script
run_pgbench() { # name pgbench-script-arguments...
  local name="$1" out err s0 s1 g rc=0; shift
  SU -c CHECKPOINT
  rm -f "$DIR/pgblog-$name".*
  local kids; kids="$(ps -o pid= --ppid "$PG_PM" | wc -l)"
  s0="$(snap)"
  local TIMEFORMAT='%U %S'
  { time pgbench -n -M prepared "$@" -c "$CONNS" -j "$NPROC" -T "$SECS" -l --log-prefix="$DIR/pgblog-$name" \
      "$ONECOUNT_DATABASE_URL" > "$DIR/pgbench-$name.out" 2> "$DIR/pgbench-$name.err" || rc=$?; } 2> "$DIR/time-$name"
  # pgbench's backends are still exiting when it returns, and their CPU reaches the
  # postmaster's totals only once reaped: take the wall clock now, the ticks when
  # the postmaster is back to the children it had before (at most 5 s later).
  local w1; w1="$(date +%s%N)"
  for _ in $(seq 1 50); do [ "$(ps -o pid= --ppid "$PG_PM" | wc -l)" -le "$kids" ] && break; sleep 0.1; done
  s1="$(snap)"; s1="$w1 ${s1#* }"
  g="$(awk -v t="$TICK" '{printf "%d", ($1 + $2) * t}' "$DIR/time-$name")"
  out="$(cat "$DIR/pgbench-$name.out")"
  DONE[$name]="$(awk '/number of transactions actually processed/ {print $NF + 0; exit}' <<< "$out")"
  RATE[$name]="$(awk '/^tps/ {printf "%d", $3; exit}' <<< "$out")"
  if [ "$rc" != 0 ] || [ -z "${RATE[$name]}" ]; then
    FAILED=1; RATE[$name]=0
    printf '  %-52s FAILED (exit %s): %s\n' "$name" "$rc" "$(grep -m1 -iE 'error|abort' "$DIR/pgbench-$name.err" || true)"
    return
  fi
  read -r P50[$name] P99[$name] < <(cat "$DIR/pgblog-$name".* | awk '{print $3}' | sort -n | awk '
    {v[NR] = $1} END {a = int(NR * 0.5); b = int(NR * 0.99); if (a < 1) a = 1; if (b < 1) b = 1
                      printf "%.2fms %.2fms\n", v[a] / 1000, v[b] / 1000}')
  local failed; failed="$(awk -F': ' '/number of failed transactions/ {print $2+0; exit}' <<< "$out")"
  local label="baseline: pgbench, same statement (${name#pg-})"
  [ "$name" = pg-bare ] && label="for scale: pgbench, bare sale (UPDATE + INSERT)"
  printf '  %-52s %9s tx/s   p50 %-9s p99 %-9s\n' "$label" "${RATE[$name]}" "${P50[$name]}" "${P99[$name]}"
  [ "${failed:-0}" = 0 ] || printf '      failed transactions: %s\n' "$failed"
  cpu_line "$s0" "$s1" "$g"
}

# run_wrk name mode url-path [duration]
run_wrk() { # name mode path [seconds] label; WRK_URL= aims wrk at another server (a baseline)
  local name="$1" mode="$2" path="$3" dur="${4:-$SECS}" out s0 s1 m0 m1 g rc=0 url="${WRK_URL:-$URL}"
  local nonce; nonce="$name-$(oc_random_secret | cut -c1-8)"
  m0="$(metrics_snap)"; s0="$(snap)"
  local TIMEFORMAT='%U %S'
  if [ "$mode" = sweep ]; then
    # wrk sleeps out its whole duration even when every thread has stopped: watch the
    # ledger's item count and interrupt wrk (it then reports) once every SKU is sold,
    # or once the count has not moved for 3 s (every wrk thread has stopped; a
    # request cut off as its thread stopped never reaches the ledger).
    local want=$(( $(metric onecount_ledger_items_total) + NBRANDS * NSKUS )) wp t0=$SECONDS n last=-1 still=0
    wrk -t"$NPROC" -c"$CONNS" -d"${dur}s" --latency -s "$LUA" "$URL$path" -- \
      "$mode" "$DIR/wrk-brands.txt" "$NSKUS" "$FIRST" "$nonce" "$HOLD_TTL" "$NPROC" > "$DIR/wrk-$name.out" 2>&1 & wp=$!
    while kill -0 "$wp" 2>/dev/null && [ $((SECONDS - t0)) -lt "$dur" ]; do
      n="$(metric onecount_ledger_items_total)"
      [ "$n" -ge "$want" ] && break
      if [ "$n" = "$last" ]; then still=$((still + 1)); [ "$still" -ge 6 ] && break; else still=0; last="$n"; fi
      sleep 0.5
    done
    echo "$(ticks "$wp") 0" | awk -v t="$TICK" '{print $1 / t, 0}' > "$DIR/time-$name"
    kill -INT "$wp" 2>/dev/null || true
    wait "$wp" || rc=$?
  elif [ "$mode" = get ]; then
    { time wrk -t"$NPROC" -c"$CONNS" -d"${dur}s" --latency "$url$path" > "$DIR/wrk-$name.out" 2>&1 || rc=$?; } 2> "$DIR/time-$name"
  else
    { time wrk -t"$NPROC" -c"$CONNS" -d"${dur}s" --latency -s "$LUA" "$url$path" -- \
        "$mode" "$DIR/wrk-brands.txt" "$NSKUS" "$FIRST" "$nonce" "$HOLD_TTL" "$NPROC" > "$DIR/wrk-$name.out" 2>&1 || rc=$?; } 2> "$DIR/time-$name"
  fi
  s1="$(snap)"; m1="$(metrics_snap)"
  g="$(awk -v t="$TICK" '{printf "%d", ($1 + $2) * t}' "$DIR/time-$name")"
  out="$(cat "$DIR/wrk-$name.out")"
  RATE[$name]="$(awk '/Requests\/sec/ {printf "%d", $2}' <<< "$out")"
  P50[$name]="$(awk '$1 == "50%" {print $2}' <<< "$out")"; P99[$name]="$(awk '$1 == "99%" {print $2}' <<< "$out")"
  if [ "$rc" != 0 ] || [ -z "${RATE[$name]}" ]; then
    FAILED=1; RATE[$name]=0
    printf '  %-52s FAILED (exit %s): %s\n' "wrk $name" "$rc" "$(head -c 300 "$DIR/wrk-$name.out")"
    return
  fi
  local label="$5"
  printf '  %-52s %9s req/s  p50 %-9s p99 %-9s\n' "$label" "${RATE[$name]}" "${P50[$name]}" "${P99[$name]}"
  local non2xx sock
  non2xx="$(awk '/Non-2xx/ {print $NF}' <<< "$out")"; sock="$(grep -m1 'Socket errors' <<< "$out" || true)"
  printf '      %s requests in %s; non-2xx: %s%s\n' "$(awk '/requests in/ {print $1}' <<< "$out")" \
    "$(awk '/requests in/ {print $4}' <<< "$out" | tr -d ,)" "${non2xx:-0}" "${sock:+; $sock}"
  grep -E '^(statuses|first error):' <<< "$out" | sed 's/^/      /' || true
  read -r b0 i0 x0 t0 c0 e0 <<< "$m0"; read -r b1 i1 x1 t1 c1 e1 <<< "$m1"
  if [ "$mode" != get ] && [ -z "${WRK_URL:-}" ]; then
    printf '      server: %s db transactions (%s failed), %s ledger batches for %s items' \
      "$((t1 - t0))" "$((e1 - e0))" "$((b1 - b0))" "$((i1 - i0))"
    [ "$((b1 - b0))" -gt 0 ] && awk -v i="$((i1 - i0))" -v b="$((b1 - b0))" 'BEGIN {printf " (%.1f per transaction)", i / b}'
    printf ', %s batch retries, %s Redis cache rebuilds\n' "$((x1 - x0))" "$((c1 - c0))"
  fi
  cpu_line "$s0" "$s1" "$g"
}

verdict() { # measured baseline factor -> ratio and MET/NOT MET
  awk -v m="$1" -v b="$2" -v f="$3" 'BEGIN {r = b > 0 ? m / b : 0; printf "%.2f× %s", r, (b > 0 && m >= f * b) ? "MET" : "NOT MET"}'
}

CPU="$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
echo "ledger benchmark: $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $NPROC cores ($CPU), $(free -g | awk '/Mem:/ {print $2}') GiB; $(. /etc/os-release && echo "$PRETTY_NAME")"
echo "PostgreSQL $(SU -tAc 'SHOW server_version' | cut -d' ' -f1), fsync $(SU -tAc 'SHOW fsync'), synchronous_commit $(SU -tAc 'SHOW synchronous_commit'); onecount RelWithDebInfo, $NPROC threads, log level warn"
echo "data: $NBRANDS brands × $NSKUS SKUs, $STOCK units each; runs of ${SECS}s, $CONNS clients (wrk -t$NPROC, pgbench -j$NPROC)"
echo

echo "warm-up (not judged): every brand × SKU sold once through the API"
run_wrk warmup sweep / 300 "onecount sales, each SKU once (cold caches)"
echo
if part sales; then
  echo "sales, random brand × SKU"
  run_pgbench pg-sales -f "$DIR/pgb-sales.sql"
  run_wrk sales sales / "$SECS" "onecount POST movements (sale)"
  run_pgbench pg-bare -f "$DIR/pgb-bare.sql"
  echo
fi
if part marks; then
  # Migration 0038's triggers append the brand to exception_dirty on every write the exception queue reads
  # (a sale's stock update): the same pgbench sale with them, without them (disabled), and with them again.
  marks() { SU -c "DO \$\$ DECLARE t record; BEGIN FOR t IN SELECT tgrelid::regclass AS rel, tgname FROM pg_trigger
    WHERE tgname LIKE 'exception_mark%' LOOP EXECUTE format('ALTER TABLE %s $1 TRIGGER %I', t.rel, t.tgname); END LOOP;
    END \$\$" >/dev/null; }
  echo "the exception queue's change marks (0038): the sale statement with them, without, with again"
  run_pgbench pg-marks-on -f "$DIR/pgb-sales.sql"
  marks DISABLE
  run_pgbench pg-marks-off -f "$DIR/pgb-sales.sql"
  marks ENABLE
  run_pgbench pg-marks-on-again -f "$DIR/pgb-sales.sql"
  echo
fi
if part hot; then
  echo "hot SKU: every client on brand 0, SKU $FIRST"
  run_pgbench pg-hot -f "$DIR/pgb-hot.sql"
  run_wrk hot hot / "$SECS" "onecount POST movements (sale), one SKU"
  echo
fi

# Integrity: balances replay from movements, and what each side counted is what committed.
MISMATCH="$(SU -tAc "SELECT count(*) FROM brands b, ledger_verify(b.id) v WHERE b.portfolio_id = '$PID' AND jsonb_array_length(v->'mismatches') > 0")"
read -r API_SOLD PG_SOLD < <(SU -tA -F' ' -c "SELECT count(*) FILTER (WHERE request_id <> '$RID'),
  count(*) FILTER (WHERE request_id = '$RID' OR request_id IS NULL) FROM movements WHERE kind = 'sale'")
ITEMS="$(metric onecount_ledger_items_total)"
PGDONE=$(( ${DONE[pg-sales]:-0} + ${DONE[pg-bare]:-0} + ${DONE[pg-hot]:-0} + ${DONE[pg-marks-on]:-0} + ${DONE[pg-marks-off]:-0} + ${DONE[pg-marks-on-again]:-0} ))
echo "integrity: ledger_verify mismatches in $MISMATCH of $NBRANDS brands"
echo "      API: $ITEMS sales posted to the ledger, $API_SOLD committed; pgbench: $PGDONE counted, $PG_SOLD committed"
echo "      (pgbench does not count the transactions in flight when its time is up)"
echo

if part holds; then
  echo "holds, random brand × SKU (ttl ${HOLD_TTL}s)"
  run_wrk healthz get /healthz "$SECS" "for scale: onecount GET /healthz (no I/O)"
  # The baseline: h2o + onecount's hold script through the same Redis client, nothing else
  # (ops/bench/baseline/hold.c), on its own brands in the same Redis, sent the same requests.
  HPORT="$(oc_free_port)"
  "$OC_ROOT/build/bench_hold" "$HPORT" 2 "$ONECOUNT_REDIS_URL" "$NBRANDS" "$NSKUS" > "$DIR/bench_hold.out" 2>&1 &
  HOLD_PID=$!
  for _ in $(seq 1 300); do grep -q '^ready' "$DIR/bench_hold.out" && break; sleep 0.1; done
  grep -q '^ready' "$DIR/bench_hold.out" || oc_die "bench_hold did not start: $(cat "$DIR/bench_hold.out")"
  WRK_URL="http://127.0.0.1:$HPORT" run_wrk base-holds holds / "$SECS" "baseline: h2o + hold script (bench_hold; cpu: other)"
  kill "$HOLD_PID" 2>/dev/null || true; wait "$HOLD_PID" 2>/dev/null || true; HOLD_PID=""
  profile reset
  run_wrk holds holds / "$SECS" "onecount POST holds"
  profile print
  run_wrk holds1 holds1 / "$SECS" "not judged: holds on brand 0's 1,000 SKUs only"
  echo "      holds Redis reserved that PostgreSQL refused: $(metric onecount_hold_commit_refused_total); waiting for a commit at the end: $(metric onecount_hold_commit_pending)"
  echo
fi

# Errors PostgreSQL logged during the run (deadlocks, failed statements), by kind.
pg_errors="$(grep -E '(ERROR|FATAL|PANIC): ' "$DIR/logs/postgresql.log" | grep -v 'connection to client lost' \
  | sed -E 's/^.*(ERROR|FATAL|PANIC): +//' | sort | uniq -c | sort -rn | head -n 5 || true)"
echo "postgres errors logged during the run (count, message):"
printf '%s\n' "${pg_errors:-      none}" | sed -E 's/^ +/      /'

if grep -q 'deadlock detected' "$DIR/logs/postgresql.log"; then
  echo "      deadlocked statements: $(grep -A4 'deadlock detected' "$DIR/logs/postgresql.log" | sed -nE 's/^.*Process [0-9]+: //p' \
    | sort | uniq -c | sort -rn | awk '{$1 = $1 "×"; print}' | paste -sd ';' -)"
fi
echo

echo "summary (${SECS}s runs, $CONNS clients; ratio = onecount / baseline)"
printf '  %-36s %10s %14s  %s\n' "" "onecount/s" "baseline/s" "ratio, goal"
part sales && printf '  %-36s %10s %14s  %s\n' "sales (random brand × SKU)" "${RATE[sales]}" "${RATE[pg-sales]} pgbench" \
  "$(verdict "${RATE[sales]}" "${RATE[pg-sales]}" 0.7) (≥ 0.7×)"
part hot && printf '  %-36s %10s %14s  %s\n' "hot SKU" "${RATE[hot]}" "${RATE[pg-hot]} pgbench" \
  "$(verdict "${RATE[hot]}" "${RATE[pg-hot]}" 1.0) (≥ 1.0×)"
part holds && printf '  %-36s %10s %14s  %s\n' "holds" "${RATE[holds]}" "${RATE[base-holds]} bench_hold" \
  "$(awk -v m="${RATE[holds]}" -v b="${RATE[base-holds]}" 'BEGIN {printf "%.2f× of h2o + hold script; %s", (b > 0 ? m / b : 0), (m >= 50000 ? "MET" : "NOT MET")}') (≥ 50,000/s)"
exit "$FAILED"
