//! The JSON Schemas in `schemas/`: generated from the code (a stale copy fails), naming exactly
//! the keys lakegate's readers accept, and — checked by taplo, the validator behind Even Better
//! TOML — accepting every suite and project in the repository and rejecting broken ones.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{Project, repo};

#[test]
fn schema_files_are_up_to_date() {
    let bless = std::env::var_os("LAKEGATE_BLESS").is_some();
    for (rel, content) in lakegate::json_schema::files() {
        let path = repo().join(&rel);
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &content).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(on_disk == content, "{rel} is stale; run LAKEGATE_BLESS=1 cargo test");
    }
    let printed = Project::new().run(&["schema-json"]);
    let on_disk: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("schemas/suite.schema.json")).unwrap()).unwrap();
    assert_eq!(printed.json(), on_disk);
}

/// `unknown key `K` in WHAT` → the valid keys the reader listed, per WHAT.
fn valid_keys(stderr: &str) -> Vec<(String, BTreeSet<String>)> {
    let mut out = Vec::new();
    let mut what = None;
    for line in stderr.lines() {
        if let Some(rest) = line.split("unknown key `").nth(1) {
            what = rest.split_once("` in ").map(|(_, w)| w.to_string());
        }
        if let (Some(w), Some(list)) = (&what, line.split("valid keys: ").nth(1)) {
            let keys = list
                .split(';')
                .next()
                .unwrap()
                .split(", ")
                .map(|k| k.trim().trim_matches('`').to_string())
                .collect();
            out.push((w.clone(), keys));
            what = None;
        }
    }
    out
}

fn names(keys: &[lakegate::KeyDoc]) -> BTreeSet<String> {
    keys.iter().map(|k| k.name.to_string()).collect()
}

fn table(name: &str) -> BTreeSet<String> {
    let (_, keys) = lakegate::json_schema::PROJECT_TABLES
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap();
    names(keys)
}

#[test]
fn the_key_tables_name_exactly_the_keys_the_readers_accept() {
    let p = Project::new();
    p.file(
        "lakegate.toml",
        "bogus = 1\nsuites = [\"checks/*.toml\"]\n[lake]\nroot = \"lake\"\nx = 1\n[engine]\nx = 1\n[history]\nx = 1\n[report]\nx = 1\n\
         [alerts]\nx = 1\n[[alerts.email]]\nurl = \"smtp://h:25\"\nfrom = \"a@b.c\"\nto = [\"a@b.c\"]\nx = 1\n\
         [[alerts.webhook]]\nurl = \"http://h/\"\nx = 1\n[audit]\nx = 1\n[lineage]\nfile = \"l.jsonl\"\nx = 1\n",
    );
    let r = p.run(&["validate"]);
    let found = valid_keys(&r.stderr);
    let want = [
        ("lakegate.toml", names(lakegate::json_schema::PROJECT_KEYS)),
        ("`[lake]`", table("lake")),
        ("`[engine]`", table("engine")),
        ("`[history]`", table("history")),
        ("`[report]`", table("report")),
        ("`[alerts]`", table("alerts")),
        ("`[[alerts.email]]` #1", table("alerts.email")),
        ("`[[alerts.webhook]]` #1", table("alerts.webhook")),
        ("`[audit]`", table("audit")),
        ("`[lineage]`", table("lineage")),
    ];
    for (what, keys) in want {
        let got = found
            .iter()
            .find(|(w, _)| w == what)
            .unwrap_or_else(|| panic!("no unknown-key help for {what}:\n{}", r.stderr));
        assert_eq!(got.1, keys, "{what}");
    }

    p.file("lakegate.toml", crate::support::DEFAULT_CONFIG);
    p.file(
        "checks/t.toml",
        "bogus = 1\n[dataset]\nname = \"t\"\nzone = \"raw\"\npath = \"t\"\nx = 1\n[dataset.csv]\nx = 1\n[[check]]\nkind = \"row_count\"\nmin = 1\n",
    );
    let r = p.run(&["validate"]);
    let found = valid_keys(&r.stderr);
    for (what, keys) in [
        ("the suite", names(lakegate::json_schema::SUITE_KEYS)),
        ("`[dataset]`", names(lakegate::json_schema::DATASET_KEYS)),
        ("`csv` options", names(lakegate::json_schema::CSV_KEYS)),
    ] {
        let got = found
            .iter()
            .find(|(w, _)| w == what)
            .unwrap_or_else(|| panic!("no unknown-key help for {what}:\n{}", r.stderr));
        assert_eq!(got.1, keys, "{what}");
    }
}

/// taplo, installed by `.ci/test` (never skipped: a missing taplo fails the test).
fn taplo() -> PathBuf {
    let path = std::env::var_os("LAKEGATE_TEST_TAPLO").map_or_else(
        || PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/lakegate-npm/node_modules/.bin/taplo"),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "taplo is not installed at {}; run `bash .ci/test` (it installs @taplo/cli)",
        path.display()
    );
    path
}

/// `taplo check` of `files` against a schema; its exit status and output.
fn taplo_check(schema: &str, files: &[PathBuf]) -> (bool, String) {
    let url = url::Url::from_file_path(repo().join("schemas").join(schema)).unwrap();
    let out = Command::new(taplo())
        .args(["check", "--no-auto-config", "--schema", url.as_str()])
        .args(files)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn suites_under(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect()
}

#[test]
fn taplo_accepts_every_suite_and_project_here_and_rejects_broken_ones() {
    // The demo suites, every data case that is not a deliberate configuration error, each kind's
    // documented example, and a suite `suggest` wrote.
    let mut files = suites_under(&repo().join("checks"));
    files.extend(
        suites_under(&repo().join("tests/cases"))
            .into_iter()
            .filter(|p| !p.to_string_lossy().contains("/config_")),
    );
    let tmp = tempfile::tempdir().unwrap();
    for kind in lakegate::REGISTRY {
        let f = tmp.path().join(format!("{}.toml", kind.name));
        std::fs::write(
            &f,
            format!(
                "[dataset]\nname = \"t\"\nzone = \"raw\"\npath = \"t\"\n\n{}",
                kind.example
            ),
        )
        .unwrap();
        files.push(f);
    }
    let demo = Project::demo();
    let suggested = demo.run(&["suggest", "orders"]);
    assert_eq!(suggested.code, 0, "{}", suggested.stderr);
    let f = tmp.path().join("suggested.toml");
    std::fs::write(&f, &suggested.stdout).unwrap();
    files.push(f);
    assert!(files.len() > 60, "{files:?}");
    let (ok, out) = taplo_check("suite.schema.json", &files);
    assert!(ok, "taplo rejected a valid suite:\n{out}");

    let (ok, out) = taplo_check("lakegate.schema.json", &[repo().join("lakegate.toml")]);
    assert!(ok, "{out}");

    // Broken: a misspelled dataset key, a misspelled check key, a severity that is not one.
    let head = "[dataset]\nname = \"t\"\nzone = \"raw\"\npath = \"t\"\n";
    for (name, text) in [
        (
            "dataset-key",
            "[dataset]\nnmae = \"t\"\nzone = \"raw\"\npath = \"t\"\n[[check]]\nkind = \"row_count\"\nmin = 1\n"
                .to_string(),
        ),
        (
            "check-key",
            format!("{head}[[check]]\nkind = \"not_null\"\ncolum = \"id\"\n"),
        ),
        (
            "severity",
            format!("{head}[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\nseverity = \"fatal\"\n"),
        ),
    ] {
        let f = tmp.path().join(format!("broken-{name}.toml"));
        std::fs::write(&f, text).unwrap();
        let (ok, out) = taplo_check("suite.schema.json", std::slice::from_ref(&f));
        assert!(!ok, "taplo accepted the broken suite {name}:\n{out}");
    }
    let f = tmp.path().join("lakegate.toml");
    std::fs::write(&f, "[lake]\nroot = \"lake\"\n[engine]\nmemory_limt = \"1GB\"\n").unwrap();
    let (ok, _) = taplo_check("lakegate.schema.json", &[f]);
    assert!(!ok, "taplo accepted a misspelled engine key");
}
