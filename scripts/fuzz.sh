#!/usr/bin/env bash
# Builds the fuzz targets in fuzz/ (cargo-fuzz, libFuzzer, nightly) and runs each for SECONDS
# (default 15) over its saved corpus (fuzz/corpus/<target>/, replayed first). Fails on any
# crash, timeout or out-of-memory; the failing input is left in fuzz/artifacts/<target>/.
#   scripts/fuzz.sh 600          # ten minutes per target
#   FUZZ_TARGETS="patch dns" scripts/fuzz.sh 3600
set -euo pipefail
# What the fuzz targets need: a nightly toolchain and cargo-fuzz (installed when missing).
if command -v rustup >/dev/null && ! rustup toolchain list | grep -q '^nightly'; then
  rustup toolchain install nightly --profile minimal
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cd "$(dirname "$0")/../fuzz"
secs="${1:-15}"
# The nightly, instrumented build has a target dir of its own (never the stable one's files).
export CARGO_TARGET_DIR="${ORDO_FUZZ_TARGET_DIR:-$PWD/../target/fuzz}"
cargo +nightly fuzz build
targets="${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}"
failed=()
for t in $targets; do
  # New inputs found go to a scratch corpus; the committed seeds stay as they are.
  work="$(mktemp -d)"
  echo "== fuzz $t for ${secs}s"
  if ! cargo +nightly fuzz run "$t" "$work" "corpus/$t" -- \
      -max_total_time="$secs" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 \
      -max_len=65536 -print_final_stats=1 2>"$work.log"; then
    tail -40 "$work.log"
    failed+=("$t")
  else
    grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|Done)" "$work.log" || true
  fi
  rm -rf "$work" "$work.log"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz targets failed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
