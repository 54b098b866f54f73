//! The only place lakegate reads the wall clock.
//!
//! Freshness and run timestamps depend on "now". `--now` fixes it so that a run is reproducible;
//! everything else asks the [`Clock`] instead of calling `Utc::now` (clippy enforces this).

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    fixed: Option<DateTime<Utc>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self { fixed: None }
    }

    /// A clock stopped at `now` (from `--now`).
    pub fn fixed(now: DateTime<Utc>) -> Self {
        Self { fixed: Some(now) }
    }

    /// "Now" as freshness sees it.
    #[allow(clippy::disallowed_methods)]
    pub fn now(&self) -> DateTime<Utc> {
        self.fixed.unwrap_or_else(Utc::now)
    }

    /// The real time, for durations and run timestamps even when `--now` is fixed.
    #[allow(clippy::disallowed_methods)]
    pub fn wall(&self) -> DateTime<Utc> {
        Utc::now()
    }

    pub fn is_fixed(&self) -> bool {
        self.fixed.is_some()
    }
}
