//! `lakegate suggest` against the real binary and real files: the suggested suites validate and pass
//! on the data they came from, fail on injected defects (each caught by the check meant for it),
//! pass on a later slice of the same distribution, and `--write` never overwrites.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use serde_json::Value;

use crate::support::{Project, check};

/// Microseconds of the fixed clock (`support::NOW`, 2026-01-15T12:00:00Z).
const NOW_US: i64 = 1_768_478_400_000_000;

/// A seeded generator (xorshift), so every run sees the same rows.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Orders drawn from one distribution: ids in sequence, one a minute ending an hour before now,
/// amounts uniform in [0.5, 500), four weighted statuses, eight countries, 5-digit zips, ~3% of
/// emails missing.
#[derive(Clone)]
struct Orders {
    order_id: Vec<Option<i64>>,
    customer_id: Vec<i64>,
    amount: Vec<f64>,
    status: Vec<String>,
    country: Vec<String>,
    zip: Vec<String>,
    email: Vec<Option<String>>,
    created_at: Vec<i64>,
}

impl Orders {
    fn generate(n: usize, seed: u64) -> Self {
        let mut r = Rng(seed);
        let statuses = [
            "placed",
            "placed",
            "shipped",
            "shipped",
            "shipped",
            "delivered",
            "delivered",
            "cancelled",
        ];
        let countries = ["US", "DE", "FR", "GB", "NL", "IT", "ES", "PL"];
        let mut o = Orders {
            order_id: Vec::new(),
            customer_id: Vec::new(),
            amount: Vec::new(),
            status: Vec::new(),
            country: Vec::new(),
            zip: Vec::new(),
            email: Vec::new(),
            created_at: Vec::new(),
        };
        for i in 0..n {
            let customer = 1 + r.below(500);
            o.order_id.push(Some(i as i64 + 1));
            o.customer_id.push(customer as i64);
            o.amount.push(0.5 + r.unit() * 499.5);
            o.status.push(statuses[r.below(8) as usize].to_string());
            o.country.push(countries[r.below(8) as usize].to_string());
            o.zip.push(format!("{:05}", r.below(100_000)));
            o.email
                .push((r.below(100) >= 3).then(|| format!("customer{customer}@example.com")));
            let minutes_before_end = (n - 1 - i) as i64;
            o.created_at
                .push(NOW_US - 3_600_000_000 - minutes_before_end * 60_000_000);
        }
        o
    }

    fn slice(&self, from: usize, to: usize) -> Self {
        Orders {
            order_id: self.order_id[from..to].to_vec(),
            customer_id: self.customer_id[from..to].to_vec(),
            amount: self.amount[from..to].to_vec(),
            status: self.status[from..to].to_vec(),
            country: self.country[from..to].to_vec(),
            zip: self.zip[from..to].to_vec(),
            email: self.email[from..to].to_vec(),
            created_at: self.created_at[from..to].to_vec(),
        }
    }

    fn batch(&self) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("order_id", DataType::Int64, true),
            Field::new("customer_id", DataType::Int64, false),
            Field::new("amount", DataType::Float64, false),
            Field::new("status", DataType::Utf8, false),
            Field::new("country", DataType::Utf8, false),
            Field::new("zip", DataType::Utf8, false),
            Field::new("email", DataType::Utf8, true),
            Field::new(
                "created_at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                false,
            ),
        ]));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(self.order_id.clone())),
            Arc::new(Int64Array::from(self.customer_id.clone())),
            Arc::new(Float64Array::from(self.amount.clone())),
            Arc::new(StringArray::from(self.status.clone())),
            Arc::new(StringArray::from(self.country.clone())),
            Arc::new(StringArray::from(self.zip.clone())),
            Arc::new(StringArray::from(self.email.clone())),
            Arc::new(TimestampMicrosecondArray::from(self.created_at.clone()).with_timezone("UTC")),
        ];
        RecordBatch::try_new(schema, columns).unwrap()
    }
}

/// `lakegate suggest ARGS`, which must succeed; its stdout.
fn suggest(p: &Project, args: &[&str]) -> String {
    let mut all = vec!["suggest"];
    all.extend_from_slice(args);
    let r = p.run(&all);
    assert_eq!(r.code, 0, "suggest {args:?} failed:\n{}\n{}", r.stdout, r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    r.stdout
}

/// The ids of the checks of a result that did not pass.
fn not_passing(result: &Value) -> Vec<String> {
    result["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["checks"].as_array().unwrap())
        .filter(|c| c["status"] != "pass")
        .map(|c| format!("{} ({}): {}", c["id"], c["status"], c["message"]))
        .collect()
}

/// Checks the project's suites and asserts every check passes.
fn assert_all_pass(p: &Project, what: &str) {
    let v = p.run(&["validate"]);
    assert_eq!(v.code, 0, "{what}: validate failed:\n{}\n{}", v.stdout, v.stderr);
    let (code, result) = p.check_json(&["--no-history"]);
    assert_eq!(code, 0, "{what}: {:#?}", not_passing(&result));
    assert!(not_passing(&result).is_empty(), "{what}: {:#?}", not_passing(&result));
}

#[test]
fn suggested_suites_validate_and_pass_on_each_demo_dataset() {
    let p = Project::demo();
    let names = ["orders", "customers", "events"];
    let suites: Vec<String> = names.iter().map(|n| suggest(&p, &[n])).collect();
    for (n, s) in names.iter().zip(&suites) {
        assert!(s.contains("[[check]]") && s.contains(&format!("name = \"{n}\"")), "{s}");
        // Every check carries its evidence.
        for block in s.split("\n[[check]]").skip(1) {
            let before = s[..s.find(block).unwrap()].trim_end_matches("\n[[check]]");
            assert!(
                before.lines().last().unwrap().starts_with('#'),
                "a check without a comment in:\n{s}"
            );
        }
        p.file(&format!("checks/{n}.toml"), s);
    }
    assert_all_pass(&p, "the demo lake");
    // What the demo's deliberate defects teach it: no `unique` on keys that repeat.
    assert!(!suites[0].contains("kind = \"unique\""), "{}", suites[0]);
    assert!(
        suites[0].contains("looks like the key but holds 197 distinct values"),
        "{}",
        suites[0]
    );
    assert!(suites[0].contains("max_age = \"3h\""), "{}", suites[0]);
    assert!(
        suites[2].contains("kind = \"unique\"\ncolumn = \"event_id\""),
        "{}",
        suites[2]
    );
    // JSON: the profile and the checks with their evidence.
    let r = p.run(&["suggest", "orders", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    assert_eq!(j["profile"]["rows"], 200);
    let status = j["profile"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "status")
        .unwrap();
    assert_eq!(status["nulls"], 0);
    assert!(status["values"][0]["count"].as_u64().unwrap() >= 49, "{status}");
    assert!(
        j["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["evidence"].as_str().is_some_and(|e| !e.is_empty()))
    );
    assert!(j["suite"].as_str().unwrap().contains("[dataset]"));
}

/// A project with `lake/raw/orders/part.parquet` holding `orders`.
fn orders_project(orders: &Orders) -> Project {
    let p = Project::new();
    p.parquet("lake/raw/orders/part.parquet", &orders.batch());
    p
}

#[test]
fn the_suggested_suite_catches_each_injected_defect() {
    let clean = Orders::generate(5_000, 7);
    let p = orders_project(&clean);
    let suite = suggest(&p, &["lake/raw/orders"]);
    p.file("checks/orders.toml", &suite);
    assert_all_pass(&p, "the clean orders");
    for kind in ["unique", "accepted_values", "pattern", "freshness", "range"] {
        assert!(suite.contains(&format!("kind = \"{kind}\"")), "no {kind} in:\n{suite}");
    }

    let defect = |name: &str, broken: Orders, caught_by: &str| {
        p.parquet("lake/raw/orders/part.parquet", &broken.batch());
        let (code, result) = p.check_json(&["--no-history"]);
        assert_eq!(code, 1, "{name}: the suite passed on the broken copy");
        assert_eq!(
            check(&result, caught_by)["status"],
            "fail",
            "{name} was not caught by {caught_by}: {:#?}",
            not_passing(&result)
        );
    };
    let mut b = clean.clone();
    for i in (0..b.order_id.len()).step_by(20) {
        b.order_id[i] = None;
    }
    defect("nulls in the key column", b, "orders.order_id.not_null");
    let mut b = clean.clone();
    b.amount[123] = -12.5;
    defect("a negative amount", b, "orders.amount.range");
    let mut b = clean.clone();
    b.status[4_000] = "refunded".into();
    defect("an unknown status", b, "orders.status.accepted_values");
    let mut b = clean.clone();
    b.order_id[2_500] = b.order_id[2_499];
    defect("a duplicated id", b, "orders.order_id.unique");
    let mut b = clean.clone();
    b.zip[17] = "1234".into();
    defect("a malformed zip", b, "orders.zip.pattern");
    let mut b = clean.clone();
    for t in &mut b.created_at {
        *t -= 30 * 86_400 * 1_000_000;
    }
    defect("stale timestamps", b, "orders.created_at.freshness");
}

#[test]
fn a_suite_suggested_on_the_first_half_passes_on_the_second() {
    let all = Orders::generate(20_000, 2026);
    let p = orders_project(&all.slice(0, 10_000));
    let suite = suggest(&p, &["lake/raw/orders"]);
    p.file("checks/orders.toml", &suite);
    assert_all_pass(&p, "the first half");
    p.parquet("lake/raw/orders/part.parquet", &all.slice(10_000, 20_000).batch());
    assert_all_pass(
        &p,
        &format!("the second half, with the suite suggested on the first:\n{suite}"),
    );
}

#[test]
fn write_publishes_the_suite_once_and_refuses_to_overwrite() {
    let p = orders_project(&Orders::generate(300, 1));
    let r = p.run(&["suggest", "lake/raw/orders", "--write"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("wrote checks/orders.toml"), "{}", r.stdout);
    let written = std::fs::read_to_string(p.path().join("checks/orders.toml")).unwrap();
    assert!(written.contains("name = \"orders\""));
    assert_all_pass(&p, "the written suite");
    let again = p.run(&["suggest", "lake/raw/orders", "--write"]);
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    assert_eq!(
        std::fs::read_to_string(p.path().join("checks/orders.toml")).unwrap(),
        written
    );
    // Another file name, but the dataset name is taken: refused too.
    let taken = p.run(&["suggest", "orders", "--write"]);
    assert_eq!(taken.code, 2, "{}", taken.stderr);
    // Under a new name it is written, and the project stays valid.
    let other = p.run(&["suggest", "orders", "--write", "--name", "orders_copy"]);
    assert_eq!(other.code, 0, "{}", other.stderr);
    assert!(p.path().join("checks/orders_copy.toml").exists());
    assert_all_pass(&p, "two suites over one dataset");
}

#[test]
fn odd_inputs_give_a_suite_or_a_clear_error_never_a_panic() {
    let p = Project::new();
    p.file("lake/raw/empty/a.csv", "id,name\n");
    p.file(
        "lake/raw/nulls/a.csv",
        &format!("id,note\n{}", (1..=30).map(|i| format!("{i},\n")).collect::<String>()),
    );
    let nan_batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("x", DataType::Float64, true),
            Field::new("all_nan", DataType::Float64, true),
        ])),
        vec![
            Arc::new(Int64Array::from((1..=30).collect::<Vec<i64>>())) as ArrayRef,
            Arc::new(Float64Array::from(
                (1..=30)
                    .map(|i| if i % 10 == 0 { f64::NAN } else { f64::from(i) + 0.5 })
                    .collect::<Vec<_>>(),
            )),
            Arc::new(Float64Array::from(vec![f64::NAN; 30])),
        ],
    )
    .unwrap();
    p.parquet("lake/raw/nan/a.parquet", &nan_batch);
    let huge = "y".repeat(100_000);
    p.file(
        "lake/raw/huge/a.csv",
        &format!("id,blob\n1,{huge}\n2,{huge}x\n3,short\n"),
    );
    p.bytes("lake/raw/latin1/a.csv", b"id,name\n1,caf\xe9\n2,ok\n");
    p.file("outside/data.csv", "code,n\nAB,1\nCD,2\n");
    for (name, path) in [
        ("empty", "lake/raw/empty"),
        ("nulls", "lake/raw/nulls"),
        ("nan", "lake/raw/nan"),
        ("huge", "lake/raw/huge"),
    ] {
        let out = suggest(&p, &[path]);
        p.file(&format!("checks/{name}.toml"), &out);
    }
    let empty = std::fs::read_to_string(p.path().join("checks/empty.toml")).unwrap();
    assert!(empty.contains("no rows"), "{empty}");
    let nulls = std::fs::read_to_string(p.path().join("checks/nulls.toml")).unwrap();
    assert!(nulls.contains("every value is null"), "{nulls}");
    assert_all_pass(&p, "odd inputs");
    let bad = p.run(&["suggest", "lake/raw/latin1"]);
    assert_eq!(bad.code, 3, "{}\n{}", bad.stdout, bad.stderr);
    assert!(bad.stderr.contains("latin1"), "{}", bad.stderr);
    assert!(!bad.stderr.contains("panicked"), "{}", bad.stderr);
    let outside = suggest(&p, &["outside/data.csv"]);
    assert!(outside.contains("lies outside the lake's zones"), "{outside}");
    let unknown = p.run(&["suggest", "nosuch"]);
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains("no suite declares a dataset named `nosuch`"),
        "{}",
        unknown.stderr
    );
}
