//! Incremental measurement: a growing dataset re-measured by scanning only its new or changed files,
//! with the answers a scan of every file gives.
//!
//! [`Engine::measure_incremental`] takes the dataset's previous [`State`] (kept by the history
//! store) and
//!
//! 1. identifies every file ([`fingerprint`]); a file whose identity is unchanged keeps its stored
//!    numbers, any other file is new (a removed file's numbers are dropped with it);
//! 2. measures, one query per new file, what each mergeable check needs of it ([`partial`]):
//!    row-level checks' scope and failing counts, `count`/`sum`/`min`/`max`/`avg` as their parts —
//!    with the same fused scan and the same Parquet-footer answers as a full run, over that file;
//! 3. merges every file's numbers into each check's observation;
//! 4. adds a `unique` check's new keys to its persisted key set ([`keys`]), or rebuilds the set from
//!    every file when a file it covers changed or went away;
//! 5. measures everything else as a full run does, over every file: `reference` (the other side may
//!    have changed), non-mergeable aggregates, `unique` over several columns or a non-integer key.
//!
//! The stored numbers are valid only for the same lakegate version, read options and unified schema
//! (`State::read`); otherwise they are discarded and every file is scanned. Whatever goes wrong on
//! the way (a per-file query that fails, a merge that overflows) falls back to the full
//! measurement, so that errors read exactly as without incremental runs.

pub(crate) mod fingerprint;
pub(crate) mod keys;
pub(crate) mod partial;
pub(crate) mod state;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU32, Ordering};

use datafusion::arrow::datatypes::DataType;
use datafusion::common::DFSchema;
use datafusion::logical_expr::{Cast, ExprSchemable};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::measure::{Measured, Measurement};
use super::{Engine, OpenDataset, PlannedCheck, sample};
use crate::checks::{Observation, Shape, column};
use crate::results::IncrementalRun;
use crate::suite::Suite;
use fingerprint::FileId;
use keys::KeySet;
use partial::{Partial, Stored};
pub(crate) use state::State;
use state::{Answer, FileState, KeyRef, Partials, Whole};

/// What an incremental measurement gives: the measurement, what it reused, and the state to keep.
pub(crate) struct Incremental<'d> {
    pub measurement: Measurement<'d>,
    pub report: IncrementalRun,
    /// The next state (`None` when nothing should replace the stored one).
    pub state: Option<State>,
    /// Per planned check: the files (indices into the dataset's) that hold its failing rows, when
    /// known from the per-file counts; its sample is read from those files only.
    pub failing_files: Vec<Option<Vec<usize>>>,
}

/// How one planned check is measured incrementally.
enum Plan {
    /// Row counts merged per file: `partials` per aggregate (empty for `Rows`).
    Merged { fp: String, partials: Vec<Partial> },
    /// A `unique` check's integer key, through its key set.
    Keys { fp: String, key: String },
    /// Measured over every file, as in a full run — or its stored answer reused while none of the
    /// files it reads changed (`other`: the other dataset a `reference` check reads).
    Full { fp: String, other: Option<String> },
    /// Needs no data (`schema`, a missing column).
    Metadata,
}

fn digest_of(s: &str) -> String {
    fingerprint::hex(&Sha256::digest(s.as_bytes())[..16])
}

/// What a file's schema depends on besides the file: lakegate's version and the dataset's read
/// options (format, CSV options, declared types, records read to infer types).
pub(crate) fn options_fingerprint(suite: &Suite, format: crate::suite::Format, infer_rows: usize) -> String {
    let spec = &suite.dataset;
    digest_of(&format!(
        "{}|{format:?}|{:?}|{:?}|{infer_rows}",
        env!("CARGO_PKG_VERSION"),
        spec.csv,
        spec.types,
    ))
}

/// What the stored numbers depend on besides the files: the read options, the statistics setting
/// and the dataset's unified schema (with its partition columns).
fn read_fingerprint(options: &str, ds: &OpenDataset, statistics: bool) -> String {
    digest_of(&format!(
        "{options}|{statistics}|{:?}|{:?}",
        ds.partition_keys, ds.schema
    ))
}

/// The fingerprint under which a `unique` check's rows in scope are stored per file.
fn scope_fp(fp: &str) -> String {
    format!("{fp}.scope")
}

fn plan_of(p: &PlannedCheck, schema: &DFSchema) -> Plan {
    let scope = format!("{:?}", p.scope);
    match &p.shape {
        Shape::Rows { failing } => Plan::Merged {
            fp: digest_of(&format!("rows|{failing:?}|{scope}")),
            partials: Vec::new(),
        },
        Shape::Aggregates(exprs) => match exprs.iter().map(|e| partial::partial(e, schema)).collect() {
            Some(partials) => Plan::Merged {
                fp: digest_of(&format!("aggregates|{exprs:?}|{scope}")),
                partials,
            },
            None => Plan::Full {
                fp: digest_of(&format!("whole|aggregates|{exprs:?}|{scope}")),
                other: None,
            },
        },
        Shape::Unique { columns } => match columns.as_slice() {
            [key]
                if schema
                    .field_with_unqualified_name(key)
                    .is_ok_and(|f| super::kernels::udf::fits_i64(f.data_type())) =>
            {
                Plan::Keys {
                    fp: digest_of(&format!("unique|{key}|{scope}")),
                    key: key.clone(),
                }
            }
            _ => Plan::Full {
                fp: digest_of(&format!("whole|unique|{columns:?}|{scope}")),
                other: None,
            },
        },
        Shape::Reference {
            column,
            dataset,
            to_column,
        } => Plan::Full {
            fp: digest_of(&format!("whole|reference|{column}|{dataset}|{to_column}|{scope}")),
            other: Some(dataset.clone()),
        },
        Shape::Schema | Shape::Missing { .. } => Plan::Metadata,
    }
}

/// The checks left after merging, and what deciding whether their stored answers hold needs.
struct Rest<'a> {
    plans: &'a [Plan],
    slots: &'a [usize],
    rows: u64,
    prior: &'a State,
    /// Digest of every file's identity.
    child: &'a str,
    schema: &'a DFSchema,
}

/// The answer to store of a check measured over every file (`None` for one that could not be).
fn answer_of(m: &Measured<'_>) -> Option<Answer> {
    Some(match m.observation.as_ref().ok()? {
        Observation::Aggregates { values } => Answer::Aggregates(values.iter().map(Stored::of).collect::<Option<_>>()?),
        Observation::Unique {
            failing_rows,
            duplicate_keys,
        } => Answer::Unique {
            failing_rows: *failing_rows,
            duplicate_keys: *duplicate_keys,
            repeated_keys: m.repeated_keys.clone(),
        },
        Observation::Reference {
            failing_rows,
            distinct_missing,
        } => Answer::Reference {
            failing_rows: *failing_rows,
            distinct_missing: *distinct_missing,
        },
        _ => return None,
    })
}

/// A stored answer as the check's measurement (`None` when it does not fit the check).
fn reuse<'d>(p: &PlannedCheck, w: &Whole, schema: &DFSchema) -> Option<Measured<'d>> {
    let (observation, repeated_keys) = match (&w.answer, &p.shape) {
        (Answer::Aggregates(values), Shape::Aggregates(exprs)) if values.len() == exprs.len() => {
            let values = exprs
                .iter()
                .zip(values)
                .map(|(e, v)| {
                    let e = super::measure::scoped(e.clone(), p.scope.as_ref()).ok()?;
                    v.value(&e.get_type(schema).ok()?)
                })
                .collect::<Option<Vec<_>>>()?;
            (Observation::Aggregates { values }, Vec::new())
        }
        (
            Answer::Unique {
                failing_rows,
                duplicate_keys,
                repeated_keys,
            },
            Shape::Unique { .. },
        ) => (
            Observation::Unique {
                failing_rows: *failing_rows,
                duplicate_keys: *duplicate_keys,
            },
            repeated_keys.clone(),
        ),
        (
            Answer::Reference {
                failing_rows,
                distinct_missing,
            },
            Shape::Reference { .. },
        ) => (
            Observation::Reference {
                failing_rows: *failing_rows,
                distinct_missing: *distinct_missing,
            },
            Vec::new(),
        ),
        _ => return None,
    };
    Some(Measured {
        in_scope: w.in_scope,
        observation: Ok(observation),
        from_statistics: w.from_statistics,
        repeated_keys,
        merged: Some(true),
    })
}

/// What a measurement has done so far: queries, files and columns read.
#[derive(Default)]
struct Work {
    queries: AtomicU32,
    scanned_files: BTreeSet<usize>,
    scanned_columns: Vec<String>,
}

impl Work {
    fn columns(&mut self, read: Vec<String>) {
        for c in read {
            if !self.scanned_columns.contains(&c) {
                self.scanned_columns.push(c);
            }
        }
    }
}

/// The key sets of the next state: where each is kept, and the sets.
type KeySets = (BTreeMap<String, KeyRef>, std::collections::HashMap<String, KeySet>);

/// A `unique` check over one integer key.
struct KeyCheck<'a> {
    p: &'a PlannedCheck,
    fp: &'a str,
    key: &'a str,
}

/// What is measured per file, by fingerprint: each mergeable check's parts, and the rows in scope
/// of each `unique` key check (its failing fraction's denominator).
fn specs_of(planned: &[PlannedCheck], plans: &[Plan]) -> Vec<(String, PlannedCheck)> {
    planned
        .iter()
        .zip(plans)
        .filter_map(|(p, plan)| match plan {
            Plan::Merged { fp, partials } => Some((fp.clone(), per_file(p, partials))),
            Plan::Keys { fp, .. } => Some((
                scope_fp(fp),
                PlannedCheck {
                    index: p.index,
                    shape: Shape::Rows {
                        failing: datafusion::logical_expr::lit(false),
                    },
                    scope: p.scope.clone(),
                },
            )),
            _ => None,
        })
        .collect()
}

/// Each file's stored numbers, kept only for an unchanged file and a planned check; `true` marks a
/// file new since the stored state (or changed).
fn carried(
    prior: &State,
    ds: &OpenDataset,
    ids: &[FileId],
    specs: &[(String, PlannedCheck)],
) -> Vec<(FileState, bool)> {
    ds.files
        .iter()
        .zip(ids)
        .map(|(f, id)| {
            let (mut fs, fresh) = match prior.files.get(&f.rel) {
                Some(old) if old.id == *id => (old.clone(), false),
                _ => (
                    FileState {
                        id: id.clone(),
                        schema: None,
                        rows: 0,
                        checks: BTreeMap::new(),
                    },
                    true,
                ),
            };
            fs.checks.retain(|fp, _| specs.iter().any(|(s, _)| s == fp));
            (fs, fresh)
        })
        .collect()
}

/// Per planned row-level check merged from files: the files with failing rows (where its sample is).
///
/// When the dataset is read in one scan, a sample is the first failing rows in file order: then only
/// the first files whose failing rows make up the sample (`sample` of a check) are kept — the same
/// rows, without opening every file that has some.
fn failing_files_of(
    planned: &[PlannedCheck],
    plans: &[Plan],
    files: &[FileState],
    in_file_order: bool,
    sample: impl Fn(&PlannedCheck) -> u64,
) -> Vec<Option<Vec<usize>>> {
    planned
        .iter()
        .zip(plans)
        .map(|(p, plan)| match (plan, &p.shape) {
            (Plan::Merged { fp, .. }, Shape::Rows { .. }) => {
                let want = sample(p);
                let mut found = 0u64;
                let mut out = Vec::new();
                for (i, f) in files.iter().enumerate() {
                    if in_file_order && found >= want {
                        break;
                    }
                    let failing = f.checks.get(fp).and_then(|x| x.failing);
                    if failing.unwrap_or(1) > 0 {
                        out.push(i);
                        // An unknown count never ends the prefix.
                        found += failing.unwrap_or(0);
                    }
                }
                Some(out)
            }
            _ => None,
        })
        .collect()
}

/// The check as measured in one file: its aggregates replaced by their per-file parts.
fn per_file(p: &PlannedCheck, partials: &[Partial]) -> PlannedCheck {
    let shape = match &p.shape {
        Shape::Aggregates(_) => Shape::Aggregates(partials.iter().flat_map(|x| x.exprs.clone()).collect()),
        other => other.clone(),
    };
    PlannedCheck {
        index: p.index,
        shape,
        scope: p.scope.clone(),
    }
}

impl Engine {
    /// Measures a planned suite from the previous state (`prior`: `Err` says why a stored state
    /// could not be used) and the files that are new or changed since; see the module doc.
    pub(crate) async fn measure_incremental<'d>(
        &self,
        suite: &Suite,
        ds: &'d OpenDataset,
        planned: &[PlannedCheck],
        prior: Result<Option<State>, String>,
    ) -> Incremental<'d> {
        let options = options_fingerprint(suite, ds.format, self.config.infer_rows);
        let read = read_fingerprint(&options, ds, self.config.statistics);
        let (prior, note) = match prior {
            Ok(Some(s)) if s.format == state::FORMAT && s.read == read => (Some(s), "reused".to_string()),
            Ok(Some(_)) => (
                None,
                "discarded: lakegate's version, the dataset's read options or its schema changed".to_string(),
            ),
            Ok(None) => (None, "new".to_string()),
            Err(why) => (None, format!("discarded: {why}")),
        };
        match self.try_incremental(suite, ds, planned, prior, (options, read)).await {
            Ok((measurement, state, scanned, failing_files)) => Incremental {
                measurement,
                report: IncrementalRun {
                    files_scanned: scanned,
                    files_reused: ds.files.len() - scanned,
                    state: note,
                },
                state: Some(state),
                failing_files,
            },
            Err(why) => {
                tracing::info!(dataset = %ds.name, "Measuring every file: {why}");
                let mut measurement = self.measure(suite, ds, planned).await;
                for m in &mut measurement.checks {
                    m.merged = Some(false);
                }
                Incremental {
                    measurement,
                    report: IncrementalRun {
                        files_scanned: ds.files.len(),
                        files_reused: 0,
                        state: format!("{note}; every file measured: {why}"),
                    },
                    state: None,
                    failing_files: Vec::new(),
                }
            }
        }
    }

    /// The incremental measurement proper; `Err` (why) sends the caller to the full one.
    async fn try_incremental<'d>(
        &self,
        suite: &Suite,
        ds: &'d OpenDataset,
        planned: &[PlannedCheck],
        prior: Option<State>,
        (options, read): (String, String),
    ) -> Result<(Measurement<'d>, State, usize, Vec<Option<Vec<usize>>>), String> {
        if ds.is_empty() {
            return Err("the dataset has no files".into());
        }
        let schema = DFSchema::try_from(ds.schema.as_ref().clone()).map_err(|e| e.to_string())?;
        let ids = match &ds.ids {
            Some(ids) => ids.clone(),
            None => self.identify_files(&ds.files).await?,
        };
        let plans: Vec<Plan> = planned.iter().map(|p| plan_of(p, &schema)).collect();
        let mut prior = prior.unwrap_or_default();
        let mut work = Work::default();
        let specs = specs_of(planned, &plans);
        let files = carried(&prior, ds, &ids, &specs);
        let files = self.measure_files(suite, ds, &specs, files, &mut work).await?;
        let rows: u64 = files.iter().map(|f| f.rows).sum();

        // Merged observations and key sets; the rest as a full run measures them.
        let mut out: Vec<Option<Measured<'d>>> = Vec::with_capacity(planned.len());
        let mut rest: Vec<usize> = Vec::new();
        let mut keys = (BTreeMap::new(), std::collections::HashMap::new());
        for (slot, (p, plan)) in planned.iter().zip(&plans).enumerate() {
            let measured = match plan {
                Plan::Merged { fp, partials } => merge_check(p, fp, partials, &files, &schema)
                    .inspect_err(|why| tracing::debug!(dataset = %ds.name, "Not merged: {why}"))
                    .ok(),
                Plan::Keys { fp, key } => {
                    let k = KeyCheck { p, fp, key };
                    Some(
                        self.key_check(suite, ds, &ids, &k, &files, &mut prior, &mut work, &mut keys)
                            .await?,
                    )
                }
                Plan::Full { .. } | Plan::Metadata => None,
            };
            if measured.is_none() {
                rest.push(slot);
            }
            out.push(measured);
        }
        let child = digest_of(&format!(
            "{:?}",
            ds.files.iter().map(|f| &f.rel).zip(&ids).collect::<Vec<_>>()
        ));
        let rest = Rest {
            plans: &plans,
            slots: &rest,
            rows,
            prior: &prior,
            child: &child,
            schema: &schema,
        };
        let whole = self
            .measure_rest(suite, ds, planned, &rest, &mut out, &mut work)
            .await?;
        work.scanned_columns.sort();
        let failing_files = failing_files_of(planned, &plans, &files, ds.single_scan, |p| {
            suite.checks[p.index].common.sample as u64
        });
        let checks = out
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .ok_or("a check was not measured")?;
        let mut files = files;
        for (f, s) in files.iter_mut().zip(&ds.file_schemas) {
            if f.schema.is_none() {
                f.schema = Some(state::schema_bytes(&s.schema));
            }
        }
        let next = State {
            format: state::FORMAT,
            options,
            read,
            files: ds.files.iter().map(|f| f.rel.clone()).zip(files).collect(),
            keys: keys.0,
            whole,
            key_sets: keys.1,
            intact: std::mem::take(&mut prior.intact),
        };
        Ok((
            Measurement {
                rows: Some(rows),
                queries: work.queries.load(Ordering::Relaxed),
                scanned_columns: work.scanned_columns,
                checks,
                error: None,
            },
            next,
            work.scanned_files.len(),
            failing_files,
        ))
    }

    /// One query per file that lacks some check's numbers (a new file always: its rows); returns
    /// every file's numbers.
    async fn measure_files(
        &self,
        suite: &Suite,
        ds: &OpenDataset,
        specs: &[(String, PlannedCheck)],
        mut files: Vec<(FileState, bool)>,
        work: &mut Work,
    ) -> Result<Vec<FileState>, String> {
        for (i, (fs, fresh)) in files.iter_mut().enumerate() {
            let missing: Vec<&(String, PlannedCheck)> =
                specs.iter().filter(|(fp, _)| !fs.checks.contains_key(fp)).collect();
            if missing.is_empty() && !*fresh {
                continue;
            }
            let part = self
                .open_part(suite, ds, &[i])
                .map_err(|e| format!("cannot read {}: {e}", ds.files[i].rel))?;
            let refs: Vec<&PlannedCheck> = missing.iter().map(|(_, c)| c).collect();
            let owned: Vec<PlannedCheck> = refs.iter().map(|c| (*c).clone()).collect();
            let (stats, _) = self.scan_inputs(&part, &owned);
            let fused = self
                .fused(&part.table, &refs, stats.as_ref(), false, &work.queries)
                .await;
            self.close_part(&part);
            let fused = fused.map_err(|e| format!("{}: {}", ds.files[i].rel, super::error::clean(&e)))?;
            work.scanned_files.insert(i);
            work.columns(fused.scanned);
            fs.rows = fused.total;
            for ((fp, _), counted) in missing.iter().zip(fused.measured) {
                let values = counted
                    .values
                    .iter()
                    .map(Stored::of)
                    .collect::<Option<Vec<_>>>()
                    .ok_or("a value without a stored form")?;
                fs.checks.insert(
                    fp.clone(),
                    Partials {
                        in_scope: counted.in_scope,
                        failing: counted.failing,
                        values,
                        from_statistics: counted.from_statistics,
                    },
                );
            }
        }
        Ok(files.into_iter().map(|(f, _)| f).collect())
    }

    /// A `unique` integer-key check from its stored key set and the keys of the files it does not
    /// cover yet — or from every file's keys, when a file it covers changed or went away.
    #[allow(clippy::too_many_arguments)]
    async fn key_check<'d>(
        &self,
        suite: &Suite,
        ds: &OpenDataset,
        ids: &[FileId],
        k: &KeyCheck<'_>,
        files: &[FileState],
        prior: &mut State,
        work: &mut Work,
        keys: &mut KeySets,
    ) -> Result<Measured<'d>, String> {
        let covers: BTreeSet<String> = ds
            .files
            .iter()
            .zip(ids)
            .map(|(f, id)| state::covered(&f.rel, id))
            .collect();
        let done = prior
            .keys
            .get(k.fp)
            .filter(|r| r.covers.is_subset(&covers))
            .map(|r| r.covers.clone());
        let (mut set, done) = match done.zip(prior.key_sets.remove(k.fp)) {
            Some((done, set)) => (set, done),
            None => (KeySet::default(), BTreeSet::new()),
        };
        let todo: Vec<usize> = (0..ds.files.len())
            .filter(|i| !done.contains(&state::covered(&ds.files[*i].rel, &ids[*i])))
            .collect();
        if !todo.is_empty() {
            self.add_keys(suite, ds, &todo, k.key, k.p, &mut set, &work.queries)
                .await?;
            set.optimize();
            work.scanned_files.extend(todo);
        }
        let n = suite.checks[k.p.index].common.sample;
        let (failing_rows, duplicate_keys, sample) = super::measure::integer_duplicates(k.key, set.repeated(), n);
        keys.0.insert(
            k.fp.to_string(),
            KeyRef {
                file: String::new(),
                covers,
            },
        );
        keys.1.insert(k.fp.to_string(), set);
        let in_scope = files
            .iter()
            .map(|f| f.checks.get(&scope_fp(k.fp)).map_or(0, |x| x.in_scope))
            .sum();
        Ok(Measured {
            in_scope,
            observation: Ok(Observation::Unique {
                failing_rows,
                duplicate_keys,
            }),
            from_statistics: false,
            repeated_keys: sample,
            merged: Some(true),
        })
    }

    /// The checks not merged: those that need no data from the metadata; the others from their
    /// stored answers when nothing they read changed, else by a full measurement over every file.
    /// Returns the answers to store.
    async fn measure_rest<'d>(
        &self,
        suite: &Suite,
        ds: &'d OpenDataset,
        planned: &[PlannedCheck],
        rest: &Rest<'_>,
        out: &mut [Option<Measured<'d>>],
        work: &mut Work,
    ) -> Result<BTreeMap<String, Whole>, String> {
        let mut stored = BTreeMap::new();
        let mut reading: Vec<(usize, String, String)> = Vec::with_capacity(rest.slots.len());
        for &slot in rest.slots {
            let p = &planned[slot];
            let (fp, other) = match &rest.plans[slot] {
                Plan::Full { fp, other } => (fp, other),
                _ => {
                    let counted = super::measure::Counted::default();
                    let (observation, _) = self.observe(suite, ds, p, &counted, rest.rows, &work.queries).await;
                    out[slot] = Some(Measured {
                        in_scope: 0,
                        observation: observation.map_err(|(why, _)| why),
                        from_statistics: false,
                        repeated_keys: Vec::new(),
                        merged: None,
                    });
                    continue;
                }
            };
            let other = match other {
                Some(name) => self.dataset_digest(name).await.unwrap_or_default(),
                None => String::new(),
            };
            let read = digest_of(&format!("{}|{other}", rest.child));
            let reused = rest
                .prior
                .whole
                .get(fp)
                .filter(|w| w.read == read && !other.is_empty() == matches!(p.shape, Shape::Reference { .. }))
                .and_then(|w| Some((w.clone(), reuse(p, w, rest.schema)?)));
            match reused {
                Some((w, m)) => {
                    out[slot] = Some(m);
                    stored.insert(fp.clone(), w);
                }
                None => reading.push((slot, fp.clone(), read)),
            }
        }
        if reading.is_empty() {
            return Ok(stored);
        }
        let subset: Vec<PlannedCheck> = reading.iter().map(|(i, ..)| planned[*i].clone()).collect();
        let m = self.measure(suite, ds, &subset).await;
        if let Some(e) = m.error {
            return Err(e);
        }
        work.scanned_files.extend(0..ds.files.len());
        work.queries.fetch_add(m.queries, Ordering::Relaxed);
        work.columns(m.scanned_columns);
        for ((slot, fp, read), mut measured) in reading.into_iter().zip(m.checks) {
            measured.merged = Some(false);
            if let Some(answer) = answer_of(&measured) {
                stored.insert(
                    fp,
                    Whole {
                        read,
                        in_scope: measured.in_scope,
                        answer,
                        from_statistics: measured.from_statistics,
                    },
                );
            }
            out[slot] = Some(measured);
        }
        Ok(stored)
    }

    /// A digest of the identities of another opened dataset's files and of its schema (`None` if it
    /// was not opened or cannot be read).
    async fn dataset_digest(&self, name: &str) -> Option<String> {
        let files = self.opened.lock().ok()?.get(name).cloned()?;
        let ids = self.identify_files(&files).await.ok()?;
        // Its schema too: the same files read with other types compare otherwise.
        let schema = self
            .ctx
            .table_provider(datafusion::common::TableReference::bare(name))
            .await
            .ok()?
            .schema();
        Some(digest_of(&format!(
            "{:?}|{schema:?}",
            files.iter().map(|f| &f.path).zip(&ids).collect::<Vec<_>>()
        )))
    }

    /// Samples of the checks the run judged failed, each read from the files that hold its failing
    /// rows when the per-file counts say which (`failing_files`), else from every file.
    pub(crate) async fn samples_from(
        &self,
        suite: &Suite,
        ds: &OpenDataset,
        planned: &[PlannedCheck],
        wanted: &[sample::SampleRequest],
        failing_files: &[Option<Vec<usize>>],
    ) -> sample::Samples {
        let mut groups: BTreeMap<Option<Vec<usize>>, Vec<sample::SampleRequest>> = BTreeMap::new();
        for w in wanted {
            let files = failing_files
                .get(w.slot)
                .cloned()
                .flatten()
                .filter(|f| !f.is_empty() && f.len() < ds.files.len());
            groups.entry(files).or_default().push(*w);
        }
        let mut out = sample::Samples {
            rows: vec![Vec::new(); planned.len()],
            queries: 0,
        };
        for (files, group) in groups {
            let part = files.map(|f| self.open_part(suite, ds, &f));
            let mut got = match &part {
                Some(Ok(part)) => self.samples(suite, part, planned, &group).await,
                // The part cannot be made: sample from every file, as a full run does.
                Some(Err(_)) | None => self.samples(suite, ds, planned, &group).await,
            };
            if let Some(Ok(part)) = &part {
                self.close_part(part);
            }
            out.queries += got.queries;
            for w in &group {
                out.rows[w.slot] = std::mem::take(&mut got.rows[w.slot]);
            }
        }
        out
    }

    /// Adds the in-scope, non-null keys of some files to a key set (one query over those files).
    #[allow(clippy::too_many_arguments)]
    async fn add_keys(
        &self,
        suite: &Suite,
        ds: &OpenDataset,
        files: &[usize],
        key: &str,
        p: &PlannedCheck,
        set: &mut KeySet,
        queries: &AtomicU32,
    ) -> Result<(), String> {
        use datafusion::arrow::array::{Array, AsArray};
        use datafusion::arrow::datatypes::Int64Type;
        use futures::StreamExt;
        let part = self.open_part(suite, ds, files).map_err(|e| e.to_string())?;
        let run = async {
            let keys = [column(key)];
            let df = sample::keyed_rows(&self.ctx, &part.table, &keys, p.scope.as_ref())
                .await?
                .select(vec![
                    datafusion::logical_expr::Expr::Cast(Cast::new(Box::new(column(key)), DataType::Int64)).alias("k"),
                ])?;
            queries.fetch_add(1, Ordering::Relaxed);
            let task = std::sync::Arc::new(df.task_ctx());
            let plan = df.create_physical_plan().await?;
            let mut stream = datafusion::physical_plan::execute_stream(plan, task)?;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                let col = batch.column(0).as_primitive::<Int64Type>();
                for i in 0..col.len() {
                    if col.is_valid(i) {
                        set.add(col.value(i));
                    }
                }
            }
            datafusion::error::Result::Ok(())
        }
        .await;
        self.close_part(&part);
        run.map_err(|e| super::error::clean(&e))
    }
}

/// A mergeable check's observation from every file's stored numbers.
fn merge_check<'d>(
    p: &PlannedCheck,
    fp: &str,
    partials: &[Partial],
    files: &[FileState],
    schema: &DFSchema,
) -> Result<Measured<'d>, String> {
    let parts: Vec<&Partials> = files
        .iter()
        .map(|f| f.checks.get(fp).ok_or("a file's numbers are missing"))
        .collect::<Result<_, _>>()?;
    let in_scope = parts.iter().map(|x| x.in_scope).sum();
    let from_statistics = parts.iter().all(|x| x.from_statistics);
    let observation = match &p.shape {
        Shape::Rows { .. } => Observation::Rows {
            failing: parts.iter().map(|x| x.failing.unwrap_or(0)).sum(),
        },
        Shape::Aggregates(_) => {
            let mut values = Vec::with_capacity(partials.len());
            let mut at = 0;
            for partial in partials {
                let width = partial.exprs.len();
                let types = partial
                    .exprs
                    .iter()
                    .map(|e| {
                        let scoped = super::measure::scoped(e.clone(), p.scope.as_ref()).map_err(|e| e.to_string())?;
                        scoped.get_type(schema).map_err(|e| e.to_string())
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                let per_file = parts
                    .iter()
                    .map(|x| {
                        x.values
                            .get(at..at + width)
                            .ok_or("a file's numbers are short")?
                            .iter()
                            .zip(&types)
                            .map(|(v, t)| v.value(t).ok_or("a stored value of another type"))
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                values.push(partial::merge(partial.merge, &per_file, &types)?);
                at += width;
            }
            Observation::Aggregates { values }
        }
        _ => return Err("not a mergeable shape".into()),
    };
    Ok(Measured {
        in_scope,
        observation: Ok(observation),
        from_statistics,
        repeated_keys: Vec::<Value>::new(),
        merged: Some(true),
    })
}

impl Engine {
    /// The identity of each file: local files read off the async threads (size, time, digest of
    /// their ends); objects from their metadata (size, last-modified time, ETag — a new ETag for
    /// every new content), a few requests at a time.
    pub(crate) async fn identify_files(&self, files: &[super::DataFile]) -> Result<Vec<FileId>, String> {
        if files.first().is_some_and(|f| crate::paths::is_remote(&f.path)) {
            return self.identify_objects(files).await;
        }
        let paths: Vec<_> = files.iter().map(|f| f.path.clone()).collect();
        // A thread per core, each identifying a run of files: opening and hashing the ends of many
        // files is what an incremental run with nothing to read spends its time on.
        tokio::task::spawn_blocking(move || {
            let threads = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
            let chunk = paths.len().div_ceil(threads).max(1);
            std::thread::scope(|s| {
                let parts: Vec<_> = paths
                    .chunks(chunk)
                    .map(|part| {
                        s.spawn(move || {
                            part.iter()
                                .map(|p| fingerprint::of(p).map_err(|e| format!("cannot read {}: {e}", p.display())))
                                .collect::<Result<Vec<_>, String>>()
                        })
                    })
                    .collect();
                let mut out = Vec::with_capacity(paths.len());
                for part in parts {
                    out.extend(part.join().map_err(|_| "identifying files failed".to_string())??);
                }
                Ok(out)
            })
        })
        .await
        .map_err(|e| e.to_string())?
    }

    async fn identify_objects(&self, files: &[super::DataFile]) -> Result<Vec<FileId>, String> {
        use futures::StreamExt;
        use object_store::ObjectStoreExt;
        let heads = files.iter().map(|f| async move {
            let cannot = |why: String| format!("cannot read {}: {why}", f.path.display());
            let (bucket, key) = super::dataset::remote::split(&f.path).ok_or_else(|| cannot("not an object".into()))?;
            let url = datafusion::execution::object_store::ObjectStoreUrl::parse(bucket.as_str())
                .map_err(|e| cannot(e.to_string()))?;
            let store = self
                .ctx
                .runtime_env()
                .object_store(&url)
                .map_err(|e| cannot(e.to_string()))?;
            let meta = store
                .head(&key)
                .await
                .map_err(|e| cannot(super::dataset::remote::explain(&e.to_string())))?;
            let t = meta.last_modified;
            Ok(FileId {
                size: meta.size,
                modified: (t.timestamp(), t.timestamp_subsec_nanos()),
                digest: format!("etag:{}", meta.e_tag.unwrap_or_default()),
            })
        });
        futures::stream::iter(heads)
            .buffered(8)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }
}
