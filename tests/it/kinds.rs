//! Check kinds over Parquet data written by the test: what needs generated files (zoned
//! timestamps, exact integer widths, all-null typed columns) rather than the CSV or NDJSON of the
//! data-driven cases. Every other per-kind behaviour (passing and failing data, nulls, empty
//! datasets, malformed configuration) is a case under `tests/cases/<kind>/`.
//!
//! `Project::suite(name, extra, checks)` writes five lines before the checks (`[dataset]`, `name`,
//! `zone`, `path`, then `extra` or an empty line), so the first `[[check]]` is on line 6.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use serde_json::{Value, json};

use crate::support::{Project, check};

/// 2026-01-15T10:00:00Z, two hours before `support::NOW`.
const JAN15_10H: i64 = 1_768_471_200;
/// 2026-01-14T23:00:00Z, thirteen hours before `support::NOW`.
const JAN14_23H: i64 = 1_768_431_600;

/// Asserts a check's status and failing rows (`None` for kinds that count no rows) and returns it.
#[track_caller]
fn expect<'a>(r: &'a Value, id: &str, status: &str, failing_rows: Option<u64>) -> &'a Value {
    let c = check(r, id);
    assert_eq!(c["status"], status, "{id}: {c:#}");
    assert_eq!(c["failing_rows"].as_u64(), failing_rows, "{id}: {c:#}");
    c
}

fn message(c: &Value) -> &str {
    c["message"].as_str().unwrap()
}

/// `id` (int64) and `ts` (timestamp µs, UTC) from seconds since the epoch.
fn ts_batch(secs: &[Option<i64>]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
    ]));
    let n = i64::try_from(secs.len()).unwrap();
    let micros: Vec<Option<i64>> = secs.iter().map(|s| s.map(|s| s * 1_000_000)).collect();
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(1..=n)) as ArrayRef,
            Arc::new(TimestampMicrosecondArray::from(micros).with_timezone("UTC")) as ArrayRef,
        ],
    )
    .unwrap()
}

/// `n` (int32) and `s` (Utf8).
fn int32_string_batch() -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("n", DataType::Int32, true),
        Field::new("s", DataType::Utf8, true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef,
            Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef,
        ],
    )
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// freshness
// ---------------------------------------------------------------------------------------------

#[test]
fn freshness_passes_when_the_newest_value_is_recent() {
    let p = Project::new();
    p.parquet("lake/raw/t/a.parquet", &ts_batch(&[Some(JAN14_23H), Some(JAN15_10H)]));
    p.suite(
        "t",
        "",
        r#"[[check]]
kind = "freshness"
column = "ts"
max_age = "6h"

[[check]]
kind = "freshness"
name = "exactly two hours"
column = "ts"
max_age = "2h"
"#,
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    let c = expect(&r, "t.ts.freshness", "pass", None);
    assert_eq!(c["observed"]["latest"], "2026-01-15T10:00:00Z");
    assert_eq!(c["observed"]["age_seconds"], 7200);
    // An age equal to `max_age` is still fresh.
    expect(&r, "t.exactly two hours", "pass", None);
}

#[test]
fn freshness_fails_when_the_newest_value_is_too_old() {
    let p = Project::new();
    p.parquet(
        "lake/raw/t/a.parquet",
        &ts_batch(&[Some(JAN14_23H - 3600), Some(JAN14_23H)]),
    );
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"freshness\"\ncolumn = \"ts\"\nmax_age = \"6h\"\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r:#}");
    let c = expect(&r, "t.ts.freshness", "fail", None);
    assert_eq!(c["observed"]["age_seconds"], 13 * 3600);
    assert!(message(c).contains("2026-01-14T23:00:00Z, 13h old"), "{c:#}");
}

#[test]
fn freshness_skips_nulls_but_an_all_null_column_is_stale() {
    let p = Project::new();
    p.parquet("lake/raw/t/a.parquet", &ts_batch(&[None, Some(JAN15_10H), None]));
    p.parquet("lake/raw/u/a.parquet", &ts_batch(&[None, None]));
    let checks = "[[check]]\nkind = \"freshness\"\ncolumn = \"ts\"\nmax_age = \"6h\"\n";
    p.suite("t", "", checks);
    p.suite("u", "", checks);
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(
        expect(&r, "t.ts.freshness", "pass", None)["observed"]["age_seconds"],
        7200
    );
    let c = expect(&r, "u.ts.freshness", "fail", None);
    assert!(message(c).contains("null in all 2 rows"), "{c:#}");
}

#[test]
fn freshness_timezone_does_not_shift_zoned_timestamps() {
    let p = Project::new();
    p.parquet("lake/raw/t/a.parquet", &ts_batch(&[Some(JAN15_10H)]));
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"freshness\"\ncolumn = \"ts\"\nmax_age = \"6h\"\ntimezone = \"+02:00\"\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(
        expect(&r, "t.ts.freshness", "pass", None)["observed"]["age_seconds"],
        7200
    );
}

// ---------------------------------------------------------------------------------------------
// schema
// ---------------------------------------------------------------------------------------------

#[test]
fn schema_passes_on_declared_parquet_types() {
    let p = Project::new();
    p.parquet("lake/raw/t/a.parquet", &int32_string_batch());
    p.suite(
        "t",
        "",
        r#"[[check]]
kind = "schema"
mode = "exact"
columns = { n = "int32", s = "string" }

[[check]]
kind = "schema"
name = "any int"
columns = { n = "int" }
"#,
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    let c = expect(&r, "t.schema", "pass", None);
    assert_eq!(c["observed"]["columns"], json!({"n": "int32", "s": "string"}));
    expect(&r, "t.any int", "pass", None);
}

#[test]
fn schema_fails_on_another_width_or_an_undeclared_column() {
    let p = Project::new();
    p.parquet("lake/raw/t/a.parquet", &int32_string_batch());
    p.suite(
        "t",
        "",
        r#"[[check]]
kind = "schema"
columns = { n = "int64", s = "string" }

[[check]]
kind = "schema"
name = "exact"
mode = "exact"
columns = { n = "int32" }
"#,
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r:#}");
    let c = expect(&r, "t.schema", "fail", None);
    assert_eq!(message(c), "`n` is int32 but int64 is declared.");
    // The first problem of a message is capitalised.
    let c = expect(&r, "t.exact", "fail", None);
    assert_eq!(message(c), "Undeclared column `s` (mode is exact).");
}

#[test]
fn schema_types_do_not_depend_on_nulls() {
    let p = Project::new();
    let schema = Arc::new(Schema::new(vec![
        Field::new("n", DataType::Int64, true),
        Field::new("s", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(vec![None::<i64>, None])) as ArrayRef,
            Arc::new(StringArray::from(vec![None::<&str>, Some("a")])) as ArrayRef,
        ],
    )
    .unwrap();
    p.parquet("lake/raw/t/a.parquet", &batch);
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"schema\"\ncolumns = { n = \"int64\", s = \"string\" }\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    expect(&r, "t.schema", "pass", None);
}
