//! `lakegate suggest`: profile a dataset in one scan and propose a starter suite.
//!
//! The target is a dataset some suite declares (its `[dataset]` table, reading options included,
//! is kept) or a file, directory or glob (then a `[dataset]` table is made for it: its zone when it
//! lies in one, else a placeholder the user must fill in). The engine measures the data
//! ([`crate::engine::profile`]); [`rules`] turn the numbers into checks with their evidence;
//! [`render`] writes the commented TOML. [`write`] publishes it as `checks/NAME.toml`, never over an
//! existing file.

pub(crate) mod render;
pub(crate) mod rules;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::config::Project;
use crate::diag::{Diags, SourceFile, display_path};
use crate::engine::{DatasetError, Engine};
use crate::paths::{is_glob, literal_prefix};
use crate::suite::Suite;

/// Why no suite could be suggested (or written).
#[derive(Debug, thiserror::Error)]
pub(crate) enum SuggestError {
    #[error("no suite declares a dataset named `{target}`, and there is no file or directory `{target}`")]
    UnknownTarget { target: String, datasets: Vec<String> },
    #[error("`{target}` cannot be read as a dataset: {message}")]
    BadTarget { target: String, message: String },
    #[error("dataset `{dataset}` is in zone `{zone}`, which lakegate.toml does not define")]
    UnknownZone { dataset: String, zone: String },
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error("cannot start the query engine: {0}")]
    Engine(String),
    #[error("{} already exists; `suggest --write` never overwrites a suite", display_path(.0))]
    Exists(PathBuf),
    #[error("dataset `{name}` is already declared by {}; a project's dataset names are unique", display_path(.file))]
    NameTaken { name: String, file: PathBuf },
    #[error("`{0}` is not a valid dataset name (use letters, digits, `_` and `-`)")]
    BadName(String),
    #[error("cannot write {}: {error}", display_path(.path))]
    Write { path: PathBuf, error: std::io::Error },
}

impl SuggestError {
    /// Whether the command line asked for something impossible (exit 2) rather than the run
    /// failing (exit 3).
    pub(crate) fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::UnknownTarget { .. }
                | Self::BadTarget { .. }
                | Self::Exists(_)
                | Self::NameTaken { .. }
                | Self::BadName(_)
        )
    }

    /// A `help:` line, when there is something to suggest.
    pub(crate) fn help(&self) -> Option<String> {
        match self {
            Self::UnknownTarget { datasets, .. } if !datasets.is_empty() => Some(format!(
                "datasets: {}; or give a path to a file, directory or glob",
                datasets.join(", ")
            )),
            Self::UnknownTarget { .. } => {
                Some("give a path to a file, directory or glob, or the name of a dataset a suite declares".into())
            }
            Self::Exists(_) | Self::NameTaken { .. } => {
                Some("choose another name with --name, or remove the existing suite".into())
            }
            _ => None,
        }
    }
}

/// A suggested suite.
#[derive(Debug)]
pub(crate) struct Suggestion {
    /// The dataset name the suite declares (and its file's stem).
    pub(crate) name: String,
    pub(crate) toml: String,
    /// The profile and the checks, for `--format json`.
    pub(crate) json: serde_json::Value,
    pub(crate) checks: usize,
}

/// Where the data is: the suite to open it with, the lake root links must stay in, the zone
/// directory its path is relative to, and a note when it lies outside every zone.
struct Located {
    suite: Suite,
    lake_root: PathBuf,
    zone_dir: PathBuf,
    outside: Option<String>,
}

/// A valid dataset name from a file or directory name.
fn name_from(path: &str) -> String {
    let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    let stem = last.split('.').next().unwrap_or(last);
    let name: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
        .collect();
    let name = name.trim_matches('_').to_string();
    if name.is_empty() { "dataset".into() } else { name }
}

fn valid_name(n: &str) -> bool {
    !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A `Suite` for a path (its `[dataset]` table only matters).
fn path_suite(target: &str, name: &str, zone: &str, path: &str) -> Result<Suite, SuggestError> {
    let s = |v: &str| toml::Value::String(v.to_string()).to_string();
    let text = format!(
        "[dataset]\nname = {}\nzone = {}\npath = {}\n\n[[check]]\nkind = \"row_count\"\nmin = 0\n",
        s(name),
        s(zone),
        s(path)
    );
    let diags = Diags::default();
    crate::suite::parse_suite(&SourceFile::new("<suggest>", text), &diags).ok_or_else(|| SuggestError::BadTarget {
        target: target.to_string(),
        message: diags
            .into_vec()
            .iter()
            .map(|d| d.message.clone())
            .collect::<Vec<_>>()
            .join("; "),
    })
}

/// `path` relative to `base`, `/`-separated, when it lies strictly inside it.
fn inside(base: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(base).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// A path target in parts: without its trailing `/`; whether it is a glob; its literal prefix (the
/// whole path when it is not a glob) and the rest.
struct Target<'a> {
    trimmed: &'a str,
    glob: bool,
    prefix: &'a str,
    tail: &'a str,
}

impl<'a> Target<'a> {
    fn of(target: &'a str) -> Self {
        let trimmed = target.trim_end_matches('/');
        let glob = is_glob(trimmed);
        let prefix = if glob {
            literal_prefix(trimmed).trim_end_matches('/')
        } else {
            trimmed
        };
        Self {
            trimmed,
            glob,
            prefix,
            tail: &trimmed[prefix.len()..],
        }
    }
}

/// Finds a path's zone, or makes a placeholder for a path outside every zone.
fn locate_path(project: &Project, target: &str, name: Option<&str>) -> Result<Located, SuggestError> {
    if crate::paths::is_remote(Path::new(target)) {
        return locate_object(project, target, name);
    }
    let Target {
        trimmed,
        glob,
        prefix,
        tail,
    } = Target::of(target);
    let prefix_path = if prefix.is_empty() {
        Path::new(".")
    } else {
        Path::new(prefix)
    };
    let unknown = || SuggestError::UnknownTarget {
        target: target.to_string(),
        datasets: Vec::new(),
    };
    if !prefix_path.exists() {
        return Err(unknown());
    }
    let abs = std::path::absolute(prefix_path).map_err(|_| unknown())?;
    let abs = normalize(&abs);
    let name = name.map_or_else(|| name_from(if glob { prefix } else { trimmed }), str::to_string);
    let lake_root = normalize(&std::path::absolute(&project.lake_root).unwrap_or_else(|_| project.lake_root.clone()));
    for (zone, _) in &project.zones {
        let Some(dir) = project.zone_dir(zone) else { continue };
        let dir = normalize(&std::path::absolute(&dir).unwrap_or(dir));
        if let Some(rel) = inside(&dir, &abs) {
            let path = format!("{rel}{tail}");
            return Ok(Located {
                suite: path_suite(target, &name, zone, &path)?,
                lake_root,
                zone_dir: dir,
                outside: None,
            });
        }
    }
    // Outside every zone: read it where it is, and say what the suite still needs.
    let (base, path) = if glob {
        (abs.clone(), tail.trim_start_matches('/').to_string())
    } else {
        let parent = abs.parent().map_or_else(|| abs.clone(), Path::to_path_buf);
        let file = abs
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        (parent, file)
    };
    let zone = project.zones.first().map_or("raw", |(z, _)| z.as_str()).to_string();
    let note = format!(
        "{target} lies outside the lake's zones ({}): copy the data into a zone, then set `zone` and `path` below to where it is (they are placeholders).",
        display_path(&lake_root)
    );
    Ok(Located {
        suite: path_suite(target, &name, &zone, &path)?,
        lake_root: base.clone(),
        zone_dir: base,
        outside: Some(note),
    })
}

/// Finds the zone of an object path (`s3://bucket/lake/raw/orders`, a prefix, an object or a glob),
/// or makes a placeholder for one outside every zone. Nothing is listed here: opening the dataset
/// says when nothing is there.
fn locate_object(project: &Project, target: &str, name: Option<&str>) -> Result<Located, SuggestError> {
    let Target {
        trimmed,
        glob,
        prefix,
        tail,
    } = Target::of(target);
    let name = name.map_or_else(|| name_from(if glob { prefix } else { trimmed }), str::to_string);
    for (zone, _) in &project.zones {
        let Some(dir) = project.zone_dir(zone) else { continue };
        let dir_text = dir.to_string_lossy().trim_end_matches('/').to_string();
        let Some(rest) = prefix.strip_prefix(&dir_text) else {
            continue;
        };
        let path = format!("{}{tail}", rest.trim_start_matches('/'));
        if (rest.is_empty() || rest.starts_with('/')) && !path.trim_start_matches('/').is_empty() {
            return Ok(Located {
                suite: path_suite(target, &name, zone, path.trim_start_matches('/'))?,
                lake_root: project.lake_root.clone(),
                zone_dir: dir,
                outside: None,
            });
        }
    }
    let (base, path) = if glob {
        (prefix.to_string(), tail.trim_start_matches('/').to_string())
    } else {
        match trimmed.rsplit_once('/') {
            Some((parent, last)) if parent.len() > crate::paths::OBJECT_SCHEME.len() => {
                (parent.to_string(), last.to_string())
            }
            _ => {
                return Err(SuggestError::UnknownTarget {
                    target: target.to_string(),
                    datasets: Vec::new(),
                });
            }
        }
    };
    let zone = project.zones.first().map_or("raw", |(z, _)| z.as_str()).to_string();
    let note = format!(
        "{target} lies outside the lake's zones ({}): copy the data into a zone, then set `zone` and `path` below to where it is (they are placeholders).",
        display_path(&project.lake_root)
    );
    Ok(Located {
        suite: path_suite(target, &name, &zone, &path)?,
        lake_root: PathBuf::from(&base),
        zone_dir: PathBuf::from(base),
        outside: Some(note),
    })
}

/// `a/./b/../c` → `a/c`, without touching the file system (links are the reader's business).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// What `suggest` was asked.
pub(crate) struct Request<'a> {
    pub(crate) target: &'a str,
    pub(crate) name: Option<&'a str>,
    pub(crate) now: DateTime<Utc>,
}

/// Profiles the target and suggests a suite for it.
pub(crate) async fn suggest(
    project: &Project,
    suites: &[Suite],
    req: &Request<'_>,
) -> Result<Suggestion, SuggestError> {
    if let Some(n) = req.name
        && !valid_name(n)
    {
        return Err(SuggestError::BadName(n.to_string()));
    }
    if let Some(s) = suites.iter().find(|s| s.dataset.name.get_ref() == req.target) {
        let zone = s.dataset.zone.get_ref();
        let zone_dir = project.zone_dir(zone).ok_or_else(|| SuggestError::UnknownZone {
            dataset: req.target.to_string(),
            zone: zone.clone(),
        })?;
        return run(project, req, s, &project.lake_root, &zone_dir, None).await;
    }
    let l = locate_path(project, req.target, req.name).map_err(|e| match e {
        SuggestError::UnknownTarget { target, .. } => SuggestError::UnknownTarget {
            target,
            datasets: suites.iter().map(|s| s.dataset.name.get_ref().clone()).collect(),
        },
        other => other,
    })?;
    run(project, req, &l.suite, &l.lake_root, &l.zone_dir, l.outside).await
}

/// Opens, profiles, applies the rules and renders.
async fn run(
    project: &Project,
    req: &Request<'_>,
    suite: &Suite,
    lake_root: &Path,
    zone_dir: &Path,
    outside: Option<String>,
) -> Result<Suggestion, SuggestError> {
    let engine = Engine::new(&project.engine).map_err(|e| SuggestError::Engine(e.to_string()))?;
    let ds = engine.open(suite, lake_root, zone_dir, None, None).await?;
    let spec = &suite.dataset;
    let columns: Vec<(String, crate::engine::profile::ColumnClass, bool)> = ds
        .schema
        .fields()
        .iter()
        .map(|f| {
            let p = crate::engine::profile::class_of(f.data_type());
            (f.name().clone(), p, ds.partition_keys.contains(f.name()))
        })
        .collect();
    let keys = rules::key_candidates(&columns, &spec.key);
    let profile = engine.profile(&ds, &keys).await?;
    let found = rules::suggest(&profile, req.now, &spec.key);
    let name = req.name.unwrap_or(spec.name.get_ref()).to_string();
    let mut header = vec![format!(
        "Suggested by `lakegate suggest {}` at {} from {} in {} ({}). Each check passes on that data; its comment gives the evidence and the margin (docs/suggest.md). The checks describe the data as it is, defects included: review them before relying on them.",
        req.target,
        req.now.format("%Y-%m-%dT%H:%M:%SZ"),
        crate::results::numbers::count_of(profile.rows, "row", "rows"),
        crate::results::numbers::count_of(profile.files as u64, "file", "files"),
        profile.format
    )];
    header.extend(outside.clone());
    let table = render::DatasetTable {
        spec,
        name: &name,
        format: profile.format,
        partitions: &ds.partition_keys,
    };
    let toml = render::suite(&header, &table, &found);
    let checks: Vec<serde_json::Value> = found
        .checks
        .iter()
        .map(|c| {
            let mut o = serde_json::Map::new();
            o.insert("kind".into(), c.kind.into());
            if let Some(col) = &c.column {
                o.insert("column".into(), col.clone().into());
            }
            for (k, v) in &c.keys {
                o.insert((*k).to_string(), serde_json::to_value(v).unwrap_or_default());
            }
            o.insert("evidence".into(), c.evidence.clone().into());
            serde_json::Value::Object(o)
        })
        .collect();
    let json = json!({
        "lakegate": env!("CARGO_PKG_VERSION"),
        "dataset": name,
        "target": req.target,
        "now": req.now.to_rfc3339(),
        "outside_lake": outside.is_some(),
        "profile": profile,
        "checks": checks,
        "notes": found.notes,
        "suite": toml,
    });
    Ok(Suggestion {
        name,
        checks: found.checks.len(),
        toml,
        json,
    })
}

/// Publishes the suite as `checks/NAME.toml` in the project, refusing to replace a file or to
/// declare a dataset name another suite declares. Returns the path written.
pub(crate) fn write(project: &Project, suites: &[Suite], s: &Suggestion) -> Result<PathBuf, SuggestError> {
    if let Some(other) = suites.iter().find(|x| *x.dataset.name.get_ref() == s.name) {
        let path = project.dir.join("checks").join(format!("{}.toml", s.name));
        if other.file.path == path || path.exists() {
            return Err(SuggestError::Exists(path));
        }
        return Err(SuggestError::NameTaken {
            name: s.name.clone(),
            file: other.file.path.clone(),
        });
    }
    let path = project.dir.join("checks").join(format!("{}.toml", s.name));
    match crate::fs_atomic::publish_new(&path, s.toml.as_bytes()) {
        Ok(true) => Ok(path),
        Ok(false) => Err(SuggestError::Exists(path)),
        Err(error) => Err(SuggestError::Write { path, error }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_last_path_segment() {
        assert_eq!(name_from("fixtures/lake/raw/orders"), "orders");
        assert_eq!(name_from("data/my file.v2.csv"), "my_file");
        assert_eq!(name_from("./"), "dataset");
    }
}
