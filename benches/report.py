"""Times the HTML report over a generated history (see benches/report.sh for how to run it).

The history has RUNS runs, one minute apart, of dataset `d` (checks `d.a.not_null`, `d.b.range`)
and dataset `e` (check `e.x.not_null`), some failing, written as `lakegate check` writes them. Then,
each as a whole process with the release binary, best and median of REPEAT:

- full report: `lakegate report --dir site` into an empty directory (every page written);
- rebuild, nothing changed: the same over the finished site (every page rendered, none rewritten);
- check + report update: `lakegate check --report site` of `d` (a 2-row CSV), recorded in the
  history, which updates the site incrementally;
- check, no report: the same without `--report`.

The last two differ by the cost of the report update; each adds a run to the history.
"""

import datetime
import json
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path

BENCH = Path(os.environ["BENCH_DIR"])
RUNS = int(os.environ["RUNS"])
REPEAT = int(os.environ["REPEAT"])
BIN = os.environ["LAKEGATE"]
PROJECT = BENCH / f"project-{RUNS}"


def generate():
    """The project and its history (kept between invocations: generation is deterministic)."""
    done = PROJECT / ".generated"
    if done.exists():
        return
    shutil.rmtree(PROJECT, ignore_errors=True)
    (PROJECT / "checks").mkdir(parents=True)
    (PROJECT / "lake/raw/d").mkdir(parents=True)
    (PROJECT / "lakegate.toml").write_text('suites = ["checks/*.toml"]\n\n[lake]\nroot = "lake"\n')
    (PROJECT / "checks/d.toml").write_text(
        '[dataset]\nname = "d"\nzone = "raw"\npath = "d"\n\n[[check]]\nkind = "not_null"\ncolumn = "a"\n\n'
        '[[check]]\nkind = "range"\ncolumn = "b"\nmin = 0\nmax = 1\n'
    )
    (PROJECT / "lake/raw/d/part.csv").write_text("a,b\n1,0\n2,5\n")
    history = PROJECT / ".lakegate/history"
    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
    for i in range(RUNS):
        t = start + datetime.timedelta(minutes=i)
        ts = t.strftime("%Y-%m-%dT%H:%M:%SZ")
        run_id = f"gen-{i:05}"
        date = t.strftime("%Y-%m-%d")
        failing = i % 7 == 0
        for dataset, checks in (("d", ["d.a.not_null", "d.b.range"]), ("e", ["e.x.not_null"])):
            lines = []
            for cid in checks:
                bad = failing and cid.endswith("range")
                lines.append(json.dumps({
                    "run_id": run_id, "dataset": dataset, "started_at": ts, "check_id": cid,
                    "name": cid, "kind": "range" if cid.endswith("range") else "not_null",
                    "column": None, "severity": "error", "status": "fail" if bad else "pass",
                    "failing_rows": 3 if bad else 0, "failing_fraction": 0.03 if bad else 0.0,
                    "value": 3.0 if bad else 0.0, "message": "generated", "limit_max": 0.0,
                }))
            d = history / "checks" / dataset / date
            d.mkdir(parents=True, exist_ok=True)
            (d / f"{run_id}.json").write_text("\n".join(lines) + "\n")
            bad = failing and dataset == "d"
            record = {
                "run_id": run_id, "command": "check", "dataset": dataset, "zone": "raw",
                "location": f"lake/raw/{dataset}", "started_at": ts, "finished_at": ts,
                "status": "fail" if bad else "pass", "rows": 100, "files": 1, "queries": 1,
                "duration_ms": 5, "checks": len(checks), "passed": len(checks) - int(bad),
                "warned": 0, "failed": int(bad), "errored": 0, "schema_version": 1, "error": None,
            }
            d = history / "runs" / dataset / date
            d.mkdir(parents=True, exist_ok=True)
            (d / f"{run_id}.json").write_text(json.dumps(record) + "\n")
    done.write_text("")


def timed(args, prepare=None):
    times = []
    for _ in range(REPEAT):
        if prepare:
            prepare()
        t0 = time.perf_counter()
        r = subprocess.run([BIN, *args], cwd=PROJECT, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if r.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(args)} exited {r.returncode}:\n{r.stderr}")
    return min(times), statistics.median(times)


def main():
    generate()
    site = PROJECT / "site"
    rows = []
    rows.append(("full report (empty site)", *timed(["report", "--dir", "site"],
                                                     lambda: shutil.rmtree(site, ignore_errors=True))))
    pages = sum(1 for p in site.rglob("*.html"))
    rows.append(("rebuild, nothing changed", *timed(["report", "--dir", "site"])))
    # Each update extends the site that the previous one left (so each is incremental); a run
    # recorded without --report would make the next update a rebuild, so those come last.
    rows.append(("check + report update", *timed(["check", "--quiet", "--report", "site"])))
    rows.append(("check, no report", *timed(["check", "--quiet"])))
    runs = len(list((PROJECT / ".lakegate/history/runs/d").rglob("*.json")))
    print(f"history: {RUNS} generated runs x 2 datasets (now {runs} runs of d); site: {pages} pages")
    print(f"{'step':<28} {'best':>9} {'median':>9}   (of {REPEAT})")
    for name, best, median in rows:
        print(f"{name:<28} {best * 1000:>7.0f}ms {median * 1000:>7.0f}ms")


main()
