//! The one place a DataFusion session is built. Every query lakegate runs — the checks, their
//! samples and keyed queries, promote's split writes and `history --sql` — runs in a session from
//! here, so all of them share the same rules: the memory pool of `[engine] memory_limit` (operators
//! spill or fail beyond it), `target_partitions`, identifiers taken as written (CSV headers keep
//! their case, so `CustomerID` means the same column in a suite's `where` and in `history --sql`),
//! no information schema, and lakegate's own functions registered by name.

use std::sync::Arc;

use datafusion::error::Result as DfResult;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::config::EngineConfig;

#[cfg(not(feature = "ballista"))]
pub(crate) use crate::config::WITHOUT_BALLISTA;

/// Memory pools up to this size run keyed queries in one partition (see [`Sessions::keyed`]).
pub(crate) const SMALL_POOL: u64 = 256 * 1024 * 1024;

/// A runtime whose memory pool is bounded by `memory_limit`.
fn runtime(config: &EngineConfig) -> DfResult<Arc<RuntimeEnv>> {
    RuntimeEnvBuilder::new()
        .with_memory_limit(usize::try_from(config.memory_limit).unwrap_or(usize::MAX), 1.0)
        .build_arc()
}

/// A session with lakegate's settings (see the module doc); with `[engine] url`, its queries are
/// planned here and run on that Ballista cluster (`engine::ballista::remote`).
pub(crate) fn session(config: &EngineConfig) -> DfResult<SessionContext> {
    let mut settings = SessionConfig::new()
        .with_target_partitions(config.target_partitions)
        .with_information_schema(false);
    settings.options_mut().sql_parser.enable_ident_normalization = false;
    let ctx = SessionContext::new_with_config_rt(settings, runtime(config)?);
    super::kernels::register(&ctx);
    match &config.url {
        None => Ok(ctx),
        #[cfg(feature = "ballista")]
        Some(url) => Ok(SessionContext::new_with_state(super::ballista::remote(
            ctx.state(),
            url,
        )?)),
        #[cfg(not(feature = "ballista"))]
        Some(_) => Err(datafusion::error::DataFusionError::Configuration(
            WITHOUT_BALLISTA.into(),
        )),
    }
}

/// The sessions a run uses: one catalog, three planning settings.
pub(crate) struct Sessions {
    /// The fused scan and everything else.
    pub main: SessionContext,
    /// The same catalog with one partition per scan: a `LIMIT` sample query then reads the files in
    /// order and stops at the first matches, so samples are cheap and deterministic.
    pub sample: SessionContext,
    /// The same catalog for keyed queries (`unique`'s grouped query, `reference`'s anti-join). Under
    /// a small memory pool ([`SMALL_POOL`]) it plans one partition and sort-merge joins: several
    /// partitions deadlock DataFusion 55.2's spilling repartition (apache/datafusion#24883), and a
    /// hash join's build side cannot spill while a sort can.
    pub keyed: SessionContext,
}

impl Sessions {
    pub(crate) fn new(config: &EngineConfig) -> DfResult<Self> {
        let main = session(config)?;
        let state = main.state();
        let one = state.config().clone().with_target_partitions(1);
        let sample = SessionContext::new_with_state(
            SessionStateBuilder::new_from_existing(state.clone())
                .with_config(one.clone())
                .build(),
        );
        let keyed = if config.memory_limit <= SMALL_POOL {
            let mut keyed = one;
            keyed.options_mut().optimizer.prefer_hash_join = false;
            SessionContext::new_with_state(SessionStateBuilder::new_from_existing(state).with_config(keyed).build())
        } else {
            main.clone()
        };
        Ok(Self { main, sample, keyed })
    }
}
