//! Wrong answers a gate cannot give (issue 19): wrapped integers, a refused literal blamed on the
//! data, NaN shown as null, a far-future value hiding stale data, control characters and colour
//! codes reaching a terminal or a log, a history query without bounds, count grammar. Each test
//! fails on the code before its fix. Hostile inputs are generated here, deterministically.

use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use serde_json::json;

use crate::support::{Project, Run, check};

/// 2^62: four of them add up past `i64::MAX`, and times four it wraps to 0.
const BIG: i64 = 1 << 62;

fn run_bounded(p: &Project, args: &[&str], limit: Duration) -> Run {
    p.run_bounded(args, limit)
}

fn big_values_csv(p: &Project) {
    p.file(
        "lake/raw/t/a.csv",
        &format!("id,v\n1,{BIG}\n2,{BIG}\n3,{BIG}\n4,{BIG}\n5,5\n"),
    );
}

// ---- item 3: integer arithmetic never wraps ----

#[test]
fn an_integer_sum_past_i64_is_exact() {
    let p = Project::new();
    big_values_csv(&p);
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"metric\"\nname = \"total\"\nsql = \"sum(v)\"\nmin = 100\n\
         [[check]]\nkind = \"anomaly\"\nmetric = \"sum(v)\"\nmax_deviation = \"50%\"\n",
    );
    let (code, r) = p.check_json(&[]);
    let c = check(&r, "t.total");
    // 4 × 2^62 + 5 = 2^64 + 5; DataFusion's own sum wraps it to 5.
    assert_eq!(c["status"], "pass", "{c:#}");
    assert_eq!(c["observed"], json!("18446744073709551621"), "{c:#}");
    assert!(c["message"].as_str().unwrap().contains("18446744073709551621"), "{c:#}");
    assert_eq!(code, 0);
    let a = check(&r, "t.v.anomaly");
    assert_eq!(a["value"].as_f64(), Some(18_446_744_073_709_551_621.0), "{a:#}");
}

#[test]
fn an_integer_overflow_is_an_error_of_its_check_only() {
    let p = Project::new();
    big_values_csv(&p);
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"expression\"\nname = \"times four\"\nsql = \"v * 4 > 0\"\n\
         [[check]]\nkind = \"not_null\"\ncolumn = \"v\"\nwhere = \"v + v > 0\"\n\
         [[check]]\nkind = \"not_null\"\ncolumn = \"id\"\n\
         [[check]]\nkind = \"expression\"\nname = \"small\"\nsql = \"id * 2 - 1 >= 1\"\n",
    );
    let (code, r) = p.check_json(&[]);
    for id in ["t.times four", "t.v.not_null"] {
        let c = check(&r, id);
        assert_eq!(c["status"], "error", "{c:#}");
        let m = c["message"].as_str().unwrap();
        assert!(m.contains("integer overflow"), "{id}: {m}");
        assert!(m.contains(&format!("{BIG}")), "{id}: the values are named: {m}");
    }
    assert_eq!(check(&r, "t.id.not_null")["status"], "pass");
    assert_eq!(check(&r, "t.small")["status"], "pass");
    assert_eq!(r["datasets"][0]["rows"], 5);
    assert_eq!(code, 1, "an error check fails the run; the dataset itself was read");
}

// ---- item 12: a literal DataFusion refuses is a configuration error ----

#[test]
fn an_invalid_regex_in_a_fragment_is_a_config_error_at_the_literal() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,name\n1,a\n2,b\n");
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\nwhere = \"name ~ '('\"\n",
    );
    for cmd in ["validate", "check"] {
        let r = p.run(&[cmd]);
        assert_eq!(r.code, 2, "{cmd}: {}\n{}", r.stdout, r.stderr);
        // Line 9 of the suite, column 17 is the opening quote of '('.
        assert!(r.stderr.contains("checks/t.toml:9:17\n"), "{cmd}: {}", r.stderr);
        assert!(
            r.stderr.contains("'(' is not a valid regular expression"),
            "{}",
            r.stderr
        );
        assert!(!r.stderr.contains("Optimizer rule"), "{}", r.stderr);
    }
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"expression\"\nsql = \"regexp_like(name, '[a-')\"\n",
    );
    let r = p.run(&["validate"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("'[a-' is not a valid regular expression"),
        "{}",
        r.stderr
    );
    // SIMILAR TO patterns and regexp flags DataFusion would refuse.
    for (sql, said) in [
        ("name SIMILAR TO '('", "'(' is not a valid regular expression"),
        ("regexp_like(name, 'a', 'q')", "'q' are bad flags"),
        ("regexp_replace(name, 'a', 'b', 'gq') = 'b'", "'gq' are bad flags"),
    ] {
        p.suite("t", "", &format!("[[check]]\nkind = \"expression\"\nsql = \"{sql}\"\n"));
        for cmd in ["validate", "check"] {
            let r = p.run(&[cmd]);
            assert_eq!(r.code, 2, "{sql}: {}\n{}", r.stdout, r.stderr);
            assert!(r.stderr.contains(said), "{sql}: {}", r.stderr);
        }
    }
    // Valid flags pass.
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"expression\"\nsql = \"regexp_replace(name, 'A', 'b', 'gi') <> 'x'\"\n",
    );
    assert_eq!(p.run(&["check"]).code, 0);
}

#[test]
fn a_nan_bound_is_a_config_error_at_the_value() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n1,2\n2,3\n");
    p.suite("t", "", "[[check]]\nkind = \"range\"\ncolumn = \"v\"\nmin = nan\n");
    for cmd in ["validate", "check"] {
        let r = p.run(&[cmd]);
        assert_eq!(r.code, 2, "{cmd}: {}\n{}", r.stdout, r.stderr);
        assert!(r.stderr.contains("checks/t.toml:9:7\n"), "{}", r.stderr);
        assert!(r.stderr.contains("`min` must be a number, found nan"), "{}", r.stderr);
    }
    p.suite("t", "", "[[check]]\nkind = \"metric\"\nsql = \"avg(v)\"\nmax = nan\n");
    let r = p.run(&["validate"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("`max` must be a number, found nan"), "{}", r.stderr);
}

#[test]
fn a_constant_that_overflows_is_a_config_error_not_unreadable_data() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n1,2\n2,3\n");
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"not_null\"\ncolumn = \"v\"\nwhere = \"v < 9223372036854775807 + 1\"\n",
    );
    for cmd in ["validate", "check"] {
        let r = p.run(&[cmd]);
        assert_eq!(r.code, 2, "{cmd}: {}\n{}", r.stdout, r.stderr);
        assert!(r.stderr.contains("checks/t.toml:9:"), "{}", r.stderr);
        assert!(r.stderr.contains("integer overflow"), "{}", r.stderr);
    }
}

// ---- item 5: NaN and infinities in samples ----

#[test]
fn nan_and_infinities_are_named_in_samples() {
    let p = Project::new();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("x", DataType::Float64, true),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5])) as ArrayRef,
            Arc::new(Float64Array::from(vec![
                Some(f64::NAN),
                Some(f64::INFINITY),
                Some(f64::NEG_INFINITY),
                Some(0.5),
                None,
            ])) as ArrayRef,
        ],
    )
    .unwrap();
    p.parquet("lake/raw/t/a.parquet", &batch);
    p.suite(
        "t",
        "key = [\"id\"]",
        "[[check]]\nkind = \"range\"\ncolumn = \"x\"\nmin = 0\nmax = 1\n\
         [[check]]\nkind = \"metric\"\nname = \"largest\"\nsql = \"max(x)\"\nmax = 10\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1);
    // A NaN metric is observed as NaN, not as a missing value.
    assert_eq!(check(&r, "t.largest")["observed"], "NaN", "{r:#}");
    let c = check(&r, "t.x.range");
    assert_eq!(c["failing_rows"], 3, "{c:#}");
    assert_eq!(
        c["sample"],
        json!([{ "id": 1, "x": "NaN" }, { "id": 2, "x": "inf" }, { "id": 3, "x": "-inf" }]),
        "{c:#}"
    );
    let text = p.run(&["check"]).stdout;
    assert!(text.contains(r#"e.g. {"id":1,"x":"NaN"}"#), "{text}");
    assert!(!text.contains("null"), "{text}");
}

// ---- item 16: a value from the future ----

fn timestamps(p: &Project, secs: &[i64]) {
    let schema = Arc::new(Schema::new(vec![Field::new(
        "ts",
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        true,
    )]));
    let micros: Vec<i64> = secs.iter().map(|s| s * 1_000_000).collect();
    let batch = RecordBatch::try_new(
        schema,
        vec![Arc::new(TimestampMicrosecondArray::from(micros).with_timezone("UTC")) as ArrayRef],
    )
    .unwrap();
    p.parquet("lake/raw/t/a.parquet", &batch);
}

/// 2026-01-12T12:00:00Z, three days before `support::NOW`.
const THREE_DAYS_AGO: i64 = 1_768_219_200;
/// `support::NOW`.
const NOW_SECS: i64 = 1_768_478_400;
/// 2999-01-01T00:00:00Z.
const YEAR_2999: i64 = 32_472_144_000;

#[test]
fn a_far_future_value_does_not_hide_a_stale_dataset() {
    let p = Project::new();
    timestamps(&p, &[THREE_DAYS_AGO - 60, THREE_DAYS_AGO, YEAR_2999]);
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"freshness\"\ncolumn = \"ts\"\nmax_age = \"1d\"\n",
    );
    let (code, r) = p.check_json(&[]);
    let c = check(&r, "t.ts.freshness");
    assert_eq!(c["status"], "fail", "{c:#}");
    let m = c["message"].as_str().unwrap();
    assert!(m.contains("2999-01-01T00:00:00Z") && m.contains("in the future"), "{m}");
    assert!(m.contains("`max_future`"), "{m}");
    assert_eq!(c["expected"]["max_future"], "1d", "{c:#}");
    assert_eq!(code, 1);

    // A value a little ahead (clock skew, a zone read as UTC) is within the default day.
    timestamps(&p, &[THREE_DAYS_AGO, NOW_SECS + 5 * 3600]);
    let (code, r) = p.check_json(&[]);
    assert_eq!(check(&r, "t.ts.freshness")["status"], "pass");
    assert_eq!(code, 0);

    // `max_future` sets the tolerance.
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"freshness\"\ncolumn = \"ts\"\nmax_age = \"1d\"\nmax_future = \"1h\"\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(check(&r, "t.ts.freshness")["status"], "fail");
    assert_eq!(code, 1);
}

// ---- item 14: control characters from data never reach the terminal ----

#[test]
fn escape_sequences_in_names_are_printed_escaped() {
    let p = Project::new();
    // A header whose second name clears the screen, and a value with a CSI.
    p.file("lake/raw/t/a.csv", "id,\u{1b}[2Jname\n1,a\n2,\n3,x\u{9b}31m\n");
    p.suite(
        "t",
        "key = [\"id\"]",
        "[[check]]\nkind = \"not_null\"\ncolumn = \"\\u001b[2Jname\"\n\
         [[check]]\nkind = \"accepted_values\"\ncolumn = \"\\u001b[2Jname\"\nvalues = [\"a\"]\n",
    );
    let r = p.run(&["check"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    for (what, out) in [("stdout", &r.stdout), ("stderr", &r.stderr)] {
        assert!(!out.contains('\u{1b}') && !out.contains('\u{9b}'), "{what}: {out:?}");
    }
    assert!(r.stdout.contains("\\u001b[2Jname"), "{}", r.stdout);
    assert!(r.stdout.contains("x\\u009b31m"), "{}", r.stdout);
    // JSON stays valid and carries the names exactly.
    let (_, j) = p.check_json(&[]);
    assert_eq!(
        check(&j, "t.\u{1b}[2Jname.not_null")["columns"],
        json!(["\u{1b}[2Jname"])
    );

    // A diagnostic naming the column.
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"range\"\ncolumn = \"\\u001b[2Jname\"\nmin = 5\n",
    );
    let r = p.run(&["check"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!r.stderr.contains('\u{1b}'), "{:?}", r.stderr);
    assert!(r.stderr.contains("`\\u001b[2Jname`"), "{}", r.stderr);
}

// ---- items 14 and 15: logs ----

#[test]
fn logs_to_a_pipe_have_no_colour_and_no_raw_controls() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id\n1\n");
    p.suite("t", "", "[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\n");
    assert_eq!(p.run(&["check"]).code, 0);
    // A foreign file in the store is skipped with a warning naming it.
    p.file(".lakegate/history/runs/t/\u{1b}[2Jx.json", "not a record\n");
    let r = p.run(&["history", "--sql", "SELECT count(*) AS n FROM runs", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("WARN"), "{}", r.stderr);
    assert!(r.stderr.contains("x.json"), "{}", r.stderr);
    assert!(
        !r.stderr.contains('\u{1b}'),
        "colour codes or a raw ESC in a log:\n{:?}",
        r.stderr
    );
}

// ---- item 8: history --sql is bounded ----

#[test]
fn a_history_query_without_end_stops_at_the_timeout() {
    let p = Project::new();
    for sql in [
        "SELECT count(*) AS n FROM generate_series(1, 100000000000)",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
    ] {
        let r = run_bounded(
            &p,
            &["history", "--sql", sql, "--timeout", "2s"],
            Duration::from_secs(120),
        );
        assert_eq!(r.code, 3, "{sql}: {}", r.stderr);
        assert!(r.stderr.contains("did not finish within 2s"), "{}", r.stderr);
    }
}

#[test]
fn a_history_query_is_held_to_the_memory_limit() {
    let p = Project::new();
    // A result far larger than the pool is refused while it is collected.
    let r = run_bounded(
        &p,
        &[
            "history",
            "--sql",
            "SELECT * FROM generate_series(1, 1000000000)",
            "--memory-limit",
            "16MB",
        ],
        Duration::from_secs(120),
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("larger than the memory limit (16 MB)"),
        "{}",
        r.stderr
    );
    // An operator that cannot spill fails instead of growing past the pool (a bare session
    // builds the hash table in as much memory as it takes).
    let r = run_bounded(
        &p,
        &[
            "history",
            "--sql",
            "SELECT count(*) AS n FROM generate_series(1, 3000000) a JOIN generate_series(1, 3000000) b \
             ON a.value = b.value",
            "--memory-limit",
            "16MB",
        ],
        Duration::from_secs(300),
    );
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("Resources exhausted"), "{}", r.stderr);
    assert!(
        !r.stderr.trim_end().ends_with("as:"),
        "the whole message, not its first line: {}",
        r.stderr
    );
    // A query that does not plan is still a usage error.
    let r = p.run(&["history", "--sql", "SELECT nosuch FROM runs"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

// ---- item 17: counts read as English ----

#[test]
fn counts_of_one_are_singular() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id\n1\n");
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"row_count\"\nmin = 1\n[[check]]\nkind = \"row_count\"\nname = \"big\"\nmin = 2\n",
    );
    let r = p.run(&["check", "-v"]);
    assert!(r.stdout.contains("1 row, 1 file"), "{}", r.stdout);
    assert!(
        r.stdout.contains("The dataset has 1 row, at least 1 row as expected."),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("1 of 2 checks failed"), "{}", r.stdout);
    assert!(
        !r.stdout.contains("1 rows") && !r.stdout.contains("1 files"),
        "{}",
        r.stdout
    );

    // A promotion of one file.
    let r = p.run(&["promote", "t", "--dry-run"]);
    assert!(
        r.stdout.contains("The batch of 1 file failed"),
        "{}\n{}",
        r.stdout,
        r.stderr
    );

    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\nsample = -1\n",
    );
    let r = p.run(&["check"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("`sample` must be a non-negative integer, found -1"),
        "{}",
        r.stderr
    );
}

// ---- item 13: a column the data lacks is a data failure ----

#[test]
fn a_column_the_data_lacks_fails_the_run_and_the_other_checks_still_run() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,name\n1,a\n2,\n");
    p.file("lake/raw/u/a.csv", "uid\n1\n");
    p.suite(
        "t",
        "key = [\"id\", \"nokey\"]",
        "[[check]]\nkind = \"not_null\"\ncolumn = \"nme\"\n\
         [[check]]\nkind = \"not_null\"\ncolumn = \"name\"\n\
         [[check]]\nkind = \"not_null\"\ncolumn = \"id\"\nwhere = \"amount > 0\"\n\
         [[check]]\nkind = \"metric\"\nsql = \"avg(amount)\"\nmin = 1\n\
         [[check]]\nkind = \"reference\"\ncolumn = \"id\"\ndataset = \"u\"\nto_column = \"id\"\n",
    );
    p.suite("u", "", "[[check]]\nkind = \"row_count\"\nmin = 1\n");
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r:#}");
    let c = check(&r, "t.nme.not_null");
    assert_eq!(c["status"], "error", "{c:#}");
    let m = c["message"].as_str().unwrap();
    assert!(
        m.contains("dataset `t` has no column `nme`") && m.contains("did you mean `name`?"),
        "{m}"
    );
    for id in ["t.id.not_null", "t.metric"] {
        let c = check(&r, id);
        assert_eq!(c["status"], "error", "{c:#}");
        assert!(c["message"].as_str().unwrap().contains("`amount`"), "{c:#}");
    }
    let c = check(&r, "t.id.reference");
    assert_eq!(c["status"], "error", "{c:#}");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("dataset `u` has no column `id`"),
        "{c:#}"
    );
    // The other checks ran, with samples keyed by the key columns the data has.
    let c = check(&r, "t.name.not_null");
    assert_eq!(
        (c["status"].as_str(), c["failing_rows"].as_u64()),
        (Some("fail"), Some(1))
    );
    assert_eq!(c["sample"], json!([{ "id": 2, "name": null }]));
    assert_eq!(check(&r, "u.row_count")["status"], "pass");
    // One failing check names every missing column.
    let c = check(&r, "t.missing_columns");
    assert_eq!(c["status"], "fail", "{c:#}");
    assert_eq!(c["kind"], "schema");
    assert_eq!(c["observed"], json!({ "missing": ["nokey", "nme", "amount", "u.id"] }));
    assert!(
        c["message"].as_str().unwrap().starts_with("The data lacks 4 columns"),
        "{c:#}"
    );

    // History records it like any failure.
    let q = p.run(&[
        "history",
        "--sql",
        "SELECT status FROM checks WHERE check_id = 't.missing_columns'",
        "--format",
        "json",
    ]);
    assert_eq!(q.json(), json!([{ "status": "fail" }]), "{}", q.stderr);

    // `validate`: the suites are valid, the data disagrees.
    let v = p.run(&["validate"]);
    assert_eq!(v.code, 1, "{}\n{}", v.stdout, v.stderr);
    assert!(
        v.stdout.contains("the data lacks 4 columns the suites name"),
        "{}",
        v.stdout
    );
    assert!(
        v.stderr.contains("checks/t.toml:8:10"),
        "`nme` is underlined: {}",
        v.stderr
    );
    assert!(v.stderr.contains("`nokey`"), "{}", v.stderr);
    let v = p.run(&["validate", "--format", "json"]);
    assert_eq!(v.json()["status"], "missing_columns");
}
