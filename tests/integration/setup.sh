#!/usr/bin/env bash
# tests/integration/setup.sh DIR — the ctest fixture that starts the shared
# PostgreSQL cluster for integration tests and builds the migrated template
# database every test file clones.
set -euo pipefail
mkdir -p "$1"
DIR="$(cd "$1" && pwd)"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="${OC_BIN:-$ROOT/build/onecount}"
"$ROOT/ops/services.sh" start --dir "$DIR" --fast
. "$DIR/services.env"
SUPER="postgresql://postgres@/postgres?host=$DIR/run&port=$OC_PG_PORT"
psql -X -q -v ON_ERROR_STOP=1 "$SUPER" -c "DROP DATABASE IF EXISTS onecount_template WITH (FORCE)" \
  -c "CREATE DATABASE onecount_template OWNER onecount_owner"
psql -X -q -v ON_ERROR_STOP=1 "postgresql://postgres@/onecount_template?host=$DIR/run&port=$OC_PG_PORT" \
  -c "REVOKE ALL ON SCHEMA public FROM PUBLIC; ALTER SCHEMA public OWNER TO onecount_owner"
OWNER="postgresql://onecount_owner:$OC_OWNER_PASSWORD@127.0.0.1:$OC_PG_PORT/onecount_template"
ONECOUNT_MIGRATE_DATABASE_URL="$OWNER" ONECOUNT_DATABASE_URL="$OWNER" ONECOUNT_MIGRATIONS_DIR="$ROOT/migrations" \
  "$BIN" migrate >/dev/null
# Drop stale per-test databases a killed run may have left behind.
for db in $(psql -X -At "$SUPER" -c "SELECT datname FROM pg_database WHERE datname LIKE 't\_%'"); do
  psql -X -q "$SUPER" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
done
