//! The history store, the schema catalog with drift detection, and anomaly checks — run as a user
//! would: `check` repeatedly while the data changes between runs.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{Field, Schema};

use crate::support::{Project, check};

fn batch(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = cols
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        cols.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap()
}

fn ids(n: i64) -> ArrayRef {
    Arc::new(Int64Array::from_iter_values(0..n))
}

const DRIFT_SUITE: &str = "[[check]]\nkind = \"schema\"\ncolumns = { id = \"int\" }\n";

fn drift_project(first: &RecordBatch) -> Project {
    let p = Project::new();
    p.parquet("lake/raw/t/part.parquet", first);
    p.suite("t", "", DRIFT_SUITE);
    p
}

fn schema_check(p: &Project) -> (i32, serde_json::Value) {
    let (code, r) = p.check_json(&[]);
    (code, check(&r, "t.schema").clone())
}

#[test]
fn first_run_accepts_version_1_and_an_added_column_is_drift_until_accepted() {
    let p = drift_project(&batch(vec![("id", ids(3))]));
    let (code, c) = schema_check(&p);
    assert_eq!((code, c["status"].as_str()), (0, Some("pass")));
    let show = p.run(&["schema", "show", "t", "--format", "json"]);
    assert_eq!(show.json()["version"], 1);

    p.parquet(
        "lake/raw/t/part.parquet",
        &batch(vec![
            ("id", ids(3)),
            ("extra", Arc::new(StringArray::from(vec!["a", "b", "c"]))),
        ]),
    );
    let (code, c) = schema_check(&p);
    assert_eq!((code, c["status"].as_str()), (1, Some("fail")), "{c}");
    assert!(c["message"].as_str().unwrap().contains("`extra` was added"), "{c}");

    let a = p.run(&["schema", "accept", "t"]);
    assert_eq!(a.code, 0, "{}", a.stderr);
    assert!(a.stdout.contains("version 2"), "{}", a.stdout);
    let (code, c) = schema_check(&p);
    assert_eq!((code, c["status"].as_str()), (0, Some("pass")), "{c}");
    let h = p.run(&["schema", "history", "t"]);
    assert!(
        h.stdout.contains("version 2") && h.stdout.contains("`extra` was added"),
        "{}",
        h.stdout
    );
}

#[test]
fn a_dropped_column_and_a_retyped_column_are_drift() {
    let p = drift_project(&batch(vec![
        ("id", ids(3)),
        ("code", Arc::new(Int64Array::from(vec![1, 2, 3]))),
    ]));
    assert_eq!(schema_check(&p).0, 0);
    p.parquet(
        "lake/raw/t/part.parquet",
        &batch(vec![
            ("id", ids(3)),
            ("code", Arc::new(StringArray::from(vec!["1", "2", "x"]))),
        ]),
    );
    let (_, c) = schema_check(&p);
    assert_eq!(c["status"], "fail");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("`code` changed from int64 to string"),
        "{c}"
    );
    p.parquet("lake/raw/t/part.parquet", &batch(vec![("id", ids(3))]));
    let (_, c) = schema_check(&p);
    assert!(c["message"].as_str().unwrap().contains("`code` was removed"), "{c}");
}

#[test]
fn widening_int32_to_int64_is_noted_not_drift() {
    let p = drift_project(&batch(vec![
        ("id", ids(3)),
        ("q", Arc::new(Int32Array::from(vec![1, 2, 3]))),
    ]));
    assert_eq!(schema_check(&p).0, 0);
    p.parquet(
        "lake/raw/t/part.parquet",
        &batch(vec![("id", ids(3)), ("q", Arc::new(Int64Array::from(vec![1, 2, 3])))]),
    );
    let (code, c) = schema_check(&p);
    assert_eq!((code, c["status"].as_str()), (0, Some("pass")), "{c}");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("`q` widened from int32 to int64"),
        "{c}"
    );
}

#[test]
fn csv_utf8_and_parquet_utf8view_strings_are_not_drift() {
    let p = Project::new();
    p.parquet(
        "lake/raw/t/part.parquet",
        &batch(vec![("id", ids(2)), ("s", Arc::new(StringArray::from(vec!["a", "b"])))]),
    );
    p.suite("t", "", DRIFT_SUITE);
    assert_eq!(schema_check(&p).0, 0);
    std::fs::remove_file(p.path().join("lake/raw/t/part.parquet")).unwrap();
    p.file("lake/raw/t/part.csv", "id,s\n0,a\n1,b\n");
    let (code, c) = schema_check(&p);
    assert_eq!((code, c["status"].as_str()), (0, Some("pass")), "{c}");
    assert_eq!(c["observed"]["changes"], serde_json::json!([]));
}

#[test]
fn drift_warn_policy_warns() {
    let p = Project::new();
    p.parquet("lake/raw/t/part.parquet", &batch(vec![("id", ids(3))]));
    p.suite("t", "", "[[check]]\nkind = \"schema\"\ndrift = \"warn\"\n");
    assert_eq!(p.check_json(&[]).0, 0);
    p.parquet("lake/raw/t/part.parquet", &batch(vec![("id", ids(3)), ("x", ids(3))]));
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0);
    assert_eq!(check(&r, "t.schema")["status"], "warn");
}

fn anomaly_project() -> Project {
    let p = Project::new();
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"anomaly\"\nmetric = \"row_count\"\nwindow = 10\nmax_deviation = \"25%\"\n",
    );
    p
}

fn rows(p: &Project, n: usize) -> (i32, serde_json::Value) {
    let mut csv = String::from("id\n");
    for i in 0..n {
        csv.push_str(&format!("{i}\n"));
    }
    p.file("lake/raw/t/a.csv", &csv);
    let (code, r) = p.check_json(&[]);
    (code, check(&r, "t.anomaly").clone())
}

#[test]
fn anomaly_passes_a_wobble_fails_a_jump_and_keeps_failed_runs_out_of_the_baseline() {
    let p = anomaly_project();
    // Too little history: passes and says what it has and needs.
    let (code, c) = rows(&p, 1000);
    assert_eq!(code, 0);
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("has 0 earlier runs of this check and needs 3"),
        "{c}"
    );
    for n in [1010, 990, 1005, 995, 1000, 1020, 980, 1000, 1010] {
        let (code, c) = rows(&p, n);
        assert_eq!(code, 0, "{c}");
    }
    // A 5% wobble passes.
    let (code, c) = rows(&p, 1050);
    assert_eq!(code, 0, "{c}");
    // A 3x jump fails.
    let (code, c) = rows(&p, 3000);
    assert_eq!(code, 1, "{c}");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("198% above the mean of the last 10 runs"),
        "{c}"
    );
    // The failed run is not part of the next baseline: 1,000 rows pass again, and its baseline mean
    // is still about 1,000, not pulled up by the 3,000.
    let (code, c) = rows(&p, 1000);
    assert_eq!(code, 0, "{c}");
    let mean = c["observed"]["baseline_mean"].as_f64().unwrap();
    assert!((mean - 1007.0).abs() < 10.0, "{c}");
}

#[test]
fn anomaly_sigma_and_null_fraction() {
    let p = Project::new();
    p.suite("t", "", "[[check]]\nkind = \"anomaly\"\nmetric = \"null_fraction(v)\"\nmax_deviation = \"3 sigma\"\ndirection = \"up\"\n");
    let run = |nulls: usize| {
        let mut csv = String::from("id,v\n");
        for i in 0..100 {
            csv.push_str(&format!("{i},{}\n", if i < nulls { "" } else { "x" }));
        }
        p.file("lake/raw/t/a.csv", &csv);
        let (code, r) = p.check_json(&[]);
        (code, check(&r, "t.v.anomaly").clone())
    };
    for n in [10, 11, 9, 10, 12] {
        assert_eq!(run(n).0, 0);
    }
    let (code, c) = run(40);
    assert_eq!(code, 1, "{c}");
    assert_eq!(c["observed"]["value"], 0.4);
    // Fewer nulls is not an anomaly when only rises count.
    assert_eq!(run(0).0, 0);
}

#[test]
fn history_lists_runs_and_answers_sql() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id\n1\n2\n");
    p.suite("t", "", "[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\n");
    for _ in 0..3 {
        assert_eq!(p.run(&["check"]).code, 0);
    }
    assert_eq!(p.run(&["check", "--no-history"]).code, 0);
    let h = p.run(&["history", "t"]);
    assert_eq!(h.code, 0, "{}", h.stderr);
    assert_eq!(
        h.stdout.lines().filter(|l| l.contains(" pass ")).count(),
        3,
        "{}",
        h.stdout
    );
    let q = p.run(&[
        "history",
        "--sql",
        "SELECT count(*) AS n, sum(rows) AS total FROM runs WHERE dataset = 't'",
        "--format",
        "json",
    ]);
    assert_eq!(q.code, 0, "{}", q.stderr);
    assert_eq!(q.json(), serde_json::json!([{ "n": 3, "total": 6 }]));
    let q = p.run(&[
        "history",
        "--sql",
        "SELECT check_id, count(*) AS n FROM checks GROUP BY check_id",
        "--format",
        "json",
    ]);
    assert_eq!(q.json(), serde_json::json!([{ "check_id": "t.id.not_null", "n": 3 }]));
    let bad = p.run(&["history", "--sql", "DROP TABLE runs"]);
    assert_ne!(bad.code, 0);
}

#[test]
fn torn_and_foreign_files_in_the_store_are_skipped() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id\n1\n");
    p.suite("t", "", "[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\n");
    assert_eq!(p.run(&["check"]).code, 0);
    let day = std::fs::read_dir(p.path().join(".lakegate/history/runs/t"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(day.join(".half-written.json.tmp-1"), "{\"run_id\": \"x\", \"dat").unwrap();
    std::fs::write(day.join("foreign.json"), "this is not a record\n").unwrap();
    assert_eq!(p.run(&["check"]).code, 0);
    let q = p.run(&["history", "--sql", "SELECT count(*) AS n FROM runs", "--format", "json"]);
    assert_eq!(q.code, 0, "{}", q.stderr);
    assert_eq!(q.json(), serde_json::json!([{ "n": 2 }]));
    assert!(q.stderr.contains("foreign.json"), "{}", q.stderr);
}

#[test]
fn concurrent_runs_lose_no_history() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id\n1\n2\n");
    p.suite("t", "", "[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\n[[check]]\nkind = \"anomaly\"\nmetric = \"row_count\"\nmax_deviation = \"50%\"\n");
    let bin = env!("CARGO_BIN_EXE_lakegate");
    let spawn = || {
        std::process::Command::new(bin)
            .args(["check", "--quiet"])
            .current_dir(p.path())
            .spawn()
            .unwrap()
    };
    for _ in 0..5 {
        let (mut a, mut b) = (spawn(), spawn());
        assert!(a.wait().unwrap().success());
        assert!(b.wait().unwrap().success());
    }
    let q = p.run(&[
        "history",
        "--sql",
        "SELECT count(DISTINCT run_id) AS runs FROM checks",
        "--format",
        "json",
    ]);
    assert_eq!(q.json(), serde_json::json!([{ "runs": 10 }]));
    // Every file is a whole record, and only one schema version was accepted.
    assert!(!q.stderr.contains("Skipping"), "{}", q.stderr);
    assert_eq!(p.run(&["schema", "show", "t", "--format", "json"]).json()["version"], 1);
}

#[test]
fn a_run_killed_while_writing_history_leaves_it_readable() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id\n1\n");
    p.suite("t", "", "[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\n");
    assert_eq!(p.run(&["check"]).code, 0);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lakegate"))
        .args(["check"])
        .env("LAKEGATE_FAULT", "history-between-files")
        .current_dir(p.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), None, "the run should have been killed");
    assert_eq!(p.run(&["check"]).code, 0);
    // The killed run's checks were written without its run record: it is not a run, and the store reads.
    let q = p.run(&["history", "--sql", "SELECT count(*) AS n FROM runs", "--format", "json"]);
    assert_eq!(q.json(), serde_json::json!([{ "n": 2 }]));
    let h = p.run(&["history", "t", "--format", "json"]);
    assert_eq!(h.json().as_array().unwrap().len(), 2);
}
