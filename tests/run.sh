#!/usr/bin/env bash
# The one command that runs every test on a fresh machine (see README.md):
# unit and HTTP integration tests, then the browser tests of the embed in
# headless Chromium (installed from Debian's packages when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --locked
# `cargo test` built target/debug/moderato; the browser tests drive it.
cargo build --locked --bin moderato
bash tests/browser/run.sh
