#!/usr/bin/env bash
# The benchmark's 10-check suite in this process, on a Ballista cluster of 1 executor and of 2,
# side by side in one run on the same files (docs/scale.md).
#
#   bash benches/cluster.sh                  # 10M rows (Parquet, 8 files) and 1M rows CSV
#   ROWS=1000000 bash benches/cluster.sh     # a quicker run
#   PROFILE=dev bash benches/cluster.sh      # the debug build the tests use (no release build)
#
# Builds release binaries (lakegate, lakegate-executor, lakegate-bench), generates the data once
# (deterministic; kept under $BENCH_DIR), starts a scheduler and executors of `lakegate-executor`
# on 127.0.0.1, and times each variant as a whole `lakegate check` process (best of $REPEAT): wall
# time, peak RSS of the client, and the ratio to the local run. Every variant's failing-row counts
# must agree (exit 1 if not). A measurement, not a test: nothing is asserted on time.
set -euo pipefail
cd "$(dirname "$0")/.."
export BENCH_DIR="${BENCH_DIR:-/tmp/lakegate-cluster-bench}"
export ROWS="${ROWS:-10000000}"
export REPEAT="${REPEAT:-3}"
PROFILE="${PROFILE:-release}"
if [ "$PROFILE" = dev ]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lakegate-target}"
  OUT=debug
else
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lakegate-release}"
  OUT=release
fi
mkdir -p "$BENCH_DIR"

# One command for the three binaries: the features cargo unifies stay the same for all of them
# (for dev, the command the tests build with, so that the test build is reused).
if [ "$PROFILE" = dev ]; then
  cargo build --locked --workspace --all-targets
else
  cargo build --profile "$PROFILE" --locked --bin lakegate --bin lakegate-executor -p lakegate -p lakegate-bench
fi
export BIN="$CARGO_TARGET_DIR/$OUT"
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }

exec python3 benches/cluster.py
