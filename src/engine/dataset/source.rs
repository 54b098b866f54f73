//! Turning a dataset's files into one DataFusion table.
//!
//! Each file's own schema is read (Parquet footers; CSV and JSON by inference over `infer_rows`
//! records). The dataset's schema is their union, with declared `types` applied and partition
//! columns appended. Files are grouped by (schema, partition values); each group is one
//! `ListingTable` over explicit paths, projected onto the dataset schema (missing columns become
//! typed nulls, partition values literals), and the groups are combined with `UNION ALL`. One query
//! over the result still reads every file once.
//!
//! CSV null markers: DataFusion 55 honours `null_regex` when inferring a CSV schema but not when
//! reading (apache/datafusion#25213). CSV groups of a dataset with null markers of its own (`NA`)
//! are therefore read as all-Utf8 and each column is projected as
//! `CAST(CASE WHEN c IN (markers) THEN NULL ELSE c END AS type)`. Without them (only the empty field,
//! which arrow's reader already reads as null), columns are read in their inferred types and parsed
//! once, by the reader; a column the dataset declares as text is read as text. When a release
//! carries the fix, [`csv_projection`] can become a plain column reference and `read_schema` the
//! real schema in every case.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::json::JsonFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::{Cast, Expr, lit, when};
use datafusion::prelude::{DataFrame, SessionContext};
use datafusion::scalar::ScalarValue;

use super::discover::{DataFile, Discovered};
use crate::checks::column;
use crate::engine::error::{DatasetError, clean, read_cause};
use crate::suite::{CsvSpec, DatasetSpec, Format};
use crate::types::unify;

fn format_for(
    ctx: &SessionContext,
    format: Format,
    csv: &CsvSpec,
    infer_rows: usize,
    for_inference: bool,
) -> Arc<dyn FileFormat> {
    let state = ctx.state();
    match format {
        Format::Parquet => Arc::new(ParquetFormat::default().with_options(state.table_options().parquet.clone())),
        Format::Csv => {
            let mut f = CsvFormat::default()
                .with_options(state.table_options().csv.clone())
                .with_has_header(csv.header)
                .with_delimiter(csv.delimiter)
                .with_quote(csv.quote)
                .with_escape(csv.escape)
                .with_comment(csv.comment)
                .with_schema_infer_max_rec(infer_rows);
            if for_inference {
                f = f.with_null_regex(null_regex(&csv.null_values));
            }
            Arc::new(f)
        }
        Format::Json => Arc::new(
            JsonFormat::default()
                .with_options(state.table_options().json.clone())
                .with_schema_infer_max_rec(infer_rows),
        ),
    }
}

/// `^(|NA|N/A)$` for the null markers, or `None` when the empty string is the only one. The empty
/// string is always included: arrow's CSV reader reads an empty field as null in every column, so
/// inference must treat it the same way.
fn null_regex(values: &[String]) -> Option<String> {
    if values.iter().all(String::is_empty) {
        return None;
    }
    let mut alts: Vec<String> = vec![String::new()];
    alts.extend(values.iter().filter(|v| !v.is_empty()).map(|v| regex::escape(v)));
    Some(format!("^({})$", alts.join("|")))
}

/// The file's URL, never a glob: a file named `a[1].csv` or `b*.csv` is that file, not a pattern
/// (`ListingTableUrl::parse` would read glob syntax in a path).
pub(crate) fn url(file: &DataFile) -> DfResult<ListingTableUrl> {
    file_url(&file.path)
}

pub(crate) fn file_url(path: &std::path::Path) -> DfResult<ListingTableUrl> {
    if super::remote::is_remote(path) {
        let s = path.to_string_lossy();
        let url = url::Url::parse(&s)
            .map_err(|e| datafusion::error::DataFusionError::Execution(format!("cannot read {s} as a URL: {e}")))?;
        return ListingTableUrl::try_new(url, None);
    }
    let abs = std::path::absolute(path)?;
    let url = url::Url::from_file_path(&abs).map_err(|()| {
        datafusion::error::DataFusionError::Execution(format!("cannot make a URL of {}", abs.display()))
    })?;
    ListingTableUrl::try_new(url, None)
}

/// Reads one file's own schema.
pub(crate) async fn file_schema(
    ctx: &SessionContext,
    spec: &DatasetSpec,
    format: Format,
    infer_rows: usize,
    file: &DataFile,
) -> Result<SchemaRef, DatasetError> {
    let opts = ListingOptions::new(format_for(ctx, format, &spec.csv, infer_rows, true)).with_file_extension("");
    let unreadable = |message: String| DatasetError::Unreadable {
        dataset: spec.name.get_ref().clone(),
        path: file.path.clone(),
        message,
    };
    let u = url(file).map_err(|e| unreadable(clean(&e)))?;
    let at = super::Location::of(ctx, &file.path).map_err(unreadable)?;
    if format == Format::Csv {
        let csv = spec.csv.clone();
        at.off_runtime(move |at| check_header(at.head().map_err(|e| e.to_string())?, &csv))
            .await
            .and_then(|r| r)
            .map_err(unreadable)?;
    }
    // An object's frame too, with two ranged GETs of its ends: DataFusion's footer reader
    // subtracts a garbage length unchecked.
    if format == Format::Parquet {
        match at.chunks(file.size) {
            None => parquet_frame(&file.path).map_err(unreadable)?,
            Some(object) => at
                .off_runtime(move |_| parquet_frame_of(&object))
                .await
                .and_then(|r| r)
                .map_err(unreadable)?,
        }
    }
    if format == Format::Json {
        at.off_runtime(|at| json_width(at.head().map_err(|e| e.to_string())?))
            .await
            .and_then(|r| r)
            .map_err(unreadable)?;
    }
    let inferred = opts.infer_schema(&ctx.state(), &u).await;
    let schema = match inferred {
        Ok(s) => s,
        // Arrow's JSON reader counts lines per buffer; serde_json's stream gives the file's line.
        Err(e) if format == Format::Json => {
            let syntax = at.read_whole(json_syntax_error).await;
            return Err(unreadable(syntax.unwrap_or_else(|| read_cause(&e))));
        }
        Err(e) => return Err(unreadable(read_cause(&e))),
    };
    // A column with no value in the sample says nothing about its type: read the whole file.
    let undecided = schema
        .fields()
        .iter()
        .any(|f| *f.data_type() == DataType::Null && !spec.types.iter().any(|(n, _)| n.get_ref() == f.name()));
    if format != Format::Parquet && infer_rows != usize::MAX && undecided {
        return Box::pin(file_schema(ctx, spec, format, usize::MAX, file)).await;
    }
    Ok(schema)
}

/// Checks a Parquet file's frame before any reader trusts it: `PAR1` at both ends and a metadata
/// length that fits in the file. The parquet crate subtracts that length from the file's size
/// unchecked (a garbage length panics in a debug build and wraps in a release one).
pub(crate) fn parquet_frame(path: &std::path::Path) -> Result<(), String> {
    parquet_frame_of(&std::fs::File::open(path).map_err(|e| e.to_string())?)
}

/// [`parquet_frame`] of a file or an object.
pub(crate) fn parquet_frame_of(r: &impl datafusion::parquet::file::reader::ChunkReader) -> Result<(), String> {
    let len = r.len();
    if len < 12 {
        return Err(format!("not a Parquet file: {len} bytes, too short for a footer"));
    }
    let head = r.get_bytes(0, 4).map_err(|e| e.to_string())?;
    let tail = r.get_bytes(len - 8, 8).map_err(|e| e.to_string())?;
    if &head[..] != b"PAR1" || &tail[4..] != b"PAR1" {
        return Err("not a Parquet file: it does not start and end with `PAR1`".into());
    }
    let metadata = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if metadata > len - 12 {
        return Err(format!(
            "damaged Parquet footer: it states {metadata} bytes of metadata in a file of {len} bytes"
        ));
    }
    Ok(())
}

/// Refuses an NDJSON file whose first record has more than [`MAX_COLUMNS`] keys: schema inference
/// and planning take time in the square of the width (40,000 keys: 4 s; a million would take most
/// of an hour). The first value is read as a stream and its keys counted, their values skipped, so
/// a first record of any length costs no memory and stops at the first key too many; a file that
/// does not start with a JSON value is left to the reader.
fn json_width(r: impl std::io::Read) -> Result<(), String> {
    use serde::Deserializer as _;
    /// Counts an object's keys, giving up after one too many.
    struct Keys;
    impl<'de> serde::de::Visitor<'de> for Keys {
        type Value = usize;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
            let mut n = 0;
            while map
                .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                .is_some()
            {
                n += 1;
                if n > MAX_COLUMNS {
                    return Err(serde::de::Error::custom(TOO_WIDE));
                }
            }
            Ok(n)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<usize, A::Error> {
            Ok(0)
        }
    }
    const TOO_WIDE: &str = "lakegate: too many keys";
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(r));
    match de.deserialize_any(Keys) {
        Err(e) if e.to_string().starts_with(TOO_WIDE) => Err(format!(
            "the first record has more than {} keys; lakegate reads JSON files of at most {} columns",
            crate::checks::fmt_count(MAX_COLUMNS as u64),
            crate::checks::fmt_count(MAX_COLUMNS as u64)
        )),
        Err(e) if e.is_io() => Err(e.to_string()),
        _ => Ok(()),
    }
}

/// The first JSON syntax error of a file of JSON values (NDJSON or whitespace-separated), with
/// the line and column in the file, or `None` when the whole file parses.
pub(crate) fn json_syntax_error(r: Box<dyn std::io::Read + Send>) -> Option<String> {
    let values = serde_json::Deserializer::from_reader(std::io::BufReader::new(r)).into_iter::<serde::de::IgnoredAny>();
    for v in values {
        match v {
            Err(e) if e.is_io() => return None,
            Err(e) => return Some(format!("not valid JSON: {e}")),
            Ok(_) => {}
        }
    }
    None
}

/// The most columns a CSV or JSON file may have. DataFusion's schema inference merges fields by
/// name one at a time (time grows with the square of the column count: 10,000 CSV columns take
/// seconds, 40,000 over a minute and gigabytes), so wider files are refused up front, in time
/// linear in the first record.
pub(crate) const MAX_COLUMNS: usize = 10_000;

/// The line of the first record of an NDJSON file whose `column` does not fit `ty` (arrow's JSON
/// reader names the field and the value but not the line). `None` when the file is not one record
/// per line or no value misfits.
pub(crate) fn json_misfit_line(r: Box<dyn std::io::Read + Send>, column: &str, ty: &DataType) -> Option<u64> {
    use serde_json::Value;
    use std::io::BufRead;
    let fits = |v: &Value| match (v, ty) {
        (Value::Null, _) => true,
        (_, t) if t.is_integer() => {
            v.is_i64() || v.is_u64() || v.as_str().is_some_and(|s| s.trim().parse::<i64>().is_ok())
        }
        (_, t) if t.is_floating() => v.is_number() || v.as_str().is_some_and(|s| s.trim().parse::<f64>().is_ok()),
        (_, DataType::Boolean) => v.is_boolean(),
        _ => true,
    };
    for (i, line) in std::io::BufReader::new(r).lines().enumerate() {
        let line = line.ok()?;
        if line.trim().is_empty() {
            continue;
        }
        let record: Value = serde_json::from_str(&line).ok()?;
        if record.get(column).is_some_and(|v| !fits(v)) {
            return Some(i as u64 + 1);
        }
    }
    None
}

/// The longest first line read to check a CSV file's first record.
const MAX_FIRST_LINE: u64 = 16 * 1024 * 1024;

/// Refuses a CSV file whose first record has more than [`MAX_COLUMNS`] fields, or whose header
/// names a column twice (the schema would keep one of them and every row would then read as having
/// too many fields). The first record is the first line that is not a comment, read with the
/// delimiter and quote. At most [`MAX_FIRST_LINE`] bytes of it are read: a longer header is
/// refused (no table has 16 MiB of column names), a longer first data record is left to the reader.
fn check_header(r: impl std::io::Read, csv: &CsvSpec) -> Result<(), String> {
    use std::io::{BufRead, Read};
    let mut r = std::io::BufReader::new(r);
    if let Some(c) = csv.comment {
        while r.fill_buf().map_err(|e| e.to_string())?.first() == Some(&c) {
            r.skip_until(b'\n').map_err(|e| e.to_string())?;
        }
    }
    let mut header = Vec::new();
    (&mut r)
        .take(MAX_FIRST_LINE)
        .read_until(b'\n', &mut header)
        .map_err(|e| e.to_string())?;
    let whole = header.last() == Some(&b'\n') || r.fill_buf().map_err(|e| e.to_string())?.is_empty();
    if header.last() == Some(&b'\n') {
        header.pop();
    }
    if header.last() == Some(&b'\r') {
        header.pop();
    }
    let mut names: Vec<String> = Vec::new();
    let mut field = Vec::new();
    let mut quoted = false;
    let mut i = 0;
    while i <= header.len() {
        let b = header.get(i).copied();
        match b {
            Some(q) if q == csv.quote && quoted && header.get(i + 1) == Some(&csv.quote) => {
                field.push(q);
                i += 1;
            }
            Some(q) if q == csv.quote => quoted = !quoted,
            Some(d) if d == csv.delimiter && !quoted => {
                names.push(String::from_utf8_lossy(&std::mem::take(&mut field)).into_owned())
            }
            None => names.push(String::from_utf8_lossy(&std::mem::take(&mut field)).into_owned()),
            Some(other) => field.push(other),
        }
        i += 1;
    }
    if names.len() > MAX_COLUMNS {
        return Err(format!(
            "the first record has {}{} fields; lakegate reads CSV files of at most {} columns",
            if whole { "" } else { "at least " },
            crate::checks::fmt_count(names.len() as u64),
            crate::checks::fmt_count(MAX_COLUMNS as u64)
        ));
    }
    if !csv.header {
        return Ok(());
    }
    if !whole {
        return Err(format!(
            "the header (its first line) is longer than {} MiB, too long for column names; check the dataset's `csv` options (`header`, `delimiter`)",
            MAX_FIRST_LINE / (1024 * 1024)
        ));
    }
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (j, name) in names.iter().enumerate() {
        if let Some(k) = seen.insert(name, j) {
            return Err(format!(
                "the header names column `{name}` twice (fields {} and {}); rename one of them",
                k + 1,
                j + 1
            ));
        }
    }
    Ok(())
}

/// The dataset's schema: the union of its files' columns, declared types applied, partitions last.
pub(crate) fn unified_schema(
    spec: &DatasetSpec,
    d: &Discovered,
    schemas: &[SchemaRef],
) -> Result<SchemaRef, DatasetError> {
    // Columns found by name through an index: wide files (thousands of columns) stay linear.
    let mut fields: Vec<(String, DataType)> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for s in schemas {
        for f in s.fields() {
            match index.get(f.name()) {
                Some(&i) => fields[i].1 = unify(&fields[i].1, f.data_type()),
                None => {
                    index.insert(f.name().clone(), fields.len());
                    fields.push((f.name().clone(), f.data_type().clone()));
                }
            }
        }
    }
    // A column with no value in any file is inferred as Null; read it as (null) strings.
    for (_, t) in &mut fields {
        if *t == DataType::Null {
            *t = DataType::Utf8;
        }
    }
    for k in &d.partition_keys {
        if fields.iter().any(|(n, _)| n == k) {
            return Err(DatasetError::Query {
                dataset: spec.name.get_ref().clone(),
                message: format!("the partition key `{k}` is also a column inside the files; rename one of them"),
            });
        }
        fields.push((k.clone(), DataType::Utf8));
    }
    for (col, ty) in &spec.types {
        if let Some(&i) = index.get(col.get_ref())
            && let Some(dt) = ty.to_arrow()
        {
            fields[i].1 = dt;
        }
    }
    Ok(Arc::new(Schema::new(
        fields
            .into_iter()
            .map(|(n, t)| Field::new(n, t, true))
            .collect::<Vec<_>>(),
    )))
}

fn cast(e: Expr, to: &DataType) -> Expr {
    Expr::Cast(Cast::new(Box::new(e), to.clone()))
}

fn typed_null(dt: &DataType) -> Expr {
    lit(ScalarValue::try_from(dt).unwrap_or(ScalarValue::Null))
}

/// A CSV column (read as text) cleaned of null markers and cast to its type.
fn csv_projection(name: &str, target: &DataType, csv: &CsvSpec) -> DfResult<Expr> {
    let mut markers: Vec<String> = csv.null_values.clone();
    if *target != DataType::Utf8 && !markers.iter().any(String::is_empty) {
        // An empty field can never be a number or a date.
        markers.push(String::new());
    }
    let c = column(name);
    let cleaned = if markers.is_empty() {
        c
    } else {
        when(
            c.clone().in_list(markers.into_iter().map(lit).collect(), false),
            lit(ScalarValue::Utf8(None)),
        )
        .otherwise(c)?
    };
    Ok(if *target == DataType::Utf8 {
        cleaned
    } else {
        cast(cleaned, target)
    })
}

/// Files of a dataset that share a schema and partition values: one `ListingTable`.
struct FileGroup<'a> {
    schema: SchemaRef,
    partitions: Vec<Option<String>>,
    files: Vec<&'a DataFile>,
}

/// Groups files that share a schema and partition values, in the order the files come.
fn group_files<'a>(d: &'a Discovered, schemas: &[SchemaRef]) -> Vec<FileGroup<'a>> {
    let mut groups: Vec<FileGroup<'a>> = Vec::new();
    for (file, schema) in d.files.iter().zip(schemas) {
        match groups
            .iter_mut()
            .find(|g| g.schema == *schema && g.partitions == file.partitions)
        {
            Some(g) => g.files.push(file),
            None => groups.push(FileGroup {
                schema: schema.clone(),
                partitions: file.partitions.clone(),
                files: vec![file],
            }),
        }
    }
    groups
}

/// Builds the table of a dataset from its files, their schemas and the unified schema.
pub(crate) fn build_table(
    ctx: &SessionContext,
    spec: &DatasetSpec,
    d: &Discovered,
    schemas: &[SchemaRef],
    unified: &SchemaRef,
    infer_rows: usize,
) -> DfResult<Arc<dyn TableProvider>> {
    let groups = group_files(d, schemas);
    let n_partitions = d.partition_keys.len();
    let (data_fields, partition_fields) = unified.fields().split_at(unified.fields().len() - n_partitions);

    let markers = !spec.csv.null_values.iter().all(String::is_empty);
    let unified_types: HashMap<&str, &DataType> = unified
        .fields()
        .iter()
        .map(|f| (f.name().as_str(), f.data_type()))
        .collect();
    let mut combined: Option<DataFrame> = None;
    for group in groups {
        let read_schema = if d.format == Format::Csv {
            csv_read_schema(&group.schema, markers, &unified_types)
        } else {
            group.schema.clone()
        };
        let table = listing_table(ctx, spec, d.format, &group.files, &read_schema, infer_rows)?;

        let direct = n_partitions == 0
            && data_fields.len() == read_schema.fields().len()
            && data_fields
                .iter()
                .zip(read_schema.fields())
                .all(|(a, b)| a.name() == b.name() && a.data_type() == b.data_type());
        if direct && combined.is_none() && d.files.len() == group.files.len() {
            // One group already in the dataset's shape: the listing table itself, no projection.
            return Ok(table);
        }

        let mut exprs = data_projection(spec, d.format, data_fields, &read_schema)?;
        exprs.extend(partition_projection(
            &d.partition_keys,
            &group.partitions,
            partition_fields,
        ));
        let df = ctx.read_table(table)?.select(exprs)?;
        combined = Some(match combined {
            None => df,
            Some(acc) => acc.union(df)?,
        });
    }
    match combined {
        Some(df) => Ok(df.into_view()),
        // No file: a view of no rows (an empty relation, which a Ballista plan can carry; a
        // table in memory it cannot).
        None => {
            let empty = datafusion::logical_expr::LogicalPlan::EmptyRelation(datafusion::logical_expr::EmptyRelation {
                produce_one_row: false,
                schema: Arc::new(datafusion::common::DFSchema::try_from(unified.clone())?),
            });
            Ok(Arc::new(datafusion::catalog::view::ViewTable::new(empty, None)))
        }
    }
}

/// The schema a CSV group is read with: its inferred schema, with the columns to clean or recast as text.
fn csv_read_schema(schema: &SchemaRef, markers: bool, unified_types: &HashMap<&str, &DataType>) -> SchemaRef {
    // CSV with null markers of its own: every column as text, markers removed by projection.
    // Without them, arrow's reader already reads an empty field as null, so a column whose
    // inferred type is the dataset's type is read in it and parsed once, by the reader. A
    // column the dataset types otherwise (declared `types`, or another file's wider type) is
    // read as text and cast from it: `types = { zip = "string" }` keeps "007".
    let as_text = |f: &Field| {
        markers
            || unified_types
                .get(f.name().as_str())
                .is_some_and(|u| *u != f.data_type())
    };
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| {
                let t = if as_text(f) {
                    DataType::Utf8
                } else {
                    f.data_type().clone()
                };
                Field::new(f.name(), t, true)
            })
            .collect::<Vec<_>>(),
    ))
}

/// A `ListingTable` over exactly the files of one group, read with `read_schema`.
fn listing_table(
    ctx: &SessionContext,
    spec: &DatasetSpec,
    format: Format,
    files: &[&DataFile],
    read_schema: &SchemaRef,
    infer_rows: usize,
) -> DfResult<Arc<ListingTable>> {
    let urls = files.iter().map(|f| url(f)).collect::<DfResult<Vec<_>>>()?;
    let opts = ListingOptions::new(format_for(ctx, format, &spec.csv, infer_rows, false)).with_file_extension("");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(opts)
        .with_schema(read_schema.clone());
    Ok(Arc::new(ListingTable::try_new(config)?))
}

/// The dataset's data columns over a group read with `read_schema`: cleaned, cast, or typed nulls.
fn data_projection(
    spec: &DatasetSpec,
    format: Format,
    data_fields: &[FieldRef],
    read_schema: &Schema,
) -> DfResult<Vec<Expr>> {
    let read_types: HashMap<&str, &DataType> = read_schema
        .fields()
        .iter()
        .map(|f| (f.name().as_str(), f.data_type()))
        .collect();
    let mut exprs = Vec::with_capacity(data_fields.len());
    for f in data_fields {
        let name = f.name();
        let e = match read_types.get(name.as_str()) {
            Some(have) if format == Format::Csv && **have == DataType::Utf8 => {
                csv_projection(name, f.data_type(), &spec.csv)?
            }
            Some(have) if *have == f.data_type() => column(name),
            Some(_) => cast(column(name), f.data_type()),
            None => typed_null(f.data_type()),
        };
        exprs.push(e.alias(name));
    }
    Ok(exprs)
}

/// A group's partition values as literals of the dataset's partition column types.
fn partition_projection(keys: &[String], values: &[Option<String>], fields: &[FieldRef]) -> Vec<Expr> {
    keys.iter()
        .zip(values)
        .zip(fields)
        .map(|((key, value), f)| {
            let v = lit(ScalarValue::Utf8(value.clone()));
            let v = if *f.data_type() == DataType::Utf8 {
                v
            } else {
                cast(v, f.data_type())
            };
            v.alias(key)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn a_header_is_read_to_its_end_and_no_further_than_the_limit() {
        let csv = CsvSpec::default();
        let check = |text: Vec<u8>, csv: &CsvSpec| check_header(Cursor::new(text), csv);
        assert_eq!(
            check(
                b"# note\nid,v\n1,2\n".to_vec(),
                &CsvSpec {
                    comment: Some(b'#'),
                    ..csv.clone()
                }
            ),
            Ok(())
        );
        let e = check(b"id,v,\"id\"\r\n1,2,3\n".to_vec(), &csv).unwrap_err();
        assert!(e.contains("names column `id` twice (fields 1 and 3)"), "{e}");
        // A first line longer than the limit: no header, but a headerless file's first record is
        // the reader's business.
        let mut long = vec![b'x'; usize::try_from(MAX_FIRST_LINE).unwrap() + 10];
        long.extend_from_slice(b"\n1\n");
        let e = check(long.clone(), &csv).unwrap_err();
        assert!(e.contains("longer than 16 MiB"), "{e}");
        let headerless = CsvSpec {
            header: false,
            ..csv.clone()
        };
        assert_eq!(check(long, &headerless), Ok(()));
    }

    #[test]
    fn a_json_records_keys_are_counted_without_holding_its_values() {
        let wide = format!(
            "{{{}}}\n",
            (0..=MAX_COLUMNS)
                .map(|i| format!("\"c{i}\": 1"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let e = json_width(Cursor::new(wide)).unwrap_err();
        assert!(e.contains("more than 10,000 keys"), "{e}");
        let long_value = format!(
            "{{\"a\": \"{}\", \"b\": [1, {{\"c\": 2}}]}}\n{{}}\n",
            "x".repeat(2 << 20)
        );
        assert_eq!(json_width(Cursor::new(long_value)), Ok(()));
        // Not JSON, or not a record: left to the reader.
        assert_eq!(json_width(Cursor::new("not json\n")), Ok(()));
        assert_eq!(json_width(Cursor::new("[1, 2]\n")), Ok(()));
        assert_eq!(json_width(Cursor::new("")), Ok(()));
    }
}
