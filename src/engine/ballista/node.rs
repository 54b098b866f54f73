//! The scheduler and executor processes of a lakegate Ballista cluster (`lakegate-executor`).
//!
//! They are Ballista's own scheduler and executor libraries with lakegate's plan codec installed
//! ([`super::codec`]), so that lakegate's kernels run on the executors with the client's literals.
//! Each prints one line when it can serve — `SCHEDULER_READY port=N` once the scheduler listens,
//! `EXECUTOR_READY flight=N grpc=M` once the scheduler acknowledged the executor's first heartbeat —
//! which is what scripts and lakegate's tests wait for (`spikes/ballista/FINDINGS.md` §2).

use std::net::TcpListener as StdListener;
use std::sync::Arc;
use std::time::Duration;

use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::{create_scheduler, start_grpc_service_with_listener};
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};
use object_store::ObjectStore;
use url::Url;

use super::codec::{LogicalCodec, PhysicalCodec};

/// Why a node stopped.
pub type NodeError = Box<dyn std::error::Error + Send + Sync>;

/// A scheduler's settings.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// The address it listens on (an IP address).
    pub host: String,
    /// The address executors and clients reach it at (`host` unless it listens on 0.0.0.0).
    pub advertise: String,
    /// Its gRPC port; 0 picks a free one (printed on the READY line).
    pub port: u16,
    /// An executor silent for this long is dead: its tasks run again elsewhere, and a job with no
    /// executor left fails after it.
    pub executor_timeout: Duration,
}

/// An executor's settings.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The address it listens on (an IP address: Ballista parses it as one).
    pub host: String,
    /// The address the scheduler and other executors reach it at.
    pub advertise: String,
    pub scheduler_host: String,
    pub scheduler_port: u16,
    /// Its Arrow Flight and gRPC ports; 0 picks free ones (printed on the READY line).
    pub flight_port: u16,
    pub grpc_port: u16,
    /// Tasks it runs at once.
    pub vcores: usize,
    /// Where its shuffle files go; a directory of its own under the system's temp dir when `None`,
    /// removed when it stops.
    pub work_dir: Option<std::path::PathBuf>,
    /// How often it tells the scheduler it is alive.
    pub heartbeat: Duration,
    /// The memory its tasks share (each gets its part, and spills beyond it); `None`: Ballista's
    /// default, a share of the machine's memory.
    pub memory_limit: Option<u64>,
}

/// The object stores a node reads lakes from: local files, and every `s3://` bucket a plan names,
/// configured from this process's environment exactly as lakegate configures its own (the same
/// variables and credential rule, docs/scale.md). Each node needs the lake: the scheduler plans
/// from its files' metadata, the executors read them.
#[derive(Debug, Default)]
struct Stores {
    known: DefaultObjectStoreRegistry,
}

impl ObjectStoreRegistry for Stores {
    fn register_store(&self, url: &Url, store: Arc<dyn ObjectStore>) -> Option<Arc<dyn ObjectStore>> {
        self.known.register_store(url, store)
    }

    fn deregister_store(&self, url: &Url) -> datafusion::error::Result<Arc<dyn ObjectStore>> {
        self.known.deregister_store(url)
    }

    fn get_store(&self, url: &Url) -> datafusion::error::Result<Arc<dyn ObjectStore>> {
        if let Ok(store) = self.known.get_store(url) {
            return Ok(store);
        }
        if url.scheme() != "s3" {
            return self.known.get_store(url);
        }
        let bucket = Url::parse(&format!("s3://{}", url.host_str().unwrap_or_default()))
            .map_err(|e| datafusion::error::DataFusionError::Configuration(format!("{url}: {e}")))?;
        let store = crate::engine::dataset::remote::store(&bucket)
            .map_err(datafusion::error::DataFusionError::Configuration)?;
        self.known.register_store(&bucket, store.clone());
        Ok(store)
    }
}

/// Runs a scheduler until the process is stopped.
pub async fn run_scheduler(o: SchedulerOptions) -> Result<(), NodeError> {
    let listener = tokio::net::TcpListener::bind((o.host.as_str(), o.port)).await?;
    let port = listener.local_addr()?.port();
    let timeout = o.executor_timeout.as_secs().max(1);
    // One set of stores for every job, so each bucket's client is built once.
    let stores: Arc<dyn ObjectStoreRegistry> = Arc::new(Stores::default());
    let config = SchedulerConfig {
        bind_host: o.host.clone(),
        external_host: o.advertise.clone(),
        bind_port: port,
        executor_timeout_seconds: timeout,
        expire_dead_executor_interval_seconds: (timeout / 2).max(1),
        no_executors_grace_period_seconds: timeout,
        override_logical_codec: Some(Arc::new(LogicalCodec::default())),
        override_physical_codec: Some(Arc::new(PhysicalCodec::default())),
        override_session_builder: Some(Arc::new(move |config| {
            let state = ballista_core::utils::default_session_builder(config)?;
            let runtime = RuntimeEnvBuilder::new()
                .with_object_store_registry(stores.clone())
                .build_arc()?;
            Ok(datafusion::execution::SessionStateBuilder::new_from_existing(state)
                .with_runtime_env(runtime)
                .build())
        })),
        ..Default::default()
    };
    let cluster = BallistaCluster::new_from_config(&config).await?;
    let server = create_scheduler::<LogicalPlanNode, PhysicalPlanNode>(cluster, Arc::new(config)).await?;
    println!("SCHEDULER_READY port={port}");
    start_grpc_service_with_listener(listener, server).await?;
    Ok(())
}

/// A free port on `host` (the executor advertises its ports as given, so 0 cannot be passed on).
fn free_port(host: &str) -> std::io::Result<u16> {
    Ok(StdListener::bind((host, 0))?.local_addr()?.port())
}

/// Runs an executor until the process is stopped.
pub async fn run_executor(o: ExecutorOptions) -> Result<(), NodeError> {
    let pick = |p: u16| if p == 0 { free_port(&o.host) } else { Ok(p) };
    let (flight_port, grpc_port) = (pick(o.flight_port)?, pick(o.grpc_port)?);
    let (work_dir, owned) = match &o.work_dir {
        Some(d) => (d.clone(), false),
        None => (
            std::env::temp_dir().join(format!("lakegate-executor-{}", std::process::id())),
            true,
        ),
    };
    std::fs::create_dir_all(&work_dir)?;
    let stores: Arc<dyn ObjectStoreRegistry> = Arc::new(Stores::default());
    let spill = work_dir.clone();
    let config = ExecutorProcessConfig {
        bind_host: o.host.clone(),
        external_host: Some(o.advertise.clone()),
        port: flight_port,
        grpc_port,
        scheduler_host: o.scheduler_host.clone(),
        scheduler_port: o.scheduler_port,
        vcores: o.vcores.max(1),
        work_dir: Some(work_dir.to_string_lossy().into_owned()),
        executor_heartbeat_interval_seconds: o.heartbeat.as_secs().max(1),
        memory_pool_size: o.memory_limit,
        print_thread_info: false,
        override_runtime_producer: Some(Arc::new(move |_| {
            RuntimeEnvBuilder::new()
                .with_temp_file_path(spill.clone())
                .with_object_store_registry(stores.clone())
                .build_arc()
        })),
        override_logical_codec: Some(Arc::new(LogicalCodec::default())),
        override_physical_codec: Some(Arc::new(PhysicalCodec::default())),
        ..Default::default()
    };
    let health = config.health.clone();
    tokio::spawn(async move {
        while !health.is_ready() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        println!("EXECUTOR_READY flight={flight_port} grpc={grpc_port}");
    });
    let ran = start_executor_process(Arc::new(config)).await;
    if owned {
        let _ = crate::fs_atomic::remove_dir_all(&work_dir);
    }
    ran.map_err(|e| {
        let at = format!("{}:{}", o.scheduler_host, o.scheduler_port);
        if e.to_string().contains("Could not connect to scheduler") {
            format!("cannot reach the scheduler at {at}: start it (lakegate-executor scheduler) or fix --scheduler")
                .into()
        } else {
            format!("the executor of the scheduler at {at} stopped: {e}").into()
        }
    })
}
