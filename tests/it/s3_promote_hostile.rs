//! Promotion into an S3 zone under attack: `--move` with sources overwritten or undeletable, dry
//! runs that must write nothing, hive-partitioned, deep and single-object datasets, an object large
//! enough for a multipart upload, a damaged Parquet object, torn log entries and junk in lakegate's
//! prefixes, a kill at every step, a store that goes away mid-promotion, and a commit whose answer is
//! lost. Each asserts the guarantee itself: all or nothing, never twice, nothing lost, never half a
//! batch for a reader, and one sentence with exit 3 when the promotion cannot happen.

use serde_json::Value;

use crate::s3::Moto;
use crate::s3_promote::{Lake, finish, held};

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
