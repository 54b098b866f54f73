//! Hostile inputs to the reads (issue 19): damaged catalogs, unterminated quotes, corrupt Parquet
//! pages, deep expressions, tiny memory pools. Every case runs the real binary under a watchdog, so
//! a hang is a test failure, never a hung test; every input is generated here, deterministically.

use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Encoding;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};

use crate::support::{Project, Run};

/// How long a case may run before the watchdog calls it a hang. Generous: a debug build on a busy
/// machine; the cases themselves take seconds.
const HANG: Duration = Duration::from_secs(180);

/// `lakegate ARGS` in the project, killed and failed if it has not finished within [`HANG`].
fn run_bounded(p: &Project, args: &[&str]) -> Run {
    p.run_bounded(args, HANG)
}

// ---- item 6: a damaged schema catalog ----

#[test]
fn a_damaged_catalog_file_is_an_exit_3_error_naming_it_never_a_hang() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id\n1\n2\n");
    p.suite("t", "", "[[check]]\nkind = \"schema\"\ncolumns = { id = \"int\" }\n");
    let damaged = ".lakegate/history/schemas/t/v000001.json";
    p.file(damaged, "<<<<<<< HEAD\n{\"dataset\": \"t\"}\n=======\n>>>>>>> other\n");
    for args in [
        &["check"][..],
        &["promote", "t"],
        &["schema", "accept", "t"],
        &["schema", "show", "t"],
        &["schema", "history", "t"],
    ] {
        let r = run_bounded(&p, args);
        assert_eq!(r.code, 3, "lakegate {args:?}: {r:?}");
        assert!(
            r.stderr.contains(damaged),
            "lakegate {args:?} does not name the file: {r:?}"
        );
    }
    // Nothing was accepted over or beside the damaged version.
    let dir = p.path().join(".lakegate/history/schemas/t");
    let names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["v000001.json"]);
}

#[test]
fn accept_skips_every_number_a_version_file_takes() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id\n1\n2\n");
    p.suite("t", "", "[[check]]\nkind = \"schema\"\ncolumns = { id = \"int\" }\n");
    assert_eq!(run_bounded(&p, &["check"]).code, 0);
    // A version file whose content says another number still takes its own.
    let v1 = std::fs::read_to_string(p.path().join(".lakegate/history/schemas/t/v000001.json")).unwrap();
    p.file(".lakegate/history/schemas/t/v000003.json", &v1);
    p.file("lake/raw/t/a.csv", "id,extra\n1,a\n2,b\n");
    let r = run_bounded(&p, &["schema", "accept", "t"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("as version 4"), "{r:?}");
}

// ---- item 2: a stray quote must not make a CSV file shorter ----

/// `id,name,note` with `rows` data rows; `note` is quoted (with a doubled quote and a line break)
/// on every 1000th row, so well-formed quoting is exercised too.
fn csv_rows(rows: usize) -> String {
    let mut s = String::from("id,name,note\n");
    for i in 0..rows {
        if i % 1000 == 7 {
            s.push_str(&format!("{i},n{i},\"say \"\"hi\"\",\nthen go\"\n"));
        } else {
            s.push_str(&format!("{i},n{i},plain\n"));
        }
    }
    s
}

const COUNT_SUITE: &str =
    "[[check]]\nkind = \"row_count\"\nmin = 1\n\n[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\n";

#[test]
fn a_well_formed_quoted_csv_reads_every_record() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", &csv_rows(100_000));
    p.suite("t", "", COUNT_SUITE);
    let r = run_bounded(&p, &["check", "--format", "json"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["datasets"][0]["rows"], 100_000);
}

#[test]
fn an_unterminated_quote_is_an_error_naming_the_file_and_line_not_a_short_read() {
    let p = Project::new();
    // Data line 5 (file line 6) opens a quote in its last field and never closes it; no later
    // quote in the file, so the reader would take everything after it as one value.
    let mut text = String::from("id,name,note\n");
    for i in 0..100_000 {
        text.push_str(&format!("{i},n{i},{}plain\n", if i == 4 { "\"" } else { "" }));
    }
    p.file("lake/raw/t/a.csv", &text);
    p.suite("t", "", COUNT_SUITE);
    let r = run_bounded(&p, &["check"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("lake/raw/t/a.csv"), "{r:?}");
    assert!(
        r.stderr.contains("unterminated quoted field starting at line 6"),
        "{r:?}"
    );
}

#[test]
fn a_stray_quote_closed_by_a_later_field_is_an_error_too() {
    let p = Project::new();
    // Line 6 opens a quote; the quoted notes further down close it "by accident".
    let text = csv_rows(100_000).replacen("4,n4,plain\n", "4,n4,\"plain\n", 1);
    p.file("lake/raw/t/a.csv", &text);
    p.suite("t", "", COUNT_SUITE);
    let r = run_bounded(&p, &["check"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("lake/raw/t/a.csv"), "{r:?}");
    assert!(r.stderr.contains("starting at line 6"), "{r:?}");
}

// ---- item 9: deep expressions ----

fn ors(column: &str, n: usize) -> String {
    (0..n)
        .map(|i| format!("{column} = {i}"))
        .collect::<Vec<_>>()
        .join(" OR ")
}

#[test]
fn a_fragment_too_deep_for_the_stack_is_a_configuration_error_suggesting_in() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id\n1\n2\n");
    p.suite(
        "t",
        "",
        &format!(
            "[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\nwhere = \"{}\"\n",
            ors("id", 4000)
        ),
    );
    for args in [&["check"][..], &["validate"]] {
        let r = run_bounded(&p, args);
        assert_eq!(r.code, 2, "lakegate {args:?}: {}", r.stderr);
        assert!(r.stderr.contains("IN (1, 2, …)"), "{}", r.stderr);
        assert!(r.stderr.contains("checks/t.toml"), "{}", r.stderr);
    }
}

#[test]
fn a_fragment_at_the_depth_limit_runs_and_counts_right() {
    let p = Project::new();
    let mut csv = String::from("id\n");
    for i in 0..2000 {
        csv.push_str(&format!("{i}\n"));
    }
    p.file("lake/raw/t/a.csv", &csv);
    // NOT over 999 comparisons joined by 998 ORs: 1000 levels, the deepest fragment accepted.
    let sql = ors("id", 999);
    p.suite(
        "t",
        "",
        &format!("[[check]]\nkind = \"expression\"\nsql = \"NOT ({sql})\"\n"),
    );
    let r = run_bounded(&p, &["check", "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    // Rows 0..998 fail `NOT (id = 0 OR … OR id = 998)`.
    assert_eq!(
        crate::support::check(&r.json(), "t.expression")["failing_rows"],
        999,
        "{}",
        r.stdout
    );
}

// ---- item 1: corrupt Parquet pages ----

/// `rows` rows of a required `id` (0..rows) and a nullable `name`.
fn id_name_batch(rows: i64) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
    ]));
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..rows));
    let names: ArrayRef = Arc::new(StringArray::from_iter(
        (0..rows).map(|i| (i % 10 != 3).then(|| format!("name-{i:06}"))),
    ));
    RecordBatch::try_new(schema, vec![ids, names]).unwrap()
}

/// [`id_name_batch`] written plain (no dictionary, no compression), so garbage in a page body
/// still decodes as values.
pub fn plain_parquet(rows: i64) -> Vec<u8> {
    let batch = id_name_batch(rows);
    let props = WriterProperties::builder()
        .set_dictionary_enabled(false)
        .set_encoding(Encoding::PLAIN)
        .build();
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    buf
}

/// Overwrites the body of the first data page of leaf column `column` of the file at `path` with
/// deterministic garbage (its header and the footer stay intact).
pub fn garble_page(path: &std::path::Path, column: usize) {
    let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let chunk = reader.metadata().row_group(0).column(column).clone();
    let start = usize::try_from(chunk.data_page_offset()).unwrap();
    let len = usize::try_from(chunk.compressed_size()).unwrap();
    let mut bytes = std::fs::read(path).unwrap();
    // Skip the page header (a few dozen bytes of thrift) and leave the chunk's last bytes.
    let (from, to) = (start + 64, start + len - 8);
    let mut x: u32 = 0x9e37_79b9;
    for b in &mut bytes[from..to] {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x.to_le_bytes()[0];
    }
    std::fs::write(path, bytes).unwrap();
}

/// Checks the footers answer on their own: no column is scanned.
const FOOTER_SUITE: &str = "[[check]]\nkind = \"row_count\"\nmin = 1\n\n[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\n\n[[check]]\nkind = \"range\"\ncolumn = \"id\"\nmin = 0\n";

#[test]
fn promote_refuses_a_parquet_file_whose_pages_are_garbage_behind_a_good_footer() {
    for column in [0, 1] {
        let p = Project::new();
        p.bytes("lake/raw/t/part-0.parquet", &plain_parquet(20_000));
        garble_page(&p.path().join("lake/raw/t/part-0.parquet"), column);
        p.bytes("lake/raw/t/part-1.parquet", &plain_parquet(100));
        p.suite("t", "", FOOTER_SUITE);
        // `check` keeps "exact or scanned": the footers answer every check.
        let r = run_bounded(&p, &["check"]);
        assert_eq!(r.code, 0, "column {column}: {r:?}");
        let r = run_bounded(&p, &["promote", "t"]);
        assert_eq!(r.code, 3, "column {column}: {r:?}");
        assert!(r.stderr.contains("lake/raw/t/part-0.parquet, row group 0"), "{r:?}");
        let target = p.path().join("lake/cleaned/t");
        let published = walkdir::WalkDir::new(&target)
            .into_iter()
            .flatten()
            .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "parquet"))
            .count();
        assert_eq!(published, 0, "column {column}: a file was published");
    }
}

#[test]
fn a_scan_that_hits_a_garbage_page_names_the_file_and_row_group() {
    let p = Project::new();
    p.bytes("lake/raw/t/part-0.parquet", &plain_parquet(100));
    p.bytes("lake/raw/t/part-1.parquet", &plain_parquet(20_000));
    garble_page(&p.path().join("lake/raw/t/part-1.parquet"), 1);
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"pattern\"\ncolumn = \"name\"\nregex = \"^name-[0-9]+$\"\n",
    );
    let r = run_bounded(&p, &["check"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr
            .contains("lake/raw/t/part-1.parquet, row group 0, column `name`"),
        "{r:?}"
    );
}

#[test]
fn good_parquet_files_pass_the_full_decode() {
    let p = Project::new();
    p.bytes("lake/raw/t/a.parquet", &plain_parquet(50_000));
    // The fixtures' writer: dictionary-encoded pages.
    p.parquet("lake/raw/t/b.parquet", &id_name_batch(30_000));
    p.suite("t", "", "[[check]]\nkind = \"row_count\"\nmin = 1\n");
    let r = run_bounded(&p, &["promote", "t", "--format", "json"]);
    assert_eq!(r.code, 0, "{r:?}");
}

// ---- item 7: keyed queries under a small memory pool ----

/// Four CSV files of `rows` rows in all: `a` (a long string key, `dups` of them repeated once with
/// the same `b`) and `b`. The keys are a deterministic permutation, so the duplicates are known.
fn keyed_csvs(p: &Project, dir: &str, rows: u64, dups: u64) {
    let per = rows / 4;
    for f in 0..4 {
        let mut s = String::from("a,b\n");
        for i in f * per..(f + 1) * per {
            // A repeated key is row i and row i + rows/2 (another file).
            let k = if i >= rows / 2 && i - rows / 2 < dups {
                i - rows / 2
            } else {
                i
            };
            // Multiplication modulo a prime: distinct keys stay distinct.
            let scrambled = u128::from(k) * 0x9e37_79b9_7f4a_7c15 % 1_000_000_007;
            s.push_str(&format!(
                "customer-{scrambled:012}@example.com,status-{:06}-long-padding-padding-padding\n",
                k % 100_000
            ));
        }
        p.file(&format!("{dir}/part-{f}.csv"), &s);
    }
}

#[test]
fn unique_on_a_composite_string_key_completes_under_a_24mb_pool() {
    let p = Project::new();
    keyed_csvs(&p, "lake/raw/t", 1_200_000, 37);
    p.suite("t", "", "[[check]]\nkind = \"unique\"\ncolumns = [\"a\", \"b\"]\n");
    // Over several partitions these pools failed ("Resources exhausted") in two runs of three, or
    // parked every thread (apache/datafusion#24883); each run must now complete with the count.
    for limit in ["16MB", "24MB", "32MB"] {
        let r = run_bounded(
            &p,
            &["check", "--format", "json", "--memory-limit", limit, "--no-history"],
        );
        assert_eq!(r.code, 1, "{limit}: {}", r.stderr);
        let c = crate::support::check(&r.json(), "t.a+b.unique").clone();
        assert_eq!(
            (c["status"].as_str(), c["failing_rows"].as_u64()),
            (Some("fail"), Some(74)),
            "{limit}: {c}"
        );
    }
}

#[test]
fn reference_completes_under_a_24mb_pool() {
    let p = Project::new();
    keyed_csvs(&p, "lake/raw/parent", 1_200_000, 0);
    keyed_csvs(&p, "lake/raw/child", 1_200_000, 0);
    // 11 child rows whose key the parent lacks.
    let mut extra = String::from("a,b\n");
    for i in 0..11 {
        extra.push_str(&format!("orphan-{i}@example.com,x\n"));
    }
    p.file("lake/raw/child/part-9.csv", &extra);
    p.suite("parent", "", "[[check]]\nkind = \"row_count\"\nmin = 1\n");
    p.suite(
        "child",
        "",
        "[[check]]\nkind = \"reference\"\ncolumn = \"a\"\ndataset = \"parent\"\nto_column = \"a\"\n",
    );
    let r = run_bounded(
        &p,
        &["check", "--format", "json", "--memory-limit", "24MB", "--no-history"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let c = crate::support::check(&r.json(), "child.a.reference").clone();
    assert_eq!(
        (c["status"].as_str(), c["failing_rows"].as_u64()),
        (Some("fail"), Some(11)),
        "{c}"
    );
}

// ---- item 11: every read error names its file (relative), line or row group, and cause ----

/// `id,v` rows `0..rows` with `bad` inserted after data row `at`.
fn csv_with(rows: usize, at: usize, bad: &[u8]) -> Vec<u8> {
    let mut s = b"id,v\n".to_vec();
    for i in 0..rows {
        s.extend_from_slice(format!("{i},{i}\n").as_bytes());
        if i + 1 == at {
            s.extend_from_slice(bad);
        }
    }
    s
}

const ID_V_SUITE: &str =
    "[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\n\n[[check]]\nkind = \"range\"\ncolumn = \"v\"\nmin = 0\n";

/// `lakegate check` over one file of dataset `t`: exit 3, and the error names the file relative to
/// the project (never an absolute path) and says `what`.
fn assert_unreadable(file: &str, bytes: &[u8], what: &[&str]) {
    let p = Project::new();
    p.bytes(&format!("lake/raw/t/{file}"), bytes);
    p.suite("t", "", ID_V_SUITE);
    let r = run_bounded(&p, &["check", "--format", "json"]);
    assert_eq!(r.code, 3, "{file}: {r:?}");
    let error = r.json()["datasets"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        error.contains(&format!("cannot read lake/raw/t/{file}: ")),
        "{file}: {error}"
    );
    let tmp = p.path().to_string_lossy().trim_start_matches('/').to_string();
    assert!(!error.contains(&tmp), "{file}: an absolute path in {error}");
    for w in what {
        assert!(error.contains(w), "{file}: `{w}` missing from {error}");
    }
}

#[test]
fn ragged_rows_name_the_file_and_line_in_the_sample_and_past_it() {
    assert_unreadable(
        "a.csv",
        &csv_with(10, 2, b"1,2,3\n"),
        &["line 4 has 3 fields where the first record has 2"],
    );
    assert_unreadable(
        "b.csv",
        &csv_with(30_000, 25_000, b"1,2,3\n"),
        &["line 25002", "expected 2 got 3"],
    );
}

#[test]
fn non_utf8_names_the_file_and_line_in_the_sample_and_past_it() {
    assert_unreadable("a.csv", &csv_with(10, 2, b"\xff\xfe,4\n"), &["UTF-8", "line 4"]);
    assert_unreadable(
        "b.csv",
        &csv_with(30_000, 25_000, b"\xff\xfe,4\n"),
        &["UTF-8", "line 25002"],
    );
}

#[test]
fn a_duplicate_csv_header_says_so() {
    assert_unreadable(
        "a.csv",
        b"id,v,id\n1,2,3\n",
        &["the header names column `id` twice (fields 1 and 3)"],
    );
}

#[test]
fn malformed_json_names_the_file_and_line_in_the_sample_and_past_it() {
    let mut early = String::new();
    let mut late = String::new();
    for i in 0..30_000 {
        let line = format!("{{\"id\": {i}, \"v\": {i}}}\n");
        if i < 10 {
            early.push_str(&line);
        }
        late.push_str(&line);
        if i == 4 {
            early.push_str("{\"id\": 1, \"v\": }\n");
        }
        if i == 25_000 {
            late.push_str("{\"id\": 1, \"v\": }\n");
        }
    }
    assert_unreadable("a.json", early.as_bytes(), &["not valid JSON", "line 6"]);
    assert_unreadable("b.json", late.as_bytes(), &["not valid JSON", "line 25002"]);
}

#[test]
fn a_parquet_file_with_a_garbage_footer_is_named() {
    let mut bytes = plain_parquet(100);
    let n = bytes.len();
    // The footer's length field points past the start of the file.
    bytes[n - 8..n - 4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_unreadable("a.parquet", &bytes, &["damaged Parquet footer"]);
    // Cut in half: no footer at all.
    let whole = plain_parquet(100);
    assert_unreadable("b.parquet", &whole[..whole.len() / 2], &["not a Parquet file"]);
    // The metadata itself is garbage.
    let mut bytes = plain_parquet(100);
    let n = bytes.len();
    let meta = usize::try_from(u32::from_le_bytes(bytes[n - 8..n - 4].try_into().unwrap())).unwrap();
    for (i, b) in bytes[n - 8 - meta..n - 8].iter_mut().enumerate() {
        *b = u8::try_from(i * 131 % 251).unwrap();
    }
    assert_unreadable("c.parquet", &bytes, &[]);
}

// ---- item 4: a JSON value that conflicts with the inferred type fails only the checks that read it ----

#[test]
fn a_json_type_conflict_past_the_sample_errors_the_checks_reading_the_column_like_csv() {
    for (file, bytes) in [
        ("a.json", {
            let mut s = String::new();
            for i in 0..30_000 {
                s.push_str(&format!("{{\"id\": {i}, \"v\": {i}}}\n"));
            }
            s.push_str("{\"id\": 30000, \"v\": \"oops\"}\n");
            s.into_bytes()
        }),
        ("a.csv", csv_with(30_000, 30_000, b"30000,oops\n")),
    ] {
        let p = Project::new();
        p.bytes(&format!("lake/raw/t/{file}"), &bytes);
        p.suite("t", "", ID_V_SUITE);
        let r = run_bounded(&p, &["check", "--format", "json"]);
        assert_eq!(r.code, 1, "{file}: {r:?}");
        let result = r.json();
        assert_eq!(crate::support::dataset(&result, "t")["rows"], 30_001, "{file}");
        assert_eq!(
            crate::support::check(&result, "t.id.not_null")["status"],
            "pass",
            "{file}"
        );
        let v = crate::support::check(&result, "t.v.range");
        assert_eq!(v["status"], "error", "{file}: {v}");
        let m = v["message"].as_str().unwrap();
        // The line is counted in the file: line 1 is the CSV header.
        let place = if file.ends_with(".json") {
            format!("lake/raw/t/{file}: line 30001: ")
        } else {
            format!("lake/raw/t/{file}: ")
        };
        assert!(m.contains(&place) && m.contains("oops"), "{file}: {m}");
        if file.ends_with(".csv") {
            assert!(m.contains("at line 30002"), "{m}");
        }
        assert!(m.contains("types = { v = \"string\" }"), "{file}: {m}");
    }
}

// ---- item 10: very wide CSV files ----

#[test]
fn a_file_wider_than_the_limit_is_refused_at_once_and_one_at_the_limit_reads() {
    let header = |n: usize| (0..n).map(|i| format!("c{i}")).collect::<Vec<_>>().join(",");
    let row = |n: usize| vec!["1"; n].join(",");
    for n in [10_001, 1_000_000] {
        let p = Project::new();
        p.file("lake/raw/t/a.csv", &format!("{}\n{}\n", header(n), row(n)));
        p.suite("t", "", "[[check]]\nkind = \"not_null\"\ncolumn = \"c0\"\n");
        let r = run_bounded(&p, &["check"]);
        assert_eq!(r.code, 3, "{n}: {}", r.stderr);
        assert!(r.stderr.contains("lake/raw/t/a.csv"), "{n}: {}", r.stderr);
        assert!(r.stderr.contains("at most 10,000 columns"), "{n}: {}", r.stderr);
    }
    // NDJSON: the keys of the first record.
    let p = Project::new();
    let record = (0..1_000_000)
        .map(|i| format!("\"c{i}\": 1"))
        .collect::<Vec<_>>()
        .join(", ");
    p.file("lake/raw/t/a.json", &format!("{{{record}}}\n"));
    p.suite("t", "", "[[check]]\nkind = \"not_null\"\ncolumn = \"c0\"\n");
    let r = run_bounded(&p, &["check"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("lake/raw/t/a.json") && r.stderr.contains("at most 10,000 columns"),
        "{}",
        r.stderr
    );

    let p = Project::new();
    p.file(
        "lake/raw/t/a.csv",
        &format!("{}\n{}\n{}\n", header(10_000), row(10_000), row(10_000)),
    );
    p.suite("t", "", "[[check]]\nkind = \"not_null\"\ncolumn = \"c9999\"\n");
    let r = run_bounded(&p, &["check", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["datasets"][0]["rows"], 2);
}

#[test]
fn lines_are_counted_in_the_file_when_a_big_csv_is_split_across_partitions() {
    // 16 MB: DataFusion reads files over 10 MB in several byte ranges, and arrow's reader counts
    // lines from the start of its range.
    let big = |bad: &str| {
        let mut s = String::from("id,v,pad\n");
        for i in 0..400_000 {
            if i == 300_000 {
                s.push_str(bad);
            }
            s.push_str(&format!("{i},{i},padding-padding-padding-padding\n"));
        }
        s
    };
    // The bad record is on line 300,002 (line 1 is the header).
    let p = Project::new();
    p.file("lake/raw/t/a.csv", &big("7,oops,x\n"));
    p.suite("t", "", ID_V_SUITE);
    let r = run_bounded(&p, &["check", "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let m = crate::support::check(&r.json(), "t.v.range")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(m.contains("lake/raw/t/a.csv: ") && m.contains("at line 300002"), "{m}");

    let p = Project::new();
    p.file("lake/raw/t/a.csv", &big("7,7,x,extra\n"));
    p.suite("t", "", ID_V_SUITE);
    let r = run_bounded(&p, &["check", "--format", "json"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let error = r.json()["datasets"][0]["error"].as_str().unwrap().to_string();
    assert!(
        error.contains("lake/raw/t/a.csv: ") && error.contains("line 300002"),
        "{error}"
    );
}

#[test]
fn a_key_query_that_hits_a_garbage_page_names_the_file() {
    // The footers answer the fused scan (no column is read); only `unique` reads `id`.
    let p = Project::new();
    p.bytes("lake/raw/t/part-0.parquet", &plain_parquet(100));
    p.bytes("lake/raw/t/part-1.parquet", &plain_parquet(20_000));
    garble_page(&p.path().join("lake/raw/t/part-1.parquet"), 1);
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"row_count\"\nmin = 1\n\n[[check]]\nkind = \"unique\"\ncolumns = [\"id\", \"name\"]\n",
    );
    let r = run_bounded(&p, &["check"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr
            .contains("lake/raw/t/part-1.parquet, row group 0, column `name`"),
        "{r:?}"
    );
}

#[test]
fn reference_under_a_small_pool_answers_as_under_a_large_one() {
    let p = Project::new();
    p.file("lake/raw/parent/a.csv", "code,n\n7,1\n8,2\nx,3\n,4\n");
    p.file(
        "lake/raw/child/a.csv",
        "code,m\n7,1\n007,2\n9,3\n9,4\n,5\nx,6\ny,7\n8,8\n",
    );
    p.suite("parent", "", "[[check]]\nkind = \"row_count\"\nmin = 1\n");
    p.suite(
        "child",
        "",
        "[[check]]\nkind = \"reference\"\ncolumn = \"code\"\ndataset = \"parent\"\nto_column = \"code\"\n",
    );
    let answer = |limit: &str| {
        let r = run_bounded(
            &p,
            &["check", "--format", "json", "--memory-limit", limit, "--no-history"],
        );
        let c = crate::support::check(&r.json(), "child.code.reference").clone();
        (
            r.code,
            c["status"].clone(),
            c["failing_rows"].clone(),
            c["observed"].clone(),
            c["message"].clone(),
            c["sample"].clone(),
        )
    };
    let small = answer("64MB");
    assert_eq!(small, answer("2GB"));
    assert_eq!(small.2, 4, "{small:?}");
}

#[test]
fn file_names_with_glob_characters_are_read_as_files() {
    let p = Project::new();
    for (name, id) in [("a[1].csv", 1), ("b*x?.csv", 2), ("c{d}.csv", 3), ("e%20f.csv", 4)] {
        p.file(&format!("lake/raw/odd/{name}"), &format!("id\n{id}\n"));
    }
    p.suite("odd", "", "[[check]]\nkind = \"row_count\"\nmin = 4\nmax = 4\n");
    let (code, j) = p.check_json(&[]);
    assert_eq!(code, 0, "{j}");
    assert_eq!(crate::support::dataset(&j, "odd")["rows"], 4, "{j}");
}
