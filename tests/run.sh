#!/usr/bin/env bash
# The one command that runs every test on a fresh machine (see README.md):
# unit and HTTP integration tests, then Schemathesis against a running
# server (installed from PyPI into a virtualenv when missing), then the
# browser tests of the embed in headless Chromium (installed from Debian's
# packages when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --locked
# `cargo test` built target/debug/moderato; the fuzzer and the browser
# tests drive it.
cargo build --locked --bin moderato
bash tests/fuzz/run.sh
bash tests/browser/run.sh
