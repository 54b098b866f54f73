//! Promotion into an S3 zone under attack: `--move` with sources overwritten or undeletable, dry
//! runs that must write nothing, hive-partitioned, deep and single-object datasets, an object large
//! enough for a multipart upload, a damaged Parquet object, torn log entries and junk in lakegate's
//! prefixes, a kill at every step, a store that goes away mid-promotion, and a commit whose answer is
//! lost. Each asserts the guarantee itself: all or nothing, never twice, nothing lost, never half a
//! batch for a reader, and one sentence with exit 3 when the promotion cannot happen.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::reads::{garble_page, plain_parquet};
use crate::s3::Moto;
use crate::s3_promote::{Lake, ORDERS, Proxy, finish, held, held_with};

/// `promote orders --move` as JSON.
const MOVE: [&str; 5] = ["promote", "orders", "--move", "--format", "json"];

/// The one line of a failed run's stderr (tracing warnings aside), which must be one sentence.
fn one_line(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.contains(" WARN ")).collect();
    assert_eq!(lines.len(), 1, "one line, not:\n{stderr}");
    lines[0].to_string()
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// The run ids that have a prefix in `cleaned/orders/_lakegate/staging/`.
fn staged_runs(staging: &[String]) -> Vec<String> {
    let mut runs: Vec<String> = staging
        .iter()
        .filter_map(|k| {
            k.strip_prefix("_lakegate/staging/")?
                .split('/')
                .next()
                .map(str::to_string)
        })
        .collect();
    runs.dedup();
    runs
}

#[test]
fn a_move_removes_sources_only_when_unchanged_and_a_later_promotion_removes_those_it_could_not() {
    let moto = Moto::start();
    let lake = Lake::new(&moto, "move");
    let total = lake.source_rows();
    let flags = tempfile::tempdir().unwrap();
    let flag = flags.path().join("held");
    // Committed; before the sources are removed, a producer rewrites one of them.
    let child = held(&lake, &MOVE, "after-commit", &flag);
    assert_eq!(lake.sources(), ORDERS.to_vec(), "nothing removed before the commit");
    let rewritten = std::fs::read(lake.dir.path().join("raw/orders").join(ORDERS[1])).unwrap();
    lake.put(&format!("raw/orders/{}", ORDERS[0]), &rewritten);
    let (code, out, err) = finish(child, &flag);
    assert_eq!(code, 0, "{out}\n{err}");
    let j: Value = serde_json::from_str(&out).unwrap();
    let kept = j["kept_sources"].to_string();
    assert!(
        kept.contains(ORDERS[0]) && kept.contains("changed after it was checked"),
        "{kept}"
    );
    assert!(j["message"].as_str().unwrap().contains(ORDERS[0]), "{j}");
    assert_eq!(
        lake.sources(),
        vec![ORDERS[0].to_string()],
        "the unchanged one was removed"
    );
    let now = lake.moto.objects_by("move", "demo/raw/orders", "sha256");
    assert_eq!(now[ORDERS[0]], sha256(&rewritten), "the producer's bytes are kept");
    assert_eq!(lake.target().0, ORDERS.to_vec());
    assert_eq!(lake.published_rows(), total);
    // Its old rows are published: the rewritten object is never promoted on top of them.
    let r = lake.run(&MOVE, &[]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let line = one_line(&r.stderr);
    assert!(
        line.contains("was promoted before and has changed since") && line.contains(ORDERS[0]),
        "{line}"
    );

    // Deletes the store refuses: the batch is published, the sources kept and named; a later
    // promotion (a dry run only says so) removes them.
    let lake = Lake::new(&moto, "move2");
    let proxy = Proxy::start(&moto, &["refuse:POST:/raw/orders/"]);
    let r = lake.run(&MOVE, &[("AWS_ENDPOINT_URL", &proxy.url())]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let j = r.json();
    assert!(j["kept_sources"].to_string().contains("could not be removed"), "{j}");
    let run = j["run_id"].as_str().unwrap().to_string();
    assert_eq!(lake.sources(), ORDERS.to_vec());
    assert_eq!(lake.target().0, ORDERS.to_vec());
    let before = moto.objects_by("move2", "demo", "etag");
    let r = lake.run(
        &["promote", "orders", "--recover", "--dry-run", "--format", "json"],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let expected = format!("would remove 2 source objects promoted with --move by {run}");
    assert_eq!(r.json()["recovered"], serde_json::json!([expected]), "{}", r.stdout);
    assert_eq!(
        moto.objects_by("move2", "demo", "etag"),
        before,
        "a dry run deletes nothing"
    );
    let r = lake.run(&MOVE, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    let expected = format!("removed 2 source objects promoted with --move by {run}");
    assert_eq!(j["recovered"], serde_json::json!([expected]), "{j}");
    assert_eq!(j["status"], "nothing_to_promote", "{j}");
    assert!(lake.sources().is_empty());
    assert_eq!(lake.target().1.len(), 1, "published once");
}

#[test]
fn a_dry_run_on_a_store_writes_nothing_and_says_what_recovery_would_do() {
    let moto = Moto::start();
    let lake = Lake::new(&moto, "dry");
    // A promotion killed after its commit, half copied…
    let r = lake.run(&MOVE, &[("LAKEGATE_FAULT", "after-first-copy")]);
    assert_ne!(r.code, 0, "{}", r.stderr);
    let committed = staged_runs(&lake.target().2);
    assert_eq!(committed.len(), 1, "{committed:?}");
    // …the staging of one that died days ago before committing (no readable intent)…
    let old = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, 1_768_000_000, 0)).to_string();
    lake.put(
        &format!("cleaned/orders/_lakegate/staging/{old}/_intent.json"),
        b"{\"torn",
    );
    lake.put(
        &format!("cleaned/orders/_lakegate/staging/{old}/{}", ORDERS[0]),
        b"partial",
    );
    // …and a new object to promote.
    let bytes = std::fs::read(lake.dir.path().join("raw/orders").join(ORDERS[0])).unwrap();
    lake.put("raw/orders/orders-2026-01-16.parquet", &bytes);
    let before = moto.objects_by("dry", "demo", "etag");

    let tmp = tempfile::tempdir().unwrap();
    let tmpdir = tmp.path().to_str().unwrap();
    let r = lake.run(
        &["promote", "orders", "--move", "--dry-run", "--format", "json"],
        &[("TMPDIR", tmpdir)],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    assert_eq!(j["status"], "would_promote", "{j}");
    assert_eq!(j["published"], serde_json::json!(["orders-2026-01-16.parquet"]));
    let mut recovered: Vec<String> = serde_json::from_value(j["recovered"].clone()).unwrap();
    recovered.sort();
    assert_eq!(
        recovered,
        [
            format!("would finish the interrupted promotion {} (2 files)", committed[0]),
            format!("would remove the staging of an interrupted promotion that had not published ({old})"),
        ],
        "{j}"
    );
    let r = lake.run(&["promote", "orders", "--recover", "--dry-run"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("would finish the interrupted promotion"),
        "{}",
        r.stdout
    );
    assert_eq!(
        moto.objects_by("dry", "demo", "etag"),
        before,
        "a dry run writes nothing: no probe, no staging, no log entry, no copy, no delete"
    );
    let downloads = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("lakegate-promote-"))
        .count();
    assert_eq!(downloads, 0, "its downloads are removed");
    // What it said is what happens.
    let r = lake.run(&MOVE, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    assert_eq!(j["published"], serde_json::json!(["orders-2026-01-16.parquet"]));
    assert_eq!(j["recovered"].as_array().unwrap().len(), 2, "{j}");
    let (data, log, staging) = lake.target();
    assert_eq!(data.len(), 3);
    assert_eq!(log.len(), 2);
    assert!(staging.is_empty(), "{staging:?}");
    assert!(lake.sources().is_empty());
}

/// The source and target suites of a dataset at `path` with checks that read every row.
fn suites(lake: &Lake, name: &str, path: &str, checks: &str) {
    for (suffix, zone) in [("", "raw"), ("_published", "cleaned")] {
        lake.p.file(
            &format!("checks/{name}{suffix}.toml"),
            &format!("[dataset]\nname = \"{name}{suffix}\"\nzone = \"{zone}\"\npath = \"{path}\"\n\n{checks}"),
        );
    }
}

/// The rows of `check NAME` and each check's observed value, in order (all must pass).
fn observed(lake: &Lake, name: &str) -> (u64, Vec<String>) {
    let r = lake.run(&["check", name, "--no-history", "--format", "json"], &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let d = &r.json()["datasets"][0];
    let checks = d["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["observed"].to_string())
        .collect();
    (d["rows"].as_u64().unwrap(), checks)
}

const SUMS: &str = "[[check]]\nkind = \"metric\"\nsql = \"sum(id)\"\nmin = 0\n\n[[check]]\nkind = \"metric\"\nsql = \"count(distinct name)\"\nmin = 1\n";

#[test]
fn hive_partitioned_deep_and_single_object_datasets_keep_their_layout() {
    let moto = Moto::start();
    let lake = Lake::new(&moto, "layout");
    let parts = [
        ("dt=2026-01-01/part-0.parquet", 100),
        ("dt=2026-01-02/part-0.parquet", 50),
        ("dt=2026-01-02/part-1.parquet", 30),
    ];
    for (rel, rows) in parts {
        lake.put(&format!("raw/sales/eu/2026/{rel}"), &plain_parquet(rows));
    }
    let partitions = format!("{SUMS}\n[[check]]\nkind = \"metric\"\nsql = \"count(distinct dt)\"\nmin = 2\n");
    suites(&lake, "sales", "sales/eu/2026", &partitions);
    let r = lake.run(&["promote", "sales", "--format", "json"], &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let published = crate::s3_promote::split_target(&lake.objects("cleaned/sales/eu/2026")).0;
    let sources: Vec<String> = lake.objects("raw/sales/eu/2026").into_keys().collect();
    assert_eq!(published, sources, "the same keys below the dataset's prefix");
    let (rows, checks) = observed(&lake, "sales");
    assert_eq!(rows, 180);
    assert_eq!(observed(&lake, "sales_published"), (rows, checks.clone()), "{checks:?}");
    assert_eq!(
        checks.last().map(String::as_str),
        Some("2"),
        "two partitions read: {checks:?}"
    );

    // A dataset that is one object: published beside its siblings, not below a prefix named like it.
    lake.put("raw/single/only.parquet", &plain_parquet(70));
    suites(&lake, "single", "single/only.parquet", SUMS);
    // An object already there with other bytes (written by another tool) is never overwritten.
    lake.put("cleaned/single/only.parquet", &plain_parquet(3));
    let r = lake.run(&["promote", "single"], &[]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let line = one_line(&r.stderr);
    assert!(
        line.contains("s3://layout/demo/cleaned/single/only.parquet already exists with other content"),
        "{line}"
    );
    assert_eq!(
        lake.objects("cleaned/single").into_keys().collect::<Vec<_>>(),
        ["only.parquet"]
    );
    // The same bytes there (a copy made before) are no conflict.
    lake.put("cleaned/single/only.parquet", &plain_parquet(70));
    let r = lake.run(&["promote", "single", "--format", "json"], &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let (data, log, _) = crate::s3_promote::split_target(&lake.objects("cleaned/single"));
    assert_eq!(data, ["only.parquet"]);
    assert_eq!(log.len(), 1);
    assert_eq!(observed(&lake, "single_published"), observed(&lake, "single"));
}

#[test]
fn a_large_object_is_uploaded_in_parts_and_published_byte_identical() {
    let moto = Moto::start();
    let lake = Lake::new(&moto, "large");
    let big = plain_parquet(700_000);
    assert!(big.len() > 9 << 20, "more than one 8 MiB part: {} bytes", big.len());
    lake.put("raw/big/part-0.parquet", &big);
    lake.put("raw/big/part-1.parquet", &plain_parquet(10));
    suites(&lake, "big", "big", SUMS);
    let r = lake.run(&["promote", "big", "--format", "json"], &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let source = moto.objects_by("large", "demo/raw/big", "sha256");
    let target: BTreeMap<String, String> = moto
        .objects_by("large", "demo/cleaned/big", "sha256")
        .into_iter()
        .filter(|(k, _)| !k.starts_with("_lakegate/"))
        .collect();
    assert_eq!(target, source);
    assert_eq!(source["part-0.parquet"], sha256(&big));
    assert_eq!(observed(&lake, "big_published"), observed(&lake, "big"));
}

#[test]
fn a_damaged_parquet_object_is_refused_before_anything_is_staged() {
    let moto = Moto::start();
    let lake = Lake::new(&moto, "damaged");
    let local = tempfile::tempdir().unwrap();
    let path = local.path().join("part-0.parquet");
    std::fs::write(&path, plain_parquet(20_000)).unwrap();
    garble_page(&path, 1);
    lake.put("raw/t/part-0.parquet", &std::fs::read(&path).unwrap());
    lake.put("raw/t/part-1.parquet", &plain_parquet(100));
    // Footers answer this suite, so the gate passes without reading a page.
    suites(&lake, "t", "t", "[[check]]\nkind = \"row_count\"\nmin = 1\n");
    for dry in [true, false] {
        let mut args = vec!["promote", "t"];
        if dry {
            args.push("--dry-run");
        }
        let r = lake.run(&args, &[]);
        assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
        let line = one_line(&r.stderr);
        assert!(
            line.contains("s3://damaged/demo/raw/t/part-0.parquet, row group 0, column `name`"),
            "{line}"
        );
        assert!(lake.objects("cleaned").is_empty(), "nothing staged, no probe left");
    }
}

#[test]
fn a_torn_log_entry_keeps_its_number_and_junk_in_lakegates_prefixes_is_left_alone() {
    let moto = Moto::start();
    let lake = Lake::new(&moto, "junk");
    let total = lake.source_rows();
    let torn = b"{\"lakegate\": \"0.1.0\", \"run_id\": \"01";
    lake.put("cleaned/orders/_lakegate/log/00000000000000000001.json", torn);
    lake.put("cleaned/orders/_lakegate/log/notes.txt", b"not an entry");
    // Junk that looks like an intent naming the batch, in a prefix lakegate did not make.
    let intent = format!("{{\"run_id\":\"x\",\"files\":[{{\"path\":\"{}\"}}]}}", ORDERS[0]);
    lake.put(
        "cleaned/orders/_lakegate/staging/not-a-uuid/_intent.json",
        intent.as_bytes(),
    );
    lake.put(
        &format!("cleaned/orders/_lakegate/staging/not-a-uuid/{}", ORDERS[1]),
        b"junk",
    );
    let junk = |lake: &Lake| -> BTreeMap<String, String> {
        moto.objects_by(&lake.bucket, "demo/cleaned/orders/_lakegate", "sha256")
            .into_iter()
            .filter(|(k, _)| k.contains("not-a-uuid") || k.ends_with("notes.txt") || k.ends_with("001.json"))
            .collect()
    };
    let planted = junk(&lake);
    assert_eq!(planted.len(), 4);

    let r = lake.run(&["promote", "orders", "--format", "json"], &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let j = r.json();
    assert!(
        j["message"]
            .as_str()
            .unwrap()
            .contains("log entry 00000000000000000002.json"),
        "the torn entry's number is taken: {j}"
    );
    let (data, log, _) = lake.target();
    assert_eq!(data, ORDERS.to_vec());
    assert_eq!(
        log,
        ["00000000000000000001.json", "00000000000000000002.json", "notes.txt"]
    );
    assert_eq!(lake.published_rows(), total, "the junk intent hides nothing");
    let r = lake.run(&["promote", "orders", "--recover", "--format", "json"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["message"], "Nothing to recover.");
    let r = lake.run(&["promote", "orders", "--format", "json"], &[]);
    assert_eq!(r.json()["status"], "already_promoted", "{}", r.stdout);
    assert_eq!(junk(&lake), planted, "left alone, byte for byte");

    // An entry with the largest number there can be: no promotion can commit after it, which is
    // said in one sentence before anything is staged.
    lake.put("cleaned/orders/_lakegate/log/18446744073709551615.json", torn);
    let bytes = std::fs::read(lake.dir.path().join("raw/orders").join(ORDERS[0])).unwrap();
    lake.put("raw/orders/orders-2026-01-16.parquet", &bytes);
    let r = lake.run(&["promote", "orders"], &[]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(one_line(&r.stderr).contains("the largest there can be"), "{}", r.stderr);
    let (data, _, staging) = lake.target();
    assert_eq!(data, ORDERS.to_vec());
    assert!(staging.iter().all(|k| k.contains("not-a-uuid")), "{staging:?}");
}

/// A `--move` promotion killed at `step`: what a reader sees then, what `--recover` and the next
/// promotion do, and that the batch ends up published exactly once with every source removed.
fn killed_at(step: &str) {
    let moto = Moto::start();
    let lake = Lake::new(&moto, "kill");
    let total = lake.source_rows();
    let tmp = tempfile::tempdir().unwrap();
    let tmpdir = [("TMPDIR", tmp.path().to_str().unwrap())];
    let downloads = || {
        std::fs::read_dir(tmp.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("lakegate-promote-"))
            .count()
    };
    let mut env = tmpdir.to_vec();
    env.push(("LAKEGATE_FAULT", step));
    let r = lake.run(&MOVE, &env);
    assert_ne!(r.code, 0, "{step}: the hook kills it: {}", r.stderr);
    let committed = matches!(step, "after-commit" | "after-first-copy");
    let (data, log, _) = lake.target();
    assert_eq!(log.len(), usize::from(committed), "{step}: {log:?}");
    assert_eq!(data.len(), usize::from(step == "after-first-copy"), "{step}: {data:?}");
    assert_eq!(
        lake.sources(),
        ORDERS.to_vec(),
        "{step}: no source removed before the copies"
    );
    assert_eq!(lake.published_rows(), 0, "{step}: a reader sees none of the batch");
    assert_eq!(
        downloads(),
        usize::from(matches!(step, "after-upload" | "after-commit" | "after-first-copy"))
    );

    let r = lake.run(&["promote", "orders", "--recover", "--format", "json"], &tmpdir);
    assert_eq!(r.code, 0, "{step}: {}", r.stderr);
    let recovered = r.json()["recovered"].to_string();
    assert_eq!(downloads(), 0, "{step}: the killed promotion's downloads are removed");
    let (data, log, staging) = lake.target();
    assert!(staging.is_empty(), "{step}: {staging:?}");
    if committed {
        assert!(
            recovered.contains("finished the interrupted promotion"),
            "{step}: {recovered}"
        );
        assert_eq!(data, ORDERS.to_vec(), "{step}");
        assert!(
            lake.sources().is_empty(),
            "{step}: the sources of the committed --move are removed"
        );
        assert_eq!(lake.published_rows(), total, "{step}");
    } else {
        assert!(data.is_empty() && log.is_empty(), "{step}: {data:?} {log:?}");
        assert_eq!(lake.sources(), ORDERS.to_vec(), "{step}");
    }

    let r = lake.run(&MOVE, &tmpdir);
    assert_eq!(r.code, 0, "{step}: {}", r.stderr);
    let expected = if committed { "nothing_to_promote" } else { "promoted" };
    assert_eq!(r.json()["status"], expected, "{step}: {}", r.stdout);
    let (data, log, staging) = lake.target();
    assert_eq!(data, ORDERS.to_vec(), "{step}");
    assert_eq!(log.len(), 1, "{step}: published once: {log:?}");
    assert!(staging.is_empty(), "{step}: {staging:?}");
    assert!(lake.sources().is_empty(), "{step}");
    assert_eq!(lake.published_rows(), total, "{step}");
    assert_eq!(downloads(), 0, "{step}");
}

// A `--move` killed at each step is published once after recovery, and no source is lost.

#[test]
fn a_move_killed_after_the_snapshot_is_published_once_later() {
    killed_at("after-snapshot");
}

#[test]
fn a_move_killed_after_the_gate_is_published_once_later() {
    killed_at("after-gate");
}

#[test]
fn a_move_killed_after_the_upload_is_published_once_later() {
    killed_at("after-upload");
}

#[test]
fn a_move_killed_after_the_commit_is_finished_by_recovery() {
    killed_at("after-commit");
}

#[test]
fn a_move_killed_after_the_first_copy_is_finished_by_recovery() {
    killed_at("after-first-copy");
}

/// Runs `args` held at `step` through `proxy`, stops the proxy (the store is gone), lets the run
/// go on and requires it to end within 15 s; its exit code and stderr.
fn store_gone_at(lake: &Lake, proxy: &mut Proxy, args: &[&str], step: &str) -> (i32, String) {
    let flags = tempfile::tempdir().unwrap();
    let flag = flags.path().join("held");
    let url = proxy.url();
    let child = held_with(lake, args, step, &flag, &[("AWS_ENDPOINT_URL", &url)]);
    proxy.stop();
    let started = Instant::now();
    let (code, out, err) = finish(child, &flag);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{step}: took {:?}",
        started.elapsed()
    );
    assert_eq!(code, 3, "{step}: {out}\n{err}");
    (code, err)
}

#[test]
fn a_store_gone_mid_promotion_ends_it_with_one_sentence_and_the_next_promotion_recovers() {
    let moto = Moto::start();
    let lake = Lake::new(&moto, "gone");
    let total = lake.source_rows();
    let args = ["promote", "orders", "--format", "json"];

    // Gone after the gate: nothing was written.
    let (_, err) = store_gone_at(&lake, &mut Proxy::start(&moto, &[]), &args, "after-gate");
    assert!(
        one_line(&err).contains("cannot reach the object store at http://127.0.0.1:"),
        "{err}"
    );
    assert!(lake.objects("cleaned").is_empty());

    // Gone after the upload: the commit cannot be confirmed; the staged copies stay for recovery.
    let (_, err) = store_gone_at(&lake, &mut Proxy::start(&moto, &[]), &args, "after-upload");
    let line = one_line(&err);
    assert!(
        line.contains("was not confirmed") && line.contains("cannot reach"),
        "{line}"
    );
    let (data, log, staging) = lake.target();
    assert!(data.is_empty() && log.is_empty() && !staging.is_empty());
    assert_eq!(lake.published_rows(), 0);

    // Back: the next promotion removes that staging and publishes; gone again after its commit.
    let (_, err) = store_gone_at(&lake, &mut Proxy::start(&moto, &[]), &args, "after-commit");
    let line = one_line(&err);
    assert!(
        line.contains("the batch is committed (log entry 00000000000000000001.json)") && line.contains("--recover"),
        "{line}"
    );
    assert_eq!(lake.published_rows(), 0, "not visible before it is copied");
    let r = lake.run(&["promote", "orders", "--recover", "--format", "json"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.json()["recovered"]
            .to_string()
            .contains("finished the interrupted promotion")
    );
    let (data, log, staging) = lake.target();
    assert_eq!(data, ORDERS.to_vec());
    assert_eq!(log.len(), 1);
    assert!(staging.is_empty(), "{staging:?}");
    assert_eq!(lake.published_rows(), total);
}

#[test]
fn a_commit_whose_answer_is_lost_is_recognised_as_this_promotions_own() {
    let moto = Moto::start();
    let lake = Lake::new(&moto, "lost");
    let total = lake.source_rows();
    // The store creates the entry, then a gateway answers 503; the client retries and finds the
    // number taken — by its own entry.
    let proxy = Proxy::start(&moto, &["lose-answer:PUT:/_lakegate/log/"]);
    let r = lake.run(
        &["promote", "orders", "--format", "json"],
        &[("AWS_ENDPOINT_URL", &proxy.url())],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json()["status"], "promoted");
    let (data, log, staging) = lake.target();
    assert_eq!(data, ORDERS.to_vec());
    assert_eq!(log.len(), 1);
    assert!(staging.is_empty(), "{staging:?}");
    assert_eq!(lake.published_rows(), total);
    // The connection drops after the store created the entry (not retried: not idempotent).
    let bytes = std::fs::read(lake.dir.path().join("raw/orders").join(ORDERS[0])).unwrap();
    lake.put("raw/orders/orders-2026-01-16.parquet", &bytes);
    let proxy = Proxy::start(&moto, &["hang-up:PUT:/_lakegate/log/"]);
    let r = lake.run(
        &["promote", "orders", "--format", "json"],
        &[("AWS_ENDPOINT_URL", &proxy.url())],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json()["published"], serde_json::json!(["orders-2026-01-16.parquet"]));
    let (data, log, staging) = lake.target();
    assert_eq!(data.len(), 3);
    assert_eq!(log.len(), 2);
    assert!(staging.is_empty(), "{staging:?}");
}

#[test]
fn a_reader_listing_while_a_batch_is_copied_into_place_never_sees_half_of_it() {
    let moto = Moto::start();
    let lake = Lake::new(&moto, "reader");
    let total = lake.source_rows();
    let flags = tempfile::tempdir().unwrap();
    let (a, b) = (flags.path().join("promotion"), flags.path().join("reader"));
    // One object copied into place, the intent still there…
    let promotion = held(&lake, &["promote", "orders"], "after-first-copy", &a);
    // …when a reader lists the target; before it reads the intent, the promotion finishes.
    let reader = held(
        &lake,
        &["check", "published", "--no-history", "--format", "json"],
        "reader-listed",
        &b,
    );
    let (code, out, err) = finish(promotion, &a);
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, out, err) = finish(reader, &b);
    assert_eq!(code, 0, "{out}\n{err}");
    let rows = serde_json::from_str::<Value>(&out).unwrap()["datasets"][0]["rows"].as_u64();
    assert_eq!(rows, Some(total), "all of the batch or none of it");
}
