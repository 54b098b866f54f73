//! `lakegate audit` as a user runs it: `--once` from a scheduler, the daemon on second-level cron
//! schedules (history proves what ran and when), overlap policies held by a paused run, SIGTERM
//! during a run, a restart after missed slots, suites edited and data removed while it runs,
//! `audit status`, the heartbeat, JSON logs, and schedule errors with line and column.
//!
//! The daemon runs on the real clock, so these tests wait for things to happen (polling the
//! history, with generous limits as watchdogs); none asserts how long something took.

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::support::Project;

/// A project with one small CSV dataset `t` (3 rows, one null in `v`) and a suite with `extra` in
/// its `[dataset]`.
fn project(extra: &str) -> Project {
    let p = Project::new();
    p.file("lake/raw/t/part.csv", "id,v\n1,a\n2,\n3,c\n");
    p.suite("t", extra, "[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\n");
    p
}

/// A running `lakegate audit` daemon; killed when dropped. Its stderr goes to a file the test reads.
struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn start(p: &Project, args: &[&str], env: &[(&str, &str)]) -> Self {
        let log = p.path().join(format!("daemon-{}.log", uuid_like()));
        let child = Command::new(env!("CARGO_BIN_EXE_lakegate"))
            .arg("audit")
            .args(args)
            .current_dir(p.path())
            .env_remove("LAKEGATE_LOG")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Self { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// Sends SIGTERM and waits (bounded) for the exit code.
    fn terminate(self) -> (i32, String) {
        self.signal("-TERM");
        self.terminate_after_signal()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn uuid_like() -> String {
    format!(
        "{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

/// Every run record of `dataset` in the project's history store, oldest first.
fn runs(p: &Project, dataset: &str) -> Vec<Value> {
    let dir = p.path().join(".lakegate/history/runs").join(dataset);
    let mut out: Vec<Value> = Vec::new();
    for e in walkdir::WalkDir::new(dir).into_iter().flatten() {
        if e.file_type().is_file() {
            let text = std::fs::read_to_string(e.path()).unwrap();
            out.extend(
                text.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| serde_json::from_str::<Value>(l).unwrap()),
            );
        }
    }
    out.sort_by_key(|r| r["started_at"].as_str().unwrap().to_string());
    out
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// Waits until `cond` holds (a watchdog of `limit`, not a timing assertion).
fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let started = Instant::now();
    while !cond() {
        assert!(started.elapsed() < limit, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// No two runs of the dataset overlap in time.
fn assert_no_overlap(runs: &[Value]) {
    for w in runs.windows(2) {
        assert!(
            time(&w[0]["finished_at"]) <= time(&w[1]["started_at"]),
            "runs overlap: {} and {}",
            w[0],
            w[1]
        );
    }
}

#[test]
fn once_runs_the_selected_suites_records_them_and_exits_as_check_does() {
    let p = Project::demo();
    let r = p.run(&["audit", "--once", "--jobs", "2", "--format", "json", "--no-alerts"]);
    assert_eq!(r.code, 1, "the demo lake fails checks:\n{}", r.stderr);
    let j = r.json();
    assert_eq!(j["command"], "audit");
    assert_eq!(j["datasets"].as_array().unwrap().len(), 3);
    for ds in ["orders", "customers", "events"] {
        let recorded = runs(&p, ds);
        assert_eq!(recorded.len(), 1, "{ds}");
        assert_eq!(recorded[0]["command"], "audit");
    }
    // A filter by dataset, and by zone.
    let r = p.run(&[
        "audit",
        "--once",
        "--dataset",
        "orders",
        "--format",
        "json",
        "--no-alerts",
    ]);
    assert_eq!(r.json()["datasets"].as_array().unwrap().len(), 1);
    assert_eq!((runs(&p, "orders").len(), runs(&p, "events").len()), (2, 1));
    let r = p.run(&["audit", "--once", "--zone", "cleaned"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("no suite checks a dataset in zone `cleaned`"),
        "{}",
        r.stderr
    );
    let r = p.run(&["audit", "--once", "--dataset", "ordres"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("no suite checks a dataset named `ordres`"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_one_second_schedule_runs_repeatedly_and_sigterm_exits_0() {
    let p = project("schedule = \"* * * * * *\"");
    let d = Daemon::start(&p, &["--no-alerts"], &[]);
    wait_for("two runs", Duration::from_secs(30), || runs(&p, "t").len() >= 2);
    // A second daemon for the same history store refuses to start (it would run every suite twice).
    let (code, second) = Daemon::start(&p, &["--no-alerts"], &[]).terminate_after_signal();
    assert_eq!(code, 2, "{second}");
    assert!(second.contains("another lakegate audit daemon (pid "), "{second}");
    let (code, log) = d.terminate();
    assert_eq!(code, 0, "{log}");
    let recorded = runs(&p, "t");
    assert!(recorded.len() >= 2);
    assert!(
        recorded
            .iter()
            .all(|r| r["command"] == "audit" && r["status"] == "pass"),
        "{recorded:?}"
    );
    assert_no_overlap(&recorded);
    assert!(log.contains("Scheduled.") && log.contains("next_due="), "{log}");
    assert!(log.contains("Ran. dataset=t status=pass duration="), "{log}");
    // The slot is persisted beside the history.
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(p.path().join(".lakegate/history/audit/state/t.json")).unwrap())
            .unwrap();
    assert_eq!(state["schedule"], "* * * * * *");
}

/// Holds every run at the `audit-run` pause point for `hold`, `rounds` times, then stops the daemon.
fn held_runs(p: &Project, overlap: &str, hold: Duration, rounds: usize) -> String {
    p.file(
        "lakegate.toml",
        &format!("{}\n[audit]\noverlap = \"{overlap}\"\n", crate::support::DEFAULT_CONFIG),
    );
    let pause = p.path().join("pause");
    let env = format!("audit-run:{}", pause.display());
    let d = Daemon::start(p, &["--no-alerts"], &[("LAKEGATE_PAUSE", &env)]);
    for round in 0..rounds {
        wait_for(&format!("run {round} to start"), Duration::from_secs(30), || {
            pause.exists()
        });
        std::thread::sleep(hold);
        std::fs::remove_file(&pause).unwrap();
        wait_for(&format!("run {round} to be recorded"), Duration::from_secs(30), || {
            runs(p, "t").len() > round
        });
    }
    // Let a last run start and hold it, so SIGTERM arrives mid-run.
    wait_for("the last run to start", Duration::from_secs(30), || pause.exists());
    d.signal("-TERM");
    std::thread::sleep(Duration::from_millis(300));
    std::fs::remove_file(&pause).unwrap();
    let (code, log) = d.terminate_after_signal();
    assert_eq!(code, 0, "{log}");
    log
}

impl Daemon {
    /// Waits (bounded) for the exit code after a signal was already sent.
    fn terminate_after_signal(mut self) -> (i32, String) {
        let started = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return (s.code().unwrap_or(-1), self.log());
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the daemon did not stop:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn a_slow_suite_never_overlaps_itself_under_skip() {
    let p = project("schedule = \"* * * * * *\"");
    let log = held_runs(&p, "skip", Duration::from_millis(2500), 2);
    let recorded = runs(&p, "t");
    // Two held rounds and the one SIGTERM interrupted: all recorded, none overlapping.
    assert_eq!(recorded.len(), 3, "{log}");
    assert_no_overlap(&recorded);
    assert!(
        log.contains("Skipped this slot: the previous run is still going (overlap = \"skip\")"),
        "{log}"
    );
    assert!(!log.contains("Queued"), "{log}");
}

#[test]
fn a_slow_suite_never_overlaps_itself_under_queue_and_runs_once_more_right_after() {
    let p = project("schedule = \"* * * * * *\"");
    let log = held_runs(&p, "queue", Duration::from_millis(2500), 2);
    let recorded = runs(&p, "t");
    assert_eq!(recorded.len(), 3, "{log}");
    assert_no_overlap(&recorded);
    assert!(
        log.contains("Queued: the previous run is still going (overlap = \"queue\")"),
        "{log}"
    );
    assert!(!log.contains("Skipped this slot"), "{log}");
    // Slots that piled up during a 2.5 s run count once: one queued run per held run.
    // (A third may be said in the instant between the last run's start and SIGTERM.)
    assert!((2..=3).contains(&log.matches("Queued:").count()), "{log}");
}

#[test]
fn sigterm_during_a_run_lets_it_finish_records_it_and_exits_0() {
    let p = project("schedule = \"* * * * * *\"");
    let pause = p.path().join("pause");
    let env = format!("audit-run:{}", pause.display());
    let d = Daemon::start(&p, &["--no-alerts", "--grace", "30s"], &[("LAKEGATE_PAUSE", &env)]);
    wait_for("a run to start", Duration::from_secs(30), || pause.exists());
    d.signal("-TERM");
    std::thread::sleep(Duration::from_millis(500));
    // Stopping, but waiting for the running suite: no run recorded yet, the process alive.
    assert!(runs(&p, "t").is_empty());
    std::fs::remove_file(&pause).unwrap();
    let (code, log) = d.terminate_after_signal();
    assert_eq!(code, 0, "{log}");
    assert_eq!(runs(&p, "t").len(), 1, "{log}");
    assert!(log.contains("Stopping: no new runs"), "{log}");
}

#[test]
fn a_suite_the_daemon_is_running_is_not_run_again_by_audit_once() {
    let p = project("schedule = \"* * * * * *\"");
    let pause = p.path().join("pause");
    let env = format!("audit-run:{}", pause.display());
    let d = Daemon::start(&p, &["--no-alerts"], &[("LAKEGATE_PAUSE", &env)]);
    wait_for("a run to start", Duration::from_secs(30), || pause.exists());
    let once = p.run(&["audit", "--once", "--no-alerts"]);
    assert_eq!(once.code, 3, "{}", once.stderr);
    assert!(
        once.stderr.contains("another lakegate audit is running this suite now"),
        "{}",
        once.stderr
    );
    let status = p.run(&["audit", "status", "--format", "json"]);
    assert_eq!(status.json()["datasets"][0]["running"], true);
    d.signal("-TERM");
    std::fs::remove_file(&pause).unwrap();
    let (code, log) = d.terminate_after_signal();
    assert_eq!(code, 0, "{log}");
    assert_eq!(runs(&p, "t").len(), 1, "only the daemon's run happened");
    assert_eq!(
        p.run(&["audit", "status", "--format", "json"]).json()["datasets"][0]["running"],
        false
    );
}

#[test]
fn a_link_planted_as_a_lock_file_is_never_followed() {
    let p = project("");
    let victim = p.path().join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    std::fs::create_dir_all(p.path().join(".lakegate/history/audit/locks")).unwrap();
    std::os::unix::fs::symlink(&victim, p.path().join(".lakegate/history/audit/locks/t.lock")).unwrap();
    let r = p.run(&["audit", "--once", "--no-alerts"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("Cannot take the audit lock"), "{}", r.stderr);
    assert!(
        r.stderr.contains("is a symbolic link; lakegate never follows links"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
}

#[test]
fn a_run_that_outlives_the_grace_period_is_named_and_the_exit_is_3() {
    let p = project("schedule = \"* * * * * *\"");
    let pause = p.path().join("pause");
    let env = format!("audit-run:{}", pause.display());
    let d = Daemon::start(&p, &["--no-alerts", "--grace", "1s"], &[("LAKEGATE_PAUSE", &env)]);
    wait_for("a run to start", Duration::from_secs(30), || pause.exists());
    let (code, log) = d.terminate();
    assert_eq!(code, 3, "{log}");
    assert!(
        log.contains("stopped before these suites finished (the grace period ran out): t"),
        "{log}"
    );
}

#[test]
fn a_daemon_restarted_after_missing_five_slots_runs_once() {
    // Hourly at a minute half an hour away, so no regular slot falls inside the test.
    let now = Utc::now();
    let minute = (chrono::Timelike::minute(&now) + 30) % 60;
    let p = project(&format!("schedule = \"{minute} * * * *\""));
    // The daemon last ran this suite at the slot five hours (five slots) before the latest one.
    let schedule_slot = {
        let mut t = now - chrono::Duration::hours(6);
        while chrono::Timelike::minute(&t) != minute {
            t += chrono::Duration::minutes(1);
        }
        chrono::DurationRound::duration_trunc(t, chrono::Duration::minutes(1)).unwrap()
    };
    p.file(
        ".lakegate/history/audit/state/t.json",
        &serde_json::json!({
            "dataset": "t", "last_slot": schedule_slot, "schedule": format!("{minute} * * * *"), "timezone": "UTC"
        })
        .to_string(),
    );
    let d = Daemon::start(&p, &["--no-alerts"], &[]);
    wait_for("the catch-up run", Duration::from_secs(30), || {
        !runs(&p, "t").is_empty()
    });
    std::thread::sleep(Duration::from_secs(3));
    let (code, log) = d.terminate();
    assert_eq!(code, 0, "{log}");
    assert_eq!(runs(&p, "t").len(), 1, "five missed slots run once:\n{log}");
    // The caught-up slot is persisted: a second restart runs nothing.
    let d = Daemon::start(&p, &["--no-alerts"], &[]);
    std::thread::sleep(Duration::from_secs(3));
    let (code, log) = d.terminate();
    assert_eq!(code, 0, "{log}");
    assert_eq!(runs(&p, "t").len(), 1, "{log}");
}

#[test]
fn edits_and_a_vanished_dataset_do_not_stop_the_daemon() {
    let p = project("schedule = \"* * * * * *\"");
    let d = Daemon::start(&p, &["--no-alerts"], &[]);
    wait_for("a first run", Duration::from_secs(30), || !runs(&p, "t").is_empty());
    // A valid edit: a second check, picked up on the next run without a restart.
    p.suite(
        "t",
        "schedule = \"* * * * * *\"",
        "[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\n\n[[check]]\nkind = \"not_null\"\ncolumn = \"v\"\n",
    );
    wait_for("a run with two checks", Duration::from_secs(30), || {
        runs(&p, "t").iter().any(|r| r["checks"] == 2 && r["status"] == "fail")
    });
    // An invalid edit: said once as the usual diagnostic; the last valid suite keeps running.
    p.suite(
        "t",
        "schedule = \"* * * * * *\"",
        "[[check]]\nkind = \"not_nul\"\ncolumn = \"id\"\n",
    );
    let before = runs(&p, "t").len();
    wait_for("two more runs", Duration::from_secs(30), || {
        runs(&p, "t").len() >= before + 2
    });
    assert!(
        runs(&p, "t").iter().rev().take(2).all(|r| r["checks"] == 2),
        "the last valid suite ran"
    );
    // The data disappears: runs are recorded as errors and the daemon goes on; it comes back.
    std::fs::rename(p.path().join("lake/raw/t"), p.path().join("lake/raw/t.gone")).unwrap();
    wait_for("an error run", Duration::from_secs(30), || {
        runs(&p, "t").iter().any(|r| r["status"] == "error")
    });
    std::fs::rename(p.path().join("lake/raw/t.gone"), p.path().join("lake/raw/t")).unwrap();
    let n = runs(&p, "t").len();
    wait_for("a run after the data came back", Duration::from_secs(30), || {
        runs(&p, "t")[n..].iter().any(|r| r["status"] == "fail")
    });
    let (code, log) = d.terminate();
    assert_eq!(code, 0, "{log}");
    assert_eq!(
        log.matches("The configuration changed and is not valid").count(),
        1,
        "{log}"
    );
    assert!(log.contains("not_nul"), "the diagnostic names the bad kind:\n{log}");
    assert_no_overlap(&runs(&p, "t"));
}

#[test]
fn sighup_reloads_an_edited_schedule_at_once() {
    let p = project("schedule = \"0 0 1 1 *\"");
    let d = Daemon::start(&p, &["--no-alerts"], &[]);
    wait_for("the daemon to start", Duration::from_secs(30), || {
        d.log().contains("Scheduled.")
    });
    p.suite(
        "t",
        "schedule = \"* * * * * *\"",
        "[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\n",
    );
    d.signal("-HUP");
    wait_for("runs on the new schedule", Duration::from_secs(25), || {
        runs(&p, "t").len() >= 2
    });
    let (code, log) = d.terminate();
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("SIGHUP: reloading the suites."), "{log}");
    assert!(
        log.contains("schedule=\"* * * * * *\""),
        "the new schedule is logged:\n{log}"
    );
}

#[test]
fn status_shows_schedule_last_run_and_next_due() {
    let p = project("schedule = \"0 30 2 * * *\"\ntimezone = \"Europe/Berlin\"");
    let r = p.run(&["audit", "status", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let row = &r.json()["datasets"][0];
    assert_eq!(
        (row["dataset"].as_str(), row["schedule"].as_str()),
        (Some("t"), Some("0 30 2 * * *"))
    );
    assert_eq!(row["timezone"], "Europe/Berlin");
    assert!(row["last_run"].is_null());
    // --now is 2026-01-15T12:00:00Z: the next 02:30 in Berlin (CET) is 01:30 UTC the next day.
    assert_eq!(row["next_due"], "2026-01-16T01:30:00Z");
    assert_eq!(p.run(&["audit", "--once", "--no-alerts"]).code, 0);
    let r = p.run(&["audit", "status", "--format", "json"]);
    let row = &r.json()["datasets"][0];
    assert_eq!(
        (row["last_run"]["status"].as_str(), row["last_run"]["command"].as_str()),
        (Some("pass"), Some("audit"))
    );
    let text = p.run(&["audit", "status"]);
    assert!(text.stdout.contains("0 30 2 * * * (Europe/Berlin)"), "{}", text.stdout);
    assert!(text.stdout.contains("2026-01-16 01:30:00 UTC"), "{}", text.stdout);
}

#[test]
fn the_heartbeat_is_pinged_after_a_run_and_logs_can_be_json() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let p = project("schedule = \"* * * * * *\"");
    p.file(
        "lakegate.toml",
        &format!(
            "{}\n[audit]\nheartbeat_url = \"http://127.0.0.1:{port}/ping/abc\"\n",
            crate::support::DEFAULT_CONFIG
        ),
    );
    let d = Daemon::start(&p, &["--no-alerts", "--log-format", "json"], &[]);
    listener.set_nonblocking(true).unwrap();
    let mut conn = None;
    wait_for("the heartbeat", Duration::from_secs(30), || {
        conn = listener.accept().ok().map(|(c, _)| c);
        conn.is_some()
    });
    let mut conn = conn.unwrap();
    conn.set_nonblocking(false).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 4096];
    let n = conn.read(&mut buf).unwrap();
    let request = String::from_utf8_lossy(&buf[..n]).to_string();
    std::io::Write::write_all(&mut conn, b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").unwrap();
    drop(conn);
    assert!(request.starts_with("POST /ping/abc HTTP/1.1"), "{request}");
    assert!(
        request.contains("\"dataset\":\"t\"") && request.contains("\"status\":\"pass\""),
        "{request}"
    );
    let (code, log) = d.terminate();
    assert_eq!(code, 0, "{log}");
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "Ran." && l["fields"]["dataset"] == "t" && l["timestamp"].is_string()),
        "{log}"
    );
}

#[test]
fn a_bad_schedule_or_time_zone_is_a_config_error_with_line_and_column() {
    let p = project("schedule = \"61 * * * *\"");
    let r = p.run(&["validate"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("`61 * * * *` is not a cron expression"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("checks/t.toml:5:12"), "{}", r.stderr);
    let p = project("schedule = \"0 2 * * *\"\ntimezone = \"Europe/Berln\"");
    let r = p.run(&["audit", "--once"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("`Europe/Berln` is not an IANA time zone name"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("did you mean \"Europe/Berlin\""), "{}", r.stderr);
    assert!(r.stderr.contains("checks/t.toml:6:12"), "{}", r.stderr);
    p.file(
        "checks/t.toml",
        "[dataset]\nname = \"t\"\nzone = \"raw\"\npath = \"t\"\n[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\n",
    );
    p.file(
        "lakegate.toml",
        &format!(
            "{}\n[audit]\nschedule = \"0 0 30 2 *\"\noverlap = \"wait\"\n",
            crate::support::DEFAULT_CONFIG
        ),
    );
    let (code, log) = Daemon::start(&p, &[], &[]).terminate_after_signal();
    assert_eq!(code, 2, "{log}");
    assert!(log.contains("never matches a date"), "{log}");
    assert!(log.contains("`wait` is not an overlap policy"), "{log}");
    // A schedule on the command line is checked before anything runs.
    let r = p.run_bounded(
        &["audit", "--once", "--schedule", "every hour"],
        Duration::from_secs(60),
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
}
