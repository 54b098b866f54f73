//! Promotion into a zone on an S3-compatible object store (moto on 127.0.0.1): published through a
//! log entry created only if absent, all or nothing under a kill between upload and commit, never
//! half a batch for a reader, never twice when two promotions race, and refused when the store does
//! not honour conditional writes or a source changes after it was checked.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::s3::{Moto, borrowed};
use crate::support::Project;

pub(crate) const ORDERS: [&str; 2] = ["orders-2026-01-14.parquet", "orders-2026-01-15.parquet"];

/// A lake `s3://BUCKET/demo` on moto holding the demo orders in `raw`, and a project with a passing
/// suite for them (`orders`) and one reading the `cleaned` copy (`published`, a reader of the
/// target zone). Tests that need several lakes share one moto and use one bucket each.
pub(crate) struct Lake<'m> {
    pub moto: &'m Moto,
    pub bucket: String,
    pub p: Project,
    /// The demo lake as uploaded (`raw/orders/…`).
    pub dir: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
}

impl<'m> Lake<'m> {
    pub(crate) fn new(moto: &'m Moto, bucket: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        crate::fixtures::write_lake(dir.path());
        for sub in ["raw/customers", "raw/events"] {
            std::fs::remove_dir_all(dir.path().join(sub)).unwrap();
        }
        moto.upload(bucket, dir.path(), "demo");
        let p = Project::new();
        p.file(
            "lakegate.toml",
            &format!("suites = [\"checks/*.toml\"]\n\n[lake]\nroot = \"s3://{bucket}/demo\"\n"),
        );
        p.file(
            "checks/orders.toml",
            "[dataset]\nname = \"orders\"\nzone = \"raw\"\npath = \"orders\"\n\n[[check]]\nkind = \"row_count\"\nmin = 1\n",
        );
        p.file(
            "checks/published.toml",
            "[dataset]\nname = \"published\"\nzone = \"cleaned\"\npath = \"orders\"\n\n[[check]]\nkind = \"row_count\"\nmin = 1\n",
        );
        Self {
            moto,
            bucket: bucket.to_string(),
            p,
            dir,
            env: moto.env(),
        }
    }

    pub(crate) fn env(&self) -> Vec<(&'static str, &str)> {
        borrowed(&self.env)
    }

    /// `lakegate ARGS` against moto, with these variables besides.
    pub(crate) fn run(&self, args: &[&str], extra: &[(&'static str, &str)]) -> crate::support::Run {
        let mut env = self.env();
        env.extend_from_slice(extra);
        self.p.run_env(args, &env)
    }

    /// The objects below `demo/PREFIX` of this lake's bucket, with their sizes.
    pub(crate) fn objects(&self, prefix: &str) -> BTreeMap<String, u64> {
        self.moto.objects(&self.bucket, &format!("demo/{prefix}"))
    }

    /// The published data objects of `cleaned/orders` (not lakegate's bookkeeping), the log
    /// entries and the staged objects.
    pub(crate) fn target(&self) -> (Vec<String>, Vec<String>, Vec<String>) {
        split_target(&self.objects("cleaned/orders"))
    }

    /// The source objects left in `raw/orders`.
    pub(crate) fn sources(&self) -> Vec<String> {
        self.objects("raw/orders").into_keys().collect()
    }

    /// Uploads `bytes` as `demo/KEY`.
    pub(crate) fn put(&self, key: &str, bytes: &[u8]) {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
        self.moto.upload(&self.bucket, d.path(), "demo");
    }

    /// Rows a reader of the cleaned zone sees (0 when there are no files for it).
    pub(crate) fn published_rows(&self) -> u64 {
        self.rows_of("published")
    }

    pub(crate) fn source_rows(&self) -> u64 {
        let r = self.run(&["check", "orders", "--no-history", "--format", "json"], &[]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.json()["datasets"][0]["rows"].as_u64().unwrap()
    }

    /// Rows dataset `name` has for a reader (0 when it has no files).
    pub(crate) fn rows_of(&self, name: &str) -> u64 {
        let r = self.run(&["check", name, "--no-history", "--format", "json"], &[]);
        if r.code == 3 {
            assert!(r.stderr.contains("does not exist"), "{}", r.stderr);
            return 0;
        }
        assert!(r.code <= 1, "{}", r.stderr);
        r.json()["datasets"][0]["rows"].as_u64().unwrap()
    }
}

/// A listing of a target prefix as its data objects, log entries and staged objects.
pub(crate) fn split_target(all: &BTreeMap<String, u64>) -> (Vec<String>, Vec<String>, Vec<String>) {
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

#[test]
fn a_batch_is_published_through_a_log_entry_once_and_a_failing_one_never() {
    let moto = Moto::start();
    let lake = Lake::new(&moto, "lake");
    let total = lake.source_rows();

    let r = lake.run(&["promote", "orders", "--format", "json"], &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let j: Value = r.json();
    assert_eq!(j["status"], "promoted", "{j}");
    assert!(
        j["message"].as_str().unwrap().contains("00000000000000000001.json"),
        "{j}"
    );
    let (data, log, staging) = lake.target();
    assert_eq!(data, ORDERS.to_vec(), "every file of the batch, under its own name");
    assert_eq!(log, vec!["00000000000000000001.json".to_string()]);
    assert!(staging.is_empty(), "{staging:?}");
    assert_eq!(lake.published_rows(), total);

    // Again: nothing new.
    let r = lake.run(&["promote", "orders", "--format", "json"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["status"], "already_promoted");

    // A new object: only it is published, as the next log entry.
    let orders = |name: &str| std::fs::read(lake.dir.path().join("raw/orders").join(name)).unwrap();
    lake.put("raw/orders/orders-2026-01-16.parquet", &orders(ORDERS[1]));
    let r = lake.run(&["promote", "orders", "--format", "json"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    assert_eq!(j["published"], serde_json::json!(["orders-2026-01-16.parquet"]));
    let (data, log, _) = lake.target();
    assert_eq!(data.len(), 3);
    assert_eq!(log.len(), 2);

    // A failing batch leaves the target untouched (exit 1).
    lake.p.file(
        "checks/orders.toml",
        "[dataset]\nname = \"orders\"\nzone = \"raw\"\npath = \"orders\"\n\n[[check]]\nkind = \"row_count\"\nmin = 1000000\n",
    );
    lake.put("raw/orders/orders-2026-01-17.parquet", &orders(ORDERS[0]));
    let before = lake.objects("cleaned");
    let r = lake.run(&["promote", "orders", "--format", "json"], &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.json()["status"], "failed");
    assert_eq!(lake.objects("cleaned"), before, "a failing batch writes nothing");
}

#[test]
fn a_kill_between_upload_and_commit_publishes_nothing_and_the_next_promotion_everything() {
    let moto = Moto::start();
    let lake = Lake::new(&moto, "lake");
    let total = lake.source_rows();

    let r = lake.run(&["promote", "orders"], &[("LAKEGATE_FAULT", "after-upload")]);
    assert_ne!(r.code, 0, "the hook kills the promotion: {}", r.stderr);
    let (data, log, staging) = lake.target();
    assert!(data.is_empty() && log.is_empty(), "nothing published: {data:?} {log:?}");
    assert!(
        staging.iter().any(|k| k.ends_with(ORDERS[0])),
        "the batch had been uploaded to staging: {staging:?}"
    );
    assert_eq!(lake.published_rows(), 0, "a reader sees nothing");

    // The next promotion removes the dead promotion's staging and publishes the whole batch once.
    let r = lake.run(&["promote", "orders", "--format", "json"], &[]);
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
    let (data, log, staging) = lake.target();
    assert_eq!(data, ORDERS.to_vec());
    assert_eq!(log.len(), 1);
    assert!(staging.is_empty(), "{staging:?}");
    assert_eq!(lake.published_rows(), total);
}

#[test]
fn a_kill_after_the_commit_is_finished_by_recovery_and_readers_never_see_half_a_batch() {
    let moto = Moto::start();
    let lake = Lake::new(&moto, "lake");
    let total = lake.source_rows();

    let r = lake.run(&["promote", "orders"], &[("LAKEGATE_FAULT", "after-first-copy")]);
    assert_ne!(r.code, 0, "{}", r.stderr);
    let (data, log, _) = lake.target();
    assert_eq!(log.len(), 1, "committed");
    assert_eq!(data.len(), 1, "one object copied into place before the kill: {data:?}");
    assert_eq!(lake.published_rows(), 0, "a reader leaves out the half-copied batch");

    let r = lake.run(&["promote", "orders", "--recover", "--format", "json"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.json()["recovered"]
            .to_string()
            .contains("finished the interrupted promotion"),
        "{}",
        r.stdout
    );
    let (data, log, staging) = lake.target();
    assert_eq!(data, ORDERS.to_vec());
    assert_eq!(log.len(), 1);
    assert!(staging.is_empty(), "{staging:?}");
    assert_eq!(lake.published_rows(), total);
    let r = lake.run(&["promote", "orders", "--format", "json"], &[]);
    assert_eq!(r.json()["status"], "already_promoted", "{}", r.stdout);
}

/// Starts `lakegate ARGS` held at `step` (the test-only pause hook); returns it once held.
pub(crate) fn held(lake: &Lake, args: &[&str], step: &str, flag: &Path) -> std::process::Child {
    held_with(lake, args, step, flag, &[])
}

/// [`held`] with these variables besides (e.g. another endpoint).
pub(crate) fn held_with(
    lake: &Lake,
    args: &[&str],
    step: &str,
    flag: &Path,
    extra: &[(&'static str, &str)],
) -> std::process::Child {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_lakegate"))
        .args(args)
        .args(["--now", crate::support::NOW])
        .current_dir(lake.p.path())
        .envs(lake.env())
        .envs(extra.iter().copied())
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

/// Lets a held process go on; its exit code, stdout and stderr.
pub(crate) fn finish(child: std::process::Child, flag: &Path) -> (i32, String, String) {
    std::fs::remove_file(flag).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const PROMOTE: [&str; 4] = ["promote", "orders", "--format", "json"];

#[test]
fn two_promotions_at_once_publish_the_batch_once() {
    let moto = Moto::start();
    let lake = Lake::new(&moto, "lake");
    let flags = tempfile::tempdir().unwrap();
    // Both staged and about to commit, neither knowing of the other.
    let a = held(&lake, &PROMOTE, "after-upload", &flags.path().join("a"));
    let b = held(&lake, &PROMOTE, "after-upload", &flags.path().join("b"));
    let (code_a, out_a, err_a) = finish(a, &flags.path().join("a"));
    assert_eq!(code_a, 0, "{out_a}\n{err_a}");
    let (code_b, out_b, err_b) = finish(b, &flags.path().join("b"));
    assert_eq!(code_b, 3, "{out_b}\n{err_b}");
    assert!(err_b.contains("another promotion"), "{err_b}");
    let (data, log, staging) = lake.target();
    assert_eq!(data, ORDERS.to_vec());
    assert_eq!(log.len(), 1, "one commit: {log:?}");
    assert!(staging.is_empty(), "the loser removed its staging: {staging:?}");
}

#[test]
fn a_source_overwritten_after_the_gate_stops_the_promotion() {
    let moto = Moto::start();
    let lake = Lake::new(&moto, "lake");
    let flag = tempfile::tempdir().unwrap();
    let flag = flag.path().join("held");
    let child = held(&lake, &PROMOTE, "after-gate", &flag);
    // A producer rewrites one object (other bytes) after the suite passed on the old ones.
    let other = std::fs::read(lake.dir.path().join("raw/orders").join(ORDERS[1])).unwrap();
    lake.put(&format!("raw/orders/{}", ORDERS[0]), &other);
    let (code, out, err) = finish(child, &flag);
    assert_eq!(code, 3, "{out}\n{err}");
    assert!(err.contains("changed or went away after it was checked"), "{err}");
    assert!(err.contains(ORDERS[0]), "names the object: {err}");
    assert!(lake.objects("cleaned").is_empty(), "nothing written");
}

#[test]
fn a_store_without_conditional_writes_is_refused_with_a_sentence() {
    let moto = Moto::start();
    let lake = Lake::new(&moto, "lake");
    let r = lake.run(&["promote", "orders"], &[("AWS_CONDITIONAL_PUT", "disabled")]);
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("conditional writes"), "{}", r.stderr);
    assert!(lake.objects("cleaned").is_empty());
    // A store that ignores If-None-Match (a proxy in front of moto drops the header).
    let proxy = Proxy::start(&moto, &["drop-header:If-None-Match"]);
    let r = lake.run(&["promote", "orders"], &[("AWS_ENDPOINT_URL", &proxy.url())]);
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("accepted a second create-if-absent write"),
        "{}",
        r.stderr
    );
    assert!(
        lake.objects("cleaned").is_empty(),
        "nothing left behind, the probe included"
    );
    // Split mode is refused on a store, before anything is read.
    let r = lake.run(&["promote", "orders", "--mode", "split"], &[]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("--mode split"), "{}", r.stderr);
}

/// `tests/s3/proxy.py` in front of moto with these rules (see the script): a store that ignores
/// conditional writes, loses answers, or — killed — cannot be reached.
pub(crate) struct Proxy {
    child: std::process::Child,
    port: u16,
}

impl Proxy {
    pub(crate) fn start(moto: &Moto, rules: &[&str]) -> Self {
        use std::io::BufRead;
        let mut child = std::process::Command::new(crate::support::python())
            .arg(crate::support::repo().join("tests/s3/proxy.py"))
            .arg(moto.port().to_string())
            .args(rules)
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

    /// The endpoint to set as `AWS_ENDPOINT_URL`.
    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the proxy: its endpoint no longer answers.
    pub(crate) fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop();
    }
}
