//! Diagnostics as users and tools see them: stable codes in the text (`error[code]`), the JSON of
//! `validate --format json`, bounds errors at the value, and the exit codes of usage errors.

use serde_json::Value;

use crate::support::{Project, Run, repo};

/// The diagnostics of a JSON document on stdout.
fn diagnostics(r: &Run) -> Vec<Value> {
    r.json()["diagnostics"]
        .as_array()
        .unwrap_or_else(|| panic!("no diagnostics array in:\n{}", r.stdout))
        .clone()
}

/// `validate --format json` of a project whose only suite is `checks/t.toml` = `suite`; asserts the
/// one diagnostic has `code` and sits at `line:col` over the text `at`, and that the text output
/// shows the same code and place.
fn expect_one(suite: &str, code: &str, line: u64, col: u64, at: &str) -> Value {
    let p = Project::new();
    p.file("checks/t.toml", suite);
    let r = p.run(&["validate", "--format", "json"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json()["status"], "config_error");
    let ds = diagnostics(&r);
    assert_eq!(ds.len(), 1, "{ds:?}");
    let d = &ds[0];
    assert_eq!(d["code"], code, "{d}");
    assert_eq!(d["severity"], "error");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(line), Some(col)),
        "{d}"
    );
    assert_eq!(d["file"], "checks/t.toml");
    let (start, end) = (
        d["span"]["start"].as_u64().unwrap() as usize,
        d["span"]["end"].as_u64().unwrap() as usize,
    );
    assert_eq!(&suite[start..end], at, "the span is the offending text: {d}");
    let text = p.run(&["validate"]);
    assert_eq!(text.code, 2);
    assert!(text.stderr.contains(&format!("error[{code}]: ")), "{}", text.stderr);
    assert!(
        text.stderr.contains(&format!("--> checks/t.toml:{line}:{col}\n")),
        "{}",
        text.stderr
    );
    d.clone()
}

const DATASET: &str = "[dataset]\nname = \"t\"\nzone = \"raw\"\npath = \"t\"\n\n";

#[test]
fn reversed_bounds_point_at_the_max_value_for_range_length_and_row_count() {
    for (kind, column) in [
        ("range", "column = \"id\"\n"),
        ("length", "column = \"name\"\n"),
        ("row_count", ""),
    ] {
        let suite = format!("{DATASET}[[check]]\nkind = \"{kind}\"\n{column}min = 10\nmax = 2\n");
        let line = suite.lines().position(|l| l == "max = 2").unwrap() as u64 + 1;
        let d = expect_one(&suite, "bounds-reversed", line, 7, "2");
        assert_eq!(d["message"], "`max` (2) is smaller than `min` (10)", "{kind}: {d}");
    }
}

#[test]
fn unknown_key_of_a_check_names_the_kind_the_closest_key_and_its_page() {
    let suite = format!("{DATASET}[[check]]\nkind = \"range\"\ncolumn = \"id\"\nmax = 5\nminn = 1\n");
    let d = expect_one(&suite, "unknown-key", 10, 1, "minn");
    assert_eq!(d["message"], "unknown key `minn` in a `range` check");
    let help = d["help"].as_str().unwrap();
    assert!(help.starts_with("did you mean `min`? valid keys: `kind`,"), "{help}");
    assert!(help.ends_with("; see docs/checks/range.md"), "{help}");
}

#[test]
fn unknown_kind_and_unknown_zone_say_did_you_mean_with_every_valid_name() {
    let suite = format!("{DATASET}[[check]]\nkind = \"not_nul\"\ncolumn = \"id\"\n");
    let d = expect_one(&suite, "unknown-kind", 7, 8, "\"not_nul\"");
    let help = d["help"].as_str().unwrap();
    assert!(help.starts_with("did you mean `not_null`? kinds: `"), "{help}");
    assert!(help.contains("`reference`"), "{help}");

    let suite = "[dataset]\nname = \"t\"\nzone = \"rwa\"\npath = \"t\"\n\n[[check]]\nkind = \"row_count\"\nmin = 1\n";
    let d = expect_one(suite, "unknown-zone", 3, 8, "\"rwa\"");
    assert_eq!(
        d["help"],
        "did you mean `raw`? zones: `raw`, `cleaned`, `curated`, `quarantine`"
    );
}

#[test]
fn unknown_type_names_suggest_the_closest_type() {
    let suite = format!("{DATASET}[[check]]\nkind = \"schema\"\ncolumns = {{ id = \"strng\" }}\n");
    let d = expect_one(&suite, "unknown-type", 8, 18, "\"strng\"");
    let help = d["help"].as_str().unwrap();
    assert!(help.starts_with("did you mean `string`? use one of `"), "{help}");
}

#[test]
fn toml_syntax_errors_have_a_code_too() {
    let p = Project::new();
    p.file("checks/t.toml", "[dataset\nname = \"t\"\n");
    let r = p.run(&["check", "--format", "json"]);
    assert_eq!(r.code, 2);
    assert_eq!(diagnostics(&r)[0]["code"], "toml-syntax");
    assert!(
        p.run(&["check"])
            .stderr
            .contains("error[toml-syntax]: this is not valid TOML")
    );
}

#[test]
fn validate_json_of_a_valid_project_has_an_empty_diagnostics_list() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,name\n1,a\n");
    p.suite("t", "", "[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\n");
    let r = p.run(&["validate", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    assert_eq!(j["status"], "valid");
    assert_eq!(j["suites"], 1);
    assert_eq!(j["checks"], 1);
    assert_eq!(j["diagnostics"], serde_json::json!([]));
    assert!(r.stderr.is_empty(), "{}", r.stderr);
}

#[test]
fn validate_json_lists_a_missing_column_as_a_diagnostic_and_exits_1() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,name\n1,a\n");
    p.suite("t", "", "[[check]]\nkind = \"not_null\"\ncolumn = \"nme\"\n");
    let r = p.run(&["validate", "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.json()["status"], "missing_columns");
    let ds = diagnostics(&r);
    assert_eq!(ds.len(), 1, "{ds:?}");
    assert_eq!(ds[0]["code"], "unknown-column");
    assert_eq!(ds[0]["severity"], "error");
    assert_eq!((ds[0]["line"].as_u64(), ds[0]["column"].as_u64()), (Some(8), Some(10)));
    assert!(
        ds[0]["help"].as_str().unwrap().starts_with("did you mean `name`?"),
        "{ds:?}"
    );
    assert!(
        r.stderr
            .contains("error[unknown-column]: dataset `t` has no column `nme`"),
        "{}",
        r.stderr
    );
}

#[test]
fn validate_json_warns_about_a_dataset_without_files() {
    let p = Project::new();
    std::fs::create_dir_all(p.path().join("lake/raw/t")).unwrap();
    p.suite(
        "t",
        "format = \"csv\"",
        "[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\n",
    );
    let r = p.run(&["validate", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ds = diagnostics(&r);
    assert_eq!(ds.len(), 1, "{ds:?}");
    assert_eq!(ds[0]["code"], "empty-dataset");
    assert_eq!(ds[0]["severity"], "warning");
    assert_eq!(ds[0]["line"], 4, "it points at the dataset's path: {ds:?}");
    assert!(
        r.stderr.contains("warning[empty-dataset]: dataset `t` has no files"),
        "{}",
        r.stderr
    );
}

#[test]
fn usage_errors_are_exit_2_with_their_help() {
    let p = Project::new();
    let r = p.run(&["history"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr, "error: name a dataset, or pass --sql \"SELECT …\"\n");
    let r = p.run(&["schema", "show", "t"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .starts_with("error: no accepted schema version of `t` in the catalog\n"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("  = help: a dataset's first recorded `lakegate check` accepts version 1"),
        "{}",
        r.stderr
    );
    let r = p.run(&["history", "--sql", "SELECT nope FROM runs"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("  = help: tables are `runs` and `checks`"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_failure_to_write_the_junit_report_is_exit_3() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id\n1\n");
    p.suite("t", "", "[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\n");
    let r = p.run(&["check", "--junit", "no/such/dir/out.xml"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr
            .starts_with("error: cannot write the JUnit report to no/such/dir/out.xml"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}

/// Every documented code is emitted somewhere: the docs list no code that cannot happen.
#[test]
fn every_code_is_used_outside_its_declaration() {
    let mut sources = String::new();
    for entry in walkdir::WalkDir::new(repo().join("src")) {
        let entry = entry.unwrap();
        if entry.path().extension().is_some_and(|x| x == "rs") && !entry.path().ends_with("diag.rs") {
            sources.push_str(&std::fs::read_to_string(entry.path()).unwrap());
        }
    }
    for code in lakegate::Code::ALL {
        let variant = format!("Code::{code:?}");
        assert!(
            sources.contains(&format!("{variant},")) || sources.contains(&format!("{variant}, ")),
            "`{code}` ({variant}) is declared but never used"
        );
    }
}
