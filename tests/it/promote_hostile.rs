//! Promotion under attack: changed sources in split mode, datasets sharing a directory, overlapping
//! zones, links planted in lakegate's own directories and in datasets, dry runs that must write
//! nothing, failing writes and removals, readers during a publish, and a randomized race of
//! concurrent promotions, producers and kills whose row accounting must balance exactly.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::promote::{data_files, finish, manifests, sales, spawn, wait_for};
use crate::support::{NOW, Project};

/// Every file under a directory with its bytes (links listed as `-> target`), to prove nothing changed.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.depth() > 0)
        .map(|e| {
            let rel = e.path().strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            let content = if e.path_is_symlink() {
                format!("-> {}", std::fs::read_link(e.path()).unwrap().display()).into_bytes()
            } else if e.file_type().is_file() {
                std::fs::read(e.path()).unwrap()
            } else {
                b"<dir>".to_vec()
            };
            (rel, content)
        })
        .collect()
}

fn outside_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for sub in ["keep1", "keep2/deeper"] {
        std::fs::create_dir_all(d.path().join(sub)).unwrap();
        std::fs::write(d.path().join(sub).join("precious.txt"), "do not delete").unwrap();
    }
    d
}

#[test]
fn split_mode_refuses_a_source_that_changes_during_the_run_and_publishes_nothing() {
    let p = sales(false, "");
    let marker = p.path().join("paused");
    let child = spawn(
        &p,
        &["promote", "sales", "--mode", "split", "--move"],
        &[("LAKEGATE_PAUSE", &format!("after-snapshot:{}", marker.display()))],
    );
    wait_for(&marker);
    let b = p.path().join("lake/raw/sales/dt=2026-01-15/b.csv");
    let mut text = std::fs::read_to_string(&b).unwrap();
    text.push_str("6,60\n7,-7\n");
    std::fs::write(&b, &text).unwrap();
    std::fs::remove_file(&marker).unwrap();
    let (code, out, err) = finish(child);
    assert_eq!(code, Some(3), "{out}{err}");
    assert!(err.contains("changed after it was checked"), "{err}");
    assert!(data_files(&p.path().join("lake/cleaned")).is_empty());
    assert!(data_files(&p.path().join("lake/quarantine")).is_empty());
    assert_eq!(std::fs::read_to_string(&b).unwrap(), text, "the source is untouched");
    // Once the producer is done, the batch (with its new rows) is promoted exactly once.
    let r = p.run(&["promote", "sales", "--mode", "split", "--move", "--format", "json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(
        r.json()["rows"],
        serde_json::json!({ "total": 7, "passed": 5, "quarantined": 2 })
    );
    assert!(data_files(&p.path().join("lake/raw/sales")).is_empty());
}

#[test]
fn a_source_changed_after_publishing_is_kept_reported_and_never_promoted_twice() {
    let p = sales(true, "");
    let marker = p.path().join("paused");
    let child = spawn(
        &p,
        &["promote", "sales", "--mode", "split", "--move", "--format", "json"],
        &[("LAKEGATE_PAUSE", &format!("after-manifest:{}", marker.display()))],
    );
    wait_for(&marker);
    let b = p.path().join("lake/raw/sales/dt=2026-01-15/b.csv");
    std::fs::write(&b, "id,amount\n3,30\n4,40\n5,50\n6,60\n").unwrap();
    std::fs::remove_file(&marker).unwrap();
    let (code, out, err) = finish(child);
    assert_eq!(code, Some(0), "{out}{err}");
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    let msg = j["message"].as_str().unwrap();
    assert!(msg.contains("1 of 2 source files were removed"), "{msg}");
    assert!(!msg.contains("The source files were removed"), "{msg}");
    assert!(j["kept_sources"][0].as_str().unwrap().contains("b.csv"), "{j}");
    assert!(b.exists());
    // The next promotion refuses the changed file instead of publishing its rows again.
    let r = p.run(&["promote", "sales", "--mode", "split", "--move"]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("promoted before and has changed since"),
        "{}",
        r.stderr
    );
    let c = p.run(&["check", "sales_clean", "--format", "json"]);
    assert_eq!(c.json()["datasets"][0]["rows"], 5, "{}", c.stdout);
}

/// Two datasets whose files share directories: `t/*/f[02].csv` and `t/*/f[13].csv`.
fn shared_dir_project() -> Project {
    let p = Project::new();
    for part in ["p1", "p2"] {
        for i in 0..4 {
            p.file(
                &format!("lake/raw/t/{part}/f{i}.csv"),
                &format!("id,amount\n{part}{i}1,1\n{part}{i}2,2\n"),
            );
        }
    }
    for (name, glob) in [("even", "t/*/f[02].csv"), ("odd", "t/*/f[13].csv")] {
        p.file(
            &format!("checks/{name}.toml"),
            &format!("[dataset]\nname = \"{name}\"\nzone = \"raw\"\npath = \"{glob}\"\nformat = \"csv\"\ncsv = {{ header = true }}\n\n[[check]]\nkind = \"row_count\"\nmin = 1\n"),
        );
    }
    p
}

#[test]
fn datasets_sharing_a_directory_wait_for_each_other_and_lose_nothing() {
    let p = shared_dir_project();
    let marker = p.path().join("paused");
    let first = spawn(
        &p,
        &["promote", "even", "--move"],
        &[("LAKEGATE_PAUSE", &format!("after-staging:{}", marker.display()))],
    );
    wait_for(&marker);
    // The other dataset shares the target directory's staging: it must wait, not recover it away.
    let second = p.run(&["promote", "odd", "--move", "--lock-timeout", "1"]);
    assert_eq!(second.code, 3, "{}{}", second.stdout, second.stderr);
    assert!(second.stderr.contains("promoting dataset `even`"), "{}", second.stderr);
    std::fs::remove_file(&marker).unwrap();
    let (code, out, err) = finish(first);
    assert_eq!(code, Some(0), "{out}{err}");
    let r = p.run(&["promote", "odd", "--move"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(data_files(&p.path().join("lake/cleaned/t")).len(), 8);
    assert!(data_files(&p.path().join("lake/raw/t")).is_empty());
    assert_eq!(manifests(&p.path().join("lake/cleaned/t")), 2);
}

#[test]
fn roll_forward_never_writes_a_manifest_or_removes_a_source_for_files_it_cannot_find() {
    let p = sales(true, "");
    let child = spawn(
        &p,
        &["promote", "sales", "--move"],
        &[("LAKEGATE_FAULT", "after-intent")],
    );
    let (code, _, _) = finish(child);
    assert_eq!(code, None);
    // Something (another process, a person) removed the staged copies after the commit point.
    let staging = p.path().join("lake/cleaned/sales/_lakegate/staging");
    let run = std::fs::read_dir(&staging).unwrap().next().unwrap().unwrap().path();
    std::fs::remove_dir_all(run.join("dt=2026-01-15")).unwrap();
    let r = p.run(&["promote", "sales", "--recover"]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("cannot finish promotion"), "{}", r.stderr);
    assert_eq!(manifests(&p.path().join("lake/cleaned/sales")), 0);
    assert_eq!(
        data_files(&p.path().join("lake/raw/sales")).len(),
        2,
        "no source removed"
    );
}

#[test]
fn overlapping_zones_are_configuration_errors_and_quarantine_is_no_target() {
    for zones in [
        "raw = \"data\"\ncleaned = \"data\"\n",
        "raw = \"raw\"\ncleaned = \"raw/t/clean\"\n",
        "raw = \"../../outside\"\ncleaned = \"cleaned\"\n",
    ] {
        let p = sales(true, "");
        p.file(
            "lakegate.toml",
            &format!("suites = [\"checks/*.toml\"]\n\n[lake]\nroot = \"lake\"\n\n[zones]\n{zones}quarantine = \"quarantine\"\n"),
        );
        for args in [&["validate"][..], &["promote", "sales", "--move"]] {
            let r = p.run(args);
            assert_eq!(r.code, 2, "{zones} {args:?}: {}{}", r.stdout, r.stderr);
            assert!(r.stderr.contains("lakegate.toml:"), "{}", r.stderr);
        }
        assert_eq!(data_files(&p.path().join("lake/raw/sales")).len(), 2);
    }
    let p = sales(true, "");
    let r = p.run(&["promote", "sales", "--to", "quarantine"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("not a promotion target"), "{}", r.stderr);
}

#[test]
fn a_link_planted_as_staging_is_never_followed() {
    for zone in ["cleaned", "quarantine"] {
        let p = sales(true, "on_fail = \"quarantine\"");
        let outside = outside_dir();
        let before = tree(outside.path());
        let meta = p.path().join(format!("lake/{zone}/sales/_lakegate"));
        std::fs::create_dir_all(&meta).unwrap();
        std::os::unix::fs::symlink(outside.path(), meta.join("staging")).unwrap();
        for args in [
            &["promote", "sales", "--dry-run"][..],
            &["promote", "sales", "--recover"],
            &["promote", "sales", "--move"],
        ] {
            let r = p.run(args);
            assert_eq!(r.code, 3, "{zone} {args:?}: {}{}", r.stdout, r.stderr);
            assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
            assert_eq!(
                tree(outside.path()),
                before,
                "{zone} {args:?} changed what lies outside the lake"
            );
        }
        assert_eq!(data_files(&p.path().join("lake/raw/sales")).len(), 2);
    }
}

#[test]
fn a_link_planted_as_a_lock_file_is_never_followed() {
    let p = sales(true, "");
    assert_eq!(p.run(&["promote", "sales"]).code, 0);
    let victim = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(victim.path(), "precious").unwrap();
    let locks = p.path().join("lake/_lakegate/locks");
    let names: Vec<_> = std::fs::read_dir(&locks).unwrap().flatten().map(|e| e.path()).collect();
    assert!(!names.is_empty());
    for l in &names {
        std::fs::remove_file(l).unwrap();
        std::os::unix::fs::symlink(victim.path(), l).unwrap();
    }
    p.file("lake/raw/sales/dt=2026-01-16/c.csv", "id,amount\n6,60\n");
    for args in [&["promote", "sales", "--dry-run"][..], &["promote", "sales"]] {
        let r = p.run(args);
        assert_eq!(r.code, 3, "{args:?}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
        assert_eq!(std::fs::read_to_string(victim.path()).unwrap(), "precious");
    }
}

#[test]
fn dry_run_writes_nothing_even_with_a_promotion_to_recover() {
    let p = sales(true, "");
    let child = spawn(
        &p,
        &["promote", "sales", "--move"],
        &[("LAKEGATE_FAULT", "after-intent")],
    );
    assert_eq!(finish(child).0, None);
    p.file("lake/raw/sales/dt=2026-01-16/c.csv", "id,amount\n6,60\n");
    let before = tree(p.path());
    let r = p.run(&["promote", "sales", "--dry-run", "--format", "json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let j = r.json();
    assert_eq!(j["status"], "would_promote");
    assert!(
        j["recovered"][0]
            .as_str()
            .unwrap()
            .starts_with("would finish the interrupted promotion"),
        "{j}"
    );
    assert_eq!(j["published"], serde_json::json!(["dt=2026-01-16/c.csv"]), "{j}");
    assert_eq!(tree(p.path()), before, "a dry run changed the project");
    // The real promotion finishes the interrupted one and publishes the new file.
    let r = p.run(&["promote", "sales", "--move"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(data_files(&p.path().join("lake/cleaned/sales")).len(), 3);
}

#[test]
fn links_in_datasets_are_followed_only_inside_the_lake() {
    let p = sales(true, "");
    let outside = outside_dir();
    std::fs::write(outside.path().join("evil.csv"), "id,amount\n99,-1\n").unwrap();
    let before = tree(outside.path());
    // Inside the lake: followed and counted. Outside: skipped with a warning, never read.
    p.file("lake/raw/shared/extra.csv", "id,amount\n7,70\n");
    let raw = p.path().join("lake/raw/sales");
    std::fs::create_dir_all(raw.join("dt=2026-01-16")).unwrap();
    std::os::unix::fs::symlink(
        p.path().join("lake/raw/shared/extra.csv"),
        raw.join("dt=2026-01-16/in.csv"),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path().join("evil.csv"), raw.join("dt=2026-01-16/out.csv")).unwrap();
    let r = p.run(&["check", "sales", "--format", "json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.json()["datasets"][0]["rows"], 6, "{}", r.stdout);
    assert!(r.stderr.contains("outside the lake root"), "{}", r.stderr);
    // A dataset root that is a link out of the lake is refused.
    p.file(
        "checks/linked.toml",
        "[dataset]\nname = \"linked\"\nzone = \"raw\"\npath = \"linked\"\n\n[[check]]\nkind = \"row_count\"\nmin = 1\n",
    );
    std::os::unix::fs::symlink(outside.path(), p.path().join("lake/raw/linked")).unwrap();
    for args in [&["check", "linked"][..], &["promote", "linked", "--move"]] {
        let r = p.run(args);
        assert_eq!(r.code, 3, "{args:?}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains("outside the lake"), "{}", r.stderr);
    }
    assert_eq!(tree(outside.path()), before);
}

#[test]
fn a_failing_write_names_the_zone_being_written() {
    let p = sales(true, "");
    let r = p.run_env(&["promote", "sales"], &[("LAKEGATE_FAIL", "copy-write")]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    let first = r.stderr.lines().find(|l| l.starts_with("error")).unwrap_or_default();
    assert!(first.contains("lake/cleaned/sales/_lakegate/staging"), "{}", r.stderr);
    assert!(!first.contains("lake/raw"), "{}", r.stderr);
    assert!(data_files(&p.path().join("lake/cleaned")).is_empty());
}

#[test]
fn sources_that_cannot_be_removed_do_not_fail_a_published_batch_and_are_removed_later() {
    let p = sales(true, "");
    let r = p.run_env(
        &["promote", "sales", "--move", "--format", "json"],
        &[("LAKEGATE_FAIL", "remove-source")],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let j = r.json();
    assert_eq!(j["status"], "promoted");
    assert!(
        j["message"]
            .as_str()
            .unwrap()
            .contains("0 of 2 source files were removed"),
        "{j}"
    );
    assert_eq!(data_files(&p.path().join("lake/raw/sales")).len(), 2);
    let r = p.run(&["promote", "sales", "--recover", "--format", "json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.json()["recovered"][0]
            .as_str()
            .unwrap()
            .contains("removed 2 source files"),
        "{}",
        r.stdout
    );
    assert!(data_files(&p.path().join("lake/raw/sales")).is_empty());
    assert_eq!(data_files(&p.path().join("lake/cleaned/sales")).len(), 2);
}

#[test]
fn a_reader_never_sees_half_a_published_batch_and_no_staging_is_left() {
    let p = sales(true, "");
    let marker = p.path().join("paused");
    let child = spawn(
        &p,
        &["promote", "sales"],
        &[("LAKEGATE_PAUSE", &format!("after-first-rename:{}", marker.display()))],
    );
    wait_for(&marker);
    let during = p.run(&["check", "sales_clean", "--format", "json"]);
    std::fs::remove_file(&marker).unwrap();
    let (code, out, err) = finish(child);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(during.json()["datasets"][0]["rows"], 0, "{}", during.stdout);
    assert!(during.stderr.contains("still being published"), "{}", during.stderr);
    let after = p.run(&["check", "sales_clean", "--format", "json"]);
    assert_eq!(after.json()["datasets"][0]["rows"], 5);
    assert!(!p.path().join("lake/cleaned/sales/_lakegate/staging").exists());
}

/// Ids of the rows in the CSV files under a directory (bookkeeping excluded).
fn row_ids(dir: &Path) -> Vec<String> {
    let mut ids = Vec::new();
    for f in data_files(dir) {
        let text = std::fs::read_to_string(dir.join(&f)).unwrap_or_default();
        ids.extend(
            text.lines()
                .skip(1)
                .filter_map(|l| l.split(',').next())
                .map(String::from),
        );
    }
    ids
}

/// A tiny deterministic generator (no dependency, the same sequence every run).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

#[test]
fn concurrent_promotions_producers_and_kills_keep_every_row_exactly_once() {
    let p = shared_dir_project();
    // `odd` quarantines failing batches, so rows end in all three zones.
    p.file(
        "checks/odd.toml",
        "[dataset]\nname = \"odd\"\nzone = \"raw\"\npath = \"t/*/f[13]*.csv\"\nformat = \"csv\"\non_fail = \"quarantine\"\ncsv = { header = true }\n\n[[check]]\nkind = \"range\"\ncolumn = \"amount\"\nmin = 0\n",
    );
    p.file(
        "checks/even.toml",
        "[dataset]\nname = \"even\"\nzone = \"raw\"\npath = \"t/*/f[02]*.csv\"\nformat = \"csv\"\n\n[[check]]\nkind = \"row_count\"\nmin = 1\n",
    );
    let mut all: Vec<String> = row_ids(&p.path().join("lake/raw/t"));
    let mut rng = Lcg(20_261_130);
    let bin = env!("CARGO_BIN_EXE_lakegate");
    for round in 0..8 {
        // `even` pauses between staging and its commit point (when it has a batch), the window in
        // which another promotion's recovery could take its staging away; `odd` starts meanwhile.
        let marker = p.path().join(format!("paused-{round}"));
        let spawn_one = |ds: &str, pause: Option<&Path>| {
            let mut c = Command::new(bin);
            c.args(["promote", ds, "--move", "--lock-timeout", "60", "--now", NOW])
                .current_dir(p.path())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            if let Some(m) = pause {
                c.env("LAKEGATE_PAUSE", format!("after-staging:{}", m.display()));
            }
            c.spawn().unwrap()
        };
        let mut even = spawn_one("even", Some(&marker));
        std::thread::sleep(Duration::from_millis(rng.next(200)));
        let mut odd = spawn_one("odd", None);
        // Producers: new files appear (whole, by rename) while promotions run.
        for k in 0..3 {
            let part = format!("p{}", rng.next(3));
            let digit = rng.next(4);
            let name = format!("f{digit}r{round}k{k}");
            let bad = digit % 2 == 1 && rng.next(3) == 0;
            let mut text = String::from("id,amount\n");
            for r in 0..3 {
                let id = format!("r{round}k{k}x{r}");
                text.push_str(&format!("{id},{}\n", if bad && r == 1 { -1 } else { 5 }));
                all.push(id);
            }
            let dir = p.path().join(format!("lake/raw/t/{part}"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!(".{name}.tmp")), &text).unwrap();
            std::fs::rename(dir.join(format!(".{name}.tmp")), dir.join(format!("{name}.csv"))).unwrap();
            std::thread::sleep(Duration::from_millis(rng.next(100)));
        }
        let start = std::time::Instant::now();
        while !marker.exists() && even.try_wait().unwrap().is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "round {round}: even never paused"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(rng.next(300)));
        // Random kills, or a release of the pause.
        if rng.next(2) == 0 {
            let _ = even.kill();
        }
        let _ = std::fs::remove_file(&marker);
        if rng.next(3) == 0 {
            std::thread::sleep(Duration::from_millis(rng.next(200)));
            let _ = odd.kill();
        }
        for (ds, c) in [("even", even), ("odd", odd)] {
            let out = c.wait_with_output().unwrap();
            assert!(
                out.status.code().is_none_or(|code| code <= 1),
                "round {round}: promote {ds} exited {:?}",
                out.status
            );
        }
    }
    // Finish everything that is left: recover both, then promote until nothing is left.
    for ds in ["even", "odd"] {
        for args in [&["promote", ds, "--recover"][..], &["promote", ds, "--move"]] {
            let r = p.run(args);
            assert!(r.code <= 1, "{args:?}: {}{}", r.stdout, r.stderr);
        }
    }
    let mut found: Vec<String> = Vec::new();
    for zone in ["raw", "cleaned", "quarantine"] {
        found.extend(row_ids(&p.path().join("lake").join(zone).join("t")));
    }
    let mut want = all.clone();
    want.sort();
    found.sort();
    assert_eq!(found, want, "every row exactly once in raw, cleaned or quarantine");
    assert!(
        row_ids(&p.path().join("lake/raw/t")).is_empty(),
        "the last promotions moved every row"
    );
}

#[test]
fn a_target_linked_into_the_source_zone_is_refused_and_no_source_is_lost() {
    let p = sales(true, "");
    std::fs::create_dir_all(p.path().join("lake/cleaned")).unwrap();
    std::os::unix::fs::symlink(p.path().join("lake/raw/sales"), p.path().join("lake/cleaned/sales")).unwrap();
    let before = tree(&p.path().join("lake/raw"));
    let r = p.run(&["promote", "sales", "--move"]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("outside zone `cleaned`"), "{}", r.stderr);
    assert_eq!(tree(&p.path().join("lake/raw")), before);
}

#[test]
fn a_link_that_makes_two_datasets_share_a_target_makes_them_wait_for_each_other() {
    let p = sales(true, "");
    p.file("lake/raw/orders/o.csv", "id,amount\n1,1\n");
    p.file(
        "checks/orders.toml",
        "[dataset]\nname = \"orders\"\nzone = \"raw\"\npath = \"orders\"\n\n[[check]]\nkind = \"row_count\"\nmin = 1\n",
    );
    std::fs::create_dir_all(p.path().join("lake/cleaned/orders")).unwrap();
    std::os::unix::fs::symlink(
        p.path().join("lake/cleaned/orders"),
        p.path().join("lake/cleaned/sales"),
    )
    .unwrap();
    let marker = p.path().join("paused");
    let first = spawn(
        &p,
        &["promote", "orders", "--move"],
        &[("LAKEGATE_PAUSE", &format!("after-staging:{}", marker.display()))],
    );
    wait_for(&marker);
    let second = p.run(&["promote", "sales", "--lock-timeout", "1"]);
    assert_eq!(second.code, 3, "{}{}", second.stdout, second.stderr);
    assert!(
        second.stderr.contains("promoting dataset `orders`"),
        "{}",
        second.stderr
    );
    std::fs::remove_file(&marker).unwrap();
    let (code, out, err) = finish(first);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(data_files(&p.path().join("lake/cleaned/orders")), ["o.csv"]);
    assert!(data_files(&p.path().join("lake/raw/orders")).is_empty());
}
