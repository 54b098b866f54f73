//! Lakes on an S3-compatible object store: moto's server on 127.0.0.1 (from the tests' virtualenv,
//! installed by `.ci/test`), the lake uploaded with boto3, and the same suites run on the copy on
//! disk and on the store — same answers. Each way a store can be wrong ends with exit 3 and one
//! sentence within seconds.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Project, normalize, python, repo};

/// A loopback port that hangs up on every connection (accepted and closed at once): no S3 server
/// there, and no other test's server can take the port while the test runs.
fn hang_up_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            drop(conn);
        }
    });
    port
}

/// moto's S3 server on a free loopback port, stopped when dropped.
pub struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// moto with these environment variables (e.g. authentication enforced).
    fn start_with(env: &[(&str, &str)]) -> Self {
        let server = python().with_file_name("moto_server");
        assert!(
            server.exists(),
            "{} is missing: install the test requirements with `{} -m pip install -r tests/s3/requirements.txt` (.ci/test does)",
            server.display(),
            python().display()
        );
        // Port 0: the server binds a free port itself and says which ("Running on
        // http://127.0.0.1:PORT"), so no other test's server can be mistaken for ours.
        let mut child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            let mut sent = false;
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if !sent && let Some(rest) = line.split("http://127.0.0.1:").nth(1) {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    if let Ok(port) = digits.parse::<u16>() {
                        let _ = tx.send(port);
                        sent = true;
                    }
                }
                // Keep reading so the server never blocks on a full pipe.
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("moto_server did not say where it listens within 30 s");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "moto_server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { child, port }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{}", self.port)),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    /// The objects below `s3://BUCKET/PREFIX/`: each key relative to it, with its size.
    pub(crate) fn objects(&self, bucket: &str, prefix: &str) -> std::collections::BTreeMap<String, u64> {
        self.listing(bucket, prefix, "size")
    }

    /// The objects below `s3://BUCKET/PREFIX/`: each key relative to it, with its ETag (`etag`) or
    /// the SHA-256 of its bytes (`sha256`), read with boto3.
    pub(crate) fn objects_by(
        &self,
        bucket: &str,
        prefix: &str,
        what: &str,
    ) -> std::collections::BTreeMap<String, String> {
        self.listing(bucket, prefix, what)
    }

    fn listing<T: serde::de::DeserializeOwned>(&self, bucket: &str, prefix: &str, what: &str) -> T {
        let out = Command::new(python())
            .arg(repo().join("tests/s3/objects.py"))
            .args([bucket, prefix, what])
            .envs(self.env())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Uploads a local directory as `s3://BUCKET/PREFIX/…`.
    pub fn upload(&self, bucket: &str, dir: &Path, prefix: &str) {
        let out = Command::new(python())
            .arg(repo().join("tests/s3/upload.py"))
            .args([bucket, &dir.to_string_lossy(), prefix])
            .envs(self.env())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lake's directory in a local project (a name found nowhere else in a result).
pub const LOCAL_ROOT: &str = "locallake";

/// A result without what differs between runs and stores: [`normalize`], and the lake's root (the
/// local directory as the project names it, or the bucket and prefix) replaced by `<lake>` in every
/// path.
pub fn comparable(v: &Value, root: &str) -> Value {
    let text = serde_json::to_string(&normalize(v.clone())).unwrap();
    serde_json::from_str(&text.replace(&format!("{root}/"), "<lake>/")).unwrap()
}

/// Runs `args` on both projects and requires the same exit code and the same comparable JSON,
/// check by check first so a failure names the check.
/// `local` has its lake in [`LOCAL_ROOT`]; `remote` has its lake root at `remote_root`.
pub fn same_json(local: &Project, remote: (&Project, &str), env: &[(&str, &str)], args: &[&str]) -> Value {
    let a = local.run(args);
    let b = remote.0.run_env(args, env);
    assert_eq!(
        a.code, b.code,
        "exit codes differ\non disk: {}\non S3: {}",
        a.stderr, b.stderr
    );
    let (x, y) = (comparable(&a.json(), LOCAL_ROOT), comparable(&b.json(), remote.1));
    same_results(&x, &y, ("on disk", "on S3"));
    x
}

/// Requires two comparable results to be equal, check by check first so a failure names the
/// check; `names` say where each came from.
pub fn same_results(x: &Value, y: &Value, names: (&str, &str)) {
    let checks = |v: &Value| -> Vec<Value> {
        v["datasets"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|d| d["checks"].as_array().cloned().unwrap_or_default())
            .collect()
    };
    let (cx, cy) = (checks(x), checks(y));
    assert_eq!(cx.len(), cy.len(), "checks {} and {}", names.0, names.1);
    for (c, d) in cx.iter().zip(&cy) {
        assert_eq!(c, d, "check {} differs between {} and {}", c["id"], names.0, names.1);
    }
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap();
    assert!(
        x == y,
        "the results differ (- {}, + {}):\n{}",
        names.0,
        names.1,
        crate::cases::line_diff(&pretty(x), &pretty(y))
    );
}

pub fn borrowed<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The demo lake's Parquet dataset (orders) with its suite, less the check of another (CSV) dataset.
fn parquet_project(root: &str) -> Project {
    let p = Project::new();
    p.file(
        "lakegate.toml",
        &format!("suites = [\"checks/*.toml\"]\n\n[lake]\nroot = \"{root}\"\n"),
    );
    let suite = std::fs::read_to_string(repo().join("checks/orders.toml")).unwrap();
    let suite = suite.replace(
        "[[check]]\nkind = \"reference\"\ncolumn = \"customer_id\"\ndataset = \"customers\"\n\n",
        "",
    );
    assert!(!suite.contains("reference"));
    p.file("checks/orders.toml", &suite);
    // A second dataset with hive partitions and a `unique` key of text.
    p.suite(
        "events",
        "format = \"parquet\"",
        "[[check]]\nkind = \"unique\"\ncolumns = [\"name\"]\n\n[[check]]\nkind = \"metric\"\nsql = \"count(distinct dt)\"\nmin = 2\n\n[[check]]\nkind = \"not_null\"\ncolumn = \"name\"\nwhere = \"dt = '2026-01-02'\"\n",
    );
    p
}

/// Writes the local lake the S3 lake is a copy of.
fn write_local_lake(dir: &Path) {
    crate::fixtures::write_lake(dir);
    for sub in ["raw/customers", "raw/events"] {
        std::fs::remove_dir_all(dir.join(sub)).unwrap();
    }
    use datafusion::arrow::array::{RecordBatch, StringArray};
    use std::sync::Arc;
    for (day, names) in [("2026-01-01", vec!["a", "b", "c"]), ("2026-01-02", vec!["c", "d", "e"])] {
        let batch = RecordBatch::try_from_iter([(
            "name",
            Arc::new(StringArray::from(names)) as datafusion::arrow::array::ArrayRef,
        )])
        .unwrap();
        let path = dir.join(format!("raw/events/dt={day}/part-0.parquet"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, crate::fixtures::parquet_bytes(&batch)).unwrap();
    }
}

/// Each dataset's result without what differs between stores by nature (where the data is, how
/// long it took): the checks whole, and how they were answered — footers read on the store too, so
/// the same checks come from statistics and the same queries and columns are read.
fn answers(v: &Value) -> Value {
    let mut out = Vec::new();
    for d in v["datasets"].as_array().unwrap() {
        out.push(serde_json::json!({
            "name": d["name"], "rows": d["rows"], "files": d["files"], "status": d["status"],
            "format": d["format"], "queries": d["queries"], "sample_queries": d["sample_queries"],
            "scanned_columns": d["scanned_columns"], "checks": d["checks"],
        }));
    }
    Value::Array(out)
}

#[test]
fn a_parquet_lake_on_s3_answers_as_the_same_lake_on_disk() {
    let moto = Moto::start();
    let local = parquet_project("lake");
    write_local_lake(&local.path().join("lake"));
    moto.upload("lake", &local.path().join("lake"), "demo");
    let env = moto.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let on_disk = local.run(&["check", "--no-history", "--format", "json"]);
    assert_eq!(on_disk.code, 1, "{}", on_disk.stderr);
    let remote = parquet_project("s3://lake/demo");
    let on_s3 = remote.run_env(&["check", "--no-history", "--format", "json"], &env);
    assert_eq!(on_s3.code, 1, "{}", on_s3.stderr);
    let (a, b) = (answers(&on_disk.json()), answers(&on_s3.json()));
    for (x, y) in a.as_array().unwrap().iter().zip(b.as_array().unwrap()) {
        for (cx, cy) in x["checks"]
            .as_array()
            .unwrap()
            .iter()
            .zip(y["checks"].as_array().unwrap())
        {
            assert_eq!(cx, cy, "check {} differs between disk and S3", cx["id"]);
        }
    }
    assert_eq!(a, b);
    assert!(
        a.to_string().contains("\"from_statistics\":true"),
        "some checks are answered from footers, on disk and on S3 alike"
    );
    assert_eq!(
        on_s3.json()["datasets"][0]["location"],
        "s3://lake/demo/raw/events",
        "messages name the objects as a person would"
    );

    // validate and explain read the store too.
    let v = remote.run_env(&["validate"], &env);
    assert_eq!(v.code, 0, "{}", v.stderr);
    let e = remote.run_env(&["explain", "orders"], &env);
    assert_eq!(e.code, 0, "{}", e.stderr);
}

/// The environment with one variable set to another value (or removed).
fn with<'a>(env: &[(&'a str, &'a str)], key: &'a str, value: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut out: Vec<(&str, &str)> = env.iter().filter(|(k, _)| *k != key).copied().collect();
    out.extend(value.map(|v| (key, v)));
    out
}

/// Runs `check` against a store set up wrongly; it must end with exit 3 within ~10 s and say, in
/// one line, what to fix.
fn fails_fast(root: &str, env: &[(&str, &str)], says: &str) {
    let p = parquet_project(root);
    let started = Instant::now();
    let r = p.run_env(&["check", "orders", "--no-history"], env);
    let took = started.elapsed();
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(took < Duration::from_secs(15), "took {took:?}");
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains(says), "expected `{says}` in:\n{all}");
    assert!(!all.contains("tonic") && !all.contains("backtrace"), "{all}");
}

#[test]
fn a_wrong_bucket_or_endpoint_is_one_sentence_and_exit_3() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    write_local_lake(dir.path());
    moto.upload("lake", dir.path(), "demo");
    let env = moto.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    fails_fast("s3://no-such-bucket/demo", &env, "the bucket does not exist");

    // No S3 server on this port (it hangs up at once), and no other test's server can take it.
    let url = format!("http://127.0.0.1:{}", hang_up_port());
    fails_fast(
        "s3://lake/demo",
        &with(&env, "AWS_ENDPOINT_URL", Some(&url)),
        "cannot reach the object store",
    );

    // A plain-http endpoint without AWS_ALLOW_HTTP.
    fails_fast("s3://lake/demo", &with(&env, "AWS_ALLOW_HTTP", None), "AWS_ALLOW_HTTP");

    // A dataset path with nothing under it is missing, as on disk.
    let p = parquet_project("s3://lake/elsewhere");
    let r = p.run_env(&["check", "orders", "--no-history"], &env);
    assert_eq!(r.code, 3, "{}", r.stderr);
}

#[test]
fn refused_credentials_are_one_sentence_and_exit_3() {
    // moto checks signatures after its first three requests: those create a user and its key.
    let moto = Moto::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "3")]);
    let out = Command::new(python())
        .arg(repo().join("tests/s3/iam_user.py"))
        .envs(moto.env())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let (key, secret) = text.trim().split_once(' ').unwrap();
    let mut env: Vec<(&str, String)> = moto
        .env()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("AWS_ACCESS") && !k.starts_with("AWS_SECRET"))
        .collect();
    env.push(("AWS_ACCESS_KEY_ID", key.to_string()));
    env.push(("AWS_SECRET_ACCESS_KEY", secret.to_string()));
    let dir = tempfile::tempdir().unwrap();
    write_local_lake(dir.path());
    let out = Command::new(python())
        .arg(repo().join("tests/s3/upload.py"))
        .args(["lake", &dir.path().to_string_lossy(), "demo"])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let good: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    // The right credentials read the lake.
    let p = parquet_project("s3://lake/demo");
    let r = p.run_env(&["check", "orders", "--no-history"], &good);
    assert_eq!(r.code, 1, "{}", r.stderr);

    // A wrong secret, and an unknown key id: refused, exit 3, one sentence, the secret never shown.
    let wrong_secret = with(&good, "AWS_SECRET_ACCESS_KEY", Some("not-the-secret"));
    fails_fast("s3://lake/demo", &wrong_secret, "the store refused the credentials");
    let unknown_key = with(&good, "AWS_ACCESS_KEY_ID", Some("AKIANOBODY"));
    fails_fast("s3://lake/demo", &unknown_key, "the store refused the credentials");
    let r = p.run_env(&["check", "orders", "--no-history"], &wrong_secret);
    assert!(!format!("{}{}", r.stdout, r.stderr).contains(secret));
}

#[test]
fn incremental_runs_on_s3_read_only_new_objects_with_a_full_scans_answers() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    write_local_lake(dir.path());
    moto.upload("lake", dir.path(), "demo");
    let env = moto.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let p = parquet_project("s3://lake/demo");
    let run = |args: &[&str]| {
        let r = p.run_env(args, &env);
        assert_eq!(r.code, 1, "{}", r.stderr);
        r.json()
    };
    let orders = |v: &Value| {
        v["datasets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == "orders")
            .unwrap()
            .clone()
    };
    let first = run(&["check", "--incremental", "--format", "json"]);
    assert_eq!(orders(&first)["incremental"]["state"], "new");
    let second = run(&["check", "--incremental", "--format", "json"]);
    assert_eq!(
        orders(&second)["incremental"]["files_reused"],
        2,
        "{}",
        orders(&second)["incremental"]
    );
    // A new object: a copy of a day, so every one of its keys repeats.
    let extra = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(extra.path().join("raw/orders")).unwrap();
    std::fs::copy(
        dir.path().join("raw/orders/orders-2026-01-15.parquet"),
        extra.path().join("raw/orders/orders-2026-01-16.parquet"),
    )
    .unwrap();
    moto.upload("lake", extra.path(), "demo");
    let third = run(&["check", "--incremental", "--format", "json"]);
    let inc = &orders(&third)["incremental"];
    assert_eq!(
        (inc["files_scanned"].as_u64(), inc["files_reused"].as_u64()),
        (Some(1), Some(2)),
        "{inc}"
    );
    let full = run(&["check", "--full", "--no-history", "--format", "json"]);
    let checks = |v: &Value| {
        let mut d = orders(v);
        let cs: Vec<Value> = d["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let mut c = c.clone();
                let m = c.as_object_mut().unwrap();
                m.remove("merged");
                if let Some(o) = m.get_mut("observed").and_then(Value::as_object_mut) {
                    o.remove("accepted_version");
                }
                c
            })
            .collect();
        d["checks"] = Value::Array(cs);
        d["checks"].clone()
    };
    assert_eq!(checks(&third), checks(&full));
    assert!(
        checks(&full).to_string().contains("share their `order_id`"),
        "the new object's keys collide with an old one's"
    );
}

/// A loopback port that hangs up on every connection and counts them.
fn counting_port() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(conn);
        }
    });
    (port, count)
}

/// `lakegate ARGS` in `p` with only these variables (and PATH) in its environment.
fn run_with_only(p: &Project, args: &[&str], env: &[(&str, &str)]) -> crate::support::Run {
    let out = Command::new(env!("CARGO_BIN_EXE_lakegate"))
        .args(args)
        .args(["--now", crate::support::NOW])
        .current_dir(p.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .unwrap();
    crate::support::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn without_credentials_the_run_says_which_to_set_before_any_request() {
    // The endpoint and the metadata service's address are loopback ports that count connections:
    // without credentials lakegate must connect to neither (nor to 169.254.169.254).
    let (endpoint, store_hits) = counting_port();
    let (metadata, metadata_hits) = counting_port();
    let endpoint = format!("http://127.0.0.1:{endpoint}");
    let p = parquet_project("s3://lake/demo");
    let base = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_REGION", "us-east-1"),
    ];
    for (extra, says) in [
        (
            None,
            "no AWS credentials in the environment: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        ),
        (
            Some(("AWS_PROFILE", "prod")),
            "AWS_PROFILE=prod is set, but profiles are not read",
        ),
        (
            Some(("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")),
            "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not",
        ),
    ] {
        let env: Vec<(&str, &str)> = base.iter().copied().chain(extra).collect();
        for args in [&["check", "--no-history"][..], &["validate"]] {
            let started = Instant::now();
            let r = run_with_only(&p, args, &env);
            assert_eq!(r.code, 3, "{args:?} {extra:?}: {}\n{}", r.stdout, r.stderr);
            assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
            let all = format!("{}{}", r.stdout, r.stderr);
            assert!(all.contains(says), "{args:?} {extra:?}: expected `{says}` in:\n{all}");
            if extra.is_none_or(|(k, _)| k == "AWS_PROFILE") {
                assert!(all.contains("AWS_EC2_METADATA_DISABLED=false"), "{all}");
            }
        }
    }
    assert_eq!(store_hits.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert_eq!(metadata_hits.load(std::sync::atomic::Ordering::SeqCst), 0);

    // Asked for, the instance's credentials are fetched (here from the stand-in service, which
    // hangs up): one sentence, exit 3, within seconds.
    let metadata = format!("http://127.0.0.1:{metadata}");
    let env: Vec<(&str, &str)> = base
        .iter()
        .copied()
        .chain([
            ("AWS_EC2_METADATA_DISABLED", "false"),
            ("AWS_METADATA_ENDPOINT", metadata.as_str()),
        ])
        .collect();
    let started = Instant::now();
    let r = run_with_only(&p, &["check", "--no-history"], &env);
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(started.elapsed() < Duration::from_secs(15), "{:?}", started.elapsed());
    assert!(metadata_hits.load(std::sync::atomic::Ordering::SeqCst) > 0);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains("instance metadata"), "{all}");
}
