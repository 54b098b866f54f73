//! `lakegate init`: scaffold `lakegate.toml` and `checks/` in the current directory (or `--dir`).
//!
//! With `--lake DIR` it looks at the folder a newcomer already has: zone directories (`raw/`,
//! `cleaned/`, …) when it has them, or the folder itself as the raw zone; every file or directory
//! of data files in a zone becomes a dataset with a starter suite (`row_count` at least 1, which
//! passes on any data and catches an empty delivery) and the `lakegate suggest` command that
//! profiles it into a real one. Nothing is overwritten without `--force`; files appear whole or
//! not at all (`fs_atomic`).

use std::path::{Path, PathBuf};

use clap::Args;

use super::{CmdResult, Global, print_stdout};
use crate::exit::{CliError, Outcome};
use crate::fs_atomic;
use crate::suite::Format;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  lakegate init                    # lakegate.toml and an empty lake/ with four zones\n  lakegate init --lake data        # point at an existing folder and get a starter suite per dataset"
)]
pub struct InitArgs {
    /// An existing folder of data files (or of zone folders raw/, cleaned/, …) to use as the lake.
    #[arg(long, value_name = "DIR")]
    pub lake: Option<PathBuf>,
    /// Where to create the project (default: the current directory).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Replace files that exist.
    #[arg(long)]
    pub force: bool,
}

const ZONES: [&str; 4] = ["raw", "cleaned", "curated", "quarantine"];

/// A dataset found in the lake.
#[derive(Debug)]
struct Found {
    name: String,
    zone: String,
    /// Relative to the zone.
    path: String,
    format: Option<Format>,
    files: usize,
    bytes: u64,
}

pub async fn run(_global: &Global, args: &InitArgs) -> CmdResult {
    let dir = &args.dir;
    let (root, zones) = match &args.lake {
        None => (
            "lake".to_string(),
            ZONES.iter().map(|z| (z.to_string(), z.to_string())).collect(),
        ),
        Some(lake) => lake_layout(dir, lake)?,
    };
    let found = match &args.lake {
        Some(_) => datasets(&dir.join(&root), &zones),
        None => Vec::new(),
    };
    let mut files: Vec<(PathBuf, String)> = vec![(dir.join("lakegate.toml"), project_file(&root, &zones))];
    for f in &found {
        files.push((dir.join("checks").join(format!("{}.toml", f.name)), starter_suite(f)));
    }
    if !args.force {
        let taken: Vec<String> = files
            .iter()
            .filter(|(p, _)| p.exists())
            .map(|(p, _)| crate::diag::display_path(p))
            .collect();
        if !taken.is_empty() {
            return Err(CliError::Usage {
                message: format!(
                    "{} already exist{}; nothing was written",
                    taken.join(", "),
                    if taken.len() == 1 { "s" } else { "" }
                ),
                help: Some("pass --force to replace them, or run init in an empty directory".into()),
            });
        }
    }
    let io = |p: &Path, e: std::io::Error| {
        CliError::RunFailed(format!("cannot write {}: {e}", crate::diag::display_path(p)))
    };
    fs_atomic::create_dir_all(&dir.join("checks")).map_err(|e| io(&dir.join("checks"), e))?;
    if args.lake.is_none() {
        for z in ZONES {
            let d = dir.join(&root).join(z);
            fs_atomic::create_dir_all(&d).map_err(|e| io(&d, e))?;
        }
    }
    for (path, text) in &files {
        fs_atomic::write_atomic(path, text.as_bytes()).map_err(|e| io(path, e))?;
    }
    print_stdout(&summary(dir, &root, &found));
    Ok(Outcome::Done)
}

/// The lake root (relative to the project) and its zones, from what `lake` holds: zone folders, or
/// data files directly (then the folder is the raw zone, inside its parent as the root).
fn lake_layout(dir: &Path, lake: &Path) -> Result<(String, Vec<(String, String)>), CliError> {
    let abs = std::path::absolute(lake).unwrap_or_else(|_| lake.to_path_buf());
    if !abs.is_dir() {
        return Err(CliError::Usage {
            message: format!("--lake {}: not a directory", lake.display()),
            help: Some("point --lake at the folder that holds your data files".into()),
        });
    }
    let project = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let rel = |p: &Path| relative(&project, p);
    let has_zones = ZONES.iter().any(|z| abs.join(z).is_dir());
    if has_zones {
        return Ok((
            rel(&abs),
            ZONES.iter().map(|z| (z.to_string(), z.to_string())).collect(),
        ));
    }
    let parent = abs.parent().map(Path::to_path_buf).unwrap_or_else(|| abs.clone());
    let base = abs
        .file_name()
        .map_or_else(|| "raw".into(), |n| n.to_string_lossy().to_string());
    Ok((rel(&parent), vec![("raw".into(), base)]))
}

/// `path` relative to `from` when it is inside it, else absolute; always with `/`.
fn relative(from: &Path, path: &Path) -> String {
    match path.strip_prefix(from) {
        Ok(r) if r.as_os_str().is_empty() => ".".into(),
        Ok(r) => r.to_string_lossy().replace('\\', "/"),
        Err(_) => path.to_string_lossy().to_string(),
    }
}

/// Every dataset in the zones: each data file, and each directory holding data files.
fn datasets(root: &Path, zones: &[(String, String)]) -> Vec<Found> {
    let mut out: Vec<Found> = Vec::new();
    for (zone, zone_path) in zones {
        let Ok(entries) = std::fs::read_dir(root.join(zone_path)) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for e in entries {
            let entry_name = e.file_name().to_string_lossy().to_string();
            if entry_name.starts_with(['.', '_']) {
                continue;
            }
            let (files, bytes, format) = data_files(&e.path());
            if files == 0 {
                continue;
            }
            let stem = if e.path().is_dir() {
                entry_name.clone()
            } else {
                entry_name
                    .rsplit_once('.')
                    .map_or(entry_name.clone(), |(s, _)| s.to_string())
            };
            let mut name: String = stem
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
                .collect();
            if out.iter().any(|f| f.name == name) {
                name = format!("{zone}_{name}");
            }
            out.push(Found {
                name,
                zone: zone.clone(),
                path: entry_name,
                format,
                files,
                bytes,
            });
        }
    }
    out
}

/// The data files at `path` (itself, or under it): count, bytes, and their format when they agree.
fn data_files(path: &Path) -> (usize, u64, Option<Format>) {
    let (mut files, mut bytes, mut formats) = (0, 0, Vec::new());
    for e in walkdir::WalkDir::new(path).into_iter().flatten() {
        let hidden = e.path().strip_prefix(path).is_ok_and(|r| {
            r.components()
                .any(|c| c.as_os_str().to_string_lossy().starts_with(['.', '_']))
        });
        if !e.file_type().is_file() || hidden {
            continue;
        }
        let Some(f) = e
            .path()
            .extension()
            .and_then(|x| Format::from_extension(&x.to_string_lossy()))
        else {
            continue;
        };
        files += 1;
        bytes += e.metadata().map_or(0, |m| m.len());
        if !formats.contains(&f) {
            formats.push(f);
        }
    }
    (files, bytes, if formats.len() == 1 { Some(formats[0]) } else { None })
}

fn project_file(root: &str, zones: &[(String, String)]) -> String {
    let zone_lines: String = zones.iter().map(|(z, p)| format!("{z} = {}\n", toml_str(p))).collect();
    let only_raw = if zones.len() == 1 {
        "# cleaned = \"cleaned\"          # add the zones lakegate promotes into\n# quarantine = \"quarantine\"\n"
    } else {
        ""
    };
    format!(
        r#"# lakegate project: the lake, its zones, and where the suites are.
# Docs: README.md; every key is checked, so a typo is an error with its line.
suites = ["checks/*.toml"]      # one suite per dataset (lakegate suggest DATASET --write starts one)

[lake]
root = {root}

[zones]                         # zone name = folder inside the lake root
{zone_lines}{only_raw}
[history]
dir = ".lakegate/history"       # every run is recorded here (lakegate history DATASET)

[report]
dir = "lakegate-report"         # lakegate check writes the HTML report here

# [alerts]                      # email or webhook alerts when checks fail (docs/alerts.md)
# on = "failure"
# [[alerts.email]]
# url = "smtp://127.0.0.1:25"
# from = "lakegate@example.com"
# to = ["data-team@example.com"]
# username = "lakegate"                      # a login, if the relay wants one
# password_env = "LAKEGATE_SMTP_PASSWORD"   # its password comes from the environment, never from this file

# [audit]                       # lakegate audit runs each suite on its schedule (docs/audit.md)
# schedule = "0 * * * *"
# timezone = "UTC"
"#,
        root = toml_str(root)
    )
}

fn starter_suite(f: &Found) -> String {
    let format = f
        .format
        .map(|x| format!("format = \"{}\"\n", x.as_str()))
        .unwrap_or_default();
    format!(
        r#"# A starter suite for `{name}` ({files} {noun}, {size}), written by `lakegate init`.
# `lakegate suggest {name}` profiles the data and prints a fuller suite to paste here.
[dataset]
name = "{name}"
zone = "{zone}"
path = {path}
{format}
[[check]]
kind = "row_count"
min = 1                          # an empty delivery fails
"#,
        name = f.name,
        zone = f.zone,
        path = toml_str(&f.path),
        files = f.files,
        noun = if f.files == 1 { "file" } else { "files" },
        size = crate::results::numbers::fmt_bytes(f.bytes),
    )
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn summary(dir: &Path, root: &str, found: &[Found]) -> String {
    let mut s = format!(
        "Created {} and checks/.\n",
        crate::diag::display_path(&dir.join("lakegate.toml"))
    );
    if found.is_empty() {
        s.push_str(&format!(
            "\nNext: put a dataset's files in {root}/raw/NAME/ (Parquet, CSV or NDJSON), then\n  lakegate suggest raw/NAME --write     # profile it into a suite\n  lakegate check\n"
        ));
        return s;
    }
    s.push_str(&format!(
        "\nFound {} in the lake, each with a starter suite in checks/:\n",
        crate::checks::count_of(found.len() as u64, "dataset", "datasets")
    ));
    let name_w = found.iter().map(|f| f.name.chars().count()).max().unwrap_or(0);
    let path_w = found
        .iter()
        .map(|f| f.zone.chars().count() + f.path.chars().count() + 1)
        .max()
        .unwrap_or(0);
    for f in found {
        s.push_str(&format!(
            "  {:<name_w$}  {:<path_w$}  {} {}, {}\n",
            f.name,
            format!("{}/{}", f.zone, f.path),
            f.files,
            if f.files == 1 { "file" } else { "files" },
            crate::results::numbers::fmt_bytes(f.bytes)
        ));
    }
    s.push_str("\nNext:\n  lakegate validate                  # the suites against the files' schemas, no rows read\n  lakegate check                     # run them\n");
    if let Some(f) = found.first() {
        s.push_str(&format!(
            "  lakegate suggest {:<18} # a fuller suite from the data's profile\n",
            f.name
        ));
    }
    s
}
