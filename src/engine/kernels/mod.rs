//! The engine's own kernels: predicates and aggregates rewritten into cheaper forms with the same
//! answers, and the aggregates the fused scan and the `unique` check use.
//!
//! A planned check is plain DataFusion `Expr`. Before the fused scan runs it, [`fast_paths`] rewrites
//! each row predicate in this order, each step seeing the previous one's output:
//!
//! 1. [`string_match`]: anchored character-class regexes (`^[A-Z]{2}$`) become a byte loop, and
//!    string `IN` lists become one set lookup (`lakegate_match`, `lakegate_in_set`; long lists are
//!    a [`view_table`]). It runs first because it recognizes the predicates as the checks wrote them.
//! 2. [`bounds`]: `v < lo OR v > hi` over one column becomes one two-sided kernel
//!    (`lakegate_outside`). It runs after `string_match`, which never produces such a pair.
//! 3. [`shared_lists`] (over all the scan's predicates at once, in `measure`): several `IN` lists over
//!    one column share one pass (`lakegate_list_mask`). It must follow `string_match`, whose
//!    `lakegate_in_set` calls it merges.
//! 4. [`count_true`]: every predicate is counted by one aggregate (`lakegate_count_true`).
//!
//! Beside the pipeline: [`overflow`] (checked integer arithmetic and 128-bit `sum`, applied when a
//! fragment is parsed, so every later step sees checked arithmetic), [`key_list`] (integer keys
//! collected by the fused scan of CSV/JSON) and [`key_bitmap`] (repeated integer keys by bitmaps),
//! [`string_set`] (the string sets of `IN` lists), [`value_counts`] (the value counts and exact
//! distinct counts `suggest` profiles with) and [`udf`], the plumbing they share. Each kernel has unit tests comparing it with DataFusion's
//! own evaluation of the expression it replaces.

pub(crate) mod bounds;
pub(crate) mod count_true;
pub(crate) mod key_bitmap;
pub(crate) mod key_list;
pub(crate) mod overflow;
#[cfg(feature = "ballista")]
pub(crate) mod portable;
pub(crate) mod shared_lists;
pub(crate) mod string_match;
pub(crate) mod string_set;
pub(crate) mod udf;
pub(crate) mod value_counts;
pub(crate) mod view_table;

use datafusion::common::DFSchema;
use datafusion::logical_expr::Expr;

/// Steps 1 and 2 of the pipeline for one row predicate (see the module doc).
pub(crate) fn fast_paths(e: Expr, schema: &DFSchema) -> Expr {
    bounds::rewrite(string_match::rewrite(e, schema), schema)
}

/// Registers by name the functions whose meaning does not depend on the call (for SQL that names
/// them). The rewrites above carry their literals inside the function value (a pattern's byte
/// classes, a list's set), so they are built per check, not registered; on a Ballista cluster
/// every kernel travels with its state through the plan codec ([`portable`]).
pub(crate) fn register(ctx: &datafusion::prelude::SessionContext) {
    ctx.register_udaf(overflow::wide_sum_udaf());
}
