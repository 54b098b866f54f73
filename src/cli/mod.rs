//! The command line: global flags and one module per subcommand.

pub mod alerts;
pub mod audit;
pub mod check;
pub mod explain;
pub mod history;
pub mod init;
pub mod promote;
pub mod report;
pub mod schema;
pub mod suggest;
pub mod validate;

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::diag::{Diagnostic, Diags};
use crate::exit::{CliError, Outcome};

/// What every subcommand returns; `exit::code` turns it into the exit code.
pub type CmdResult = Result<Outcome, CliError>;

#[derive(Debug, Parser)]
#[command(
    name = "lakegate",
    about = "A data quality gate for data lakes: declarative checks, one scan per dataset."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    #[value(alias = "toml")]
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The project file.
    #[arg(long, global = true, default_value = "lakegate.toml", value_name = "FILE")]
    pub config: PathBuf,
    /// Output format on stdout.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// The clock freshness checks use, in RFC 3339 (e.g. 2026-01-15T12:00:00Z); makes runs reproducible.
    #[arg(long, global = true, value_name = "RFC3339", value_parser = parse_now)]
    pub now: Option<DateTime<Utc>>,
    /// Memory DataFusion may use before spilling to disk (e.g. 256MB, 2GB); overrides [engine] memory_limit.
    #[arg(long, global = true, value_name = "SIZE", value_parser = parse_size)]
    pub memory_limit: Option<u64>,
    /// Where queries run: ballista://HOST:PORT (a Ballista scheduler) or local; overrides [engine] url.
    #[arg(long, global = true, value_name = "URL", value_parser = parse_engine)]
    pub engine: Option<EngineArg>,
    /// Do not record this run in the history store.
    #[arg(long, global = true)]
    pub no_history: bool,
    /// Send no alerts for this run (queued ones stay in the outbox).
    #[arg(long, global = true)]
    pub no_alerts: bool,
    /// Print only the verdict (and errors).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// More detail: passing checks' messages; -vv adds debug logs.
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Logs on stderr as text lines or as JSON objects (one per line, for log shippers).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// `lakegate schema-json suite|project`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaFor {
    Suite,
    Project,
}

/// Prints a JSON Schema.
pub fn schema_json(of: SchemaFor) -> CmdResult {
    let v = match of {
        SchemaFor::Suite => crate::json_schema::suite(),
        SchemaFor::Project => crate::json_schema::project(),
    };
    print_stdout(&serde_json::to_string_pretty(&v).unwrap_or_default());
    Ok(Outcome::Done)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

fn parse_now(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| format!("{e}; write it like 2026-01-15T12:00:00Z"))
}

/// `--engine`: a Ballista scheduler's URL, or `None` for `local`.
#[derive(Debug, Clone)]
pub struct EngineArg(pub Option<String>);

fn parse_engine(s: &str) -> Result<EngineArg, String> {
    crate::config::parse_engine_url(s).map(EngineArg)
}

/// A memory size as `--memory-limit` takes it (`512MB`, `2GB`); also `lakegate-executor`'s.
pub fn parse_size(s: &str) -> Result<u64, String> {
    crate::config::parse_memory_limit(s)
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scaffold lakegate.toml and checks/ here; with --lake, a starter suite per dataset found.
    #[command(
        after_help = "Examples:\n  lakegate init                  # lakegate.toml, checks/ and an empty lake/ with four zones\n  lakegate init --lake data      # use an existing folder; a starter suite per dataset found"
    )]
    Init(init::InitArgs),
    /// Check every suite against the datasets' schemas without scanning rows.
    #[command(
        after_help = "Examples:\n  lakegate validate\n  lakegate validate --format json   # diagnostics for editors and CI"
    )]
    Validate,
    /// Say what `check` will do per dataset without reading a row: statistics, scanned columns, queries, bytes.
    #[command(after_help = "Examples:\n  lakegate explain\n  lakegate explain orders --format json")]
    Explain(explain::ExplainArgs),
    /// Run the suites (all, or the named datasets) and print the results.
    #[command(
        after_help = "Examples:\n  lakegate check                               # every suite\n  lakegate check orders --format json          # one dataset, the result document on stdout\n  lakegate check --junit results.xml --report site\n  lakegate check --now 2026-01-15T12:00:00Z    # a fixed clock for freshness\n  lakegate check --incremental                 # read only files new or changed since the last run"
    )]
    Check(check::CheckArgs),
    /// Check a batch with its suite and publish it into the next zone only if it passes.
    #[command(
        after_help = "Examples:\n  lakegate promote orders                 # raw → cleaned, all or nothing\n  lakegate promote orders --mode split    # passing rows on, failing rows to quarantine\n  lakegate promote orders --dry-run"
    )]
    Promote(promote::PromoteArgs),
    /// Run every suite on its schedule (a long-running process), or once with --once; `audit status`.
    #[command(
        after_help = "Examples:\n  lakegate audit                          # each suite on its schedule until SIGTERM\n  lakegate audit --once --zone raw        # for cron, systemd timers, Airflow\n  lakegate audit --once --full            # read every file (audits are incremental)\n  lakegate audit status --format json"
    )]
    Audit(audit::AuditArgs),
    /// Rebuild the HTML report's index and trend pages from the history store (no data is read).
    #[command(after_help = "Examples:\n  lakegate report --dir site")]
    Report(report::ReportArgs),
    /// Show a dataset's recent runs, or query the history store with SQL.
    #[command(
        after_help = "Examples:\n  lakegate history orders\n  lakegate history --sql \"SELECT dataset, count(*) FROM runs GROUP BY dataset\""
    )]
    History(history::HistoryArgs),
    /// The versioned schema catalog: accept, show, history.
    #[command(
        after_help = "Examples:\n  lakegate schema show orders\n  lakegate schema accept orders     # the current columns become the next version\n  lakegate schema history orders"
    )]
    Schema(schema::SchemaArgs),
    /// Alert channels: `alerts test` sends a test message through each one.
    #[command(after_help = "Examples:\n  lakegate alerts test")]
    Alerts(alerts::AlertsArgs),
    /// Print the JSON Schema of suites (or of lakegate.toml) for editors such as Even Better TOML.
    #[command(
        name = "schema-json",
        after_help = "Examples:\n  lakegate schema-json > suite.schema.json\n  lakegate schema-json project > lakegate.schema.json\n\nThe repository ships both in schemas/; a first line `#:schema ./schemas/suite.schema.json` hooks a file up."
    )]
    SchemaJson {
        /// Which file's schema: a suite (`checks/*.toml`) or the project (`lakegate.toml`).
        #[arg(value_enum, default_value_t = SchemaFor::Suite)]
        of: SchemaFor,
    },
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  lakegate completions bash > ~/.local/share/bash-completion/completions/lakegate\n  lakegate completions zsh > \"${fpath[1]}/_lakegate\"\n  lakegate completions fish > ~/.config/fish/completions/lakegate.fish"
    )]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Profile a dataset in one scan and print a starter suite (TOML, every check with its evidence).
    #[command(
        after_help = "Examples:\n  lakegate suggest orders                 # a dataset a suite already names\n  lakegate suggest raw/orders --write     # a path in a zone; writes checks/orders.toml\n  lakegate suggest orders --format json   # the profile and the checks"
    )]
    Suggest(suggest::SuggestArgs),
}

impl Global {
    pub fn clock(&self) -> crate::clock::Clock {
        self.now
            .map_or_else(crate::clock::Clock::system, crate::clock::Clock::fixed)
    }

    /// The history store, unless `--no-history`.
    pub fn history(&self, project: &crate::config::Project) -> Option<crate::history::Store> {
        (!self.no_history).then(|| crate::history::Store {
            dir: project.history_dir.clone(),
        })
    }

    /// Loads the project and every suite; configuration problems are the error (exit code 2).
    pub fn project_and_suites(&self) -> Result<(crate::config::Project, Vec<crate::suite::Suite>), CliError> {
        let diags = Diags::default();
        let Some(project) = self.project(&diags) else {
            return Err(CliError::Config(diags.into_vec()));
        };
        let suites = crate::run::load_suites(&project, &diags);
        if !diags.is_empty() {
            return Err(CliError::Config(diags.into_vec()));
        }
        Ok((project, suites))
    }

    /// Loads the project alone; configuration problems are the error (exit code 2).
    pub fn project_only(&self) -> Result<crate::config::Project, CliError> {
        let diags = Diags::default();
        self.project(&diags).ok_or_else(|| CliError::Config(diags.into_vec()))
    }

    /// Loads the project, applying command-line overrides.
    pub fn project(&self, diags: &Diags) -> Option<crate::config::Project> {
        let mut p = crate::config::load(&self.config, diags)?;
        if let Some(m) = self.memory_limit {
            p.engine.memory_limit = m;
        }
        if let Some(EngineArg(url)) = &self.engine {
            p.engine.url.clone_from(url);
        }
        Some(p)
    }

    /// Whether the project's engine can run queries now (a Ballista cluster answers and has an
    /// executor); an impossible run (exit 3) otherwise.
    pub fn engine_ready(&self, project: &crate::config::Project) -> Result<(), CliError> {
        crate::engine::ready(&project.engine).map_err(CliError::RunFailed)
    }
}

/// Renders why a command could not do its job, on stderr (and on stdout as JSON where the command
/// promises JSON: configuration problems, and a promotion's failure). This is the edge where errors
/// get their words; the exit code is `exit::code`'s business.
pub fn report_error(global: &Global, error: &CliError) {
    match error {
        CliError::Config(diags) => report_diagnostics(global, diags, error),
        CliError::Usage { message, help } => {
            print_error(message);
            if let Some(h) = help {
                eprintln!("  = help: {}", crate::term::escape_output(h));
            }
        }
        CliError::RunFailed(message) => print_error(message),
        CliError::Promote(e) => {
            print_error(e);
            if global.format == OutputFormat::Json {
                print_stdout(&serde_json::json!({ "status": "error", "message": e.to_string() }).to_string());
            }
        }
        // The panic hook has printed the panic's message and place.
        CliError::Panicked => {}
    }
}

/// Prints configuration problems (stderr, and as JSON on stdout with `--format json`).
fn report_diagnostics(global: &Global, diags: &[Diagnostic], summary: &CliError) {
    let mut err = String::new();
    for d in diags {
        err.push_str(&d.render());
        err.push('\n');
    }
    err.push_str(&format!("error: {summary}\n"));
    eprint!("{}", crate::term::escape_output(&err));
    if global.format == OutputFormat::Json {
        let doc = serde_json::json!({
            "lakegate": env!("CARGO_PKG_VERSION"),
            "format_version": crate::results::FORMAT_VERSION,
            "status": "config_error",
            "diagnostics": diags.iter().map(Diagnostic::to_json).collect::<Vec<_>>(),
        });
        print_stdout(&serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
}

/// `error: MESSAGE` on stderr, its control characters shown escaped (`term`).
pub fn print_error(message: impl std::fmt::Display) {
    eprintln!("error: {}", crate::term::escape_output(&message.to_string()));
}

/// Writes to stdout, control characters from data shown escaped (`term`); a closed pipe (`| head`)
/// is not an error.
pub fn print_stdout(text: &str) {
    use std::io::Write;
    let text = crate::term::escape_output(text);
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
}

/// `lakegate --version`: lakegate's version, the DataFusion it runs on, and the Ballista client
/// it has (the cluster's `lakegate-executor` must be of the same version).
pub fn version() -> String {
    let ballista = if cfg!(feature = "ballista") {
        ", Ballista client 55.0.0"
    } else {
        ""
    };
    format!(
        "{} (DataFusion {}{ballista})",
        env!("CARGO_PKG_VERSION"),
        crate::engine::DATAFUSION_VERSION
    )
}

/// Parses the command line, with `--version` naming the DataFusion version.
pub fn parse() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    // clap keeps a `&'static str`; the string lives as long as the process anyway.
    let version: &'static str = Box::leak(version().into_boxed_str());
    let matches = Cli::command().version(version).get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// `lakegate completions SHELL`: the completion script on stdout.
pub fn completions(shell: clap_complete::Shell) -> CmdResult {
    use clap::CommandFactory;
    clap_complete::generate(shell, &mut Cli::command(), "lakegate", &mut std::io::stdout());
    Ok(Outcome::Done)
}
