//! A query that stops making progress is stopped with an error, never waited on forever.
//!
//! DataFusion 55.2 can park every thread of a grouped aggregation or join under a small memory pool
//! (RepartitionExec's spill pool, apache/datafusion#24883, fixed by #24891 after 55.2.0). lakegate
//! avoids the plans that trigger it (one partition for keyed queries under small pools, see
//! [`super::Engine::new`]), and this watchdog turns any remaining hang into an error: a thread
//! samples the plan's metrics (rows produced, bytes spilled, compute time — every operator updates
//! them at least once per batch) and when none has moved for [`STALL`], the query's future is
//! dropped, which cancels its tasks. Plain threads and a oneshot channel keep it off tokio's timer,
//! which the project does not otherwise need.

use std::future::Future;
use std::sync::Arc;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::physical_plan::ExecutionPlan;
use futures::future::Either;

/// How long a query may go without any metric moving. Operators update their metrics per batch of
/// 8,192 rows, so a live query moves them many times a second.
pub(crate) const STALL: Duration = Duration::from_secs(60);

/// How often the metrics are sampled.
const TICK: Duration = Duration::from_millis(250);

/// The error of a stalled query.
#[derive(Debug, thiserror::Error)]
#[error(
    "the query made no progress for {} s and was stopped (a known DataFusion deadlock of spilling plans under small memory pools, apache/datafusion#24883); raise `memory_limit` in [engine] (or --memory-limit) and run again",
    .0.as_secs()
)]
pub(crate) struct Stalled(pub Duration);

/// A number that changes whenever any operator of the plan does something.
fn progress(plan: &Arc<dyn ExecutionPlan>) -> u128 {
    let mut sum: u128 = 0;
    let mut stack = vec![plan.clone()];
    while let Some(p) = stack.pop() {
        if let Some(m) = p.metrics() {
            sum += m.iter().map(|x| x.value().as_usize() as u128).sum::<u128>();
        }
        stack.extend(p.children().into_iter().cloned());
    }
    sum
}

/// Runs `work` (which executes `plan`) and fails it when `plan` makes no progress for `stall`.
pub(crate) async fn guard<T>(
    plan: Arc<dyn ExecutionPlan>,
    stall: Duration,
    work: impl Future<Output = DfResult<T>>,
) -> DfResult<T> {
    if distributed(&plan) {
        // Its operators run on a cluster: nothing here moves until results arrive, and the
        // deadlock this guards against is one of a local plan.
        return work.await;
    }
    watch(move || progress(&plan), stall, work).await
}

/// Whether `plan` runs on a Ballista cluster.
fn distributed(plan: &Arc<dyn ExecutionPlan>) -> bool {
    let mut stack = vec![plan.clone()];
    while let Some(p) = stack.pop() {
        if p.name() == "DistributedQueryExec" {
            return true;
        }
        stack.extend(p.children().into_iter().cloned());
    }
    false
}

/// [`guard`] with any measure of progress.
pub(crate) async fn watch<T>(
    measure: impl Fn() -> u128 + Send + 'static,
    stall: Duration,
    work: impl Future<Output = DfResult<T>>,
) -> DfResult<T> {
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let (stalled, on_stall) = futures::channel::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut last = measure();
        let mut since = Instant::now();
        loop {
            match finished.recv_timeout(TICK) {
                Err(RecvTimeoutError::Timeout) => {}
                // The work finished (or was dropped).
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
            let now = measure();
            if now != last {
                last = now;
                since = Instant::now();
            } else if since.elapsed() >= stall {
                let _ = stalled.send(());
                return;
            }
        }
    });
    let work = std::pin::pin!(work);
    let out = match futures::future::select(work, on_stall).await {
        Either::Left((r, _)) => r,
        Either::Right((Ok(()), _)) => Err(DataFusionError::External(Box::new(Stalled(stall)))),
        // The watchdog ended without a verdict: let the work finish.
        Either::Right((Err(_), work)) => work.await,
    };
    drop(done);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_without_progress_is_stopped() {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let r: DfResult<()> = rt.block_on(watch(|| 7, Duration::from_millis(300), futures::future::pending()));
        let e = r.unwrap_err();
        assert!(e.to_string().contains("made no progress"), "{e}");
    }

    #[test]
    fn a_query_that_finishes_is_left_alone() {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let r = rt.block_on(watch(|| 7, Duration::from_secs(600), async { Ok(5) }));
        assert_eq!(r.unwrap(), 5);
    }
}
