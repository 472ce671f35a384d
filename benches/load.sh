#!/usr/bin/env bash
# Load benchmark of the release build on loopback (see BENCHMARKS.md).
#
#   benches/load.sh            # DURATION=10 CONNECTIONS=64 FILL=100000
#   BACKEND=both benches/load.sh   # sled, then PostgreSQL, one after the other
#   BACKEND=postgres bash tests/with-postgres.sh bash benches/load.sh
#
# BACKEND=postgres runs the service on a fresh database of the throw-away
# server that tests/with-postgres.sh starts (TEST_MODERATO_DATABASE_URL),
# with a master key file, as a replica would.
#
# Starts moderato on a temporary data directory with rate limits off, then
# measures with wrk (or oha) at CONNECTIONS connections for DURATION s each:
#   GET /healthz (the floor), GET /api/comments?page= (100 approved comments),
#   POST /api/comments with distinct comments (examples/post_load.rs: a load
#   tool repeats one body, which the duplicate check refuses).
# Then fills the store to FILL comments and reports resident memory, and the
# start-up time on that database. Loopback only; every loop is bounded; the
# server and the temporary directory are removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${BACKEND:-sled}" = both ]; then
    BACKEND=sled bash benches/load.sh
    echo
    exec bash tests/with-postgres.sh env BACKEND=postgres bash benches/load.sh
fi
BACKEND=${BACKEND:-sled}

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
FILL=${FILL:-100000}
TOKEN=load-test-admin-token-0123456789
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}

cargo build --release --quiet --bin moderato --example post_load
BIN=$CARGO_TARGET_DIR/release/moderato
LOAD=$CARGO_TARGET_DIR/release/examples/post_load

if ! command -v wrk >/dev/null && ! command -v oha >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get install -y wrk >/dev/null || true
    fi
    command -v wrk >/dev/null || cargo install oha --locked
fi

TMP=$(mktemp -d)
PID=
cleanup() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT

PORT=
for p in $(seq 18080 18180); do
    if ! (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null; then PORT=$p; break; fi
done
[ -n "$PORT" ] || { echo "no free port in 18080-18180" >&2; exit 1; }
BASE=http://127.0.0.1:$PORT

DB_ENV=()
if [ "$BACKEND" = postgres ]; then
    : "${TEST_MODERATO_DATABASE_URL:?BACKEND=postgres runs inside tests/with-postgres.sh}"
    PSQL="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/psql"
    DB="bench_$$"
    "$PSQL" -q "$TEST_MODERATO_DATABASE_URL" -c "CREATE DATABASE $DB"
    DB_URL=$(python3 -c 'import sys, urllib.parse as u; p = u.urlparse(sys.argv[1]); print(p._replace(path="/" + sys.argv[2]).geturl())' "$TEST_MODERATO_DATABASE_URL" "$DB")
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$TMP/master.key"
    chmod 600 "$TMP/master.key"
    DB_ENV=(MODERATO_DATABASE_URL="$DB_URL" MODERATO_MASTER_KEY_FILE="$TMP/master.key")
fi

# Starts the server; sets PID and STARTUP_MS (spawn to first healthy answer).
start() {
    local t0 i
    t0=$(date +%s%N)
    MODERATO_LISTEN=127.0.0.1:$PORT MODERATO_DATA_DIR=$TMP/data \
        MODERATO_RULES_DIR=$PWD/rules MODERATO_ADMIN_TOKEN=$TOKEN \
        MODERATO_RATE_LIMITS_ENABLED=false MODERATO_MAX_PENDING=100000000 \
        RUST_LOG=${RUST_LOG:-warn} env "${DB_ENV[@]}" "$BIN" >"$TMP/server.log" 2>&1 &
    PID=$!
    for i in $(seq 1 3000); do
        if curl -fs -o /dev/null "$BASE/healthz"; then
            STARTUP_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
            return 0
        fi
        sleep 0.01
    done
    echo "server did not start" >&2; cat "$TMP/server.log" >&2; exit 1
}

stop() {
    kill -TERM "$PID"; wait "$PID" || true; PID=
}

rss_mb() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$PID/status"; }

# CPU time used by the server so far, in clock ticks (user + system).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$PID/stat"; }
# Microseconds of server CPU per request between two cpu_ticks readings.
cpu_us_per() {
    awk -v a="$1" -v b="$2" -v n="$3" -v hz="$(getconf CLK_TCK)" \
        'BEGIN { if (n > 0) printf "%.0f", (b - a) / hz * 1e6 / n; else print "-" }'
}

# Converts wrk's "1.23ms" / "456.00us" / "1.02s" to milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
        else printf "%s", v }'
}

# Runs the load tool on a GET URL; prints "rps p50_ms p99_ms errors".
measure_get() {
    local url=$1 out
    if command -v wrk >/dev/null; then
        out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$url")
        local rps p50 p99 non2xx sock
        rps=$(awk '/^Requests\/sec/ { printf "%.0f", $2 }' <<<"$out")
        p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
        p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
        non2xx=$(awk '/Non-2xx/ { print $NF }' <<<"$out"); non2xx=${non2xx:-0}
        sock=$(awk '/Socket errors/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' <<<"$out"); sock=${sock:-0}
        echo "$rps $p50 $p99 $((non2xx + sock))"
    else
        out=$(oha --no-tui -z "${DURATION}s" -c "$CONNECTIONS" --output-format json "$url")
        jq -r '"\(.summary.requestsPerSec|floor) \(.latencyPercentiles.p50*1000*100|round/100) \(.latencyPercentiles.p99*1000*100|round/100) \([.statusCodeDistribution|to_entries[]|select(.key!="200")|.value]|add // 0)"' <<<"$out"
    fi
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "tool: $(command -v wrk >/dev/null && echo wrk || echo oha), $CONNECTIONS connections, ${DURATION}s each"
echo "backend: $BACKEND"

start
echo "start-up on an empty database: ${STARTUP_MS} ms"
sleep 2
echo "resident memory of the fresh, idle service: $(rss_mb) MB"
"$LOAD" seed "$BASE" "$TOKEN" /hot/ 100 >/dev/null

c0=$(cpu_ticks)
read -r h_rps h_p50 h_p99 h_err < <(measure_get "$BASE/healthz")
c1=$(cpu_ticks)
read -r g_rps g_p50 g_p99 g_err < <(measure_get "$BASE/api/comments?page=/hot/")
c2=$(cpu_ticks)
count=$(curl -fs "$BASE/api/comments?page=/hot/" | jq .count)
[ "$count" = 100 ] || { echo "page has $count comments, expected 100" >&2; exit 1; }
c3=$(cpu_ticks)
post=$("$LOAD" load "$BASE" "$CONNECTIONS" "$DURATION")
c4=$(cpu_ticks)
p_ok=$(sed -E 's/.*ok=([0-9]+).*/\1/' <<<"$post")
p_rps=$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$post")
p_p50=$(sed -E 's/.*p50_ms=([0-9.]+).*/\1/' <<<"$post")
p_p99=$(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$post")
p_err=$(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$post")

ratio() { awk -v a="$1" -v b="$h_rps" 'BEGIN { printf "%.2f", a / b }'; }
echo
printf '| %-36s | %9s | %7s | %7s | %6s | %8s |\n' test "req/s" "p50 ms" "p99 ms" errors "vs floor"
printf '|%s|%s|%s|%s|%s|%s|\n' "--------------------------------------" "-----------" "---------" "---------" "--------" "----------"
printf '| %-36s | %9s | %7s | %7s | %6s | %8s |\n' "GET /healthz (floor)" "$h_rps" "$h_p50" "$h_p99" "$h_err" "1.00"
printf '| %-36s | %9s | %7s | %7s | %6s | %8s |\n' "GET /api/comments?page= (100)" "$g_rps" "$g_p50" "$g_p99" "$g_err" "$(ratio "$g_rps")"
printf '| %-36s | %9s | %7s | %7s | %6s | %8s |\n' "POST /api/comments (durable)" "$p_rps" "$p_p50" "$p_p99" "$p_err" "$(ratio "$p_rps")"
echo "server CPU per request (user+system): healthz $(cpu_us_per "$c0" "$c1" $((h_rps * DURATION))) us, page $(cpu_us_per "$c1" "$c2" $((g_rps * DURATION))) us, durable POST $(cpu_us_per "$c3" "$c4" "$p_ok") us"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

metrics=$(curl -fs -H "Authorization: Bearer $TOKEN" "$BASE/metrics")
requests=$(awk '/^moderato_store_flush_requests_total/ { print $2 }' <<<"$metrics")
flushes=$(awk '/^moderato_store_flushes_total/ { print $2 }' <<<"$metrics")
echo "group commit: $requests durable writes shared $flushes flushes ($(awk -v a="$requests" -v b="$flushes" 'BEGIN { printf "%.1f", a / b }') writes per flush)"

stored=$(awk '/^moderato_queue_comments/ { s += $2 } END { print s }' <<<"$metrics")
if [ "$stored" -lt "$FILL" ]; then
    "$LOAD" fill "$BASE" "$CONNECTIONS" $((FILL - stored))
fi
stored=$(curl -fs -H "Authorization: Bearer $TOKEN" "$BASE/metrics" | awk '/^moderato_queue_comments/ { s += $2 } END { print s }')
echo "comments stored: $stored; resident memory after storing them: $(rss_mb) MB"
stop
if [ "$BACKEND" = sled ]; then
    echo "database on disk: $(du -sm "$TMP/data" | cut -f1) MB"
fi

start
echo "start-up with $stored comments: ${STARTUP_MS} ms (spawn to first healthy answer); resident memory: $(rss_mb) MB"
curl -fs -o /dev/null "$BASE/api/comments?page=/hot/"
stop
