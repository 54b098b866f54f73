//! The `lakegate` binary: parse the command line, set up logging, run, exit with the code
//! [`lakegate::exit`] decided.

use clap::Parser;
use lakegate::cli::{Cli, Command, check, history, promote, schema, validate};

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
    let main = std::thread::Builder::new()
        .name("lakegate".into())
        .stack_size(STACK)
        .spawn(move || run(&cli));
    let code = match main.map(std::thread::JoinHandle::join) {
        Ok(Ok(code)) => code,
        Ok(Err(_)) => lakegate::exit::RUN_FAILED,
        Err(e) => {
            eprintln!("error: cannot start the main thread: {e}");
            lakegate::exit::RUN_FAILED
        }
    };
    std::process::ExitCode::from(code)
}

/// The stack of the threads that plan and run queries. DataFusion walks expressions recursively
/// (its stack-growing `recursive_protection` feature is not in lakegate's trimmed build), so a deep
/// fragment needs stack in proportion; `expr_depth::MAX_DEPTH` (1,000) bounds the depth. Measured
/// with the debug build on these stacks: 4,000 levels ran, 8,000 overflowed, so the bound has a
/// margin of four. Untouched stack costs address space, not memory.
const STACK: usize = 64 * 1024 * 1024;

fn run(cli: &Cli) -> u8 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(STACK)
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return lakegate::exit::RUN_FAILED;
        }
    };
    runtime.block_on(async {
        match &cli.command {
            Command::Check(args) => check::run(&cli.global, args).await,
            Command::History(args) => history::run(&cli.global, args).await,
            Command::Schema(args) => schema::run(&cli.global, args).await,
            Command::Promote(args) => promote::run(&cli.global, args).await,
            Command::Validate => validate::run(&cli.global).await,
        }
    })
}
