//! CSV and NDJSON objects on an S3-compatible store (moto on 127.0.0.1, see `s3.rs`): what lakegate
//! reads of a file itself — the header, the first JSON record, every byte for a stray quote, the
//! line of a read error — is read from the object as it is from a file, and every fault is reported
//! in the same words, naming the object `s3://bucket/key` and the line.

use std::fmt::Write as _;

use serde_json::Value;

use crate::s3::{LOCAL_ROOT, Moto, borrowed, same_json};
use crate::support::Project;

/// `rows` CSV records `id,v` from 0, with `extra` written after record `at` (0-based).
fn id_v(rows: usize, at: usize, extra: &str) -> String {
    let mut s = String::from("id,v\n");
    for i in 0..rows {
        let _ = writeln!(s, "{i},value number {i} of the file");
        if i == at {
            s.push_str(extra);
        }
    }
    s
}

/// A lake with one dataset per fault (and two sound ones), written under `root`, with its suites.
fn faulty_project(root: &str) -> Project {
    let p = Project::new();
    p.file(
        "lakegate.toml",
        &format!("suites = [\"checks/*.toml\"]\n\n[lake]\nroot = \"{root}\"\n"),
    );
    let not_null = "[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\n";
    let n_range = "[[check]]\nkind = \"range\"\ncolumn = \"n\"\nmin = 0\nmax = 100000\n";
    let csv = "format = \"csv\"";
    let json = "format = \"json\"";
    for (name, dataset, checks) in [
        ("stray", csv, not_null.to_string()),
        ("truncated", csv, not_null.to_string()),
        ("dupe", csv, not_null.to_string()),
        ("longhead", csv, not_null.to_string()),
        ("misfit", csv, format!("{not_null}\n{n_range}")),
        (
            "sound",
            "format = \"csv\"\ncsv = { null_values = [\"\", \"NA\"] }",
            format!("[[check]]\nkind = \"not_null\"\ncolumn = \"n\"\n\n{n_range}"),
        ),
        ("badjson", json, not_null.to_string()),
        ("jsonmisfit", json, format!("{not_null}\n{n_range}")),
        ("events", json, not_null.to_string()),
    ] {
        p.suite(name, dataset, &checks);
    }
    p
}

/// The faulty lake's files (relative to the lake root).
fn faulty_files() -> Vec<(String, String)> {
    let mut files = Vec::new();
    // ~3.4 MB; an opening quote on line 40,003 that the quoted field of line 40,013 closes: the
    // stream's chunks cut it anywhere.
    files.push(("raw/stray/big.csv".into(), {
        let mut s = id_v(90_000, 40_000, "40000,\"oops\n");
        s = s.replacen("40010,value", "40010,\"q\"value", 1);
        s
    }));
    // An upload cut inside a quoted field.
    files.push(("raw/truncated/cut.csv".into(), id_v(1_000, 999, "1000,\"an unfinished")));
    files.push(("raw/dupe/a.csv".into(), "id,v,id\n1,2,3\n".into()));
    // A header of 2,501 names, ~75 KB: its duplicate lies beyond the first 64 KiB.
    files.push(("raw/longhead/wide.csv".into(), {
        let mut names: Vec<String> = (0..2_500).map(|i| format!("column_with_a_long_name_{i:05}")).collect();
        names[0] = "id".into();
        names.push("column_with_a_long_name_00007".into());
        let row = vec!["1"; names.len()].join(",");
        format!("{}\n{row}\n", names.join(","))
    }));
    // A value that is not a number after the inference window (20,000 records).
    files.push(("raw/misfit/a.csv".into(), {
        let mut s = String::from("id,n\n");
        for i in 0..30_000 {
            let _ = writeln!(s, "{i},{i}");
        }
        s.push_str("30000,oops\n");
        s
    }));
    // Null markers after the inference window, in a numeric column, and a quoted field over lines.
    files.push(("raw/sound/a.csv".into(), {
        let mut s = String::from("id,n,note\n");
        for i in 0..30_000 {
            let n = if i % 7_001 == 7_000 {
                "NA".to_string()
            } else {
                i.to_string()
            };
            let note = if i == 12 {
                "\"two\nlines, and a \"\"quote\"\"\""
            } else {
                "plain"
            };
            let _ = writeln!(s, "{i},{n},{note}");
        }
        s
    }));
    files.push(("raw/badjson/a.json".into(), {
        let mut s = String::new();
        for i in 0..6 {
            let _ = writeln!(s, "{{\"id\": {i}}}");
        }
        s.push_str("{\"id\": 6, \"v\": }\n{\"id\": 7}\n");
        s
    }));
    files.push(("raw/jsonmisfit/a.json".into(), {
        let mut s = String::new();
        for i in 0..30_000 {
            let _ = writeln!(s, "{{\"id\": {i}, \"n\": {i}}}");
        }
        s.push_str("{\"id\": 30000, \"n\": \"oops\"}\n");
        s
    }));
    files.push((
        "raw/events/dt=2026-01-01/a.json".into(),
        "{\"id\": 1}\n{\"id\": null}\n".into(),
    ));
    files
}

fn dataset<'a>(result: &'a Value, name: &str) -> &'a Value {
    crate::support::dataset(result, name)
}

#[test]
fn csv_and_ndjson_faults_name_the_object_and_its_line_as_on_disk() {
    let moto = Moto::start();
    let local = faulty_project(LOCAL_ROOT);
    for (rel, text) in faulty_files() {
        local.file(&format!("{LOCAL_ROOT}/{rel}"), &text);
    }
    moto.upload("lake", &local.path().join(LOCAL_ROOT), "t");
    let env = moto.env();
    let env = borrowed(&env);
    let remote = faulty_project("s3://lake/t");
    let result = same_json(
        &local,
        (&remote, "s3://lake/t"),
        &env,
        &["check", "--no-history", "--format", "json"],
    );

    let error = |name: &str| dataset(&result, name)["error"].as_str().unwrap_or_default().to_string();
    let says = |name: &str, parts: &[&str]| {
        let e = error(name);
        for part in parts {
            assert!(e.contains(part), "{name}: expected `{part}` in: {e}");
        }
    };
    says(
        "stray",
        &[
            "cannot read <lake>/raw/stray/big.csv",
            "the quoted field starting at line 40003 runs to line 40013",
        ],
    );
    says(
        "truncated",
        &[
            "cannot read <lake>/raw/truncated/cut.csv",
            "unterminated quoted field starting at line 1002",
        ],
    );
    says(
        "dupe",
        &["<lake>/raw/dupe/a.csv", "names column `id` twice (fields 1 and 3)"],
    );
    says(
        "longhead",
        &[
            "<lake>/raw/longhead/wide.csv",
            "names column `column_with_a_long_name_00007` twice (fields 8 and 2501)",
        ],
    );
    says(
        "badjson",
        &[
            "cannot read <lake>/raw/badjson/a.json",
            "not valid JSON",
            "line 7 column",
        ],
    );
    let check = |id: &str| crate::support::check(&result, id).clone();
    let misfit = check("misfit.n.range");
    assert_eq!(misfit["status"], "error", "{misfit}");
    let m = misfit["message"].as_str().unwrap();
    assert!(
        m.contains("<lake>/raw/misfit/a.csv") && m.contains("at line 30002") && m.contains("oops"),
        "{m}"
    );
    let misfit = check("jsonmisfit.n.range");
    let m = misfit["message"].as_str().unwrap();
    assert!(
        m.contains("<lake>/raw/jsonmisfit/a.json: line 30001: ") && m.contains("oops"),
        "{m}"
    );
    // The sound CSV: its null markers past the inference window are nulls, not read errors.
    let nulls = check("sound.n.not_null");
    assert_eq!(
        (nulls["status"].as_str(), nulls["failing_rows"].as_u64()),
        (Some("fail"), Some(4)),
        "{nulls}"
    );
    assert_eq!(check("sound.n.range")["status"], "pass");
    assert_eq!(dataset(&result, "sound")["rows"], 30_000);
    assert_eq!(check("events.id.not_null")["failing_rows"], 1);

    // On the store, the messages name the object as a person would.
    let r = remote.run_env(&["check", "stray", "--no-history"], &env);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("cannot read s3://lake/t/raw/stray/big.csv: the quoted field starting at line 40003"),
        "{}",
        r.stderr
    );
}

#[test]
fn an_object_replaced_during_a_run_ends_it_with_a_sentence_not_mixed_answers() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let write = |rows: usize| {
        let mut s = String::from("id,v\n");
        for i in 0..rows {
            let _ = writeln!(s, "{i},{}", if i % 10 == 0 { "" } else { "x" });
        }
        std::fs::create_dir_all(dir.path().join("raw/t")).unwrap();
        std::fs::write(dir.path().join("raw/t/a.csv"), s).unwrap();
    };
    write(100);
    moto.upload("lake", dir.path(), "t");
    let p = Project::new();
    p.file(
        "lakegate.toml",
        "suites = [\"checks/*.toml\"]\n\n[lake]\nroot = \"s3://lake/t\"\n",
    );
    p.suite(
        "t",
        "format = \"csv\"",
        "[[check]]\nkind = \"not_null\"\ncolumn = \"v\"\n\n[[check]]\nkind = \"row_count\"\nmin = 1\n",
    );
    let env = moto.env();
    // The run lists the object, checks its quotes and reads its schema, then waits; meanwhile a
    // writer replaces it with ten times the rows.
    let flag = p.path().join("paused");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_lakegate"))
        .args([
            "check",
            "--no-history",
            "--format",
            "json",
            "--now",
            crate::support::NOW,
        ])
        .current_dir(p.path())
        .env_remove("LAKEGATE_LOG")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("LAKEGATE_PAUSE", format!("run-dataset:{}", flag.display()))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !flag.exists() {
        assert!(started.elapsed().as_secs() < 30, "the run never paused");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    write(1_000);
    moto.upload("lake", dir.path(), "t");
    std::fs::remove_file(&flag).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let result: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let text = result.to_string();
    assert!(
        text.contains("the object changed after lakegate listed it"),
        "exit {:?}: {}\n{}",
        out.status.code(),
        serde_json::to_string_pretty(&result).unwrap(),
        String::from_utf8_lossy(&out.stderr)
    );
    // No check was judged on a mix of the two versions.
    assert!(!text.contains("\"status\":\"pass\""), "{text}");
    assert_ne!(out.status.code(), Some(0));

    // The next run reads the new version whole.
    let r = p.run_env(&["check", "--no-history", "--format", "json"], &borrowed(&env));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(crate::support::check(&r.json(), "t.v.not_null")["failing_rows"], 100);
}

#[test]
fn a_damaged_parquet_object_is_named_with_its_row_group_and_column_as_on_disk() {
    use crate::reads::{garble_page, plain_parquet};
    let moto = Moto::start();
    let project = |root: &str| {
        let p = Project::new();
        p.file(
            "lakegate.toml",
            &format!("suites = [\"checks/*.toml\"]\n\n[lake]\nroot = \"{root}\"\n"),
        );
        // A check that scans the garbled column, and one a cut file fails before any scan.
        p.suite(
            "garbled",
            "",
            "[[check]]\nkind = \"pattern\"\ncolumn = \"name\"\nregex = \"^name-[0-9]+$\"\n",
        );
        p.suite("cut", "", "[[check]]\nkind = \"row_count\"\nmin = 1\n");
        p.suite("badlen", "", "[[check]]\nkind = \"row_count\"\nmin = 1\n");
        p
    };
    let local = project(LOCAL_ROOT);
    let lake = local.path().join(LOCAL_ROOT);
    local.bytes(&format!("{LOCAL_ROOT}/raw/garbled/part-0.parquet"), &plain_parquet(100));
    local.bytes(
        &format!("{LOCAL_ROOT}/raw/garbled/part-1.parquet"),
        &plain_parquet(20_000),
    );
    garble_page(&lake.join("raw/garbled/part-1.parquet"), 1);
    let whole = plain_parquet(1_000);
    local.bytes(
        &format!("{LOCAL_ROOT}/raw/cut/part-0.parquet"),
        &whole[..whole.len() / 2],
    );
    // A footer length far beyond the file (the parquet crate once subtracted it unchecked).
    let mut badlen = whole.clone();
    let n = badlen.len();
    badlen[n - 8..n - 4].copy_from_slice(&u32::MAX.to_le_bytes());
    local.bytes(&format!("{LOCAL_ROOT}/raw/badlen/part-0.parquet"), &badlen);
    moto.upload("lake", &lake, "t");
    let env = moto.env();
    let env = borrowed(&env);
    let result = same_json(
        &local,
        (&project("s3://lake/t"), "s3://lake/t"),
        &env,
        &["check", "--no-history", "--format", "json"],
    );
    let text = result.to_string();
    assert!(
        text.contains("<lake>/raw/garbled/part-1.parquet, row group 0, column `name`"),
        "{text}"
    );
    let cut = dataset(&result, "cut")["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        cut.contains("<lake>/raw/cut/part-0.parquet: not a Parquet file"),
        "{cut}"
    );
    let badlen = dataset(&result, "badlen")["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(badlen.contains("damaged Parquet footer"), "{badlen}");
}
