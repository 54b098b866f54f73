//! `lakegate-executor`: the scheduler and executors of a Ballista cluster that runs lakegate's
//! suites (docs/scale.md). They are Ballista 55's own, with lakegate's plan codec installed, so
//! that lakegate's functions run on the executors with the literals the client planned them with.
//!
//! ```sh
//! lakegate-executor scheduler --port 50050
//! lakegate-executor executor --scheduler 127.0.0.1:50050
//! lakegate check --engine ballista://127.0.0.1:50050
//! ```

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use lakegate::ballista_node::{ExecutorOptions, SchedulerOptions, run_executor, run_scheduler};

#[derive(Parser)]
#[command(
    name = "lakegate-executor",
    version,
    about = "The scheduler and executors of a Ballista cluster for lakegate (docs/scale.md)"
)]
struct Cli {
    #[command(subcommand)]
    role: Role,
}

#[derive(Subcommand)]
enum Role {
    /// Run a scheduler: lakegate connects to it with --engine ballista://HOST:PORT.
    Scheduler {
        /// The IP address to listen on (0.0.0.0: every interface).
        #[arg(long, default_value = "127.0.0.1")]
        bind: String,
        /// The address executors and clients reach it at (default: --bind).
        #[arg(long)]
        advertise: Option<String>,
        /// The port; 0 picks a free one (the SCHEDULER_READY line says which).
        #[arg(long, default_value_t = 50050)]
        port: u16,
        /// Seconds without a heartbeat after which an executor counts as gone (its tasks run again elsewhere).
        #[arg(long, default_value_t = 30)]
        executor_timeout: u64,
    },
    /// Run an executor that takes tasks from a scheduler.
    Executor {
        /// The scheduler, as HOST:PORT.
        #[arg(long, default_value = "127.0.0.1:50050")]
        scheduler: String,
        /// The IP address to listen on (0.0.0.0: every interface).
        #[arg(long, default_value = "127.0.0.1")]
        bind: String,
        /// The address the scheduler and other executors reach it at (default: --bind).
        #[arg(long)]
        advertise: Option<String>,
        /// The Arrow Flight port results are fetched from; 0 picks a free one.
        #[arg(long, default_value_t = 0)]
        flight_port: u16,
        /// The gRPC port the scheduler pushes tasks to; 0 picks a free one.
        #[arg(long, default_value_t = 0)]
        grpc_port: u16,
        /// Tasks run at once (default: the cores).
        #[arg(long)]
        vcores: Option<usize>,
        /// Where shuffle files go (default: a directory of its own, removed when it stops).
        #[arg(long)]
        work_dir: Option<PathBuf>,
        /// Seconds between heartbeats to the scheduler.
        #[arg(long, default_value_t = 5)]
        heartbeat: u64,
        /// Memory the executor's tasks share (e.g. 2GB); each task spills beyond its part. Default: a share of the machine's memory.
        #[arg(long, value_name = "SIZE", value_parser = lakegate::cli::parse_size)]
        memory_limit: Option<u64>,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // A sample's `LIMIT` stops reading a partition early, which the Flight service logs as a
    // failed send at every such query: not a problem, so not a warning (LAKEGATE_LOG shows it).
    let filter = tracing_subscriber::EnvFilter::try_from_env("LAKEGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,ballista_executor::flight_service=error"));
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return std::process::ExitCode::from(3);
        }
    };
    let ran = runtime.block_on(async move {
        match cli.role {
            Role::Scheduler {
                bind,
                advertise,
                port,
                executor_timeout,
            } => {
                run_scheduler(SchedulerOptions {
                    advertise: advertise.unwrap_or_else(|| bind.clone()),
                    host: bind,
                    port,
                    executor_timeout: Duration::from_secs(executor_timeout),
                })
                .await
            }
            Role::Executor {
                scheduler,
                bind,
                advertise,
                flight_port,
                grpc_port,
                vcores,
                work_dir,
                heartbeat,
                memory_limit,
            } => {
                let Some((scheduler_host, port)) = scheduler.rsplit_once(':') else {
                    return Err(format!("--scheduler {scheduler}: write HOST:PORT").into());
                };
                let scheduler_port = port
                    .parse()
                    .map_err(|_| format!("--scheduler {scheduler}: {port} is not a port"))?;
                let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
                run_executor(ExecutorOptions {
                    advertise: advertise.unwrap_or_else(|| bind.clone()),
                    host: bind,
                    scheduler_host: scheduler_host.to_string(),
                    scheduler_port,
                    flight_port,
                    grpc_port,
                    vcores: vcores.unwrap_or(cores),
                    work_dir,
                    heartbeat: Duration::from_secs(heartbeat),
                    memory_limit,
                })
                .await
            }
        }
    });
    match ran {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(3)
        }
    }
}
