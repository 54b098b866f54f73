//! The only module that talks to DataFusion.
//!
//! [`Engine::open`] finds a dataset's files and registers them as a table (metadata only);
//! [`Engine::plan`] lowers a suite's checks against the table's schema, collecting every problem as
//! a diagnostic; [`Engine::run`] executes the plan: one fused aggregate query for every row-level
//! and aggregate check, one query per `unique` and `reference` check, then samples for failed
//! checks only.

mod bounds;
mod count_true;
mod csv_locate;
pub mod csv_quotes;
pub mod discover;
pub mod error;
mod kernel;
mod key_bitmap;
mod key_list;
pub mod overflow;
mod run;
pub mod sample;
mod shared_lists;
mod source;
pub(crate) use source::file_url;
mod stats;
mod string_match;
pub mod verify;
mod view_table;
pub mod watchdog;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::common::DFSchema;
use datafusion::common::TableReference;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::Expr;
use datafusion::prelude::{SessionConfig, SessionContext};

pub use discover::{DataFile, Discovered};
pub use error::DatasetError;
pub use run::DatasetRun;
pub use sample::to_json as batches_to_json;

use crate::checks::{FileSchema, FragmentRole, PlanCx, Shape};
use crate::config::EngineConfig;
use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::suite::{Format, Suite};

/// A DataFusion session with lakegate's settings and a bounded memory pool.
pub struct Engine {
    ctx: SessionContext,
    /// The same catalog with one partition per scan: a `LIMIT` sample query then reads the files in
    /// order and stops at the first matches, so samples are cheap and deterministic.
    sample_ctx: SessionContext,
    /// The same catalog for keyed queries (`unique`'s grouped query, `reference`'s anti-join). Under
    /// a small memory pool ([`SMALL_POOL`]) it plans one partition and sort-merge joins: several
    /// partitions deadlock DataFusion 55.2's spilling repartition (apache/datafusion#24883), and a
    /// hash join's build side cannot spill while a sort can.
    keyed_ctx: SessionContext,
    config: EngineConfig,
}

/// Memory pools up to this size run keyed queries in one partition (see `keyed_ctx`).
pub const SMALL_POOL: u64 = 256 * 1024 * 1024;

/// A dataset whose files are found and registered, ready to be planned and run.
#[derive(Debug, Clone)]
pub struct OpenDataset {
    pub name: String,
    pub zone: String,
    /// The dataset's directory.
    pub root: PathBuf,
    pub format: Format,
    pub files: Vec<DataFile>,
    pub file_schemas: Vec<FileSchema>,
    pub schema: SchemaRef,
    /// Whether the table is one scan over its files (not a union of file groups): its rows then come
    /// in file order from a single-partition scan.
    pub single_scan: bool,
    /// Hive partition keys (the last columns of `schema`).
    pub partition_keys: Vec<String>,
    /// The registered table name.
    pub table: String,
}

/// The session settings every query of lakegate runs with (partitions, no information schema).
fn session_config(config: &EngineConfig) -> SessionConfig {
    SessionConfig::new()
        .with_target_partitions(config.target_partitions)
        .with_information_schema(false)
}

/// A runtime whose memory pool is bounded by `memory_limit` (operators spill or fail beyond it).
fn runtime(
    config: &EngineConfig,
) -> datafusion::error::Result<std::sync::Arc<datafusion::execution::runtime_env::RuntimeEnv>> {
    RuntimeEnvBuilder::new()
        .with_memory_limit(usize::try_from(config.memory_limit).unwrap_or(usize::MAX), 1.0)
        .build_arc()
}

/// A session for SQL written by a person (`history --sql`): the same memory pool and partitions
/// as the checks, with SQL's usual case folding of unquoted names.
pub fn bounded_session(config: &EngineConfig) -> datafusion::error::Result<SessionContext> {
    Ok(SessionContext::new_with_config_rt(
        session_config(config),
        runtime(config)?,
    ))
}

/// The deepest cause of a DataFusion error in one line (an optimizer failure says which rule failed
/// first, the reason last).
fn root_cause(e: &datafusion::error::DataFusionError) -> String {
    error::clean(e.find_root())
}

/// Predicates rewritten into cheaper kernels with the same answers (`bounds`, `string_match`).
fn fast_paths(e: Expr, schema: &DFSchema) -> Expr {
    bounds::rewrite(string_match::rewrite(e, schema), schema)
}

impl OpenDataset {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// A check lowered to its shape, with its `where` parsed.
#[derive(Debug, Clone)]
pub struct PlannedCheck {
    /// Index into the suite's checks.
    pub index: usize,
    pub shape: Shape,
    pub scope: Option<Expr>,
}

/// Refuses CSV files that the reader would read short because of a quote that never closes
/// ([`csv_quotes`]). The files are checked in parallel, off the async threads; the first bad file
/// in file order is named.
async fn check_quoting(spec: &crate::suite::DatasetSpec, files: &[DataFile]) -> Result<(), DatasetError> {
    use futures::StreamExt;
    let q = csv_quotes::Quoting {
        delimiter: spec.csv.delimiter,
        quote: spec.csv.quote,
        escape: spec.csv.escape,
        comment: spec.csv.comment,
    };
    let parallel = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let mut checks = futures::stream::iter(files.iter().map(|f| {
        let path = f.path.clone();
        async move {
            let checked = tokio::task::spawn_blocking({
                let path = path.clone();
                move || csv_quotes::check_file(&path, q)
            })
            .await;
            (path, checked)
        }
    }))
    .buffered(parallel);
    while let Some((path, checked)) = checks.next().await {
        let message = match checked {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => e.to_string(),
            Err(e) => e.to_string(),
        };
        return Err(DatasetError::Unreadable {
            dataset: spec.name.get_ref().clone(),
            path,
            message,
        });
    }
    Ok(())
}

impl Engine {
    pub fn new(config: &EngineConfig) -> datafusion::error::Result<Self> {
        let mut session = session_config(config);
        // Column names in `where`/`sql` fragments are taken as written (CSV headers keep their case).
        session.options_mut().sql_parser.enable_ident_normalization = false;
        let ctx = SessionContext::new_with_config_rt(session, runtime(config)?);
        let state = ctx.state();
        let one = state.config().clone().with_target_partitions(1);
        let sample_ctx = SessionContext::new_with_state(
            datafusion::execution::SessionStateBuilder::new_from_existing(state.clone())
                .with_config(one.clone())
                .build(),
        );
        let keyed_ctx = if config.memory_limit <= SMALL_POOL {
            let mut keyed = one;
            keyed.options_mut().optimizer.prefer_hash_join = false;
            SessionContext::new_with_state(
                datafusion::execution::SessionStateBuilder::new_from_existing(state)
                    .with_config(keyed)
                    .build(),
            )
        } else {
            ctx.clone()
        };
        Ok(Self {
            ctx,
            sample_ctx,
            keyed_ctx,
            config: config.clone(),
        })
    }

    /// Whether keyed queries take their spillable single-partition plans (`keyed_ctx`).
    fn small_pool(&self) -> bool {
        self.config.memory_limit <= SMALL_POOL
    }

    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Finds a dataset's files (or takes the given list) and registers them as a table.
    pub async fn open(
        &self,
        suite: &Suite,
        lake_root: &Path,
        zone_dir: &Path,
        files: Option<Vec<PathBuf>>,
    ) -> Result<OpenDataset, DatasetError> {
        let spec = &suite.dataset;
        let name = spec.name.get_ref().clone();
        let d = match files {
            None => discover::discover(lake_root, zone_dir, spec)?,
            Some(list) => {
                let root = zone_dir.join(spec.path.get_ref().trim_end_matches('/'));
                let root = if root.is_file() {
                    root.parent().map_or(root.clone(), Path::to_path_buf)
                } else {
                    root
                };
                discover::from_list(spec, &root, list)?
            }
        };
        if d.format == Format::Csv {
            check_quoting(spec, &d.files).await?;
        }
        let schemas = futures::future::try_join_all(
            d.files
                .iter()
                .map(|f| source::file_schema(&self.ctx, spec, d.format, self.config.infer_rows, f)),
        )
        .await?;
        let unified = source::unified_schema(spec, &d, &schemas)?;
        let table =
            source::build_table(&self.ctx, spec, &d, &schemas, &unified, self.config.infer_rows).map_err(|e| {
                DatasetError::Query {
                    dataset: name.clone(),
                    message: error::clean(&e),
                }
            })?;
        self.ctx
            .register_table(TableReference::bare(name.clone()), table)
            .map_err(|e| DatasetError::Query {
                dataset: name.clone(),
                message: error::clean(&e),
            })?;
        let mut groups: Vec<(&SchemaRef, &Vec<Option<String>>)> = Vec::new();
        for (f, s) in d.files.iter().zip(&schemas) {
            if !groups.contains(&(s, &f.partitions)) {
                groups.push((s, &f.partitions));
            }
        }
        let single_scan = groups.len() <= 1;
        drop(groups);
        let file_schemas = d
            .files
            .iter()
            .zip(schemas)
            .map(|(f, schema)| FileSchema {
                file: f.rel.clone(),
                schema,
            })
            .collect();
        Ok(OpenDataset {
            name,
            zone: spec.zone.get_ref().clone(),
            root: d.root.clone(),
            format: d.format,
            files: d.files.clone(),
            file_schemas,
            schema: unified,
            partition_keys: d.partition_keys,
            single_scan,
            table: spec.name.get_ref().clone(),
        })
    }

    /// Whether DataFusion's analyzer and optimizer accept a check's expressions, planned over the
    /// dataset's schema without reading it. A literal they refuse (a constant that overflows, a
    /// bound that does not convert, a bad regex flag) would otherwise stop the whole dataset's
    /// scan at run time and be reported as unreadable data; found here it is a configuration error
    /// from `validate` and `check` alike.
    fn optimizable(&self, schema: &SchemaRef, shape: &Shape, scope: Option<&Expr>) -> Result<(), String> {
        use datafusion::functions_aggregate::expr_fn::count;
        use datafusion::logical_expr::{LogicalPlanBuilder, LogicalTableSource, lit};
        let build = || -> datafusion::error::Result<datafusion::logical_expr::LogicalPlan> {
            let mut b =
                LogicalPlanBuilder::scan("t", std::sync::Arc::new(LogicalTableSource::new(schema.clone())), None)?;
            if let Some(s) = scope {
                b = b.filter(s.clone())?;
            }
            let mut aggs = vec![count(lit(1i64))];
            match shape {
                Shape::Rows { failing } => b = b.filter(failing.clone())?,
                Shape::Aggregates(exprs) => aggs.extend(exprs.iter().cloned()),
                _ => {}
            }
            let aggs = aggs.into_iter().enumerate().map(|(i, e)| e.alias(format!("m{i}")));
            b.aggregate(Vec::<Expr>::new(), aggs)?.build()
        };
        build()
            .and_then(|plan| self.ctx.state().optimize(&plan))
            .map(|_| ())
            .map_err(|e| root_cause(&e))
    }

    /// Lowers every check of a suite against its dataset's schema. All problems are returned.
    pub fn plan(
        &self,
        suite: &Suite,
        ds: &OpenDataset,
        schemas: &HashMap<String, SchemaRef>,
        unreadable: &[String],
    ) -> Result<Vec<PlannedCheck>, Vec<Diagnostic>> {
        let file = &suite.file;
        let schema: &Schema = &ds.schema;
        let df_schema = match DFSchema::try_from(schema.clone()) {
            Ok(s) => s,
            Err(e) => {
                return Err(vec![Diagnostic::plain(
                    Code::Engine,
                    format!("dataset `{}`: {e}", ds.name),
                )]);
            }
        };
        let columns: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let parse = |frag: &toml::Spanned<String>, role: FragmentRole| {
            crate::fragment::parse(&self.ctx, &df_schema, file, frag, role)
        };
        let cx = PlanCx {
            file,
            dataset: &ds.name,
            schema,
            parse_fragment: &parse,
            datasets: schemas,
            unreadable,
        };
        let mut planned = Vec::new();
        let mut diags = Vec::new();
        // A column the suite names but the data lacks is not a mistake in the suite: the data
        // disagrees with it. Such a check is planned as `Shape::Missing` (its status is `error`)
        // and the run reports the missing columns (`runner`); a `key` column the data lacks is
        // left out of samples and reported the same way.
        let missing = |index: usize, d: Diagnostic| PlannedCheck {
            index,
            shape: Shape::Missing {
                column: d.lacks_column.clone().unwrap_or_default(),
                found: Box::new(d),
            },
            scope: None,
        };
        for (index, decl) in suite.checks.iter().enumerate() {
            if ds.is_empty() {
                // No files, no schema: every check is judged on zero rows without a query.
                planned.push(PlannedCheck {
                    index,
                    shape: Shape::Aggregates(Vec::new()),
                    scope: None,
                });
                continue;
            }
            let mut ok = true;
            let mut lacking: Option<Diagnostic> = None;
            for col in decl.check.columns() {
                if !columns.contains(&col.get_ref().as_str()) && lacking.is_none() {
                    let help = did_you_mean(col.get_ref(), &columns, &format!("dataset `{}` has", ds.name));
                    lacking = Some(
                        Diagnostic::at(
                            Code::UnknownColumn,
                            file,
                            col.span(),
                            format!("dataset `{}` has no column `{}`", ds.name, col.get_ref()),
                        )
                        .label("unknown column")
                        .help(help)
                        .lacking(col.get_ref().clone()),
                    );
                }
            }
            let scope = match &decl.common.where_ {
                Some(w) => match parse(w, FragmentRole::RowPredicate) {
                    Ok(e) => Some(e),
                    Err(d) if d.lacks_column.is_some() => {
                        lacking.get_or_insert(d);
                        None
                    }
                    Err(d) => {
                        diags.push(d);
                        ok = false;
                        None
                    }
                },
                None => None,
            };
            if !ok {
                continue;
            }
            if let Some(d) = lacking {
                planned.push(missing(index, d));
                continue;
            }
            match decl.check.plan(&cx) {
                Ok(shape) => {
                    if let Err(reason) = self.optimizable(&ds.schema, &shape, scope.as_ref()) {
                        let span = match &decl.common.where_ {
                            Some(w) if self.optimizable(&ds.schema, &Shape::Schema, scope.as_ref()).is_err() => {
                                w.span()
                            }
                            _ => decl.common.kind.span(),
                        };
                        diags.push(
                            Diagnostic::at(
                                Code::PlannerRefused,
                                file,
                                span,
                                format!("this check cannot be evaluated: {reason}"),
                            )
                            .label("refused by the query planner")
                            .help("a literal in the check does not fit the column or the function it is used with"),
                        );
                        continue;
                    }
                    if decl.common.max_fraction > 0.0 && matches!(shape, Shape::Aggregates(_) | Shape::Schema) {
                        diags.push(
                            Diagnostic::at(
                                Code::InapplicableKey,
                                file,
                                decl.common.kind.span(),
                                format!("`max_fraction` has no meaning for a `{}` check", decl.check.kind()),
                            )
                            .label("not a row-level check")
                            .help("remove `max_fraction`; it applies to checks that count failing rows"),
                        );
                    }
                    planned.push(PlannedCheck { index, shape, scope });
                }
                Err(d) if d.lacks_column.is_some() => planned.push(missing(index, d)),
                Err(d) => diags.push(d),
            }
        }
        if diags.is_empty() { Ok(planned) } else { Err(diags) }
    }
}
