//! The `lakegate` binary: parse the command line, set up logging, run, render an error if there is
//! one, exit with the code [`lakegate::exit::code`] decides.

use clap::Parser;
use lakegate::cli::{Cli, CmdResult, Command, alerts, check, history, promote, report, schema, validate};
use lakegate::exit::CliError;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let level = match (cli.global.quiet, cli.global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("LAKEGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("lakegate={level},warn")));
    let colour = lakegate::term::colour();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(move || lakegate::term::LogWriter::new(colour))
        .with_ansi(colour)
        .with_target(false)
        .without_time()
        .init();

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
    runtime.block_on(async {
        match &cli.command {
            Command::Check(args) => check::run(&cli.global, args).await,
            Command::History(args) => history::run(&cli.global, args).await,
            Command::Schema(args) => schema::run(&cli.global, args).await,
            Command::Promote(args) => promote::run(&cli.global, args).await,
            Command::Validate => validate::run(&cli.global).await,
            Command::Report(args) => report::run(&cli.global, args).await,
            Command::Alerts(args) => alerts::run(&cli.global, args).await,
        }
    })
}
