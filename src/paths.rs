//! Path helpers: glob expansion relative to a base directory and the hidden-file rule.
//!
//! Suite globs (`checks/*.toml`) and dataset paths (`orders/*.parquet`) are both patterns relative
//! to a directory. Walking starts at the pattern's literal prefix, never at the base itself, so a
//! project next to a large `target/` directory does not pay for walking it.

use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};

/// Whether a string contains glob syntax.
/// The one object-store scheme a lake root may have.
pub(crate) const OBJECT_SCHEME: &str = "s3://";

/// Whether a path names an object (`s3://bucket/key`) rather than a local file.
pub(crate) fn is_remote(p: &Path) -> bool {
    p.to_str().is_some_and(|s| s.starts_with(OBJECT_SCHEME))
}

pub(crate) fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '[', '{'])
}

/// Files and directories whose name starts with `.` or `_` are not data (`_SUCCESS`, `_lakegate/`,
/// `.DS_Store`, staging directories).
pub(crate) fn is_hidden(name: &str) -> bool {
    name.starts_with('.') || name.starts_with('_')
}

/// The part of a pattern before its first segment with glob syntax.
pub(crate) fn literal_prefix(pattern: &str) -> &str {
    let mut end = 0;
    for (i, seg) in pattern.split('/').enumerate() {
        if is_glob(seg) {
            break;
        }
        end = if i == 0 { seg.len() } else { end + 1 + seg.len() };
    }
    &pattern[..end.min(pattern.len())]
}

pub(crate) fn matcher(pattern: &str) -> Result<GlobMatcher, String> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| e.kind().to_string())
}

/// Files under `base` matching `pattern` (relative to `base`), sorted. Hidden entries are skipped.
/// Links are followed; with `within`, only links whose resolved target stays inside that directory
/// (the lake root): any other link is skipped with a warning, so a planted link never makes lakegate
/// read (or promote, or delete) what lies outside the lake.
pub(crate) fn glob_files(base: &Path, pattern: &str, within: Option<&Path>) -> Result<Vec<PathBuf>, String> {
    let m = matcher(pattern)?;
    let prefix = literal_prefix(pattern);
    let start = base.join(prefix);
    let mut out = Vec::new();
    if !start.exists() {
        return Ok(out);
    }
    let root = within.map(resolved);
    let outside = |p: &Path| root.as_ref().is_some_and(|r| !resolved(p).starts_with(r));
    if outside(&start) {
        return Err(format!(
            "{} leads outside the lake root (a link?); lakegate reads only what lies inside the lake",
            start.display()
        ));
    }
    let mut skipped = Vec::new();
    let walk = walkdir::WalkDir::new(&start)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            if e.depth() == 0 {
                return true;
            }
            if is_hidden(&e.file_name().to_string_lossy()) {
                return false;
            }
            if e.path_is_symlink() && outside(e.path()) {
                skipped.push(e.path().to_path_buf());
                return false;
            }
            true
        });
    for entry in walk {
        let entry = match entry {
            Ok(e) => e,
            // A link loop or a dangling link is not data: say so and go on.
            Err(e) if e.loop_ancestor().is_some() || e.path().is_some_and(|p| p.is_symlink()) => {
                tracing::warn!(path = %e.path().map(|p| p.display().to_string()).unwrap_or_default(), "Skipping a link that loops or leads nowhere.");
                continue;
            }
            Err(e) => return Err(e.to_string()),
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(base).unwrap_or(entry.path());
        if m.is_match(rel) {
            out.push(entry.path().to_path_buf());
        }
    }
    for p in skipped {
        tracing::warn!(link = %p.display(), "Skipping a link that leads outside the lake root.");
    }
    Ok(out)
}

/// Where a path really is: links resolved in the part that exists, the rest appended as written.
pub(crate) fn resolved(path: &Path) -> PathBuf {
    let mut existing = path;
    let mut rest = Vec::new();
    loop {
        if let Ok(c) = existing.canonicalize() {
            let mut out = c;
            out.extend(rest.iter().rev());
            return out;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
        }
    }
}

/// Whether `path`, links resolved, lies inside `root` (links resolved too).
pub(crate) fn is_within(root: &Path, path: &Path) -> bool {
    resolved(path).starts_with(resolved(root))
}

/// A path with `/` separators, for stable output on every platform.
pub(crate) fn slash(p: &Path) -> String {
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

    #[cfg(unix)]
    #[test]
    fn links_are_followed_only_inside_the_root() {
        let t = tempfile::tempdir().unwrap();
        let lake = t.path().join("lake");
        let outside = t.path().join("outside");
        std::fs::create_dir_all(lake.join("raw/d/sub")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(lake.join("raw/d/a.csv"), "x\n1\n").unwrap();
        std::fs::write(lake.join("raw/elsewhere.csv"), "x\n2\n").unwrap();
        std::fs::write(outside.join("secret.csv"), "x\n3\n").unwrap();
        std::os::unix::fs::symlink(lake.join("raw/elsewhere.csv"), lake.join("raw/d/in.csv")).unwrap();
        std::os::unix::fs::symlink(outside.join("secret.csv"), lake.join("raw/d/out.csv")).unwrap();
        std::os::unix::fs::symlink(&outside, lake.join("raw/d/sub/outdir")).unwrap();
        std::os::unix::fs::symlink(lake.join("raw/d"), lake.join("raw/d/sub/loop")).unwrap();
        let found = glob_files(&lake.join("raw"), "d/**", Some(&lake)).unwrap();
        let names: Vec<String> = found
            .iter()
            .map(|p| slash(p.strip_prefix(lake.join("raw")).unwrap()))
            .collect();
        assert!(names.contains(&"d/a.csv".to_string()), "{names:?}");
        assert!(names.contains(&"d/in.csv".to_string()), "{names:?}");
        assert!(!names.iter().any(|n| n.contains("out")), "{names:?}");
        std::os::unix::fs::symlink(&outside, lake.join("raw/linked")).unwrap();
        assert!(glob_files(&lake.join("raw"), "linked/**", Some(&lake)).is_err());
    }
}
