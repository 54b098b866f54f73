//! The only module that holds DataFusion sessions and executes queries.
//!
//! The engine measures; it never judges. A run (`crate::run`) asks it to
//!
//! 1. [`Engine::open`] a dataset ([`dataset`]): find its files, read their schemas, register one
//!    table (metadata only);
//! 2. [`Engine::plan`] a suite's checks against that schema ([`plan`]): each check kind lowers
//!    itself to a [`Shape`](crate::checks::Shape) of DataFusion expressions, every problem a
//!    diagnostic;
//! 3. [`Engine::measure`] the planned checks ([`measure`]): one fused aggregate query for every
//!    row-level and aggregate check (its predicates first rewritten by the [`kernels`] pipeline),
//!    footers where they answer exactly, one query per `unique` and `reference` check. The result is
//!    an [`Observation`](crate::checks::Observation) per check, or why it could not be measured;
//! 4. [`Engine::samples`] of the checks the run judged failed ([`sample`]).
//!
//! Besides runs: [`profile`] measures what a dataset's columns hold for `lakegate suggest` (one
//! scan, plain Rust values out), [`sql`] runs a person's read-only SQL over registered files (`history --sql`),
//! [`split`] writes a batch's passing and failing rows (`promote --mode split`), and
//! [`dataset::verify`] decodes Parquet files completely before `promote` publishes them. Every
//! session comes from [`session`].

#[cfg(feature = "ballista")]
pub(crate) mod ballista;
pub(crate) mod dataset;
pub(crate) mod error;
pub(crate) mod explain;
pub(crate) mod incremental;
pub(crate) mod kernels;
pub(crate) mod measure;
pub(crate) mod plan;
mod probe;
pub(crate) mod profile;
pub(crate) mod sample;
pub(crate) mod session;
pub(crate) mod split;
pub(crate) mod sql;

/// The DataFusion version lakegate is built with (`lakegate --version` says it).
pub(crate) const DATAFUSION_VERSION: &str = datafusion::DATAFUSION_VERSION;
pub(crate) mod watchdog;

use datafusion::prelude::SessionContext;

pub(crate) use dataset::{DataFile, OpenDataset};
pub(crate) use error::DatasetError;
pub(crate) use measure::Measured;
pub(crate) use plan::PlannedCheck;
pub(crate) use sample::to_json as batches_to_json;
pub(crate) use session::SMALL_POOL;

use crate::config::EngineConfig;

/// Whether the configured engine can run queries now — always for the local one; for a Ballista
/// cluster, a scheduler that answers and has an executor — or the sentence that says what to fix.
pub(crate) fn ready(config: &EngineConfig) -> Result<(), String> {
    match &config.url {
        None => Ok(()),
        #[cfg(feature = "ballista")]
        Some(url) => ballista::ready(url),
        #[cfg(not(feature = "ballista"))]
        Some(_) => Err(session::WITHOUT_BALLISTA.to_string()),
    }
}

/// DataFusion sessions with lakegate's settings and a bounded memory pool ([`session`]).
pub(crate) struct Engine {
    ctx: SessionContext,
    sample_ctx: SessionContext,
    keyed_ctx: SessionContext,
    config: EngineConfig,
    /// The files of each dataset opened (by table name), for incremental runs to tell whether the
    /// other side of a `reference` check changed.
    opened: std::sync::Mutex<std::collections::HashMap<String, Vec<DataFile>>>,
    /// One store per bucket of a lake on an object store (by bucket URL), registered with the
    /// sessions: it holds the ETags its datasets were listed at ([`dataset::remote::Pinned`]).
    stores: std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<dataset::remote::Pinned>>>,
}

impl Engine {
    pub(crate) fn new(config: &EngineConfig) -> datafusion::error::Result<Self> {
        let s = session::Sessions::new(config)?;
        Ok(Self {
            ctx: s.main,
            sample_ctx: s.sample,
            keyed_ctx: s.keyed,
            config: config.clone(),
            opened: std::sync::Mutex::default(),
            stores: std::sync::Mutex::default(),
        })
    }

    /// Whether queries run on a cluster (`[engine] url`) rather than in this process.
    fn distributed(&self) -> bool {
        self.config.url.is_some()
    }

    /// Whether `e` says the cluster queries run on stopped answering (then the run cannot happen,
    /// whatever the data and the checks).
    fn cluster_gone(&self, e: &datafusion::error::DataFusionError) -> bool {
        #[cfg(feature = "ballista")]
        return self.distributed() && ballista::unavailable(&e.to_string());
        #[cfg(not(feature = "ballista"))]
        {
            let _ = e;
            false
        }
    }

    /// Whether keyed queries take their spillable single-partition plans ([`session::Sessions`]).
    fn small_pool(&self) -> bool {
        self.config.memory_limit <= SMALL_POOL
    }
}
