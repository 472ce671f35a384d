#!/usr/bin/env bash
# The one command that runs every test on a fresh machine (see README.md):
# unit and HTTP integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --locked
