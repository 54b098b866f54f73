"""Times the 10-check suite here and on Ballista clusters of 1 and 2 executors (see cluster.sh)."""

import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import compare  # noqa: E402  (BENCH_DIR, BIN, ROWS and REPEAT come from the environment too)

BENCH = Path(os.environ["BENCH_DIR"])
BIN = Path(os.environ["BIN"])
ROWS = int(os.environ["ROWS"].split()[0])
NOW = compare.NOW


def wait_line(proc: subprocess.Popen, prefix: str) -> str:
    for line in proc.stdout:
        if line.startswith(prefix):
            return line.strip()
    sys.exit(f"lakegate-executor exited before printing {prefix}")


def start_cluster(executors: int):
    work = Path(tempfile.mkdtemp(prefix="lakegate-cluster-", dir=BENCH))
    sched = subprocess.Popen([str(BIN / "lakegate-executor"), "scheduler", "--port", "0"], stdout=subprocess.PIPE, text=True)
    port = re.search(r"port=(\d+)", wait_line(sched, "SCHEDULER_READY")).group(1)
    procs = [sched]
    for i in range(executors):
        e = subprocess.Popen(
            [str(BIN / "lakegate-executor"), "executor", "--scheduler", f"127.0.0.1:{port}", "--work-dir", str(work / f"e{i}")],
            stdout=subprocess.PIPE,
            text=True,
        )
        wait_line(e, "EXECUTOR_READY")
        procs.append(e)
    urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5).read()
    return f"ballista://127.0.0.1:{port}", procs


def run(proj: Path, engine: str | None):
    cmd = [str(BIN / "lakegate"), "--config", str(proj / "lakegate.toml"), "check", "--now", NOW, "--no-history", "--format", "json"]
    if engine:
        cmd += ["--engine", engine]
    wall, rss, out = compare.timed(cmd, ok=(0, 1))
    ds = json.loads(out)["datasets"][0]
    counts = {c["id"]: c["failing_rows"] for c in ds["checks"]}
    counts["rows"] = ds["rows"]
    return wall, rss, counts


def main() -> int:
    lines, agree = [], True
    for csv in (False, True):
        rows = ROWS if not csv else min(ROWS, 1_000_000)
        d = compare.data_dir(rows, csv)
        proj = compare.project(f"cluster-{rows}-{csv}", d, compare.SUITE_10.format(fmt='format = "csv"\n' if csv else ""))
        label = f"{rows:,} rows {'CSV' if csv else 'Parquet'}"
        base_wall, base_rss, base = run(proj, None)
        lines.append((label, "here (local engine)", base_wall, base_rss, base_wall))
        for n in (1, 2):
            url, procs = start_cluster(n)
            try:
                w, r, counts = run(proj, url)
            finally:
                for p in procs:
                    p.kill()
                    p.wait()
            if counts != base:
                agree = False
                print(f"MISMATCH {label}, {n} executor(s): {counts} vs {base}", file=sys.stderr)
            lines.append((label, f"Ballista, {n} executor{'s' if n > 1 else ''}", w, r, base_wall))
    print(f"\n{'data':<24} {'variant':<24} {'wall s':>7} {'client MiB':>10} {'× here':>7}")
    for label, name, w, r, base in lines:
        print(f"{label:<24} {name:<24} {w:>7.2f} {r:>10.0f} {w / base:>7.2f}")
    print(f"\nfailing-row counts: {'identical in every variant' if agree else 'MISMATCH (see above)'}; best of {compare.REPEAT} runs; {os.cpu_count()} cores, scheduler, executors and client on this machine")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
