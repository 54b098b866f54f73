//! OpenLineage run events (<https://openlineage.io>, spec 2-0-2) for the lake's lineage layer: each
//! dataset a run checks is a job (`<zone>.<dataset>`) with its own run, which gets a START before
//! the checks and a COMPLETE (or FAIL when the dataset could not be checked) after them.
//!
//! The checked dataset is the job's input: namespace `file` and the dataset's absolute location as
//! its name. Its `inputFacets` carry `dataQualityAssertions` (one assertion per check: kind, check
//! id, column, success, severity, expected, actual, description; facet 1-1-0, whose `expected` and
//! `actual` are strings) and `dataQualityMetrics` (rows, files, and per column the null counts the
//! run already measured — nothing is queried for lineage). The assertions are also sent under `facets`, for consumers that only read those
//! (MarquezProject/marquez#2503).
//!
//! Delivery: an HTTP POST per event through the webhook client (http or https), or one JSON line
//! per event appended to a file. What became of each event is recorded in the run's result
//! (`lineage`); a failure never changes the exit code.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::config::Project;
use crate::config::lineage::{LineageConfig, LineageTarget};
use crate::results::{DatasetResult, LineageOutcome, RunResult, Status};

const SCHEMA_URL: &str = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";
// The facet versions whose fields lakegate fills: 1-1-0 is the first assertions facet with
// `severity`, `name`, `description`, `expected`, `actual`, `content` and `contentType`.
const ASSERTIONS_URL: &str = "https://openlineage.io/spec/facets/1-1-0/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet";
const METRICS_URL: &str = "https://openlineage.io/spec/facets/1-0-3/DataQualityMetricsInputDatasetFacet.json#/$defs/DataQualityMetricsInputDatasetFacet";

/// Who produced the events (a URI, as OpenLineage asks).
fn producer() -> String {
    format!(
        "https://github.com/lakegate/lakegate/tree/v{}",
        env!("CARGO_PKG_VERSION")
    )
}

/// A dataset as the START event knows it (before any row is read).
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub dataset: String,
    pub zone: String,
    /// The dataset's absolute location.
    pub location: String,
}

/// The OpenLineage run id of one dataset's part of a lakegate run: a UUID v7 with the time of the
/// lakegate run's own id (itself a UUID v7) and other bits from the run id and dataset, so START
/// and COMPLETE agree without keeping state between them.
pub(crate) fn run_id(lakegate_run: &str, dataset: &str) -> String {
    let h = Sha256::digest(format!("{lakegate_run}\u{0}{dataset}").as_bytes());
    let mut b = [0u8; 16];
    if let Ok(u) = uuid::Uuid::parse_str(lakegate_run) {
        b[..6].copy_from_slice(&u.as_bytes()[..6]);
    }
    b[6..].copy_from_slice(&h[..10]);
    b[6] = (b[6] & 0x0f) | 0x70;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(b).to_string()
}

/// An OpenLineage dataset reference: namespace = storage authority (`file`, or `s3://bucket` with
/// the key as the name, OpenLineage's naming for object stores).
fn dataset_ref(location: &str) -> Value {
    match location.strip_prefix(crate::paths::OBJECT_SCHEME) {
        Some(rest) => {
            let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
            json!({ "namespace": format!("{}{bucket}", crate::paths::OBJECT_SCHEME), "name": key, "facets": {} })
        }
        None => json!({ "namespace": "file", "name": location, "facets": {} }),
    }
}

fn base(cfg: &LineageConfig, event_type: &str, time: DateTime<Utc>, run: &str, job: &Job) -> Value {
    json!({
        "eventType": event_type,
        "eventTime": time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "run": { "runId": run, "facets": {} },
        "job": { "namespace": cfg.namespace, "name": format!("{}.{}", job.zone, job.dataset), "facets": {} },
        "inputs": [dataset_ref(&job.location)],
        "outputs": [],
        "producer": producer(),
        "schemaURL": SCHEMA_URL,
    })
}

/// The START event of a dataset's run.
pub(crate) fn start_event(cfg: &LineageConfig, lakegate_run: &str, started: DateTime<Utc>, job: &Job) -> Value {
    base(cfg, "START", started, &run_id(lakegate_run, &job.dataset), job)
}

/// The FAIL event of a dataset's run that never checked a row (the run stopped on configuration
/// problems after its START went out), so no START is left without an end.
pub(crate) fn abort_event(cfg: &LineageConfig, lakegate_run: &str, at: DateTime<Utc>, job: &Job, why: &str) -> Value {
    let mut e = base(cfg, "FAIL", at, &run_id(lakegate_run, &job.dataset), job);
    e["run"]["facets"]["errorMessage"] = error_facet(why);
    e
}

fn error_facet(message: &str) -> Value {
    json!({
        "_producer": producer(),
        "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
        "message": message,
        "programmingLanguage": "Rust",
    })
}

/// The COMPLETE (or FAIL) event of a dataset's run, with its data-quality facets.
pub(crate) fn end_event(cfg: &LineageConfig, run: &RunResult, d: &DatasetResult, job: &Job) -> Value {
    let failed = d.error.is_some() || d.status == Status::Error;
    let mut e = base(
        cfg,
        if failed { "FAIL" } else { "COMPLETE" },
        run.finished_at,
        &run_id(&run.run_id, &d.name),
        job,
    );
    attach_quality(&mut e["inputs"][0], d);
    if let Some(err) = &d.error {
        e["run"]["facets"]["errorMessage"] = error_facet(err);
    }
    e
}

/// Puts a dataset's data-quality facets on an input: `dataQualityAssertions` in `inputFacets` and
/// `facets` (for older consumers), `dataQualityMetrics` in `inputFacets`.
fn attach_quality(input: &mut Value, d: &DatasetResult) {
    let assertions = json!({
        "_producer": producer(),
        "_schemaURL": ASSERTIONS_URL,
        "assertions": d.checks.iter().map(|c| {
            let mut a = json!({
                "assertion": c.kind,
                "name": c.id,
                "success": matches!(c.status, Status::Pass | Status::Warn),
                "severity": c.severity,
            });
            // The facet wants both as strings: a string as it is, any other value as its JSON.
            for (key, v) in [("expected", &c.expected), ("actual", &c.observed)] {
                match v {
                    Value::Null => {}
                    Value::String(s) => a[key] = json!(s),
                    other => a[key] = json!(other.to_string()),
                }
            }
            a["description"] = json!(c.message);
            if let Some(col) = &c.column {
                a["column"] = json!(col);
            }
            if let Some(w) = &c.where_ {
                a["content"] = json!(w);
                a["contentType"] = json!("sql");
            }
            a
        }).collect::<Vec<_>>(),
    });
    input["inputFacets"] = json!({
        "dataQualityAssertions": assertions,
        "dataQualityMetrics": metrics(d),
    });
    input["facets"]["dataQualityAssertions"] = assertions;
}

/// The events of a promotion (job `promote.<dataset>`): START at the run's start, then COMPLETE,
/// or FAIL when the batch was refused. The input is the source dataset with the batch's version
/// (a hash of its files' paths and checksums) and the checks that judged it; the output, when
/// files were published, is the target zone's dataset — so lineage ties each promoted file set to
/// the checks that let it in.
pub(crate) fn promotion_events(cfg: &LineageConfig, p: &Promotion<'_>) -> Vec<Value> {
    let id = run_id(p.run_id, &format!("promote.{}", p.source.dataset));
    let job = Job {
        zone: "promote".into(),
        ..p.source.clone()
    };
    let mut start = base(cfg, "START", p.started, &id, &job);
    let mut end = base(cfg, if p.refused { "FAIL" } else { "COMPLETE" }, p.finished, &id, &job);
    for e in [&mut start, &mut end] {
        e["inputs"][0]["facets"]["version"] = json!({
            "_producer": producer(),
            "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet",
            "datasetVersion": p.batch_version,
        });
    }
    if let Some(d) = p.checked {
        attach_quality(&mut end["inputs"][0], d);
    }
    if let Some(target) = &p.target {
        end["outputs"] = json!([{ "namespace": "file", "name": target, "facets": {} }]);
    }
    vec![start, end]
}

/// What a promotion's events say.
#[derive(Debug)]
pub(crate) struct Promotion<'a> {
    pub run_id: &'a str,
    /// The source dataset (its zone and absolute location).
    pub source: Job,
    /// The target dataset's absolute location, when files were published there.
    pub target: Option<String>,
    pub batch_version: String,
    pub checked: Option<&'a DatasetResult>,
    pub refused: bool,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
}

/// Rows, files and the null counts the run measured (a `not_null` check without `where` counts
/// exactly the column's nulls); nothing else is computed for lineage.
fn metrics(d: &DatasetResult) -> Value {
    let mut columns: BTreeMap<String, Value> = BTreeMap::new();
    for c in &d.checks {
        if c.kind == "not_null"
            && c.where_.is_none()
            && let (Some(col), Some(nulls)) = (&c.column, c.failing_rows)
        {
            let mut m = json!({ "nullCount": nulls });
            if let Some(rows) = d.rows {
                m["count"] = json!(rows.saturating_sub(nulls));
            }
            columns.insert(col.clone(), m);
        }
    }
    let mut m = json!({
        "_producer": producer(),
        "_schemaURL": METRICS_URL,
        "fileCount": d.files,
        "columnMetrics": columns,
    });
    if let Some(rows) = d.rows {
        m["rowCount"] = json!(rows);
    }
    m
}

/// Sends the events (in order) to the configured target; what became of each. Over HTTP, every
/// event is first queued in the outbox (`OUTBOX/lineage/`, atomic files named so they sort in the
/// order they were made), then the queue is sent oldest first and each event removed once the
/// server took it; the first failure stops the pass, so a COMPLETE never arrives before its START.
/// What waits goes out, in order, with the next run. A crash between the server's answer and the
/// removal sends that event once more (at least once; consumers key events by run and type).
pub(crate) fn emit(project: &Project, events: &[Value]) -> Vec<LineageOutcome> {
    let Some(cfg) = &project.lineage else {
        return Vec::new();
    };
    let outcome = |e: &Value, result: &Result<(), String>| LineageOutcome {
        event_type: e["eventType"].as_str().unwrap_or_default().to_string(),
        job: e["job"]["name"].as_str().unwrap_or_default().to_string(),
        status: match result {
            Ok(()) => "sent",
            Err(_) if matches!(cfg.target, LineageTarget::Http(_)) => "queued",
            Err(_) => "failed",
        }
        .into(),
        error: result.as_ref().err().cloned(),
    };
    match &cfg.target {
        LineageTarget::File(path) => events
            .iter()
            .map(|e| {
                let r = append_line(path, e);
                if let Err(why) = &r {
                    tracing::warn!(error = %why, "An OpenLineage event was not written.");
                }
                outcome(e, &r)
            })
            .collect(),
        LineageTarget::Http(channel) => {
            let dir = crate::alerts::outbox_dir(project).join("lineage");
            let results = send_queued(&dir, channel, events);
            events.iter().zip(&results).map(|(e, r)| outcome(e, r)).collect()
        }
    }
}

/// Queues `fresh`, then sends the whole queue in order; the result of each fresh event.
fn send_queued(
    dir: &std::path::Path,
    channel: &crate::config::alerts::WebhookChannel,
    fresh: &[Value],
) -> Vec<Result<(), String>> {
    if let Err(e) = crate::fs_atomic::create_dir_all(dir) {
        tracing::error!(dir = %dir.display(), error = %e, "Cannot create the lineage outbox; events that fail now are lost.");
    }
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(".lock"))
        .and_then(|f| f.lock().map(|()| f));
    if let Err(e) = &lock {
        tracing::warn!(dir = %dir.display(), error = %e, "Cannot lock the lineage outbox; sending without the lock.");
    }
    let mut mine = Vec::new();
    for (i, e) in fresh.iter().enumerate() {
        // Time first (UUID v7 order within a millisecond is by the random bits: add the index).
        let name = format!(
            "{}-{:04}-{}.json",
            uuid::Uuid::now_v7().simple(),
            i,
            e["eventType"].as_str().unwrap_or("event").to_ascii_lowercase()
        );
        let path = dir.join(&name);
        match crate::fs_atomic::write_atomic(&path, e.to_string().as_bytes()) {
            Ok(()) => mine.push(Some(path)),
            Err(err) => {
                tracing::error!(file = %path.display(), error = %err, "Cannot queue an OpenLineage event; sending it without a copy.");
                mine.push(None);
            }
        }
    }
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut failure: Option<String> = None;
    let mut sent: Vec<std::path::PathBuf> = Vec::new();
    for f in &files {
        if failure.is_some() {
            break;
        }
        let Ok(text) = std::fs::read_to_string(f) else { continue };
        let Ok(event) = serde_json::from_str::<Value>(&text) else {
            tracing::warn!(file = %f.display(), "Skipping an outbox file that is not an OpenLineage event.");
            continue;
        };
        match post(channel, &event) {
            Ok(()) => {
                if let Err(e) = crate::fs_atomic::remove_file(f) {
                    tracing::error!(file = %f.display(), error = %e, "An event was delivered but stays queued; it will be sent again.");
                }
                sent.push(f.clone());
            }
            Err(why) => {
                tracing::warn!(error = %why, "An OpenLineage event was not delivered; it waits in the outbox.");
                failure = Some(why);
            }
        }
    }
    fresh
        .iter()
        .zip(&mine)
        .map(|(e, path)| match path {
            Some(p) if sent.contains(p) => Ok(()),
            Some(_) => Err(failure
                .clone()
                .unwrap_or_else(|| "not sent: an earlier event waits".into())),
            // Not queued: send it from memory, once.
            None => post(channel, e),
        })
        .collect()
}

/// One event as one line, written with one `write` in append mode (lines of concurrent runs never
/// interleave).
fn append_line(path: &std::path::Path, e: &Value) -> Result<(), String> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        crate::fs_atomic::create_dir_all(dir).map_err(|err| err.to_string())?;
    }
    let mut line = e.to_string();
    line.push('\n');
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(line.as_bytes()))
        .map_err(|err| format!("cannot append to {}: {err}", crate::diag::display_path(path)))
}

/// POSTs one event through the webhook client (retries with backoff).
fn post(channel: &crate::config::alerts::WebhookChannel, e: &Value) -> Result<(), String> {
    let body = e.to_string();
    let id = format!(
        "{}-{}",
        e["run"]["runId"].as_str().unwrap_or_default(),
        e["eventType"].as_str().unwrap_or_default()
    );
    crate::alerts::webhook::post_json(channel, "lineage", &id, body).map_err(|err| err.to_string())
}
