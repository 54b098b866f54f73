//! The command line as a user runs it: the demo project, exit codes, output formats, errors.

use std::sync::Arc;

use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};

use crate::support::{Project, check, dataset};

#[test]
fn demo_lake_reports_its_defects_and_exits_1() {
    let p = Project::demo();
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1);
    assert_eq!(r["status"], "fail");
    let orders = dataset(&r, "orders");
    assert_eq!(orders["rows"], 200);
    assert_eq!(orders["files"], 2);
    // One fused scan, one unique query, one reference query, then samples for failed checks.
    assert_eq!(
        orders["queries"].as_u64().unwrap() - orders["sample_queries"].as_u64().unwrap(),
        3
    );

    let c = check(&r, "orders.order_id.not_null");
    assert_eq!(
        (c["status"].as_str(), c["failing_rows"].as_u64()),
        (Some("fail"), Some(1))
    );
    let c = check(&r, "orders.order_id.unique");
    assert_eq!(
        (c["status"].as_str(), c["failing_rows"].as_u64()),
        (Some("fail"), Some(4))
    );
    assert_eq!(c["sample"][0]["count"], 2);
    let c = check(&r, "orders.few missing emails");
    assert_eq!(
        (c["status"].as_str(), c["failing_rows"].as_u64()),
        (Some("warn"), Some(12))
    );
    // Negative amounts at ids 13 and 140 are cancelled orders except 13 (13 % 4 = 1: shipped);
    // 140 % 4 = 0 (placed) and 166 (12000, 166 % 4 = 2: delivered) is too large.
    let c = check(&r, "orders.amount.range");
    assert_eq!(c["failing_rows"], 3, "{c}");
    assert_eq!(check(&r, "orders.quantity.range")["failing_rows"], 1);
    assert_eq!(check(&r, "orders.status.accepted_values")["failing_rows"], 1);
    assert_eq!(check(&r, "orders.country.pattern")["failing_rows"], 1);
    assert_eq!(check(&r, "orders.created_at.freshness")["status"], "pass");
    assert_eq!(check(&r, "orders.schema")["status"], "pass");
    let c = check(&r, "orders.customer_id.reference");
    assert_eq!(
        (c["status"].as_str(), c["failing_rows"].as_u64()),
        (Some("fail"), Some(1))
    );
    assert_eq!(c["sample"][0]["customer_id"], 999);

    let c = check(&r, "customers.schema");
    assert_eq!(c["status"], "fail");
    let msg = c["message"].as_str().unwrap();
    assert!(
        msg.contains("customers-2026-01-08.csv") && msg.contains("loyalty_tier"),
        "{msg}"
    );
    assert_eq!(check(&r, "customers.age.range")["failing_rows"], 1);
    assert_eq!(check(&r, "customers.customer_id.unique")["failing_rows"], 2);
    assert_eq!(check(&r, "customers.customer_id.not_null")["status"], "pass");

    let c = check(&r, "events.ts.freshness");
    assert_eq!(c["status"], "fail");
    assert!(
        c["message"].as_str().unwrap().contains("2026-01-14T23:00:00Z, 13h old"),
        "{c}"
    );
    assert_eq!(check(&r, "events.event_type.accepted_values")["failing_rows"], 1);
    assert_eq!(check(&r, "events.customer_id.reference")["status"], "pass");
    assert_eq!(check(&r, "events.every day has events")["observed"], 24);
}

#[test]
fn text_output_has_a_verdict_line() {
    let p = Project::demo();
    let r = p.run(&["check"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let last = r.stdout.trim_end().lines().last().unwrap();
    assert!(last.starts_with("FAIL: "), "{last}");
    assert!(
        r.stdout.contains("FAIL   orders.order_id.unique") || r.stdout.contains("FAIL   order_id.unique"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("at checks/orders.toml:"), "{}", r.stdout);
}

#[test]
fn selecting_a_dataset_runs_only_it() {
    let p = Project::demo();
    let (code, r) = p.check_json(&["customers"]);
    assert_eq!(code, 1);
    assert_eq!(r["datasets"].as_array().unwrap().len(), 1);
    // A dataset whose `reference` reads another one still runs alone: the other is opened, not checked.
    let (_, r) = p.check_json(&["orders"]);
    assert_eq!(r["datasets"].as_array().unwrap().len(), 1);
    assert_eq!(check(&r, "orders.customer_id.reference")["failing_rows"], 1);
    let r = p.run(&["check", "custmers"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("did you mean `customers`?"), "{}", r.stderr);
}

#[test]
fn junit_has_one_testcase_per_check() {
    let p = Project::demo();
    let r = p.run(&["check", "--junit", "out.xml", "--quiet"]);
    assert_eq!(r.code, 1);
    let xml = std::fs::read_to_string(p.path().join("out.xml")).unwrap();
    let (_, json) = p.check_json(&[]);
    let checks = json["summary"]["checks"].as_u64().unwrap() as usize;
    assert_eq!(xml.matches("<testcase ").count(), checks);
    assert_eq!(
        xml.matches("<failure ").count(),
        json["summary"]["failed"].as_u64().unwrap() as usize
    );
}

fn ten_column_batch(rows: i64) -> RecordBatch {
    let fields: Vec<Field> = (0..10)
        .map(|i| Field::new(format!("c{i}"), DataType::Int64, true))
        .collect();
    let cols = (0..10)
        .map(|i| Arc::new(Int64Array::from_iter_values((0..rows).map(|r| r + i))) as _)
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap()
}

#[test]
fn a_memory_limit_too_small_to_run_is_refused_clearly() {
    let p = Project::demo();
    let r = p.run(&["check", "--memory-limit", "1MB"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("at least 16MB"), "{}", r.stderr);
}

#[test]
fn ten_row_level_checks_cost_one_query() {
    let p = Project::new();
    p.parquet("lake/raw/t/part-0.parquet", &ten_column_batch(1000));
    let mut checks = String::new();
    for i in 0..5 {
        checks.push_str(&format!("[[check]]\nkind = \"not_null\"\ncolumn = \"c{i}\"\n"));
    }
    for i in 5..10 {
        checks.push_str(&format!(
            "[[check]]\nkind = \"range\"\ncolumn = \"c{i}\"\nmin = 0\nmax = 100000\nwhere = \"c0 >= 0\"\n"
        ));
    }
    p.suite("t", "", &checks);
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["summary"]["passed"], 10);
    assert_eq!(dataset(&r, "t")["queries"], 1);
}

#[test]
fn missing_dataset_is_exit_3_naming_the_path() {
    let p = Project::new();
    p.suite("ghost", "", "[[check]]\nkind = \"row_count\"\nmin = 1\n");
    std::fs::create_dir_all(p.path().join("lake/raw")).unwrap();
    let r = p.run(&["check"]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("lake/raw/ghost does not exist"), "{}", r.stderr);
    let (code, j) = p.check_json(&[]);
    assert_eq!(code, 3);
    assert_eq!(dataset(&j, "ghost")["status"], "error");
}

#[test]
fn empty_directory_is_a_dataset_with_zero_rows() {
    let p = Project::new();
    std::fs::create_dir_all(p.path().join("lake/raw/empty")).unwrap();
    p.suite(
        "empty",
        "format = \"parquet\"",
        "[[check]]\nkind = \"row_count\"\nmin = 1\n[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\n[[check]]\nkind = \"freshness\"\ncolumn = \"ts\"\nmax_age = \"1h\"\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r}");
    let d = dataset(&r, "empty");
    assert_eq!(d["rows"], 0);
    assert_eq!(d["queries"], 0);
    assert_eq!(check(&r, "empty.row_count")["status"], "fail");
    assert_eq!(check(&r, "empty.id.not_null")["status"], "pass");
    let f = check(&r, "empty.ts.freshness");
    assert_eq!(f["status"], "fail");
    assert!(f["message"].as_str().unwrap().contains("no rows"), "{f}");
}

#[test]
fn config_errors_are_exit_2_with_line_and_column() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,name\n1,a\n");
    p.file(
        "checks/t.toml",
        "[dataset]\nname = \"t\"\nzone = \"raw\"\npath = \"t\"\n\n[[check]]\nkind = \"not_nul\"\ncolumn = \"id\"\n\n[[check]]\nkind = \"range\"\ncolumn = \"id\"\nminn = 1\n",
    );
    let r = p.run(&["check"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("checks/t.toml:7:8"), "{}", r.stderr);
    assert!(r.stderr.contains("did you mean `not_null`?"), "{}", r.stderr);
    assert!(r.stderr.contains("checks/t.toml:13:1"), "{}", r.stderr);
    assert!(r.stderr.contains("did you mean `min`?"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
    let r = p.run(&["check", "--format", "json"]);
    let j = r.json();
    assert_eq!(j["status"], "config_error");
    assert_eq!(j["diagnostics"][0]["line"], 7);
    assert_eq!(j["diagnostics"][0]["column"], 8);
}

#[test]
fn unknown_column_is_a_data_failure_listing_the_columns() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,name\n1,a\n");
    p.suite("t", "", "[[check]]\nkind = \"not_null\"\ncolumn = \"nme\"\n");
    let r = p.run(&["check"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains("dataset `t` has no column `nme`"), "{}", r.stdout);
    assert!(r.stdout.contains("did you mean `name`?"), "{}", r.stdout);
    assert!(r.stdout.contains("at checks/t.toml:6"), "{}", r.stdout);
    let v = p.run(&["validate"]);
    assert_eq!(v.code, 1);
    assert!(v.stderr.contains("dataset `t` has no column `nme`"), "{}", v.stderr);
    assert!(v.stderr.contains("checks/t.toml:8:10"), "{}", v.stderr);
}

#[test]
fn where_fragments_cannot_smuggle_statements() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,name\n1,a\n");
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\nwhere = \"1=1; DROP TABLE t\"\n",
    );
    let r = p.run(&["check"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("checks/t.toml:9:13"), "{}", r.stderr);
}

#[test]
fn suite_that_is_not_toml_is_exit_2() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id\n1\n");
    p.file("checks/t.toml", "[dataset\nname = \"t\"\n");
    let r = p.run(&["check"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("checks/t.toml:1:"), "{}", r.stderr);
    assert!(r.stderr.contains("not valid TOML"), "{}", r.stderr);
}

#[test]
fn truncated_parquet_is_exit_3_naming_the_file() {
    let p = Project::new();
    let bytes = crate::fixtures::parquet_bytes(&ten_column_batch(10));
    p.bytes("lake/raw/t/broken.parquet", &bytes[..bytes.len() / 2]);
    p.suite("t", "", "[[check]]\nkind = \"row_count\"\nmin = 1\n");
    let r = p.run(&["check"]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("broken.parquet"), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

#[test]
fn ragged_csv_is_a_clear_error() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,name\n1,a\n2,b,extra\n3,c\n");
    p.suite("t", "", "[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\n");
    let r = p.run(&["check"]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("dataset `t`"), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

#[test]
fn validate_scans_no_rows_and_accepts_the_demo() {
    let p = Project::demo();
    let r = p.run(&["validate"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("valid: 3 suites"), "{}", r.stdout);
}

#[test]
fn csv_null_marker_after_the_inference_window_is_null() {
    let p = Project::new();
    let mut csv = String::from("id,score\n");
    for i in 0..1500 {
        if i == 1200 {
            csv.push_str(&format!("{i},NA\n"));
        } else {
            csv.push_str(&format!("{i},{}\n", i % 90));
        }
    }
    p.file("lake/raw/t/a.csv", &csv);
    p.suite(
        "t",
        "csv = { null_values = [\"NA\"] }",
        "[[check]]\nkind = \"not_null\"\ncolumn = \"score\"\n[[check]]\nkind = \"range\"\ncolumn = \"score\"\nmin = 0\nmax = 89\n[[check]]\nkind = \"schema\"\ncolumns = { score = \"int64\" }\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r}");
    assert_eq!(check(&r, "t.score.not_null")["failing_rows"], 1);
    assert_eq!(check(&r, "t.score.range")["status"], "pass");
    assert_eq!(check(&r, "t.schema")["status"], "pass");
}

#[test]
fn strings_in_parquet_are_utf8view_but_match_string() {
    let p = Project::new();
    let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, true)]));
    let batch = RecordBatch::try_new(schema, vec![Arc::new(StringArray::from(vec![Some("a"), None]))]).unwrap();
    p.parquet("lake/raw/t/x.parquet", &batch);
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"schema\"\nmode = \"exact\"\ncolumns = { s = \"string\" }\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 0, "{r}");
}

#[test]
fn every_command_shows_an_example_and_the_version_names_datafusion() {
    let p = Project::new();
    let help = p.run(&["--help"]).stdout;
    let commands: Vec<String> = help
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("Options:")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect();
    assert!(commands.len() >= 10, "{help}");
    for c in &commands {
        let h = p.run(&[c, "--help"]);
        assert!(
            h.stdout.contains("Examples:\n  lakegate "),
            "`lakegate {c} --help` has no example:\n{}",
            h.stdout
        );
    }
    let v = p.run(&["--version"]);
    assert!(
        v.stdout.starts_with("lakegate ") && v.stdout.contains("(DataFusion 55."),
        "{}",
        v.stdout
    );
    assert_eq!(
        v.stdout.contains(", Ballista client 55.0.0)"),
        cfg!(feature = "ballista"),
        "{}",
        v.stdout
    );
    for shell in ["bash", "zsh", "fish"] {
        let c = p.run(&["completions", shell]);
        assert_eq!(c.code, 0, "{}", c.stderr);
        assert!(
            c.stdout.contains("audit") && c.stdout.contains("memory-limit"),
            "{shell}: {}",
            c.stdout
        );
    }
}
