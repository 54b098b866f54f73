//! `lakegate.toml`: the project — where the lake is, its zones, where the suites are.
//!
//! Read with the spanned [`TableReader`](crate::spanned::TableReader) so that every problem is
//! reported with its line and column. Every path is resolved relative to the directory of the file
//! that names it. Secrets never come from this file (alerts read them from the environment).

pub(crate) mod alerts;
pub(crate) mod audit;
pub(crate) mod lineage;

use std::path::{Path, PathBuf};

use crate::diag::{Code, Diagnostic, Diags, SourceFile};
use crate::spanned::{TableReader, parse_document};

/// The resolved project configuration.
#[derive(Debug, Clone)]
pub struct Project {
    /// The config file, when there is one.
    pub file: SourceFile,
    /// The directory relative paths are resolved against.
    pub dir: PathBuf,
    pub lake_root: PathBuf,
    /// Zones in promotion order (raw → cleaned → curated), then any others.
    pub zones: Vec<(String, PathBuf)>,
    pub suite_patterns: Vec<String>,
    /// `[history] dir`: the history store.
    pub history_dir: PathBuf,
    pub engine: EngineConfig,
    /// `[report] dir`: where `check` writes the HTML report (also `--report`).
    pub report_dir: Option<PathBuf>,
    /// `[report] templates`: a directory whose templates replace the built-in ones.
    pub report_templates: Option<PathBuf>,
    /// `[report] base_url`: where the report is served (http/https, ending in `/`); alert emails
    /// link a run's page under it.
    pub report_base_url: Option<String>,
    /// `[report] keep_runs`: run pages kept per dataset (older ones are removed from the site).
    pub report_keep_runs: usize,
    /// `[alerts]`: when alerts go out, and through which channels.
    pub(crate) alerts: alerts::AlertsConfig,
    /// `[lineage]`: where OpenLineage run events go (none when absent).
    pub(crate) lineage: Option<lineage::LineageConfig>,
    /// `[audit]`: defaults for `lakegate audit` (schedule, time zone, overlap, jobs, grace, heartbeat).
    pub(crate) audit: audit::AuditConfig,
}

/// `[engine]`: how DataFusion runs.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Bytes DataFusion's memory pool may use before operators spill to disk.
    pub memory_limit: u64,
    /// Datasets checked at the same time.
    pub concurrency: usize,
    /// DataFusion partitions per query (defaults to the number of cores).
    pub target_partitions: usize,
    /// Records read per CSV/JSON file to infer its schema.
    pub infer_rows: usize,
    /// Answer counts and bounds from Parquet footers when they state them exactly.
    pub statistics: bool,
    /// Measure only new or changed files (`None`: the command's default — on for `audit`, off for
    /// `check`).
    pub incremental: Option<bool>,
    /// Where queries run: `None` in this process, or a Ballista scheduler (`ballista://HOST:PORT`).
    pub url: Option<String>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Self {
            memory_limit: 2 << 30,
            concurrency: cores.clamp(1, 4),
            target_partitions: cores,
            infer_rows: 20_000,
            statistics: true,
            incremental: None,
            url: None,
        }
    }
}

impl Project {
    /// The directory of a zone.
    pub fn zone_dir(&self, zone: &str) -> Option<PathBuf> {
        self.zones
            .iter()
            .find(|(z, _)| z == zone)
            .map(|(_, p)| self.lake_root.join(p))
    }

    pub fn zone_names(&self) -> Vec<&str> {
        self.zones.iter().map(|(z, _)| z.as_str()).collect()
    }
}

/// Run pages the report keeps per dataset when `[report] keep_runs` does not say.
pub(crate) const DEFAULT_KEEP_RUNS: usize = 500;

/// The smallest memory pool lakegate accepts: below it DataFusion spills batch by batch and a scan can
/// take unboundedly long, which is worse than a clear refusal.
pub(crate) const MIN_MEMORY_LIMIT: u64 = 16 << 20;

/// Why an engine URL cannot be used by this build.
pub(crate) const WITHOUT_BALLISTA: &str =
    "this lakegate was built without Ballista support; build it with the `ballista` cargo feature (on by default)";

/// An engine URL (`[engine] url`, `--engine`): `local` (or empty) runs queries in this process,
/// `ballista://HOST:PORT` on a Ballista cluster (this build must have the `ballista` feature).
pub(crate) fn parse_engine_url(s: &str) -> Result<Option<String>, String> {
    let s = s.trim();
    if s.is_empty() || s == "local" {
        return Ok(None);
    }
    let Some(rest) = s.strip_prefix("ballista://") else {
        return Err(format!(
            "`{s}` is not an engine lakegate knows: write ballista://HOST:PORT for a Ballista scheduler, or local"
        ));
    };
    let rest = rest.trim_end_matches('/');
    let port_ok = rest
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0));
    if !port_ok || rest.contains('/') {
        return Err(format!(
            "`{s}` names no scheduler: write ballista://HOST:PORT, e.g. ballista://127.0.0.1:50050"
        ));
    }
    if cfg!(not(feature = "ballista")) {
        return Err(WITHOUT_BALLISTA.to_string());
    }
    Ok(Some(format!("ballista://{rest}")))
}

/// Parses a memory limit: a size of at least [`MIN_MEMORY_LIMIT`].
pub(crate) fn parse_memory_limit(s: &str) -> Result<u64, String> {
    let b = parse_size(s)?;
    if b < MIN_MEMORY_LIMIT {
        return Err(format!(
            "`{s}` is too little memory to run a query; use at least 16MB (operators spill to disk beyond the limit)"
        ));
    }
    Ok(b)
}

/// Parses a size such as `256MB`, `2GiB` or `1048576`.
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("`{s}` does not start with a number"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        other => return Err(format!("`{other}` is not a size unit (use KB, MB, GB)")),
    };
    Ok((n * mult) as u64)
}

/// Reads `lakegate.toml`. Problems are collected into `diags`; the project is returned when it is
/// usable.
pub(crate) fn load(path: &Path, diags: &Diags) -> Option<Project> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            diags.push(
                Diagnostic::plain(
                    Code::UnreadableFile,
                    format!("cannot read the project file {}: {e}", path.display()),
                )
                .help("run lakegate in a directory with a lakegate.toml, or pass --config FILE"),
            );
            return None;
        }
    };
    parse(path, &text, diags)
}

/// Parses the text of `lakegate.toml`, reading each table in turn; `None` when any problem was found.
pub(crate) fn parse(path: &Path, text: &str, diags: &Diags) -> Option<Project> {
    let file = SourceFile::new(path, text);
    let doc = match parse_document(&file, text) {
        Ok(d) => d,
        Err(d) => {
            diags.push(d);
            return None;
        }
    };
    let dir = project_dir(path);
    let before = diags.len();
    let mut top = TableReader::new(&file, diags, doc.get_ref(), 0..0, "lakegate.toml");

    let lake_root = read_lake(&mut top, &dir);
    let zones = read_zones(&mut top);
    let suite_patterns = read_suite_patterns(&mut top);
    let engine = read_engine(&mut top);
    let history_dir = read_history(&mut top, &dir);
    let (report_dir, report_templates, report_base_url, report_keep_runs) = read_report(&mut top, &dir);
    let alerts = alerts::read(&mut top, &dir);
    let audit = audit::read(&mut top);
    let lineage = lineage::read(&mut top, &dir);
    top.finish();

    if diags.len() > before {
        return None;
    }
    Some(Project {
        file,
        dir,
        lake_root: lake_root?,
        zones,
        suite_patterns,
        history_dir,
        engine,
        report_dir,
        report_templates,
        report_base_url,
        report_keep_runs,
        alerts,
        audit,
        lineage,
    })
}

/// The absolute directory of the project file, against which its relative paths are resolved.
fn project_dir(path: &Path) -> PathBuf {
    let dir = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    };
    // Absolute, so that paths in messages can be shown relative to the working directory.
    std::path::absolute(&dir).unwrap_or(dir)
}

/// `[lake]`: the lake root, resolved against `dir`; `None` (with a diagnostic) when missing or unsupported.
fn read_lake(top: &mut TableReader<'_, '_>, dir: &Path) -> Option<PathBuf> {
    let mut lake_root = None;
    if let Some(mut lake) = top.table("lake", "`[lake]`") {
        if let Some(root) = lake.req_str("root") {
            let r = root.get_ref();
            if r.contains("://") && !r.starts_with("s3://") {
                lake.push(
                    lake.error(
                        Code::Unsupported,
                        root.span(),
                        "only s3:// object-store lake roots are supported",
                    )
                    .label("another scheme")
                    .help(
                        "use s3://bucket/prefix (S3-compatible stores through AWS_ENDPOINT_URL) or a local directory",
                    ),
                );
            } else if let Some(bucket) = r.strip_prefix("s3://") {
                if bucket.split('/').next().unwrap_or_default().is_empty() {
                    lake.push(
                        lake.error(Code::InvalidValue, root.span(), "an s3:// lake root needs a bucket")
                            .label("no bucket")
                            .help("write s3://bucket or s3://bucket/prefix"),
                    );
                } else {
                    // An object-store root is a URL, never resolved against the project's directory.
                    lake_root = Some(PathBuf::from(r.trim_end_matches('/')));
                }
            } else {
                lake_root = Some(dir.join(root.get_ref()));
            }
        }
        lake.finish();
    } else {
        top.missing(
            "lake",
            Some("add a `[lake]` table with `root = \"path/to/lake\"`".into()),
        );
    }
    lake_root
}

/// `[zones]`: zone name = path, checked for layout; the four default zones when none are given.
fn read_zones(top: &mut TableReader<'_, '_>) -> Vec<(String, PathBuf)> {
    let file = top.file();
    let mut zones: Vec<(String, PathBuf)> = Vec::new();
    let mut zone_spans = Vec::new();
    if let Some(z) = top.raw("zones") {
        match z.get_ref() {
            toml::de::DeValue::Table(t) => {
                for (k, v) in t.iter() {
                    match v.get_ref() {
                        toml::de::DeValue::String(s) => {
                            zones.push((k.get_ref().to_string(), PathBuf::from(s.as_ref())));
                            zone_spans.push(v.span());
                        }
                        _ if k.get_ref() == "suites" => top.push(
                            Diagnostic::at(
                                Code::MisplacedKey,
                                file,
                                k.span(),
                                "`suites` is inside `[zones]`, so it would name a zone",
                            )
                            .label("belongs at the top of the file")
                            .help("move `suites = [...]` above the first `[table]` header"),
                        ),
                        _ => top.push(
                            Diagnostic::at(
                                Code::WrongType,
                                file,
                                v.span(),
                                format!("zone `{}` must be a path string", k.get_ref()),
                            )
                            .label("expected a string"),
                        ),
                    }
                }
            }
            _ => top.push(
                Diagnostic::at(
                    Code::WrongType,
                    file,
                    z.span(),
                    "`zones` must be a table of zone name = path",
                )
                .label("expected a table"),
            ),
        }
    }
    if zones.is_empty() {
        zones = ["raw", "cleaned", "curated", "quarantine"]
            .iter()
            .map(|z| ((*z).to_string(), PathBuf::from(z)))
            .collect();
    } else {
        check_zone_layout(file, &zones, &zone_spans, top.diags());
    }
    zones
}

/// `suites`: the globs that find suite files (default `checks/*.toml`), each checked to be a valid glob.
fn read_suite_patterns(top: &mut TableReader<'_, '_>) -> Vec<String> {
    let suite_patterns = top.str_list("suites").map_or_else(
        || vec!["checks/*.toml".to_string()],
        |s| s.into_inner().into_iter().map(toml::Spanned::into_inner).collect(),
    );
    for p in &suite_patterns {
        if let Err(e) = crate::paths::matcher(p) {
            top.push(Diagnostic::at(
                Code::InvalidGlob,
                top.file(),
                0..0,
                format!("suite pattern `{p}` is not a valid glob: {e}"),
            ));
        }
    }
    suite_patterns
}

/// `[engine]`: memory, concurrency, partitions, inference and statistics, over the defaults.
fn read_engine(top: &mut TableReader<'_, '_>) -> EngineConfig {
    let mut engine = EngineConfig::default();
    if let Some(mut e) = top.table("engine", "`[engine]`") {
        if let Some(m) = e.str("memory_limit") {
            match parse_memory_limit(m.get_ref()) {
                Ok(b) => engine.memory_limit = b,
                Err(msg) => e.push(
                    e.error(Code::InvalidValue, m.span(), msg)
                        .label("not a size")
                        .help("write a size such as \"512MB\" or \"2GB\""),
                ),
            }
        }
        if let Some(c) = e.uint("concurrency") {
            engine.concurrency = usize::try_from(*c.get_ref()).unwrap_or(1).max(1);
        }
        if let Some(c) = e.uint("target_partitions") {
            engine.target_partitions = usize::try_from(*c.get_ref()).unwrap_or(1).max(1);
        }
        if let Some(c) = e.uint("infer_rows") {
            engine.infer_rows = usize::try_from(*c.get_ref()).unwrap_or(usize::MAX).max(1);
        }
        if let Some(b) = e.bool("statistics") {
            engine.statistics = b.into_inner();
        }
        if let Some(b) = e.bool("incremental") {
            engine.incremental = Some(b.into_inner());
        }
        if let Some(u) = e.str("url") {
            match parse_engine_url(u.get_ref()) {
                Ok(url) => engine.url = url,
                Err(msg) => e.push(e.error(Code::InvalidValue, u.span(), msg).label("not an engine").help(
                    "write \"ballista://HOST:PORT\" (a Ballista scheduler), or leave `url` out to run queries here",
                )),
            }
        }
        e.finish();
    }
    engine
}

/// `[history] dir`: the history store, by default `.lakegate/history` beside the project file.
fn read_history(top: &mut TableReader<'_, '_>, dir: &Path) -> PathBuf {
    let mut history_dir = dir.join(".lakegate/history");
    if let Some(mut h) = top.table("history", "`[history]`") {
        if let Some(d) = h.str("dir") {
            history_dir = dir.join(d.get_ref());
        }
        h.finish();
    }
    history_dir
}

/// `[report]`: the report's directory and template override, resolved against `dir`, the URL it is
/// served at, and how many run pages to keep per dataset (a positive integer).
fn read_report(top: &mut TableReader<'_, '_>, dir: &Path) -> (Option<PathBuf>, Option<PathBuf>, Option<String>, usize) {
    let (mut out, mut templates, mut base_url, mut keep_runs) = (None, None, None, DEFAULT_KEEP_RUNS);
    if let Some(mut r) = top.table("report", "`[report]`") {
        if let Some(u) = r.str("base_url") {
            base_url = read_base_url(&r, &u);
        }
        if let Some(d) = r.str("dir") {
            out = Some(dir.join(d.get_ref()));
        }
        if let Some(t) = r.str("templates") {
            templates = Some(dir.join(t.get_ref()));
        }
        if let Some(k) = r.uint("keep_runs") {
            match usize::try_from(*k.get_ref()) {
                Ok(n) if n > 0 => keep_runs = n,
                _ => r.push(
                    r.error(
                        Code::OutOfRange,
                        k.span(),
                        format!("`keep_runs` must be a positive integer, found {}", k.get_ref()),
                    )
                    .label("no run page would be kept")
                    .help(format!(
                        "keep at least the latest run's page, e.g. `keep_runs = {}` (the default)",
                        DEFAULT_KEEP_RUNS
                    )),
                ),
            }
        }
        r.finish();
    }
    (out, templates, base_url, keep_runs)
}

/// `[report] base_url`: an http(s) URL without credentials, query or fragment; kept with a
/// trailing `/` so page paths join under it.
fn read_base_url(r: &TableReader<'_, '_>, u: &toml::Spanned<String>) -> Option<String> {
    let problem = match url::Url::parse(u.get_ref()) {
        Err(e) => Some(format!("`base_url` does not parse: {e}")),
        Ok(p) if !matches!(p.scheme(), "http" | "https") => Some(format!("`{}://` is not a web URL", p.scheme())),
        Ok(p) if p.host_str().is_none_or(str::is_empty) => Some("`base_url` names no host".into()),
        Ok(p) if !p.username().is_empty() || p.password().is_some() => {
            Some("`base_url` holds credentials; they would be mailed to every recipient".into())
        }
        Ok(p) if p.query().is_some() || p.fragment().is_some() => {
            Some("`base_url` has a query or fragment; page paths are joined after it".into())
        }
        Ok(_) => None,
    };
    if let Some(message) = problem {
        r.push(
            r.error(Code::InvalidValue, u.span(), message)
                .label("not the report's URL")
                .help("write where the report directory is served, e.g. \"https://reports.example.com/lakegate/\""),
        );
        return None;
    }
    let mut s = u.get_ref().clone();
    if !s.ends_with('/') {
        s.push('/');
    }
    Some(s)
}

/// A zone path relative to the lake root, normalized (`a/./b` → `a/b`), or why it is not one.
fn zone_relative(path: &Path) -> Result<PathBuf, &'static str> {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(s) => out.push(s),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return Err("it leads out of the lake root");
                }
            }
            Component::RootDir | Component::Prefix(_) => return Err("it is an absolute path"),
        }
    }
    if out.as_os_str().is_empty() {
        return Err("it is the lake root itself");
    }
    Ok(out)
}

/// Zones are distinct directories inside the lake root, none inside another: a promotion with
/// `--move` between two names of one directory would delete the only copy, and a zone nested in
/// another would read its own published files back as new data.
fn check_zone_layout(file: &SourceFile, zones: &[(String, PathBuf)], spans: &[std::ops::Range<usize>], diags: &Diags) {
    let mut normal: Vec<Option<PathBuf>> = Vec::new();
    for ((name, path), span) in zones.iter().zip(spans) {
        match zone_relative(path) {
            Ok(p) => normal.push(Some(p)),
            Err(why) => {
                diags.push(
                    Diagnostic::at(
                        Code::PathOutside,
                        file,
                        span.clone(),
                        format!("zone `{name}` must be a directory inside the lake root, but {why}"),
                    )
                    .label("not inside `[lake] root`")
                    .help(format!(
                        "use a relative path such as \"{name}\"; each zone is a directory under the lake root"
                    )),
                );
                normal.push(None);
            }
        }
    }
    for i in 0..zones.len() {
        for j in 0..i {
            let (Some(a), Some(b)) = (&normal[i], &normal[j]) else {
                continue;
            };
            let how = if a == b {
                "is the same directory as"
            } else if a.starts_with(b) {
                "is inside"
            } else if b.starts_with(a) {
                "contains"
            } else {
                continue;
            };
            diags.push(
                Diagnostic::at(
                    Code::ZonesOverlap,
                    file,
                    spans[i].clone(),
                    format!("zone `{}` {how} zone `{}` (`{}`)", zones[i].0, zones[j].0, crate::paths::slash(b)),
                )
                .label("zones overlap")
                .help("give every zone its own directory, side by side under the lake root (e.g. raw = \"raw\", cleaned = \"cleaned\")"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_project() {
        let d = Diags::default();
        let p = parse(
            Path::new("/p/lakegate.toml"),
            "suites = [\"checks/*.toml\"]\n[lake]\nroot = \"lake\"\n[zones]\nraw = \"r\"\ncleaned = \"c\"\n[engine]\nmemory_limit = \"256MB\"\n",
            &d,
        )
        .expect("valid");
        assert!(d.is_empty());
        assert_eq!(p.lake_root, Path::new("/p/lake"));
        assert_eq!(p.zone_dir("raw").unwrap(), Path::new("/p/lake/r"));
        assert_eq!(p.engine.memory_limit, 256 << 20);
    }

    #[test]
    fn the_report_base_url_is_an_http_url_and_a_mistake_points_at_it() {
        let d = Diags::default();
        let p = parse(
            Path::new("/p/lakegate.toml"),
            "[lake]\nroot = \"lake\"\n[report]\nbase_url = \"https://r.example.com/lg\"\n",
            &d,
        )
        .expect("valid");
        assert_eq!(p.report_base_url.as_deref(), Some("https://r.example.com/lg/"));
        for bad in [
            "ftp://r.example.com/",
            "reports/",
            "https://u:pw@r.example.com/",
            "https://r/?a=1",
        ] {
            let d = Diags::default();
            let text = format!("[lake]\nroot = \"lake\"\n[report]\nbase_url = \"{bad}\"\n");
            assert!(parse(Path::new("/p/lakegate.toml"), &text, &d).is_none(), "{bad}");
            let diags = d.into_vec();
            assert_eq!(diags.len(), 1, "{diags:?}");
            assert_eq!(diags[0].code, Code::InvalidValue);
            let shown = diags[0].render();
            assert!(shown.contains("lakegate.toml:4:12"), "{shown}");
            assert!(shown.contains("help:"), "{shown}");
        }
    }

    #[test]
    fn suites_inside_zones_is_explained() {
        let d = Diags::default();
        let p = parse(
            Path::new("l.toml"),
            "[lake]\nroot = \"x\"\n[zones]\nraw = \"raw\"\nsuites = [\"a\"]\n",
            &d,
        );
        assert!(p.is_none());
        let v = d.into_vec();
        assert!(v[0].message.contains("inside `[zones]`"), "{:?}", v[0]);
        assert_eq!(v[0].location().unwrap().1, 5);
    }

    #[test]
    fn zones_must_be_distinct_directories_inside_the_lake() {
        for (zones, want) in [
            (
                "raw = \"data\"\ncleaned = \"data\"\n",
                "is the same directory as zone `raw`",
            ),
            ("raw = \"raw\"\ncleaned = \"raw/t/clean\"\n", "is inside zone `raw`"),
            ("raw = \"a/raw\"\ncleaned = \"a\"\n", "contains zone `raw`"),
            (
                "raw = \"./x/../raw\"\ncleaned = \"raw/\"\n",
                "is the same directory as zone `raw`",
            ),
            (
                "raw = \"../../outside\"\ncleaned = \"c\"\n",
                "leads out of the lake root",
            ),
            ("raw = \"/tmp/raw\"\ncleaned = \"c\"\n", "absolute path"),
            ("raw = \".\"\ncleaned = \"c\"\n", "the lake root itself"),
        ] {
            let d = Diags::default();
            let p = parse(
                Path::new("l.toml"),
                &format!("[lake]\nroot = \"x\"\n[zones]\n{zones}"),
                &d,
            );
            assert!(p.is_none(), "{zones}");
            let v = d.into_vec();
            assert!(v.iter().any(|x| x.message.contains(want)), "{zones}: {v:?}");
        }
        let d = Diags::default();
        assert!(
            parse(
                Path::new("l.toml"),
                "[lake]\nroot = \"x\"\n[zones]\nraw = \"raw\"\nrawer = \"rawer\"\n",
                &d
            )
            .is_some()
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("256MB").unwrap(), 256 << 20);
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert!(parse_size("lots").is_err());
    }
}
