#!/usr/bin/env bash
# Runs every test: unit, integration (both store engines, API server in-process) and
# end-to-end (real `ordo server` processes driven by the real kubectl).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --tests --workspace
cargo test --workspace --no-fail-fast -- --test-threads=2
