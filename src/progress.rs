//! Progress on stderr for runs that take a while: `[2/5 datasets, 1,234,567 rows] checking…`,
//! redrawn in place once a run has gone on for a second, cleared when it ends.
//!
//! Shown only when stderr is a terminal, never with `--quiet` or JSON logs (the binary decides once,
//! [`enable`]). It never tears a log line: the progress line and log lines share one lock
//! ([`crate::term::stderr_line`]); a log line first erases the progress line, and the next tick
//! draws it again below.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Whether progress may be drawn at all (set once by the binary).
static ENABLED: AtomicBool = AtomicBool::new(false);
/// How long a run goes on before progress appears.
const AFTER: Duration = Duration::from_secs(1);
const EVERY: Duration = Duration::from_millis(200);

/// Lets runs draw progress (the binary calls it when stderr is a terminal and output is for people).
pub fn enable(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Counters a run updates as datasets finish.
#[derive(Debug, Default)]
struct Counts {
    done: AtomicUsize,
    rows: AtomicU64,
    finished: AtomicBool,
}

/// The progress of one run; drawing stops and the line is cleared when it is dropped.
#[derive(Debug)]
pub(crate) struct Progress {
    counts: Arc<Counts>,
    drawer: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    /// Starts counting `total` datasets; a thread draws the line from [`AFTER`] on.
    pub(crate) fn start(total: usize, what: &'static str) -> Self {
        let counts = Arc::new(Counts::default());
        let drawer = ENABLED.load(Ordering::Relaxed).then(|| {
            let counts = Arc::clone(&counts);
            std::thread::spawn(move || draw(&counts, total, what))
        });
        Self { counts, drawer }
    }

    /// One dataset finished, having read `rows` rows.
    pub(crate) fn dataset_done(&self, rows: u64) {
        self.counts.done.fetch_add(1, Ordering::Relaxed);
        self.counts.rows.fetch_add(rows, Ordering::Relaxed);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.counts.finished.store(true, Ordering::Relaxed);
        if let Some(t) = self.drawer.take() {
            let _ = t.join();
        }
        drop(crate::term::stderr_line());
    }
}

/// The drawing loop: sleeps until [`AFTER`], then redraws every [`EVERY`] until the run finishes.
fn draw(counts: &Counts, total: usize, what: &str) {
    let started = Instant::now();
    while !counts.finished.load(Ordering::Relaxed) {
        std::thread::sleep(EVERY);
        if started.elapsed() < AFTER || counts.finished.load(Ordering::Relaxed) {
            continue;
        }
        let line = format!(
            "[{}/{} datasets, {} rows] {what}… {:.0}s",
            counts.done.load(Ordering::Relaxed),
            total,
            crate::results::numbers::fmt_count(counts.rows.load(Ordering::Relaxed)),
            started.elapsed().as_secs_f64()
        );
        let mut shown = crate::term::stderr_line();
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(line.as_bytes());
        let _ = err.flush();
        *shown = true;
    }
}
