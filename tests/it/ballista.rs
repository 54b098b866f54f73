//! Suites on an Apache DataFusion Ballista cluster: a scheduler and two executors of
//! `lakegate-executor` on 127.0.0.1 (started per test, stopped when dropped), and the same suites
//! run here and with `--engine ballista://…` — the same result JSON (every check's status, failing
//! rows, observed values, message and sample). Each way the cluster can be missing ends with exit 3
//! and one sentence within seconds, never a hang.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::s3::{LOCAL_ROOT, comparable};
use crate::s3_lakes::{bench_suite, demo_project};
use crate::support::Project;

/// A `lakegate-executor` process, killed when dropped; its stdout lines arrive on `lines`.
struct Node {
    child: Child,
    lines: Receiver<String>,
}

impl Node {
    fn spawn(args: &[&str]) -> Self {
        Self::spawn_env(args, &[])
    }

    fn spawn_env(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lakegate-executor"))
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Self { child, lines }
    }

    /// The first line starting with `prefix`, waited for at most 60 s.
    fn ready(&self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("lakegate-executor did not print {prefix} within 60 s"));
            if line.starts_with(prefix) {
                return line;
            }
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scheduler and `executors` executors on loopback.
pub struct Cluster {
    pub url: String,
    _scheduler: Node,
    _executors: Vec<Node>,
}

impl Cluster {
    /// SIGKILLs executor `i` (the scheduler learns it from the failed calls or the missed heartbeats).
    fn kill_executor(&mut self, i: usize) {
        let e = &mut self._executors[i];
        e.child.kill().unwrap();
        e.child.wait().unwrap();
    }

    pub fn start(executors: usize) -> Self {
        Self::start_env(executors, &[])
    }

    /// A cluster whose processes have these environment variables (an object store's).
    pub fn start_env(executors: usize, env: &[(&str, &str)]) -> Self {
        let scheduler = Node::spawn_env(&["scheduler", "--port", "0", "--executor-timeout", "10"], env);
        let line = scheduler.ready("SCHEDULER_READY");
        let port = line.rsplit("port=").next().unwrap().trim().to_string();
        let at = format!("127.0.0.1:{port}");
        let executors = (0..executors)
            .map(|_| {
                // A bounded pool, as a cluster would run with: the answers must not change.
                let args = [
                    "executor",
                    "--scheduler",
                    &at,
                    "--vcores",
                    "2",
                    "--heartbeat",
                    "1",
                    "--memory-limit",
                    "256MB",
                ];
                Node::spawn_env(&args, env)
            })
            .collect::<Vec<_>>();
        for e in &executors {
            e.ready("EXECUTOR_READY");
        }
        Self {
            url: format!("ballista://{at}"),
            _scheduler: scheduler,
            _executors: executors,
        }
    }
}

/// The demo project's `[engine]` table with `url = URL`.
fn set_engine_url(p: &Project, url: &str) {
    let config = std::fs::read_to_string(crate::support::repo().join("lakegate.toml")).unwrap();
    assert!(config.contains("[engine]\n"), "{config}");
    let config = config.replace("[engine]\n", &format!("[engine]\nurl = \"{url}\"\n"));
    let config = config.replace("root = \"fixtures/lake\"", &format!("root = \"{}\"", lake_root(p)));
    p.file("lakegate.toml", &config);
}

/// The lake root a project's lakegate.toml names.
fn lake_root(p: &Project) -> String {
    let config = std::fs::read_to_string(p.path().join("lakegate.toml")).unwrap();
    config
        .lines()
        .find_map(|l| l.strip_prefix("root = \""))
        .and_then(|r| r.strip_suffix('"'))
        .unwrap()
        .to_string()
}

/// `args` here and on the cluster: the same exit code and the same result JSON, check by check.
fn same_on_cluster(p: &Project, cluster: &Cluster, args: &[&str]) -> Value {
    same_on_cluster_env(p, cluster, args, &[], LOCAL_ROOT)
}

/// [`same_on_cluster`] with these environment variables, for a project whose lake root is `root`.
fn same_on_cluster_env(p: &Project, cluster: &Cluster, args: &[&str], env: &[(&str, &str)], root: &str) -> Value {
    let here = p.run_env(args, env);
    let mut remote_args = args.to_vec();
    remote_args.extend(["--engine", &cluster.url]);
    let there = p.run_env(&remote_args, env);
    assert_eq!(
        here.code, there.code,
        "exit codes differ\nhere: {}\non the cluster: {}",
        here.stderr, there.stderr
    );
    let (x, y) = (comparable(&here.json(), root), comparable(&there.json(), root));
    crate::s3::same_results(&x, &y, ("here", "on the cluster"));
    x
}

#[test]
fn every_demo_suite_answers_on_a_ballista_cluster_as_here() {
    let cluster = Cluster::start(2);
    let p = demo_project(LOCAL_ROOT);
    crate::fixtures::write_lake(&p.path().join(LOCAL_ROOT));
    let all = same_on_cluster(&p, &cluster, &["check", "--no-history", "--format", "json"]);
    let failed = all.to_string().matches("\"status\":\"fail\"").count();
    assert!(failed >= 5, "the demo's defects: {all}");
    for name in ["customers", "events", "orders"] {
        same_on_cluster(&p, &cluster, &["check", name, "--no-history", "--format", "json"]);
    }
    // `suggest` profiles on the cluster (its own aggregates travel too): the same suite.
    for name in ["customers", "events", "orders"] {
        let (a, b) = (
            p.run(&["suggest", name]),
            p.run(&["suggest", name, "--engine", &cluster.url]),
        );
        assert_eq!((a.code, b.code), (0, 0), "{}\n{}", a.stderr, b.stderr);
        assert!(a.stdout.contains("[[check]]"), "{}", a.stdout);
        assert_eq!(a.stdout, b.stdout, "suggest {name}");
    }
    // `[engine] url` in the project does what --engine does.
    set_engine_url(&p, &cluster.url);
    let there = p.run(&["check", "--no-history", "--format", "json"]);
    assert_eq!(comparable(&there.json(), LOCAL_ROOT), all, "{}", there.stderr);
    // A split promotion writes rows from this process: refused on a cluster, nothing moved.
    let before = std::fs::read_dir(p.path().join(LOCAL_ROOT).join("raw/orders"))
        .unwrap()
        .count();
    let split = p.run(&["promote", "orders", "--mode", "split"]);
    assert_eq!(split.code, 3, "{}", split.stderr);
    assert!(
        split.stderr.contains("cannot run on a Ballista cluster"),
        "{}",
        split.stderr
    );
    let after = std::fs::read_dir(p.path().join(LOCAL_ROOT).join("raw/orders"))
        .unwrap()
        .count();
    assert_eq!(before, after);
    assert!(!p.path().join(LOCAL_ROOT).join("cleaned/orders").exists());
}

#[test]
fn the_benchmarks_ten_check_suite_answers_on_a_ballista_cluster_as_here() {
    let cluster = Cluster::start(2);
    for csv in [false, true] {
        let p = Project::new();
        p.file(
            "lakegate.toml",
            &format!("suites = [\"checks/*.toml\"]\n\n[lake]\nroot = \"{LOCAL_ROOT}\"\n"),
        );
        p.file("checks/orders.toml", &bench_suite(csv));
        crate::s3_lakes::write_bench_orders(&p.path().join(LOCAL_ROOT).join("raw/orders"), csv);
        let v = same_on_cluster(&p, &cluster, &["check", "--no-history", "--format", "json"]);
        crate::s3_lakes::assert_bench_defects_found(&v);
    }
}

#[test]
fn the_demo_lake_on_s3_answers_on_a_ballista_cluster_as_on_disk() {
    // The cluster's processes read the bucket with their own AWS_* environment, as lakegate does.
    let moto = crate::s3::Moto::start();
    let env = moto.env();
    let env = crate::s3::borrowed(&env);
    let local = demo_project(LOCAL_ROOT);
    let lake = local.path().join(LOCAL_ROOT);
    crate::fixtures::write_lake(&lake);
    moto.upload("demo", &lake, "lake");
    let cluster = Cluster::start_env(2, &env);
    let remote = demo_project("s3://demo/lake");
    let args = ["check", "--no-history", "--format", "json"];
    let on_s3 = same_on_cluster_env(&remote, &cluster, &args, &env, "s3://demo/lake");
    // Three ways, one answer: on disk here, on S3 here, on S3 through the cluster.
    assert_eq!(comparable(&local.run(&args).json(), LOCAL_ROOT), on_s3);
    // Executors without credentials cannot read the lake: the run says so instead of hanging.
    let blind = Cluster::start(1);
    let mut remote_args = args.to_vec();
    remote_args.extend(["--engine", &blind.url]);
    let run = remote.run_env(&remote_args, &env);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stdout.contains("no AWS credentials"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
}

/// `lakegate check --engine URL` on the demo project: exit 3 within 20 s (a watchdog, not a timing
/// assertion: the answer comes in about 3 s at most), and its stderr.
fn check_against(url: &str) -> String {
    let p = Project::demo();
    let run = p.run_bounded(&["check", "--engine", url], Duration::from_secs(20));
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stdout.is_empty(),
        "nothing ran, so nothing is printed: {}",
        run.stdout
    );
    let lines: Vec<&str> = run.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one sentence, no gRPC dump: {}", run.stderr);
    run.stderr
}

#[test]
fn a_missing_scheduler_or_one_without_executors_is_one_sentence_and_exit_3_in_seconds() {
    // Nothing listens on the port.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let e = check_against(&format!("ballista://127.0.0.1:{port}"));
    assert!(
        e.contains("refused the connection") && e.contains("lakegate-executor scheduler"),
        "{e}"
    );
    // A listener that accepts and never answers (a hung scheduler).
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let at = silent.local_addr().unwrap();
    silent.set_nonblocking(true).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = stop.clone();
    let held = std::thread::spawn(move || {
        // Accept (and hold, silent) whatever comes until the run ended (at most 25 s).
        let mut conns = Vec::new();
        let until = Instant::now() + Duration::from_secs(25);
        while Instant::now() < until && !stopped.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok((c, _)) = silent.accept() {
                conns.push(c);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        conns.len()
    });
    let e = check_against(&format!("ballista://{at}"));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(e.contains("did not answer within 3 s"), "{e}");
    assert!(held.join().unwrap() >= 1, "lakegate connected to the silent scheduler");
    // A scheduler with no executor: Ballista would accept the job and wait minutes for one.
    let scheduler = Node::spawn(&["scheduler", "--port", "0"]);
    let line = scheduler.ready("SCHEDULER_READY");
    let port = line.rsplit("port=").next().unwrap().trim().to_string();
    let e = check_against(&format!("ballista://127.0.0.1:{port}"));
    assert!(
        e.contains("has no executor ready") && e.contains("lakegate-executor executor"),
        "{e}"
    );
}

#[test]
fn an_engine_url_that_names_no_scheduler_is_a_configuration_error() {
    let p = Project::demo();
    let run = p.run(&["check", "--engine", "http://127.0.0.1:50050"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("ballista://HOST:PORT"), "{}", run.stderr);
    set_engine_url(&p, "ballista://nohost");
    let run = p.run(&["check"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("lakegate.toml") && run.stderr.contains("names no scheduler"),
        "{}",
        run.stderr
    );
    // `--engine local` runs here whatever the project says.
    set_engine_url(&p, "ballista://127.0.0.1:1");
    let run = p.run(&["check", "--engine", "local"]);
    assert_eq!(run.code, 1, "the demo's defects, found here: {}", run.stderr);
}

#[test]
fn every_data_driven_case_answers_on_a_ballista_cluster_as_here() {
    // Every case of tests/cases with data: every check kind, the read options, the fault cases.
    let (cases, _) = crate::cases::discover(&crate::support::repo().join("tests/cases"));
    let cases: Vec<_> = cases.into_iter().filter(|c| c.join("lake").is_dir()).collect();
    assert!(cases.len() > 50, "{} cases", cases.len());
    let cluster = Cluster::start(2);
    crate::s3_lakes::every_case_twice(&cases, ("here", "on the cluster"), |case| {
        let run = |more: &[&str]| crate::s3_lakes::run_case_with(case, None, &[], more);
        (run(&[]), run(&["--engine", &cluster.url]))
    });
}

/// `lakegate ARGS --engine URL` in `p`, held where each dataset's run starts (the `run-dataset`
/// test hook: after the pre-flight and the datasets' opening, before any scan).
struct Paused {
    child: Child,
    gate: std::path::PathBuf,
    started: Instant,
}

impl Paused {
    fn start(p: &Project, args: &[&str], url: &str) -> Self {
        let gate = p.path().join("paused");
        let child = Command::new(env!("CARGO_BIN_EXE_lakegate"))
            .args(args)
            .args(["--now", crate::support::NOW, "--engine", url])
            .current_dir(p.path())
            .env("LAKEGATE_PAUSE", format!("run-dataset:{}", gate.display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while !gate.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the run never reached its datasets"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, gate, started }
    }

    /// Lets every dataset through (each stops at the hook in turn, two at a time) and waits for
    /// the run's end.
    fn finish(mut self) -> std::process::Output {
        while self.child.try_wait().unwrap().is_none() {
            let _ = std::fs::remove_file(&self.gate);
            assert!(self.started.elapsed() < Duration::from_secs(120), "the run did not end");
            std::thread::sleep(Duration::from_millis(10));
        }
        self.child.wait_with_output().unwrap()
    }
}

#[test]
fn a_cluster_that_goes_away_during_a_run_ends_it_with_exit_3_and_the_reason() {
    let cluster = Cluster::start(1);
    let p = demo_project(LOCAL_ROOT);
    crate::fixtures::write_lake(&p.path().join(LOCAL_ROOT));
    // The run passes the pre-flight and opens its datasets, then waits here while the cluster stops.
    let run = Paused::start(&p, &["check", "--no-history", "--format", "json"], &cluster.url);
    drop(cluster);
    let out = run.finish();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    for d in v["datasets"].as_array().unwrap() {
        let error = d["error"].as_str().unwrap_or_default();
        assert!(error.contains("refused the connection"), "{}: {d}", d["name"]);
        assert!(!error.contains("tonic"), "no gRPC dump: {error}");
    }
}

#[test]
fn incremental_runs_on_a_ballista_cluster_answer_as_here() {
    // Two projects, each with its own history: the per-file states are built and reused by each.
    let cluster = Cluster::start(2);
    let (here, there) = (demo_project(LOCAL_ROOT), demo_project(LOCAL_ROOT));
    for p in [&here, &there] {
        crate::fixtures::write_lake(&p.path().join(LOCAL_ROOT));
    }
    let mut remote = vec!["check", "--incremental", "--format", "json"];
    let local = remote.clone();
    remote.extend(["--engine", &cluster.url]);
    for round in 0..2 {
        let (a, b) = (here.run(&local), there.run(&remote));
        assert_eq!((a.code, b.code), (1, 1), "{}\n{}", a.stderr, b.stderr);
        let (x, y) = (comparable(&a.json(), LOCAL_ROOT), comparable(&b.json(), LOCAL_ROOT));
        assert_eq!(x, y, "round {round}");
        if round == 1 {
            let reused = crate::support::dataset(&y, "orders")["incremental"]["files_reused"].clone();
            assert_eq!(reused, 2, "{y}");
        }
    }
}

#[test]
fn an_executor_killed_before_the_scans_changes_no_answer() {
    let mut cluster = Cluster::start(2);
    let p = demo_project(LOCAL_ROOT);
    crate::fixtures::write_lake(&p.path().join(LOCAL_ROOT));
    let args = ["check", "--no-history", "--format", "json"];
    let run = Paused::start(&p, &args, &cluster.url);
    // One of the two executors dies while the scheduler still counts it: its tasks run on the other.
    cluster.kill_executor(0);
    let out = run.finish();
    let here = p.run(&args);
    assert_eq!(
        out.status.code(),
        Some(here.code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let there: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(comparable(&there, LOCAL_ROOT), comparable(&here.json(), LOCAL_ROOT));
}

#[test]
fn an_executor_without_its_scheduler_says_where_it_looked() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let at = format!("127.0.0.1:{port}");
    let out = Command::new(env!("CARGO_BIN_EXE_lakegate-executor"))
        .args(["executor", "--scheduler", &at])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot reach the scheduler at {at}")),
        "{stderr}"
    );
    let bad = Command::new(env!("CARGO_BIN_EXE_lakegate-executor"))
        .args(["executor", "--scheduler", "nohost"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("write HOST:PORT"));
}

#[test]
fn a_check_that_fails_on_the_data_says_the_same_on_the_cluster() {
    // An executor's error reaches the client as a Debug dump of DataFusion's error inside the
    // job's failure: lakegate says it as it does here, and Ballista's own log stays quiet.
    let cluster = Cluster::start(1);
    let p = Project::new();
    p.file(
        "lakegate.toml",
        &format!("suites = [\"checks/*.toml\"]\n\n[lake]\nroot = \"{LOCAL_ROOT}\"\n"),
    );
    p.file(&format!("{LOCAL_ROOT}/raw/t/a.csv"), "id,name,n\n1,abc,0\n2,7,0\n");
    p.suite(
        "t",
        "format = \"csv\"",
        "[[check]]\nkind = \"expression\"\nsql = \"CAST(name AS INT) > 0\"\n\n[[check]]\nkind = \"expression\"\nname = \"ratio\"\nsql = \"id / n > 0\"\n\n[[check]]\nkind = \"not_null\"\ncolumn = \"id\"",
    );
    let v = same_on_cluster(&p, &cluster, &["check", "--no-history", "--format", "json"]);
    let message = |id: &str| crate::support::check(&v, id)["message"].as_str().unwrap().to_string();
    assert!(
        message("t.expression").contains("Cast error: Cannot cast string 'abc'"),
        "{v}"
    );
    // A division by zero is null here (lakegate's checked arithmetic), so on the cluster too.
    assert_eq!(crate::support::check(&v, "t.ratio")["failing_rows"], 2, "{v}");
    let there = p.run(&["check", "--no-history", "--engine", &cluster.url]);
    assert!(!there.stderr.contains("Job "), "{}", there.stderr);
}
