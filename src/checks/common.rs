//! Keys every check kind accepts: `name`, `severity`, `max_fraction`, `where`, `description`, `sample`.

use std::ops::Range;

use toml::Spanned;

use super::KeyDoc;
use crate::diag::Code;
use crate::spanned::TableReader;

pub(crate) use crate::results::Severity;

/// The common keys of one `[[check]]`.
#[derive(Debug, Clone)]
pub struct Common {
    pub kind: Spanned<String>,
    pub name: Option<Spanned<String>>,
    pub severity: Severity,
    /// Tolerated share of failing rows (like Great Expectations' `mostly`, inverted).
    pub max_fraction: f64,
    pub where_: Option<Spanned<String>>,
    pub description: Option<String>,
    /// Failing rows to keep as a sample.
    pub sample: usize,
    /// Span of the whole `[[check]]` table.
    pub span: Range<usize>,
}

pub const COMMON_KEYS: &[KeyDoc] = &[
    KeyDoc {
        name: "kind",
        ty: "string",
        required: true,
        doc: "The check kind.",
    },
    KeyDoc {
        name: "name",
        ty: "string",
        required: false,
        doc: "A name unique in the suite; the check's id becomes `DATASET.NAME` instead of `DATASET.COLUMN.KIND`.",
    },
    KeyDoc {
        name: "severity",
        ty: "\"error\" | \"warn\"",
        required: false,
        doc: "`error` (default) fails the run; `warn` reports without failing it (unless `--fail-on warn`).",
    },
    KeyDoc {
        name: "max_fraction",
        ty: "number 0..1",
        required: false,
        doc: "Share of rows in scope that may fail before the check fails (default 0). Row-level kinds only.",
    },
    KeyDoc {
        name: "where",
        ty: "SQL expression",
        required: false,
        doc: "A row filter: the check applies only to rows for which it is true.",
    },
    KeyDoc {
        name: "description",
        ty: "string",
        required: false,
        doc: "Why the check exists; shown in reports.",
    },
    KeyDoc {
        name: "sample",
        ty: "integer",
        required: false,
        doc: "Failing rows to keep as a sample (default 10; 0 disables).",
    },
];

pub fn read_common(t: &mut TableReader<'_, '_>, kind: Spanned<String>) -> Common {
    let name = t.str("name");
    if let Some(n) = &name
        && n.get_ref().trim().is_empty()
    {
        t.push(
            t.error(Code::EmptyValue, n.span(), "a check `name` cannot be empty")
                .label("empty"),
        );
    }
    let severity = match t.str("severity") {
        Some(s) if s.get_ref() == "error" => Severity::Error,
        Some(s) if s.get_ref() == "warn" || s.get_ref() == "warning" => Severity::Warn,
        Some(s) => {
            t.push(
                t.error(
                    Code::InvalidChoice,
                    s.span(),
                    format!("`{}` is not a severity", s.get_ref()),
                )
                .label("unknown severity")
                .help("use \"error\" (the default) or \"warn\""),
            );
            Severity::Error
        }
        None => Severity::Error,
    };
    let max_fraction = match t.number("max_fraction") {
        Some(f) if (0.0..=1.0).contains(f.get_ref()) => *f.get_ref(),
        Some(f) => {
            t.push(
                t.error(Code::OutOfRange, f.span(), "`max_fraction` must lie between 0 and 1")
                    .label("out of range")
                    .help("0.05 tolerates 5% failing rows"),
            );
            0.0
        }
        None => 0.0,
    };
    let where_ = t.str("where");
    if let Some(w) = &where_
        && let Err(d) = crate::fragment::check_syntax(t.file(), w)
    {
        t.push(d);
    }
    let description = t.str("description").map(Spanned::into_inner);
    let sample = t
        .uint("sample")
        .map_or(10, |s| usize::try_from(s.into_inner()).unwrap_or(usize::MAX).min(1000));
    Common {
        kind,
        name,
        severity,
        max_fraction,
        where_,
        description,
        sample,
        span: t.span(),
    }
}
