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

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(lakegate::exit::RUN_FAILED);
        }
    };
    let code = runtime.block_on(async {
        match &cli.command {
            Command::Check(args) => check::run(&cli.global, args).await,
            Command::History(args) => history::run(&cli.global, args).await,
            Command::Schema(args) => schema::run(&cli.global, args).await,
            Command::Promote(args) => promote::run(&cli.global, args).await,
            Command::Validate => validate::run(&cli.global).await,
        }
    });
    std::process::ExitCode::from(code)
}
