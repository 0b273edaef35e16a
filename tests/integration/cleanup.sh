#!/usr/bin/env bash
# tests/integration/cleanup.sh DIR — stops the shared cluster of the integration fixture.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
"$ROOT/ops/services.sh" stop --dir "$1"
