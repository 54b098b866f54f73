//! Test fixtures: a temporary project directory, the real `lakegate` binary run in it with a fixed
//! clock, and JSON results normalized for comparison (run ids, times and durations removed).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use datafusion::arrow::array::RecordBatch;
use serde_json::Value;

/// The clock every test run uses (the demo lake's orders end two hours before it).
pub const NOW: &str = "2026-01-15T12:00:00Z";

/// A project in a temporary directory.
pub struct Project {
    dir: tempfile::TempDir,
}

/// What a run printed and returned.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }
}

pub const DEFAULT_CONFIG: &str = "suites = [\"checks/*.toml\"]\n\n[lake]\nroot = \"lake\"\n";

impl Project {
    /// An empty project with a default `lakegate.toml` (lake under `lake/`, suites in `checks/`).
    pub fn new() -> Self {
        let p = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        p.file("lakegate.toml", DEFAULT_CONFIG);
        p
    }

    /// A copy of the repository's demo project and lake.
    pub fn demo() -> Self {
        let p = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        p.file(
            "lakegate.toml",
            &std::fs::read_to_string(repo.join("lakegate.toml")).unwrap(),
        );
        for entry in std::fs::read_dir(repo.join("checks")).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            p.file(&format!("checks/{name}"), &std::fs::read_to_string(&path).unwrap());
        }
        crate::fixtures::write_lake(&p.path().join("fixtures/lake"));
        p
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a text file (parents created).
    pub fn file(&self, rel: &str, content: &str) -> &Self {
        self.bytes(rel, content.as_bytes())
    }

    pub fn bytes(&self, rel: &str, content: &[u8]) -> &Self {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
        self
    }

    /// Writes one record batch as a Parquet file.
    pub fn parquet(&self, rel: &str, batch: &RecordBatch) -> &Self {
        self.bytes(rel, &crate::fixtures::parquet_bytes(batch))
    }

    /// A suite `checks/NAME.toml` for dataset NAME in zone raw, at `lake/raw/PATH`.
    pub fn suite(&self, name: &str, dataset_extra: &str, checks: &str) -> &Self {
        self.file(
            &format!("checks/{name}.toml"),
            &format!("[dataset]\nname = \"{name}\"\nzone = \"raw\"\npath = \"{name}\"\n{dataset_extra}\n{checks}"),
        )
    }

    /// Runs `lakegate ARGS` in the project with the fixed clock.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    /// Runs `lakegate ARGS` with these environment variables (and no `LAKEGATE_LOG` otherwise).
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.run_at(NOW, args, env)
    }

    /// Runs `lakegate ARGS --now NOW` with these environment variables: a run at another time.
    pub fn run_at(&self, now: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_lakegate"))
            .args(args)
            .arg("--now")
            .arg(now)
            .current_dir(self.path())
            .env_remove("LAKEGATE_LOG")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `lakegate ARGS` in the project; a run still going after `limit` is killed and fails the test
    /// (a watchdog against hangs, not a timing assertion). The pipes are drained on threads so a
    /// chatty child never blocks on a full pipe.
    pub fn run_bounded(&self, args: &[&str], limit: Duration) -> Run {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lakegate"))
            .args(args)
            .arg("--now")
            .arg(NOW)
            .current_dir(self.path())
            .env_remove("LAKEGATE_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Drain the pipes on threads so a chatty child never blocks on a full pipe.
        let mut out = child.stdout.take().unwrap();
        let mut err = child.stderr.take().unwrap();
        let out = std::thread::spawn(move || {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut out, &mut s).ok();
            s
        });
        let err = std::thread::spawn(move || {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut err, &mut s).ok();
            s
        });
        let started = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if started.elapsed() > limit {
                child.kill().ok();
                child.wait().ok();
                panic!("`lakegate {}` hung (killed after {limit:?})", args.join(" "));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        Run {
            code: status.code().unwrap_or(-1),
            stdout: out.join().unwrap(),
            stderr: err.join().unwrap(),
        }
    }

    /// `lakegate check --format json` and its parsed result.
    pub fn check_json(&self, extra: &[&str]) -> (i32, Value) {
        let mut args = vec!["check", "--format", "json"];
        args.extend_from_slice(extra);
        let r = self.run(&args);
        let code = r.code;
        (code, r.json())
    }
}

/// The result of one check by id.
pub fn check<'a>(result: &'a Value, id: &str) -> &'a Value {
    result["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["checks"].as_array().unwrap())
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check `{id}` in {}", serde_json::to_string_pretty(result).unwrap()))
}

/// The result of one dataset by name.
pub fn dataset<'a>(result: &'a Value, name: &str) -> &'a Value {
    result["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .unwrap()
}

/// Removes what changes between runs (ids, times, durations, temp paths).
pub fn normalize(mut v: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for k in ["run_id", "started_at", "finished_at", "duration_ms", "lakegate"] {
                    m.remove(k);
                }
                for (_, x) in m.iter_mut() {
                    walk(x);
                }
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The test virtualenv's Python (`.ci/test` makes it and sets `LAKEGATE_TEST_PYTHON`; by default
/// `~/.cache/lakegate-venv/bin/python`).
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("LAKEGATE_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    PathBuf::from(home).join(".cache/lakegate-venv/bin/python")
}
