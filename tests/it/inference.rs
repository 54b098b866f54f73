//! CSV column types come from the first `infer_rows` records of each file (default 20,000), as in
//! DuckDB: a later value that does not fit is an error that says what to declare, never a silent
//! wrong answer, and a column with no value in the sample is inferred from the whole file.

use crate::support::{Project, check};

/// `id,x,note` rows; `x(i)` and `note(i)` give the values of row `i` (1-based).
fn csv(rows: usize, x: impl Fn(usize) -> String, note: impl Fn(usize) -> String) -> String {
    let mut out = String::from("id,x,note\n");
    for i in 1..=rows {
        out.push_str(&format!("{i},{},{}\n", x(i), note(i)));
    }
    out
}

const CHECKS: &str = r#"[[check]]
kind = "not_null"
column = "id"

[[check]]
kind = "range"
column = "x"
min = 0
"#;

#[test]
fn a_value_past_the_sample_that_does_not_fit_says_what_to_declare() {
    let p = Project::new();
    let data = csv(
        25_000,
        |i| if i == 24_000 { "n/a".into() } else { i.to_string() },
        |_| "a".into(),
    );
    p.file("lake/raw/t/t.csv", &data);
    p.suite("t", "", CHECKS);
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r}");
    // The other checks are still answered.
    assert_eq!(check(&r, "t.id.not_null")["status"], "pass");
    let x = check(&r, "t.x.range");
    assert_eq!(x["status"], "error");
    let message = x["message"].as_str().unwrap();
    assert!(message.contains("n/a"), "{message}");
    assert!(message.contains("first 20,000 records"), "{message}");
    assert!(message.contains("types = { x = \"string\" }"), "{message}");
    // Where it is, counted in the file (line 1 is the header); the row's other values stay out.
    assert!(message.contains("lake/raw/t/t.csv: "), "{message}");
    assert!(message.contains("line 24001"), "{message}");
    assert!(!message.contains("Row data"), "{message}");

    // Declaring the type (or reading the whole file) settles it.
    p.file(
        "lakegate.toml",
        &format!("{}\n[engine]\ninfer_rows = 100000\n", crate::support::DEFAULT_CONFIG),
    );
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"pattern\"\ncolumn = \"x\"\nregex = '^[0-9]+$'\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r}");
    assert_eq!(check(&r, "t.x.pattern")["failing_rows"], 1);
}

#[test]
fn a_column_empty_in_the_sample_is_inferred_from_the_whole_file() {
    let p = Project::new();
    let data = csv(
        25_000,
        |i| (i % 7).to_string(),
        |i| if i > 21_000 { (i % 5).to_string() } else { String::new() },
    );
    p.file("lake/raw/t/t.csv", &data);
    p.suite("t", "", "[[check]]\nkind = \"range\"\ncolumn = \"note\"\nmax = 3\n");
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r}");
    let note = check(&r, "t.note.range");
    assert_eq!(note["status"], "fail", "{note}");
    // Rows 21,001..25,000 with i % 5 == 4.
    assert_eq!(note["failing_rows"], 800);
}

#[test]
fn a_column_declared_as_text_keeps_its_leading_zeros() {
    // Inferred as integers, read as text because the suite says so: "00501" stays "00501".
    let p = Project::new();
    p.file("lake/raw/t/t.csv", "id,zip\n1,00501\n2,02134\n3,90210\n4,\n");
    p.suite(
        "t",
        "types = { zip = \"string\" }",
        "[[check]]\nkind = \"pattern\"\ncolumn = \"zip\"\nregex = '^[0-9]{5}$'\n\n[[check]]\nkind = \"not_null\"\ncolumn = \"zip\"\n",
    );
    let (code, r) = p.check_json(&[]);
    assert_eq!(code, 1, "{r}");
    assert_eq!(check(&r, "t.zip.pattern")["status"], "pass", "{r}");
    // The empty field is null, as in every other column.
    assert_eq!(check(&r, "t.zip.not_null")["failing_rows"], 1, "{r}");
}
