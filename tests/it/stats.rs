//! Answers from Parquet footers must equal answers from a scan.
//!
//! The same suite runs over the same files twice — with `[engine] statistics` on (the default) and
//! off — on files written with exact statistics, without statistics, with truncated (inexact)
//! string statistics, and with a mix. Every check's verdict must be the same; which checks were
//! answered from the footers (`from_statistics`) and which columns the scan read
//! (`scanned_columns`) pin that the shortcut is taken exactly when it is safe.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
    TimestampMillisecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use serde_json::Value;

use crate::support::{DEFAULT_CONFIG, Project, check, dataset};

/// 2026-01-15T10:00:00Z, two hours before `support::NOW`.
const JAN15_10H: i64 = 1_768_471_200;

/// Rows `first..first+n`: `id` null every 50th row; `qty` in 1..=100; `name` long strings sharing
/// a prefix (so truncated statistics are inexact); `score` with a NaN every 70th row; `nothing`
/// null everywhere; `ts` up to 2026-01-15T10:00:00Z.
fn batch(first: i64, n: i64) -> RecordBatch {
    let rows = first..first + n;
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("qty", DataType::Int32, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("score", DataType::Float64, true),
        Field::new("nothing", DataType::Int64, true),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter(rows.clone().map(|i| (i % 50 != 7).then_some(i)))),
        Arc::new(Int32Array::from_iter_values(
            rows.clone().map(|i| i32::try_from(i % 100 + 1).unwrap()),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.clone().map(|i| format!("customer-name-{:05}", i % 997)),
        )),
        Arc::new(Float64Array::from_iter_values(
            rows.clone()
                .map(|i| if i % 70 == 3 { f64::NAN } else { (i % 10) as f64 / 10.0 }),
        )),
        Arc::new(Int64Array::from(vec![None::<i64>; usize::try_from(n).unwrap()])),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(rows.map(|i| (JAN15_10H - 3600 * (i % 48)) * 1_000_000))
                .with_timezone("UTC"),
        ),
    ];
    RecordBatch::try_new(schema, columns).unwrap()
}

#[derive(Clone, Copy, Debug)]
enum Stats {
    Exact,
    None,
    /// String statistics cut to 4 bytes: their bounds are not the values.
    Truncated,
}

fn parquet(batch: &RecordBatch, stats: Stats) -> Vec<u8> {
    let mut props = WriterProperties::builder().set_max_row_group_row_count(Some(120));
    props = match stats {
        Stats::Exact => props,
        Stats::None => props.set_statistics_enabled(EnabledStatistics::None),
        Stats::Truncated => props.set_statistics_truncate_length(Some(4)),
    };
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, batch.schema(), Some(props.build())).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
    buf
}

const SUITE: &str = r#"
[[check]]
kind = "row_count"
min = 1

[[check]]
kind = "not_null"
columns = ["id", "qty", "nothing"]

[[check]]
name = "qty in range"
kind = "range"
column = "qty"
min = 1
max = 100

[[check]]
name = "qty above 50"
kind = "range"
column = "qty"
min = 51

[[check]]
name = "id small"
kind = "range"
column = "id"
max = 10

[[check]]
name = "names in range"
kind = "range"
column = "name"
min = "customer-name-00000"
max = "customer-name-99999"

[[check]]
name = "score in range"
kind = "range"
column = "score"
min = 0
max = 1

[[check]]
name = "nothing in range"
kind = "range"
column = "nothing"
min = 0

[[check]]
kind = "freshness"
column = "ts"
max_age = "6h"

[[check]]
name = "largest qty"
kind = "metric"
sql = "max(qty)"
max = 100

[[check]]
name = "ids counted"
kind = "metric"
sql = "count(id)"
min = 1

[[check]]
name = "qty in range where id is even"
kind = "range"
column = "qty"
min = 1
max = 100
where = "id % 2 = 0"
"#;

/// The checks answered from exact footers (the others need the scan: a bound the data breaks,
/// floats, a `where`).
const FROM_FOOTERS: &[&str] = &[
    "t.row_count",
    "t.id.not_null",
    "t.qty.not_null",
    "t.nothing.not_null",
    "t.qty in range",
    "t.names in range",
    "t.nothing in range",
    "t.ts.freshness",
    "t.largest qty",
    "t.ids counted",
];

/// Runs the suite over files written with `stats`, with footers used and not used.
fn both_ways(files: &[Stats]) -> (Value, Value) {
    let p = Project::new();
    for (i, s) in files.iter().enumerate() {
        let first = i64::try_from(i).unwrap() * 1000;
        p.bytes(
            &format!("lake/raw/t/part-{i}.parquet"),
            &parquet(&batch(first, 1000), *s),
        );
    }
    p.suite("t", "", SUITE);
    run_both(&p)
}

/// `check` with footers used, then with `[engine] statistics = false`.
fn run_both(p: &Project) -> (Value, Value) {
    let (_, with) = p.check_json(&[]);
    p.file(
        "lakegate.toml",
        &format!("{DEFAULT_CONFIG}\n[engine]\nstatistics = false\n"),
    );
    let (_, without) = p.check_json(&[]);
    (with, without)
}

fn ids(result: &Value) -> Vec<String> {
    dataset(result, "t")["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

/// Every check's verdict, without how it was answered.
fn verdicts(result: &Value) -> Vec<Value> {
    ids(result)
        .iter()
        .map(|id| {
            let mut c = check(result, id).clone();
            c.as_object_mut().unwrap().remove("from_statistics");
            c
        })
        .collect()
}

fn answered_from_footers(result: &Value) -> Vec<String> {
    ids(result)
        .into_iter()
        .filter(|id| check(result, id)["from_statistics"] == true)
        .collect()
}

fn scanned(result: &Value) -> Vec<String> {
    dataset(result, "t")["scanned_columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn exact_statistics_answer_what_they_can_and_agree_with_the_scan() {
    let (with, without) = both_ways(&[Stats::Exact, Stats::Exact]);
    assert_eq!(verdicts(&with), verdicts(&without));
    assert_eq!(answered_from_footers(&with), FROM_FOOTERS);
    assert!(answered_from_footers(&without).is_empty());
    // The numbers are the real ones, not a shortcut's guess.
    assert_eq!(check(&with, "t.id.not_null")["failing_rows"], 40);
    assert_eq!(check(&with, "t.nothing.not_null")["failing_rows"], 2000);
    assert_eq!(check(&with, "t.qty above 50")["failing_rows"], 1000);
    assert_eq!(check(&with, "t.ids counted")["observed"], 1960);
    assert_eq!(check(&with, "t.largest qty")["observed"], 100);
    assert_eq!(
        check(&with, "t.ts.freshness")["observed"]["latest"],
        "2026-01-15T10:00:00Z"
    );
    // NaN is above every bound in a query but absent from Parquet bounds: floats are scanned.
    assert_eq!(check(&with, "t.score in range")["status"], "fail");
    assert_eq!(check(&with, "t.score in range")["failing_rows"], 29);
    // Only the columns of checks the footers could not answer are read.
    assert_eq!(scanned(&with), ["id", "qty", "score"]);
    assert_eq!(scanned(&without), ["id", "name", "nothing", "qty", "score", "ts"]);
}

#[test]
fn files_without_statistics_are_scanned() {
    let (with, without) = both_ways(&[Stats::None, Stats::None]);
    assert_eq!(verdicts(&with), verdicts(&without));
    // The row count is in every footer, statistics or not.
    assert_eq!(answered_from_footers(&with), ["t.row_count"]);
    assert_eq!(scanned(&with), scanned(&without));
}

#[test]
fn truncated_string_bounds_are_not_used() {
    let (with, without) = both_ways(&[Stats::Truncated, Stats::Truncated]);
    assert_eq!(verdicts(&with), verdicts(&without));
    let expected: Vec<&str> = FROM_FOOTERS
        .iter()
        .copied()
        .filter(|id| *id != "t.names in range")
        .collect();
    assert_eq!(answered_from_footers(&with), expected);
    assert!(scanned(&with).contains(&"name".to_string()));
}

#[test]
fn one_file_without_statistics_means_the_column_is_scanned() {
    let (with, without) = both_ways(&[Stats::Exact, Stats::None, Stats::Exact]);
    assert_eq!(verdicts(&with), verdicts(&without));
    assert_eq!(answered_from_footers(&with), ["t.row_count"]);
}

#[test]
fn a_suite_the_footers_answer_runs_no_query() {
    let p = Project::new();
    p.bytes("lake/raw/t/a.parquet", &parquet(&batch(0, 500), Stats::Exact));
    p.suite(
        "t",
        "",
        r#"[[check]]
kind = "row_count"
min = 1

[[check]]
kind = "not_null"
column = "qty"

[[check]]
kind = "freshness"
column = "ts"
max_age = "6h"
"#,
    );
    let (with, without) = run_both(&p);
    assert_eq!(dataset(&with, "t")["status"], "pass", "{with}");
    assert_eq!(dataset(&with, "t")["queries"], 0);
    assert_eq!(dataset(&with, "t")["rows"], 500);
    assert!(scanned(&with).is_empty());
    assert_eq!(dataset(&without, "t")["queries"], 1);
    assert_eq!(verdicts(&with), verdicts(&without));
}

#[test]
fn a_failing_check_answered_from_statistics_still_gets_its_sample() {
    let p = Project::new();
    p.bytes("lake/raw/t/a.parquet", &parquet(&batch(0, 500), Stats::Exact));
    p.suite(
        "t",
        "key = [\"qty\"]",
        "[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1);
    let c = check(&r, "t.id.not_null");
    assert_eq!(c["from_statistics"], true);
    assert_eq!(c["failing_rows"], 10);
    assert_eq!(c["sample"][0]["qty"], 8, "{c}");
    assert_eq!(c["sample"][0]["id"], Value::Null);
}

#[test]
fn files_that_disagree_on_a_column_are_scanned_for_it() {
    // The second file lacks `qty` (read as null there) and stores `id` as int32 (unified to int64).
    let p = Project::new();
    p.bytes("lake/raw/t/a.parquet", &parquet(&batch(0, 300), Stats::Exact));
    let b = batch(300, 300);
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int32, true),
        Field::new("ts", b.schema().field(5).data_type().clone(), true),
    ]));
    let ids = Int32Array::from_iter((300..600).map(|i| (i % 50 != 7).then_some(i)));
    let other = RecordBatch::try_new(schema, vec![Arc::new(ids) as ArrayRef, b.column(5).clone()]).unwrap();
    p.bytes("lake/raw/t/b.parquet", &parquet(&other, Stats::Exact));
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"not_null\"\ncolumns = [\"id\", \"qty\", \"ts\"]\n",
    );
    let (with, without) = run_both(&p);
    assert_eq!(verdicts(&with), verdicts(&without));
    assert_eq!(check(&with, "t.qty.not_null")["failing_rows"], 300);
    assert_eq!(check(&with, "t.id.not_null")["failing_rows"], 12);
    assert_eq!(answered_from_footers(&with), ["t.ts.not_null"]);
    assert_eq!(scanned(&with), ["id", "qty"]);
}

#[test]
fn dates_decimals_naive_timestamps_and_booleans_agree_with_the_scan() {
    use datafusion::arrow::array::{BooleanArray, Date32Array, Decimal128Array};
    let n = 400;
    let schema = Arc::new(Schema::new(vec![
        Field::new("day", DataType::Date32, true),
        Field::new("price", DataType::Decimal128(10, 2), true),
        Field::new("at", DataType::Timestamp(TimeUnit::Millisecond, None), true),
        Field::new("flag", DataType::Boolean, true),
    ]));
    // 2026-01-01 is day 20454 since the epoch.
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Date32Array::from_iter(
            (0..n).map(|i| (i % 9 != 4).then_some(20_454 + i % 14)),
        )),
        Arc::new(
            Decimal128Array::from_iter((0..n).map(|i| (i % 11 != 3).then_some(i128::from(i) * 25 - 500)))
                .with_precision_and_scale(10, 2)
                .unwrap(),
        ),
        Arc::new(TimestampMillisecondArray::from_iter_values(
            (0..n).map(|i| (JAN15_10H - 60 * i64::from(i)) * 1000),
        )),
        Arc::new(BooleanArray::from_iter((0..n).map(|i| Some(i % 3 == 0)))),
    ];
    let b = RecordBatch::try_new(schema, columns).unwrap();
    let p = Project::new();
    p.bytes("lake/raw/t/a.parquet", &parquet(&b, Stats::Exact));
    p.suite(
        "t",
        "",
        r#"[[check]]
kind = "not_null"
columns = ["day", "price", "flag"]

[[check]]
name = "days in January"
kind = "range"
column = "day"
min = "2026-01-01"
max = "2026-01-31"

[[check]]
name = "days in the first week"
kind = "range"
column = "day"
max = "2026-01-07"

[[check]]
name = "prices"
kind = "range"
column = "price"
min = -5
max = 94.75

[[check]]
name = "prices above 0.5"
kind = "range"
column = "price"
min = 0.5

[[check]]
kind = "freshness"
column = "day"
max_age = "2d"

[[check]]
kind = "freshness"
column = "at"
max_age = "3h"

[[check]]
name = "flags"
kind = "accepted_values"
column = "flag"
values = [true]
"#,
    );
    let (with, without) = run_both(&p);
    assert_eq!(verdicts(&with), verdicts(&without));
    assert_eq!(
        answered_from_footers(&with),
        [
            "t.day.not_null",
            "t.price.not_null",
            "t.flag.not_null",
            "t.days in January",
            "t.prices",
            "t.day.freshness",
            "t.at.freshness",
        ]
    );
    assert_eq!(check(&with, "t.day.not_null")["failing_rows"], 44);
    assert_eq!(
        check(&with, "t.at.freshness")["observed"]["latest"],
        "2026-01-15T10:00:00Z"
    );
    assert_eq!(check(&with, "t.prices above 0.5")["status"], "fail");
}
