//! The `[dataset]` table of a suite: name, zone, path, format and reading options.

use toml::Spanned;

use crate::diag::{Code, did_you_mean};
use crate::spanned::TableReader;
use crate::types::{TYPE_NAMES, TypeName};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Parquet,
    Csv,
    Json,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }

    /// The format a file extension names.
    pub fn from_extension(ext: &str) -> Option<Self> {
        match ext.to_ascii_lowercase().as_str() {
            "parquet" | "pq" => Some(Format::Parquet),
            "csv" | "tsv" => Some(Format::Csv),
            "json" | "ndjson" | "jsonl" => Some(Format::Json),
            _ => None,
        }
    }
}

/// What happens to a batch that fails the promotion gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFail {
    Keep,
    Quarantine,
}

/// CSV reading options.
#[derive(Debug, Clone)]
pub struct CsvSpec {
    pub header: bool,
    pub delimiter: u8,
    pub quote: u8,
    pub escape: Option<u8>,
    pub comment: Option<u8>,
    /// Values read as null (default: the empty string).
    pub null_values: Vec<String>,
}

impl Default for CsvSpec {
    fn default() -> Self {
        Self {
            header: true,
            delimiter: b',',
            quote: b'"',
            escape: None,
            comment: None,
            null_values: vec![String::new()],
        }
    }
}

/// The `[dataset]` table.
#[derive(Debug, Clone)]
pub struct DatasetSpec {
    pub name: Spanned<String>,
    pub zone: Spanned<String>,
    /// File, directory or glob, relative to the zone.
    pub path: Spanned<String>,
    pub format: Option<Format>,
    /// Hive-style partition keys; `None` means "detect `key=value` directories".
    pub partitions: Option<Vec<String>>,
    pub csv: CsvSpec,
    /// Declared column types (read values are cast to them).
    pub types: Vec<(Spanned<String>, TypeName)>,
    /// Columns that identify a row; shown in every failing-row sample.
    pub key: Vec<String>,
    /// When `lakegate audit` runs this suite (a cron expression), overriding `[audit] schedule`.
    pub schedule: Option<String>,
    /// The IANA time zone `schedule` is read in, overriding `[audit] timezone`.
    pub timezone: Option<String>,
    pub on_fail: OnFail,
    pub description: Option<String>,
    pub owner: Option<String>,
    /// Email addresses that receive this dataset's alerts besides each channel's `to`.
    pub owners: Vec<String>,
}

fn single_byte(t: &TableReader<'_, '_>, v: &Spanned<String>, what: &str) -> Option<u8> {
    let s = v.get_ref();
    let s = if s == "\\t" { "\t" } else { s.as_str() };
    if s.len() == 1 {
        Some(s.as_bytes()[0])
    } else {
        t.push(
            t.error(
                Code::InvalidValue,
                v.span(),
                format!("the CSV {what} must be a single ASCII character"),
            )
            .label("not one character")
            .help("for example \",\", \";\", \"|\" or \"\\t\""),
        );
        None
    }
}

/// Reads the `[dataset]` table, key by key; `None` when a required key is missing.
pub(super) fn read(t: &mut TableReader<'_, '_>) -> Option<DatasetSpec> {
    let name = t.req_str("name");
    if let Some(n) = &name {
        check_name(t, n);
    }
    let zone = t.req_str("zone");
    let path = t.req_str("path");
    if let Some(p) = &path {
        check_path(t, p);
    }
    let format = t.str("format").and_then(|f| read_format(t, &f));
    let partitions = t
        .str_list("partitions")
        .map(|p| p.into_inner().into_iter().map(Spanned::into_inner).collect());
    let csv = read_csv(t);
    let types = read_types(t);
    let key = t
        .str_list("key")
        .map(|k| k.into_inner().into_iter().map(Spanned::into_inner).collect())
        .unwrap_or_default();
    let schedule = t.str("schedule");
    let timezone = t.str("timezone");
    crate::config::audit::check_schedule(t, schedule.as_ref(), timezone.as_ref());
    let (schedule, timezone) = (schedule.map(Spanned::into_inner), timezone.map(Spanned::into_inner));
    let on_fail = t.str("on_fail").map_or(OnFail::Keep, |v| read_on_fail(t, &v));
    let description = t.str("description").map(Spanned::into_inner);
    let owner = t.str("owner").map(Spanned::into_inner);
    let owners = read_owners(t);
    // Future sections are accepted without effect only where the design names them.
    t.finish_with_hint(None);
    Some(DatasetSpec {
        name: name?,
        zone: zone?,
        path: path?,
        format,
        partitions,
        csv,
        types,
        key,
        schedule,
        timezone,
        on_fail,
        description,
        owner,
        owners,
    })
}

/// `owners`: addresses that receive the dataset's alerts, each checked to be a mailbox.
fn read_owners(t: &mut TableReader<'_, '_>) -> Vec<String> {
    let mut out = Vec::new();
    for o in t.str_list("owners").map(Spanned::into_inner).unwrap_or_default() {
        if let Err(err) = o.get_ref().parse::<lettre::message::Mailbox>() {
            t.push(
                t.error(
                    Code::InvalidValue,
                    o.span(),
                    format!("`{}` is not a valid email address: {err}", o.get_ref()),
                )
                .label("not an email address")
                .help("`owners` lists the addresses that receive this dataset's alerts, e.g. [\"orders-team@example.com\"]"),
            );
        } else {
            out.push(o.into_inner());
        }
    }
    out
}

/// Reports a dataset name that is not letters, digits, `_` and `-` (it is part of every check id).
fn check_name(t: &TableReader<'_, '_>, n: &Spanned<String>) {
    let ok = !n.get_ref().is_empty()
        && n.get_ref()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok {
        t.push(
            t.error(
                Code::InvalidValue,
                n.span(),
                format!("`{}` is not a valid dataset name", n.get_ref()),
            )
            .label("invalid name")
            .help("use letters, digits, `_` and `-` (the name is part of every check id)"),
        );
    }
}

/// Reports a dataset path that leaves its zone, or a glob that does not compile.
fn check_path(t: &TableReader<'_, '_>, p: &Spanned<String>) {
    if p.get_ref().starts_with('/') || p.get_ref().split('/').any(|s| s == "..") {
        t.push(
            t.error(
                Code::PathOutside,
                p.span(),
                "the dataset path must stay inside its zone",
            )
            .label("absolute or climbs out with `..`")
            .help("write the path relative to the zone directory, e.g. \"orders\" or \"orders/*.parquet\""),
        );
    }
    if crate::paths::is_glob(p.get_ref())
        && let Err(e) = crate::paths::matcher(p.get_ref())
    {
        t.push(
            t.error(
                Code::InvalidGlob,
                p.span(),
                format!("the path is not a valid glob: {e}"),
            )
            .label("invalid glob"),
        );
    }
}

/// The `format` key as a [`Format`]; `None` (with a diagnostic) for an unsupported one.
fn read_format(t: &TableReader<'_, '_>, f: &Spanned<String>) -> Option<Format> {
    match f.get_ref().as_str() {
        "parquet" => Some(Format::Parquet),
        "csv" => Some(Format::Csv),
        "json" | "ndjson" | "jsonl" => Some(Format::Json),
        other => {
            t.push(
                t.error(Code::InvalidChoice, f.span(), format!("`{other}` is not a supported format"))
                    .label("unknown format")
                    .help("use \"parquet\", \"csv\" or \"json\" (newline-delimited), or leave it out to infer it from file extensions"),
            );
            None
        }
    }
}

/// The `csv` sub-table over the defaults.
fn read_csv(t: &mut TableReader<'_, '_>) -> CsvSpec {
    let mut csv = CsvSpec::default();
    if let Some(mut c) = t.table("csv", "`csv` options") {
        if let Some(h) = c.bool("header") {
            csv.header = h.into_inner();
        }
        if let Some(d) = c.str("delimiter") {
            csv.delimiter = single_byte(&c, &d, "delimiter").unwrap_or(b',');
        }
        if let Some(q) = c.str("quote") {
            csv.quote = single_byte(&c, &q, "quote").unwrap_or(b'"');
        }
        if let Some(e) = c.str("escape") {
            csv.escape = single_byte(&c, &e, "escape");
        }
        if let Some(e) = c.str("comment") {
            csv.comment = single_byte(&c, &e, "comment");
        }
        if let Some(n) = c.str_list("null_values") {
            csv.null_values = n.into_inner().into_iter().map(Spanned::into_inner).collect();
        }
        c.finish();
    }
    csv
}

/// `types`: column = type name, for the types lakegate can read a column as.
fn read_types(t: &mut TableReader<'_, '_>) -> Vec<(Spanned<String>, TypeName)> {
    let mut types = Vec::new();
    if let Some(map) = t.str_map("types") {
        for (col, ty) in map.into_inner() {
            match TypeName::parse(ty.get_ref()) {
                Some(tn) if tn.to_arrow().is_some() => types.push((col, tn)),
                _ => t.push(
                    t.error(
                        Code::UnknownType,
                        ty.span(),
                        format!("`{}` is not a type lakegate can read a column as", ty.get_ref()),
                    )
                    .label("unknown type")
                    .help(did_you_mean(
                        ty.get_ref(),
                        &TYPE_NAMES
                            .iter()
                            .filter(|n| **n != "int" && **n != "float")
                            .collect::<Vec<_>>(),
                        "use one of",
                    )),
                ),
            }
        }
    }
    types
}

/// The `on_fail` action; `keep` (with a diagnostic) for an unknown one.
fn read_on_fail(t: &TableReader<'_, '_>, v: &Spanned<String>) -> OnFail {
    match v.get_ref().as_str() {
        "quarantine" => OnFail::Quarantine,
        "keep" | "fail" => OnFail::Keep,
        _ => {
            t.push(
                t.error(
                    Code::InvalidChoice,
                    v.span(),
                    format!("`{}` is not an on_fail action", v.get_ref()),
                )
                .label("unknown action")
                .help("use \"keep\" (leave the batch where it is) or \"quarantine\""),
            );
            OnFail::Keep
        }
    }
}
