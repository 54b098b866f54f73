//! Diagnostics for configuration problems.
//!
//! Every problem lakegate finds in `lakegate.toml` or a suite is a [`Diagnostic`]: a stable
//! [`Code`], a message, the file it is in, the byte span of the offending value, a short label and a
//! `help:` line. They are collected (never thrown one at a time) so that a user sees every problem in
//! one pass, then rendered with the source line and an underline, the way rustc and cargo do it, or
//! as JSON for editors and CI. A code is a constructor argument, so no diagnostic goes without one;
//! the list of codes ([`Code::ALL`]) is the documented, stable interface (`docs/diagnostics.md`).

use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

/// Declares the codes: the enum, its sorted registry and each code's name and one-line meaning.
macro_rules! codes {
    ($( #[doc = $doc:literal] $variant:ident => $name:literal, )*) => {
        /// What kind of problem a diagnostic reports: a stable kebab-case name that tools can match on.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $( #[doc = $doc] $variant, )*
        }

        impl Code {
            /// Every code, sorted by name (a unit test keeps it so).
            pub const ALL: &[Code] = &[$(Code::$variant),*];

            /// The stable name, e.g. `unknown-key`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $name),* }
            }

            /// What the code means, one sentence (the documentation page lists them).
            pub fn meaning(self) -> &'static str {
                match self { $(Code::$variant => $doc.trim()),* }
            }
        }
    };
}

codes! {
    /// A `where` or `sql` fragment that does not parse, or is not what its place needs (an aggregate in a row condition, a subquery, a metric without an aggregate).
    BadFragment => "bad-fragment",
    /// `min` is larger than `max` (`range`, `length`, `row_count`): no value could pass; it points at the value that is out of order.
    BoundsReversed => "bounds-reversed",
    /// Two keys that exclude each other are both given (`column` and `columns`).
    ConflictingKeys => "conflicting-keys",
    /// Two checks of a suite have the same id; give one a different `name`.
    DuplicateCheck => "duplicate-check",
    /// Two suites declare the same dataset name; names are unique in a project.
    DuplicateDataset => "duplicate-dataset",
    /// A dataset has no files, so `validate` could not compare the suite's columns with its schema (a warning).
    EmptyDataset => "empty-dataset",
    /// A list or name that must not be empty is empty (`values`, `columns`, `name`, a SQL fragment).
    EmptyValue => "empty-value",
    /// The query engine could not start, or refused a dataset's schema.
    Engine => "engine",
    /// A key that has no meaning for this kind of check (`max_fraction` on an aggregate check).
    InapplicableKey => "inapplicable-key",
    /// A string that must be one of a few words is not one of them (`severity`, `mode`, `drift`, `on_fail`, `format`, `metric`, `direction`, `[alerts] on`, `starttls`, `[audit] overlap`).
    InvalidChoice => "invalid-choice",
    /// A glob pattern (`suites`, a dataset `path`) that does not parse.
    InvalidGlob => "invalid-glob",
    /// A regular expression (`pattern`, a regex literal or its flags in a fragment) that does not compile.
    InvalidRegex => "invalid-regex",
    /// A value of the right type that does not say what it must: a duration, a size, a version, a date, a dataset name, a CSV delimiter, an email address, an SMTP relay URL, a cron schedule, a time zone.
    InvalidValue => "invalid-value",
    /// A key in a table that cannot hold it (`suites` inside `[zones]`): it belongs elsewhere in the file.
    MisplacedKey => "misplaced-key",
    /// A required key is missing (or a required table: a suite without `[dataset]`).
    MissingKey => "missing-key",
    /// A check needs at least one bound (`min`, `max` or both) and has none.
    NoBounds => "no-bounds",
    /// A suite declares no `[[check]]`.
    NoChecks => "no-checks",
    /// The project's `suites` patterns match no file.
    NoSuites => "no-suites",
    /// `nan` where a number is expected: NaN compares false with everything, so it bounds nothing.
    NotANumber => "not-a-number",
    /// A number outside the range the key accepts (a negative count, a fraction outside 0 to 1).
    OutOfRange => "out-of-range",
    /// A path that leaves the directory it must stay in: a zone outside the lake root, a dataset path outside its zone.
    PathOutside => "path-outside",
    /// The query planner refused the check: a literal does not fit the column or function it is used with.
    PlannerRefused => "planner-refused",
    /// A promotion cannot go where it was asked to: `quarantine`, no next zone, the dataset's own zone, or no `quarantine` zone for `on_fail`.
    PromoteTarget => "promote-target",
    /// The suite or project file is not valid TOML.
    TomlSyntax => "toml-syntax",
    /// A fragment nested deeper than lakegate can plan safely; write long `OR` chains as `IN` lists.
    TooDeep => "too-deep",
    /// A value or column whose type does not fit its use (a text bound on a number column, `freshness` on a string, a fragment that is not a condition).
    TypeMismatch => "type-mismatch",
    /// A column the dataset does not have (in `column`, `where`, `sql`, a `reference`); a data failure in `check`, exit 1 in `validate`.
    UnknownColumn => "unknown-column",
    /// A dataset no suite declares (on the command line, in a `reference`, for `promote`).
    UnknownDataset => "unknown-dataset",
    /// A key lakegate does not know in this table or check kind; the help names the closest valid key.
    UnknownKey => "unknown-key",
    /// A check `kind` that does not exist (or not in this version); the help names the closest kind.
    UnknownKind => "unknown-kind",
    /// A time zone name that is neither IANA nor an offset.
    UnknownTimeZone => "unknown-time-zone",
    /// A type name lakegate does not know (`schema` columns, `[dataset] types`).
    UnknownType => "unknown-type",
    /// A zone `lakegate.toml` does not define.
    UnknownZone => "unknown-zone",
    /// A project or suite file that cannot be read.
    UnreadableFile => "unreadable-file",
    /// Something this version of lakegate does not support yet (an object-store lake root).
    Unsupported => "unsupported",
    /// The suite needs a newer lakegate than this one (its `version`).
    VersionTooNew => "version-too-new",
    /// A key holds a value of the wrong TOML type (a string where a number is expected, …).
    WrongType => "wrong-type",
    /// Two zones share a directory or one is inside another.
    ZonesOverlap => "zones-overlap",
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// How serious a diagnostic is: an error stops a run (exit 2) or fails `validate`; a warning is
/// information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A configuration file's path and text, kept so diagnostics can quote the offending line.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path as the user should read it (relative to the working directory when possible).
    pub path: PathBuf,
    pub text: Arc<str>,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<Arc<str>>) -> Self {
        Self {
            path: path.into(),
            text: text.into(),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = self.text[line_start..offset].chars().count() + 1;
        (line, col)
    }

    /// The 1-based line number of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.line_col(offset).0
    }
}

/// One problem in a configuration file.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub file: Option<SourceFile>,
    pub span: Option<Range<usize>>,
    pub label: Option<String>,
    pub help: Option<String>,
    /// Set when the problem is a column the data lacks (named by the suite): that is the data
    /// disagreeing with a valid suite, which a run reports as a failure rather than stopping.
    pub lacks_column: Option<String>,
}

impl Diagnostic {
    /// A problem at a span of a file.
    pub fn at(code: Code, file: &SourceFile, span: Range<usize>, message: impl Into<String>) -> Self {
        Self {
            code,
            severity: Severity::Error,
            message: message.into(),
            file: Some(file.clone()),
            span: Some(span),
            label: None,
            help: None,
            lacks_column: None,
        }
    }

    /// A problem with a whole file (or no file at all).
    pub fn plain(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            severity: Severity::Error,
            message: message.into(),
            file: None,
            span: None,
            label: None,
            help: None,
            lacks_column: None,
        }
    }

    /// Makes the problem a warning: reported, but it fails nothing.
    #[must_use]
    pub fn warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }

    /// Marks the problem as the data lacking `column` (see [`Diagnostic::lacks_column`]).
    #[must_use]
    pub fn lacking(mut self, column: impl Into<String>) -> Self {
        self.lacks_column = Some(column.into());
        self
    }

    /// The diagnostic as one sentence with its help, for a check result's message.
    pub fn sentence(&self) -> String {
        match &self.help {
            Some(h) => format!("{}; {h}", self.message),
            None => self.message.clone(),
        }
    }

    pub fn in_file(mut self, file: &SourceFile) -> Self {
        self.file = Some(file.clone());
        self
    }

    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// `file:line:col` of the start of the span, when there is one.
    pub fn location(&self) -> Option<(PathBuf, usize, usize)> {
        let file = self.file.as_ref()?;
        let (line, col) = self.span.as_ref().map_or((1, 1), |s| file.line_col(s.start));
        Some((file.path.clone(), line, col))
    }

    /// Renders the diagnostic as rustc does: message, location, the source line underlined, help.
    pub fn render(&self) -> String {
        // Names in messages may come from data files: control characters are shown, not sent.
        let esc = |s: &str| crate::term::escape(s).into_owned();
        let mut out = format!("{}[{}]: {}\n", self.severity.as_str(), self.code, esc(&self.message));
        let Some(file) = &self.file else {
            if let Some(help) = &self.help {
                let _ = writeln!(out, "  = help: {}", esc(help));
            }
            return out;
        };
        let span = self.span.clone().unwrap_or(0..0);
        let (line, col) = file.line_col(span.start);
        let gutter = line.to_string().len();
        let pad = " ".repeat(gutter);
        let _ = writeln!(out, "{pad}--> {}:{line}:{col}", esc(&display_path(&file.path)));
        if self.span.is_some() {
            // TOML allows no control characters but tab in a document, so the line is shown as is.
            let src_line = file.text.lines().nth(line - 1).unwrap_or("");
            let line_chars = src_line.chars().count();
            // Underline to the end of the span, or to the end of the line for multi-line spans.
            let (end_line, end_col) = file.line_col(span.end.max(span.start));
            let width = if end_line == line {
                end_col.saturating_sub(col).max(1)
            } else {
                line_chars.saturating_sub(col - 1).max(1)
            };
            let _ = writeln!(out, "{pad} |");
            let _ = writeln!(out, "{line} | {src_line}");
            let _ = write!(out, "{pad} | {}{}", " ".repeat(col - 1), "^".repeat(width));
            if let Some(label) = &self.label {
                let _ = write!(out, " {}", esc(label));
            }
            out.push('\n');
        }
        if let Some(help) = &self.help {
            let _ = writeln!(out, "{pad} = help: {}", esc(help));
        }
        out
    }

    /// A machine-readable form for `--format json`.
    pub fn to_json(&self) -> DiagnosticJson {
        let loc = self.location();
        DiagnosticJson {
            code: self.code,
            severity: self.severity,
            message: self.message.clone(),
            file: loc.as_ref().map(|l| display_path(&l.0)),
            line: loc.as_ref().map(|l| l.1),
            column: loc.as_ref().map(|l| l.2),
            span: self.file.as_ref().and(self.span.as_ref()).map(|s| JsonSpan {
                start: s.start,
                end: s.end,
            }),
            label: self.label.clone(),
            help: self.help.clone(),
        }
    }
}

/// Serialized form of a [`Diagnostic`] (documented in `docs/diagnostics.md`).
#[derive(Debug, Serialize)]
pub struct DiagnosticJson {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub file: Option<String>,
    /// 1-based line and column (in characters) of the span's start.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// Byte offsets of the offending text in the file.
    pub span: Option<JsonSpan>,
    pub label: Option<String>,
    pub help: Option<String>,
}

/// A byte range of a file, `start` inclusive, `end` exclusive.
#[derive(Debug, Serialize)]
pub struct JsonSpan {
    pub start: usize,
    pub end: usize,
}

/// Paths are shown relative to the working directory when they are inside it.
pub(crate) fn display_path(path: &Path) -> String {
    if let Ok(cwd) = std::env::current_dir()
        && let Ok(rel) = path.strip_prefix(&cwd)
    {
        // The working directory itself is `.`, never an empty string.
        return if rel.as_os_str().is_empty() {
            ".".into()
        } else {
            rel.display().to_string()
        };
    }
    path.display().to_string()
}

/// A collector of diagnostics shared by the readers of one configuration pass.
#[derive(Debug, Default)]
pub struct Diags(std::cell::RefCell<Vec<Diagnostic>>);

impl Diags {
    pub fn push(&self, d: Diagnostic) {
        self.0.borrow_mut().push(d);
    }
    pub fn extend(&self, ds: impl IntoIterator<Item = Diagnostic>) {
        self.0.borrow_mut().extend(ds);
    }
    pub fn len(&self) -> usize {
        self.0.borrow().len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.0.into_inner()
    }
}

/// The closest candidate to `word` by edit distance, if it is plausibly a typo of it.
pub(crate) fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// The help line of every "unknown X" diagnostic: `did you mean `Y`? ` when `word` is plausibly a
/// typo of a valid name, then `listing` and every valid name in backticks, e.g.
/// "did you mean `raw`? zones: `raw`, `cleaned`".
pub(crate) fn did_you_mean<S: AsRef<str>>(word: &str, valid: &[S], listing: &str) -> String {
    suggest(closest(word, valid.iter().map(AsRef::as_ref)), valid, listing)
}

/// Like [`did_you_mean`] with the suggestion already chosen (e.g. a case-insensitive match).
pub(crate) fn suggest<S: AsRef<str>>(near: Option<&str>, valid: &[S], listing: &str) -> String {
    let list = backticked(valid);
    match near {
        Some(c) => format!("did you mean `{c}`? {listing} {list}"),
        None => format!("{listing} {list}"),
    }
}

/// `a`, `b`, `c` — a list of identifiers in backticks.
pub(crate) fn backticked<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    items
        .into_iter()
        .map(|s| format!("`{}`", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        let f = SourceFile::new("x.toml", "a = 1\nbé = \"x\"\n");
        assert_eq!(f.line_col(0), (1, 1));
        let off = f.text.find('"').unwrap();
        assert_eq!(f.line_col(off), (2, 6));
    }

    #[test]
    fn render_underlines_the_span() {
        let f = SourceFile::new("x.toml", "kind = \"not_nul\"\n");
        let d = Diagnostic::at(Code::UnknownKind, &f, 7..16, "unknown check kind `not_nul`")
            .label("not a check kind")
            .help("did you mean `not_null`?");
        let r = d.render();
        assert!(
            r.starts_with("error[unknown-kind]: unknown check kind `not_nul`\n"),
            "{r}"
        );
        assert!(r.contains("--> x.toml:1:8"), "{r}");
        assert!(r.contains("        ^^^^^^^^^ not a check kind"), "{r}");
        assert!(r.contains("= help: did you mean `not_null`?"), "{r}");
    }

    #[test]
    fn closest_finds_typos_only() {
        let c = ["not_null", "unique", "range"];
        assert_eq!(closest("not_nul", c), Some("not_null"));
        assert_eq!(closest("zzzzzzzz", c), None);
    }

    #[test]
    fn codes_are_sorted_unique_kebab_case_and_documented() {
        let names: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted, "Code::ALL must be sorted by name, without repeats");
        for c in Code::ALL {
            let n = c.as_str();
            assert!(
                n.split('-')
                    .all(|w| !w.is_empty() && w.chars().all(|ch| ch.is_ascii_lowercase())),
                "`{n}` is not kebab-case"
            );
            assert!(
                c.meaning().ends_with('.') && c.meaning().len() > 20,
                "`{n}` needs a one-sentence meaning"
            );
        }
    }

    #[test]
    fn warnings_render_as_warnings_and_plain_ones_have_no_location() {
        let d = Diagnostic::plain(Code::EmptyDataset, "dataset `t` has no files").warning();
        assert_eq!(d.render(), "warning[empty-dataset]: dataset `t` has no files\n");
        let j = serde_json::to_value(d.to_json()).unwrap();
        assert_eq!(j["code"], "empty-dataset");
        assert_eq!(j["severity"], "warning");
        assert!(j["file"].is_null() && j["span"].is_null(), "{j}");
    }

    #[test]
    fn json_has_the_code_position_and_span() {
        let f = SourceFile::new("x.toml", "a = 1\nkind = \"not_nul\"\n");
        let start = f.text.find('"').unwrap();
        let d = Diagnostic::at(Code::UnknownKind, &f, start..start + 9, "unknown check kind `not_nul`").help("h");
        let j = serde_json::to_value(d.to_json()).unwrap();
        assert_eq!(j["code"], "unknown-kind");
        assert_eq!(j["severity"], "error");
        assert_eq!((j["line"].as_u64(), j["column"].as_u64()), (Some(2), Some(8)));
        assert_eq!(j["span"]["start"], start);
        assert_eq!(j["span"]["end"], start + 9);
        assert_eq!(j["help"], "h");
    }

    #[test]
    fn did_you_mean_suggests_only_near_names_and_lists_all() {
        let zones = ["raw", "cleaned"];
        assert_eq!(
            did_you_mean("rwa", &zones, "zones:"),
            "did you mean `raw`? zones: `raw`, `cleaned`"
        );
        assert_eq!(did_you_mean("zzzzzz", &zones, "zones:"), "zones: `raw`, `cleaned`");
        assert_eq!(
            suggest(Some("Name"), &["Name"], "the dataset has"),
            "did you mean `Name`? the dataset has `Name`"
        );
    }
}
