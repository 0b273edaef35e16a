#!/usr/bin/env bash
# tests/lint/layers.sh — every #include "…" names a layer the file may use.
#
# The layers, lowest first (docs/ARCHITECTURE.md, "Layers"):
#   server/runtime/   runtime/…                         includes the runtime only
#   tenants/          runtime/ tenants/                 the domain
#   adapters/ (+sim/) runtime/ adapters/                channel clients, call engine, simulators
#   adapters/sync/    runtime/ tenants/ adapters/       the sync engine
#   server/           everything                        the HTTP API and the executable
# The build enforces the same through each layer's include path (CMakeLists.txt,
# oc_layer); this check adds what a compiler cannot see: an include spelled
# relative to the file ("../x.h", "sync/worker.h" from adapters/) or through a
# folder that is not a layer's name ("server/runtime/db.h").
set -uo pipefail
root="${1:-$(cd "$(dirname "$0")/../.." && pwd)}"
cd "$root" || exit 2

allowed() { # file -> space-separated prefixes
  case "$1" in
    server/runtime/*) echo "runtime/" ;;
    tenants/*) echo "runtime/ tenants/" ;;
    adapters/sync/*) echo "runtime/ tenants/ adapters/" ;;
    adapters/*) echo "runtime/ adapters/!sync" ;;
    server/*) echo "runtime/ tenants/ adapters/ server/!runtime" ;;
  esac
}

bad=0
while IFS= read -r f; do
  prefixes="$(allowed "$f")"
  while IFS=: read -r line inc; do
    ok=0
    for p in $prefixes; do
      base="${p%%!*}"; not=""
      [ "$p" != "$base" ] && not="${base}${p#*!}/"
      case "$inc" in
        "$base"*) if [ -z "$not" ] || [[ "$inc" != "$not"* ]]; then ok=1; fi ;;
      esac
    done
    case "$inc" in *..*) ok=0 ;; esac
    if [ "$ok" = 0 ]; then
      echo "$f:$line: #include \"$inc\" — a file in ${f%/*}/ may include only: ${prefixes//!/ except }" >&2
      bad=$((bad + 1))
    fi
  done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | sed -E 's/^([0-9]+):.*"([^"]+)".*/\1:\2/')
done < <(find server tenants adapters -name '*.[ch]' | sort)

if [ "$bad" -gt 0 ]; then
  echo "layers: $bad include(s) reach above their layer or around the include path" >&2
  exit 1
fi
echo "layers: every include stays in its layer or below"
