#!/usr/bin/env bash
# ops/bench/sync.sh — the sync engine's benchmark: sale-to-push latency at a
# steady sales rate across many brands, coalescing of a burst of sales of one
# SKU, and an oversell simulation against a naive 15-minute re-sync in the
# same run, onecount measuring lags and velocities itself (see
# ops/bench/sync.mjs for what each measures).
#
#   ops/bench/sync.sh [--brands 100] [--skus 10] [--rate 500] [--seconds 20] [--burst 1000]
#                     [--compress 30] [--sim-seconds 300] [--warmup-seconds 135] [--oversell-skus 40]
#                     [--only-oversell] [--pushes-only]
#
# --only-oversell skips parts 1 and 2; --pushes-only adds a third policy to
# part 3 (a second brand: pushes without buffers), doubling onecount's load.
#
# Loopback only: a private PostgreSQL and Redis, the server, the worker and
# the simulators are started here and stopped at the end.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
oc_build "$OC_ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DONECOUNT_SANITIZE=OFF
[ -d "$OC_ROOT/tests/node_modules" ] || (cd "$OC_ROOT/tests" && npm ci --silent >/dev/null)
OC_BIN="$OC_ROOT/build/onecount" exec node "$OC_ROOT/ops/bench/sync.mjs" "$@"
