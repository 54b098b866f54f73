//! Path helpers: glob expansion relative to a base directory and the hidden-file rule.
//!
//! Suite globs (`checks/*.toml`) and dataset paths (`orders/*.parquet`) are both patterns relative
//! to a directory. Walking starts at the pattern's literal prefix, never at the base itself, so a
//! project next to a large `target/` directory does not pay for walking it.

use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};

/// Whether a string contains glob syntax.
pub fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '[', '{'])
}

/// Files and directories whose name starts with `.` or `_` are not data (`_SUCCESS`, `_lakegate/`,
/// `.DS_Store`, staging directories).
pub fn is_hidden(name: &str) -> bool {
    name.starts_with('.') || name.starts_with('_')
}

/// The part of a pattern before its first segment with glob syntax.
pub fn literal_prefix(pattern: &str) -> &str {
    let mut end = 0;
    for (i, seg) in pattern.split('/').enumerate() {
        if is_glob(seg) {
            break;
        }
        end = if i == 0 { seg.len() } else { end + 1 + seg.len() };
    }
    &pattern[..end.min(pattern.len())]
}

pub fn matcher(pattern: &str) -> Result<GlobMatcher, String> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| e.kind().to_string())
}

/// Files under `base` matching `pattern` (relative to `base`), sorted. Hidden entries are skipped.
pub fn glob_files(base: &Path, pattern: &str) -> Result<Vec<PathBuf>, String> {
    let m = matcher(pattern)?;
    let prefix = literal_prefix(pattern);
    let start = base.join(prefix);
    let mut out = Vec::new();
    if !start.exists() {
        return Ok(out);
    }
    for entry in walkdir::WalkDir::new(&start)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !is_hidden(&e.file_name().to_string_lossy()))
    {
        let entry = entry.map_err(|e| e.to_string())?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(base).unwrap_or(entry.path());
        if m.is_match(rel) {
            out.push(entry.path().to_path_buf());
        }
    }
    Ok(out)
}

/// A path with `/` separators, for stable output on every platform.
pub fn slash(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_stops_at_glob() {
        assert_eq!(literal_prefix("checks/*.toml"), "checks");
        assert_eq!(literal_prefix("a/b/**/x.csv"), "a/b");
        assert_eq!(literal_prefix("*.toml"), "");
        assert_eq!(literal_prefix("plain/file.toml"), "plain/file.toml");
    }
}
