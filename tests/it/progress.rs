//! Progress on stderr: drawn for a person at a terminal once a run takes over a second, never
//! into a pipe, never with `--quiet`, and cleared before the results. The terminal is a real
//! pseudo-terminal (`script` from util-linux); the slow dataset is held by the `run-dataset` pause.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{NOW, Project};

fn project() -> Project {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id\n1\n2\n");
    p.suite("t", "", "[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\n");
    p
}

/// Runs `lakegate check …` in a pseudo-terminal with the dataset held for `hold`; everything the
/// terminal showed.
fn in_terminal(p: &Project, extra: &str, hold: Duration) -> (i32, String) {
    let cmd = format!(
        "{} check --now {NOW} --no-history {extra}",
        env!("CARGO_BIN_EXE_lakegate")
    );
    let mut script = Command::new("script");
    script.args(["-q", "-e", "-c", &cmd, "/dev/null"]);
    let (code, stdout, _) = held(p, script, hold);
    (code, stdout)
}

/// Runs `command` in the project with its dataset held for `hold`: exit code, stdout, stderr.
fn held(p: &Project, mut command: Command, hold: Duration) -> (i32, String, String) {
    let pause = p.path().join("pause");
    let child = command
        .current_dir(p.path())
        .env("LAKEGATE_PAUSE", format!("run-dataset:{}", pause.display()))
        .env_remove("LAKEGATE_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !pause.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the run never reached the dataset"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(hold);
    std::fs::remove_file(&pause).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_slow_run_at_a_terminal_shows_progress_then_clears_it() {
    let p = project();
    let (code, screen) = in_terminal(&p, "", Duration::from_millis(1800));
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("[0/1 datasets, 0 rows] checking…"), "{screen}");
    // Erased before the results are printed.
    let last_progress = screen.rfind("checking…").unwrap();
    let cleared = screen[last_progress..].find("\r\u{1b}[K").map(|i| i + last_progress);
    let results = screen.find("PASS").unwrap();
    assert!(cleared.is_some_and(|c| c < results), "{screen:?}");
}

#[test]
fn no_progress_when_quiet_or_into_a_pipe() {
    let p = project();
    let (code, screen) = in_terminal(&p, "--quiet", Duration::from_millis(1800));
    assert_eq!(code, 0, "{screen}");
    assert!(!screen.contains("datasets,"), "{screen}");
    assert!(screen.contains("PASS"), "{screen}");
    // stderr to a pipe: nothing but what was asked for, however long the run.
    let mut direct = Command::new(env!("CARGO_BIN_EXE_lakegate"));
    direct.args(["check", "--now", NOW, "--no-history"]);
    let (code, stdout, stderr) = held(&p, direct, Duration::from_millis(1800));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("PASS") && !stderr.contains("datasets,"), "{stderr}");
}
