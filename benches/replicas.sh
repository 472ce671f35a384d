#!/usr/bin/env bash
# Two moderato replicas on one PostgreSQL behind haproxy, under load, with
# one replica killed (SIGKILL) and started again mid-run: every comment
# acknowledged with 201 must be in the database afterwards, and the
# survivor must answer every read while it is alone.
#
#   bash benches/replicas.sh [PHASE_SECS] [WRITERS] [READERS]
#
# Defaults: 20-second phases (both up, one killed, both up again), 16
# writers, 8 readers. Installs haproxy and PostgreSQL from Debian's
# packages when missing; the server is a throw-away one
# (tests/with-postgres.sh), fsync on. The same test runs in CI with
# 3-second phases (tests/postgres/balancer.rs); this prints its figures.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then
    echo "replicas: installing haproxy from Debian's packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq haproxy >/dev/null
fi
if pgrep -x rustc >/dev/null; then
    echo "replicas: warning: a build is running; figures from a busy machine" >&2
fi

export TEST_MODERATO_REPLICA_SECS="${1:-20}"
export TEST_MODERATO_REPLICA_WRITERS="${2:-16}"
export TEST_MODERATO_REPLICA_READERS="${3:-8}"
cargo build --release --locked --test postgres --bin moderato 2>&1 | tail -n 1
bash tests/with-postgres.sh \
    cargo test --release --locked --test postgres balancer -- --nocapture 2>&1 \
    | grep -E '^replicas:|test result|panicked|assert'
