#!/usr/bin/env bash
# The HTML report's update speed: a full `lakegate report` over a history of 10,000 runs of 2
# datasets, against one more `check --report` run updating that site, with the release binary.
#
#   bash benches/report.sh                 # 10,000 runs
#   RUNS=1000 REPEAT=3 bash benches/report.sh
#
# Builds the release binary, generates the history once (deterministic; under $BENCH_DIR), then times
# each step as a whole process and prints the table docs/performance.md quotes. No step is asserted
# on time: this is a measurement, not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
export BENCH_DIR="${BENCH_DIR:-/tmp/lakegate-report-bench}"
export RUNS="${RUNS:-10000}"
export REPEAT="${REPEAT:-5}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lakegate-release}"
cargo build --release --locked --bin lakegate
export LAKEGATE="$CARGO_TARGET_DIR/release/lakegate"
exec python3 benches/report.py
