//! Benchmark helpers for `benches/compare.sh` (not part of the product):
//!
//! - `lakegate-bench gen --rows N --files F --out DIR [--csv FILE] [--first-file K]`: a
//!   deterministic `orders` dataset with injected defects, as Parquet (several row groups per file)
//!   and optionally CSV. `--first-file K` numbers the files from K and starts at row K × N / F: the
//!   files a larger run of the same size per file would have written next (an append, for
//!   `benches/incremental.sh`).
//! - `lakegate-bench floor PATH [--csv] [--also COLUMN]…`: the least work any correct checker must do
//!   on it, run by DataFusion itself: one scan of the referenced columns with a filter-count over
//!   them (a bare `count(col)` would be answered from Parquet statistics and read nothing), then the
//!   duplicate-key query. `--also` adds a column a larger suite references (the 100-check suite
//!   reads `updated_at` too). Prints the two answers so a run can be compared with lakegate's.

use std::path::PathBuf;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionContext};

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

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn generate(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let total: u64 = arg(args, "--rows").ok_or("--rows N")?.parse()?;
    let files: u64 = arg(args, "--files").unwrap_or_else(|| "8".into()).parse()?;
    let out = PathBuf::from(arg(args, "--out").ok_or("--out DIR")?);
    std::fs::create_dir_all(&out)?;
    let first: u64 = arg(args, "--first-file").unwrap_or_else(|| "0".into()).parse()?;
    let per_file = total.div_ceil(files);
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(256 * 1024))
        .set_created_by("lakegate-bench".into())
        .build();
    for f in first..first + files {
        let start = f * per_file;
        let n = per_file.min((first * per_file + total).saturating_sub(start));
        let file = std::fs::File::create(out.join(format!("part-{f:03}.parquet")))?;
        let mut w = ArrowWriter::try_new(file, schema(), Some(props.clone()))?;
        let mut done = 0;
        while done < n {
            let chunk = (n - done).min(128 * 1024);
            w.write(&rows(start + done, chunk))?;
            done += chunk;
        }
        w.close()?;
    }
    if let Some(csv) = arg(args, "--csv") {
        let path = PathBuf::from(csv);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut w = datafusion::arrow::csv::WriterBuilder::new()
            .with_header(true)
            .build(std::fs::File::create(path)?);
        let mut done = 0;
        while done < total {
            let chunk = (total - done).min(128 * 1024);
            w.write(&rows(done, chunk))?;
            done += chunk;
        }
    }
    Ok(())
}

async fn floor(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let path = args.get(1).ok_or("floor PATH")?;
    let ctx = SessionContext::new();
    if args.iter().any(|a| a == "--csv") {
        ctx.register_csv("orders", path, CsvReadOptions::new()).await?;
    } else {
        ctx.register_parquet("orders", path, ParquetReadOptions::default())
            .await?;
    }
    let mut scan = "SELECT count(*) AS n FROM orders WHERE order_id IS NULL OR email IS NULL OR amount < 0 \
                OR quantity < 1 OR status IS NULL OR country IS NULL OR created_at IS NULL"
        .to_string();
    for w in args.windows(2).filter(|w| w[0] == "--also") {
        scan.push_str(&format!(" OR \"{}\" IS NULL", w[1].replace('"', "")));
    }
    let keys = "SELECT count(*) AS keys, sum(n) AS rows FROM (SELECT order_id, count(*) AS n FROM orders \
                WHERE order_id IS NOT NULL GROUP BY order_id HAVING count(*) > 1)";
    for q in [scan.as_str(), keys] {
        let batches = ctx.sql(q).await?.collect().await?;
        println!("{}", datafusion::arrow::util::pretty::pretty_format_batches(&batches)?);
    }
    Ok(())
}

/// Times the complete decode `promote` runs before publishing (`lakegate::verify`).
fn decode(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let paths: Vec<PathBuf> = args[1..].iter().map(PathBuf::from).collect();
    let started = std::time::Instant::now();
    let rows = lakegate::verify::decode_files(&paths)?;
    println!("{rows} rows decoded in {:.3} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Times the quote pass made over CSV files before they are read (`lakegate::csv_quotes`).
fn quotes(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let q = lakegate::csv_quotes::Quoting {
        delimiter: b',',
        quote: b'"',
        escape: None,
        comment: None,
    };
    let started = std::time::Instant::now();
    let mut bytes = 0;
    for p in &args[1..] {
        lakegate::csv_quotes::check_file(std::path::Path::new(p), q)?;
        bytes += std::fs::metadata(p)?.len();
    }
    println!("{bytes} bytes checked in {:.3} s", started.elapsed().as_secs_f64());
    Ok(())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("gen") => generate(&args),
        Some("floor") => floor(&args).await,
        Some("decode") => decode(&args),
        Some("quotes") => quotes(&args),
        _ => Err("usage: lakegate-bench gen --rows N [--files F] --out DIR [--csv FILE] [--first-file K] | floor PATH [--csv] [--also COLUMN] | decode FILE... | quotes FILE...".into()),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
}
