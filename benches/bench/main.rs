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

mod orders;

use std::path::PathBuf;

use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionContext};

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
    for f in first..first + files {
        let start = f * per_file;
        let n = per_file.min((first * per_file + total).saturating_sub(start));
        let file = std::fs::File::create(out.join(format!("part-{f:03}.parquet")))?;
        orders::write_parquet(file, start, n)?;
    }
    if let Some(csv) = arg(args, "--csv") {
        let path = PathBuf::from(csv);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        orders::write_csv(std::fs::File::create(path)?, 0, total)?;
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
