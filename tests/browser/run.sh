#!/usr/bin/env bash
# Runs the embed's browser tests against an already built binary
# (MODERATO_BIN, default $CARGO_TARGET_DIR/debug/moderato or
# target/debug/moderato; this script builds nothing).
# Installs what is missing: Debian's Chromium and the pinned playwright-core.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -x "${CHROMIUM_BIN:-/usr/bin/chromium}" ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver
fi
if [ ! -d tests/browser/node_modules/playwright-core ] || [ ! -d tests/browser/node_modules/axe-core ]; then
  (cd tests/browser && npm ci --no-audit --no-fund)
fi
node --test --test-concurrency=1 tests/browser/
