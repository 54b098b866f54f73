"""Times lakegate, the DataFusion floor and DuckDB on the same generated files (see compare.sh)."""

import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(os.environ["BENCH_DIR"])
BIN = Path(os.environ["BIN"])
ROWS = [int(r) for r in os.environ["ROWS"].split()]
REPEAT = int(os.environ["REPEAT"])
NOW = "2026-01-15T12:00:00Z"

SUITE_10 = """[dataset]
name = "orders"
zone = "raw"
path = "orders"
{fmt}
[[check]]
kind = "row_count"
min = 1

[[check]]
kind = "not_null"
column = "order_id"

[[check]]
kind = "unique"
columns = ["order_id"]

[[check]]
kind = "not_null"
name = "emails"
column = "email"
max_fraction = 0.05

[[check]]
kind = "range"
column = "amount"
min = 0
max = 10000

[[check]]
kind = "range"
column = "quantity"
min = 1
max = 100

[[check]]
kind = "accepted_values"
column = "status"
values = ["placed", "shipped", "delivered", "cancelled"]

[[check]]
kind = "pattern"
column = "country"
regex = '^[A-Z]{{2}}$'

[[check]]
kind = "freshness"
column = "created_at"
max_age = "6h"

[[check]]
kind = "schema"
mode = "exact"
columns = {{ order_id = "int64", customer_id = "int64", email = "string", amount = "float64", quantity = "int32", status = "string", country = "string", created_at = "timestamp", updated_at = "timestamp" }}
"""


def suite_100(fmt: str) -> str:
    """The 10 checks plus 90 more over the same columns (distinct bounds, so none is a duplicate)."""
    out = [SUITE_10.format(fmt=fmt)]
    for i in range(90):
        k = i % 6
        if k == 0:
            out.append(f'[[check]]\nkind = "range"\nname = "amount {i}"\ncolumn = "amount"\nmin = {-i}\nmax = {10000 + i}\n')
        elif k == 1:
            out.append(f'[[check]]\nkind = "range"\nname = "quantity {i}"\ncolumn = "quantity"\nmin = 0\nmax = {100 + i}\n')
        elif k == 2:
            out.append(f'[[check]]\nkind = "not_null"\nname = "email {i}"\ncolumn = "email"\nmax_fraction = 0.{i + 10}\n')
        elif k == 3:
            out.append(f'[[check]]\nkind = "accepted_values"\nname = "status {i}"\ncolumn = "status"\nvalues = ["placed", "shipped", "delivered", "cancelled", "x{i}"]\n')
        elif k == 4:
            out.append(f'[[check]]\nkind = "expression"\nname = "updated after created {i}"\nsql = "updated_at >= created_at OR quantity > {200 + i}"\n')
        else:
            out.append(f'[[check]]\nkind = "metric"\nname = "mean amount {i}"\nsql = "avg(amount)"\nmin = {i}\nmax = 100000\n')
    return "\n".join(out)


def extra_100_sql() -> list[tuple[str, str]]:
    """(check name, DuckDB predicate of its failing rows) for the row-level checks suite_100 adds."""
    out = []
    for i in range(90):
        k = i % 6
        if k == 0:
            out.append((f"amount {i}", f"amount < {-i} OR amount > {10000 + i}"))
        elif k == 1:
            out.append((f"quantity {i}", f"quantity < 0 OR quantity > {100 + i}"))
        elif k == 2:
            out.append((f"email {i}", "email IS NULL"))
        elif k == 3:
            out.append((f"status {i}", f"status NOT IN ('placed', 'shipped', 'delivered', 'cancelled', 'x{i}')"))
        elif k == 4:
            out.append((f"updated after created {i}", f"(updated_at >= created_at OR quantity > {200 + i}) IS NOT TRUE"))
    return out


DUCK_100 = """
import duckdb, sys, json
checks = json.loads(sys.argv[2])
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
sql = "SELECT " + ", ".join(f"count(*) FILTER (WHERE {p})" for _, p in checks) + f" FROM read_parquet('{sys.argv[1]}')"
row = con.execute(sql).fetchone()
print(json.dumps({name: n for (name, _), n in zip(checks, row)}))
"""


def project(name: str, data: Path, suite: str, statistics: bool = True) -> Path:
    p = BENCH / "projects" / name
    (p / "checks").mkdir(parents=True, exist_ok=True)
    stats = "true" if statistics else "false"
    (p / "lakegate.toml").write_text(
        f'suites = ["checks/*.toml"]\n[lake]\nroot = "{data}"\n[engine]\nmemory_limit = "2GB"\nstatistics = {stats}\n'
    )
    (p / "checks" / "orders.toml").write_text(suite)
    return p


def data_dir(rows: int, csv: bool) -> Path:
    d = BENCH / "data" / f"{'csv' if csv else 'parquet'}-{rows}"
    target = d / "raw" / "orders"
    if not target.exists():
        args = [str(BIN / "lakegate-bench"), "gen", "--rows", str(rows), "--files", "8", "--out", str(BENCH / "tmp" / f"pq-{rows}")]
        if csv:
            args += ["--csv", str(target / "orders.csv")]
            subprocess.run(args, check=True)
        else:
            args[args.index("--out") + 1] = str(target)
            subprocess.run(args, check=True)
    return d


def timed(cmd: list[str], ok: tuple[int, ...] = (0,)) -> tuple[float, int, str]:
    """Best wall time of REPEAT runs (seconds), its peak RSS (MiB) and its stdout."""
    best = None
    for _ in range(REPEAT):
        r = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M"] + cmd, capture_output=True, text=True)
        if r.returncode not in ok:
            sys.exit(f"{' '.join(cmd[:3])} … exited with {r.returncode}:\n{r.stderr}")
        line = [l for l in r.stderr.splitlines() if l.startswith("TIME ")][-1].split()
        wall, rss = float(line[1]), int(line[2]) / 1024
        if best is None or wall < best[0]:
            best = (wall, rss, r.stdout)
    return best


DUCK = """
import duckdb, sys, json
src, csv = sys.argv[1], sys.argv[2] == "csv"
rel = f"read_csv_auto('{src}')" if csv else f"read_parquet('{src}')"
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
fused = con.execute(f'''SELECT count(*),
  count(*) FILTER (WHERE order_id IS NULL),
  count(*) FILTER (WHERE email IS NULL),
  count(*) FILTER (WHERE amount < 0 OR amount > 10000),
  count(*) FILTER (WHERE quantity < 1 OR quantity > 100),
  count(*) FILTER (WHERE status NOT IN ('placed','shipped','delivered','cancelled')),
  count(*) FILTER (WHERE NOT regexp_matches(country, '^[A-Z]{{2}}$')),
  max(created_at)
  FROM {rel}''').fetchone()
keys = con.execute(f'''SELECT count(*), sum(n) FROM (SELECT order_id, count(*) n FROM {rel}
  WHERE order_id IS NOT NULL GROUP BY order_id HAVING count(*) > 1)''').fetchone()
print(json.dumps({"rows": fused[0], "order_id.not_null": fused[1], "emails": fused[2], "amount.range": fused[3],
  "quantity.range": fused[4], "status.accepted_values": fused[5], "country.pattern": fused[6], "order_id.unique": int(keys[1] or 0)}))
"""


def lakegate(proj: Path):
    cmd = [str(BIN / "lakegate"), "--config", str(proj / "lakegate.toml"), "check", "--now", NOW, "--no-history", "--format", "json"]
    wall, rss, out = timed(cmd, ok=(0, 1))  # 1: some check failed, as it should
    doc = json.loads(out)
    ds = doc["datasets"][0]
    counts = {c["id"].removeprefix("orders."): c["failing_rows"] for c in ds["checks"] if c["failing_rows"] is not None}
    counts["rows"] = ds["rows"]
    return wall, rss, ds["queries"], counts


def main() -> int:
    rows_out = []
    agree = True
    for rows in ROWS:
        for csv in ([False, True] if rows == min(ROWS) else [False]):
            d = data_dir(rows, csv)
            fmt = 'format = "csv"\n' if csv else ""
            label = f"{rows:,} rows {'CSV' if csv else 'Parquet'}"
            src = str(d / "raw" / "orders" / ("orders.csv" if csv else "*.parquet"))
            floor_cmd = [str(BIN / "lakegate-bench"), "floor", str(d / "raw" / "orders" / ("orders.csv" if csv else ""))] + (["--csv"] if csv else [])
            f_wall, f_rss, _ = timed(floor_cmd)
            lw, lr, lq, lc = lakegate(project(f"p10-{rows}-{csv}", d, SUITE_10.format(fmt=fmt)))
            dw, dr, dout = timed([sys.executable, "-c", DUCK, src, "csv" if csv else "parquet"])
            duck = json.loads(dout)
            for k, v in duck.items():
                if lc.get(k) != v:
                    agree = False
                    print(f"MISMATCH {label}: {k}: lakegate {lc.get(k)} vs DuckDB {v}", file=sys.stderr)
            rows_out.append((label, "floor (DataFusion, 2 queries)", f_wall, f_rss, 2, f_wall, f_rss))
            rows_out.append((label, "lakegate, 10 checks", lw, lr, lq, f_wall, f_rss))
            if not csv:
                sw, sr, sq, sc = lakegate(project(f"p10s-{rows}", d, SUITE_10.format(fmt=fmt), statistics=False))
                if sc != lc:
                    agree = False
                    print(f"MISMATCH {label}: with statistics {lc} vs without {sc}", file=sys.stderr)
                rows_out.append((label, "lakegate, 10, no statistics", sw, sr, sq, f_wall, f_rss))
                # The 100-check suite also reads updated_at: its own floor scans that column too.
                g_wall, g_rss, _ = timed(floor_cmd + ["--also", "updated_at"])
                rows_out.append((label, "floor for 100 (+updated_at)", g_wall, g_rss, 2, g_wall, g_rss))
                hw, hr, hq, hc = lakegate(project(f"p100-{rows}", d, suite_100("")))
                rows_out.append((label, "lakegate, 100 checks", hw, hr, hq, g_wall, g_rss))
                nw, nr, nq, nc = lakegate(project(f"p100s-{rows}", d, suite_100(""), statistics=False))
                rows_out.append((label, "lakegate, 100, no statistics", nw, nr, nq, g_wall, g_rss))
                # Every count of the 100-check suite: the same with and without statistics, the
                # first ten as in the 10-check run, the other row-level ones as DuckDB counts them.
                extra = extra_100_sql()
                out = subprocess.run([sys.executable, "-c", DUCK_100, src, json.dumps(extra)], capture_output=True, text=True, check=True)
                expected = {**lc, **json.loads(out.stdout)}
                for k, v in expected.items():
                    if hc.get(k) != v or nc.get(k) != v:
                        agree = False
                        print(f"MISMATCH {label} (100 checks): {k}: lakegate {hc.get(k)} / no statistics {nc.get(k)} vs {v}", file=sys.stderr)
            rows_out.append((label, "DuckDB, hand-fused SQL", dw, dr, 2, f_wall, f_rss))
    print(f"\n{'data':<22} {'variant':<30} {'wall s':>7} {'peak MiB':>9} {'queries':>7} {'× floor time':>12} {'× floor RSS':>11}")
    for label, name, w, r, q, fw, fr in rows_out:
        print(f"{label:<22} {name:<30} {w:>7.2f} {r:>9.0f} {q:>7} {w / fw:>12.2f} {r / fr:>11.2f}")
    print(f"\nfailing-row counts (10 checks, and every row-level count of the 100-check suite): {'lakegate and DuckDB agree' if agree else 'MISMATCH (see above)'}; best of {REPEAT} runs; {os.cpu_count()} cores")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
