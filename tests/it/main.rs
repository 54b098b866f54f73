//! lakegate's integration tests: one binary, so a change links once.

// Tests set up and tear down lakes directly; the rule that only fs_atomic writes zones is for the product.
#![allow(clippy::disallowed_methods)]
// Test helpers are shared between modules of this one binary, not an API.
#![allow(unreachable_pub)]

mod alerts;
mod answers;
mod audit;
#[cfg(feature = "ballista")]
mod ballista;
// The benchmark's data generator, to run its suite on a small copy of its data (s3_lakes.rs).
#[path = "../../benches/bench/orders.rs"]
mod bench_orders;
mod cases;
mod cli;
mod diagnostics;
mod docs;
mod explain;
mod fastpaths;
mod fixtures;
mod history;
mod incremental;
mod incremental_hostile;
mod inference;
mod init;
mod keys;
mod kinds;
mod layers;
mod lineage;
mod progress;
mod promote;
mod promote_hostile;
mod reads;
mod registry;
mod report;
mod s3;
mod s3_lakes;
mod s3_promote;
mod s3_promote_hostile;
mod s3_reads;
mod schema_json;
mod stats;
mod suggest;
mod support;
mod tidy;
mod webhook;
