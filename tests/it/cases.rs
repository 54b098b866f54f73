//! Data-driven cases: each directory under `tests/cases/` is a small project (`checks/`, `lake/`,
//! optionally `lakegate.toml` and `args`); its `expected.json` holds the exit code and the
//! normalized JSON result of `lakegate check --format json`.

use crate::support::{Project, assert_snapshot, normalize, repo};

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(from).unwrap();
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else if rel != std::path::Path::new("expected.json") {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

#[test]
fn cases() {
    let root = repo().join("tests/cases");
    let mut names: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    names.sort();
    assert!(!names.is_empty());
    let mut failures = Vec::new();
    for case in names {
        let p = Project::new();
        copy_dir(&case, p.path());
        let args: Vec<String> = std::fs::read_to_string(case.join("args"))
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default();
        let mut all = vec!["check", "--format", "json"];
        all.extend(args.iter().map(String::as_str));
        let run = p.run(&all);
        let out = serde_json::json!({
            "exit": run.code,
            "result": normalize(serde_json::from_str(&run.stdout).unwrap_or(serde_json::Value::String(run.stdout.clone()))),
        });
        let r = std::panic::catch_unwind(|| assert_snapshot(&case.join("expected.json"), &out));
        if r.is_err() {
            failures.push(case.file_name().unwrap().to_string_lossy().to_string());
        }
    }
    assert!(failures.is_empty(), "cases that differ: {failures:?}");
}
