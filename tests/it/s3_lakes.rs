//! Whole lakes on an S3-compatible store (moto on 127.0.0.1, see `s3.rs`): the demo lake with
//! every demo suite, and the benchmark's data with its 10-check suite, give the same result JSON
//! on the store as on disk — every check's status, failing rows, observed and expected values,
//! message and sample, and how each was answered. Only what differs by nature is removed: run ids,
//! times, durations, and the lake's root in paths.

use std::path::Path;

use serde_json::Value;

use crate::s3::{LOCAL_ROOT, Moto, borrowed, same_json};
use crate::support::{Project, repo};

/// A project whose lake root is `root`, with the repository's demo suites.
pub fn demo_project(root: &str) -> Project {
    let p = Project::new();
    let config = std::fs::read_to_string(repo().join("lakegate.toml")).unwrap();
    assert!(config.contains("root = \"fixtures/lake\""), "{config}");
    p.file(
        "lakegate.toml",
        &config.replace("root = \"fixtures/lake\"", &format!("root = \"{root}\"")),
    );
    for entry in std::fs::read_dir(repo().join("checks")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        p.file(&format!("checks/{name}"), &std::fs::read_to_string(&path).unwrap());
    }
    p
}

#[test]
fn every_demo_suite_answers_on_s3_as_on_disk() {
    let moto = Moto::start();
    let local = demo_project(LOCAL_ROOT);
    let lake = local.path().join(LOCAL_ROOT);
    crate::fixtures::write_lake(&lake);
    moto.upload("demo", &lake, "fixtures/lake");
    let env = moto.env();
    let env = borrowed(&env);
    let remote = demo_project("s3://demo/fixtures/lake");

    let all = same_json(
        &local,
        (&remote, "s3://demo/fixtures/lake"),
        &env,
        &["check", "--no-history", "--format", "json"],
    );
    // Every demo dataset was read (Parquet, CSV with null markers, NDJSON with hive partitions),
    // and the demo's defects were found.
    let datasets: Vec<(&str, &str)> = all["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["name"].as_str().unwrap(), d["format"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        datasets,
        [("customers", "csv"), ("events", "json"), ("orders", "parquet")],
        "{all}"
    );
    assert_eq!(all["datasets"][0]["location"], "<lake>/raw/customers");
    let failed = all.to_string().matches("\"status\":\"fail\"").count();
    assert!(failed >= 5, "the demo's defects: {all}");

    // One suite at a time, and the other ways of reading: the same answers.
    for name in ["customers", "events", "orders"] {
        same_json(
            &local,
            (&remote, "s3://demo/fixtures/lake"),
            &env,
            &["check", name, "--no-history", "--format", "json"],
        );
    }
    let v = remote.run_env(&["validate"], &env);
    assert_eq!(v.code, 0, "{}", v.stderr);
    for name in ["customers", "events", "orders"] {
        let a = local.run(&["explain", name]);
        let b = remote.run_env(&["explain", name], &env);
        assert_eq!((a.code, b.code), (0, 0), "{}\n{}", a.stderr, b.stderr);
        assert_eq!(
            a.stdout.replace(&format!("{LOCAL_ROOT}/"), "<lake>/"),
            b.stdout.replace("s3://demo/fixtures/lake/", "<lake>/"),
            "explain {name}"
        );
        let a = local.run(&["suggest", name]);
        let b = remote.run_env(&["suggest", name], &env);
        assert_eq!((a.code, b.code), (0, 0), "{}\n{}", a.stderr, b.stderr);
        assert_eq!(
            a.stdout.replace(&format!("{LOCAL_ROOT}/"), "<lake>/"),
            b.stdout.replace("s3://demo/fixtures/lake/", "<lake>/"),
            "suggest {name}"
        );
    }
    // The path form names the data itself: an object prefix on S3 as a directory on disk.
    for rel in ["raw/orders", "raw/customers", "raw/events/*/*.json"] {
        let (here, there) = (format!("{LOCAL_ROOT}/{rel}"), format!("s3://demo/fixtures/lake/{rel}"));
        let a = local.run(&["suggest", &here]);
        let b = remote.run_env(&["suggest", &there], &env);
        assert_eq!((a.code, b.code), (0, 0), "{}\n{}", a.stderr, b.stderr);
        assert!(a.stdout.contains("[[check]]"), "{}", a.stdout);
        // Comments wrap at 100 columns: the targets' lengths differ, so compare them unwrapped.
        let unwrapped = |s: &str, target: &str| s.replace("\n#   ", " ").replace(target, "<target>");
        assert_eq!(
            unwrapped(&a.stdout, &here),
            unwrapped(&b.stdout, &there),
            "suggest {rel}"
        );
    }
}

/// Each dataset's checks without what an incremental run adds (how a check was merged, the
/// schema version it accepted).
fn checks_of(v: &Value) -> Vec<(String, Value)> {
    v["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let checks: Vec<Value> = d["checks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    let mut c = c.clone();
                    let m = c.as_object_mut().unwrap();
                    m.remove("merged");
                    if let Some(o) = m.get_mut("observed").and_then(Value::as_object_mut) {
                        o.remove("accepted_version");
                    }
                    c
                })
                .collect();
            (d["name"].as_str().unwrap().to_string(), Value::Array(checks))
        })
        .collect()
}

#[test]
fn incremental_runs_of_the_demo_lake_on_s3_reuse_objects_as_on_disk_with_a_full_scans_answers() {
    let moto = Moto::start();
    let local = demo_project(LOCAL_ROOT);
    let lake = local.path().join(LOCAL_ROOT);
    crate::fixtures::write_lake(&lake);
    moto.upload("demo", &lake, "lake");
    let env = moto.env();
    let env = borrowed(&env);
    let remote = demo_project("s3://demo/lake");
    // Each run on disk and on the store: the same files read and reused, the same answers.
    let both = |args: &[&str]| {
        let (a, b) = (local.run(args), remote.run_env(args, &env));
        assert_eq!((a.code, b.code), (1, 1), "{}\n{}", a.stderr, b.stderr);
        let (a, b) = (a.json(), b.json());
        let inc = |v: &Value| -> Vec<Value> {
            v["datasets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["incremental"].clone())
                .collect()
        };
        assert_eq!(inc(&a), inc(&b));
        assert_eq!(checks_of(&a), checks_of(&b));
        b
    };
    let reused = |v: &Value, name: &str| crate::support::dataset(v, name)["incremental"]["files_reused"].clone();
    both(&["check", "--incremental", "--format", "json"]);
    let second = both(&["check", "--incremental", "--format", "json"]);
    for name in ["customers", "events", "orders"] {
        assert_eq!(reused(&second, name), 2, "{name}: {second}");
    }
    // New objects: a CSV export whose customer 30 repeats, and a day of events.
    let write = |rel: &str, text: &str| {
        let path = lake.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        let only = tempfile::tempdir().unwrap();
        let copy = only.path().join(rel);
        std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
        std::fs::write(copy, text).unwrap();
        moto.upload("demo", only.path(), "lake");
    };
    write(
        "raw/customers/customers-2026-01-15.csv",
        "customer_id,name,email,age,signup_date,lifetime_value\n30,Late Comer,late@example.com,NA,2026-01-15,1.5\n",
    );
    write(
        "raw/events/dt=2026-01-15/events.json",
        "{\"event_id\": 900, \"customer_id\": 3, \"event_type\": \"view\", \"ts\": \"2026-01-15T11:00:00Z\"}\n",
    );
    let third = both(&["check", "--incremental", "--format", "json"]);
    assert_eq!(reused(&third, "customers"), 2, "{third}");
    let full = both(&["check", "--full", "--no-history", "--format", "json"]);
    assert_eq!(checks_of(&third), checks_of(&full));
    let text = full.to_string();
    assert!(
        text.contains("3 of 52 rows share their `customer_id`"),
        "the new object's key repeats: {text}"
    );
    assert!(text.contains("The newest `ts` is 2026-01-15T11:00:00Z"), "{text}");
}

/// The benchmark's 10-check suite, taken from `benches/compare.py` (so the test runs the suite the
/// benchmark times), for Parquet or CSV files.
/// Three files of 20,000 rows of the benchmark's data in `dir`, Parquet or CSV. They start at row
/// 79,999 so that the benchmark's injected duplicate (row 99,999 repeats the id of row 99,998)
/// spans two files.
pub fn write_bench_orders(dir: &Path, csv: bool) {
    std::fs::create_dir_all(dir).unwrap();
    for (i, start) in [79_999, 99_999, 119_999].into_iter().enumerate() {
        if csv {
            let f = std::fs::File::create(dir.join(format!("part-{i:03}.csv"))).unwrap();
            crate::bench_orders::write_csv(f, start, 20_000).unwrap();
        } else {
            let f = std::fs::File::create(dir.join(format!("part-{i:03}.parquet"))).unwrap();
            crate::bench_orders::write_parquet(f, start, 20_000).unwrap();
        }
    }
}

/// The result of the benchmark's suite on [`write_bench_orders`]'s files: every row read, the
/// injected duplicate found, the generator's defects counted.
pub fn assert_bench_defects_found(v: &Value) {
    assert_eq!(v["datasets"][0]["rows"], 60_000, "{v}");
    let failing = |id: &str| crate::support::check(v, id)["failing_rows"].as_u64();
    assert_eq!(failing("orders.order_id.unique"), Some(2), "{v}");
    for id in [
        "orders.amount.range",
        "orders.status.accepted_values",
        "orders.country.pattern",
    ] {
        assert!(failing(id).is_some_and(|n| n > 0), "{id}: {v}");
    }
}

pub fn bench_suite(csv: bool) -> String {
    let script = std::fs::read_to_string(repo().join("benches/compare.py")).unwrap();
    let suite = script
        .split("SUITE_10 = \"\"\"")
        .nth(1)
        .and_then(|rest| rest.split("\"\"\"").next())
        .expect("SUITE_10 in benches/compare.py");
    let suite = suite
        .replace("{fmt}", if csv { "format = \"csv\"\n" } else { "" })
        .replace("{{", "{")
        .replace("}}", "}");
    assert_eq!(suite.matches("[[check]]").count(), 10, "{suite}");
    suite
}

#[test]
fn the_benchmarks_ten_check_suite_answers_on_s3_as_on_disk() {
    // The benchmark's data (`write_bench_orders`), Parquet and CSV.
    let moto = Moto::start();
    let env = moto.env();
    let env = borrowed(&env);
    for csv in [false, true] {
        let project = |root: &str| {
            let p = Project::new();
            p.file(
                "lakegate.toml",
                &format!("suites = [\"checks/*.toml\"]\n\n[lake]\nroot = \"{root}\"\n"),
            );
            p.file("checks/orders.toml", &bench_suite(csv));
            p
        };
        let local = project(LOCAL_ROOT);
        write_bench_orders(&local.path().join(LOCAL_ROOT).join("raw/orders"), csv);
        let prefix = if csv { "csv" } else { "parquet" };
        moto.upload("bench", &local.path().join(LOCAL_ROOT), prefix);
        let root = format!("s3://bench/{prefix}");
        let remote = project(&root);
        let v = same_json(
            &local,
            (&remote, &root),
            &env,
            &["check", "--no-history", "--format", "json"],
        );
        assert_bench_defects_found(&v);
    }
}

#[test]
fn glob_paths_on_s3_select_the_objects_they_select_on_disk() {
    let moto = Moto::start();
    let glob_project = |root: &str| {
        let p = Project::new();
        p.file(
            "lakegate.toml",
            &format!("suites = [\"checks/*.toml\"]\n\n[lake]\nroot = \"{root}\"\n"),
        );
        let csv = "format = \"csv\"\ncsv = { null_values = [\"\", \"NA\"] }";
        for (name, path, dataset, checks) in [
            (
                "a",
                "orders/*.parquet",
                "",
                "kind = \"unique\"\ncolumns = [\"order_id\"]",
            ),
            (
                "b",
                "orders/orders-2026-01-1[4].parquet",
                "",
                "kind = \"row_count\"\nmin = 1",
            ),
            (
                "c",
                "events/dt=*/events.json",
                "format = \"json\"",
                "kind = \"metric\"\nsql = \"count(distinct dt)\"\nmin = 2",
            ),
            (
                "d",
                "customers/customers-*.csv",
                csv,
                "kind = \"range\"\ncolumn = \"age\"\nmin = 0\nmax = 120",
            ),
            (
                "e",
                "*/customers-2026-01-0?.csv",
                csv,
                "kind = \"not_null\"\ncolumn = \"customer_id\"",
            ),
            ("f", "orders/*.csv", "", "kind = \"row_count\"\nmin = 1"),
            (
                "g",
                "**/*.json",
                "format = \"json\"",
                "kind = \"not_null\"\ncolumn = \"event_id\"",
            ),
        ] {
            p.file(
                &format!("checks/{name}.toml"),
                &format!("[dataset]\nname = \"{name}\"\nzone = \"raw\"\npath = \"{path}\"\n{dataset}\n\n[[check]]\n{checks}\n"),
            );
        }
        p
    };
    let local = glob_project(LOCAL_ROOT);
    let lake = local.path().join(LOCAL_ROOT);
    crate::fixtures::write_lake(&lake);
    // Objects no pattern above may pick: hidden ones, and another format next to the data.
    for (rel, text) in [
        (
            "raw/customers/_staging/customers-2026-01-09.csv",
            "customer_id,age\n1,500\n",
        ),
        ("raw/customers/.customers-2026-01-02.csv", "customer_id,age\n1,500\n"),
        ("raw/orders/notes.txt", "not data\n"),
    ] {
        std::fs::create_dir_all(lake.join(rel).parent().unwrap()).unwrap();
        std::fs::write(lake.join(rel), text).unwrap();
    }
    moto.upload("globs", &lake, "lake");
    let env = moto.env();
    let env = borrowed(&env);
    let remote = glob_project("s3://globs/lake");
    let v = same_json(
        &local,
        (&remote, "s3://globs/lake"),
        &env,
        &["check", "--no-history", "--format", "json"],
    );
    let files = |name: &str| crate::support::dataset(&v, name)["files"].as_u64();
    let counts: Vec<_> = ["a", "b", "c", "d", "e", "f", "g"].iter().map(|n| files(n)).collect();
    assert_eq!(
        counts,
        [Some(2), Some(1), Some(2), Some(2), Some(2), Some(0), Some(2)],
        "{v}"
    );
    assert_eq!(crate::support::check(&v, "d.age.range")["failing_rows"], 1, "{v}");
}

/// One data-driven case (`tests/cases/`) run on its lake on disk or at `root`: its exit code and
/// its comparable result.
fn run_case(case: &Path, root: Option<&str>, env: &[(&str, &str)]) -> (i32, Value) {
    run_case_with(case, root, env, &[])
}

/// [`run_case`] with more arguments (`--engine URL`).
pub fn run_case_with(case: &Path, root: Option<&str>, env: &[(&str, &str)], more: &[&str]) -> (i32, Value) {
    let p = Project::new();
    crate::cases::copy_case(case, p.path());
    let lake_root = match root {
        Some(r) => {
            p.file(
                "lakegate.toml",
                &crate::support::DEFAULT_CONFIG.replace("root = \"lake\"", &format!("root = \"{r}\"")),
            );
            std::fs::remove_dir_all(p.path().join("lake")).unwrap();
            r
        }
        None => "lake",
    };
    // The case's own clock (`--now T` in its args) replaces the fixed one.
    let mut extra = crate::cases::case_args(case);
    let now = match extra.iter().position(|a| a == "--now") {
        Some(i) => extra.drain(i..i + 2).nth(1).unwrap(),
        None => crate::support::NOW.to_string(),
    };
    let mut args = vec!["check", "--format", "json", "--no-history"];
    args.extend(extra.iter().map(String::as_str));
    args.extend(more);
    let r = p.run_at(&now, &args, env);
    assert!(
        r.code != 2 || !r.stderr.contains("cannot be used multiple times"),
        "{}",
        r.stderr
    );
    let v = serde_json::from_str(&r.stdout).unwrap_or(Value::String(r.stdout.clone()));
    (r.code, crate::s3::comparable(&v, lake_root))
}

#[test]
fn every_data_driven_case_answers_on_s3_as_on_disk() {
    // Every case of tests/cases with data (its `lake/`), uploaded as `s3://cases/GROUP/CASE/`.
    let (cases, _) = crate::cases::discover(&repo().join("tests/cases"));
    let cases: Vec<_> = cases.into_iter().filter(|c| c.join("lake").is_dir()).collect();
    assert!(cases.len() > 50, "{} cases", cases.len());
    let moto = Moto::start();
    let all = tempfile::tempdir().unwrap();
    for case in &cases {
        let to = all.path().join(crate::cases::rel(case));
        std::fs::create_dir_all(&to).unwrap();
        crate::cases::copy_case(&case.join("lake"), &to);
    }
    moto.upload("cases", all.path(), "");
    let env = moto.env();
    let env = borrowed(&env);
    every_case_twice(&cases, ("on disk", "on S3"), |case| {
        let name = crate::cases::rel(case);
        let on_disk = run_case(case, None, &[]);
        (on_disk, run_case(case, Some(&format!("s3://cases/{name}")), &env))
    });
}

/// Runs each case two ways (`run` gives both results), two cases at a time (each way is a
/// process), and requires the same exit code and comparable result from both ways of every case.
pub fn every_case_twice(
    cases: &[std::path::PathBuf],
    names: (&str, &str),
    run: impl Fn(&Path) -> ((i32, Value), (i32, Value)) + Sync,
) {
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for half in cases.chunks(cases.len().div_ceil(2)) {
            let (run, failures) = (&run, &failures);
            s.spawn(move || {
                for case in half {
                    let (a, b) = run(case);
                    if a != b {
                        let pretty =
                            |v: &(i32, Value)| format!("exit {}\n{}", v.0, serde_json::to_string_pretty(&v.1).unwrap());
                        failures.lock().unwrap().push(format!(
                            "{} (- {}, + {}):\n{}",
                            crate::cases::rel(case),
                            names.0,
                            names.1,
                            crate::cases::line_diff(&pretty(&a), &pretty(&b))
                        ));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
