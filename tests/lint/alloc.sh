#!/usr/bin/env bash
# tests/lint/alloc.sh — the allocation policy (server/runtime/alloc.h): no bare
# malloc, calloc, realloc, strdup or strndup in onecount's C outside
# server/runtime/alloc.c; use oc_malloc and the others, which never return NULL.
set -uo pipefail
root="${1:-$(cd "$(dirname "$0")/../.." && pwd)}"
cd "$root" || exit 2
hits="$(find server tenants adapters -name '*.[ch]' ! -path server/runtime/alloc.c -print0 |
  xargs -0 grep -nE '(^|[^a-zA-Z0-9_.>])(malloc|calloc|realloc|strdup|strndup)\(' |
  grep -vE '^[^:]+:[0-9]+:\s*(/?\*|//)')"
if [ -n "$hits" ]; then
  printf '%s\n' "$hits" >&2
  echo "alloc: $(printf '%s\n' "$hits" | wc -l) bare allocation(s): use oc_malloc, oc_calloc, oc_realloc, oc_strdup, oc_strndup (runtime/alloc.h)" >&2
  exit 1
fi
echo "alloc: every allocation goes through runtime/alloc.h"
