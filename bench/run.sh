#!/usr/bin/env bash
# Builds release binaries once and runs every ordo benchmark; RESULT lines are also appended to
# target/bench-results.txt. Usage: bench/run.sh [quick]   (quick = smaller sizes, fewer runs)
# The runc benchmark runs only as root with runc installed; etcd only with /usr/bin/etcd.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release -p ordo -p ordo-bench --bins
B=target/release/ordo-bench
out=target/bench-results.txt
sizes=1000,10000,20000; runs=5; startups=10; samples=20
if [ "${1:-}" = quick ]; then sizes=1000; runs=2; startups=3; samples=5; fi
run() {
    echo "# $(date -u +%FT%TZ) loadavg $(cut -d' ' -f1-3 /proc/loadavg): $*" | tee -a "$out"
    "$B" "$@" | tee -a "$out"
}
run startup --runs "$startups"
run idle-rss --runtime sim
run get-patch --objects "$sizes"
run list --sizes "$sizes" --runs "$runs"
run statefulset --replicas 1000 --policy Parallel
run statefulset --replicas 100 --policy OrderedReady
run watch --watchers 100 --changes 1000
run rss-pods --sizes "$sizes"
run store --engine sqlite --sizes "$sizes"
if [ -x "${ORDO_ETCD_BIN:-/usr/bin/etcd}" ]; then run store --engine etcd --sizes "$sizes"; fi
if [ "$(id -u)" = 0 ] && command -v runc >/dev/null; then
    run idle-rss --runtime runc
    run runc --samples "$samples"
fi
