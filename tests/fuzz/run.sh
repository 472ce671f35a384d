#!/usr/bin/env bash
# Fuzzes a real moderato server against its own OpenAPI document with
# Schemathesis: public routes, and admin routes with the token. Fails on a
# 5xx, an answer that breaks the document (status, content type, headers,
# schema), or a response carrying an email address that a request posted.
#
# Installs the pinned Schemathesis into a virtualenv under the target dir.
# Uses an already built binary (MODERATO_BIN, default target/debug/moderato).
# FUZZ_EXAMPLES bounds the examples per operation (default 100).
set -euo pipefail
cd "$(dirname "$0")/../.."

SCHEMATHESIS_VERSION=4.32.5
TARGET=${CARGO_TARGET_DIR:-target}
VENV="$TARGET/fuzz-venv"
BIN=${MODERATO_BIN:-$TARGET/debug/moderato}
EXAMPLES=${FUZZ_EXAMPLES:-100}
TOKEN=fuzz-admin-token-0123456789abcdef

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

DATA=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
MODERATO_LISTEN=127.0.0.1:$PORT MODERATO_DATA_DIR="$DATA/data" MODERATO_ADMIN_TOKEN=$TOKEN \
  MODERATO_RATE_LIMITS_ENABLED=false MODERATO_MODERATION=rules MODERATO_RULES_DIR=rules \
  RUST_LOG=warn "$BIN" 2> "$DATA/server.log" &
SERVER=$!
cleanup() {
  kill -TERM "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  rm -rf "$DATA"
}
trap cleanup EXIT
healthy=
for _ in $(seq 600); do
  if curl -fs "http://127.0.0.1:$PORT/healthz" > /dev/null; then healthy=1; break; fi
  sleep 0.1
done
if [ -z "$healthy" ]; then
  echo "moderato did not become healthy on port $PORT:" >&2
  cat "$DATA/server.log" >&2
  exit 1
fi

# A few stored comments (one imported, so the import route has a known
# line), and their id for the routes that take one.
BASE=http://127.0.0.1:$PORT
for i in 1 2 3; do
  curl -fs "$BASE/api/comments" -H 'content-type: application/json' \
    -d "{\"page\":\"/fuzz/\",\"author\":\"Seed $i\",\"email\":\"seed$i@example.org\",\"comment\":\"A seed comment, number $i.\"}" \
    > "$DATA/created.json"
done
ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$DATA/created.json")
cat > "$DATA/schemathesis.toml" <<TOML
[parameters]
"path.id" = "$ID"
TOML

started=$(date +%s)
status=0
SCHEMATHESIS_HOOKS=hooks PYTHONPATH=tests/fuzz "$VENV/bin/schemathesis" \
  --config-file "$DATA/schemathesis.toml" run \
  "http://127.0.0.1:$PORT/openapi.json" \
  --header "Authorization: Bearer $TOKEN" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,no_posted_email_in_response \
  --phases examples,coverage,fuzzing \
  --max-examples "$EXAMPLES" \
  --seed "${FUZZ_SEED:-15}" \
  --workers 2 \
  --request-timeout 10 \
  --generation-database none \
  --no-color \
  --report junit --report-dir "$TARGET/fuzz-report" || status=$?
echo "schemathesis: ${EXAMPLES} examples per operation, $(( $(date +%s) - started )) s, exit $status"
if grep -q "panicked\|internal error" "$DATA/server.log"; then
  echo "the server logged an internal error:" >&2
  grep "panicked\|internal error" "$DATA/server.log" | head -20 >&2
  status=1
fi
exit $status
