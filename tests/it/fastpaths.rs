//! The engine's fast paths (range kernel, string set and view table, shared list masks, byte-class
//! patterns, `IS NOT TRUE` counted as rows minus trues) must count exactly what DataFusion's own
//! SQL counts. Pseudo-random data full of edge values (NaN, -0.0, ±inf, integer limits, nulls,
//! empty and long strings) in three Parquet files; every check's failing rows are compared with
//! `count(*) FILTER (WHERE predicate)` run by a plain DataFusion session in the test.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Date32Array, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use serde_json::Value;

use crate::support::{DEFAULT_CONFIG, Project, check};

/// A small deterministic generator (64-bit LCG, high bits).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn pick<T: Clone>(&mut self, from: &[T]) -> T {
        from[usize::try_from(self.next()).unwrap() % from.len()].clone()
    }
}

const JAN1_2026_US: i64 = 1_767_225_600_000_000;

fn batch(seed: u64, rows: usize) -> RecordBatch {
    let mut r = Lcg(seed);
    let q: Vec<Option<i32>> = (0..rows)
        .map(|_| {
            r.pick(&[
                None,
                Some(i32::MIN),
                Some(i32::MAX),
                Some(-5),
                Some(0),
                Some(5),
                Some(50),
                Some(100),
                Some(101),
                Some(7),
            ])
        })
        .collect();
    let n: Vec<Option<i64>> = (0..rows)
        .map(|_| {
            r.pick(&[
                None,
                Some(i64::MIN),
                Some(i64::MAX),
                Some(-1),
                Some(0),
                Some(1_000_000_000_000),
            ])
        })
        .collect();
    let x: Vec<Option<f64>> = (0..rows)
        .map(|_| {
            r.pick(&[
                None,
                Some(f64::NAN),
                Some(-f64::NAN),
                Some(-0.0),
                Some(0.0),
                Some(1.0),
                Some(-1.0),
                Some(0.5),
                Some(f64::INFINITY),
                Some(f64::NEG_INFINITY),
                Some(1.000_000_1),
            ])
        })
        .collect();
    let d: Vec<Option<i32>> = (0..rows)
        .map(|_| r.pick(&[None, Some(20_454), Some(20_455), Some(20_634), Some(20_635), Some(0)]))
        .collect();
    let t: Vec<Option<i64>> = (0..rows)
        .map(|_| {
            let h = i64::try_from(r.next() % 48).unwrap();
            (h != 7).then_some(JAN1_2026_US + h * 3_600_000_000)
        })
        .collect();
    let t2: Vec<Option<i64>> = t
        .iter()
        .map(|v| {
            let shift = i64::try_from(r.next() % 5).unwrap() - 2;
            v.map(|v| v + shift * 3_600_000_000).filter(|_| shift != 2)
        })
        .collect();
    let words = [
        None,
        Some(""),
        Some("a"),
        Some("placed"),
        Some("shipped"),
        Some("delivered"),
        Some("cancelled"),
        Some("exactly12byt"),
        Some("thirteen-byte"),
        Some("a much longer accepted value"),
        Some("é"),
        Some("Placed"),
        Some("x9"),
    ];
    let s: Vec<Option<&str>> = (0..rows).map(|_| r.pick(&words)).collect();
    let c: Vec<Option<&str>> = (0..rows)
        .map(|_| {
            r.pick(&[
                None,
                Some("DE"),
                Some("FR"),
                Some("us"),
                Some("D1"),
                Some("DEU"),
                Some(""),
                Some("ÉE"),
            ])
        })
        .collect();
    let schema = Schema::new(vec![
        Field::new("q", DataType::Int32, true),
        Field::new("n", DataType::Int64, true),
        Field::new("x", DataType::Float64, true),
        Field::new("d", DataType::Date32, true),
        Field::new(
            "t",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new(
            "t2",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("s", DataType::Utf8, true),
        Field::new("c", DataType::Utf8, true),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from(q)),
        Arc::new(Int64Array::from(n)),
        Arc::new(Float64Array::from(x)),
        Arc::new(Date32Array::from(d)),
        Arc::new(TimestampMicrosecondArray::from(t).with_timezone("UTC")),
        Arc::new(TimestampMicrosecondArray::from(t2).with_timezone("UTC")),
        Arc::new(StringArray::from(s)),
        Arc::new(StringArray::from(c)),
    ];
    RecordBatch::try_new(Arc::new(schema), columns).unwrap()
}

/// `(check name, TOML body, the failing rows as a DataFusion predicate)`.
const CHECKS: &[(&str, &str, &str)] = &[
    (
        "q range",
        "kind = \"range\"\ncolumn = \"q\"\nmin = 0\nmax = 100",
        "q < 0 OR q > 100",
    ),
    (
        "q open range",
        "kind = \"range\"\ncolumn = \"q\"\nmin = -5\nmax = 5\nexclusive = true",
        "q <= -5 OR q >= 5",
    ),
    ("q above", "kind = \"range\"\ncolumn = \"q\"\nmin = 1", "q < 1"),
    (
        "n range",
        "kind = \"range\"\ncolumn = \"n\"\nmin = -1\nmax = 1000000000000",
        "n < -1 OR n > 1000000000000",
    ),
    (
        "x range",
        "kind = \"range\"\ncolumn = \"x\"\nmin = 0\nmax = 1",
        "x < 0 OR x > 1",
    ),
    (
        "x open range",
        "kind = \"range\"\ncolumn = \"x\"\nmin = -1\nmax = 1\nexclusive = true",
        "x <= -1 OR x >= 1",
    ),
    (
        "x zero",
        "kind = \"range\"\ncolumn = \"x\"\nmin = 0\nmax = 0",
        "x < 0 OR x > 0",
    ),
    (
        "d range",
        "kind = \"range\"\ncolumn = \"d\"\nmin = \"2026-01-01\"\nmax = \"2026-06-30\"",
        "d < DATE '2026-01-01' OR d > DATE '2026-06-30'",
    ),
    (
        "t range",
        "kind = \"range\"\ncolumn = \"t\"\nmin = \"2026-01-01T05:00:00Z\"\nmax = \"2026-01-02T12:00:00Z\"",
        "t < TIMESTAMP '2026-01-01T05:00:00Z' OR t > TIMESTAMP '2026-01-02T12:00:00Z'",
    ),
    (
        "s four",
        "kind = \"accepted_values\"\ncolumn = \"s\"\nvalues = [\"placed\", \"shipped\", \"delivered\", \"cancelled\"]",
        "s NOT IN ('placed', 'shipped', 'delivered', 'cancelled')",
    ),
    (
        "s eight",
        "kind = \"accepted_values\"\ncolumn = \"s\"\nvalues = [\"placed\", \"shipped\", \"delivered\", \"cancelled\", \"\", \"é\", \"exactly12byt\", \"a much longer accepted value\"]",
        "s NOT IN ('placed', 'shipped', 'delivered', 'cancelled', '', 'é', 'exactly12byt', 'a much longer accepted value')",
    ),
    (
        "s other",
        "kind = \"accepted_values\"\ncolumn = \"s\"\nvalues = [\"a\", \"x9\", \"thirteen-byte\", \"Placed\", \"placed\", \"shipped\"]",
        "s NOT IN ('a', 'x9', 'thirteen-byte', 'Placed', 'placed', 'shipped')",
    ),
    (
        "c pattern",
        "kind = \"pattern\"\ncolumn = \"c\"\nregex = '^[A-Z]{2}$'",
        "c !~ '^[A-Z]{2}$'",
    ),
    (
        "updated after",
        "kind = \"expression\"\nsql = \"t2 >= t OR q > 50\"",
        "(t2 >= t OR q > 50) IS NOT TRUE",
    ),
    (
        "x half",
        "kind = \"expression\"\nsql = \"x > 0.5\"",
        "(x > 0.5) IS NOT TRUE",
    ),
    ("x not null", "kind = \"not_null\"\ncolumn = \"x\"", "x IS NULL"),
    (
        "q range where",
        "kind = \"range\"\ncolumn = \"q\"\nmin = 0\nmax = 100\nwhere = \"s = 'placed'\"",
        "s = 'placed' AND (q < 0 OR q > 100)",
    ),
];

fn expected(p: &Project) -> Vec<u64> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ctx = SessionContext::new();
        let dir = p.path().join("lake/raw/t");
        ctx.register_parquet("t", dir.to_str().unwrap(), ParquetReadOptions::default())
            .await
            .unwrap();
        let list: Vec<String> = CHECKS
            .iter()
            .map(|(_, _, pred)| format!("count(*) FILTER (WHERE {pred})"))
            .collect();
        let batches = ctx
            .sql(&format!("SELECT {} FROM t", list.join(", ")))
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        (0..CHECKS.len())
            .map(|i| {
                let a = batches[0].column(i).as_any().downcast_ref::<Int64Array>().unwrap();
                u64::try_from(a.value(0)).unwrap()
            })
            .collect()
    })
}

#[test]
fn fast_paths_count_what_datafusion_counts() {
    let p = Project::new();
    for (i, seed) in [11u64, 12, 13].iter().enumerate() {
        p.parquet(&format!("lake/raw/t/part-{i}.parquet"), &batch(*seed, 2500));
    }
    let suite: String = CHECKS
        .iter()
        .map(|(name, body, _)| format!("[[check]]\nname = \"{name}\"\n{body}\n\n"))
        .collect();
    p.suite("t", "", &suite);
    let want = expected(&p);
    for statistics in [true, false] {
        p.file(
            "lakegate.toml",
            &format!("{DEFAULT_CONFIG}\n[engine]\nstatistics = {statistics}\n"),
        );
        let (_, result) = p.check_json(&[]);
        for ((name, _, pred), n) in CHECKS.iter().zip(&want) {
            let c = check(&result, &format!("t.{name}"));
            assert_eq!(
                c["failing_rows"],
                Value::from(*n),
                "{name} (`{pred}`, statistics {statistics}): {c:#}"
            );
        }
    }
    // The data exercises every check: some rows fail, some pass.
    for ((name, _, _), n) in CHECKS.iter().zip(&want) {
        assert!(*n > 0 && *n < 7500, "{name}: {n} failing rows of 7500");
    }
}
