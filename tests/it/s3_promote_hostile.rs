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
