//! `lakegate promote`: the gate, idempotence, concurrency, split mode and crash safety, with real
//! files, the real binary and real SIGKILLs (through the `LAKEGATE_FAULT` / `LAKEGATE_PAUSE` hooks).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{NOW, Project};

/// A raw `sales` dataset in two hive partitions and a `sales_clean` suite on the cleaned zone.
pub(crate) fn sales(good: bool, extra: &str) -> Project {
    let p = Project::new();
    p.file("lake/raw/sales/dt=2026-01-14/a.csv", "id,amount\n1,10\n2,20\n");
    let b = if good {
        "id,amount\n3,30\n4,40\n5,50\n"
    } else {
        "id,amount\n3,30\n4,-5\n5,50\n"
    };
    p.file("lake/raw/sales/dt=2026-01-15/b.csv", b);
    p.file(
        "checks/sales.toml",
        &format!("[dataset]\nname = \"sales\"\nzone = \"raw\"\npath = \"sales\"\n{extra}\n[[check]]\nkind = \"range\"\ncolumn = \"amount\"\nmin = 0\n\n[[check]]\nkind = \"row_count\"\nmin = 1\n"),
    );
    p.file(
        "checks/sales_clean.toml",
        "[dataset]\nname = \"sales_clean\"\nzone = \"cleaned\"\npath = \"sales\"\n\n[[check]]\nkind = \"range\"\ncolumn = \"amount\"\nmin = 0\n\n[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\n",
    );
    p
}

/// Data files under a directory (bookkeeping under `_lakegate` excluded), relative, sorted.
pub(crate) fn data_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/"))
        .filter(|r| !r.split('/').any(|s| s.starts_with('_')))
        .collect();
    v.sort();
    v
}

pub(crate) fn manifests(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("_lakegate")).map_or(0, |r| {
        r.flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .count()
    })
}

pub(crate) fn spawn(p: &Project, args: &[&str], env: &[(&str, &str)]) -> Child {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lakegate"));
    c.args(args)
        .arg("--now")
        .arg(NOW)
        .current_dir(p.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    c.spawn().unwrap()
}

pub(crate) fn wait_for(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub(crate) fn finish(child: Child) -> (Option<i32>, String, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn passing_batch_is_published_with_its_layout_and_a_manifest() {
    let p = sales(true, "");
    let r = p.run(&["promote", "sales", "--format", "json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let j = r.json();
    assert_eq!(j["status"], "promoted");
    let cleaned = p.path().join("lake/cleaned/sales");
    assert_eq!(data_files(&cleaned), ["dt=2026-01-14/a.csv", "dt=2026-01-15/b.csv"]);
    assert_eq!(
        std::fs::read(cleaned.join("dt=2026-01-15/b.csv")).unwrap(),
        std::fs::read(p.path().join("lake/raw/sales/dt=2026-01-15/b.csv")).unwrap()
    );
    let run_id = j["run_id"].as_str().unwrap();
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cleaned.join(format!("_lakegate/{run_id}.json"))).unwrap()).unwrap();
    assert_eq!(m["files"].as_array().unwrap().len(), 2);
    assert_eq!(m["files"][0]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(m["results"]["status"], "pass");
    assert_eq!(
        m["schema_version"], 1,
        "the gate's run accepted the schema as version 1"
    );
    // The sources stay (no --move), no staging is left, and the cleaned zone's own suite passes.
    assert_eq!(data_files(&p.path().join("lake/raw/sales")).len(), 2);
    assert!(!cleaned.join("_lakegate/staging").exists() || data_files(&cleaned.join("_lakegate/staging")).is_empty());
    let c = p.run(&["check", "sales_clean"]);
    assert_eq!(c.code, 0, "{}", c.stdout);
    assert!(c.stdout.contains("5 rows"), "{}", c.stdout);
}

#[test]
fn failing_batch_leaves_the_target_untouched_and_exits_1() {
    let p = sales(false, "");
    let r = p.run(&["promote", "sales"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("`cleaned` is untouched"), "{}", r.stdout);
    assert!(data_files(&p.path().join("lake/cleaned")).is_empty());
    assert_eq!(data_files(&p.path().join("lake/raw/sales")).len(), 2);
}

#[test]
fn failing_batch_moves_to_quarantine_with_its_results() {
    let p = sales(false, "on_fail = \"quarantine\"");
    let r = p.run(&["promote", "sales", "--format", "json"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let run_id = r.json()["run_id"].as_str().unwrap().to_string();
    let q = p.path().join("lake/quarantine/sales").join(&run_id);
    assert_eq!(data_files(&q), ["dt=2026-01-14/a.csv", "dt=2026-01-15/b.csv"]);
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(q.join("_lakegate_results.json")).unwrap()).unwrap();
    assert_eq!(results["status"], "fail");
    assert!(data_files(&p.path().join("lake/raw/sales")).is_empty());
    assert!(data_files(&p.path().join("lake/cleaned")).is_empty());
}

#[test]
fn dry_run_writes_nothing() {
    let p = sales(true, "");
    let r = p.run(&["promote", "sales", "--dry-run", "--format", "json"]);
    assert_eq!(r.code, 0);
    assert_eq!(r.json()["status"], "would_promote");
    assert_eq!(r.json()["published"].as_array().unwrap().len(), 2);
    assert!(!p.path().join("lake/cleaned").exists());
}

#[test]
fn a_promoted_batch_is_not_promoted_twice_and_new_files_are() {
    let p = sales(true, "");
    assert_eq!(p.run(&["promote", "sales"]).code, 0);
    let r = p.run(&["promote", "sales", "--format", "json"]);
    assert_eq!(r.code, 0);
    assert_eq!(r.json()["status"], "already_promoted");
    let cleaned = p.path().join("lake/cleaned/sales");
    assert_eq!(manifests(&cleaned), 1);
    p.file("lake/raw/sales/dt=2026-01-16/c.csv", "id,amount\n6,60\n");
    let r = p.run(&["promote", "sales", "--format", "json"]);
    assert_eq!(r.code, 0);
    let j = r.json();
    assert_eq!(j["published"], serde_json::json!(["dt=2026-01-16/c.csv"]));
    assert_eq!(j["results"]["datasets"][0]["rows"], 1, "only the new file is the batch");
    assert_eq!(manifests(&cleaned), 2);
    assert_eq!(data_files(&cleaned).len(), 3);
}

#[test]
fn move_removes_sources_only_after_publishing() {
    let p = sales(true, "");
    let r = p.run(&["promote", "sales", "--move"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(data_files(&p.path().join("lake/raw/sales")).is_empty());
    assert_eq!(data_files(&p.path().join("lake/cleaned/sales")).len(), 2);
}

#[test]
fn files_arriving_during_the_run_are_not_promoted() {
    let p = sales(true, "");
    let marker = p.path().join("paused");
    let child = spawn(
        &p,
        &["promote", "sales", "--format", "json"],
        &[("LAKEGATE_PAUSE", &format!("after-snapshot:{}", marker.display()))],
    );
    wait_for(&marker);
    p.file("lake/raw/sales/dt=2026-01-16/late.csv", "id,amount\n9,-1\n");
    std::fs::remove_file(&marker).unwrap();
    let (code, out, err) = finish(child);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(!p.path().join("lake/cleaned/sales/dt=2026-01-16").exists());
    assert_eq!(data_files(&p.path().join("lake/cleaned/sales")).len(), 2);
}

#[test]
fn a_file_modified_during_the_run_aborts_the_publish() {
    let p = sales(true, "");
    let marker = p.path().join("paused");
    let child = spawn(
        &p,
        &["promote", "sales"],
        &[("LAKEGATE_PAUSE", &format!("after-snapshot:{}", marker.display()))],
    );
    wait_for(&marker);
    p.file("lake/raw/sales/dt=2026-01-15/b.csv", "id,amount\n3,30\n4,40\n5,51\n");
    std::fs::remove_file(&marker).unwrap();
    let (code, out, err) = finish(child);
    assert_eq!(code, Some(3), "{out}{err}");
    assert!(err.contains("changed after it was checked"), "{err}");
    assert!(data_files(&p.path().join("lake/cleaned")).is_empty());
    assert_eq!(data_files(&p.path().join("lake/raw/sales")).len(), 2);
}

#[test]
fn a_second_promote_waits_for_the_lock_then_names_the_holder() {
    let p = sales(true, "");
    let marker = p.path().join("paused");
    let first = spawn(
        &p,
        &["promote", "sales"],
        &[("LAKEGATE_PAUSE", &format!("after-snapshot:{}", marker.display()))],
    );
    wait_for(&marker);
    let second = p.run(&["promote", "sales", "--lock-timeout", "1"]);
    assert_eq!(second.code, 3, "{}{}", second.stdout, second.stderr);
    assert!(second.stderr.contains("is being promoted by pid"), "{}", second.stderr);
    std::fs::remove_file(&marker).unwrap();
    let (code, out, err) = finish(first);
    assert_eq!(code, Some(0), "{out}{err}");
    // Once the first is done, the second finds nothing new.
    let again = p.run(&["promote", "sales", "--format", "json"]);
    assert_eq!(again.json()["status"], "already_promoted");
}

#[test]
fn split_mode_sends_failing_rows_to_quarantine_and_counts_add_up() {
    let p = sales(false, "");
    p.file("lake/raw/sales/dt=2026-01-14/a.csv", "id,amount\n1,10\n,20\n");
    p.file(
        "checks/sales.toml",
        "[dataset]\nname = \"sales\"\nzone = \"raw\"\npath = \"sales\"\n\n[[check]]\nkind = \"range\"\ncolumn = \"amount\"\nmin = 0\n\n[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\n\n[[check]]\nkind = \"range\"\nname = \"small\"\ncolumn = \"amount\"\nmax = 45\nseverity = \"warn\"\n",
    );
    let r = p.run(&["promote", "sales", "--mode", "split", "--format", "json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let j = r.json();
    assert_eq!(
        j["rows"],
        serde_json::json!({ "total": 5, "passed": 3, "quarantined": 2 })
    );
    // The cleaned zone holds exactly the passing rows, still partitioned by dt.
    let c = p.run(&["check", "sales_clean", "--format", "json"]);
    assert_eq!(c.code, 0, "{}", c.stdout);
    assert_eq!(c.json()["datasets"][0]["rows"], 3);
    assert!(p.path().join("lake/cleaned/sales/dt=2026-01-14").is_dir());
    // Quarantined rows carry the ids of the checks they failed.
    let q = PathBuf::from(j["quarantine"].as_str().unwrap());
    let q = if q.is_absolute() { q } else { p.path().join(q) };
    p.file(
        "checks/q.toml",
        &format!(
            "[dataset]\nname = \"q\"\nzone = \"quarantine\"\npath = \"sales/{}\"\n\n[[check]]\nkind = \"accepted_values\"\ncolumn = \"_lakegate_failed\"\nvalues = [\"sales.id.not_null\", \"sales.amount.range\"]\n\n[[check]]\nkind = \"row_count\"\nmin = 2\nmax = 2\n",
            q.file_name().unwrap().to_string_lossy()
        ),
    );
    let qc = p.run(&["check", "q", "--format", "json"]);
    assert_eq!(qc.code, 0, "{}", qc.stdout);
}

#[test]
fn a_crash_at_any_publish_step_leaves_all_or_nothing_and_loses_no_source() {
    for step in [
        "after-snapshot",
        "after-staging",
        "after-intent",
        "after-first-rename",
        "after-manifest",
        "after-first-source-removed",
    ] {
        let p = sales(true, "");
        let raw = p.path().join("lake/raw/sales");
        let cleaned = p.path().join("lake/cleaned/sales");
        let before: Vec<(String, Vec<u8>)> = data_files(&raw)
            .into_iter()
            .map(|f| (f.clone(), std::fs::read(raw.join(&f)).unwrap()))
            .collect();
        let child = spawn(&p, &["promote", "sales", "--move"], &[("LAKEGATE_FAULT", step)]);
        let (code, out, err) = finish(child);
        assert_eq!(code, None, "{step}: the process should have been killed\n{out}{err}");

        let r = p.run(&["promote", "sales", "--recover"]);
        assert_eq!(r.code, 0, "{step}: {}{}", r.stdout, r.stderr);
        let published = data_files(&cleaned);
        assert!(
            published.is_empty() || published.len() == before.len(),
            "{step}: partial batch {published:?}"
        );
        assert!(
            !cleaned.join("_lakegate/staging").exists()
                || std::fs::read_dir(cleaned.join("_lakegate/staging"))
                    .unwrap()
                    .next()
                    .is_none(),
            "{step}: staging left"
        );
        for (f, bytes) in &before {
            let in_raw = std::fs::read(raw.join(f)).ok();
            let in_clean = std::fs::read(cleaned.join(f)).ok();
            assert!(
                in_raw.as_ref() == Some(bytes) || in_clean.as_ref() == Some(bytes),
                "{step}: {f} was lost"
            );
        }
        // Promoting again completes the job exactly once.
        let r = p.run(&["promote", "sales", "--move"]);
        assert_eq!(r.code, 0, "{step}: {}{}", r.stdout, r.stderr);
        assert_eq!(data_files(&cleaned).len(), before.len(), "{step}");
        assert!(data_files(&raw).is_empty(), "{step}");
    }
}

#[test]
fn a_crash_in_split_mode_publishes_quarantined_rows_with_their_batch_or_not_at_all() {
    for step in ["after-staging", "after-intent", "after-first-rename", "after-manifest"] {
        let p = sales(false, "");
        let cleaned = p.path().join("lake/cleaned/sales");
        let quarantine = p.path().join("lake/quarantine/sales");
        let runs = || -> Vec<String> {
            std::fs::read_dir(&quarantine).map_or(Vec::new(), |r| {
                r.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.starts_with('_'))
                    .collect()
            })
        };
        let child = spawn(
            &p,
            &["promote", "sales", "--mode", "split"],
            &[("LAKEGATE_FAULT", step)],
        );
        let (code, out, err) = finish(child);
        assert_eq!(code, None, "{step}: the process should have been killed\n{out}{err}");

        let r = p.run(&["promote", "sales", "--recover"]);
        assert_eq!(r.code, 0, "{step}: {}{}", r.stdout, r.stderr);
        // The quarantined rows are there exactly when the passing rows were published.
        let published = !data_files(&cleaned).is_empty();
        assert_eq!(runs().len(), usize::from(published), "{step}: {:?}", runs());
        for staging in [cleaned.join("_lakegate/staging"), quarantine.join("_lakegate/staging")] {
            assert!(
                std::fs::read_dir(&staging).map_or(true, |mut d| d.next().is_none()),
                "{step}: {} left",
                staging.display()
            );
        }
        // Promoting again completes the job once: one quarantine directory, the passing rows.
        let r = p.run(&["promote", "sales", "--mode", "split", "--format", "json"]);
        assert_eq!(r.code, 0, "{step}: {}{}", r.stdout, r.stderr);
        assert_eq!(runs().len(), 1, "{step}: {:?}", runs());
        let c = p.run(&["check", "sales_clean", "--format", "json"]);
        assert_eq!(c.json()["datasets"][0]["rows"], 4, "{step}: {}", c.stdout);
    }
}

#[test]
fn a_crash_while_quarantining_a_failed_batch_is_finished_or_undone_by_recovery() {
    for step in ["after-quarantine-staged", "after-quarantine-published"] {
        let p = sales(false, "on_fail = \"quarantine\"");
        let raw = p.path().join("lake/raw/sales");
        let quarantine = p.path().join("lake/quarantine/sales");
        let child = spawn(&p, &["promote", "sales"], &[("LAKEGATE_FAULT", step)]);
        let (code, out, err) = finish(child);
        assert_eq!(code, None, "{step}: the process should have been killed\n{out}{err}");

        let r = p.run(&["promote", "sales", "--recover"]);
        assert_eq!(r.code, 0, "{step}: {}{}", r.stdout, r.stderr);
        assert!(
            quarantine
                .join("_lakegate/staging")
                .read_dir()
                .map_or(true, |mut d| d.next().is_none()),
            "{step}: staging left"
        );
        // Either the batch is in quarantine and gone from raw, or still in raw and not in
        // quarantine; never both, never neither.
        let (in_raw, in_quarantine) = (data_files(&raw).len(), data_files(&quarantine).len());
        assert_eq!(
            in_raw + in_quarantine,
            2,
            "{step}: raw {in_raw}, quarantine {in_quarantine}"
        );
        let r = p.run(&["promote", "sales"]);
        assert!(r.code == 0 || r.code == 1, "{step}: {}{}", r.stdout, r.stderr);
        // Exactly one copy of the batch ends up in quarantine, with no marker left.
        assert_eq!(data_files(&quarantine).len(), 2, "{step}");
        assert!(data_files(&raw).is_empty(), "{step}");
        let markers = walkdir::WalkDir::new(&quarantine)
            .into_iter()
            .flatten()
            .filter(|e| e.file_name() == "_lakegate_pending.json")
            .count();
        assert_eq!(markers, 0, "{step}");
    }
}
