#!/usr/bin/env bash
# Import benchmark of the release build (see BENCHMARKS.md, "Import"):
#
#   benches/import.sh            # SIZE_MB=200 CACHE_MB=64
#
# Writes a synthetic WordPress export of SIZE_MB (examples/gen_wxr.rs, the
# same file for the same size), imports it with `moderato import` into a
# fresh data directory, stored for real (read through, parsed, sanitized,
# sealed, stored, flushed), and prints the command's report line, the wall
# time, the comments per second and the peak resident memory (GNU time's
# maximum RSS). Then a second import of the same file (adds nothing) and a
# dry run. The temporary directory is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MB=${SIZE_MB:-200}
CACHE_MB=${CACHE_MB:-64}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}

cargo build --release --quiet --bin moderato --example gen_wxr
BIN=$CARGO_TARGET_DIR/release/moderato
if [ "$(id -u)" = 0 ] && ! [ -x /usr/bin/time ] && command -v apt-get >/dev/null; then
    apt-get install -y time >/dev/null
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
FILE=$WORK/wxr-${SIZE_MB}mb.xml
"$CARGO_TARGET_DIR/release/examples/gen_wxr" "$SIZE_MB" "$FILE" >/dev/null
printf 'data_dir = "%s"\ncache_capacity_mb = %s\n' "$WORK/data" "$CACHE_MB" >"$WORK/moderato.toml"

if pgrep -x rustc >/dev/null; then
    echo "note: rustc is running: figures taken on a busy machine"
fi

run() {
    local label=$1
    shift
    /usr/bin/time -f '%e %M' -o "$WORK/time" "$BIN" --config "$WORK/moderato.toml" \
        import "$FILE" --json "$@" >"$WORK/report" 2>"$WORK/log"
    read -r seconds rss_kib <"$WORK/time"
    local comments
    comments=$(grep -o '"imported":[0-9]*' "$WORK/report" | cut -d: -f2)
    local present
    present=$(grep -o '"already_present":[0-9]*' "$WORK/report" | cut -d: -f2)
    local rate
    rate=$(awk -v n="$((comments + present))" -v s="$seconds" 'BEGIN { printf "%.0f", n / s }')
    printf '%-22s %8s imported %8s present %7.2f s %7s comments/s  peak RSS %6.1f MB\n' \
        "$label" "$comments" "$present" "$seconds" "$rate" "$(awk -v k="$rss_kib" 'BEGIN { print k / 1024 }')"
}

echo "file: $(du -m "$FILE" | cut -f1) MB, sled cache ${CACHE_MB} MiB"
run "import"
echo "db on disk: $(du -sm "$WORK/data/db" | cut -f1) MB"
run "second import"
run "dry run" --dry-run
