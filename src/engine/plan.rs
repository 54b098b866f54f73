//! Planning: a suite's checks lowered against a dataset's schema, before any row is read.
//!
//! [`Engine::plan`] gives every check its [`Shape`] (from the check kind) and parses its `where`;
//! a column the data lacks makes the check `Shape::Missing` (a data failure, reported by the run),
//! anything else wrong is a diagnostic. Every shape is also passed through DataFusion's analyzer
//! and optimizer over the schema ([`Engine::optimizable`]), so a literal the planner refuses is a
//! configuration error, not a failure of the whole scan.

use std::collections::HashMap;

use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::common::DFSchema;
use datafusion::logical_expr::Expr;

use super::{Engine, OpenDataset};
use crate::checks::{PlanCx, Shape};
use crate::diag::SourceFile;
use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::fragment::FragmentRole;
use crate::suite::{CheckDecl, Suite};

/// A check lowered to its shape, with its `where` parsed.
#[derive(Debug, Clone)]
pub(crate) struct PlannedCheck {
    /// Index into the suite's checks.
    pub index: usize,
    pub shape: Shape,
    pub scope: Option<Expr>,
}

impl PlannedCheck {
    /// The rows this check fails: its failing predicate within its scope (`scope AND failing`),
    /// for row-level checks only.
    pub(crate) fn failing_in_scope(&self) -> Option<Expr> {
        let Shape::Rows { failing } = &self.shape else {
            return None;
        };
        Some(match &self.scope {
            Some(s) => s.clone().and(failing.clone()),
            None => failing.clone(),
        })
    }
}

/// The deepest cause of a DataFusion error in one line (an optimizer failure says which rule failed
/// first, the reason last).
fn root_cause(e: &datafusion::error::DataFusionError) -> String {
    super::error::clean(e.find_root())
}

/// The engine's rewrites of every expression a check kind built (integer `sum` in 128 bits,
/// checked integer arithmetic). A fragment's were applied when it was parsed; applying them again
/// changes nothing.
fn lower_shape(shape: Shape, schema: &DFSchema) -> Result<Shape, String> {
    use super::kernels::overflow::rewrite;
    Ok(match shape {
        Shape::Rows { failing } => Shape::Rows {
            failing: rewrite(failing, schema)?,
        },
        Shape::Aggregates(exprs) => Shape::Aggregates(
            exprs
                .into_iter()
                .map(|e| rewrite(e, schema))
                .collect::<Result<_, _>>()?,
        ),
        other => other,
    })
}

/// A column the suite names but the data lacks is not a mistake in the suite: the data disagrees
/// with it. Such a check is planned as `Shape::Missing` (its status is `error`) and the run reports
/// the missing columns (`crate::run`); a `key` column the data lacks is left out of samples and
/// reported the same way.
fn missing(index: usize, d: Diagnostic) -> PlannedCheck {
    PlannedCheck {
        index,
        shape: Shape::Missing {
            column: d.lacks_column.clone().unwrap_or_default(),
            found: Box::new(d),
        },
        scope: None,
    }
}

/// The first of a check's columns the dataset lacks, as the diagnostic that says so.
fn lacking_column(decl: &CheckDecl, ds: &OpenDataset, file: &SourceFile, columns: &[&str]) -> Option<Diagnostic> {
    let col = decl
        .check
        .columns()
        .into_iter()
        .find(|c| !columns.contains(&c.get_ref().as_str()))?;
    let help = did_you_mean(col.get_ref(), columns, &format!("dataset `{}` has", ds.name));
    Some(
        Diagnostic::at(
            Code::UnknownColumn,
            file,
            col.span(),
            format!("dataset `{}` has no column `{}`", ds.name, col.get_ref()),
        )
        .label("unknown column")
        .help(help)
        .lacking(col.get_ref().clone()),
    )
}

/// `max_fraction` on a check that counts no rows.
fn max_fraction_misplaced(decl: &CheckDecl, file: &SourceFile, shape: &Shape) -> Option<Diagnostic> {
    (decl.common.max_fraction > 0.0 && matches!(shape, Shape::Aggregates(_) | Shape::Schema)).then(|| {
        Diagnostic::at(
            Code::InapplicableKey,
            file,
            decl.common.kind.span(),
            format!("`max_fraction` has no meaning for a `{}` check", decl.check.kind()),
        )
        .label("not a row-level check")
        .help("remove `max_fraction`; it applies to checks that count failing rows")
    })
}

impl Engine {
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

    /// A check's shape from its kind, lowered by the engine's rewrites and accepted by the query
    /// planner over the schema (a literal it refuses is a diagnostic at the `where` or the kind).
    fn shape_of(
        &self,
        decl: &CheckDecl,
        cx: &PlanCx<'_>,
        df_schema: &DFSchema,
        schema: &SchemaRef,
        scope: Option<&Expr>,
    ) -> Result<Shape, Diagnostic> {
        let refused = |span, reason: String| {
            Diagnostic::at(
                Code::PlannerRefused,
                cx.file,
                span,
                format!("this check cannot be evaluated: {reason}"),
            )
        };
        let shape = decl.check.plan(cx)?;
        let shape = lower_shape(shape, df_schema).map_err(|e| refused(decl.common.kind.span(), e))?;
        if let Err(reason) = self.optimizable(schema, &shape, scope) {
            let span = match &decl.common.where_ {
                Some(w) if self.optimizable(schema, &Shape::Schema, scope).is_err() => w.span(),
                _ => decl.common.kind.span(),
            };
            return Err(refused(span, reason)
                .label("refused by the query planner")
                .help("a literal in the check does not fit the column or the function it is used with"));
        }
        Ok(shape)
    }

    /// Lowers every check of a suite against its dataset's schema. All problems are returned.
    pub(crate) fn plan(
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
            crate::fragment::parse(self, &df_schema, file, frag, role)
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
            let lacking = lacking_column(decl, ds, file, &columns);
            // A `where` the planner cannot take is a diagnostic; one naming a missing column makes
            // the check `Missing` like a missing `column`.
            let scope = match &decl.common.where_ {
                Some(w) => match parse(w, FragmentRole::RowPredicate) {
                    Ok(e) => Ok(Some(e)),
                    Err(d) if d.lacks_column.is_some() => Err(d),
                    Err(d) => {
                        diags.push(d);
                        continue;
                    }
                },
                None => Ok(None),
            };
            let scope = match (lacking, scope) {
                (Some(d), _) | (None, Err(d)) => {
                    planned.push(missing(index, d));
                    continue;
                }
                (None, Ok(scope)) => scope,
            };
            match self.shape_of(decl, &cx, &df_schema, &ds.schema, scope.as_ref()) {
                Ok(shape) => {
                    diags.extend(max_fraction_misplaced(decl, file, &shape));
                    planned.push(PlannedCheck { index, shape, scope });
                }
                Err(d) if d.lacks_column.is_some() => planned.push(missing(index, d)),
                Err(d) => diags.push(d),
            }
        }
        if diags.is_empty() { Ok(planned) } else { Err(diags) }
    }
}
