#!/usr/bin/env bash
# Soak: a bounded mixed load on the release build, sampling the server's
# resident memory; after the warm-up it must stay flat within 10%.
#
#   benches/soak.sh                # DURATION=600 WARMUP=120 CLIENTS=8
#
# The load (benches/soak_load.py, standard library only): readers posting
# (a few long comments), pages read with and without If-None-Match, counts,
# form tokens, the admin listing, single and bulk decisions, author replies,
# deletions, an NDJSON import every 30 s and an export every minute, with
# backups every 30 s (keep 3). RSS is read from /proc every 5 s. Loopback
# only; every loop is bounded by DURATION; the server and the temporary
# directory are removed on exit. Run it on a quiet machine (no builds).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-600}
WARMUP=${WARMUP:-120}
CLIENTS=${CLIENTS:-8}
TOKEN=soak-admin-token-0123456789abcdef
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}

cargo build --release --quiet --bin moderato
BIN=$CARGO_TARGET_DIR/release/moderato

TMP=$(mktemp -d)
PID=
cleanup() {
    if [ -n "$PID" ]; then kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
MODERATO_LISTEN=127.0.0.1:$PORT MODERATO_DATA_DIR="$TMP/data" MODERATO_ADMIN_TOKEN=$TOKEN \
  MODERATO_RATE_LIMITS_ENABLED=false MODERATO_RULES_DIR=rules MODERATO_CACHE_CAPACITY_MB=32 \
  MODERATO_BACKUP_EVERY=30s MODERATO_BACKUP_KEEP=3 MODERATO_BACKUP_DIR="$TMP/backups" \
  RUST_LOG=warn "$BIN" 2> "$TMP/server.log" &
PID=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$PORT/healthz" > /dev/null && break
  sleep 0.1
done

python3 benches/soak_load.py --base "http://127.0.0.1:$PORT" --token "$TOKEN" \
  --duration "$DURATION" --clients "$CLIENTS" > "$TMP/load.log" 2>&1 &
LOAD=$!

echo "second rss_kib"
start=$(date +%s)
: > "$TMP/rss"
while kill -0 "$LOAD" 2>/dev/null; do
  now=$(( $(date +%s) - start ))
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$PID/status")
  echo "$now $rss" | tee -a "$TMP/rss"
  sleep 5
done
if ! wait "$LOAD"; then
  echo "the load failed:"; cat "$TMP/load.log"
  echo "the server's errors (first 20):"; grep -E 'ERROR|WARN|panicked' "$TMP/server.log" | head -20
  exit 1
fi
cat "$TMP/load.log"
python3 - "$TMP/rss" "$WARMUP" <<'PY'
import sys
samples = [tuple(map(int, line.split())) for line in open(sys.argv[1]) if line.strip()]
warmup = int(sys.argv[2])
after = [rss for second, rss in samples if second >= warmup]
if len(after) < 2:
    sys.exit("too few samples after the warm-up: run longer")
low, high = min(after), max(after)
growth = (high - low) / low
print(f"after {warmup} s of warm-up: RSS {low} .. {high} KiB, spread {growth:.1%} (limit 10%)")
sys.exit(0 if growth <= 0.10 else 1)
PY
