#!/usr/bin/env bash
# lakegate vs the engine floor vs DuckDB, side by side in one run on the same files.
#
#   bash benches/compare.sh                # 1M and 10M rows (Parquet), 1M rows CSV
#   ROWS="1000000" bash benches/compare.sh # a quicker run
#
# Builds release binaries, generates the data once (deterministic; kept under $BENCH_DIR), installs
# DuckDB from PyPI into a venv there, then times every variant as a whole process and prints wall
# time, peak RSS and the ratio to the floor. See docs/performance.md for the method.
set -euo pipefail
cd "$(dirname "$0")/.."
export BENCH_DIR="${BENCH_DIR:-/tmp/lakegate-bench}"
export ROWS="${ROWS:-1000000 10000000}"
export REPEAT="${REPEAT:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lakegate-release}"
mkdir -p "$BENCH_DIR"

cargo build --release --locked --bin lakegate
cargo build --release --locked -p lakegate-bench
export BIN="$CARGO_TARGET_DIR/release"

if [ ! -x "$BENCH_DIR/venv/bin/python" ]; then
  python3 -m venv "$BENCH_DIR/venv"
  "$BENCH_DIR/venv/bin/pip" install --quiet duckdb
fi
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }

exec "$BENCH_DIR/venv/bin/python" benches/compare.py
