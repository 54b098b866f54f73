//! Incremental runs under attack: two runs at once, planted links, damaged key sets, a schema that
//! changes under the stored numbers. Every case must end with a full scan's answers.

use serde_json::Value;

use crate::support::{Project, dataset};

/// The demo project copied, with its answers from a full scan (no history) as the reference.
fn demo() -> Project {
    Project::demo()
}

/// What must match between an incremental and a full run: each dataset's checks without the
/// bookkeeping of how they were measured.
fn answers(v: &Value) -> Value {
    let mut out = Vec::new();
    for d in v["datasets"].as_array().unwrap() {
        let mut checks = Vec::new();
        for c in d["checks"].as_array().unwrap() {
            let mut c = c.clone();
            let m = c.as_object_mut().unwrap();
            for k in ["from_statistics", "merged"] {
                m.remove(k);
            }
            // The full runs keep no history, so they have no accepted schema version.
            if let Some(o) = m.get_mut("observed").and_then(Value::as_object_mut) {
                o.remove("accepted_version");
            }
            checks.push(c);
        }
        out.push(serde_json::json!({ "name": d["name"], "rows": d["rows"], "status": d["status"], "checks": checks }));
    }
    Value::Array(out)
}

/// Asserts two answers are equal, naming the first check that differs (the whole JSON is too long
/// to read in a failure).
#[track_caller]
fn same(got: &Value, want: &Value, what: &str) {
    for (g, w) in got.as_array().unwrap().iter().zip(want.as_array().unwrap()) {
        assert_eq!(g["rows"], w["rows"], "{what}: rows of {}", w["name"]);
        for (gc, wc) in g["checks"]
            .as_array()
            .unwrap()
            .iter()
            .zip(w["checks"].as_array().unwrap())
        {
            assert_eq!(gc, wc, "{what}: check {}", wc["id"]);
        }
    }
    assert_eq!(got, want, "{what}");
}

fn full(p: &Project) -> Value {
    let r = p.run(&["check", "--full", "--no-history", "--format", "json"]);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    answers(&r.json())
}

fn incremental(p: &Project) -> Value {
    let r = p.run(&["check", "--incremental", "--format", "json"]);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    r.json()
}

#[test]
fn two_incremental_runs_at_once_leave_a_state_that_answers_as_a_full_scan() {
    let p = demo();
    incremental(&p);
    // A new orders file (a copy of an old one: every key repeats), then two runs at once.
    let orders = p.path().join("fixtures/lake/raw/orders");
    std::fs::copy(
        orders.join("orders-2026-01-14.parquet"),
        orders.join("orders-2026-01-16.parquet"),
    )
    .unwrap();
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let dir = p.path().to_path_buf();
            std::thread::spawn(move || {
                std::process::Command::new(env!("CARGO_BIN_EXE_lakegate"))
                    .args([
                        "check",
                        "--incremental",
                        "--format",
                        "json",
                        "--now",
                        crate::support::NOW,
                    ])
                    .current_dir(dir)
                    .output()
                    .unwrap()
            })
        })
        .collect();
    let expected = full(&p);
    for r in runs {
        let out = r.join().unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        same(&answers(&v), &expected, "a concurrent run");
    }
    let after = incremental(&p);
    same(&answers(&after), &expected, "the run after");
    assert_eq!(dataset(&after, "orders")["incremental"]["state"], "reused");
}

#[test]
fn a_planted_link_in_the_state_directory_is_never_followed() {
    let p = demo();
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("keep.txt"), "mine").unwrap();
    let dir = p.path().join(".lakegate/history/incremental");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), dir.join("orders")).unwrap();
    let v = incremental(&p);
    same(&answers(&v), &full(&p), "with a planted link");
    let state = dataset(&v, "orders")["incremental"]["state"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        state.starts_with("discarded:") && state.contains("symbolic link"),
        "{state}"
    );
    let left: Vec<_> = std::fs::read_dir(elsewhere.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left,
        vec!["keep.txt".to_string()],
        "nothing was written through the link"
    );
    // The other datasets kept their states.
    assert_eq!(dataset(&incremental(&p), "customers")["incremental"]["state"], "reused");
}

#[test]
fn a_damaged_key_set_is_rebuilt_from_every_file() {
    let p = demo();
    incremental(&p);
    let dir = p.path().join(".lakegate/history/incremental/orders");
    let key_file = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("keys-"))
        .expect("orders.order_id.unique keeps a key set");
    let mut bytes = std::fs::read(&key_file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&key_file, &bytes).unwrap();
    // A new file whose keys all repeat: a key set trusted blindly would miss nothing here, so the
    // damaged set must also be seen to be rebuilt (every file's keys read).
    let orders = p.path().join("fixtures/lake/raw/orders");
    std::fs::copy(
        orders.join("orders-2026-01-15.parquet"),
        orders.join("orders-2026-01-16.parquet"),
    )
    .unwrap();
    let v = incremental(&p);
    same(&answers(&v), &full(&p), "after a damaged key set");
    assert_eq!(dataset(&v, "orders")["incremental"]["files_scanned"], 3);
    assert!(!key_file.exists(), "the damaged key set was replaced");
}

#[test]
fn a_column_added_by_a_new_file_discards_the_stored_numbers_once() {
    let p = Project::new();
    p.suite(
        "t",
        "format = \"csv\"",
        "[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\n\n[[check]]\nkind = \"metric\"\nsql = \"max(v)\"\nmax = 100\n",
    );
    p.file("lake/raw/t/a.csv", "id,v\n1,5\n2,7\n");
    let first = incremental(&p);
    assert_eq!(dataset(&first, "t")["incremental"]["state"], "new");
    p.file("lake/raw/t/b.csv", "id,v,w\n3,9,x\n,200,y\n");
    let v = incremental(&p);
    same(&answers(&v), &full(&p), "after a new column");
    let d = dataset(&v, "t");
    assert!(
        d["incremental"]["state"].as_str().unwrap().starts_with("discarded:"),
        "{}",
        d["incremental"]
    );
    assert_eq!(d["incremental"]["files_scanned"], 2);
    let again = incremental(&p);
    assert_eq!(dataset(&again, "t")["incremental"]["files_scanned"], 0);
    same(&answers(&again), &full(&p), "the run after");
}

#[test]
fn audits_are_incremental_unless_told_to_read_everything() {
    let p = demo();
    let once = |extra: &[&str]| {
        let mut args = vec!["audit", "--once", "--format", "json"];
        args.extend_from_slice(extra);
        let r = p.run(&args);
        assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
        r.json()
    };
    let first = once(&[]);
    assert_eq!(dataset(&first, "orders")["incremental"]["state"], "new");
    let second = once(&[]);
    assert_eq!(dataset(&second, "orders")["incremental"]["files_reused"], 2);
    let full_run = once(&["--full"]);
    assert!(dataset(&full_run, "orders").get("incremental").is_none());
    same(
        &answers(&second),
        &answers(&full_run),
        "an incremental audit and a full one",
    );
    p.file(
        "lakegate.toml",
        &format!(
            "{}\n",
            std::fs::read_to_string(p.path().join("lakegate.toml"))
                .unwrap()
                .replace("[engine]\n", "[engine]\nincremental = false\n")
        ),
    );
    assert!(dataset(&once(&[]), "orders").get("incremental").is_none());
}

#[test]
fn a_file_still_being_written_during_a_run_is_read_again_by_the_next() {
    let p = Project::new();
    p.suite(
        "t",
        "format = \"csv\"",
        "[[check]]\nkind = \"not_null\"\ncolumn = \"v\"\n\n[[check]]\nkind = \"metric\"\nsql = \"sum(v)\"\nmax = 1000\n",
    );
    p.file("lake/raw/t/a.csv", "id,v\n1,5\n2,7\n");
    incremental(&p);
    // A new file that its producer is still writing: the run identifies it, then (held by the test
    // hook before measuring) the producer appends to it.
    p.file("lake/raw/t/b.csv", "id,v\n3,9\n");
    let flag = p.path().join("paused");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_lakegate"))
        .args([
            "check",
            "--incremental",
            "--format",
            "json",
            "--now",
            crate::support::NOW,
        ])
        .current_dir(p.path())
        .env("LAKEGATE_PAUSE", format!("run-dataset:{}", flag.display()))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !flag.exists() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the run never paused"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::fs::write(p.path().join("lake/raw/t/b.csv"), "id,v\n3,9\n4,\n5,600\n").unwrap();
    std::fs::remove_file(&flag).unwrap();
    assert!(child.wait_with_output().unwrap().status.code().is_some_and(|c| c <= 1));
    // The next run sees a file other than the one the stored numbers were taken of.
    let v = incremental(&p);
    same(&answers(&v), &full(&p), "after a file grew during a run");
    assert_eq!(
        dataset(&v, "t")["incremental"]["files_scanned"],
        1,
        "{}",
        dataset(&v, "t")["incremental"]
    );
}

#[test]
fn a_sample_is_read_from_the_first_files_that_make_it_up_with_a_full_scans_rows() {
    let p = Project::new();
    p.suite(
        "t",
        "format = \"csv\"\nkey = [\"id\"]",
        "[[check]]\nkind = \"not_null\"\ncolumn = \"v\"\nsample = 3\n",
    );
    // Two failing rows in each file: a sample of 3 takes both of a's and the first of b's.
    for (name, first) in [("a", 1), ("b", 10), ("c", 20), ("d", 30)] {
        p.file(
            &format!("lake/raw/t/{name}.csv"),
            &format!("id,v\n{first},\n{},5\n{},\n", first + 1, first + 2),
        );
    }
    incremental(&p);
    p.file("lake/raw/t/e.csv", "id,v\n40,\n41,\n");
    let v = incremental(&p);
    assert_eq!(dataset(&v, "t")["incremental"]["files_scanned"], 1);
    let want = full(&p);
    same(&answers(&v), &want, "the sample after a new file");
    let sample = &want[0]["checks"][0]["sample"];
    let ids: Vec<&Value> = sample.as_array().unwrap().iter().map(|r| &r["id"]).collect();
    assert_eq!(ids, [&Value::from(1), &Value::from(3), &Value::from(10)], "{sample}");
}
