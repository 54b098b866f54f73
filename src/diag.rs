//! Diagnostics for configuration problems.
//!
//! Every problem lakegate finds in `lakegate.toml` or a suite is a [`Diagnostic`]: a message, the
//! file it is in, the byte span of the offending value, a short label and a `help:` line. They are
//! collected (never thrown one at a time) so that a user sees every problem in one pass, then
//! rendered with the source line and an underline, the way rustc and cargo do it.

use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

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
    pub fn at(file: &SourceFile, span: Range<usize>, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            file: Some(file.clone()),
            span: Some(span),
            label: None,
            help: None,
            lacks_column: None,
        }
    }

    /// A problem with a whole file (or no file at all).
    pub fn plain(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            file: None,
            span: None,
            label: None,
            help: None,
            lacks_column: None,
        }
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
        let mut out = format!("error: {}\n", esc(&self.message));
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
            message: self.message.clone(),
            file: loc.as_ref().map(|l| display_path(&l.0)),
            line: loc.as_ref().map(|l| l.1),
            column: loc.as_ref().map(|l| l.2),
            label: self.label.clone(),
            help: self.help.clone(),
        }
    }
}

/// Serialized form of a [`Diagnostic`].
#[derive(Debug, Serialize)]
pub struct DiagnosticJson {
    pub message: String,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub label: Option<String>,
    pub help: Option<String>,
}

/// Paths are shown relative to the working directory when they are inside it.
pub fn display_path(path: &Path) -> String {
    if let Ok(cwd) = std::env::current_dir()
        && let Ok(rel) = path.strip_prefix(&cwd)
    {
        return rel.display().to_string();
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
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `a`, `b`, `c` — a list of identifiers in backticks.
pub fn backticked<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
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
        let d = Diagnostic::at(&f, 7..16, "unknown check kind `not_nul`")
            .label("not a check kind")
            .help("did you mean `not_null`?");
        let r = d.render();
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
}
