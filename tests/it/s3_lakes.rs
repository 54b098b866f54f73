//! Whole lakes on an S3-compatible store (moto on 127.0.0.1, see `s3.rs`): the demo lake with
//! every demo suite, and the benchmark's data with its 10-check suite, give the same result JSON
//! on the store as on disk — every check's status, failing rows, observed and expected values,
//! message and sample, and how each was answered. Only what differs by nature is removed: run ids,
//! times, durations, and the lake's root in paths.

use crate::s3::{LOCAL_ROOT, Moto, borrowed, same_json};
use crate::support::{Project, repo};

/// A project whose lake root is `root`, with the repository's demo suites.
fn demo_project(root: &str) -> Project {
    let p = Project::new();
    let config = std::fs::read_to_string(repo().join("lakegate.toml")).unwrap();
    assert!(config.contains("root = \"fixtures/lake\""), "{config}");
    p.file(
        "lakegate.toml",
        &config.replace("root = \"fixtures/lake\"", &format!("root = \"{root}\"")),
    );
    for entry in std::fs::read_dir(repo().join("checks")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        p.file(&format!("checks/{name}"), &std::fs::read_to_string(&path).unwrap());
    }
    p
}

#[test]
fn every_demo_suite_answers_on_s3_as_on_disk() {
    let moto = Moto::start();
    let local = demo_project(LOCAL_ROOT);
    let lake = local.path().join(LOCAL_ROOT);
    crate::fixtures::write_lake(&lake);
    moto.upload("demo", &lake, "fixtures/lake");
    let env = moto.env();
    let env = borrowed(&env);
    let remote = demo_project("s3://demo/fixtures/lake");

    let all = same_json(
        &local,
        (&remote, "s3://demo/fixtures/lake"),
        &env,
        &["check", "--no-history", "--format", "json"],
    );
    // Every demo dataset was read (Parquet, CSV with null markers, NDJSON with hive partitions),
    // and the demo's defects were found.
    let datasets: Vec<(&str, &str)> = all["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["name"].as_str().unwrap(), d["format"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        datasets,
        [("customers", "csv"), ("events", "json"), ("orders", "parquet")],
        "{all}"
    );
    assert_eq!(all["datasets"][0]["location"], "<lake>/raw/customers");
    let failed = all.to_string().matches("\"status\":\"fail\"").count();
    assert!(failed >= 5, "the demo's defects: {all}");

    // One suite at a time, and the other ways of reading: the same answers.
    for name in ["customers", "events", "orders"] {
        same_json(
            &local,
            (&remote, "s3://demo/fixtures/lake"),
            &env,
            &["check", name, "--no-history", "--format", "json"],
        );
    }
    let v = remote.run_env(&["validate"], &env);
    assert_eq!(v.code, 0, "{}", v.stderr);
    for name in ["customers", "events", "orders"] {
        let a = local.run(&["explain", name]);
        let b = remote.run_env(&["explain", name], &env);
        assert_eq!((a.code, b.code), (0, 0), "{}\n{}", a.stderr, b.stderr);
        assert_eq!(
            a.stdout.replace(&format!("{LOCAL_ROOT}/"), "<lake>/"),
            b.stdout.replace("s3://demo/fixtures/lake/", "<lake>/"),
            "explain {name}"
        );
        let a = local.run(&["suggest", name]);
        let b = remote.run_env(&["suggest", name], &env);
        assert_eq!((a.code, b.code), (0, 0), "{}\n{}", a.stderr, b.stderr);
        assert_eq!(
            a.stdout.replace(&format!("{LOCAL_ROOT}/"), "<lake>/"),
            b.stdout.replace("s3://demo/fixtures/lake/", "<lake>/"),
            "suggest {name}"
        );
    }
}
