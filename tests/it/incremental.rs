//! Incremental audits (issue #17) must give exactly the answers of a full scan, at a cost that
//! follows the change.
//!
//! Two copies of one project are fed the same ten steps of a growing lake — files appended, one
//! rewritten, one deleted, one replaced with the same size and modification time but other bytes,
//! failing rows appearing and disappearing, a duplicate key arriving in a new file that collides
//! with an old file's key. After each step one copy runs `check --incremental` and the other
//! `check --full`, each with its own history store (so `anomaly` sees each mode's own runs) and the
//! same `--now`. Every answer must be equal (floats within a relative 1e-9: summation order may
//! differ, as between two full scans with different partitioning), and the incremental run must
//! have read exactly the files that are new or changed in that step.
//!
//! The same suite runs over Parquet, CSV and NDJSON copies of the data. Each copy is checked by two
//! datasets over the same files: one whose checks can all be merged from per-file states (so the
//! file counts prove the cost), and one with the checks that must be measured by a scan
//! (`count(DISTINCT …)`, `unique` over a string or several columns, `reference`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::file::metadata::KeyValue;
use datafusion::parquet::file::properties::WriterProperties;
use serde_json::Value;

use crate::support::{DEFAULT_CONFIG, Project};

/// 2026-01-15T00:00:00Z: the data's timestamps and the runs' clocks are hours after it.
const BASE: i64 = 1_768_435_200;

// ---------------------------------------------------------------------------------------------
// The data: parts of a dataset, written as Parquet, CSV and NDJSON with the same rows.

/// One file's rows.
#[derive(Clone, Copy, Debug)]
struct Part {
    /// The first id; the part holds ids `first..first + n`.
    first: i64,
    n: i64,
    /// Rows whose id picks a defect (by `id % 11`) break one check each.
    bad: bool,
    /// The hour after `BASE` of the part's newest timestamp (one row a minute before it).
    hour: i64,
    /// The first row repeats this id (and its code, region and seq): a key of an older part.
    dup: Option<i64>,
    /// Every fifth row gets `qty` 0 and a lowercase country: a change that keeps the CSV and
    /// NDJSON bytes the same length (and the Parquet file's size, padded, see `parquet_sized`).
    tweak: bool,
    /// A `note` column the suite does not declare.
    extra: bool,
}

const fn part(first: i64, n: i64, bad: bool, hour: i64) -> Part {
    Part {
        first,
        n,
        bad,
        hour,
        dup: None,
        tweak: false,
        extra: false,
    }
}

struct Row {
    id: i64,
    code: String,
    region: &'static str,
    seq: i64,
    status: &'static str,
    email: Option<String>,
    amount: Option<f64>,
    qty: i64,
    country: String,
    customer_id: i64,
    /// Seconds since the epoch.
    ts: i64,
    note: Option<String>,
}

#[allow(
    clippy::cast_precision_loss,
    clippy::cast_sign_loss,
    clippy::cast_possible_truncation
)]
fn rows(p: &Part) -> Vec<Row> {
    const STATUSES: [&str; 4] = ["placed", "shipped", "delivered", "cancelled"];
    const COUNTRIES: [&str; 4] = ["US", "DE", "FR", "GB"];
    (0..p.n)
        .map(|i| {
            let id = match (i, p.dup) {
                (0, Some(d)) => d,
                _ => p.first + i,
            };
            let defect = if p.bad { id % 11 } else { 0 };
            let tweaked = p.tweak && id % 5 == 0;
            Row {
                id,
                code: format!("C{id:06}"),
                region: ["north", "south", "east"][(id % 3) as usize],
                seq: id / 3,
                status: if defect == 1 {
                    "unknown"
                } else {
                    STATUSES[(id % 4) as usize]
                },
                email: match defect {
                    2 => None,
                    3 => Some(format!("user{id}.example.com")),
                    _ => Some(format!("user{id}@example.com")),
                },
                amount: match defect {
                    4 => Some(-2.5),
                    8 => None,
                    _ => Some((id * 37 % 1000) as f64 / 8.0 + 0.1),
                },
                qty: if defect == 5 || tweaked { 0 } else { 1 + id % 9 },
                country: match defect {
                    6 => "USA".to_string(),
                    _ if tweaked => COUNTRIES[(id % 4) as usize].to_lowercase(),
                    _ => COUNTRIES[(id % 4) as usize].to_string(),
                },
                customer_id: if defect == 7 { 99 } else { 1 + id % 20 },
                ts: BASE + p.hour * 3600 - (p.n - 1 - i) * 60,
                note: p.extra.then(|| format!("note {id}")),
            }
        })
        .collect()
}

fn rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn batch(p: &Part) -> RecordBatch {
    let rows = rows(p);
    let mut fields = vec![
        Field::new("id", DataType::Int64, false),
        Field::new("code", DataType::Utf8, false),
        Field::new("region", DataType::Utf8, false),
        Field::new("seq", DataType::Int64, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("email", DataType::Utf8, true),
        Field::new("amount", DataType::Float64, true),
        Field::new("qty", DataType::Int64, false),
        Field::new("country", DataType::Utf8, false),
        Field::new("customer_id", DataType::Int64, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.id))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.code.as_str()))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.region))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.seq))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.status))),
        Arc::new(StringArray::from_iter(rows.iter().map(|r| r.email.as_deref()))),
        Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.amount))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.qty))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.country.as_str()))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.customer_id))),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(rows.iter().map(|r| r.ts * 1_000_000)).with_timezone("UTC"),
        ),
    ];
    if p.extra {
        fields.push(Field::new("note", DataType::Utf8, true));
        columns.push(Arc::new(StringArray::from_iter(rows.iter().map(|r| r.note.as_deref()))));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}

/// A Parquet file whose footer carries `pad` bytes of key-value metadata (room to make another
/// content exactly as long).
fn parquet_padded(batch: &RecordBatch, pad: usize) -> Vec<u8> {
    let props = WriterProperties::builder()
        .set_created_by("lakegate tests".into())
        .set_key_value_metadata(Some(vec![KeyValue::new("pad".to_string(), "x".repeat(pad))]))
        .build();
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, batch.schema(), Some(props)).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
    buf
}

/// A Parquet file of exactly `len` bytes: the padding takes up the difference. (Both paddings
/// stay within 128..16384 bytes, so the length's varint in the footer keeps its size.)
fn parquet_sized(batch: &RecordBatch, len: usize) -> Vec<u8> {
    let mut pad = 256;
    for _ in 0..5 {
        let bytes = parquet_padded(batch, pad);
        if bytes.len() == len {
            return bytes;
        }
        pad = (pad + len)
            .checked_sub(bytes.len())
            .expect("the new content fits the old size");
    }
    panic!("could not write a Parquet file of {len} bytes");
}

const CSV_HEADER: &str = "id,code,region,seq,status,email,amount,qty,country,customer_id,ts";

fn csv(p: &Part) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push_str(if p.extra { ",note\n" } else { "\n" });
    for r in rows(p) {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{}",
            r.id,
            r.code,
            r.region,
            r.seq,
            r.status,
            r.email.unwrap_or_default(),
            r.amount.map(|a| format!("{a:.3}")).unwrap_or_default(),
            r.qty,
            r.country,
            r.customer_id,
            rfc3339(r.ts)
        ));
        if let Some(note) = r.note {
            out.push_str(&format!(",{note}"));
        }
        out.push('\n');
    }
    out
}

fn ndjson(p: &Part) -> String {
    let mut out = String::new();
    for r in rows(p) {
        let text = |v: Option<String>| v.map_or_else(|| "null".to_string(), |s| format!("\"{s}\""));
        out.push_str(&format!(
            "{{\"id\": {}, \"code\": \"{}\", \"region\": \"{}\", \"seq\": {}, \"status\": \"{}\", \"email\": {}, \
             \"amount\": {}, \"qty\": {}, \"country\": \"{}\", \"customer_id\": {}, \"ts\": \"{}\"",
            r.id,
            r.code,
            r.region,
            r.seq,
            r.status,
            text(r.email),
            r.amount.map_or_else(|| "null".to_string(), |a| format!("{a:.3}")),
            r.qty,
            r.country,
            r.customer_id,
            rfc3339(r.ts)
        ));
        if let Some(note) = r.note {
            out.push_str(&format!(", \"note\": \"{note}\""));
        }
        out.push_str("}\n");
    }
    out
}

/// The three copies of the growing dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Parquet,
    Csv,
    Json,
}

const FORMATS: [Format; 3] = [Format::Parquet, Format::Csv, Format::Json];

impl Format {
    /// The mergeable dataset's name and its directory under `lake/raw/`.
    fn name(self) -> &'static str {
        match self {
            Format::Parquet => "pq",
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }

    fn file(self, part: &str) -> String {
        let ext = match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
            Format::Json => "json",
        };
        format!("lake/raw/{}/{part}.{ext}", self.name())
    }

    fn bytes(self, p: &Part) -> Vec<u8> {
        match self {
            Format::Parquet => parquet_padded(&batch(p), 256),
            Format::Csv => csv(p).into_bytes(),
            Format::Json => ndjson(p).into_bytes(),
        }
    }

    /// `[dataset]` keys beyond name, zone and path.
    fn dataset_keys(self) -> &'static str {
        match self {
            Format::Parquet => "",
            Format::Csv => "format = \"csv\"\n",
            Format::Json => "format = \"json\"\ntypes = { ts = \"timestamp\" }\n",
        }
    }
}

fn customers_csv(ids: &[i64]) -> Vec<u8> {
    let mut out = String::from("customer_id,name\n");
    for id in ids {
        out.push_str(&format!("{id},Customer {id}\n"));
    }
    out.into_bytes()
}

// ---------------------------------------------------------------------------------------------
// The suites.

/// Every check kind in a form that can be merged from per-file states, with and without `where`.
const MERGEABLE: &str = r#"
[[check]]
kind = "row_count"
min = 1
max = 400

[[check]]
kind = "row_count"
name = "placed rows"
min = 70
where = "status = 'placed'"

[[check]]
kind = "accepted_values"
column = "status"
values = ["placed", "shipped", "delivered", "cancelled"]

[[check]]
kind = "accepted_values"
name = "status of large orders"
column = "status"
values = ["placed", "shipped", "delivered", "cancelled"]
where = "qty > 4"

[[check]]
kind = "expression"
name = "amount not negative"
sql = "amount >= 0 OR amount IS NULL"

[[check]]
kind = "expression"
name = "quantity for placed"
sql = "qty > 0"
where = "status = 'placed'"

[[check]]
kind = "length"
column = "country"
min = 2
max = 2

[[check]]
kind = "length"
name = "country length in the north"
column = "country"
max = 2
where = "region = 'north'"

[[check]]
kind = "not_null"
columns = ["email", "amount"]

[[check]]
kind = "not_null"
name = "email when shipped"
column = "email"
where = "status = 'shipped'"

[[check]]
kind = "pattern"
column = "email"
regex = '^user[0-9]+@example\.com$'

[[check]]
kind = "pattern"
name = "country code"
column = "country"
regex = '^[A-Z]{2}$'
where = "id % 2 = 0"

[[check]]
kind = "range"
column = "qty"
min = 1
max = 9

[[check]]
kind = "range"
name = "amount range"
column = "amount"
min = 0
max = 120

[[check]]
kind = "range"
name = "ts range"
column = "ts"
min = "2026-01-15T00:30:00Z"

[[check]]
kind = "range"
name = "qty of cancelled"
column = "qty"
min = 2
where = "status = 'cancelled'"

[[check]]
kind = "freshness"
column = "ts"
max_age = "6h"

[[check]]
kind = "freshness"
name = "fresh deliveries"
column = "ts"
max_age = "5h"
where = "status = 'delivered'"

[[check]]
kind = "metric"
name = "average amount"
sql = "avg(amount)"
min = 60
max = 64

[[check]]
kind = "metric"
name = "total amount"
sql = "sum(amount)"
max = 20000

[[check]]
kind = "metric"
name = "smallest qty"
sql = "min(qty)"
min = 1

[[check]]
kind = "metric"
name = "largest amount"
sql = "max(amount)"
max = 124.5

[[check]]
kind = "metric"
name = "emails counted"
sql = "count(email)"
min = 100

[[check]]
kind = "metric"
name = "total qty"
sql = "sum(qty)"
max = 1500

[[check]]
kind = "metric"
name = "average amount shipped"
sql = "avg(amount)"
min = 55
max = 70
where = "status = 'shipped'"

[[check]]
kind = "metric"
name = "largest qty in the south"
sql = "max(qty)"
max = 8
where = "region = 'south'"

[[check]]
kind = "schema"
mode = "exact"
columns = { id = "int", code = "string", region = "string", seq = "int", status = "string", email = "string", amount = "float", qty = "int", country = "string", customer_id = "int", ts = "timestamp" }

[[check]]
kind = "anomaly"
name = "rows anomaly"
metric = "row_count"
window = 3
min_history = 2
max_deviation = "20%"

[[check]]
kind = "anomaly"
name = "mean amount anomaly"
metric = "mean(amount)"
window = 3
min_history = 2
max_deviation = "2%"

[[check]]
kind = "anomaly"
name = "total qty anomaly"
metric = "sum(qty)"
window = 3
min_history = 2
max_deviation = "3 sigma"

[[check]]
kind = "anomaly"
name = "largest amount anomaly"
metric = "max(amount)"
window = 3
min_history = 2
max_deviation = "1%"

[[check]]
kind = "anomaly"
name = "placed rows anomaly"
metric = "row_count"
window = 3
min_history = 2
max_deviation = "20%"
where = "status = 'placed'"
"#;

/// `unique` over one integer key: merged through a persisted key set, which is rebuilt from every
/// file when a file whose keys it holds changes or goes (docs/incremental.md).
const KEYS: &str = r#"
[[check]]
kind = "unique"
column = "id"

[[check]]
kind = "unique"
name = "id of large orders"
column = "id"
where = "qty > 4"
"#;

/// The checks a full scan must measure (`merged = false`), over the same files.
const SCANNED: &str = r#"
[[check]]
kind = "metric"
name = "distinct customers"
sql = "count(DISTINCT customer_id)"
max = 20

[[check]]
kind = "metric"
name = "distinct customers shipped"
sql = "count(DISTINCT customer_id)"
min = 21
where = "status = 'shipped'"

[[check]]
kind = "unique"
column = "code"

[[check]]
kind = "unique"
name = "code of placed"
column = "code"
where = "status = 'placed'"

[[check]]
kind = "unique"
name = "region and seq"
columns = ["region", "seq"]

[[check]]
kind = "reference"
column = "customer_id"
dataset = "customers"

[[check]]
kind = "reference"
name = "customers of delivered"
column = "customer_id"
dataset = "customers"
where = "status = 'delivered'"

[[check]]
kind = "anomaly"
name = "distinct codes anomaly"
metric = "distinct_count(code)"
window = 3
min_history = 2
max_deviation = "10%"
"#;

/// Checks that read metadata only: they carry no `merged` (docs/incremental.md).
const METADATA_ONLY: &[&str] = &["schema"];

/// Checks of the scanned suite: measured over every file, unless nothing they read changed.
const NEVER_MERGED: &[&str] = &[
    "distinct customers",
    "distinct customers shipped",
    "code.unique",
    "code of placed",
    "region and seq",
    "customer_id.reference",
    "customers of delivered",
    "distinct codes anomaly",
];

const CUSTOMERS: &str = r#"
[[check]]
kind = "unique"
column = "customer_id"

[[check]]
kind = "not_null"
column = "name"
"#;

fn suite(name: &str, dir: &str, keys: &str, checks: &str) -> String {
    format!("[dataset]\nname = \"{name}\"\nzone = \"raw\"\npath = \"{dir}\"\n{keys}\n{checks}")
}

/// A project with three datasets over each of the three copies (`pq`, `pq_keys`, `pq_scan`, …),
/// and `customers`.
fn project() -> Project {
    let p = Project::new();
    for f in FORMATS {
        let name = f.name();
        p.file(
            &format!("checks/{name}.toml"),
            &suite(name, name, f.dataset_keys(), MERGEABLE),
        );
        p.file(
            &format!("checks/{name}_keys.toml"),
            &suite(&format!("{name}_keys"), name, f.dataset_keys(), KEYS),
        );
        p.file(
            &format!("checks/{name}_scan.toml"),
            &suite(&format!("{name}_scan"), name, f.dataset_keys(), SCANNED),
        );
    }
    p.file(
        "checks/customers.toml",
        &suite("customers", "customers", "format = \"csv\"\n", CUSTOMERS),
    );
    p
}

// ---------------------------------------------------------------------------------------------
// The steps.

enum Change {
    /// Write a part (new, or over an existing one) in all three copies.
    Write(&'static str, Part),
    /// Remove a part from all three copies.
    Remove(&'static str),
    /// Replace a part with other content of the same size and modification time.
    SameSize(&'static str, Part),
    /// Write a file of customers.
    Customers(&'static str, Vec<i64>),
}

struct Step {
    what: &'static str,
    /// The step adds or removes a column: the stored states are discarded once (docs/incremental.md).
    reshapes: bool,
    /// The hour after `BASE` of the runs' `--now`.
    now: i64,
    changes: Vec<Change>,
}

// Long because the ten steps read best as one script.
fn steps() -> Vec<Step> {
    use Change::{Customers, Remove, SameSize, Write};
    vec![
        Step {
            what: "three parts, one with failing rows",
            reshapes: false,
            now: 4,
            changes: vec![
                Write("p0", part(1, 40, false, 1)),
                Write("p1", part(101, 45, true, 2)),
                Write("p2", part(201, 50, false, 3)),
                Customers("c0", (1..=20).collect()),
            ],
        },
        Step {
            what: "p3 appended: failing rows and the newest timestamps",
            reshapes: false,
            now: 10,
            changes: vec![Write("p3", part(301, 55, true, 9))],
        },
        Step {
            what: "p4 and p5 appended",
            reshapes: false,
            now: 12,
            changes: vec![
                Write("p4", part(401, 60, false, 8)),
                Write("p5", part(501, 65, true, 7)),
            ],
        },
        Step {
            what: "p1 rewritten without its failing rows",
            reshapes: false,
            now: 13,
            changes: vec![Write("p1", part(101, 48, false, 2))],
        },
        Step {
            what: "p6 appended with a key of p0 (id 8)",
            reshapes: false,
            now: 16,
            changes: vec![Write(
                "p6",
                Part {
                    dup: Some(8),
                    ..part(601, 70, false, 6)
                },
            )],
        },
        Step {
            what: "p3 removed: its failing rows and the newest timestamps go",
            reshapes: false,
            now: 17,
            changes: vec![Remove("p3")],
        },
        Step {
            what: "p4 replaced with the same size and modification time, failing rows in it",
            reshapes: false,
            now: 18,
            changes: vec![SameSize(
                "p4",
                Part {
                    tweak: true,
                    ..part(401, 60, false, 8)
                },
            )],
        },
        Step {
            what: "p7 appended with an undeclared column and failing rows; customers c1 appended",
            reshapes: true,
            now: 22,
            changes: vec![
                Write(
                    "p7",
                    Part {
                        extra: true,
                        ..part(701, 75, true, 21)
                    },
                ),
                Customers("c1", vec![21, 22, 99]),
            ],
        },
        Step {
            what: "p0 rewritten without id 8 (the duplicate goes); p7 rewritten without its extra column",
            reshapes: true,
            now: 23,
            changes: vec![Write("p0", part(9, 32, false, 1)), Write("p7", part(701, 75, true, 21))],
        },
        Step {
            what: "nothing changed",
            reshapes: false,
            now: 30,
            changes: vec![],
        },
    ]
}

/// What a step did to one dataset directory.
#[derive(Default)]
struct Touched {
    /// Files written (new, rewritten or replaced).
    written: BTreeSet<String>,
    /// A file that was there before the step was rewritten, replaced or removed.
    old_changed: bool,
}

/// The copies of the project the steps are applied to.
struct Twin {
    inc: Project,
    full: Project,
}

impl Twin {
    fn new() -> Self {
        Self {
            inc: project(),
            full: project(),
        }
    }

    /// Applies a step to both copies; returns, per dataset directory, the files written in it.
    fn apply(&self, step: &Step) -> BTreeMap<&'static str, Touched> {
        let mut touched: BTreeMap<&'static str, Touched> = BTreeMap::new();
        for change in &step.changes {
            if let Change::Write(name, _) | Change::SameSize(name, _) | Change::Remove(name) = change {
                for f in FORMATS {
                    let t = touched.entry(f.name()).or_default();
                    t.old_changed |= self.inc.path().join(f.file(name)).exists();
                    if !matches!(change, Change::Remove(_)) {
                        t.written.insert(f.file(name));
                    }
                }
            }
            if let Change::Customers(name, _) = change {
                let t = touched.entry("customers").or_default();
                t.written.insert(format!("lake/raw/customers/{name}.csv"));
            }
            for p in [&self.inc, &self.full] {
                match change {
                    Change::Write(name, part) => {
                        for f in FORMATS {
                            p.bytes(&f.file(name), &f.bytes(part));
                        }
                    }
                    Change::Remove(name) => {
                        for f in FORMATS {
                            std::fs::remove_file(p.path().join(f.file(name))).unwrap();
                        }
                    }
                    Change::SameSize(name, part) => {
                        for f in FORMATS {
                            same_size(&p.path().join(f.file(name)), f, part);
                        }
                    }
                    Change::Customers(name, ids) => {
                        p.bytes(&format!("lake/raw/customers/{name}.csv"), &customers_csv(ids));
                    }
                }
            }
        }
        touched
    }
}

/// Overwrites `path` with `part`'s content in the same number of bytes, then puts its modification
/// time back: only the bytes tell the change.
fn same_size(path: &Path, format: Format, part: &Part) {
    let meta = std::fs::metadata(path).unwrap();
    let len = usize::try_from(meta.len()).unwrap();
    let mtime = meta.modified().unwrap();
    let old = std::fs::read(path).unwrap();
    let new = match format {
        Format::Parquet => parquet_sized(&batch(part), len),
        _ => format.bytes(part),
    };
    assert_eq!(new.len(), len, "{}: the replacement must keep the size", path.display());
    assert_ne!(new, old, "{}: the replacement must change the bytes", path.display());
    std::fs::write(path, &new).unwrap();
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert_eq!(std::fs::metadata(path).unwrap().modified().unwrap(), mtime);
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.filter(|e| e.as_ref().unwrap().path().is_file()).count())
}

/// `--now` of a step.
fn now(hour: i64) -> String {
    rfc3339(BASE + hour * 3600)
}

// ---------------------------------------------------------------------------------------------
// Comparing results.

/// Fields that say how a run went rather than what it found.
const VOLATILE: &[&str] = &[
    "run_id",
    "started_at",
    "finished_at",
    "duration_ms",
    "lakegate",
    "queries",
    "sample_queries",
    "scanned_columns",
    "from_statistics",
    "incremental",
    "merged",
];

/// A run's JSON result with the project's path replaced and the volatile fields removed.
fn answers(p: &Project, stdout: &str) -> Value {
    let text = stdout.replace(p.path().to_str().unwrap(), "$PROJECT");
    let mut v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"));
    strip(&mut v);
    v
}

fn strip(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for k in VOLATILE {
                m.remove(*k);
            }
            m.values_mut().for_each(strip);
        }
        Value::Array(a) => a.iter_mut().for_each(strip),
        _ => {}
    }
}

fn snippet(v: Option<&Value>) -> String {
    let s = v.map_or_else(|| "(absent)".to_string(), |v| serde_json::to_string(v).unwrap());
    if s.len() > 600 { format!("{}…", &s[..600]) } else { s }
}

/// Equal numbers: integers exactly, floats within a relative 1e-9.
fn same_number(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    if a.is_f64() || b.is_f64() {
        let (x, y) = (a.as_f64().unwrap(), b.as_f64().unwrap());
        x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs())
    } else {
        a == b
    }
}

/// Equal texts, but for the digits of floats in them: a message says `avg(amount) is 58.013000000000005`
/// where another summation order says `58.01299999999999`. Integers in a text must be equal.
fn same_text(a: &str, b: &str) -> bool {
    let number = regex::Regex::new(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?").unwrap();
    let (xs, ys): (Vec<_>, Vec<_>) = (number.find_iter(a).collect(), number.find_iter(b).collect());
    xs.len() == ys.len()
        && number.replace_all(a, "#") == number.replace_all(b, "#")
        && xs.iter().zip(&ys).all(|(x, y)| {
            let (x, y) = (x.as_str(), y.as_str());
            let float = |t: &str| t.contains(['.', 'e', 'E']);
            if float(x) || float(y) {
                let (p, q): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
                p == q || (p - q).abs() <= 1e-9 * p.abs().max(q.abs())
            } else {
                x == y
            }
        })
}

/// The key an array's element is matched by: checks by id, datasets by name, else the position.
fn element_key(v: &Value, i: usize) -> String {
    v.get("id")
        .or_else(|| v.get("name").filter(|_| v.get("checks").is_some()))
        .and_then(Value::as_str)
        .map_or_else(|| i.to_string(), str::to_string)
}

/// Every difference between the incremental (`a`) and the full (`b`) answers, one line each.
fn diff(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => diff(&format!("{path}.{k}"), p, q, out),
                    (p, q) => out.push(format!("{path}.{k}: incremental {} / full {}", snippet(p), snippet(q))),
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() || x.iter().any(|e| e.get("id").is_some()) => {
            let keyed = |v: &Vec<Value>| -> BTreeMap<String, Value> {
                v.iter()
                    .enumerate()
                    .map(|(i, e)| (element_key(e, i), e.clone()))
                    .collect()
            };
            let (kx, ky) = (keyed(x), keyed(y));
            let keys: BTreeSet<&String> = kx.keys().chain(ky.keys()).collect();
            for k in keys {
                match (kx.get(k), ky.get(k)) {
                    (Some(p), Some(q)) => diff(&format!("{path}[{k}]"), p, q, out),
                    (p, q) => out.push(format!("{path}[{k}]: incremental {} / full {}", snippet(p), snippet(q))),
                }
            }
        }
        (Value::Number(x), Value::Number(y)) if same_number(x, y) => {}
        (Value::String(x), Value::String(y)) if same_text(x, y) => {}
        _ if a == b => {}
        _ => out.push(format!(
            "{path}: incremental {} / full {}",
            snippet(Some(a)),
            snippet(Some(b))
        )),
    }
}

fn datasets(result: &Value) -> impl Iterator<Item = &Value> {
    result["datasets"].as_array().into_iter().flatten()
}

fn checks(ds: &Value) -> impl Iterator<Item = &Value> {
    ds["checks"].as_array().into_iter().flatten()
}

/// A check's name as the suite wrote it (or `COLUMN.KIND`): its id without the dataset.
fn short_id(ds: &Value, c: &Value) -> String {
    let id = c["id"].as_str().unwrap();
    id.strip_prefix(&format!("{}.", ds["name"].as_str().unwrap()))
        .unwrap_or(id)
        .to_string()
}

/// A `_scan` dataset's checks are measured over every file, unless none of the files they read (a
/// reference's other side included) changed: then their stored answers are reused.
fn scan_reused(step: &Step, dir: &str, touched: &BTreeMap<&'static str, Touched>) -> bool {
    !step.reshapes && !touched.contains_key(dir) && !touched.contains_key("customers")
}

/// The files an incremental run of dataset `name` must read in this step, of `total`, as
/// docs/incremental.md states the cost: the new and changed files; every file when a check is
/// measured over every file (`_scan`, unless nothing it reads changed), when a file whose keys a key set holds changed or went
/// (`_keys`: the set is rebuilt), and when the unified schema changed (the state is discarded).
fn expected_scans(step: &Step, name: &str, total: u64, all: &BTreeMap<&'static str, Touched>) -> u64 {
    let dir = name.trim_end_matches("_keys").trim_end_matches("_scan");
    let touched = all.get(dir);
    let changed = touched.map_or(0, |t| t.written.len() as u64);
    let old_changed = touched.is_some_and(|t| t.old_changed);
    if (name.ends_with("_scan") && !scan_reused(step, dir, all))
        || (name.ends_with("_keys") && old_changed)
        || (step.reshapes && name != "customers")
    {
        total
    } else {
        changed
    }
}

/// What the incremental run says about its own work, against what changed in the step: which
/// files each dataset read, what became of its state, and whether each check was merged.
fn cost_problems(
    i: usize,
    step: &Step,
    (inc, full): (&Value, &Value),
    root: &Path,
    touched: &BTreeMap<&'static str, Touched>,
) -> Vec<String> {
    let mut out = Vec::new();
    for ds in datasets(full) {
        if ds.get("incremental").is_some() || checks(ds).any(|c| c.get("merged").is_some()) {
            out.push(format!(
                "step {i}: the full run of `{}` says `incremental` or `merged`",
                ds["name"]
            ));
        }
    }
    for ds in datasets(inc) {
        let name = ds["name"].as_str().unwrap();
        let Some(incr) = ds.get("incremental") else {
            out.push(format!("step {i}: `{name}` has no `incremental` field"));
            continue;
        };
        let dir = name.trim_end_matches("_keys").trim_end_matches("_scan");
        let total = files_in(&root.join("lake/raw").join(dir)) as u64;
        let scans = expected_scans(step, name, total, touched);
        let state = incr["state"].as_str().unwrap_or_default();
        let state_ok = match (i, step.reshapes && name != "customers") {
            (1, _) => state == "new",
            (_, true) => state.starts_with("discarded"),
            _ => state == "reused",
        };
        if incr["files_scanned"].as_u64() != Some(scans)
            || incr["files_reused"].as_u64() != Some(total - scans)
            || !state_ok
        {
            out.push(format!(
                "step {i} ({}): `{name}` should have read {scans} of {total} files (state {}); the run says {}",
                step.what,
                if i == 1 {
                    "new"
                } else if step.reshapes {
                    "discarded"
                } else {
                    "reused"
                },
                snippet(Some(incr))
            ));
        }
        for c in checks(ds) {
            let id = short_id(ds, c);
            // Step 1 builds the states: whether its numbers count as merged is not pinned.
            let expected = if name.ends_with("_scan") {
                Some(!NEVER_MERGED.contains(&id.as_str()) || scan_reused(step, dir, touched))
            } else {
                (i > 1).then_some(true)
            };
            let merged = c.get("merged");
            let ok = if METADATA_ONLY.contains(&id.as_str()) {
                merged.is_none()
            } else {
                match expected {
                    Some(e) => merged.and_then(Value::as_bool) == Some(e),
                    None => merged.is_some_and(Value::is_boolean),
                }
            };
            if !ok {
                out.push(format!(
                    "step {i}: `{name}.{id}` merged = {}, expected {expected:?}",
                    snippet(merged)
                ));
            }
        }
    }
    out
}

/// The incremental and the full run.
const INC: &[&str] = &["check", "--incremental", "--format", "json", "--no-alerts"];
const FULL: &[&str] = &["check", "--full", "--format", "json", "--no-alerts"];

/// Runs one step in both copies and returns every problem found.
fn run_step(twin: &Twin, i: usize, step: &Step, touched: &BTreeMap<&'static str, Touched>) -> Vec<String> {
    let at = now(step.now);
    let inc = twin.inc.run_at(&at, INC, &[]);
    let full = twin.full.run_at(&at, FULL, &[]);
    let mut problems = Vec::new();
    for (what, r) in [("--incremental", &inc), ("--full", &full)] {
        if !matches!(r.code, 0 | 1) {
            problems.push(format!("step {i}: `check {what}` exited {}:\n{}", r.code, r.stderr));
        }
    }
    if !problems.is_empty() {
        return problems;
    }
    if inc.code != full.code {
        problems.push(format!(
            "step {i}: exit code {} incremental / {} full",
            inc.code, full.code
        ));
    }
    let (a, b) = (answers(&twin.inc, &inc.stdout), answers(&twin.full, &full.stdout));
    let mut diffs = Vec::new();
    diff("", &a, &b, &mut diffs);
    problems.extend(diffs.into_iter().map(|d| format!("step {i} ({}): {d}", step.what)));
    problems.extend(cost_problems(
        i,
        step,
        (&inc.json(), &full.json()),
        twin.inc.path(),
        touched,
    ));
    problems
}

#[test]
fn every_kind_answers_as_a_full_scan_while_a_lake_grows_in_ten_steps() {
    let twin = Twin::new();
    let mut problems = Vec::new();
    for (i, step) in steps().iter().enumerate() {
        let touched = twin.apply(step);
        problems.extend(run_step(&twin, i + 1, step, &touched));
    }
    assert!(
        problems.is_empty(),
        "{} differences between incremental and full runs:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Corrupted states.

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .collect()
}

#[derive(Clone, Copy, Debug)]
enum Damage {
    /// Cut to half its length, as a torn write would leave it.
    Truncated,
    /// Bytes that are no format at all.
    Garbage,
    /// Valid JSON of another shape.
    ForeignJson,
}

fn damage(path: &Path, how: Damage) {
    let bytes = std::fs::read(path).unwrap();
    let new = match how {
        Damage::Truncated => bytes[..bytes.len() / 2].to_vec(),
        Damage::Garbage => (0..=255u8)
            .cycle()
            .take(bytes.len().max(64))
            .map(|b| b.wrapping_mul(151))
            .collect(),
        Damage::ForeignJson => br#"{"version": 999, "files": [1, 2, 3], "states": "not a map"}"#.to_vec(),
    };
    std::fs::write(path, new).unwrap();
}

/// Builds the states, damages every state file, appends a part: the incremental run reads every
/// file, says its state was discarded, and answers as the full run; the next run reuses again.
fn a_damaged_state_is_discarded(how: Damage) {
    let twin = Twin::new();
    let all = steps();
    let written = twin.apply(&all[0]);
    let first = run_step(&twin, 1, &all[0], &written);
    assert!(first.is_empty(), "{}", first.join("\n"));

    let states = twin.inc.path().join(".lakegate/history/incremental");
    let damaged = files_under(&states);
    assert!(!damaged.is_empty(), "no state files under {}", states.display());
    for f in &damaged {
        damage(f, how);
    }

    twin.apply(&all[1]);
    let at = now(all[1].now);
    let inc = twin.inc.run_at(&at, INC, &[]);
    let full = twin.full.run_at(&at, FULL, &[]);
    assert!(matches!(inc.code, 0 | 1), "{how:?}: exit {}:\n{}", inc.code, inc.stderr);
    let mut diffs = Vec::new();
    diff(
        "",
        &answers(&twin.inc, &inc.stdout),
        &answers(&twin.full, &full.stdout),
        &mut diffs,
    );
    assert!(diffs.is_empty(), "{how:?}: answers differ:\n{}", diffs.join("\n"));
    for ds in datasets(&inc.json()) {
        let incr = &ds["incremental"];
        let total = ds["files"].as_u64().unwrap();
        assert_eq!(
            incr["files_scanned"].as_u64(),
            Some(total),
            "{how:?}: {}: {incr}",
            ds["name"]
        );
        assert_eq!(
            incr["files_reused"].as_u64(),
            Some(0),
            "{how:?}: {}: {incr}",
            ds["name"]
        );
        let state = incr["state"].as_str().unwrap_or_default().to_lowercase();
        assert!(
            state.contains("discard"),
            "{how:?}: {}: the state should say it was discarded: {incr}",
            ds["name"]
        );
    }

    // The discarded states were replaced, key sets included: nothing changed, nothing is read.
    let again = twin.inc.run_at(&at, INC, &[]);
    let rereads: Vec<String> = datasets(&again.json())
        .filter(|ds| !ds["name"].as_str().unwrap().ends_with("_scan"))
        .filter(|ds| ds["incremental"]["files_scanned"] != 0)
        .map(|ds| format!("{}: {}", ds["name"], ds["incremental"]))
        .collect();
    assert!(
        rereads.is_empty(),
        "{how:?}: the run after the discarded one read files again, though nothing changed:\n{}\n{}",
        rereads.join("\n"),
        again.stderr
    );
}

#[test]
fn a_truncated_state_file_means_a_full_scan_with_the_same_answers() {
    a_damaged_state_is_discarded(Damage::Truncated);
}

#[test]
fn a_garbage_state_file_means_a_full_scan_with_the_same_answers() {
    a_damaged_state_is_discarded(Damage::Garbage);
}

#[test]
fn a_state_file_of_another_shape_means_a_full_scan_with_the_same_answers() {
    a_damaged_state_is_discarded(Damage::ForeignJson);
}

/// A key set whose bytes were altered (the state itself intact) is rebuilt from every file, with
/// the answers of a full scan, and written again: the run after it reads nothing.
#[test]
fn a_damaged_key_set_is_rebuilt_once() {
    let p = small_project("");
    assert_eq!(counts(&p.run(INC).stdout), Some((2, 0)));
    let keys: Vec<PathBuf> = files_under(&p.path().join(".lakegate/history/incremental"))
        .into_iter()
        .filter(|f| f.file_name().unwrap().to_string_lossy().starts_with("keys-"))
        .collect();
    assert!(!keys.is_empty(), "no key set stored");
    for f in &keys {
        damage(f, Damage::Garbage);
    }
    let rebuilt = p.run(INC);
    assert_eq!(
        counts(&rebuilt.stdout),
        Some((2, 0)),
        "the key set is rebuilt from every file"
    );
    let full = p.run(FULL);
    let mut diffs = Vec::new();
    diff(
        "",
        &answers(&p, &rebuilt.stdout),
        &answers(&p, &full.stdout),
        &mut diffs,
    );
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    let again = p.run(INC);
    assert_eq!(
        counts(&again.stdout),
        Some((0, 2)),
        "the rebuilt key set was not written back:\n{}",
        again.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// Switches: `audit` is incremental by default, `check` when asked, neither without history.

const SMALL_SUITE: &str = r#"
[[check]]
kind = "row_count"
min = 1

[[check]]
kind = "unique"
column = "id"

[[check]]
kind = "range"
column = "qty"
min = 1
max = 9
"#;

/// A project with one Parquet dataset `t` of two parts.
fn small_project(config_extra: &str) -> Project {
    let p = Project::new();
    p.file("lakegate.toml", &format!("{DEFAULT_CONFIG}{config_extra}"));
    p.suite("t", "", SMALL_SUITE);
    for (i, first) in [1, 101].into_iter().enumerate() {
        p.bytes(
            &format!("lake/raw/t/p{i}.parquet"),
            &Format::Parquet.bytes(&part(first, 50, true, 1)),
        );
    }
    p
}

/// `(files_scanned, files_reused)` of dataset `t`, or `None` when the run was not incremental.
fn counts(stdout: &str) -> Option<(u64, u64)> {
    let v: Value = serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"));
    let ds = datasets(&v).find(|d| d["name"] == "t").unwrap();
    let incr = ds.get("incremental")?;
    Some((
        incr["files_scanned"].as_u64().unwrap(),
        incr["files_reused"].as_u64().unwrap(),
    ))
}

fn append(p: &Project, i: i64) {
    p.bytes(
        &format!("lake/raw/t/p{i}.parquet"),
        &Format::Parquet.bytes(&part(i * 100 + 1, 50, false, 1)),
    );
}

#[test]
fn audit_once_is_incremental_by_default_and_keeps_its_states_in_the_history_dir() {
    let p = small_project("\n[history]\ndir = \"hist\"\n");
    let audit = ["audit", "--once", "--format", "json", "--no-alerts"];
    let r = p.run(&audit);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(counts(&r.stdout), Some((2, 0)), "{}", r.stdout);
    assert!(
        !files_under(&p.path().join("hist/incremental")).is_empty(),
        "no states under hist/incremental"
    );
    append(&p, 2);
    let r = p.run(&audit);
    assert_eq!(counts(&r.stdout), Some((1, 2)), "{}", r.stdout);
    let inc = answers(&p, &r.stdout);
    let full = p.run(FULL);
    assert_eq!(counts(&full.stdout), None, "--full is not incremental");
    let mut diffs = Vec::new();
    let mut full = answers(&p, &full.stdout);
    // The two commands differ by name only.
    full["command"] = inc["command"].clone();
    diff("", &inc, &full, &mut diffs);
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

#[test]
fn engine_incremental_switches_audit_off_and_check_on() {
    let off = small_project("\n[engine]\nincremental = false\n");
    let r = off.run(&["audit", "--once", "--format", "json", "--no-alerts"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(
        counts(&r.stdout),
        None,
        "`[engine] incremental = false` turns audit's off"
    );

    let on = small_project("\n[engine]\nincremental = true\n");
    let check = ["check", "--format", "json", "--no-alerts"];
    assert_eq!(counts(&on.run(&check).stdout), Some((2, 0)));
    append(&on, 2);
    assert_eq!(
        counts(&on.run(&check).stdout),
        Some((1, 2)),
        "`check` follows the config"
    );
    let full = on.run(FULL);
    assert_eq!(counts(&full.stdout), None, "`--full` overrides the config");

    let plain = small_project("");
    assert_eq!(
        counts(&plain.run(&check).stdout),
        None,
        "`check` is a full scan by default"
    );
}

#[test]
fn without_history_an_incremental_run_is_a_full_scan() {
    let p = small_project("");
    assert_eq!(counts(&p.run(INC).stdout), Some((2, 0)));
    append(&p, 2);
    let r = p.run(&[
        "check",
        "--incremental",
        "--no-history",
        "--format",
        "json",
        "--no-alerts",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(counts(&r.stdout), None, "--no-history: no states to read, a full scan");
    assert_eq!(crate::support::dataset(&r.json(), "t")["rows"], 150, "every file read");
}
