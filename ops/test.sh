#!/usr/bin/env bash
# ops/test.sh — the whole test suite, as CI runs it.
#
# 1. installs what is missing (Debian packages, the tests' npm packages);
# 2. builds onecount and runs every test with ctest: unit, lint, integration
#    (real PostgreSQL, Redis and server on loopback) and browser (Chromium);
# 3. builds again with AddressSanitizer + UndefinedBehaviorSanitizer and runs
#    the same suite.
# Exits non-zero if anything failed; the last line is "N passed, N failed".
#
#   ops/test.sh            both passes
#   ops/test.sh --quick    the plain build only
#   OC_TEST_ARGS="-R foundation" ops/test.sh   extra ctest arguments
set -uo pipefail
. "$(dirname "$0")/lib.sh"

"$OC_ROOT/ops/setup.sh" --test || oc_die "setup failed"

passes=(release asan)
[ "${1:-}" = "--quick" ] && passes=(release)
jobs="${OC_TEST_JOBS:-2}"
total_pass=0; total_fail=0; rc=0

for p in "${passes[@]}"; do
  case "$p" in
    release) dir="$OC_ROOT/build"; args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DONECOUNT_SANITIZE=OFF) ;;
    asan) dir="$OC_ROOT/build-asan"; args=(-DCMAKE_BUILD_TYPE=Debug -DONECOUNT_SANITIZE=ON) ;;
  esac
  oc_say "=== $p: build"
  oc_build "$dir" "${args[@]}"
  oc_say "=== $p: ctest"
  log="$dir/ctest-summary.log"
  # shellcheck disable=SC2086
  (cd "$dir" && ctest --output-on-failure -j "$jobs" ${OC_TEST_ARGS:-}) 2>&1 | tee "$log"
  [ "${PIPESTATUS[0]}" = 0 ] || rc=1
  line="$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -n 1)"
  if [ -n "$line" ]; then
    failed="$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<< "$line")"
    all="$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/' <<< "$line")"
    total_pass=$(( total_pass + all - failed )); total_fail=$(( total_fail + failed ))
  else
    rc=1; total_fail=$(( total_fail + 1 ))
  fi
done

echo "${total_pass} passed, ${total_fail} failed"
exit $rc
