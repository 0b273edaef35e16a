#!/usr/bin/env bash
# ops/services.sh — a private PostgreSQL cluster and Redis under one folder, on loopback.
#
#   ops/services.sh start  [--dir DIR] [--pg-port N] [--redis-port N] [--fast]
#   ops/services.sh stop   [--dir DIR] [--keep]
#   ops/services.sh status [--dir DIR]
#   ops/services.sh env    [--dir DIR]     print the connection settings as shell exports
#
# DIR defaults to the checkout's data/ folder.  Ports are chosen once (free
# loopback ports) and remembered in DIR/services.env; pass --pg-port /
# --redis-port to pick them.  --fast turns off fsync for throwaway test
# clusters.  As root, PostgreSQL runs as the system user `onecount`.
#
# Layout: DIR/pg (cluster), DIR/redis, DIR/run (sockets, pid files),
# DIR/logs, DIR/services.env (mode 600: ports and generated passwords).
# As root under a folder PostgreSQL's user cannot enter, pg/, run/ and the
# PostgreSQL log are links into /var/tmp/onecount-pg-<hash of DIR>/, which
# `stop` deletes (--keep: not this time, for a restart) and which any start
# or stop deletes once DIR is gone.  `stop` says what it stopped.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cmd="${1:-}"; shift || true
DIR="$OC_ROOT/data"; PG_PORT=""; REDIS_PORT=""; FAST=0; KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) DIR="$2"; shift 2 ;;
    --pg-port) PG_PORT="$2"; shift 2 ;;
    --redis-port) REDIS_PORT="$2"; shift 2 ;;
    --fast) FAST=1; shift ;;
    --keep) KEEP=1; shift ;;
    *) oc_die "unknown option $1" ;;
  esac
done
if [ "$cmd" = start ]; then
  mkdir -p "$DIR"
elif [ ! -d "$DIR" ]; then
  # Nothing of DIR is left: nothing runs from it, but its outside files may.
  if [ "$cmd" = stop ]; then [ "$(id -u)" = 0 ] && gc_outside_early=1; else oc_die "no services in $DIR"; fi
fi
[ -d "$DIR" ] && DIR="$(cd "$DIR" && pwd)"
ENVF="$DIR/services.env"
PGDATA="$DIR/pg"

load_env() { [ -f "$ENVF" ] && . "$ENVF"; return 0; }

write_env() {
  umask 077
  cat > "$ENVF.tmp" <<EOV
# written by ops/services.sh; holds generated local passwords: keep private
OC_PG_PORT=$OC_PG_PORT
OC_REDIS_PORT=$OC_REDIS_PORT
OC_OWNER_PASSWORD=$OC_OWNER_PASSWORD
OC_APP_PASSWORD=$OC_APP_PASSWORD
export ONECOUNT_DATABASE_URL="postgresql://onecount_app:$OC_APP_PASSWORD@127.0.0.1:$OC_PG_PORT/onecount"
export ONECOUNT_MIGRATE_DATABASE_URL="postgresql://onecount_owner:$OC_OWNER_PASSWORD@127.0.0.1:$OC_PG_PORT/onecount"
export ONECOUNT_REDIS_URL="redis://127.0.0.1:$OC_REDIS_PORT/0"
export OC_PG_SUPERUSER_URL="postgresql://postgres@/postgres?host=$DIR/run&port=$OC_PG_PORT"
EOV
  mv "$ENVF.tmp" "$ENVF"
}

pg_running() { [ -f "$PGDATA/postmaster.pid" ] && oc_as_pg_user "$BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }
redis_running() { [ -f "$DIR/run/redis.pid" ] && kill -0 "$(cat "$DIR/run/redis.pid")" 2>/dev/null; }

# psql_super DB [psql args...]: as the bootstrap superuser over the private socket.
psql_super() { local db="$1"; shift; psql -X -q -v ON_ERROR_STOP=1 "postgresql://postgres@/$db?host=$DIR/run&port=$OC_PG_PORT" "$@"; }

# As root, PostgreSQL runs as `onecount`, which must reach its own files.
# The cluster stays in DIR whenever that user can get there: DIR itself (the
# data folder, ours) is given group onecount with search permission when it
# is what keeps the user out.  When a parent folder keeps it out (a private
# `mktemp -d`, a home folder of mode 700) no parent's permissions are
# changed: the cluster's files (pg/, run/ and its log) go to a folder of
# their own, /var/tmp/onecount-pg-<hash of DIR>, linked from DIR, said
# loudly, and removed when the services stop (and by any later start or
# stop once DIR is gone).
OC_OUTSIDE_PREFIX=/var/tmp/onecount-pg-

# The first folder on the way to $1 that user onecount cannot enter, or nothing.
blocking_folder() {
  local d="" part
  local IFS=/
  for part in $1; do
    [ -n "$part" ] || continue
    d="$d/$part"
    runuser -u onecount -- test -x "$d" 2>/dev/null || { printf '%s\n' "$d"; return 0; }
  done
}

place_pg_files() {
  [ "$(id -u)" = 0 ] || return 0
  oc_ensure_pg_user
  [ -L "$DIR/pg" ] && return 0
  local block
  block="$(blocking_folder "$DIR")"
  if [ "$block" = "$DIR" ]; then
    chgrp onecount "$DIR" && chmod g+x "$DIR"
    oc_say "$DIR: group onecount may now enter it (PostgreSQL runs as user onecount)"
    block="$(blocking_folder "$DIR")"
  fi
  [ -n "$block" ] || return 0
  [ -e "$DIR/pg/PG_VERSION" ] && oc_die "PostgreSQL (running as user onecount) cannot reach $DIR/pg: $block is not traversable"
  local home
  home="$OC_OUTSIDE_PREFIX$(printf '%s' "$DIR" | sha256sum | cut -c1-16)"
  oc_say "warning: PostgreSQL runs as user onecount, which cannot enter $block;"
  oc_say "warning: its files go to $home (linked from $DIR) and are DELETED when the services stop."
  oc_say "warning: to keep them in $DIR instead: chmod o+x $block, or use a data folder onecount can reach."
  # The links first, the folder's note of whose it is last: a home with that
  # note is always linked from its data folder while the folder exists.
  mkdir -p "$DIR/logs"
  rm -rf "$DIR/pg"
  rmdir "$DIR/run" 2>/dev/null || true
  [ -e "$DIR/run" ] && oc_die "$DIR/run is in the way of the PostgreSQL socket folder"
  rm -f "$DIR/logs/postgresql.log"
  ln -s "$home/pg" "$DIR/pg"
  ln -s "$home/run" "$DIR/run"
  ln -s "$home/postgresql.log" "$DIR/logs/postgresql.log"
  mkdir -p "$home/pg" "$home/run"
  touch "$home/postgresql.log"
  chown -R onecount: "$home"
  chmod 700 "$home/pg" "$home/run"
  printf '%s\n' "$DIR" > "$home/data_dir"
}

# The outside folder DIR's cluster lives in (see place_pg_files), or nothing.
outside_home() {
  local t
  t="$(readlink "$DIR/pg" 2>/dev/null)" || return 0
  case "$t" in "$OC_OUTSIDE_PREFIX"*/pg) printf '%s\n' "${t%/pg}" ;; esac
}

# Removes outside folders whose data folder is gone (or no longer links to
# them), stopping the PostgreSQL and Redis still running from there first.
gc_outside() {
  local home dir pid
  for home in "$OC_OUTSIDE_PREFIX"*; do
    [ -d "$home" ] || continue
    dir="$(cat "$home/data_dir" 2>/dev/null || true)"
    if [ -z "$dir" ]; then
      # Being set up right now, or made by an older version (no note): judged
      # once a minute old, and only when nothing runs there.
      [ -z "$(find "$home" -maxdepth 0 -mmin -1 2>/dev/null)" ] || continue
      [ ! -f "$home/pg/postmaster.pid" ] || continue
    elif [ "$(readlink "$dir/pg" 2>/dev/null)" = "$home/pg" ]; then
      continue
    fi
    if [ -f "$home/pg/postmaster.pid" ]; then
      oc_as_pg_user "$(oc_pg_bindir)/pg_ctl" -D "$home/pg" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
      oc_say "stopped the PostgreSQL of $dir (that folder is gone)"
    fi
    pid="$(cat "$home/run/redis.pid" 2>/dev/null || true)"
    if [ -n "$pid" ] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q '^redis-server'; then
      kill "$pid" 2>/dev/null || true
      oc_say "stopped the Redis of $dir (that folder is gone)"
    fi
    rm -rf "$home"
    oc_say "removed $home (PostgreSQL files of ${dir:-a data folder that is gone})"
  done
}

# The real paths PostgreSQL is given (through any links place_pg_files made).
pg_paths() {
  PGDATA="$(readlink -f "$DIR/pg" || echo "$DIR/pg")"
  PGRUN="$(readlink -f "$DIR/run" || echo "$DIR/run")"
  PGLOG="$(readlink -f "$DIR/logs/postgresql.log" || echo "$DIR/logs/postgresql.log")"
}

ensure_pg_access() {
  [ "$(id -u)" = 0 ] || return 0
  oc_ensure_pg_user
  chown -R onecount: "$PGDATA" "$PGRUN" "$PGLOG" 2>/dev/null || true
  if ! runuser -u onecount -- test -x "$PGDATA" 2>/dev/null; then
    oc_die "PostgreSQL (running as user onecount) cannot reach $PGDATA: a parent folder is not traversable"
  fi
}

start() {
  BIN="$(oc_pg_bindir)"
  [ "$(id -u)" = 0 ] && gc_outside
  load_env
  OC_PG_PORT="${PG_PORT:-${OC_PG_PORT:-}}"
  OC_REDIS_PORT="${REDIS_PORT:-${OC_REDIS_PORT:-}}"
  OC_OWNER_PASSWORD="${OC_OWNER_PASSWORD:-$(oc_random_secret)}"
  OC_APP_PASSWORD="${OC_APP_PASSWORD:-$(oc_random_secret)}"
  place_pg_files
  mkdir -p "$DIR/run" "$DIR/logs" "$DIR/redis"
  chmod 700 "$DIR/run"
  touch "$DIR/logs/postgresql.log"
  pg_paths

  if ! pg_running; then
    if [ -z "$OC_PG_PORT" ] || oc_port_in_use "$OC_PG_PORT"; then OC_PG_PORT="$(oc_free_port)"; fi
  fi
  if ! redis_running; then
    if [ -z "$OC_REDIS_PORT" ] || oc_port_in_use "$OC_REDIS_PORT"; then OC_REDIS_PORT="$(oc_free_port)"; fi
  fi
  write_env

  # PostgreSQL
  local fresh=0
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    fresh=1
    rm -rf "$PGDATA"
    mkdir -p "$PGDATA"
    chmod 700 "$PGDATA"
    ensure_pg_access
    oc_as_pg_user "$BIN/initdb" -D "$PGDATA" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 >"$DIR/logs/initdb.log" 2>&1 \
      || { cat "$DIR/logs/initdb.log" >&2; oc_die "initdb failed"; }
    cat >> "$PGDATA/postgresql.conf" <<EOC
# onecount embedded defaults
listen_addresses = '127.0.0.1'
max_connections = 200
shared_buffers = 256MB
# Balances and holds are small rows updated at random: after a checkpoint the
# first change of each page writes the whole page to the WAL.  Compressed,
# and with checkpoints forced less often by WAL volume.
wal_compression = lz4
max_wal_size = 4GB
log_min_messages = warning
log_min_error_statement = panic
EOC
    if [ "$FAST" = 1 ]; then
      printf 'fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n' >> "$PGDATA/postgresql.conf"
    fi
    # OC_PG_CONF_EXTRA: more settings for a new cluster (profiling, e.g. pg_stat_statements).
    [ -z "${OC_PG_CONF_EXTRA:-}" ] || printf '%b\n' "$OC_PG_CONF_EXTRA" >> "$PGDATA/postgresql.conf"
  fi
  ensure_pg_access
  if ! pg_running; then
    oc_as_pg_user "$BIN/pg_ctl" -D "$PGDATA" -l "$PGLOG" -w -t 60 \
      -o "-c port=$OC_PG_PORT -c unix_socket_directories='$PGRUN'" start >/dev/null \
      || { tail -n 20 "$PGLOG" >&2; oc_die "PostgreSQL did not start"; }
  fi
  if [ "$fresh" = 1 ]; then
    psql_super postgres <<EOS
CREATE ROLE onecount_owner LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '$OC_OWNER_PASSWORD';
CREATE ROLE onecount_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD '$OC_APP_PASSWORD';
CREATE DATABASE onecount OWNER onecount_owner;
EOS
    psql_super onecount -c "REVOKE ALL ON SCHEMA public FROM PUBLIC; ALTER SCHEMA public OWNER TO onecount_owner;"
  fi

  # Redis: an accelerator only, so no persistence.
  if ! redis_running; then
    redis-server --bind 127.0.0.1 --port "$OC_REDIS_PORT" --unixsocket "$DIR/run/redis.sock" --unixsocketperm 700 \
      --dir "$DIR/redis" --save "" --appendonly no --databases 64 --daemonize yes \
      --pidfile "$DIR/run/redis.pid" --logfile "$DIR/logs/redis.log" >/dev/null
    for _ in $(seq 1 100); do
      redis-cli -p "$OC_REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
      sleep 0.05
    done
    redis-cli -p "$OC_REDIS_PORT" ping 2>/dev/null | grep -q PONG || oc_die "Redis did not start (see $DIR/logs/redis.log)"
  fi
  oc_say "PostgreSQL on 127.0.0.1:$OC_PG_PORT, Redis on 127.0.0.1:$OC_REDIS_PORT (data in $DIR)"
}

stop() {
  load_env
  BIN="$(oc_pg_bindir)"
  pg_paths
  if redis_running; then
    local pid; pid="$(cat "$DIR/run/redis.pid")"
    redis-cli -p "${OC_REDIS_PORT:-0}" shutdown nosave >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$pid" 2>/dev/null || true
    oc_say "stopped Redis (127.0.0.1:${OC_REDIS_PORT:-?}, pid $pid)"
  fi
  if pg_running; then
    oc_as_pg_user "$BIN/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >/dev/null 2>&1 || true
    oc_say "stopped PostgreSQL (127.0.0.1:${OC_PG_PORT:-?}, data in $PGDATA)"
  fi
  local home
  home="$(outside_home)"
  if [ -n "$home" ] && [ "$KEEP" = 0 ]; then
    rm -f "$DIR/pg" "$DIR/run" "$DIR/logs/postgresql.log"
    rm -rf "$home"
    oc_say "removed $home (this folder's PostgreSQL files, kept outside it: see above)"
  fi
  [ "$(id -u)" = 0 ] && gc_outside
  return 0
}

status() {
  load_env
  BIN="$(oc_pg_bindir)"
  pg_paths
  local rc=0
  if pg_running; then echo "postgresql: running on 127.0.0.1:${OC_PG_PORT}"; else echo "postgresql: stopped"; rc=1; fi
  if redis_running; then echo "redis: running on 127.0.0.1:${OC_REDIS_PORT}"; else echo "redis: stopped"; rc=1; fi
  return $rc
}

if [ "${gc_outside_early:-0}" = 1 ]; then gc_outside; exit 0; fi
case "$cmd" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) load_env; [ -f "$ENVF" ] || oc_die "no services in $DIR"; grep '^export' "$ENVF" ;;
  *) oc_die "usage: ops/services.sh start|stop|status|env [--dir DIR] [--pg-port N] [--redis-port N] [--fast] [--keep]" ;;
esac
