//! Exit codes, decided in one place.
//!
//! - `0` every error-severity check passed (warnings allowed unless `--fail-on warn`)
//! - `1` at least one check failed or could not be evaluated
//! - `2` usage or configuration error: nothing was run
//! - `3` the run itself could not happen (a dataset unreadable, the lake missing, I/O failure; for
//!   `alerts test`, a channel that did not deliver its test message)
//!
//! When several apply, the most fundamental wins: 2 over 3 over 1.
//!
//! Subcommands do not pick numbers: they return what happened as a typed [`Outcome`] or
//! [`CliError`], the binary renders an error at the edge (`cli::report_error`), and [`code`] is the
//! one `match` that turns either into the process's exit code (as ripgrep's `main` does).

use crate::diag::Diagnostic;
use crate::promote::PromoteError;
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

/// What a subcommand did, when it could do it (its output is already printed).
#[derive(Debug)]
pub enum Outcome {
    /// `check` ran the suites: the run's verdicts decide, with `--fail-on`.
    Ran(Box<RunResult>, FailOn),
    /// `validate` planned every suite: a dataset could not be opened, or the data lacks columns the
    /// suites name (a valid suite the data disagrees with).
    Validated { unreadable: bool, missing_columns: bool },
    /// `promote` ran its gate; `failed` when the batch did not pass (nothing was published).
    Promoted { failed: bool },
    /// `alerts test` sent a test message through every channel; `undelivered` when one was not
    /// delivered (refused, unreachable or not sent): the channel cannot deliver alerts now.
    AlertsTested { undelivered: bool },
    /// The command did what it was asked (`history`, `schema`).
    Done,
}

/// Why a subcommand could not do what it was asked. Rendered by `cli::report_error`.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Configuration problems, each with its place in a file: nothing was run.
    #[error("{} configuration {} found; nothing was run", .0.len(), if .0.len() == 1 { "problem" } else { "problems" })]
    Config(Vec<Diagnostic>),
    /// The command line asks for something that is not there or cannot be (no dataset named, a
    /// `--sql` query that does not parse, a schema version never accepted).
    #[error("{message}")]
    Usage { message: String, help: Option<String> },
    /// The run itself could not happen (I/O, an unreadable dataset or history, a query that failed).
    #[error("{0}")]
    RunFailed(String),
    /// A promotion that could not happen (locked, unreadable, refused, I/O); never `Config`, which
    /// converts to [`CliError::Config`].
    #[error(transparent)]
    Promote(PromoteError),
    /// The command's thread panicked; the panic hook has already said why.
    #[error("lakegate stopped on an internal error")]
    Panicked,
}

impl From<PromoteError> for CliError {
    fn from(e: PromoteError) -> Self {
        match e {
            PromoteError::Config(d) => CliError::Config(d),
            other => CliError::Promote(other),
        }
    }
}

impl CliError {
    /// A usage error with a `help:` line.
    pub fn usage(message: impl Into<String>, help: Option<&str>) -> Self {
        CliError::Usage {
            message: message.into(),
            help: help.map(str::to_string),
        }
    }
}

/// The exit code of a command's result: the one place numbers are chosen. Arms are in precedence
/// order: configuration (2) over an impossible run (3) over failed checks (1) over success.
pub fn code(result: &Result<Outcome, CliError>) -> u8 {
    match result {
        Err(CliError::Config(_) | CliError::Usage { .. }) => CONFIG,
        Err(CliError::RunFailed(_) | CliError::Promote(_) | CliError::Panicked) => RUN_FAILED,
        Ok(Outcome::Ran(run, _)) if run.has_unreadable_dataset() => RUN_FAILED,
        Ok(Outcome::Validated { unreadable: true, .. } | Outcome::AlertsTested { undelivered: true }) => RUN_FAILED,
        Ok(Outcome::Ran(run, fail_on)) => match (run.status, fail_on) {
            (Status::Fail | Status::Error, _) | (Status::Warn, FailOn::Warn) => CHECKS_FAILED,
            (Status::Warn | Status::Pass, _) => OK,
        },
        Ok(
            Outcome::Validated {
                missing_columns: true, ..
            }
            | Outcome::Promoted { failed: true },
        ) => CHECKS_FAILED,
        Ok(Outcome::Validated { .. } | Outcome::Promoted { .. } | Outcome::AlertsTested { .. } | Outcome::Done) => OK,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Code;

    fn ran(status: Status) -> RunResult {
        let t = chrono::DateTime::UNIX_EPOCH;
        RunResult {
            lakegate: "test",
            format_version: crate::results::FORMAT_VERSION,
            run_id: String::new(),
            command: "check".into(),
            started_at: t,
            finished_at: t,
            now: t,
            status,
            summary: crate::results::Summary::default(),
            datasets: Vec::new(),
            alerts: Vec::new(),
            lineage: Vec::new(),
        }
    }

    #[test]
    fn precedence_is_config_then_run_failed_then_checks_failed() {
        let config = Err(CliError::Config(vec![Diagnostic::plain(Code::NoSuites, "x")]));
        assert_eq!(code(&config), CONFIG);
        assert_eq!(code(&Err(CliError::usage("x", None))), CONFIG);
        assert_eq!(code(&Err(CliError::RunFailed("x".into()))), RUN_FAILED);
        assert_eq!(code(&Err(CliError::Panicked)), RUN_FAILED);
        let both = Ok(Outcome::Validated {
            unreadable: true,
            missing_columns: true,
        });
        assert_eq!(code(&both), RUN_FAILED, "an impossible run outranks failed checks");
        let missing = Ok(Outcome::Validated {
            unreadable: false,
            missing_columns: true,
        });
        assert_eq!(code(&missing), CHECKS_FAILED);
        assert_eq!(code(&Ok(Outcome::Promoted { failed: true })), CHECKS_FAILED);
        assert_eq!(code(&Ok(Outcome::Promoted { failed: false })), OK);
        assert_eq!(code(&Ok(Outcome::Done)), OK);
        assert_eq!(code(&Ok(Outcome::AlertsTested { undelivered: false })), OK);
        assert_eq!(
            code(&Ok(Outcome::AlertsTested { undelivered: true })),
            RUN_FAILED,
            "a channel that cannot deliver is an operation that could not happen"
        );
    }

    #[test]
    fn a_run_fails_on_errors_and_on_warnings_only_when_asked() {
        let with = |s, f| code(&Ok(Outcome::Ran(Box::new(ran(s)), f)));
        assert_eq!(with(Status::Pass, FailOn::Warn), OK);
        assert_eq!(with(Status::Warn, FailOn::Error), OK);
        assert_eq!(with(Status::Warn, FailOn::Warn), CHECKS_FAILED);
        assert_eq!(with(Status::Fail, FailOn::Error), CHECKS_FAILED);
        assert_eq!(with(Status::Error, FailOn::Error), CHECKS_FAILED);
    }

    #[test]
    fn a_promotion_config_error_is_a_config_error() {
        let e: CliError = PromoteError::Config(vec![Diagnostic::plain(Code::UnknownZone, "x")]).into();
        assert_eq!(code(&Err(e)), CONFIG);
        let e: CliError = PromoteError::Refused("no".into()).into();
        assert_eq!(code(&Err(e)), RUN_FAILED);
    }
}
