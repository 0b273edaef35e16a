# ops/lib.sh — shared helpers for the ops scripts (sourced, not run).

OC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

oc_say() { printf '%s\n' "$*" >&2; }
oc_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The newest PostgreSQL server binaries installed from Debian's packages.
oc_pg_bindir() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$d" ] && [ -x "$d/initdb" ] || oc_die "PostgreSQL server binaries not found; run ops/setup.sh"
  printf '%s\n' "$d"
}

# A TCP port on 127.0.0.1 that is free right now.
# A free loopback port below the kernel's ephemeral range, so that no
# outgoing connection can be holding it as its local port when we bind it.
oc_free_port() {
  local p lo=32768 hi
  read -r lo hi < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  [ "$lo" -gt 11000 ] 2>/dev/null || lo=32768
  for _ in $(seq 1 50); do
    p=$(( 10000 + RANDOM % (lo - 10000) ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      printf '%s\n' "$p"
      return 0
    fi
  done
  oc_die "no free port found"
}

oc_port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# oc_wait_port <file> <pid> <log>: prints the port a process wrote to <file>
# once it listens (ONECOUNT_PORT_FILE).  Fails after 20 s, or at once with the
# tail of <log> when the process has exited.
oc_wait_port() {
  for _ in $(seq 1 200); do
    [ -s "$1" ] && { cat "$1"; return 0; }
    kill -0 "$2" 2>/dev/null || { tail -n 20 "$3" >&2; return 1; }
    sleep 0.1
  done
  return 1
}

oc_random_secret() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# Runs a command as the user that owns PostgreSQL's files: PostgreSQL refuses
# to run as root, so root uses a system account named onecount.
oc_as_pg_user() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u onecount -- "$@"
  else
    "$@"
  fi
}

oc_ensure_pg_user() {
  if [ "$(id -u)" = 0 ] && ! id onecount >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin onecount
  fi
}

oc_build() {
  # oc_build <build-dir> [cmake args...]
  local dir="$1"; shift
  cmake -S "$OC_ROOT" -B "$dir" "$@" >/dev/null || oc_die "cmake configure failed"
  cmake --build "$dir" -j "$(nproc)" >&2 || oc_die "build failed"
}
