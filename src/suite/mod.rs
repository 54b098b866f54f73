//! Suites (`checks/*.toml`): one dataset and its checks.
//!
//! The `[dataset]` table says where the data is and how to read it; each `[[check]]` is dispatched on
//! its `kind` to the kind's own reader (no serde `tag`, which would lose spans). Everything that can
//! be checked without reading data is checked here — unknown keys and kinds, types, durations,
//! regexes, SQL syntax, duplicate names — and every problem is collected.

mod dataset;

use std::collections::HashMap;

use toml::Spanned;

pub(crate) use dataset::{CsvSpec, DatasetSpec, Format, OnFail};

use crate::checks::{self, Check, Common, common::read_common};
use crate::diag::{Code, Diagnostic, Diags, SourceFile, did_you_mean};
use crate::spanned::{TableReader, parse_document};

/// A parsed suite.
#[derive(Debug)]
pub struct Suite {
    pub file: SourceFile,
    pub dataset: DatasetSpec,
    pub checks: Vec<CheckDecl>,
}

/// One declared check with its id.
#[derive(Debug)]
pub struct CheckDecl {
    /// `DATASET.COLUMN.KIND`, or `DATASET.NAME` for a named check.
    pub id: String,
    /// The display name: the given `name`, or the id without the dataset.
    pub name: String,
    pub common: Common,
    pub check: Box<dyn Check>,
}

impl CheckDecl {
    /// The 1-based line of the `[[check]]` in its suite.
    pub fn line(&self, file: &SourceFile) -> usize {
        file.line_of(self.common.span.start)
    }
}

/// Reads and parses a suite file.
pub(crate) fn load(path: &std::path::Path, diags: &Diags) -> Option<Suite> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_suite(&SourceFile::new(path, text), diags),
        Err(e) => {
            diags.push(Diagnostic::plain(
                Code::UnreadableFile,
                format!("cannot read the suite {}: {e}", path.display()),
            ));
            None
        }
    }
}

/// The version of lakegate a `version` key may ask for.
fn version_ok(want: &str) -> Result<bool, ()> {
    let parse = |s: &str| -> Result<Vec<u64>, ()> {
        s.trim()
            .trim_start_matches(">=")
            .trim()
            .split('.')
            .map(|p| p.parse().map_err(|_| ()))
            .collect()
    };
    let want = parse(want)?;
    let have = parse(env!("CARGO_PKG_VERSION"))?;
    Ok(want
        .iter()
        .chain(std::iter::repeat(&0))
        .take(3)
        .cmp(have.iter().take(3))
        != std::cmp::Ordering::Greater)
}

/// Parses a suite: its `version`, `[dataset]` and every `[[check]]`; `None` when any problem was found.
pub(crate) fn parse_suite(file: &SourceFile, diags: &Diags) -> Option<Suite> {
    let text = file.text.clone();
    let doc = match parse_document(file, &text) {
        Ok(d) => d,
        Err(d) => {
            diags.push(d);
            return None;
        }
    };
    let before = diags.len();
    let mut top = TableReader::new(file, diags, doc.get_ref(), 0..0, "the suite");

    if let Some(v) = top.str("version")
        && !check_version(file, diags, &v)
    {
        // Keys of a newer format would only add noise.
        return None;
    }
    let dataset = read_dataset(&mut top);
    let dataset_name = dataset.as_ref().map_or("?", |d| d.name.get_ref().as_str()).to_string();

    let mut checks = Vec::new();
    let tables = top.table_array("check");
    if !top.has("check") && dataset.is_some() {
        diags.push(
            Diagnostic::at(Code::NoChecks, file, 0..0, "the suite declares no checks")
                .help("add a [[check]] table, e.g. kind = \"row_count\" with min = 1"),
        );
    }
    for mut t in tables {
        checks.extend(read_check(&mut t, &dataset_name));
    }
    top.finish();
    number_duplicates(file, diags, &mut checks);

    if diags.len() > before {
        return None;
    }
    Some(Suite {
        file: file.clone(),
        dataset: dataset?,
        checks,
    })
}

/// Checks the `version` key; `false` when the suite needs a newer lakegate (the rest is not read).
fn check_version(file: &SourceFile, diags: &Diags, v: &Spanned<String>) -> bool {
    match version_ok(v.get_ref()) {
        Ok(true) => {}
        Ok(false) => {
            diags.push(
                Diagnostic::at(
                    Code::VersionTooNew,
                    file,
                    v.span(),
                    format!(
                        "this suite needs lakegate {} or newer; this is {}",
                        v.get_ref(),
                        env!("CARGO_PKG_VERSION")
                    ),
                )
                .label("newer than this binary")
                .help("upgrade lakegate to run this suite"),
            );
            return false;
        }
        Err(()) => diags.push(
            Diagnostic::at(
                Code::InvalidValue,
                file,
                v.span(),
                format!("`{}` is not a version", v.get_ref()),
            )
            .label("expected a version such as \"0.1\"")
            .help("`version` names the oldest lakegate that can run this suite"),
        ),
    }
    true
}

/// The `[dataset]` table; `None` (with a diagnostic when it is absent) when it cannot be read.
fn read_dataset(top: &mut TableReader<'_, '_>) -> Option<DatasetSpec> {
    match top.table("dataset", "`[dataset]`") {
        Some(mut t) => dataset::read(&mut t),
        None => {
            if !top.has("dataset") {
                top.push(
                    Diagnostic::at(Code::MissingKey, top.file(), 0..0, "the suite has no `[dataset]` table")
                        .help("start the suite with [dataset] and name = \"…\", zone = \"raw\", path = \"…\""),
                );
            }
            None
        }
    }
}

/// Explicit names must be unique within a suite; generated ids of unnamed checks that coincide
/// (two `expression` checks, two ranges on one column) are numbered: `orders.expression#2`.
fn number_duplicates(file: &SourceFile, diags: &Diags, checks: &mut [CheckDecl]) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for c in checks {
        if c.common.name.is_none() && seen.contains_key(&c.id) {
            let mut n = 2;
            while seen.contains_key(&format!("{}#{n}", c.id)) {
                n += 1;
            }
            c.id = format!("{}#{n}", c.id);
            c.name = format!("{}#{n}", c.name);
        }
        if let Some(first) = seen.get(&c.id) {
            let span = c.common.name.as_ref().map_or(c.common.kind.span(), Spanned::span);
            diags.push(
                Diagnostic::at(Code::DuplicateCheck, file, span, format!("duplicate check `{}`", c.id))
                    .label("declared twice")
                    .help(format!(
                        "the first is on line {first}; give one of them a different `name`"
                    )),
            );
        } else {
            seen.insert(c.id.clone(), c.line(file));
        }
    }
}

fn read_check(t: &mut TableReader<'_, '_>, dataset: &str) -> Vec<CheckDecl> {
    let Some(kind) = t.req_str("kind") else {
        return Vec::new();
    };
    let Some(spec) = checks::kind(kind.get_ref()) else {
        let later = checks::LATER_KINDS.contains(&kind.get_ref().as_str());
        let help = if later {
            "`anomaly` compares with the run history, which comes in a later version".to_string()
        } else {
            let kinds: Vec<&str> = checks::kind_names().collect();
            did_you_mean(kind.get_ref(), &kinds, "kinds:")
        };
        let msg = if later {
            format!("check kind `{}` is not available in this version", kind.get_ref())
        } else {
            format!("unknown check kind `{}`", kind.get_ref())
        };
        t.push(
            t.error(Code::UnknownKind, kind.span(), msg)
                .label("not a check kind")
                .help(help),
        );
        return Vec::new();
    };
    let common = read_common(t, kind.clone());
    let parsed = (spec.parse)(t);
    // Unknown keys are reported against the kind, with its page, once the kind has read its keys.
    t.rename(format!("a `{}` check", spec.name));
    t.finish_with_hint(Some(&format!("see docs/checks/{}.md", spec.name)));
    let many = parsed.len() > 1;
    parsed
        .into_iter()
        .map(|check| {
            let cols: Vec<String> = check.columns().into_iter().map(Spanned::into_inner).collect();
            let (id, name) = match &common.name {
                Some(n) if many => {
                    let n = format!("{} ({})", n.get_ref(), cols.join("+"));
                    (format!("{dataset}.{n}"), n)
                }
                Some(n) => (format!("{dataset}.{}", n.get_ref()), n.get_ref().clone()),
                None => {
                    let tail = if cols.is_empty() {
                        check.kind().to_string()
                    } else {
                        format!("{}.{}", cols.join("+"), check.kind())
                    };
                    (format!("{dataset}.{tail}"), tail)
                }
            };
            CheckDecl {
                id,
                name,
                common: common.clone(),
                check,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Option<Suite>, Vec<Diagnostic>) {
        let diags = Diags::default();
        let s = parse_suite(&SourceFile::new("s.toml", text), &diags);
        (s, diags.into_vec())
    }

    const HEAD: &str = "[dataset]\nname = \"orders\"\nzone = \"raw\"\npath = \"orders\"\n";

    #[test]
    fn ids_follow_dataset_column_kind() {
        let (s, d) = parse(&format!(
            "{HEAD}[[check]]\nkind = \"not_null\"\ncolumns = [\"a\", \"b\"]\n[[check]]\nname = \"enough\"\nkind = \"row_count\"\nmin = 1\n"
        ));
        assert!(d.is_empty(), "{d:?}");
        let ids: Vec<_> = s.unwrap().checks.iter().map(|c| c.id.clone()).collect();
        assert_eq!(ids, ["orders.a.not_null", "orders.b.not_null", "orders.enough"]);
    }

    #[test]
    fn all_problems_are_reported_at_once() {
        let (s, d) = parse(&format!(
            "{HEAD}[[check]]\nkind = \"not_nul\"\ncolumn = \"a\"\n[[check]]\nkind = \"range\"\ncolum = \"a\"\n[[check]]\nkind = \"freshness\"\ncolumn = \"t\"\nmax_age = \"6 hours\"\n"
        ));
        assert!(s.is_none());
        let msgs: Vec<_> = d.iter().map(|d| (d.message.clone(), d.location().unwrap().1)).collect();
        assert!(
            msgs.iter()
                .any(|(m, l)| m.contains("unknown check kind `not_nul`") && *l == 6),
            "{msgs:?}"
        );
        assert!(
            msgs.iter().any(|(m, l)| m.contains("unknown key `colum`") && *l == 10),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|(m, l)| m.contains("missing the required key `column`") && *l == 8),
            "{msgs:?}"
        );
        assert!(msgs.iter().any(|(m, l)| m.contains("6 hours") && *l == 14), "{msgs:?}");
    }

    #[test]
    fn duplicate_names_are_reported_and_generated_ids_numbered() {
        let (_, d) = parse(&format!(
            "{HEAD}[[check]]\nname = \"x\"\nkind = \"not_null\"\ncolumn = \"a\"\n[[check]]\nname = \"x\"\nkind = \"not_null\"\ncolumn = \"b\"\n"
        ));
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].message.contains("duplicate check `orders.x`"));
        assert_eq!(d[0].location().unwrap().1, 10);
        let (s, d) = parse(&format!(
            "{HEAD}[[check]]\nkind = \"not_null\"\ncolumn = \"a\"\n[[check]]\nkind = \"not_null\"\ncolumn = \"a\"\nwhere = \"b > 1\"\n"
        ));
        assert!(d.is_empty(), "{d:?}");
        let ids: Vec<_> = s.unwrap().checks.iter().map(|c| c.id.clone()).collect();
        assert_eq!(ids, ["orders.a.not_null", "orders.a.not_null#2"]);
    }

    #[test]
    fn newer_suite_versions_are_refused_clearly() {
        let (_, d) = parse(&format!("version = \"99.0\"\n{HEAD}[[check]]\nkind = \"future\"\n"));
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].message.contains("needs lakegate 99.0 or newer"));
    }
}
