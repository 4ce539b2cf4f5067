#!/usr/bin/env bash
# Fresh machine → a running ordo server with the embedded SQLite store and real pods (runc).
# Installs what is missing, builds the release binary and the local test images (busybox, nginx
# from Debian packages; placed in the server's auto-import folder), then runs `ordo server` in the
# foreground (Ctrl-C stops it). Extra arguments are passed to `ordo server`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --release --bin ordo
data_dir=${ORDO_DATA_DIR:-/var/lib/ordo}
bash images/build.sh target/test-images
mkdir -p "$data_dir/images/import"
cp target/test-images/*.tar "$data_dir/images/import/"
exec ./target/release/ordo server --data-dir "$data_dir" "$@"
