#!/usr/bin/env bash
# The one command that runs every test on a fresh machine (see README.md):
# unit and HTTP integration tests on sled, the storage and HTTP tests again
# on PostgreSQL (a throw-away server, installed from Debian's packages when
# missing: tests/with-postgres.sh), the PostgreSQL-only tests (migrations,
# key check, replicas, two real replicas behind haproxy with one killed,
# check/repair), then Schemathesis against a running server (installed
# from PyPI into a virtualenv when missing), then the browser tests of the
# embed in headless Chromium (installed from Debian's packages when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" != "--inside-postgres" ]; then
    # The load balancer of the replica test (tests/postgres/balancer.rs).
    if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then
        echo "run.sh: installing haproxy from Debian's packages" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq haproxy >/dev/null
    fi
    exec bash tests/with-postgres.sh bash tests/run.sh --inside-postgres
fi

# Every test on sled (the PostgreSQL-only tests need the server too).
TEST_MODERATO_BACKEND=sled cargo test --locked
# The storage and HTTP tests once more, each on a fresh PostgreSQL database.
TEST_MODERATO_BACKEND=postgres cargo test --locked --test api
# `cargo test` built target/debug/moderato; the fuzzer and the browser
# tests drive it.
cargo build --locked --bin moderato
bash tests/fuzz/run.sh
bash tests/browser/run.sh
