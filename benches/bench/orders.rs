//! The benchmark's `orders` data (see `main.rs`): deterministic rows with injected defects, and
//! writers for its Parquet and CSV files. Also compiled into lakegate's integration tests
//! (`tests/it/s3_lakes.rs`), which run the benchmark's suite on a small copy of the same data.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;

/// splitmix64: a tiny, fast, deterministic generator (no dependency, same data on every machine).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform number in [0, 1).
    fn unit(&mut self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let x = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// 2026-01-15T10:00:00Z in microseconds: the newest order, two hours before the benchmark's `--now`.
const NEWEST_US: i64 = 1_768_471_200_000_000;
const STATUSES: [&str; 4] = ["placed", "shipped", "delivered", "cancelled"];
const COUNTRIES: [&str; 8] = ["US", "DE", "FR", "GB", "NL", "ES", "IT", "SE"];

fn schema() -> Arc<Schema> {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("order_id", DataType::Int64, true),
        Field::new("customer_id", DataType::Int64, false),
        Field::new("email", DataType::Utf8, true),
        Field::new("amount", DataType::Float64, true),
        Field::new("quantity", DataType::Int32, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("country", DataType::Utf8, false),
        Field::new("created_at", ts.clone(), false),
        Field::new("updated_at", ts, false),
    ]))
}

/// Rows `[start, start + n)` of the dataset; the same row always gets the same values.
#[allow(clippy::cast_possible_wrap, clippy::cast_possible_truncation)]
fn rows(start: u64, n: u64) -> RecordBatch {
    let mut order_id = Vec::with_capacity(n as usize);
    let mut customer_id = Vec::with_capacity(n as usize);
    let mut email = Vec::with_capacity(n as usize);
    let mut amount = Vec::with_capacity(n as usize);
    let mut quantity = Vec::with_capacity(n as usize);
    let mut status = Vec::with_capacity(n as usize);
    let mut country = Vec::with_capacity(n as usize);
    let mut created = Vec::with_capacity(n as usize);
    let mut updated = Vec::with_capacity(n as usize);
    for i in start..start + n {
        let mut r = Rng(i.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x5EED);
        // Every 100,000th row repeats the previous order id: a few injected duplicates.
        order_id.push(if i % 100_000 == 99_999 { i as i64 } else { i as i64 + 1 });
        let cid = 1 + r.below(200_000) as i64;
        customer_id.push(cid);
        email.push(if r.unit() < 0.02 {
            None
        } else {
            Some(format!("user{cid}@example.com"))
        });
        let u = r.unit();
        amount.push(if u < 0.001 {
            Some(-1.0 - r.below(100) as f64)
        } else if u < 0.0012 {
            Some(10_000.5 + r.below(5000) as f64)
        } else if u < 0.0022 {
            None
        } else {
            Some((r.below(999_900) as f64) / 100.0 + 1.0)
        });
        let q = r.unit();
        quantity.push(if q < 0.0005 {
            0
        } else if q < 0.001 {
            101 + r.below(50) as i32
        } else {
            1 + r.below(20) as i32
        });
        status.push(if r.unit() < 0.003 {
            "unknown"
        } else {
            STATUSES[r.below(4) as usize]
        });
        country.push(if r.unit() < 0.002 {
            "usa"
        } else {
            COUNTRIES[r.below(8) as usize]
        });
        let age = r.below(30 * 86_400) as i64 * 1_000_000;
        let t = if i == 0 { NEWEST_US } else { NEWEST_US - age };
        created.push(t);
        updated.push(t + r.below(3600) as i64 * 1_000_000);
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(order_id)),
        Arc::new(Int64Array::from(customer_id)),
        Arc::new(StringArray::from(email)),
        Arc::new(Float64Array::from(amount)),
        Arc::new(Int32Array::from(quantity)),
        Arc::new(StringArray::from(status)),
        Arc::new(StringArray::from(country)),
        Arc::new(TimestampMicrosecondArray::from(created).with_timezone("UTC")),
        Arc::new(TimestampMicrosecondArray::from(updated).with_timezone("UTC")),
    ];
    RecordBatch::try_new(schema(), cols).expect("columns match the schema")
}

/// Rows `[start, start + n)` as one Parquet file (Snappy, row groups of 256Ki rows).
pub(crate) fn write_parquet(
    file: impl std::io::Write + Send,
    start: u64,
    n: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(256 * 1024))
        .set_created_by("lakegate-bench".into())
        .build();
    let mut w = ArrowWriter::try_new(file, schema(), Some(props))?;
    let mut done = 0;
    while done < n {
        let chunk = (n - done).min(128 * 1024);
        w.write(&rows(start + done, chunk))?;
        done += chunk;
    }
    w.close()?;
    Ok(())
}

/// Rows `[start, start + n)` as one CSV file with a header.
pub(crate) fn write_csv(file: impl std::io::Write, start: u64, n: u64) -> Result<(), Box<dyn std::error::Error>> {
    let mut w = datafusion::arrow::csv::WriterBuilder::new()
        .with_header(true)
        .build(file);
    let mut done = 0;
    while done < n {
        let chunk = (n - done).min(128 * 1024);
        w.write(&rows(start + done, chunk))?;
        done += chunk;
    }
    Ok(())
}
