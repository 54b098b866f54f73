//! OpenLineage events as a lineage server receives them: a real HTTP listener on loopback gets a
//! START and then a COMPLETE (or FAIL) per checked dataset, with the data-quality facets where
//! consumers read them; the file transport writes the same events one a line; a receiver that is
//! down never changes the exit code.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::support::{DEFAULT_CONFIG, Project};

/// An HTTP listener that answers 200 and keeps every request body (as JSON), in arrival order.
struct Receiver {
    port: u16,
    bodies: Arc<Mutex<Vec<Value>>>,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    fn start() -> Self {
        Self::on(TcpListener::bind("127.0.0.1:0").unwrap())
    }

    fn on(listener: TcpListener) -> Self {
        let port = listener.local_addr().unwrap().port();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let keep = Arc::clone(&bodies);
        let keep_heads = Arc::clone(&heads);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut c) = conn else { continue };
                c.set_read_timeout(Some(Duration::from_secs(10))).ok();
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                // Read the head, then the body by Content-Length.
                let (head_end, len) = loop {
                    let n = c.read(&mut chunk).unwrap_or(0);
                    if n == 0 {
                        break (None, 0);
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
                            .unwrap_or(0);
                        break (Some(i + 4), len);
                    }
                };
                let Some(start) = head_end else { continue };
                while buf.len() < start + len {
                    let n = c.read(&mut chunk).unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                keep_heads
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf[..start]).into_owned());
                if let Ok(v) = serde_json::from_slice::<Value>(&buf[start..]) {
                    keep.lock().unwrap().push(v);
                }
                let _ = c.write_all(b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            }
        });
        Self { port, bodies, heads }
    }

    fn events(&self) -> Vec<Value> {
        self.bodies.lock().unwrap().clone()
    }
}

fn project(lineage: &str) -> Project {
    let p = Project::new();
    p.file("lakegate.toml", &format!("{DEFAULT_CONFIG}\n[lineage]\n{lineage}\n"));
    p.file("lake/raw/t/a.csv", "id,v\n1,a\n2,\n3,c\n");
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\n\n[[check]]\nkind = \"not_null\"\ncolumn = \"v\"\nmax_fraction = 0.5\n\n\
         [[check]]\nkind = \"range\"\ncolumn = \"id\"\nmin = 0\nmax = 10\nwhere = \"v IS NOT NULL\"\n",
    );
    p
}

#[test]
fn a_passing_run_sends_start_then_complete_with_each_checks_expected_and_actual() {
    let rx = Receiver::start();
    let p = project(&format!(
        "url = \"http://127.0.0.1:{}/api/v1/lineage\"\nnamespace = \"shop\"",
        rx.port
    ));
    let (code, result) = p.check_json(&[]);
    assert_eq!(code, 0, "{result}");
    let events = rx.events();
    assert_eq!(events.len(), 2, "{events:?}");
    let (start, end) = (&events[0], &events[1]);
    assert_eq!(
        (start["eventType"].as_str(), end["eventType"].as_str()),
        (Some("START"), Some("COMPLETE"))
    );
    assert_eq!(start["run"]["runId"], end["run"]["runId"]);
    assert!(uuid::Uuid::parse_str(end["run"]["runId"].as_str().unwrap()).is_ok_and(|u| u.get_version_num() == 7));
    assert_eq!(
        end["job"],
        serde_json::json!({ "namespace": "shop", "name": "raw.t", "facets": {} })
    );
    for e in [start, end] {
        assert!(e["producer"].as_str().unwrap().starts_with("https://"), "{e}");
        assert!(
            e["schemaURL"]
                .as_str()
                .unwrap()
                .contains("OpenLineage.json#/$defs/RunEvent"),
            "{e}"
        );
        let input = &e["inputs"][0];
        assert_eq!(input["namespace"], "file");
        assert!(
            input["name"].as_str().unwrap().ends_with("/lake/raw/t")
                && input["name"].as_str().unwrap().starts_with('/')
        );
    }
    let input = &end["inputs"][0];
    let assertions = input["inputFacets"]["dataQualityAssertions"]["assertions"]
        .as_array()
        .unwrap();
    assert_eq!(assertions.len(), 3);
    let v = assertions.iter().find(|a| a["name"] == "t.v.not_null").unwrap();
    assert_eq!(
        (v["assertion"].as_str(), v["column"].as_str(), v["success"].as_bool()),
        (Some("not_null"), Some("v"), Some(true))
    );
    assert!(
        !v["expected"].is_null() && !v["actual"].is_null() && v["severity"] == "error",
        "{v}"
    );
    let range = assertions.iter().find(|a| a["assertion"] == "range").unwrap();
    assert_eq!(
        (range["content"].as_str(), range["contentType"].as_str()),
        (Some("v IS NOT NULL"), Some("sql"))
    );
    // Also under `facets`, for consumers that read only those.
    assert_eq!(
        input["facets"]["dataQualityAssertions"]["assertions"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let metrics = &input["inputFacets"]["dataQualityMetrics"];
    assert_eq!(
        (metrics["rowCount"].as_u64(), metrics["fileCount"].as_u64()),
        (Some(3), Some(1))
    );
    assert_eq!(
        metrics["columnMetrics"]["v"],
        serde_json::json!({ "nullCount": 1, "count": 2 })
    );
    // Delivery is in the result; lineage asked for no query of its own.
    let outcomes: Vec<&str> = result["lineage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["sent", "sent"]);
    let (_, without) = project("file = \"unused.jsonl\"").check_json(&[]);
    assert_eq!(result["datasets"][0]["queries"], without["datasets"][0]["queries"]);
}

#[test]
fn a_dataset_that_cannot_be_read_ends_in_fail_with_the_error() {
    let rx = Receiver::start();
    let p = project(&format!("url = \"http://127.0.0.1:{}/\"", rx.port));
    p.file("lake/raw/t/a.csv", "id,v\n1,\"a\n2,b\n");
    let (code, _) = p.check_json(&[]);
    assert_eq!(code, 3);
    let events = rx.events();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[1]["eventType"], "FAIL");
    assert!(
        events[1]["run"]["facets"]["errorMessage"]["message"]
            .as_str()
            .unwrap()
            .contains("a.csv"),
        "{}",
        events[1]
    );
}

#[test]
fn the_file_transport_writes_one_event_a_line_and_a_fixed_run_id_gives_fixed_ids() {
    let p = project("file = \"lineage/events.jsonl\"");
    assert_eq!(p.run(&["check", "--run-id", "golden"]).code, 0);
    assert_eq!(p.run(&["check", "--run-id", "golden"]).code, 0);
    let text = std::fs::read_to_string(p.path().join("lineage/events.jsonl")).unwrap();
    let events: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["eventType"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["START", "COMPLETE", "START", "COMPLETE"]);
    let ids: Vec<&Value> = events.iter().map(|e| &e["run"]["runId"]).collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
}

#[test]
fn with_the_receiver_down_events_wait_and_arrive_once_in_order_when_it_is_back() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let p = project(&format!("url = \"http://127.0.0.1:{port}/\""));
    let (code, result) = p.check_json(&["--run-id", "first"]);
    assert_eq!(code, 0, "the exit code is the checks' own: {result}");
    let outcomes = result["lineage"].as_array().unwrap();
    assert_eq!(outcomes.len(), 2);
    assert!(
        outcomes
            .iter()
            .all(|o| o["status"] == "queued" && o["error"].as_str().unwrap().contains("127.0.0.1")),
        "{outcomes:?}"
    );
    // The receiver comes back on the same port: the next run sends the waiting events first.
    let rx = Receiver::on(TcpListener::bind(("127.0.0.1", port)).unwrap());
    let (code, result) = p.check_json(&["--run-id", "second"]);
    assert_eq!(code, 0);
    assert!(
        result["lineage"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["status"] == "sent"),
        "{result}"
    );
    let events = rx.events();
    let seen: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["eventType"].as_str().unwrap().to_string(),
                e["run"]["runId"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(
        seen.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        ["START", "COMPLETE", "START", "COMPLETE"]
    );
    assert!(
        seen[0].1 == seen[1].1 && seen[2].1 == seen[3].1 && seen[0].1 != seen[2].1,
        "{seen:?}"
    );
    // Nothing waits, and a third run sends only its own two.
    p.check_json(&["--run-id", "third"]);
    assert_eq!(rx.events().len(), 6);
}

#[test]
fn a_promotion_ties_the_published_files_to_the_checks_and_a_refused_one_fails() {
    let rx = Receiver::start();
    let p = project(&format!("url = \"http://127.0.0.1:{}/\"", rx.port));
    let r = p.run(&["promote", "t"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let events = rx.events();
    let promo: Vec<&Value> = events.iter().filter(|e| e["job"]["name"] == "promote.t").collect();
    assert_eq!(promo.len(), 2, "{events:?}");
    let (start, end) = (promo[0], promo[1]);
    assert_eq!(
        (start["eventType"].as_str(), end["eventType"].as_str()),
        (Some("START"), Some("COMPLETE"))
    );
    assert_eq!(start["run"]["runId"], end["run"]["runId"]);
    let input = &end["inputs"][0];
    assert!(input["name"].as_str().unwrap().ends_with("/lake/raw/t"), "{input}");
    let version = input["facets"]["version"]["datasetVersion"].as_str().unwrap();
    assert_eq!(version.len(), 64, "a SHA-256 of the batch");
    assert_eq!(
        input["inputFacets"]["dataQualityAssertions"]["assertions"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert!(
        end["outputs"][0]["name"].as_str().unwrap().ends_with("/lake/cleaned/t"),
        "{end}"
    );

    // A batch the gate refuses: FAIL, and no output.
    p.file("lake/raw/t/b.csv", "id,v\n99,x\n");
    let r = p.run(&["promote", "t"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let events = rx.events();
    let last = events.iter().rev().find(|e| e["job"]["name"] == "promote.t").unwrap();
    assert_eq!(last["eventType"], "FAIL");
    assert_eq!(last["outputs"], serde_json::json!([]));
    assert_ne!(
        last["inputs"][0]["facets"]["version"]["datasetVersion"]
            .as_str()
            .unwrap(),
        version
    );
}

#[test]
fn the_demo_lakes_events_match_the_golden_file() {
    let p = Project::demo();
    let config = std::fs::read_to_string(p.path().join("lakegate.toml")).unwrap();
    p.file(
        "lakegate.toml",
        &format!("{config}\n[lineage]\nfile = \"events.jsonl\"\n"),
    );
    let r = p.run(&["check", "--run-id", "golden", "--no-history", "--no-alerts"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    // Volatile: the times of the run and the temporary directory.
    let root = p.path().to_string_lossy().to_string();
    let mut out = String::new();
    for line in std::fs::read_to_string(p.path().join("events.jsonl")).unwrap().lines() {
        let mut e: Value = serde_json::from_str(line).unwrap();
        e["eventTime"] = Value::String("TIME".into());
        let text = serde_json::to_string_pretty(&e).unwrap().replace(&root, "/PROJECT");
        out.push_str(&text);
        out.push('\n');
    }
    let golden = crate::support::repo().join("tests/lineage/demo.json");
    if std::env::var_os("LAKEGATE_BLESS").is_some() {
        std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
        std::fs::write(&golden, &out).unwrap();
    }
    let want = std::fs::read_to_string(&golden).unwrap_or_default();
    assert!(
        want == out,
        "the demo lake's lineage events changed; look at the diff, then LAKEGATE_BLESS=1:\n{out}"
    );
}

#[test]
fn an_api_key_from_the_environment_is_sent_as_a_bearer_token_and_shown_nowhere() {
    let rx = Receiver::start();
    let p = project(&format!(
        "url = \"http://127.0.0.1:{}/\"\napi_key_env = \"OL_KEY\"",
        rx.port
    ));
    let r = p.run_env(&["check", "--format", "json", "-vv"], &[("OL_KEY", "tok-3141")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let heads = rx.heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 2);
    assert!(
        heads.iter().all(|h| h.contains("Authorization: Bearer tok-3141\r\n")),
        "{heads:?}"
    );
    assert!(!r.stdout.contains("tok-3141") && !r.stderr.contains("tok-3141"));
    // A value with a line break would add headers: nothing is sent, the events wait.
    let r = p.run_env(&["check", "--format", "json"], &[("OL_KEY", "x\r\nX-Evil: 1")]);
    assert_eq!(r.code, 0);
    assert!(
        r.json()["lineage"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["status"] == "queued"),
        "{}",
        r.stdout
    );
    assert_eq!(rx.heads.lock().unwrap().len(), 2);
}

#[test]
fn a_run_stopped_by_configuration_problems_after_its_start_ends_in_fail() {
    let p = project("file = \"events.jsonl\"");
    // Found only when the check is planned against the data (after the START went out).
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\nwhere = \"v ~ '('\"\n",
    );
    let r = p.run(&["check"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let text = std::fs::read_to_string(p.path().join("events.jsonl")).unwrap();
    let events: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["eventType"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["START", "FAIL"], "{text}");
    assert_eq!(events[0]["run"]["runId"], events[1]["run"]["runId"]);
    assert!(
        events[1]["run"]["facets"]["errorMessage"]["message"]
            .as_str()
            .unwrap()
            .contains("checks/t.toml"),
        "{text}"
    );
}

#[test]
fn concurrent_runs_append_whole_lines_to_the_event_file() {
    let p = project("file = \"events.jsonl\"");
    let children: Vec<std::process::Child> = (0..4)
        .map(|i| {
            std::process::Command::new(env!("CARGO_BIN_EXE_lakegate"))
                .args([
                    "check",
                    "--no-history",
                    "--run-id",
                    &format!("r{i}"),
                    "--now",
                    crate::support::NOW,
                ])
                .current_dir(p.path())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert_eq!(c.wait().unwrap().code(), Some(0));
    }
    let text = std::fs::read_to_string(p.path().join("events.jsonl")).unwrap();
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("a torn line ({e}): {l}")))
        .collect();
    assert_eq!(events.len(), 8);
    for e in events.iter().filter(|e| e["eventType"] == "START") {
        let ends = events
            .iter()
            .filter(|x| x["eventType"] == "COMPLETE" && x["run"]["runId"] == e["run"]["runId"])
            .count();
        assert_eq!(ends, 1, "{text}");
    }
}

/// Runs `tests/lineage/validate.py` (the official OpenLineage Python client's generated model, at the
/// version `tests/lineage/requirements.txt` pins) over event files; its exit code and stderr.
fn validate(files: &[&std::path::Path]) -> (i32, String) {
    let py = crate::support::python();
    let out = std::process::Command::new(&py)
        .arg(crate::support::repo().join("tests/lineage/validate.py"))
        .args(files)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "the lineage schema test needs the test virtualenv's Python at {} ({e}): create it with \
                 `python3 -m venv ~/.cache/lakegate-venv && ~/.cache/lakegate-venv/bin/pip install -r \
                 tests/lineage/requirements.txt` (.ci/test does this), or set LAKEGATE_TEST_PYTHON",
                py.display()
            )
        });
    let code = out.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_ne!(code, 3, "{stderr}");
    (code, stderr)
}

/// The events of every kind of run, one a line: a passing run, a failing one, a dataset that cannot
/// be read, a run stopped by configuration problems, an accepted and a refused promotion.
fn every_kind_of_event() -> Vec<Value> {
    let mut events = Vec::new();
    let mut collect = |p: &Project, args: &[&str], want: i32| {
        let r = p.run(args);
        assert_eq!(r.code, want, "{args:?}: {}{}", r.stdout, r.stderr);
        let text = std::fs::read_to_string(p.path().join("events.jsonl")).unwrap();
        std::fs::remove_file(p.path().join("events.jsonl")).unwrap();
        events.extend(text.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()));
    };
    let p = project("file = \"events.jsonl\"");
    collect(&p, &["check"], 0);
    collect(&p, &["promote", "t"], 0);
    p.file("lake/raw/t/b.csv", "id,v\n99,x\n,y\n");
    collect(&p, &["promote", "t"], 1);
    collect(&p, &["check"], 1);
    p.file("lake/raw/t/b.csv", "id,v\n1,\"a\n2,b\n");
    collect(&p, &["check"], 3);
    std::fs::remove_file(p.path().join("lake/raw/t/b.csv")).unwrap();
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\nwhere = \"v ~ '('\"\n",
    );
    collect(&p, &["check"], 2);
    events
}

#[test]
fn every_event_is_valid_against_the_openlineage_model_and_broken_ones_are_refused() {
    let events = every_kind_of_event();
    let kinds: std::collections::BTreeSet<(&str, bool, bool, bool)> = events
        .iter()
        .map(|e| {
            (
                e["eventType"].as_str().unwrap(),
                e["run"]["facets"].get("errorMessage").is_some(),
                e["inputs"][0]["facets"].get("version").is_some(),
                e["inputs"][0].get("inputFacets").is_some(),
            )
        })
        .collect();
    // Every facet lakegate sends is among them: the error message, the batch version, the quality facets.
    assert!(kinds.contains(&("FAIL", true, false, false)), "{kinds:?}");
    assert!(kinds.contains(&("FAIL", false, true, true)), "{kinds:?}");
    assert!(kinds.contains(&("COMPLETE", false, true, true)), "{kinds:?}");
    assert!(kinds.contains(&("COMPLETE", false, false, true)), "{kinds:?}");
    let dir = tempfile::tempdir().unwrap();
    let all = dir.path().join("events.jsonl");
    let lines: Vec<String> = events.iter().map(Value::to_string).collect();
    std::fs::write(&all, lines.join("\n")).unwrap();
    let (code, stderr) = validate(&[&all]);
    assert_eq!(code, 0, "{stderr}");

    // The validator refuses what the schema refuses: each broken copy of a COMPLETE is reported.
    let good = events
        .iter()
        .find(|e| e["eventType"] == "COMPLETE" && e["inputs"][0].get("inputFacets").is_some())
        .unwrap();
    let assertion = "/inputs/0/inputFacets/dataQualityAssertions/assertions/0";
    let broken: Vec<(&str, Box<dyn Fn(&mut Value)>)> = vec![
        ("$.run.runId", Box::new(|e| e["run"]["runId"] = "golden".into())),
        (
            "`eventTime` is missing",
            Box::new(|e| {
                e.as_object_mut().unwrap().remove("eventTime");
            }),
        ),
        (
            "`success` is missing",
            Box::new(move |e| {
                e.pointer_mut(assertion)
                    .unwrap()
                    .as_object_mut()
                    .unwrap()
                    .remove("success");
            }),
        ),
        (
            ".actual: is not a string",
            Box::new(move |e| {
                e.pointer_mut(assertion).unwrap()["actual"] = 0.into();
            }),
        ),
        (
            "dataQualityAssertions._schemaURL",
            Box::new(|e| {
                e["inputs"][0]["inputFacets"]["dataQualityAssertions"]["_schemaURL"] =
                "https://openlineage.io/spec/facets/1-0-1/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet".into();
            }),
        ),
        (
            "$.run.tags: is not a field of Run",
            Box::new(|e| e["run"]["tags"] = serde_json::json!([])),
        ),
    ];
    let bad = dir.path().join("broken.jsonl");
    let lines: Vec<String> = broken
        .iter()
        .map(|(_, f)| {
            let mut e = good.clone();
            f(&mut e);
            e.to_string()
        })
        .collect();
    std::fs::write(&bad, lines.join("\n")).unwrap();
    let (code, stderr) = validate(&[&bad]);
    assert_eq!(code, 1, "{stderr}");
    for (i, (why, _)) in broken.iter().enumerate() {
        assert!(
            stderr
                .lines()
                .any(|l| l.contains(&format!("event {i} ")) && l.contains(why)),
            "broken event {i} should be refused for {why}:\n{stderr}"
        );
    }
    assert!(
        stderr.contains(&format!("{n} of {n} events are invalid", n = broken.len())),
        "{stderr}"
    );
}

#[test]
fn the_golden_demo_events_are_valid_against_the_openlineage_model() {
    let text = std::fs::read_to_string(crate::support::repo().join("tests/lineage/demo.json")).unwrap();
    // The golden file hides the event times; any real time stands in.
    let text = text.replace("\"eventTime\": \"TIME\"", "\"eventTime\": \"2026-01-15T12:00:00.000Z\"");
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo.json");
    std::fs::write(&demo, text).unwrap();
    let (code, stderr) = validate(&[&demo]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_receiver_that_never_answers_is_given_up_after_the_timeout_and_the_events_wait() {
    // Accepts every connection and holds it open without a word.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming() {
            held.push(c);
        }
    });
    let p = project(&format!("url = \"http://127.0.0.1:{port}/\"\ntimeout = \"1s\""));
    let started = std::time::Instant::now();
    let (code, result) = p.check_json(&[]);
    let took = started.elapsed();
    assert_eq!(code, 0, "{result}");
    // Two passes over the outbox (after the START, after the COMPLETE), each of three one-second
    // tries and the pauses between them: about 8 s, where the default 20 s a try takes two minutes.
    assert!(took < Duration::from_secs(25), "took {took:?}");
    assert!(
        result["lineage"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["status"] == "queued"),
        "{result}"
    );
    let waiting = std::fs::read_dir(p.path().join(".lakegate/outbox/lineage"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "json"))
        .count();
    assert_eq!(waiting, 2);
}

#[test]
fn a_timeout_that_is_not_a_duration_is_reported_at_its_value() {
    let p = project("file = \"events.jsonl\"\ntimeout = \"ten seconds\"");
    let r = p.run(&["validate"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let line = DEFAULT_CONFIG.lines().count() + 4;
    assert!(
        r.stderr.contains(&format!("lakegate.toml:{line}:11"))
            && r.stderr.contains("`timeout` is not a duration")
            && r.stderr.contains("help:"),
        "{}",
        r.stderr
    );
    let p = project("file = \"events.jsonl\"\ntimeout = \"0s\"");
    let r = p.run(&["validate"]);
    assert!(r.code == 2 && r.stderr.contains("`timeout` is zero"), "{}", r.stderr);
}
