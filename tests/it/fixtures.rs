//! The bundled demo lake (`fixtures/lake`), generated here so it is reproducible.
//!
//! `LAKEGATE_BLESS=1 cargo test fixtures` rewrites the files; without it, a test fails when the
//! committed files differ from what this code generates. The data is small (KBs) and full of
//! deliberate defects that the suites in `checks/` catch (see README's tour).

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::file::properties::WriterProperties;

/// Microseconds since the epoch of 2026-01-14T14:00:00Z.
const ORDERS_START_US: i64 = 1_768_399_200_000_000;

/// `(relative path, bytes)` of every file of the demo lake.
pub fn lake_files() -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    files.push((
        "raw/orders/orders-2026-01-14.parquet".to_string(),
        orders_parquet(1, 100),
    ));
    files.push((
        "raw/orders/orders-2026-01-15.parquet".to_string(),
        orders_parquet(101, 200),
    ));
    let (a, b) = customers_csv();
    files.push(("raw/customers/customers-2026-01-01.csv".to_string(), a.into_bytes()));
    files.push(("raw/customers/customers-2026-01-08.csv".to_string(), b.into_bytes()));
    files.push((
        "raw/events/dt=2026-01-13/events.json".to_string(),
        events_json(13).into_bytes(),
    ));
    files.push((
        "raw/events/dt=2026-01-14/events.json".to_string(),
        events_json(14).into_bytes(),
    ));
    files
}

fn orders_parquet(first: i64, last: i64) -> Vec<u8> {
    let ids: Vec<i64> = (first..=last).collect();
    let order_id: Vec<Option<i64>> = ids
        .iter()
        .map(|&i| match i {
            58 => Some(57),   // duplicate key
            121 => Some(120), // duplicate key
            99 => None,       // missing key
            i => Some(i),
        })
        .collect();
    let customer_id: Vec<i64> = ids
        .iter()
        .map(|&i| if i == 77 { 999 } else { 1 + (i * 7) % 50 })
        .collect();
    let email: Vec<Option<String>> = ids
        .iter()
        .map(|&i| {
            if i % 16 == 0 {
                None
            } else {
                Some(format!("user{}@example.com", 1 + (i * 7) % 50))
            }
        })
        .collect();
    #[allow(clippy::cast_precision_loss)]
    let amount: Vec<Option<f64>> = ids
        .iter()
        .map(|&i| match i {
            13 | 140 => Some(-5.0),
            166 => Some(12_000.0),
            190 => None,
            i => Some(((i * 13) % 500) as f64 + 0.99),
        })
        .collect();
    let quantity: Vec<i32> = ids
        .iter()
        .map(|&i| if i == 42 { 0 } else { i32::try_from(1 + i % 5).unwrap() })
        .collect();
    let statuses = ["placed", "shipped", "delivered", "cancelled"];
    let status: Vec<String> = ids
        .iter()
        .map(|&i| {
            if i == 150 {
                "unknown".to_string()
            } else {
                statuses[usize::try_from(i % 4).unwrap()].to_string()
            }
        })
        .collect();
    let countries = ["US", "DE", "FR", "GB"];
    let country: Vec<String> = ids
        .iter()
        .map(|&i| {
            if i == 33 {
                "usa".to_string()
            } else {
                countries[usize::try_from(i % 4).unwrap()].to_string()
            }
        })
        .collect();
    let created: Vec<i64> = ids.iter().map(|&i| ORDERS_START_US + i * 6 * 60 * 1_000_000).collect();

    let schema = Arc::new(Schema::new(vec![
        Field::new("order_id", DataType::Int64, true),
        Field::new("customer_id", DataType::Int64, false),
        Field::new("email", DataType::Utf8, true),
        Field::new("amount", DataType::Float64, true),
        Field::new("quantity", DataType::Int32, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("country", DataType::Utf8, false),
        Field::new(
            "created_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(order_id)),
        Arc::new(Int64Array::from(customer_id)),
        Arc::new(StringArray::from(email)),
        Arc::new(Float64Array::from(amount)),
        Arc::new(Int32Array::from(quantity)),
        Arc::new(StringArray::from(status)),
        Arc::new(StringArray::from(country)),
        Arc::new(TimestampMicrosecondArray::from(created).with_timezone("UTC")),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    parquet_bytes(&batch)
}

/// A Parquet file of one batch, written deterministically.
pub fn parquet_bytes(batch: &RecordBatch) -> Vec<u8> {
    let mut buf = Vec::new();
    let props = WriterProperties::builder()
        .set_created_by("lakegate fixtures".into())
        .build();
    let mut w = ArrowWriter::try_new(&mut buf, batch.schema(), Some(props)).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
    buf
}

fn customers_csv() -> (String, String) {
    let mut a = String::from("customer_id,name,email,age,signup_date,lifetime_value\n");
    for id in 1..=30 {
        let age = match id {
            7 | 19 => "NA".to_string(),
            23 => "210".to_string(),
            id => (18 + (id * 3) % 60).to_string(),
        };
        let ltv = if id == 11 {
            "NA".to_string()
        } else {
            format!("{}.50", id * 37 % 900)
        };
        let email = if id == 5 {
            "not-an-email".to_string()
        } else {
            format!("user{id}@example.com")
        };
        a.push_str(&format!(
            "{id},Customer {id},{email},{age},2025-{:02}-{:02},{ltv}\n",
            1 + id % 12,
            1 + id % 28
        ));
    }
    let mut b = String::from("customer_id,name,email,age,signup_date,lifetime_value,loyalty_tier\n");
    for id in 31..=50 {
        let age = if id == 38 {
            "NA".to_string()
        } else {
            (18 + (id * 3) % 60).to_string()
        };
        let tier = ["bronze", "silver", "gold"][id % 3];
        customer_line(&mut b, &id.to_string(), id, &age, tier);
    }
    // Customer 30 exported again: a duplicate key across files.
    customer_line(&mut b, "30", 30, "27", "bronze");
    (a, b)
}

fn customer_line(out: &mut String, id_text: &str, id: usize, age: &str, tier: &str) {
    out.push_str(&format!(
        "{id_text},Customer {id},user{id}@example.com,{age},2026-01-{:02},{}.25,{tier}\n",
        1 + id % 8,
        id * 41 % 900
    ));
}

fn events_json(day: u32) -> String {
    let types = ["view", "click", "purchase"];
    let mut out = String::new();
    for h in 0..24u32 {
        let id = (day - 13) * 24 + h + 1;
        let event_type = if id == 30 { "clik" } else { types[(id % 3) as usize] };
        let customer = if id == 40 { 777 } else { 1 + (id * 11) % 50 };
        out.push_str(&format!(
            "{{\"event_id\": {id}, \"customer_id\": {customer}, \"event_type\": \"{event_type}\", \"ts\": \"2026-01-{day:02}T{h:02}:00:00Z\"}}\n"
        ));
    }
    out
}

/// Writes the demo lake under `root`.
pub fn write_lake(root: &Path) {
    for (rel, bytes) in lake_files() {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

#[test]
fn committed_fixture_lake_is_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/lake");
    if std::env::var_os("LAKEGATE_BLESS").is_some() {
        write_lake(&root);
    }
    for (rel, bytes) in lake_files() {
        let path = root.join(&rel);
        let on_disk =
            std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run LAKEGATE_BLESS=1 cargo test", path.display()));
        assert!(
            on_disk == bytes,
            "{rel} differs from what tests/it/fixtures.rs generates; run LAKEGATE_BLESS=1 cargo test"
        );
    }
}
