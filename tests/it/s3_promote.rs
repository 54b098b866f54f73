//! Promotion into a zone on an S3-compatible object store (moto on 127.0.0.1): published through a
//! log entry created only if absent, all or nothing under a kill between upload and commit, never
//! half a batch for a reader, never twice when two promotions race, and refused when the store does
//! not honour conditional writes or a source changes after it was checked.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::s3::Moto;
use crate::support::Project;

const ORDERS: [&str; 2] = ["orders-2026-01-14.parquet", "orders-2026-01-15.parquet"];

/// A lake `s3://lake/demo` holding the demo orders in `raw`, and a project with a passing suite for
/// them (`checks`) and one reading the `cleaned` copy (a reader of the target zone).
fn setup(moto: &Moto) -> (Project, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    crate::fixtures::write_lake(dir.path());
    for sub in ["raw/customers", "raw/events"] {
        std::fs::remove_dir_all(dir.path().join(sub)).unwrap();
    }
    moto.upload("lake", dir.path(), "demo");
    let p = Project::new();
    p.file(
        "lakegate.toml",
        "suites = [\"checks/*.toml\"]\n\n[lake]\nroot = \"s3://lake/demo\"\n",
    );
    p.file(
        "checks/orders.toml",
        "[dataset]\nname = \"orders\"\nzone = \"raw\"\npath = \"orders\"\n\n[[check]]\nkind = \"row_count\"\nmin = 1\n",
    );
    p.file(
        "checks/published.toml",
        "[dataset]\nname = \"published\"\nzone = \"cleaned\"\npath = \"orders\"\n\n[[check]]\nkind = \"row_count\"\nmin = 1\n",
    );
    (p, dir)
}

fn env(moto: &Moto) -> Vec<(&'static str, String)> {
    moto.env()
}

fn borrowed<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The published data objects (not lakegate's bookkeeping) and the log entries.
fn target(moto: &Moto) -> (Vec<String>, Vec<String>, Vec<String>) {
    let all: BTreeMap<String, u64> = moto.objects("lake", "demo/cleaned/orders");
    let data = all.keys().filter(|k| !k.starts_with("_lakegate/")).cloned().collect();
    let log = all
        .keys()
        .filter_map(|k| k.strip_prefix("_lakegate/log/"))
        .map(str::to_string)
        .collect();
    let staging = all
        .keys()
        .filter(|k| k.starts_with("_lakegate/staging/"))
        .cloned()
        .collect();
    (data, log, staging)
}

/// Rows a reader of the cleaned zone sees (0 when there are no files for it).
fn published_rows(p: &Project, env: &[(&str, &str)]) -> u64 {
    let r = p.run_env(&["check", "published", "--no-history", "--format", "json"], env);
    if r.code == 3 {
        assert!(r.stderr.contains("published"), "{}", r.stderr);
        return 0;
    }
    assert!(r.code <= 1, "{}", r.stderr);
    r.json()["datasets"][0]["rows"].as_u64().unwrap()
}

fn source_rows(p: &Project, env: &[(&str, &str)]) -> u64 {
    let r = p.run_env(&["check", "orders", "--no-history", "--format", "json"], env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.json()["datasets"][0]["rows"].as_u64().unwrap()
}

#[test]
fn a_batch_is_published_through_a_log_entry_once_and_a_failing_one_never() {
    let moto = Moto::start();
    let (p, dir) = setup(&moto);
    let env = env(&moto);
    let env = borrowed(&env);
    let total = source_rows(&p, &env);

    let r = p.run_env(&["promote", "orders", "--format", "json"], &env);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let j: Value = r.json();
    assert_eq!(j["status"], "promoted", "{j}");
    assert!(
        j["message"].as_str().unwrap().contains("00000000000000000001.json"),
        "{j}"
    );
    let (data, log, staging) = target(&moto);
    assert_eq!(data, ORDERS.to_vec(), "every file of the batch, under its own name");
    assert_eq!(log, vec!["00000000000000000001.json".to_string()]);
    assert!(staging.is_empty(), "{staging:?}");
    assert_eq!(published_rows(&p, &env), total);

    // Again: nothing new.
    let r = p.run_env(&["promote", "orders", "--format", "json"], &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["status"], "already_promoted");

    // A new object: only it is published, as the next log entry.
    let extra = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(extra.path().join("raw/orders")).unwrap();
    std::fs::copy(
        dir.path().join("raw/orders").join(ORDERS[1]),
        extra.path().join("raw/orders/orders-2026-01-16.parquet"),
    )
    .unwrap();
    moto.upload("lake", extra.path(), "demo");
    let r = p.run_env(&["promote", "orders", "--format", "json"], &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    assert_eq!(j["published"], serde_json::json!(["orders-2026-01-16.parquet"]));
    let (data, log, _) = target(&moto);
    assert_eq!(data.len(), 3);
    assert_eq!(log.len(), 2);

    // A failing batch leaves the target untouched (exit 1).
    p.file(
        "checks/orders.toml",
        "[dataset]\nname = \"orders\"\nzone = \"raw\"\npath = \"orders\"\n\n[[check]]\nkind = \"row_count\"\nmin = 1000000\n",
    );
    let extra = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(extra.path().join("raw/orders")).unwrap();
    std::fs::copy(
        dir.path().join("raw/orders").join(ORDERS[0]),
        extra.path().join("raw/orders/orders-2026-01-17.parquet"),
    )
    .unwrap();
    moto.upload("lake", extra.path(), "demo");
    let before = moto.objects("lake", "demo/cleaned");
    let r = p.run_env(&["promote", "orders", "--format", "json"], &env);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.json()["status"], "failed");
    assert_eq!(
        moto.objects("lake", "demo/cleaned"),
        before,
        "a failing batch writes nothing"
    );
}

#[test]
fn a_kill_between_upload_and_commit_publishes_nothing_and_the_next_promotion_everything() {
    let moto = Moto::start();
    let (p, _dir) = setup(&moto);
    let env = env(&moto);
    let env = borrowed(&env);
    let total = source_rows(&p, &env);

    let mut killed = env.clone();
    killed.push(("LAKEGATE_FAULT", "after-upload"));
    let r = p.run_env(&["promote", "orders"], &killed);
    assert_ne!(r.code, 0, "the hook kills the promotion: {}", r.stderr);
    let (data, log, staging) = target(&moto);
    assert!(data.is_empty() && log.is_empty(), "nothing published: {data:?} {log:?}");
    assert!(
        staging.iter().any(|k| k.ends_with(ORDERS[0])),
        "the batch had been uploaded to staging: {staging:?}"
    );
    assert_eq!(published_rows(&p, &env), 0, "a reader sees nothing");

    // The next promotion removes the dead promotion's staging and publishes the whole batch once.
    let r = p.run_env(&["promote", "orders", "--format", "json"], &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    assert_eq!(j["status"], "promoted");
    assert!(
        j["recovered"]
            .to_string()
            .contains("removed the staging of an interrupted promotion"),
        "{}",
        j["recovered"]
    );
    let (data, log, staging) = target(&moto);
    assert_eq!(data, ORDERS.to_vec());
    assert_eq!(log.len(), 1);
    assert!(staging.is_empty(), "{staging:?}");
    assert_eq!(published_rows(&p, &env), total);
}

#[test]
fn a_kill_after_the_commit_is_finished_by_recovery_and_readers_never_see_half_a_batch() {
    let moto = Moto::start();
    let (p, _dir) = setup(&moto);
    let env = env(&moto);
    let env = borrowed(&env);
    let total = source_rows(&p, &env);

    let mut killed = env.clone();
    killed.push(("LAKEGATE_FAULT", "after-first-copy"));
    let r = p.run_env(&["promote", "orders"], &killed);
    assert_ne!(r.code, 0, "{}", r.stderr);
    let (data, log, _) = target(&moto);
    assert_eq!(log.len(), 1, "committed");
    assert_eq!(data.len(), 1, "one object copied into place before the kill: {data:?}");
    assert_eq!(published_rows(&p, &env), 0, "a reader leaves out the half-copied batch");

    let r = p.run_env(&["promote", "orders", "--recover", "--format", "json"], &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.json()["recovered"]
            .to_string()
            .contains("finished the interrupted promotion"),
        "{}",
        r.stdout
    );
    let (data, log, staging) = target(&moto);
    assert_eq!(data, ORDERS.to_vec());
    assert_eq!(log.len(), 1);
    assert!(staging.is_empty(), "{staging:?}");
    assert_eq!(published_rows(&p, &env), total);
    let r = p.run_env(&["promote", "orders", "--format", "json"], &env);
    assert_eq!(r.json()["status"], "already_promoted", "{}", r.stdout);
}

/// Starts `lakegate promote orders` held at `step` (the test-only pause hook); returns it once held.
fn held(p: &Project, env: &[(&str, &str)], step: &str, flag: &Path) -> std::process::Child {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_lakegate"))
        .args(["promote", "orders", "--format", "json", "--now", crate::support::NOW])
        .current_dir(p.path())
        .envs(env.iter().copied())
        .env("LAKEGATE_PAUSE", format!("{step}:{}", flag.display()))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !flag.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the promotion never reached {step}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn finish(child: std::process::Child, flag: &Path) -> (i32, String, String) {
    std::fs::remove_file(flag).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn two_promotions_at_once_publish_the_batch_once() {
    let moto = Moto::start();
    let (p, _dir) = setup(&moto);
    let env = env(&moto);
    let env = borrowed(&env);
    let flags = tempfile::tempdir().unwrap();
    // Both staged and about to commit, neither knowing of the other.
    let a = held(&p, &env, "after-upload", &flags.path().join("a"));
    let b = held(&p, &env, "after-upload", &flags.path().join("b"));
    let (code_a, out_a, err_a) = finish(a, &flags.path().join("a"));
    assert_eq!(code_a, 0, "{out_a}\n{err_a}");
    let (code_b, out_b, err_b) = finish(b, &flags.path().join("b"));
    assert_eq!(code_b, 3, "{out_b}\n{err_b}");
    assert!(err_b.contains("another promotion"), "{err_b}");
    let (data, log, staging) = target(&moto);
    assert_eq!(data, ORDERS.to_vec());
    assert_eq!(log.len(), 1, "one commit: {log:?}");
    assert!(staging.is_empty(), "the loser removed its staging: {staging:?}");
}

#[test]
fn a_source_overwritten_after_the_gate_stops_the_promotion() {
    let moto = Moto::start();
    let (p, dir) = setup(&moto);
    let env = env(&moto);
    let env = borrowed(&env);
    let flag = tempfile::tempdir().unwrap();
    let flag = flag.path().join("held");
    let child = held(&p, &env, "after-gate", &flag);
    // A producer rewrites one object (other bytes) after the suite passed on the old ones.
    let other = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(other.path().join("raw/orders")).unwrap();
    std::fs::copy(
        dir.path().join("raw/orders").join(ORDERS[1]),
        other.path().join("raw/orders").join(ORDERS[0]),
    )
    .unwrap();
    moto.upload("lake", other.path(), "demo");
    let (code, out, err) = finish(child, &flag);
    assert_eq!(code, 3, "{out}\n{err}");
    assert!(err.contains("changed or went away after it was checked"), "{err}");
    assert!(err.contains(ORDERS[0]), "names the object: {err}");
    assert!(moto.objects("lake", "demo/cleaned").is_empty(), "nothing written");
}

#[test]
fn a_store_without_conditional_writes_is_refused_with_a_sentence() {
    let moto = Moto::start();
    let (p, _dir) = setup(&moto);
    let mut env = env(&moto);
    env.push(("AWS_CONDITIONAL_PUT", "disabled".into()));
    let env = borrowed(&env);
    let r = p.run_env(&["promote", "orders"], &env);
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("conditional writes"), "{}", r.stderr);
    assert!(moto.objects("lake", "demo/cleaned").is_empty());
    // A store that ignores If-None-Match (a proxy in front of moto drops the header).
    let proxy = ForgetfulProxy::start(&moto);
    let mut env = moto.env();
    env.retain(|(k, _)| *k != "AWS_ENDPOINT_URL");
    env.push(("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{}", proxy.port)));
    let r = p.run_env(&["promote", "orders"], &borrowed(&env));
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("accepted a second create-if-absent write"),
        "{}",
        r.stderr
    );
    assert!(
        moto.objects("lake", "demo/cleaned").is_empty(),
        "nothing left behind, the probe included"
    );
    // Split mode is refused on a store, before anything is read.
    let r = p.run_env(&["promote", "orders", "--mode", "split"], &borrowed(&moto.env()));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("--mode split"), "{}", r.stderr);
}

/// `tests/s3/forgetful_proxy.py` in front of moto: a store that ignores conditional writes.
struct ForgetfulProxy {
    child: std::process::Child,
    port: u16,
}

impl ForgetfulProxy {
    fn start(moto: &Moto) -> Self {
        use std::io::BufRead;
        let mut child = std::process::Command::new(crate::support::python())
            .arg(crate::support::repo().join("tests/s3/forgetful_proxy.py"))
            .arg(moto.port().to_string())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().strip_prefix("listening on ").unwrap().parse().unwrap();
        Self { child, port }
    }
}

impl Drop for ForgetfulProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
