//! Ballista 55 de-risking spike for lakegate (issue #18).
//!
//! One binary, several roles:
//!   spike gen --out FILE [--rows N]                 write the test Parquet file
//!   spike scheduler [--port P]                      in-process Ballista scheduler (prints SCHEDULER_READY port=N)
//!   spike executor --scheduler-port P               in-process Ballista executor (prints EXECUTOR_READY ...)
//!   spike client --scheduler HOST:PORT --parquet F  run the query suite locally and on the cluster, compare
//!   spike cluster --parquet F                       start scheduler + 2 executors as child processes, run client
//!   spike unreachable                               failure timings against a dead / silent scheduler
//!   spike kill-executor --parquet F                 kill one executor mid-query, observe

mod bitmap;
mod funcs;

use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use ballista_core::config::BallistaConfig;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::utils::default_session_builder;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::{create_scheduler, start_grpc_service_with_listener};
use clap::{Parser, Subcommand};
use datafusion::arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::common::Result;
use datafusion::datasource::MemTable;
use datafusion::execution::FunctionRegistry;
use datafusion::execution::SessionStateBuilder;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};
use roaring::RoaringTreemap;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use funcs::{AboveThreshold, CountAbove, LakegateLogicalCodec, LakegatePhysicalCodec, SlowIdentity};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    Gen {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
    },
    Scheduler {
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Do not install lakegate's extension codecs.
        #[arg(long)]
        no_codec: bool,
        /// Register the custom functions by name in the scheduler's session (with this threshold).
        #[arg(long)]
        registry_threshold: Option<i64>,
        #[arg(long, default_value_t = 180)]
        executor_timeout_secs: u64,
        #[arg(long, default_value_t = 15)]
        expire_interval_secs: u64,
    },
    Executor {
        #[arg(long)]
        scheduler_port: u16,
        #[arg(long, default_value_t = 1)]
        vcores: usize,
        #[arg(long)]
        no_codec: bool,
        #[arg(long)]
        registry_threshold: Option<i64>,
        #[arg(long, default_value_t = 60)]
        heartbeat_secs: u64,
    },
    Client {
        #[arg(long)]
        scheduler: String,
        #[arg(long)]
        parquet: PathBuf,
        #[arg(long)]
        no_codec: bool,
    },
    Cluster {
        #[arg(long)]
        parquet: PathBuf,
        #[arg(long, default_value_t = 2)]
        executors: usize,
        /// Codec on client, scheduler and executors (default) or nowhere.
        #[arg(long)]
        no_codec: bool,
        #[arg(long)]
        registry_threshold: Option<i64>,
    },
    Unreachable,
    KillExecutor {
        #[arg(long)]
        parquet: PathBuf,
        #[arg(long, default_value_t = 180)]
        executor_timeout_secs: u64,
        #[arg(long, default_value_t = 60)]
        heartbeat_secs: u64,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        match cli.cmd {
            Cmd::Gen { out, rows } => gen_parquet(&out, rows),
            Cmd::Scheduler { port, no_codec, registry_threshold, executor_timeout_secs, expire_interval_secs } => {
                run_scheduler(port, !no_codec, registry_threshold, executor_timeout_secs, expire_interval_secs).await
            }
            Cmd::Executor { scheduler_port, vcores, no_codec, registry_threshold, heartbeat_secs } => {
                run_executor(scheduler_port, vcores, !no_codec, registry_threshold, heartbeat_secs).await
            }
            Cmd::Client { scheduler, parquet, no_codec } => {
                let ok = run_client(&scheduler, &parquet, !no_codec).await?;
                if !ok {
                    std::process::exit(1)
                }
                Ok(())
            }
            Cmd::Cluster { parquet, executors, no_codec, registry_threshold } => {
                run_cluster(&parquet, executors, !no_codec, registry_threshold).await
            }
            Cmd::Unreachable => run_unreachable().await,
            Cmd::KillExecutor { parquet, executor_timeout_secs, heartbeat_secs } => {
                run_kill_executor(&parquet, executor_timeout_secs, heartbeat_secs).await
            }
        }
    })
}

// ------------------------------------------------------------------------------------------
// data
// ------------------------------------------------------------------------------------------

fn gen_parquet(out: &PathBuf, rows: usize) -> Result<()> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("x", DataType::Int64, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("category", DataType::Utf8, false),
        Field::new("v", DataType::Float64, false),
    ]));
    let file = std::fs::File::create(out)?;
    let props = WriterProperties::builder().set_max_row_group_row_count(Some(10_000)).build();
    let mut w = ArrowWriter::try_new(file, schema.clone(), Some(props))?;
    let mut start = 0usize;
    while start < rows {
        let end = (start + 10_000).min(rows);
        let ids: Vec<i64> = (start as i64..end as i64).collect();
        let x: Int64Array = ids.iter().map(|i| (i % 7 != 0).then_some((i * 37) % 101 - 10)).collect();
        let name: StringArray = ids.iter().map(|i| (i % 11 != 0).then(|| format!("n{}", i % 1000))).collect();
        let cat: StringArray = ids.iter().map(|i| Some(format!("c{}", i % 5))).collect();
        // multiples of 0.5: float sums are exact whatever the summation order
        let v: Float64Array = ids.iter().map(|i| Some(*i as f64 * 0.5)).collect();
        let b = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from(ids)), Arc::new(x), Arc::new(name), Arc::new(cat), Arc::new(v)],
        )?;
        w.write(&b)?;
        start = end;
    }
    w.close()?;
    println!("wrote {rows} rows to {}", out.display());
    Ok(())
}

// ------------------------------------------------------------------------------------------
// scheduler
// ------------------------------------------------------------------------------------------

fn register_named(reg_udf: &mut dyn FunctionRegistry, threshold: i64) -> Result<()> {
    reg_udf.register_udf(Arc::new(AboveThreshold::udf(threshold)))?;
    reg_udf.register_udaf(Arc::new(CountAbove::udaf(threshold)))?;
    reg_udf.register_udf(Arc::new(SlowIdentity::udf(0)))?;
    Ok(())
}

async fn run_scheduler(
    port: u16,
    codec: bool,
    registry_threshold: Option<i64>,
    executor_timeout_secs: u64,
    expire_interval_secs: u64,
) -> Result<()> {
    let t0 = Instant::now();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let port = listener.local_addr()?.port();
    let mut cfg = SchedulerConfig {
        bind_host: "127.0.0.1".into(),
        external_host: "127.0.0.1".into(),
        bind_port: port,
        executor_timeout_seconds: executor_timeout_secs,
        expire_dead_executor_interval_seconds: expire_interval_secs,
        no_executors_grace_period_seconds: executor_timeout_secs,
        ..Default::default()
    };
    if codec {
        cfg.override_logical_codec = Some(Arc::new(LakegateLogicalCodec::default()));
        cfg.override_physical_codec = Some(Arc::new(LakegatePhysicalCodec::default()));
    }
    if let Some(th) = registry_threshold {
        cfg.override_session_builder = Some(Arc::new(move |c: SessionConfig| {
            let mut s = default_session_builder(c)?;
            register_named(&mut s, th)?;
            Ok(s)
        }));
    }
    let cluster = BallistaCluster::new_from_config(&cfg).await.map_err(to_df)?;
    let server = create_scheduler::<LogicalPlanNode, PhysicalPlanNode>(cluster, Arc::new(cfg)).await.map_err(to_df)?;
    println!("SCHEDULER_READY port={port} setup_ms={}", t0.elapsed().as_millis());
    start_grpc_service_with_listener(listener, server).await.map_err(to_df)?;
    Ok(())
}

fn to_df(e: ballista_core::error::BallistaError) -> datafusion::error::DataFusionError {
    datafusion::error::DataFusionError::External(Box::new(e))
}

// ------------------------------------------------------------------------------------------
// executor
// ------------------------------------------------------------------------------------------

fn free_port() -> std::io::Result<u16> {
    Ok(StdListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

async fn run_executor(
    scheduler_port: u16,
    vcores: usize,
    codec: bool,
    registry_threshold: Option<i64>,
    heartbeat_secs: u64,
) -> Result<()> {
    let t0 = Instant::now();
    // The executor advertises `port`/`grpc_port` to the scheduler, so port 0 cannot be used:
    // pick free ports (small race, fine on loopback in tests).
    let flight_port = free_port()?;
    let grpc_port = free_port()?;
    let work_dir = std::env::temp_dir().join(format!("ballista-spike-exec-{}", std::process::id()));
    std::fs::create_dir_all(&work_dir)?;
    let mut cfg = ExecutorProcessConfig {
        bind_host: "127.0.0.1".into(),
        external_host: Some("127.0.0.1".into()),
        port: flight_port,
        grpc_port,
        scheduler_host: "127.0.0.1".into(),
        scheduler_port,
        vcores,
        work_dir: Some(work_dir.to_string_lossy().into_owned()),
        executor_heartbeat_interval_seconds: heartbeat_secs,
        print_thread_info: false,
        ..Default::default()
    };
    if codec {
        cfg.override_logical_codec = Some(Arc::new(LakegateLogicalCodec::default()));
        cfg.override_physical_codec = Some(Arc::new(LakegatePhysicalCodec::default()));
    }
    if let Some(th) = registry_threshold {
        let mut reg = BallistaFunctionRegistry::default();
        reg.scalar_functions.insert("above_threshold".into(), Arc::new(AboveThreshold::udf(th)));
        reg.aggregate_functions.insert("count_above".into(), Arc::new(CountAbove::udaf(th)));
        reg.scalar_functions.insert("slow_identity".into(), Arc::new(SlowIdentity::udf(0)));
        cfg.override_function_registry = Some(Arc::new(reg));
    }
    let health = cfg.health.clone();
    let id = cfg.executor_id.clone();
    tokio::spawn(async move {
        loop {
            if health.is_ready() {
                println!(
                    "EXECUTOR_READY id={id} flight={flight_port} grpc={grpc_port} ms={}",
                    t0.elapsed().as_millis()
                );
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let r = start_executor_process(Arc::new(cfg)).await;
    let _ = std::fs::remove_dir_all(&work_dir);
    r.map_err(to_df)
}

// ------------------------------------------------------------------------------------------
// client
// ------------------------------------------------------------------------------------------

const CLIENT_THRESHOLD: i64 = 50;

fn ballista_config(codec: bool, connect_timeout: u64, timeout: u64) -> SessionConfig {
    let mut c = SessionConfig::new_with_ballista()
        .set_u64("ballista.client.grpc_connect_timeout_seconds", connect_timeout)
        .set_u64("ballista.client.grpc_timeout_seconds", timeout);
    if codec {
        c = c
            .with_ballista_logical_extension_codec(Arc::new(LakegateLogicalCodec::default()))
            .with_ballista_physical_extension_codec(Arc::new(LakegatePhysicalCodec::default()));
    }
    c
}

async fn remote_ctx(scheduler: &str, codec: bool, connect_timeout: u64, timeout: u64) -> Result<SessionContext> {
    let state = SessionStateBuilder::new()
        .with_default_features()
        .with_config(ballista_config(codec, connect_timeout, timeout))
        .build();
    SessionContext::remote_with_state(&format!("ballista://{scheduler}"), state).await
}

fn bitmap_keys() -> RoaringTreemap {
    // keys 0..150_000 step 3, plus a few huge ones: half of them hit ids of the parquet file
    let mut b: RoaringTreemap = (0u64..150_000).step_by(3).collect();
    b.insert(1 << 40);
    b.insert((1 << 40) + 7);
    b
}

async fn register_all(ctx: &SessionContext, parquet: &PathBuf) -> Result<()> {
    ctx.register_udf(AboveThreshold::udf(CLIENT_THRESHOLD));
    ctx.register_udaf(CountAbove::udaf(CLIENT_THRESHOLD));
    ctx.register_udf(SlowIdentity::udf(0));
    ctx.register_parquet("t", parquet.to_str().unwrap(), ParquetReadOptions::default()).await?;
    ctx.register_table("keys", Arc::new(bitmap::BitmapTable { keys: Arc::new(bitmap_keys()), partitions: 4 }))?;
    // same keys, one partition: Ballista cannot restrict an unknown leaf to a task's partition slice
    ctx.register_table("keys1", Arc::new(bitmap::BitmapTable { keys: Arc::new(bitmap_keys()), partitions: 1 }))?;
    let s = Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, true)]));
    let b = RecordBatch::try_new(s.clone(), vec![Arc::new(Int64Array::from(vec![Some(1), None, Some(3)]))])?;
    ctx.register_table("mem", Arc::new(MemTable::try_new(s.clone(), vec![vec![b]])?))?;
    ctx.register_table("empty", Arc::new(MemTable::try_new(s, vec![vec![]])?))?;
    Ok(())
}

const QUERIES: &[(&str, &str)] = &[
    ("trivial", "SELECT 1 AS one"),
    (
        "metrics",
        "SELECT count(*) AS n, sum(x) AS sx, count(*) FILTER (WHERE x IS NULL) AS x_nulls, \
         count(DISTINCT category) AS cats, min(name) AS mn, max(v) AS mv, sum(v) AS sv FROM t",
    ),
    ("count_only", "SELECT count(*) AS n FROM t"),
    ("count_col_stats", "SELECT count(x) AS n, min(id) AS lo, max(id) AS hi FROM t"),
    (
        "group_by",
        "SELECT category, count(*) AS n, sum(x) AS sx, avg(v) AS av FROM t GROUP BY category ORDER BY category",
    ),
    (
        "dup_keys",
        "SELECT count(*) AS dup_groups, sum(c) AS dup_rows FROM \
         (SELECT id % 60000 AS k, count(*) AS c FROM t GROUP BY id % 60000 HAVING count(*) > 1)",
    ),
    ("failing_rows", "SELECT id, x FROM t WHERE x > 85 ORDER BY id LIMIT 5"),
    ("types", "SELECT arrow_typeof(name) AS name_type, arrow_typeof(category) AS cat_type FROM t LIMIT 1"),
    (
        "udf_udaf",
        "SELECT count(*) FILTER (WHERE above_threshold(x)) AS a, count_above(x) AS b FROM t",
    ),
    (
        "udf_group_key",
        "SELECT above_threshold(x) AS k, count(*) AS n, count_above(x) AS b FROM t \
         GROUP BY above_threshold(x) ORDER BY k NULLS FIRST",
    ),
    ("bitmap_scan", "SELECT count(*) AS n, sum(key) AS s, min(key) AS lo, max(key) AS hi FROM keys"),
    ("bitmap_join", "SELECT count(*) AS n, sum(t.x) AS sx FROM t JOIN keys ON t.id = keys.key"),
    ("bitmap_scan_1p", "SELECT count(*) AS n, sum(key) AS s, min(key) AS lo, max(key) AS hi FROM keys1"),
    ("bitmap_join_1p", "SELECT count(*) AS n, sum(t.x) AS sx FROM t JOIN keys1 ON t.id = keys1.key"),
    // only when named in SPIKE_ONLY: shows where count(*) is answered
    ("explain_count", "EXPLAIN ANALYZE SELECT count(*) AS n FROM t"),
    ("memtable", "SELECT count(*) AS n, sum(a) AS s, count(*) FILTER (WHERE a IS NULL) AS nulls FROM mem"),
    ("empty_memtable", "SELECT count(*) AS n, sum(a) AS s FROM empty"),
];

async fn run_sql(ctx: &SessionContext, sql: &str) -> Result<(String, String, Duration)> {
    let t = Instant::now();
    let df = ctx.sql(sql).await?;
    let batches = df.collect().await?;
    let el = t.elapsed();
    let types = batches
        .first()
        .map(|b| b.schema().fields().iter().map(|f| format!("{}", f.data_type())).collect::<Vec<_>>().join(","))
        .unwrap_or_default();
    Ok((pretty_format_batches(&batches)?.to_string(), types, el))
}

/// Returns true when every query gave the same answer locally and on the cluster.
async fn run_client(scheduler: &str, parquet: &PathBuf, codec: bool) -> Result<bool> {
    let local = SessionContext::new();
    register_all(&local, parquet).await?;
    let remote = remote_ctx(scheduler, codec, 5, 60).await?;
    register_all(&remote, parquet).await?;

    let mut all_ok = true;
    let only = std::env::var("SPIKE_ONLY").ok();
    for (name, sql) in QUERIES {
        let selected = only.as_deref().is_some_and(|o| o.split(',').any(|x| x == *name));
        if (only.is_some() && !selected) || (name.starts_with("explain") && !selected) {
            continue;
        }
        let l = run_sql(&local, sql).await;
        let r = run_sql(&remote, sql).await;
        match (l, r) {
            (Ok((ls, lt, ld)), Ok((rs, rt, rd))) => {
                let same = ls == rs;
                // the "types" query is expected to differ (Utf8View locally, Utf8 on Ballista)
                if !same && *name != "types" && !name.starts_with("explain") {
                    all_ok = false;
                }
                println!(
                    "[{}] {name}: local {:.1} ms, ballista {:.1} ms{}",
                    if same { "SAME" } else { "DIFF" },
                    ld.as_secs_f64() * 1e3,
                    rd.as_secs_f64() * 1e3,
                    if lt != rt { format!(" (types local [{lt}] vs ballista [{rt}])") } else { String::new() }
                );
                if !same || *name == "metrics" || *name == "udf_udaf" || *name == "types" {
                    println!("  local:\n{}", indent(&ls));
                    if !same {
                        println!("  ballista:\n{}", indent(&rs));
                    }
                }
            }
            (l, r) => {
                all_ok = false;
                println!("[ERR ] {name}");
                if let Err(e) = l {
                    println!("  local error: {}", one_line(&e.to_string()));
                }
                match r {
                    Err(e) => println!("  ballista error: {}", one_line(&e.to_string())),
                    Ok((s, _, _)) => println!("  ballista:\n{}", indent(&s)),
                }
            }
        }
    }

    // repeated trivial query latency
    let mut lat = vec![];
    for _ in 0..10 {
        let (_, _, d) = run_sql(&remote, "SELECT count(*) FROM t WHERE id < 10").await?;
        lat.push(d.as_secs_f64() * 1e3);
    }
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("trivial filtered count x10 on ballista: min {:.1} ms, median {:.1} ms, max {:.1} ms", lat[0], lat[5], lat[9]);

    // Physical-plan submission: plan locally (custom exec + UDFs), ship the physical plan.
    for (name, sql) in [
        ("phys_udf", "SELECT count(*) FILTER (WHERE above_threshold(x)) AS a, count_above(x) AS b FROM t"),
        ("phys_bitmap_join", "SELECT count(*) AS n, sum(t.x) AS sx FROM t JOIN keys ON t.id = keys.key"),
        ("phys_bitmap_join_1p", "SELECT count(*) AS n, sum(t.x) AS sx FROM t JOIN keys1 ON t.id = keys1.key"),
        ("phys_memtable", "SELECT count(*) AS n, sum(a) AS s FROM mem"),
    ] {
        let r = submit_physical(scheduler, &local, sql, codec).await;
        let (ls, _, _) = run_sql(&local, sql).await?;
        match r {
            Ok(s) => {
                let same = s == ls;
                all_ok &= same;
                println!("[{}] {name} (physical plan submitted)", if same { "SAME" } else { "DIFF" });
                if !same {
                    println!("  local:\n{}\n  ballista:\n{}", indent(&ls), indent(&s));
                }
            }
            Err(e) => {
                all_ok = false;
                println!("[ERR ] {name} (physical plan submitted): {}", one_line(&e.to_string()));
            }
        }
    }
    Ok(all_ok)
}

async fn submit_physical(scheduler: &str, local: &SessionContext, sql: &str, codec: bool) -> Result<String> {
    let plan = local.sql(sql).await?.create_physical_plan().await?;
    let config = ballista_config(codec, 5, 60);
    let phys = config.ballista_physical_extension_codec();
    let stream = ballista_core::execution_plans::execute_physical_plan::<PhysicalPlanNode>(
        format!("http://{scheduler}"),
        &BallistaConfig::default(),
        plan,
        phys.as_ref(),
        uuid_like(),
        config,
    )
    .await?;
    let batches = datafusion::physical_plan::common::collect(stream).await?;
    Ok(pretty_format_batches(&batches)?.to_string())
}

fn uuid_like() -> String {
    format!("spike-{}-{}", std::process::id(), Instant::now().elapsed().as_nanos())
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}
fn one_line(s: &str) -> String {
    let s = s.replace('\n', " ");
    if s.len() > 600 { format!("{}…", &s[..600]) } else { s }
}

// ------------------------------------------------------------------------------------------
// cluster driver (what lakegate's test helper would do)
// ------------------------------------------------------------------------------------------

struct Proc {
    child: Child,
    line: String,
}

async fn spawn_role(args: &[String], ready_prefix: &str) -> Result<Proc> {
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(l) = lines.next_line().await? {
            if l.starts_with(ready_prefix) {
                return Ok::<_, std::io::Error>(l);
            }
        }
        Err(std::io::Error::other("child exited before ready"))
    })
    .await
    .map_err(|_| datafusion::error::DataFusionError::Execution(format!("{ready_prefix} not seen in 30 s")))??;
    // keep draining stdout so the child never blocks on a full pipe
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(Proc { child, line })
}

fn field(line: &str, key: &str) -> String {
    line.split_whitespace().find_map(|kv| kv.strip_prefix(&format!("{key}="))).unwrap_or_default().to_string()
}

async fn start_cluster(
    executors: usize,
    codec: bool,
    registry_threshold: Option<i64>,
    sched_extra: &[String],
    exec_extra: &[String],
) -> Result<(Proc, Vec<Proc>, u16)> {
    let t0 = Instant::now();
    let mut a = vec!["scheduler".to_string(), "--port".into(), "0".into()];
    let mut common = vec![];
    if !codec {
        common.push("--no-codec".to_string());
    }
    if let Some(th) = registry_threshold {
        common.push("--registry-threshold".into());
        common.push(th.to_string());
    }
    a.extend(common.clone());
    a.extend(sched_extra.iter().cloned());
    let sched = spawn_role(&a, "SCHEDULER_READY").await?;
    let port: u16 = field(&sched.line, "port").parse().unwrap();
    println!("scheduler ready on 127.0.0.1:{port} after {} ms ({})", t0.elapsed().as_millis(), sched.line);
    let mut futs = vec![];
    for _ in 0..executors {
        let mut a = vec!["executor".to_string(), "--scheduler-port".into(), port.to_string()];
        a.extend(common.clone());
        a.extend(exec_extra.iter().cloned());
        futs.push(async move { spawn_role(&a, "EXECUTOR_READY").await });
    }
    let mut execs = vec![];
    for r in futures::future::join_all(futs).await {
        execs.push(r?);
    }
    println!(
        "{} executors ready after {} ms total: {}",
        executors,
        t0.elapsed().as_millis(),
        execs.iter().map(|e| e.line.clone()).collect::<Vec<_>>().join(" | ")
    );
    Ok((sched, execs, port))
}

async fn run_cluster(parquet: &PathBuf, executors: usize, codec: bool, registry_threshold: Option<i64>) -> Result<()> {
    let (_s, _e, port) = start_cluster(executors, codec, registry_threshold, &[], &[]).await?;
    let t = Instant::now();
    let ok = run_client(&format!("127.0.0.1:{port}"), parquet, codec).await?;
    println!("client suite took {} ms; all identical: {ok}", t.elapsed().as_millis());
    Ok(())
}

// ------------------------------------------------------------------------------------------
// failures
// ------------------------------------------------------------------------------------------

async fn time_query(scheduler: &str, connect_timeout: u64, timeout: u64, hard_limit: Duration) -> String {
    let t = Instant::now();
    let fut = async {
        let ctx = remote_ctx(scheduler, true, connect_timeout, timeout).await?;
        ctx.sql("SELECT 1").await?.collect().await
    };
    match tokio::time::timeout(hard_limit, fut).await {
        Ok(Ok(_)) => format!("unexpected success after {} ms", t.elapsed().as_millis()),
        Ok(Err(e)) => format!("error after {} ms: {}", t.elapsed().as_millis(), one_line(&e.to_string())),
        Err(_) => format!("still waiting after {} ms (hit our tokio timeout)", t.elapsed().as_millis()),
    }
}

async fn run_unreachable() -> Result<()> {
    // 1. nothing listens on the port
    let dead = free_port()?;
    for (c, to) in [(20, 20), (2, 2)] {
        println!(
            "refused port, connect_timeout={c}s timeout={to}s: {}",
            time_query(&format!("127.0.0.1:{dead}"), c, to, Duration::from_secs(90)).await
        );
    }
    // 2. something accepts TCP but never speaks HTTP/2 (a hung scheduler)
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sport = silent.local_addr()?.port();
    tokio::spawn(async move {
        let mut held = vec![];
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    for (c, to) in [(20, 20), (2, 2)] {
        println!(
            "silent listener, connect_timeout={c}s timeout={to}s: {}",
            time_query(&format!("127.0.0.1:{sport}"), c, to, Duration::from_secs(90)).await
        );
    }
    // 3. a scheduler that is up but has no executors
    let sched = spawn_role(&["scheduler".into(), "--port".into(), "0".into()], "SCHEDULER_READY").await?;
    let p = field(&sched.line, "port");
    println!(
        "scheduler without executors (our limit 30 s): {}",
        time_query(&format!("127.0.0.1:{p}"), 2, 2, Duration::from_secs(30)).await
    );
    let t = Instant::now();
    let ctx = remote_ctx(&format!("127.0.0.1:{p}"), true, 2, 2).await?;
    let tmp = std::env::temp_dir().join("spike-nonexec.parquet");
    gen_parquet(&tmp, 10)?;
    ctx.register_parquet("t", tmp.to_str().unwrap(), ParquetReadOptions::default()).await?;
    let r = tokio::time::timeout(Duration::from_secs(30), async { ctx.sql("SELECT count(*) FROM t").await?.collect().await }).await;
    println!(
        "scheduler without executors, parquet count(*): {}",
        match r {
            Ok(Ok(b)) => format!("success after {} ms?? {}", t.elapsed().as_millis(), pretty_format_batches(&b)?),
            Ok(Err(e)) => format!("error after {} ms: {}", t.elapsed().as_millis(), one_line(&e.to_string())),
            Err(_) => format!("still waiting after {} ms", t.elapsed().as_millis()),
        }
    );
    drop(sched);
    Ok(())
}

async fn run_kill_executor(parquet: &PathBuf, executor_timeout_secs: u64, heartbeat_secs: u64) -> Result<()> {
    let sched_extra = vec![
        "--executor-timeout-secs".to_string(),
        executor_timeout_secs.to_string(),
        "--expire-interval-secs".into(),
        (executor_timeout_secs / 2).max(1).to_string(),
    ];
    let exec_extra = vec!["--heartbeat-secs".to_string(), heartbeat_secs.to_string()];
    let (_s, mut execs, port) = start_cluster(2, true, None, &sched_extra, &exec_extra).await?;
    let scheduler = format!("127.0.0.1:{port}");
    let ctx = remote_ctx(&scheduler, true, 5, 60).await?;
    register_all(&ctx, parquet).await?;
    // slow_identity(x, 300): sleeps 300 ms per batch on the executor
    let sql = "SELECT category, count(*) AS n, sum(slow_identity(x)) AS sx FROM t GROUP BY category ORDER BY category";
    let local = SessionContext::new();
    register_all(&local, parquet).await?;
    let expected = run_sql(&local, &sql.replace("slow_identity(x)", "x")).await?.0;
    // session with slow udf state 300 ms
    ctx.register_udf(SlowIdentity::udf(300));
    let t = Instant::now();
    let q = tokio::spawn({
        let ctx = ctx.clone();
        async move {
            let r = ctx.sql(sql).await?.collect().await;
            r.and_then(|b| Ok(pretty_format_batches(&b)?.to_string()))
        }
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let victim = execs.remove(0);
    let mut child = victim.child;
    child.start_kill()?;
    let _ = child.wait().await;
    println!("killed executor {} at {} ms", field(&victim.line, "id"), t.elapsed().as_millis());
    match tokio::time::timeout(Duration::from_secs(300), q).await {
        Ok(Ok(Ok(s))) => println!(
            "query finished after {} ms; identical to local: {}\n{}",
            t.elapsed().as_millis(),
            s == expected,
            indent(&s)
        ),
        Ok(Ok(Err(e))) => println!("query failed after {} ms: {}", t.elapsed().as_millis(), one_line(&e.to_string())),
        Ok(Err(e)) => println!("join error {e}"),
        Err(_) => println!("query still running after {} ms (gave up)", t.elapsed().as_millis()),
    }
    // and a fresh query on the surviving executor
    let t = Instant::now();
    ctx.register_udf(SlowIdentity::udf(0));
    let r = ctx.sql("SELECT count(*) FROM t").await?.collect().await;
    println!("follow-up query after kill: {:?} in {} ms", r.map(|b| pretty_format_batches(&b).unwrap().to_string()), t.elapsed().as_millis());
    Ok(())
}
