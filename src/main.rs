//! The `lakegate` binary: parse the command line, set up logging, run, render an error if there is
//! one, exit with the code [`lakegate::exit::code`] decides.

use lakegate::cli::{
    Cli, CmdResult, Command, LogFormat, alerts, audit, check, explain, history, init, promote, report, schema, validate,
};
use lakegate::exit::CliError;

fn main() -> std::process::ExitCode {
    let cli = lakegate::cli::parse();
    // The audit daemon says one line per run by default; other commands only warn.
    let verbose = cli.global.verbose + u8::from(matches!(cli.command, Command::Audit(_)));
    let level = match (cli.global.quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("LAKEGATE_LOG")
        // Ballista's client logs each failed job itself; lakegate says what failed, in words
        // (LAKEGATE_LOG=ballista_core=debug shows them).
        .unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(format!("lakegate={level},ballista_core=off,ballista=off,warn"))
        });
    let colour = lakegate::term::colour();
    // Progress is for a person watching a terminal: not with --quiet, not into JSON logs.
    lakegate::progress::enable(
        std::io::IsTerminal::is_terminal(&std::io::stderr())
            && !cli.global.quiet
            && cli.global.log_format == LogFormat::Text,
    );
    let text = || {
        tracing_subscriber::fmt()
            .with_writer(move || lakegate::term::LogWriter::new(colour))
            .with_ansi(colour)
            .with_target(false)
    };
    match cli.global.log_format {
        // A daemon's lines need their time; a one-shot command's do not.
        LogFormat::Text if matches!(cli.command, Command::Audit(_)) => text().with_env_filter(filter).init(),
        LogFormat::Text => text().without_time().with_env_filter(filter).init(),
        // Shippers want a timestamp per event; JSON escapes control characters itself.
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_target(false)
            .init(),
    }

    // Planning happens on this thread, execution on the runtime's workers: both get a large stack.
    let result = std::thread::scope(|scope| {
        match std::thread::Builder::new()
            .name("lakegate".into())
            .stack_size(STACK)
            .spawn_scoped(scope, || run(&cli))
        {
            Ok(main) => main.join().unwrap_or(Err(CliError::Panicked)),
            Err(e) => Err(CliError::RunFailed(format!("cannot start the main thread: {e}"))),
        }
    });
    // The edge: errors get their words here, and `exit::code` is the one place numbers are chosen.
    if let Err(e) = &result {
        lakegate::cli::report_error(&cli.global, e);
    }
    std::process::ExitCode::from(lakegate::exit::code(&result))
}

/// The stack of the threads that plan and run queries. DataFusion walks expressions recursively
/// (its stack-growing `recursive_protection` feature is not in lakegate's trimmed build), so a deep
/// fragment needs stack in proportion; `expr_depth::MAX_DEPTH` (1,000) bounds the depth. Measured
/// with the debug build on these stacks: 4,000 levels ran, 8,000 overflowed, so the bound has a
/// margin of four. Untouched stack costs address space, not memory.
const STACK: usize = 64 * 1024 * 1024;

fn run(cli: &Cli) -> CmdResult {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(STACK)
        .build()
        .map_err(|e| CliError::RunFailed(format!("cannot start the async runtime: {e}")))?;
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Check(args) => check::run(&cli.global, args).await,
            Command::History(args) => history::run(&cli.global, args).await,
            Command::Schema(args) => schema::run(&cli.global, args).await,
            Command::Promote(args) => promote::run(&cli.global, args).await,
            Command::Validate => validate::run(&cli.global).await,
            Command::Report(args) => report::run(&cli.global, args).await,
            Command::Audit(args) => audit::run(&cli.global, args).await,
            Command::Init(args) => init::run(&cli.global, args).await,
            Command::Explain(args) => explain::run(&cli.global, args).await,
            Command::Completions { shell } => lakegate::cli::completions(*shell),
            Command::SchemaJson { of } => lakegate::cli::schema_json(*of),
            Command::Alerts(args) => alerts::run(&cli.global, args).await,
            Command::Suggest(args) => lakegate::cli::suggest::run(&cli.global, args).await,
        }
    });
    // A run the audit daemon gave up on when its grace period ran out may still hold a thread;
    // the process ends anyway (its history was never written, and the daemon said so).
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    result
}
