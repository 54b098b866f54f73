//! Every check kind end to end, through the real binary: passing data, failing data with exact
//! counts, nulls, an empty dataset (a CSV file with only its header) and a malformed configuration
//! (exit 2 pointing at `checks/NAME.toml:LINE:COL`), then the keys every kind shares.
//!
//! `Project::suite(name, extra, checks)` writes five lines before the checks (`[dataset]`, `name`,
//! `zone`, `path`, then `extra` or an empty line), so the first `[[check]]` is on line 6.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use serde_json::{Value, json};

use crate::support::{Project, check, dataset};

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

/// `lakegate check` stops with exit 2, naming `location` (`checks/t.toml:LINE:COL`) and `text`.
#[track_caller]
fn expect_config_error(p: &Project, location: &str, text: &str) {
    let r = p.run(&["check"]);
    assert_eq!(r.code, 2, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(&format!("{location}\n")),
        "no `{location}` in:\n{}",
        r.stderr
    );
    assert!(r.stderr.contains(text), "no `{text}` in:\n{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
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
// row_count
// ---------------------------------------------------------------------------------------------

#[test]
fn row_count_passes_within_bounds() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n1,a\n2,b\n3,c\n");
    p.suite("t", "", "[[check]]\nkind = \"row_count\"\nmin = 1\nmax = 3\n");
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    let c = expect(&r, "t.row_count", "pass", None);
    assert_eq!(c["observed"], 3);
}

#[test]
fn row_count_fails_outside_bounds() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n1,a\n2,b\n3,c\n");
    p.suite(
        "t",
        "",
        r#"[[check]]
kind = "row_count"
name = "too few"
min = 4

[[check]]
kind = "row_count"
name = "too many"
max = 2
"#,
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r:#}");
    let c = expect(&r, "t.too few", "fail", None);
    assert_eq!(c["observed"], 3);
    assert_eq!(message(c), "The dataset has 3 rows; expected at least 4 rows.");
    let c = expect(&r, "t.too many", "fail", None);
    assert_eq!(message(c), "The dataset has 3 rows; expected at most 2 rows.");
}

#[test]
fn row_count_counts_rows_with_nulls_but_where_drops_them() {
    let p = Project::new();
    // Row 2 is null in every column; it is still a row. `v > 0` is null for it, so it is out of scope.
    p.file("lake/raw/t/a.csv", "id,v\n1,5\n,\n3,7\n");
    p.suite(
        "t",
        "",
        r#"[[check]]
kind = "row_count"
min = 3

[[check]]
kind = "row_count"
name = "positive"
min = 3
where = "v > 0"
"#,
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(expect(&r, "t.row_count", "pass", None)["observed"], 3);
    let c = expect(&r, "t.positive", "fail", None);
    assert_eq!(c["observed"], 2);
    assert!(message(c).contains("in scope"), "{c:#}");
}

#[test]
fn row_count_on_an_empty_dataset_is_zero() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n");
    p.suite(
        "t",
        "types = { id = \"int64\", v = \"string\" }",
        r#"[[check]]
kind = "row_count"
min = 1

[[check]]
kind = "row_count"
name = "at most ten"
max = 10
"#,
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r:#}");
    let d = dataset(&r, "t");
    assert_eq!((d["rows"].as_u64(), d["files"].as_u64()), (Some(0), Some(1)), "{d:#}");
    assert_eq!(expect(&r, "t.row_count", "fail", None)["observed"], 0);
    assert_eq!(expect(&r, "t.at most ten", "pass", None)["observed"], 0);
}

#[test]
fn row_count_without_bounds_is_a_config_error() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n1,a\n");
    p.suite("t", "", "[[check]]\nkind = \"row_count\"\n");
    expect_config_error(&p, "checks/t.toml:6:1", "needs `min`, `max` or both");
}

// ---------------------------------------------------------------------------------------------
// not_null
// ---------------------------------------------------------------------------------------------

#[test]
fn not_null_passes_without_nulls_one_check_per_column() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n1,a\n2,b\n");
    p.suite("t", "", "[[check]]\nkind = \"not_null\"\ncolumns = [\"id\", \"v\"]\n");
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    expect(&r, "t.id.not_null", "pass", Some(0));
    expect(&r, "t.v.not_null", "pass", Some(0));
}

#[test]
fn not_null_counts_null_rows() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n1,a\n2,\n3,\n");
    p.suite("t", "", "[[check]]\nkind = \"not_null\"\ncolumn = \"v\"\n");
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r:#}");
    let c = expect(&r, "t.v.not_null", "fail", Some(2));
    assert_eq!(c["failing_fraction"].as_f64(), Some(2.0 / 3.0));
    assert_eq!(message(c), "2 of 3 rows have a null `v` (67%).");
}

#[test]
fn not_null_counts_every_csv_null_marker() {
    let p = Project::new();
    let data = "id,v\n1,a\n2,NA\n3,\n4,b\n";
    p.file("lake/raw/t/a.csv", data);
    p.file("lake/raw/u/a.csv", data);
    let checks = "[[check]]\nkind = \"not_null\"\ncolumn = \"v\"\n";
    p.suite("t", "csv = { null_values = [\"\", \"NA\"] }", checks);
    // Without "NA" among the markers, "NA" is a value and only the empty field is null.
    p.suite("u", "", checks);
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r:#}");
    expect(&r, "t.v.not_null", "fail", Some(2));
    expect(&r, "u.v.not_null", "fail", Some(1));
}

#[test]
fn not_null_counts_a_csv_column_that_is_empty_in_every_row() {
    // Every value of `v` is empty, so its type cannot be inferred; the rows are still null rows.
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n1,\n2,\n");
    p.suite("t", "", "[[check]]\nkind = \"not_null\"\ncolumn = \"v\"\n");
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r:#}");
    expect(&r, "t.v.not_null", "fail", Some(2));
}

#[test]
fn not_null_on_an_empty_dataset_passes() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n");
    p.suite(
        "t",
        "types = { id = \"int64\", v = \"string\" }",
        "[[check]]\nkind = \"not_null\"\ncolumn = \"v\"\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(dataset(&r, "t")["rows"], 0);
    let c = expect(&r, "t.v.not_null", "pass", Some(0));
    assert_eq!(message(c), "0 of 0 rows have a null `v`.");
}

#[test]
fn not_null_without_a_column_is_a_config_error() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n1,a\n");
    p.suite("t", "", "[[check]]\nkind = \"not_null\"\n");
    expect_config_error(&p, "checks/t.toml:6:1", "missing the required key `column`");
}

// ---------------------------------------------------------------------------------------------
// unique
// ---------------------------------------------------------------------------------------------

#[test]
fn unique_passes_on_distinct_keys() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n1,a\n2,a\n3,a\n");
    p.suite("t", "", "[[check]]\nkind = \"unique\"\ncolumn = \"id\"\n");
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    expect(&r, "t.id.unique", "pass", Some(0));
}

#[test]
fn unique_counts_every_row_of_a_duplicated_key() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n1,a\n2,b\n2,c\n3,d\n3,e\n3,f\n");
    p.suite("t", "", "[[check]]\nkind = \"unique\"\ncolumns = [\"id\"]\n");
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r:#}");
    // Key 2 twice and key 3 three times: five failing rows, two duplicated keys.
    let c = expect(&r, "t.id.unique", "fail", Some(5));
    assert!(message(c).contains("(2 duplicated keys)"), "{c:#}");
    assert_eq!(c["sample"][0], json!({"id": 3, "count": 3}));
    assert_eq!(c["sample"][1], json!({"id": 2, "count": 2}));
}

#[test]
fn unique_ignores_rows_with_a_null_key_column() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n1,a\n,b\n,c\n2,d\n");
    p.file("lake/raw/u/a.csv", "a,b\n1,x\n1,x\n1,\n1,\n2,y\n");
    p.suite("t", "", "[[check]]\nkind = \"unique\"\ncolumn = \"id\"\n");
    p.suite("u", "", "[[check]]\nkind = \"unique\"\ncolumns = [\"a\", \"b\"]\n");
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r:#}");
    // Two null ids are not a duplicated key.
    expect(&r, "t.id.unique", "pass", Some(0));
    // (1, x) twice fails; the two (1, null) rows are ignored.
    let c = expect(&r, "u.a+b.unique", "fail", Some(2));
    assert!(message(c).contains("(1 duplicated key)"), "{c:#}");
}

#[test]
fn unique_on_an_empty_dataset_passes() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n");
    p.suite(
        "t",
        "types = { id = \"int64\", v = \"string\" }",
        "[[check]]\nkind = \"unique\"\ncolumn = \"id\"\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    expect(&r, "t.id.unique", "pass", Some(0));
}

#[test]
fn unique_without_a_column_is_a_config_error() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n1,a\n");
    p.suite("t", "", "[[check]]\nkind = \"unique\"\n");
    expect_config_error(&p, "checks/t.toml:6:1", "missing the required key `column`");
}

// ---------------------------------------------------------------------------------------------
// range
// ---------------------------------------------------------------------------------------------

#[test]
fn range_bounds_are_inclusive() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n1,0\n2,5\n3,10\n");
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"range\"\ncolumn = \"v\"\nmin = 0\nmax = 10\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    expect(&r, "t.v.range", "pass", Some(0));
}

#[test]
fn range_counts_values_outside_and_samples_them_with_the_key() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n1,-1\n2,5\n3,11\n");
    p.file("lake/raw/u/a.csv", "id,v\n1,0\n2,5\n3,10\n");
    p.suite(
        "t",
        "key = [\"id\"]",
        "[[check]]\nkind = \"range\"\ncolumn = \"v\"\nmin = 0\nmax = 10\n",
    );
    p.suite(
        "u",
        "",
        "[[check]]\nkind = \"range\"\ncolumn = \"v\"\nmin = 0\nmax = 10\nexclusive = true\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r:#}");
    let c = expect(&r, "t.v.range", "fail", Some(2));
    assert_eq!(message(c), "2 of 3 rows have `v` outside [0, 10] (67%).");
    assert_eq!(c["sample"], json!([{"id": 1, "v": -1}, {"id": 3, "v": 11}]));
    // With `exclusive`, the bounds themselves are violations.
    let c = expect(&r, "u.v.range", "fail", Some(2));
    assert!(message(c).contains("outside (0, 10)"), "{c:#}");
}

#[test]
fn range_ignores_nulls() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n1,5\n2,\n3,NA\n4,7\n");
    p.suite(
        "t",
        "csv = { null_values = [\"\", \"NA\"] }",
        "[[check]]\nkind = \"range\"\ncolumn = \"v\"\nmin = 0\nmax = 10\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    expect(&r, "t.v.range", "pass", Some(0));
}

#[test]
fn range_on_an_empty_dataset_passes() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n");
    p.suite(
        "t",
        "types = { id = \"int64\", v = \"int64\" }",
        "[[check]]\nkind = \"range\"\ncolumn = \"v\"\nmin = 0\nmax = 10\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    expect(&r, "t.v.range", "pass", Some(0));
}

#[test]
fn range_on_timestamps_takes_string_bounds() {
    let p = Project::new();
    p.file(
        "lake/raw/t/a.csv",
        "id,ts\n1,2025-12-31T23:59:59\n2,2026-01-01T00:00:00\n3,2026-01-20T08:30:00\n4,2026-02-01T00:00:00\n",
    );
    p.suite(
        "t",
        "",
        r#"[[check]]
kind = "range"
column = "ts"
min = "2026-01-01T00:00:00Z"
max = "2026-01-31T00:00:00Z"
"#,
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r:#}");
    // The first and last rows are outside; 2026-01-01T00:00:00 is the (inclusive) lower bound.
    let c = expect(&r, "t.ts.range", "fail", Some(2));
    assert!(
        message(c).contains("outside [2026-01-01T00:00:00Z, 2026-01-31T00:00:00Z]"),
        "{c:#}"
    );
}

#[test]
fn range_with_a_string_bound_on_a_number_is_a_config_error() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n1,2\n");
    p.suite("t", "", "[[check]]\nkind = \"range\"\ncolumn = \"v\"\nmax = \"x\"\n");
    expect_config_error(&p, "checks/t.toml:9:7", "`max` must be a number because `v` is int64");
}

#[test]
fn range_with_max_below_min_is_a_config_error() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n1,2\n");
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"range\"\ncolumn = \"v\"\nmin = 10\nmax = 1\n",
    );
    expect_config_error(&p, "checks/t.toml:10:7", "`max` (1) is smaller than `min` (10)");
}

#[test]
fn reversed_date_and_string_bounds_are_config_errors() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,day,code\n1,2026-01-10,b\n");
    p.suite(
        "t",
        "types = { day = \"date\" }",
        "[[check]]\nkind = \"range\"\ncolumn = \"day\"\nmin = \"2026-02-01\"\nmax = \"2026-01-01\"\n",
    );
    expect_config_error(
        &p,
        "checks/t.toml:10:7",
        "`max` (\"2026-01-01\") comes before `min` (\"2026-02-01\")",
    );
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"range\"\ncolumn = \"code\"\nmin = \"m\"\nmax = \"c\"\n",
    );
    expect_config_error(&p, "checks/t.toml:10:7", "`max` (\"c\") comes before `min` (\"m\")");
    // Equal bounds are a valid (one-value) range.
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"range\"\ncolumn = \"code\"\nmin = \"b\"\nmax = \"b\"\n",
    );
    assert_eq!(p.run(&["check"]).code, 0);
}

// ---------------------------------------------------------------------------------------------
// accepted_values
// ---------------------------------------------------------------------------------------------

#[test]
fn accepted_values_passes_on_listed_strings_and_numbers() {
    let p = Project::new();
    p.file(
        "lake/raw/t/a.csv",
        "id,status,code\n1,placed,1\n2,shipped,2\n3,placed,2\n",
    );
    p.suite(
        "t",
        "",
        r#"[[check]]
kind = "accepted_values"
column = "status"
values = ["placed", "shipped"]

[[check]]
kind = "accepted_values"
column = "code"
values = [1, 2]
"#,
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    expect(&r, "t.status.accepted_values", "pass", Some(0));
    expect(&r, "t.code.accepted_values", "pass", Some(0));
}

#[test]
fn accepted_values_is_case_sensitive_and_counts_other_values() {
    let p = Project::new();
    p.file(
        "lake/raw/t/a.csv",
        "id,status\n1,placed\n2,shipped\n3,Shipped\n4,lost\n",
    );
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"accepted_values\"\ncolumn = \"status\"\nvalues = [\"placed\", \"shipped\"]\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r:#}");
    let c = expect(&r, "t.status.accepted_values", "fail", Some(2));
    assert_eq!(c["expected"]["values"], json!(["placed", "shipped"]));
}

#[test]
fn accepted_values_ignores_json_nulls() {
    let p = Project::new();
    p.file(
        "lake/raw/t/a.json",
        "{\"id\": 1, \"status\": \"placed\"}\n{\"id\": 2, \"status\": null}\n{\"id\": 3}\n",
    );
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"accepted_values\"\ncolumn = \"status\"\nvalues = [\"placed\"]\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(dataset(&r, "t")["rows"], 3);
    expect(&r, "t.status.accepted_values", "pass", Some(0));
}

#[test]
fn accepted_values_on_an_empty_dataset_passes() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,status\n");
    p.suite(
        "t",
        "types = { id = \"int64\", status = \"string\" }",
        "[[check]]\nkind = \"accepted_values\"\ncolumn = \"status\"\nvalues = [\"placed\"]\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    expect(&r, "t.status.accepted_values", "pass", Some(0));
}

#[test]
fn accepted_values_with_an_empty_list_is_a_config_error() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n1,a\n");
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"accepted_values\"\ncolumn = \"v\"\nvalues = []\n",
    );
    expect_config_error(&p, "checks/t.toml:9:10", "`values` is empty");
}

// ---------------------------------------------------------------------------------------------
// pattern
// ---------------------------------------------------------------------------------------------

#[test]
fn pattern_passes_when_every_value_matches() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,country\n1,FR\n2,DE\n");
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"pattern\"\ncolumn = \"country\"\nregex = '^[A-Z]{2}$'\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    expect(&r, "t.country.pattern", "pass", Some(0));
}

#[test]
fn pattern_counts_values_that_do_not_match() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,country\n1,FR\n2,fr\n3,FRA\n4,DE\n");
    p.suite(
        "t",
        "",
        r#"[[check]]
kind = "pattern"
column = "country"
regex = '^[A-Z]{2}$'

[[check]]
kind = "pattern"
name = "has an uppercase letter"
column = "country"
regex = '[A-Z]'
"#,
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r:#}");
    let c = expect(&r, "t.country.pattern", "fail", Some(2));
    assert!(message(c).contains("not matching `^[A-Z]{2}$`"), "{c:#}");
    // Unanchored, the regex searches: only "fr" has no uppercase letter.
    expect(&r, "t.has an uppercase letter", "fail", Some(1));
}

#[test]
fn pattern_ignores_nulls() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,country\n1,FR\n2,\n3,DE\n");
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"pattern\"\ncolumn = \"country\"\nregex = '^[A-Z]{2}$'\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    expect(&r, "t.country.pattern", "pass", Some(0));
}

#[test]
fn pattern_on_an_empty_dataset_passes() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,country\n");
    p.suite(
        "t",
        "types = { id = \"int64\", country = \"string\" }",
        "[[check]]\nkind = \"pattern\"\ncolumn = \"country\"\nregex = '^[A-Z]{2}$'\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    expect(&r, "t.country.pattern", "pass", Some(0));
}

#[test]
fn pattern_with_an_invalid_regex_is_a_config_error() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n1,a\n");
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"pattern\"\ncolumn = \"v\"\nregex = \"([\"\n",
    );
    expect_config_error(&p, "checks/t.toml:9:9", "is not a valid regular expression");
}

// ---------------------------------------------------------------------------------------------
// length
// ---------------------------------------------------------------------------------------------

#[test]
fn length_counts_characters_not_bytes() {
    let p = Project::new();
    // "éé" is two characters in four bytes.
    p.file("lake/raw/t/a.csv", "id,v\n1,ab\n2,abc\n3,éé\n");
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"length\"\ncolumn = \"v\"\nmin = 2\nmax = 3\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    expect(&r, "t.v.length", "pass", Some(0));
}

#[test]
fn length_counts_values_too_short_or_too_long() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n1,a\n2,ab\n3,abcd\n");
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"length\"\ncolumn = \"v\"\nmin = 2\nmax = 3\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r:#}");
    let c = expect(&r, "t.v.length", "fail", Some(2));
    assert!(message(c).contains("not 2 to 3 characters long"), "{c:#}");
}

#[test]
fn length_ignores_nulls() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n1,ab\n2,\n");
    p.suite("t", "", "[[check]]\nkind = \"length\"\ncolumn = \"v\"\nmin = 1\n");
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    expect(&r, "t.v.length", "pass", Some(0));
}

#[test]
fn length_on_an_empty_dataset_passes() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n");
    p.suite(
        "t",
        "types = { id = \"int64\", v = \"string\" }",
        "[[check]]\nkind = \"length\"\ncolumn = \"v\"\nmin = 1\nmax = 3\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    expect(&r, "t.v.length", "pass", Some(0));
}

#[test]
fn length_with_a_negative_bound_is_a_config_error() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n1,a\n");
    p.suite("t", "", "[[check]]\nkind = \"length\"\ncolumn = \"v\"\nmin = -1\n");
    expect_config_error(&p, "checks/t.toml:9:7", "`min` must be a non-negative integer");
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
fn freshness_on_an_empty_dataset_fails() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,ts\n");
    p.suite(
        "t",
        "types = { id = \"int64\", ts = \"timestamp\" }",
        "[[check]]\nkind = \"freshness\"\ncolumn = \"ts\"\nmax_age = \"6h\"\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r:#}");
    let c = expect(&r, "t.ts.freshness", "fail", None);
    assert!(message(c).contains("no rows"), "{c:#}");
}

#[test]
fn freshness_reads_naive_timestamps_in_the_given_timezone() {
    let p = Project::new();
    p.file(
        "lake/raw/t/a.csv",
        "id,ts\n1,2026-01-15T09:00:00\n2,2026-01-15T10:00:00\n",
    );
    p.suite(
        "t",
        "",
        r#"[[check]]
kind = "freshness"
name = "paris"
column = "ts"
max_age = "6h"
timezone = "+02:00"

[[check]]
kind = "freshness"
name = "utc"
column = "ts"
max_age = "6h"
"#,
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    // 10:00 at +02:00 is 08:00 UTC: four hours before NOW.
    let c = expect(&r, "t.paris", "pass", None);
    assert_eq!(c["observed"]["age_seconds"], 14_400);
    assert_eq!(c["observed"]["latest"], "2026-01-15T08:00:00Z");
    // Without `timezone`, naive values are UTC.
    assert_eq!(expect(&r, "t.utc", "pass", None)["observed"]["age_seconds"], 7200);
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

#[test]
fn freshness_with_a_spelled_out_duration_is_a_config_error() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,ts\n1,2026-01-15T10:00:00\n");
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"freshness\"\ncolumn = \"ts\"\nmax_age = \"6 hours\"\n",
    );
    expect_config_error(&p, "checks/t.toml:9:11", "`6 hours` is not a duration");
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
fn schema_names_the_csv_file_with_an_extra_column() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n1,a\n");
    p.file("lake/raw/t/b.csv", "id,v\n2,b\n");
    p.file("lake/raw/t/c.csv", "id,v,extra\n3,c,x\n");
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"schema\"\ncolumns = { id = \"int64\", v = \"string\" }\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(dataset(&r, "t")["rows"], 3);
    let c = expect(&r, "t.schema", "fail", None);
    assert!(message(c).contains("File `c.csv` has an extra column `extra`"), "{c:#}");
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

#[test]
fn schema_of_an_empty_dataset_is_its_header() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n");
    p.suite(
        "t",
        "types = { id = \"int64\", v = \"string\" }",
        r#"[[check]]
kind = "schema"
columns = { id = "int64", v = "string" }

[[check]]
kind = "schema"
name = "needs w"
columns = { w = "string" }
"#,
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(dataset(&r, "t")["rows"], 0);
    let c = expect(&r, "t.schema", "pass", None);
    assert_eq!(c["observed"]["files"], 1);
    let c = expect(&r, "t.needs w", "fail", None);
    assert_eq!(message(c), "Missing declared column `w`.");
}

#[test]
fn schema_with_an_unknown_type_name_is_a_config_error() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "a\n1\n");
    p.suite("t", "", "[[check]]\nkind = \"schema\"\ncolumns = { a = \"varchar\" }\n");
    expect_config_error(&p, "checks/t.toml:8:17", "`varchar` is not a type name");
}

// ---------------------------------------------------------------------------------------------
// expression
// ---------------------------------------------------------------------------------------------

#[test]
fn expression_passes_when_the_predicate_holds() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,amount\n1,0\n2,5\n");
    p.suite("t", "", "[[check]]\nkind = \"expression\"\nsql = \"amount >= 0\"\n");
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    expect(&r, "t.expression", "pass", Some(0));
}

#[test]
fn expression_counts_rows_where_the_predicate_is_false() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,amount\n1,-1\n2,5\n3,-3\n");
    p.suite("t", "", "[[check]]\nkind = \"expression\"\nsql = \"amount >= 0\"\n");
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r:#}");
    let c = expect(&r, "t.expression", "fail", Some(2));
    assert_eq!(message(c), "2 of 3 rows do not satisfy `amount >= 0` (67%).");
}

#[test]
fn expression_treats_null_as_false() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,amount\n1,5\n2,\n3,7\n");
    p.suite(
        "t",
        "",
        r#"[[check]]
kind = "expression"
sql = "amount >= 0"

[[check]]
kind = "expression"
name = "null or positive"
sql = "amount IS NULL OR amount >= 0"
"#,
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r:#}");
    expect(&r, "t.expression", "fail", Some(1));
    expect(&r, "t.null or positive", "pass", Some(0));
}

#[test]
fn expression_on_an_empty_dataset_passes() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,amount\n");
    p.suite(
        "t",
        "types = { id = \"int64\", amount = \"int64\" }",
        "[[check]]\nkind = \"expression\"\nsql = \"amount >= 0\"\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    expect(&r, "t.expression", "pass", Some(0));
}

#[test]
fn expression_with_an_aggregate_is_a_config_error() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,amount\n1,5\n");
    p.suite("t", "", "[[check]]\nkind = \"expression\"\nsql = \"count(*) > 1\"\n");
    expect_config_error(&p, "checks/t.toml:8:7", "cannot contain an aggregate function");
}

// ---------------------------------------------------------------------------------------------
// metric
// ---------------------------------------------------------------------------------------------

#[test]
fn metric_passes_within_bounds() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,amount\n1,2\n2,4\n3,6\n");
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"metric\"\nsql = \"avg(amount)\"\nmin = 1\nmax = 10\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    let c = expect(&r, "t.metric", "pass", None);
    assert_eq!(c["observed"].as_f64(), Some(4.0));
}

#[test]
fn metric_fails_outside_bounds() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,amount\n1,2\n2,4\n3,6\n");
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"metric\"\nsql = \"avg(amount)\"\nmax = 3\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r:#}");
    let c = expect(&r, "t.metric", "fail", None);
    assert_eq!(message(c), "`avg(amount)` is 4; expected at most 3.");
}

#[test]
fn metric_aggregates_skip_nulls_and_an_all_null_metric_fails() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,amount\n1,2\n2,\n3,6\n");
    p.file("lake/raw/u/a.csv", "id,amount\n1,\n2,\n");
    p.suite(
        "t",
        "",
        r#"[[check]]
kind = "metric"
sql = "avg(amount)"
min = 4
max = 4

[[check]]
kind = "metric"
name = "present amounts"
sql = "count(amount)"
min = 2
max = 2
"#,
    );
    p.suite(
        "u",
        "types = { id = \"int64\", amount = \"int64\" }",
        "[[check]]\nkind = \"metric\"\nsql = \"avg(amount)\"\nmin = 0\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r:#}");
    // (2 + 6) / 2, not (2 + 6) / 3.
    assert_eq!(expect(&r, "t.metric", "pass", None)["observed"].as_f64(), Some(4.0));
    assert_eq!(expect(&r, "t.present amounts", "pass", None)["observed"], 2);
    let c = expect(&r, "u.metric", "fail", None);
    assert_eq!(c["observed"], Value::Null);
    assert!(message(c).contains("is null"), "{c:#}");
}

#[test]
fn metric_over_an_empty_dataset_is_null_and_fails() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,amount\n");
    p.suite(
        "t",
        "types = { id = \"int64\", amount = \"int64\" }",
        "[[check]]\nkind = \"metric\"\nsql = \"avg(amount)\"\nmin = 0\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r:#}");
    let c = expect(&r, "t.metric", "fail", None);
    assert_eq!(c["observed"], Value::Null);
    assert!(message(c).contains("null"), "{c:#}");
}

#[test]
fn metric_without_an_aggregate_is_a_config_error() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,amount\n1,5\n");
    p.suite("t", "", "[[check]]\nkind = \"metric\"\nsql = \"amount > 1\"\nmin = 0\n");
    expect_config_error(&p, "checks/t.toml:8:7", "a metric must be an aggregate expression");
}

// ---------------------------------------------------------------------------------------------
// reference
// ---------------------------------------------------------------------------------------------

/// Customers as newline-delimited JSON: ids 1 and 2, and one customer without an id.
fn customers_json(p: &Project) {
    p.file(
        "lake/raw/customers/c.json",
        "{\"customer_id\": 1, \"name\": \"a\"}\n{\"customer_id\": 2, \"name\": \"b\"}\n{\"customer_id\": null, \"name\": \"c\"}\n",
    );
    p.suite("customers", "", "[[check]]\nkind = \"row_count\"\nmin = 1\n");
}

const ORDERS_REFERENCE: &str = "[[check]]\nkind = \"reference\"\ncolumn = \"customer_id\"\ndataset = \"customers\"\n";

#[test]
fn reference_from_csv_to_ndjson_passes_when_every_value_exists() {
    let p = Project::new();
    customers_json(&p);
    p.file("lake/raw/orders/o.csv", "order_id,customer_id\n1,1\n2,2\n3,1\n");
    p.suite("orders", "", ORDERS_REFERENCE);
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(dataset(&r, "orders")["format"], "csv");
    assert_eq!(dataset(&r, "customers")["format"], "json");
    expect(&r, "orders.customer_id.reference", "pass", Some(0));
}

#[test]
fn reference_counts_rows_whose_value_is_missing() {
    let p = Project::new();
    customers_json(&p);
    p.file(
        "lake/raw/orders/o.csv",
        "order_id,customer_id\n1,1\n2,999\n3,999\n4,2\n",
    );
    p.suite("orders", "", ORDERS_REFERENCE);
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r:#}");
    let c = expect(&r, "orders.customer_id.reference", "fail", Some(2));
    assert!(message(c).contains("(1 distinct value)"), "{c:#}");
    assert_eq!(c["sample"], json!([{"customer_id": 999, "count": 2}]));
}

#[test]
fn reference_ignores_nulls() {
    let p = Project::new();
    customers_json(&p);
    p.file("lake/raw/orders/o.csv", "order_id,customer_id\n1,1\n2,\n3,\n");
    p.suite("orders", "", ORDERS_REFERENCE);
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    expect(&r, "orders.customer_id.reference", "pass", Some(0));
}

#[test]
fn reference_from_an_empty_dataset_passes() {
    let p = Project::new();
    customers_json(&p);
    p.file("lake/raw/orders/o.csv", "order_id,customer_id\n");
    p.suite(
        "orders",
        "types = { order_id = \"int64\", customer_id = \"int64\" }",
        ORDERS_REFERENCE,
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(dataset(&r, "orders")["rows"], 0);
    expect(&r, "orders.customer_id.reference", "pass", Some(0));
}

#[test]
fn reference_to_an_undeclared_dataset_is_a_config_error() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,customer_id\n1,1\n");
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"reference\"\ncolumn = \"customer_id\"\ndataset = \"nosuch\"\n",
    );
    expect_config_error(&p, "checks/t.toml:9:11", "no suite declares a dataset named `nosuch`");
}

// ---------------------------------------------------------------------------------------------
// Keys and behaviour every kind shares
// ---------------------------------------------------------------------------------------------

#[test]
fn where_limits_a_check_to_the_rows_in_scope() {
    let p = Project::new();
    p.file(
        "lake/raw/t/a.csv",
        "id,status,v\n1,open,1\n2,open,\n3,closed,\n4,closed,\n",
    );
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"not_null\"\ncolumn = \"v\"\nwhere = \"status = 'open'\"\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r:#}");
    // Three rows have a null `v`, but only one of the two open rows.
    let c = expect(&r, "t.v.not_null", "fail", Some(1));
    assert_eq!(c["failing_fraction"].as_f64(), Some(0.5));
    assert!(message(c).starts_with("1 of 2 rows in scope"), "{c:#}");
    assert_eq!(c["where"], "status = 'open'");
}

#[test]
fn max_fraction_tolerates_a_share_of_failing_rows() {
    let p = Project::new();
    let mut csv = String::from("id,v\n");
    for i in 1..=10 {
        let v = if i <= 2 { "" } else { "x" };
        csv.push_str(&format!("{i},{v}\n"));
    }
    p.file("lake/raw/t/a.csv", &csv);
    p.suite(
        "t",
        "",
        r#"[[check]]
kind = "not_null"
name = "quarter"
column = "v"
max_fraction = 0.25

[[check]]
kind = "not_null"
name = "tenth"
column = "v"
max_fraction = 0.1
"#,
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r:#}");
    let c = expect(&r, "t.quarter", "pass", Some(2));
    assert!(message(c).contains("(20%, within the 25% allowed)"), "{c:#}");
    let c = expect(&r, "t.tenth", "fail", Some(2));
    assert!(message(c).contains("(20%, more than the 10% allowed)"), "{c:#}");
}

#[test]
fn severity_warn_reports_without_failing_unless_fail_on_warn() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n1,\n2,b\n");
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"not_null\"\ncolumn = \"v\"\nseverity = \"warn\"\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    expect(&r, "t.v.not_null", "warn", Some(1));
    assert_eq!(r["status"], "warn");
    assert_eq!(r["summary"]["warned"], 1);
    let (code, r) = p.check_json(&["--fail-on", "warn"]);
    assert_eq!(code, 1, "{r:#}");
}

#[test]
fn glob_path_reads_only_matching_files() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id\n1\n2\n");
    p.file("lake/raw/t/b.csv", "id\n3\n");
    // `*` does not cross `/`, and the glob names only .csv files.
    p.file("lake/raw/t/old/c.csv", "id\n4\n5\n6\n");
    p.file("lake/raw/t/notes.txt", "id\n7\n");
    p.file(
        "checks/t.toml",
        "[dataset]\nname = \"t\"\nzone = \"raw\"\npath = \"t/*.csv\"\n\n[[check]]\nkind = \"row_count\"\nmin = 1\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    let d = dataset(&r, "t");
    assert_eq!((d["files"].as_u64(), d["rows"].as_u64()), (Some(2), Some(3)), "{d:#}");
    assert_eq!(expect(&r, "t.row_count", "pass", None)["observed"], 3);
}

#[test]
fn header_only_csv_without_declared_types_is_an_empty_dataset() {
    // No row says what type `id` and `v` are; the dataset still has zero rows and a known schema.
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n");
    p.suite(
        "t",
        "",
        r#"[[check]]
kind = "row_count"
max = 0

[[check]]
kind = "not_null"
column = "v"

[[check]]
kind = "unique"
column = "id"
"#,
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(dataset(&r, "t")["rows"], 0);
    expect(&r, "t.row_count", "pass", None);
    expect(&r, "t.v.not_null", "pass", Some(0));
    expect(&r, "t.id.unique", "pass", Some(0));
}
