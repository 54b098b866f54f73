#!/usr/bin/env bash
# An incremental re-check after one appended file, side by side with a full check (issue #17).
#
#   bash benches/incremental.sh                            # 100 files × 1M rows, then one more file
#   FILES=10 ROWS_PER_FILE=100000 bash benches/incremental.sh   # a quick run
#
# Builds release binaries, generates the `orders` data once (deterministic, `lakegate-bench gen`;
# kept under $BENCH_DIR with the file to append beside it), then with the 10-check suite of
# compare.sh: a full `check`, an `--incremental` run that builds the per-file states, and after
# appending one file the `--incremental` and the `--full` run, best of $REPEAT each (the states are
# put back as they were before the append ahead of every incremental run, so each one has exactly
# one new file to read). Prints wall time, peak RSS (/usr/bin/time), the incremental run's
# files_scanned/files_reused, the ratio, and whether both runs' answers agree (exit 1 if not).
# A measurement, not a test: nothing is asserted on time.
set -euo pipefail
cd "$(dirname "$0")/.."
export BENCH_DIR="${BENCH_DIR:-/tmp/lakegate-incremental-bench}"
export FILES="${FILES:-100}"
export ROWS_PER_FILE="${ROWS_PER_FILE:-1000000}"
export REPEAT="${REPEAT:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lakegate-release}"
mkdir -p "$BENCH_DIR"

cargo build --release --locked --bin lakegate
cargo build --release --locked -p lakegate-bench
export BIN="$CARGO_TARGET_DIR/release"
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }

exec python3 benches/incremental.py
