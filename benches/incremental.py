"""Times an incremental re-check after one appended file against a full check (see incremental.sh)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

BENCH = Path(os.environ["BENCH_DIR"])
BIN = Path(os.environ["BIN"])
FILES = int(os.environ["FILES"])
ROWS_PER_FILE = int(os.environ["ROWS_PER_FILE"])
REPEAT = int(os.environ["REPEAT"])
NOW = "2026-01-15T12:00:00Z"

# The 10-check suite of benches/compare.sh, so the full run here is the one docs/performance.md
# already measures at 1M and 10M rows.
os.environ.setdefault("ROWS", "0")
sys.path.insert(0, str(Path(__file__).parent))
from compare import SUITE_10  # noqa: E402

DATA = BENCH / "data"
ORDERS = DATA / "raw" / "orders"
APPENDED = ORDERS / f"part-{FILES:03}.parquet"
PROJECT = BENCH / "project"
HISTORY = PROJECT / "history"
STATES = HISTORY / "incremental"
SAVED = BENCH / "states-before-append"


def gen(rows: int, files: int, out: Path, first: int = 0) -> None:
    subprocess.run(
        [str(BIN / "lakegate-bench"), "gen", "--rows", str(rows), "--files", str(files), "--first-file", str(first), "--out", str(out)],
        check=True,
    )


def data() -> None:
    """FILES files of ROWS_PER_FILE rows, and the next file aside (generated once, kept)."""
    if not (ORDERS / f"part-{FILES - 1:03}.parquet").exists():
        gen(FILES * ROWS_PER_FILE, FILES, ORDERS)
    spare = BENCH / "next" / APPENDED.name
    if not spare.exists():
        gen(ROWS_PER_FILE, 1, spare.parent, first=FILES)
    APPENDED.unlink(missing_ok=True)


def project() -> None:
    shutil.rmtree(PROJECT, ignore_errors=True)
    (PROJECT / "checks").mkdir(parents=True)
    (PROJECT / "lakegate.toml").write_text(
        f'suites = ["checks/*.toml"]\n[lake]\nroot = "{DATA}"\n[engine]\nmemory_limit = "2GB"\n[history]\ndir = "{HISTORY}"\n'
    )
    (PROJECT / "checks" / "orders.toml").write_text(SUITE_10.format(fmt=""))


def run(mode: str) -> tuple[float, int, dict]:
    """One `check MODE` as a whole process: wall seconds, peak RSS (MiB), the JSON result."""
    cmd = [str(BIN / "lakegate"), "--config", str(PROJECT / "lakegate.toml"), "check", mode, "--now", NOW, "--format", "json", "--no-alerts"]
    r = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M"] + cmd, capture_output=True, text=True)
    if r.returncode not in (0, 1):  # 1: some check failed, as it should
        sys.exit(f"check {mode} exited with {r.returncode}:\n{r.stderr}")
    line = [l for l in r.stderr.splitlines() if l.startswith("TIME ")][-1].split()
    return float(line[1]), int(line[2]) // 1024, json.loads(r.stdout)


def best(mode: str, before=None) -> tuple[float, int, dict]:
    """Best wall time of REPEAT runs (`before` runs untimed ahead of each) and that run's RSS and result."""
    out = None
    for _ in range(REPEAT):
        if before:
            before()
        t = run(mode)
        if out is None or t[0] < out[0]:
            out = t
    return out


def restore_states() -> None:
    """The states as they were before the append, so every timed run has exactly one new file."""
    shutil.rmtree(STATES)
    shutil.copytree(SAVED, STATES)


def answers(result: dict) -> dict:
    ds = result["datasets"][0]
    return {"rows": ds["rows"], **{c["id"]: (c["status"], c["failing_rows"], c["observed"]) for c in ds["checks"]}}


def counts(result: dict) -> str:
    inc = result["datasets"][0].get("incremental")
    return f"{inc['files_scanned']}/{inc['files_reused']}" if inc else "-"


def main() -> int:
    data()
    project()
    rows_out = []
    # A full check of FILES files, then the incremental run that builds the states (both untimed
    # beyond one run: they are context, not the comparison).
    rows_out.append((f"full, {FILES} files", *run("--full")))
    rows_out.append((f"incremental, first (builds states), {FILES} files", *run("--incremental")))
    shutil.rmtree(SAVED, ignore_errors=True)
    shutil.copytree(STATES, SAVED)
    shutil.copy2(BENCH / "next" / APPENDED.name, APPENDED)
    inc = best("--incremental", before=restore_states)
    full = best("--full")
    rows_out.append((f"incremental, +1 file ({FILES + 1} files)", *inc))
    rows_out.append((f"full, +1 file ({FILES + 1} files)", *full))
    APPENDED.unlink()

    agree = answers(inc[2]) == answers(full[2])
    if not agree:
        for k, v in answers(full[2]).items():
            if answers(inc[2]).get(k) != v:
                print(f"MISMATCH {k}: incremental {answers(inc[2]).get(k)} vs full {v}", file=sys.stderr)
    total = (FILES + 1) * ROWS_PER_FILE
    print(f"\n{'run':<46} {'wall s':>7} {'peak MiB':>9} {'scanned/reused':>15} {'rows':>12}")
    for name, wall, rss, result in rows_out:
        print(f"{name:<46} {wall:>7.2f} {rss:>9} {counts(result):>15} {result['datasets'][0]['rows']:>12,}")
    print(
        f"\nincremental / full after one appended file: {inc[0] / full[0]:.3f} of the time "
        f"({inc[0]:.2f} s vs {full[0]:.2f} s), {inc[1] / full[1]:.2f} of the peak RSS; "
        f"files_scanned {inc[2]['datasets'][0]['incremental']['files_scanned']} "
        f"({ROWS_PER_FILE:,} of {total:,} rows)"
    )
    print(f"answers: {'incremental and full agree' if agree else 'MISMATCH (see above)'}; best of {REPEAT} runs; {os.cpu_count()} cores")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
