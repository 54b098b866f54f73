//! Data-driven cases: every directory `tests/cases/<group>/<case>/` is a small project (`checks/`,
//! `lake/`, optionally `lakegate.toml` and `args`) run through the real binary with
//! `lakegate check --format json`; its `expected.json` holds the exit code, the normalized JSON result
//! and what was printed on stderr. `LAKEGATE_BLESS=1` (re)writes the `expected.json` files;
//! `LAKEGATE_CASE=TEXT` runs only the cases whose path contains TEXT. The format is described in
//! `tests/cases/README.md`.
//!
//! A case needs no Rust: behaviour that can be shown with a suite and a few rows of CSV or NDJSON
//! belongs here; Rust tests keep what is cross-cutting or needs generated data.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Map, Value, json};

use crate::support::{NOW, Project, normalize, repo};

/// Files of a case directory that are not copied into the project.
const NOT_PROJECT_FILES: &[&str] = &["expected.json", "args", "README.md"];

/// Every case directory, sorted, and the problems of the layout (directories that are not cases).
pub fn discover(root: &Path) -> (Vec<PathBuf>, Vec<String>) {
    let mut cases = Vec::new();
    let mut problems = Vec::new();
    for group in sorted_dirs(root) {
        if is_case(&group) {
            problems.push(format!(
                "{}: a case must live in a group, tests/cases/<group>/<case>/",
                rel(&group)
            ));
            continue;
        }
        let members = sorted_dirs(&group);
        if members.is_empty() {
            problems.push(format!("{}: an empty group", rel(&group)));
        }
        for case in members {
            if is_case(&case) {
                cases.push(case);
            } else {
                problems.push(format!("{}: not a case (no `checks/` and no `args`)", rel(&case)));
            }
        }
    }
    (cases, problems)
}

fn sorted_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

fn is_case(dir: &Path) -> bool {
    dir.join("checks").is_dir() || dir.join("args").is_file()
}

/// A case's path as failures name it, e.g. `not_null/counts_null_rows`.
pub fn rel(case: &Path) -> String {
    case.strip_prefix(repo().join("tests/cases"))
        .unwrap_or(case)
        .to_string_lossy()
        .replace('\\', "/")
}

pub fn copy_case(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from).min_depth(1) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(from).unwrap();
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else if !NOT_PROJECT_FILES.iter().any(|f| rel == Path::new(f)) {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// The extra arguments of a case: its `args` file split at whitespace, `#` lines left out.
pub fn case_args(case: &Path) -> Vec<String> {
    std::fs::read_to_string(case.join("args"))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(str::split_whitespace)
        .map(str::to_string)
        .collect()
}

/// Runs one case and returns what its `expected.json` must hold.
fn run_case(case: &Path) -> Value {
    let p = Project::new();
    copy_case(case, p.path());
    let args = case_args(case);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lakegate"));
    cmd.args(["check", "--format", "json"]).args(&args);
    // The fixed clock, unless the case sets its own.
    if !args.iter().any(|a| a == "--now" || a.starts_with("--now=")) {
        cmd.args(["--now", NOW]);
    }
    let out = cmd.current_dir(p.path()).env_remove("LAKEGATE_LOG").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut v = Map::new();
    v.insert("exit".into(), json!(out.status.code().unwrap_or(-1)));
    if !stdout.trim().is_empty() {
        let result = serde_json::from_str(&stdout).map_or_else(|_| Value::String(stdout.to_string()), normalize);
        v.insert("result".into(), result);
    }
    if !stderr.trim().is_empty() {
        let stderr = without_project_path(&stderr, p.path());
        v.insert("stderr".into(), stderr.lines().map(|l| json!(l.trim_end())).collect());
    }
    Value::Object(v)
}

/// Replaces the temporary project directory in `text` with `<project>`.
fn without_project_path(text: &str, project: &Path) -> String {
    let mut text = text.to_string();
    let mut paths = vec![project.to_string_lossy().to_string()];
    if let Ok(c) = project.canonicalize() {
        paths.push(c.to_string_lossy().to_string());
    }
    // The longer first, so a canonical path that extends the other is replaced whole.
    paths.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for path in paths {
        text = text.replace(&path, "<project>");
    }
    text
}

/// Compares a case's output with its `expected.json`, or writes it when blessing.
fn judge(case: &Path, actual: &Value, bless: bool) -> Result<bool, String> {
    let path = case.join("expected.json");
    let text = serde_json::to_string_pretty(actual).unwrap() + "\n";
    let expected = std::fs::read_to_string(&path).ok();
    if expected.as_deref() == Some(text.as_str()) {
        return Ok(false);
    }
    if bless {
        std::fs::write(&path, &text).unwrap();
        return Ok(true);
    }
    match expected {
        None => Err(format!(
            "{}: no expected.json; run `LAKEGATE_BLESS=1 cargo nextest run --test it cases` to write it, then read it\n{text}",
            rel(case)
        )),
        Some(expected) => Err(format!(
            "{}: differs from expected.json (- expected, + actual):\n{}",
            rel(case),
            line_diff(&expected, &text)
        )),
    }
}

/// The lines that differ between two texts (a longest-common-subsequence diff), with line numbers
/// of the expected text.
pub fn line_diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("  {:>4} - {}\n", i + 1, a[i]));
            i += 1;
        } else {
            out.push_str(&format!("  {:>4} + {}\n", i + 1, b[j]));
            j += 1;
        }
    }
    out
}

#[test]
fn cases() {
    let root = repo().join("tests/cases");
    let bless = std::env::var_os("LAKEGATE_BLESS").is_some();
    let only = std::env::var("LAKEGATE_CASE").ok();
    let (mut cases, mut failures) = discover(&root);
    assert!(cases.len() > 1, "no cases under {}", root.display());
    if let Some(only) = &only {
        cases.retain(|c| rel(c).contains(only.as_str()));
        assert!(!cases.is_empty(), "no case path contains `{only}`");
    }
    // Every case is its own process; run as many at once as there are cores.
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism().map_or(2, usize::from).min(8);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                while let Some(case) = cases.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let actual = run_case(case);
                    let judged = judge(case, &actual, bless);
                    results.lock().unwrap().push((rel(case), judged));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let mut blessed = Vec::new();
    for (name, judged) in results {
        match judged {
            Ok(true) => blessed.push(name),
            Ok(false) => {}
            Err(e) => failures.push(e),
        }
    }
    if !blessed.is_empty() {
        eprintln!("blessed {} expected.json: {}", blessed.len(), blessed.join(", "));
    }
    assert!(
        failures.is_empty(),
        "{} problems in {} cases:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
