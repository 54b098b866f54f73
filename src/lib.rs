//! lakegate: a data quality gate for data lakes.
//!
//! Suites of declarative checks (TOML) are parsed with spans ([`config`], [`suite`]), lowered per
//! check kind ([`checks`]) and fused by the [`engine`] into one DataFusion scan per dataset; the
//! [`run`] turns outcomes into a versioned [`results`] model that renderers print. See
//! ARCHITECTURE.md for the code map and the invariants.

pub(crate) mod alerts;
pub(crate) mod audit;
pub(crate) mod checks;
pub mod cli;
pub(crate) mod clock;
pub(crate) mod config;
pub(crate) mod diag;
pub mod docs;
pub(crate) mod duration;
pub(crate) mod engine;
pub mod exit;
pub(crate) mod expr_depth;
pub(crate) mod fragment;
pub(crate) mod fs_atomic;
pub(crate) mod history;
pub mod json_schema;
pub(crate) mod layout;
pub(crate) mod lineage;
pub(crate) mod outputs;
pub(crate) mod paths;
pub mod progress;
pub(crate) mod promote;
pub(crate) mod report;
pub mod results;
pub(crate) mod run;
pub(crate) mod schedule;
pub(crate) mod schemas;
pub(crate) mod spanned;
pub(crate) mod suggest;
pub(crate) mod suite;
pub mod term;
pub(crate) mod types;

// What the integration tests and the benchmark use besides the binary; everything else is
// crate-private (`unreachable_pub` keeps it that way).
pub use checks::common::{COMMON_KEYS, read_common};
pub use checks::{KeyDoc, KindSpec, REGISTRY};
pub use diag::{Code, Diags, SourceFile};
/// The scheduler and executor processes of the `lakegate-executor` binary.
#[cfg(feature = "ballista")]
pub use engine::ballista::node as ballista_node;
pub use engine::dataset::{csv_quotes, verify};
pub use spanned::{TableReader, parse_document};
