//! lakegate: a data quality gate for data lakes.
//!
//! Suites of declarative checks (TOML) are parsed with spans ([`config`], [`suite`]), lowered per
//! check kind ([`checks`]) and fused by the [`engine`] into one DataFusion scan per dataset; the
//! [`run`] turns outcomes into a versioned [`results`] model that renderers print. See
//! ARCHITECTURE.md for the code map and the invariants.

pub mod checks;
pub mod cli;
pub mod clock;
pub mod config;
pub mod diag;
pub mod docs;
pub mod duration;
pub mod engine;
pub mod exit;
pub mod expr_depth;
pub mod fragment;
pub mod fs_atomic;
pub mod history;
pub mod layout;
pub mod paths;
pub mod promote;
pub mod results;
pub mod run;
pub mod schemas;
pub mod spanned;
pub mod suite;
pub mod term;
pub mod types;
