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
use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::fragment::FragmentRole;
use crate::suite::Suite;

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
        // A column the suite names but the data lacks is not a mistake in the suite: the data
        // disagrees with it. Such a check is planned as `Shape::Missing` (its status is `error`)
        // and the run reports the missing columns (`crate::run`); a `key` column the data lacks is
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
            match decl.check.plan(&cx).and_then(|shape| {
                lower_shape(shape, &df_schema).map_err(|e| {
                    Diagnostic::at(
                        Code::PlannerRefused,
                        file,
                        decl.common.kind.span(),
                        format!("this check cannot be evaluated: {e}"),
                    )
                })
            }) {
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
