//! Exit codes, decided in one place.
//!
//! - `0` every error-severity check passed (warnings allowed unless `--fail-on warn`)
//! - `1` at least one check failed or could not be evaluated
//! - `2` usage or configuration error: nothing was run
//! - `3` the run itself could not happen (a dataset unreadable, the lake missing, I/O failure)
//!
//! When several apply, the most fundamental wins: 2 over 3 over 1.

use crate::results::{RunResult, Status};

pub const OK: u8 = 0;
pub const CHECKS_FAILED: u8 = 1;
pub const CONFIG: u8 = 2;
pub const RUN_FAILED: u8 = 3;

/// What makes a run fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Only error-severity failures (and checks that could not be evaluated).
    Error,
    /// Warnings fail the run too.
    Warn,
}

pub fn for_run(run: &RunResult, fail_on: FailOn) -> u8 {
    if run.has_unreadable_dataset() {
        return RUN_FAILED;
    }
    match run.status {
        Status::Fail | Status::Error => CHECKS_FAILED,
        Status::Warn if fail_on == FailOn::Warn => CHECKS_FAILED,
        Status::Warn | Status::Pass => OK,
    }
}
