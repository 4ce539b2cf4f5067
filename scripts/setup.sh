#!/usr/bin/env bash
# Fresh machine → a running ordo server with the embedded SQLite store.
# Installs what is missing, builds the release binary, then runs `ordo server` in the foreground
# (Ctrl-C stops it). Extra arguments are passed to `ordo server`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --release --bin ordo
exec ./target/release/ordo server "$@"
