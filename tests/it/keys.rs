//! `unique` over one integer key counts repeated keys with bitmaps over the key range when that
//! range is narrow (see `engine/key_bitmap.rs`), and with a grouped query otherwise. Both must
//! report exactly what DataFusion's `GROUP BY key HAVING count(*) > 1` reports — across files and
//! partitions (keys repeated inside one file and across files), with null keys and a `where` —
//! and the debug log says which way was taken. Over CSV files the fused scan collects the keys
//! itself, so the file is parsed once (one query), unless there are too many for its cap.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int32Array, Int64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use serde_json::{Value, json};

use crate::support::{DEFAULT_CONFIG, Project, check};

/// Keys repeated 7, 6, 5, 4 and 3 times (some within a file, some across files), a few more
/// repeated twice, a null key every 41st row, and `grp` cycling 0..3.
fn keys(file: i64) -> Vec<Option<i64>> {
    let mut ids: Vec<Option<i64>> = (0..400)
        .map(|i| {
            let id = file * 400 + i + 1;
            (id % 41 != 0).then_some(id)
        })
        .collect();
    // Every file repeats the first key of the previous file once (across files)…
    if file > 0 {
        ids.push(Some((file - 1) * 400 + 2));
    }
    // …and some keys of its own several times (within a file).
    for (key, extra) in [(7, 6), (8, 5), (9, 4), (10, 3), (11, 2)] {
        if file == 1 {
            for _ in 0..extra {
                ids.push(Some(key));
            }
        }
    }
    ids
}

fn batch(ids: &[Option<i64>], scale: i64, int32: bool) -> RecordBatch {
    let id: ArrayRef = if int32 {
        Arc::new(Int32Array::from_iter(
            ids.iter().map(|v| v.map(|v| i32::try_from(v * scale).unwrap())),
        ))
    } else {
        Arc::new(Int64Array::from_iter(ids.iter().map(|v| v.map(|v| v * scale))))
    };
    let grp = Arc::new(Int32Array::from_iter_values(
        (0..ids.len()).map(|i| i32::try_from(i % 3).unwrap()),
    ));
    let schema = Schema::new(vec![
        Field::new("id", if int32 { DataType::Int32 } else { DataType::Int64 }, true),
        Field::new("grp", DataType::Int32, false),
    ]);
    RecordBatch::try_new(Arc::new(schema), vec![id, grp]).unwrap()
}

const SUITE: &str = r#"
[[check]]
kind = "unique"
column = "id"

[[check]]
kind = "unique"
name = "ids of group 1"
column = "id"
where = "grp = 1"
"#;

/// A project of four Parquet files, scanned in three partitions.
fn project(scale: i64, int32: bool) -> Project {
    let p = Project::new();
    p.file(
        "lakegate.toml",
        &format!("{DEFAULT_CONFIG}\n[engine]\ntarget_partitions = 3\n"),
    );
    for f in 0..4 {
        p.parquet(&format!("lake/raw/t/part-{f}.parquet"), &batch(&keys(f), scale, int32));
    }
    p.suite("t", "", SUITE);
    p
}

/// `(failing rows, duplicated keys, the ten most repeated keys with their counts)` by SQL.
fn by_sql(p: &Project, filter: &str) -> (u64, u64, Vec<(i64, i64)>) {
    sql_over(&p.path().join("lake/raw/t"), filter)
}

/// The same over the Parquet files in `dir`.
fn sql_over(dir: &std::path::Path, filter: &str) -> (u64, u64, Vec<(i64, i64)>) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ctx = SessionContext::new();
        ctx.register_parquet("t", dir.to_str().unwrap(), ParquetReadOptions::default())
            .await
            .unwrap();
        let sql = format!(
            "SELECT CAST(id AS BIGINT) AS id, count(*) AS n FROM t WHERE id IS NOT NULL {filter} \
             GROUP BY id HAVING count(*) > 1 ORDER BY n DESC, id"
        );
        let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
        let mut rows = Vec::new();
        for b in &batches {
            let ids = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
            let ns = b.column(1).as_any().downcast_ref::<Int64Array>().unwrap();
            rows.extend(ids.values().iter().copied().zip(ns.values().iter().copied()));
        }
        let failing = rows.iter().map(|r| u64::try_from(r.1).unwrap()).sum();
        let top = rows.iter().take(10).copied().collect();
        (failing, rows.len() as u64, top)
    })
}

fn assert_agrees(result: &Value, id: &str, (failing, keys, top): &(u64, u64, Vec<(i64, i64)>)) {
    let c = check(result, id);
    assert_eq!(c["failing_rows"], json!(failing), "{c:#}");
    let message = c["message"].as_str().unwrap();
    assert!(message.contains(&format!("({keys} duplicated keys)")), "{message}");
    let sample: Vec<(i64, i64)> = c["sample"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_i64().unwrap(), r["count"].as_i64().unwrap()))
        .collect();
    assert_eq!(&sample, top, "{c:#}");
}

/// Runs `check` with the engine's debug log; returns the result and whether bitmaps were used.
fn run(p: &Project) -> (Value, bool) {
    let r = p.run_env(&["check", "--format", "json"], &[("LAKEGATE_LOG", "lakegate=debug")]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    (r.json(), r.stderr.contains("Counted repeated keys with bitmaps"))
}

#[test]
fn narrow_key_ranges_use_bitmaps_and_agree_with_group_by() {
    for int32 in [false, true] {
        let p = project(1, int32);
        let (result, bitmaps) = run(&p);
        assert!(bitmaps, "the bitmap path was not taken (int32: {int32})");
        let all = by_sql(&p, "");
        // The data holds what it should: repeats within and across files, several counts.
        assert_eq!(all.2.iter().map(|t| t.1).collect::<Vec<_>>(), [7, 6, 5, 4, 3, 2, 2, 2]);
        assert_agrees(&result, "t.id.unique", &all);
        assert_agrees(&result, "t.ids of group 1", &by_sql(&p, "AND grp = 1"));
    }
}

#[test]
fn wide_key_ranges_group_the_keys_and_agree_too() {
    // The same keys spread a trillion apart: far too wide a range for bitmaps.
    let p = project(1_000_000_000_000, false);
    let (result, bitmaps) = run(&p);
    assert!(!bitmaps, "bitmaps used for a range of 10^15 keys");
    let all = by_sql(&p, "");
    assert_agrees(&result, "t.id.unique", &all);
    assert_agrees(&result, "t.ids of group 1", &by_sql(&p, "AND grp = 1"));
    // Same counts as the narrow keys.
    let (narrow, _) = run(&project(1, false));
    for id in ["t.id.unique", "t.ids of group 1"] {
        assert_eq!(check(&result, id)["failing_rows"], check(&narrow, id)["failing_rows"]);
    }
}

/// The rows of `keys(file)` as CSV (`id,grp`, an empty field for a null key).
fn csv(ids: &[Option<i64>]) -> String {
    let mut out = String::from("id,grp\n");
    for (i, v) in ids.iter().enumerate() {
        out.push_str(&format!("{},{}\n", v.map_or(String::new(), |v| v.to_string()), i % 3));
    }
    out
}

#[test]
fn csv_keys_are_collected_by_the_fused_scan_in_one_query() {
    let p = Project::new();
    let reference = tempfile::tempdir().unwrap();
    for f in 0..4 {
        let ids = keys(f);
        p.file(&format!("lake/raw/t/part-{f}.csv"), &csv(&ids));
        let bytes = crate::fixtures::parquet_bytes(&batch(&ids, 1, false));
        std::fs::write(reference.path().join(format!("part-{f}.parquet")), bytes).unwrap();
    }
    p.suite("t", "", SUITE);
    let r = p.run_env(&["check", "--format", "json"], &[("LAKEGATE_LOG", "lakegate=debug")]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("Counted repeated keys collected by the fused scan"),
        "{}",
        r.stderr
    );
    let result = r.json();
    // One pass over the files answers both checks.
    assert_eq!(result["datasets"][0]["queries"], 1, "{result:#}");
    assert_agrees(&result, "t.id.unique", &sql_over(reference.path(), ""));
    assert_agrees(&result, "t.ids of group 1", &sql_over(reference.path(), "AND grp = 1"));
}

#[test]
fn too_many_csv_keys_for_the_cap_take_the_key_query() {
    // A 16MB memory pool caps the collected keys at 524,288; these are 600,000 (key 7 repeated).
    let p = Project::new();
    p.file(
        "lakegate.toml",
        &format!("{DEFAULT_CONFIG}\n[engine]\nmemory_limit = \"16MB\"\n"),
    );
    let ids: Vec<Option<i64>> = (0..600_000)
        .map(|i| Some(if i % 100_000 == 0 { 7 } else { i }))
        .collect();
    p.file("lake/raw/t/a.csv", &csv(&ids));
    p.suite("t", "", "[[check]]\nkind = \"unique\"\ncolumn = \"id\"\n");
    let r = p.run_env(&["check", "--format", "json"], &[("LAKEGATE_LOG", "lakegate=debug")]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(!r.stderr.contains("collected by the fused scan"), "{}", r.stderr);
    let result = r.json();
    assert_eq!(result["datasets"][0]["queries"], 2, "{result:#}");
    // Key 7 occurs at rows 0, 7, 100,000, …, 500,000: seven times.
    let c = check(&result, "t.id.unique");
    assert_eq!(c["failing_rows"], 7, "{c:#}");
    assert_eq!(c["sample"][0], json!({"id": 7, "count": 7}));
}
