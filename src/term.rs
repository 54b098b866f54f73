//! Text bound for a terminal or a CI log.
//!
//! Column names, values and paths come from data files, and a name may hold an ESC sequence that
//! clears the screen or rewrites earlier lines of a CI log. Everything lakegate prints goes
//! through [`escape`] (a value) or [`escape_output`] (a whole output), which show control
//! characters (and the bidirectional overrides that reorder what is displayed) as escapes instead
//! of sending them; in JSON output the escape is JSON's own, so the document stays valid and
//! equal. Colour is used only on a terminal and never when `NO_COLOR` is set ([`colour`]).

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether a character would act on the terminal rather than be shown: C0 and C1 controls, DEL,
/// and the bidirectional embeddings, overrides and isolates.
fn acts(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every control character shown as an escape (`\n`, `\r`, `\t`, `\u001b`), so one value
/// stays on one line and cannot drive the terminal.
pub fn escape(s: &str) -> Cow<'_, str> {
    escape_but(s, |_| false)
}

/// A whole output of several lines, text or JSON, made safe to print: every control character
/// but the line break and tab is written `\uXXXX`. Inside a JSON string that is the escape of
/// the same character (serde leaves DEL and the C1 controls raw), so JSON stays valid and equal.
pub fn escape_output(s: &str) -> Cow<'_, str> {
    escape_but(s, |c| c == '\n' || c == '\t')
}

fn escape_but(s: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(|c| acts(c) && !keep(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            c if keep(c) || !acts(c) => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
        }
    }
    Cow::Owned(out)
}

/// Whether log lines on stderr may be coloured: only on a terminal, and not when `NO_COLOR` is set
/// to anything non-empty (<https://no-color.org>).
pub fn colour() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Log lines on their way to stderr, control characters escaped as in [`escape_output`]. With
/// colour on, ESC passes for the colour codes; tracing-subscriber then escapes ESC and the C1
/// controls inside messages and fields itself.
pub struct LogWriter {
    colour: bool,
}

impl LogWriter {
    pub fn new(colour: bool) -> Self {
        Self { colour }
    }
}

/// Whether a progress line is on stderr now; held while anything is written to stderr.
static PROGRESS_SHOWN: std::sync::Mutex<bool> = std::sync::Mutex::new(false);

/// Stderr's line discipline: erases a progress line if one is shown (`progress`), and returns the
/// lock to hold while writing, so a log line and the progress line never interleave.
pub(crate) fn stderr_line() -> std::sync::MutexGuard<'static, bool> {
    use std::io::Write as _;
    let mut shown = PROGRESS_SHOWN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if *shown {
        let _ = std::io::stderr().write_all(b"\r\x1b[K");
        *shown = false;
    }
    shown
}

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let safe = escape_but(&text, |c| c == '\n' || c == '\t' || (self.colour && c == '\u{1b}'));
        let _line = stderr_line();
        std::io::stderr().lock().write_all(safe.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_shown_not_sent() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a\u{1b}[2Jb"), "a\\u001b[2Jb");
        assert_eq!(escape("x\ny\rz\t"), "x\\ny\\rz\\t");
        assert_eq!(escape("\u{9b}31m\u{7f}"), "\\u009b31m\\u007f");
        assert_eq!(escape("abc\u{202e}fed"), "abc\\u202efed");
        assert_eq!(escape("café ✓"), "café ✓");
        assert_eq!(escape_output("a\u{1b}\n\tb\r"), "a\\u001b\n\tb\\r");
    }

    #[test]
    fn escaped_json_is_the_same_json() {
        let v = serde_json::json!({ "name": "x\u{9b}2J\u{7f}\u{1b}[0m\u{202e}" });
        let text = serde_json::to_string_pretty(&v).unwrap();
        let safe = escape_output(&text);
        assert!(!safe.chars().any(|c| acts(c) && c != '\n'), "{safe}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&safe).unwrap(), v);
    }
}
