#!/usr/bin/env bash
# Runs a command beside a throw-away PostgreSQL server:
#   bash tests/with-postgres.sh cargo test --test postgres
# Installs PostgreSQL from Debian's packages when it is missing (as root, as
# CI runs), creates a cluster in a temporary directory owned by an
# unprivileged user (initdb refuses root), starts it on a free loopback
# port, and exports
#   TEST_MODERATO_DATABASE_URL  a role that may create databases
#   TEST_MODERATO_PG_BIN        the server's binaries (pg_dump, psql)
# for the command. The server is stopped and its directory removed in every
# exit path (success, failure, Ctrl-C).
set -euo pipefail

pg_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

if [ -z "$(pg_bin)" ]; then
    echo "with-postgres: installing PostgreSQL from Debian's packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
fi
BIN="$(pg_bin)"

# initdb and the server run as an unprivileged user: `postgres` (made by
# the package) when we are root, ourselves otherwise.
if [ "$(id -u)" = 0 ]; then
    RUN_AS=(runuser -u postgres --)
else
    RUN_AS=()
fi

DIR="$(mktemp -d /tmp/moderato-pg.XXXXXX)"
chmod 755 "$DIR"
if [ "$(id -u)" = 0 ]; then chown postgres "$DIR"; fi

stop() {
    "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$DIR"
}
trap stop EXIT
trap 'exit 130' INT TERM

# A port nobody answers on (bash's /dev/tcp: no tool needed).
free_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
    done
}
PORT="$(free_port)"
PASSWORD="test-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"

"${RUN_AS[@]}" "$BIN/initdb" -D "$DIR/data" -U postgres -E UTF8 --locale=C \
    --auth-local=trust --auth-host=scram-sha-256 --no-sync >"$DIR/initdb.log" 2>&1 \
    || { cat "$DIR/initdb.log" >&2; exit 1; }
# fsync and synchronous_commit stay on: commits in the tests are the real,
# durable kind. max_connections: tests run in parallel, each with a pool.
"${RUN_AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$DIR -c max_connections=400" \
    start >/dev/null || { cat "$DIR/server.log" >&2; exit 1; }
"${RUN_AS[@]}" "$BIN/psql" -h "$DIR" -p "$PORT" -U postgres -q -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE moderato LOGIN CREATEDB PASSWORD '$PASSWORD'" >/dev/null

export TEST_MODERATO_DATABASE_URL="postgres://moderato:$PASSWORD@127.0.0.1:$PORT/postgres"
export TEST_MODERATO_PG_BIN="$BIN"
echo "with-postgres: PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT" >&2
"$@"
