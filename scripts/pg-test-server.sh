#!/usr/bin/env bash
# A private PostgreSQL server for tests and benchmarks: Debian's package, a cluster made by
# initdb in a temporary directory, run as an unprivileged user (the package's `postgres`
# when called as root, else the caller), listening on 127.0.0.1 only, on a free port.
#
#   pg-test-server.sh start DIR     creates and starts it; prints its URL on stdout
#   pg-test-server.sh stop DIR      fast shutdown, then removes DIR
#   pg-test-server.sh restart DIR   fast shutdown and start on the same port (tests)
#   pg-test-server.sh kill DIR      SIGKILL of the postmaster (tests of a database crash)
#
# Trust authentication on loopback: the cluster lives only as long as the test run.
set -euo pipefail

cmd=${1:?usage: pg-test-server.sh start|stop|restart|kill DIR}
dir=${2:?usage: pg-test-server.sh start|stop|restart|kill DIR}

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "pg-test-server: PostgreSQL is not installed (scripts/install-deps.sh installs it)" >&2
  exit 1
fi

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
  else
    "$@"
  fi
}

start_server() {
  local port=$1
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir"; fi
    as_owner "$bin/initdb" -D "$dir/data" -U prover -A trust -E UTF8 --locale=C.UTF-8 \
      >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    cat >>"$dir/data/postgresql.conf" <<'EOF'
max_connections = 300
shared_buffers = 128MB
log_min_messages = warning
password_encryption = scram-sha-256
EOF
    # One role that must give a password (tests of --database-password-file); every other
    # role is trusted on loopback.
    { echo "host all prover_pw 127.0.0.1/32 scram-sha-256"; cat "$dir/data/pg_hba.conf"; } \
      >"$dir/data/pg_hba.conf.new" && mv "$dir/data/pg_hba.conf.new" "$dir/data/pg_hba.conf"
    if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir/data/pg_hba.conf"; fi
    # A free port: the kernel's choice for a bound socket, retried if taken meanwhile.
    for _ in 1 2 3 4 5; do
      port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
      if start_server "$port"; then
        echo "$port" >"$dir/port"
        "$bin/psql" -q -h 127.0.0.1 -p "$port" -U prover -d postgres \
          -c "CREATE ROLE prover_pw LOGIN CREATEDB PASSWORD 'prover-test-password'" >/dev/null
        echo "postgresql://prover@127.0.0.1:$port/postgres"
        exit 0
      fi
    done
    echo "pg-test-server: the server did not start; log: $dir/server.log" >&2
    cat "$dir/server.log" >&2 || true
    exit 1
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  restart)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    start_server "$(cat "$dir/port")"
    ;;
  kill)
    kill -9 "$(head -n 1 "$dir/data/postmaster.pid")"
    ;;
  *)
    echo "pg-test-server: unknown command $cmd" >&2
    exit 2
    ;;
esac
