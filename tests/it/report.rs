//! The HTML report (`check --report DIR`): a snapshot of the demo lake's site, hostile names and
//! values shown as text, no network URL anywhere, and a real headless Chromium that renders it.
//!
//! The snapshot lives in `tests/report/demo/`; `LAKEGATE_BLESS=1` rewrites it. The run's own start
//! time and durations are replaced by placeholders (they are the only values that change between
//! runs); the run id is fixed with the hidden `--run-id`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;

use crate::support::{Project, repo};

const RUN_ID: &str = "demo-run";

/// Every file under `dir`, relative, sorted, the report's state (`.lakegate/`) included.
fn all_files(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/"))
        .collect();
    out.sort();
    out
}

/// Every page under `dir` (the report's state left out), relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    all_files(dir)
        .into_iter()
        .filter(|f| !f.starts_with(".lakegate/"))
        .collect()
}

/// The demo project, checked once with `--report site`; returns the project and the result.
fn demo_site() -> (Project, serde_json::Value) {
    let p = Project::demo();
    let (code, r) = p.check_json(&["--report", "site", "--run-id", RUN_ID]);
    assert_eq!(code, 1, "{r}");
    (p, r)
}

/// A page with the run's start time and the durations replaced by placeholders.
fn normalized(page: &str, result: &serde_json::Value) -> String {
    let started: chrono::DateTime<chrono::Utc> = result["started_at"].as_str().unwrap().parse().unwrap();
    let started = started.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let page = page.replace(&started, "[STARTED]");
    Regex::new(r"took <b>[0-9,]+ ms</b>")
        .unwrap()
        .replace_all(&page, "took <b>[DURATION]</b>")
        .into_owned()
}

#[test]
fn the_demo_report_matches_its_snapshot() {
    let (p, r) = demo_site();
    let site = p.path().join("site");
    let expected_dir = repo().join("tests/report/demo");
    let bless = std::env::var_os("LAKEGATE_BLESS").is_some();
    let written = files(&site);
    let (checks, others): (Vec<&String>, Vec<&String>) = written.iter().partition(|f| f.starts_with("checks/"));
    assert_eq!(
        others,
        [
            "index.html",
            "runs/demo-run/customers.html",
            "runs/demo-run/events.html",
            "runs/demo-run/orders.html"
        ]
    );
    // A trend page per check of the run.
    assert_eq!(
        checks.len(),
        r["summary"]["checks"].as_u64().unwrap() as usize,
        "{checks:?}"
    );
    let mut problems = Vec::new();
    for rel in &written {
        let actual = normalized(&std::fs::read_to_string(site.join(rel)).unwrap(), &r);
        let path = expected_dir.join(rel);
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &actual).unwrap();
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => problems.push(format!(
                "{rel} differs from tests/report/demo/{rel} (- expected, + actual):\n{}",
                crate::cases::line_diff(&expected, &actual)
            )),
            Err(_) => problems.push(format!("tests/report/demo/{rel} is missing")),
        }
    }
    if !bless {
        assert_eq!(files(&expected_dir), written, "snapshot files without a page");
    }
    assert!(
        problems.is_empty(),
        "{}\n(run `LAKEGATE_BLESS=1 cargo nextest run --test it report` to accept, then read the diff)",
        problems.join("\n")
    );
}

#[test]
fn the_run_page_puts_failures_first_with_their_rows_and_declaring_lines() {
    let (p, _) = demo_site();
    let page = std::fs::read_to_string(p.path().join("site/runs/demo-run/orders.html")).unwrap();
    let first_pass = page.find(r#"<span class="status pass">PASS</span>"#).unwrap();
    let last_fail = page.rfind(r#"<tr class="step-fail""#).unwrap();
    assert!(last_fail < first_pass, "a passing check is listed before a failing one");
    for needle in [
        "checks/orders.toml:15",
        "Every value of a column is present.",
        "Answered from statistics",
        "<h2>Failing rows</h2>",
        // The failing row of `status.accepted_values`, in its sample table.
        "<span class=\"mono\">unknown</span>",
    ] {
        assert!(page.contains(needle), "no {needle:?} in the orders page");
    }
    let index = std::fs::read_to_string(p.path().join("site/index.html")).unwrap();
    assert!(
        index.contains(r#"<a href="runs/demo-run/orders.html">orders</a>"#),
        "{index}"
    );
    // The schema check's columns, expected against observed: the extra column stands out.
    let customers = std::fs::read_to_string(p.path().join("site/runs/demo-run/customers.html")).unwrap();
    assert!(
        customers.contains(
            "<td><code>loyalty_tier</code></td><td><code>—</code></td><td><code>string</code></td><td><b>not expected</b></td>"
        ),
        "{customers}"
    );
}

/// A project whose column name, data value and check description are markup.
fn hostile_site() -> Project {
    let p = Project::new();
    p.file(
        "lake/raw/evil/part.csv",
        "id,<b>x</b>\n1,ok\n2,<script>alert(1)</script>\n3,\"\"\"><img src=x onerror=alert(1)>\"\n",
    );
    p.suite(
        "evil",
        "",
        r#"
[[check]]
kind = "accepted_values"
column = "<b>x</b>"
values = ["ok"]
description = '"><img src=x onerror=alert(1)>'
"#,
    );
    let r = p.run(&["check", "--report", "site"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    p
}

#[test]
fn hostile_names_values_and_descriptions_are_shown_as_text() {
    let p = hostile_site();
    let site = p.path().join("site");
    let pages: Vec<String> = files(&site)
        .iter()
        .map(|f| std::fs::read_to_string(site.join(f)).unwrap())
        .collect();
    assert_eq!(pages.len(), 3, "the index, a run page and a check page");
    let all = pages.concat();
    for escaped in [
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&lt;b&gt;x&lt;/b&gt;",
        "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;",
    ] {
        assert!(all.contains(escaped), "{escaped} is not on the page:\n{all}");
    }
    let lower = all.to_lowercase();
    for raw in ["<script", "<img", "<b>x"] {
        assert!(!lower.contains(raw), "{raw} reached the page raw");
    }
}

#[test]
fn backticks_in_sentences_become_code_and_markup_inside_them_stays_text() {
    let p = Project::new();
    p.file("lake/raw/tick/part.csv", "id,<i>v</i>\n1,ok\n2,bad\n");
    p.suite(
        "tick",
        "",
        r#"
[[check]]
kind = "accepted_values"
column = "<i>v</i>"
values = ["ok"]
description = 'see `<script>alert(1)</script>` and a lone ` backtick'
"#,
    );
    let r = p.run(&["check", "--report", "site", "--run-id", "tick"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let page = std::fs::read_to_string(p.path().join("site/runs/tick/tick.html")).unwrap();
    for needle in [
        // The suite's description: the backticked part is code, its markup escaped; the lone
        // backtick is a backtick.
        "see <code>&lt;script&gt;alert(1)&lt;/script&gt;</code> and a lone ` backtick",
        // The result's sentence names the column in backticks.
        "<code>&lt;i&gt;v&lt;/i&gt;</code>",
    ] {
        assert!(page.contains(needle), "no {needle:?} on the page:\n{page}");
    }
    let lower = page.to_lowercase();
    assert!(
        !lower.contains("<script") && !lower.contains("<i>"),
        "markup reached the page raw"
    );
    assert!(!page.contains("`&lt;"), "a backtick pair was shown raw");
}

#[test]
fn templates_never_mark_anything_safe() {
    // Autoescaping is on for every template; `safe` (or turning escaping off) would let data through.
    for f in files(&repo().join("reports")) {
        let text = std::fs::read_to_string(repo().join("reports").join(&f)).unwrap();
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(!compact.contains("|safe"), "reports/{f} marks a value safe");
        assert!(!compact.contains("autoescape"), "reports/{f} changes autoescaping");
    }
}

/// Every URL the page would load or link: `src`, `href`, `url(…)`, `@import`.
fn urls(page: &str) -> Vec<String> {
    let patterns = [
        r#"(?i)\b(?:src|href)\s*=\s*["']?([^"'\s>]*)"#,
        r#"(?i)url\(\s*["']?([^"')]*)"#,
        r#"(?i)@import\s+(?:url\()?\s*["']?([^"');\s]*)"#,
    ];
    let mut out = Vec::new();
    for p in patterns {
        for c in Regex::new(p).unwrap().captures_iter(page) {
            out.push(c[1].to_string());
        }
    }
    out
}

#[test]
fn the_site_fetches_nothing_from_a_network() {
    assert_eq!(
        urls(r#"<a href="x.html"><img src='//cdn/x.png'> url(https://f) @import "http://a.css";"#),
        ["x.html", "//cdn/x.png", "https://f", "http://a.css"]
    );
    for p in [demo_site().0, hostile_site()] {
        let site = p.path().join("site");
        let mut seen = 0;
        for f in files(&site) {
            let page = std::fs::read_to_string(site.join(&f)).unwrap();
            for u in urls(&page) {
                seen += 1;
                let lower = u.to_lowercase();
                assert!(
                    !(lower.starts_with("http:") || lower.starts_with("https:") || lower.starts_with("//")),
                    "{f} refers to {u}"
                );
            }
        }
        assert!(seen > 0, "the pages have links; the search found none");
    }
}

/// Debian's Chromium (`.ci/test` installs it); the test fails rather than skips without it.
fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser"] {
        for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
            let path = dir.join(name);
            if path.is_file() {
                return path;
            }
        }
    }
    panic!("chromium is not installed: run .ci/test (it installs it) or `apt-get install -y chromium`");
}

/// Runs headless Chromium on `url` with `args` (bounded by `timeout`); returns stdout.
pub fn headless(url: &str, args: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new("timeout")
        .arg("120")
        .arg(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A screenshot of `url` at `width` × `height` into `png`; its size in bytes.
pub fn screenshot(url: &str, png: &Path, width: u32, height: u32) -> u64 {
    headless(
        url,
        &[
            format!("--screenshot={}", png.display()),
            format!("--window-size={width},{height}"),
        ],
    );
    std::fs::metadata(png)
        .unwrap_or_else(|e| panic!("no screenshot {}: {e}", png.display()))
        .len()
}

#[test]
fn a_headless_browser_shows_the_failing_checks_at_desktop_and_phone_width() {
    let (p, _) = demo_site();
    let page = p.path().join("site/runs/demo-run/orders.html");
    let url = url::Url::from_file_path(&page).unwrap().to_string();
    // Kept after the test, for a person to look at.
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-browser");
    std::fs::create_dir_all(&out).unwrap();

    // A blank page's screenshot is the floor a rendered report must be far above.
    let blank = p.path().join("blank.html");
    std::fs::write(&blank, "<!DOCTYPE html><html><body></body></html>").unwrap();
    let blank_url = url::Url::from_file_path(&blank).unwrap().to_string();
    for (width, height) in [(1280, 1600), (390, 1600)] {
        let floor = screenshot(&blank_url, &out.join(format!("blank-{width}.png")), width, height);
        let png = out.join(format!("orders-{width}.png"));
        let size = screenshot(&url, &png, width, height);
        assert!(
            size > 10 * floor.max(1),
            "the report at {width} px looks blank: {size} bytes against {floor} for a blank page ({})",
            png.display()
        );
    }

    let dom = headless(&url, &["--dump-dom".to_string()]);
    for name in [
        "order_id.not_null",
        "order_id.unique",
        "amount.range",
        "status.accepted_values",
        "country.pattern",
        "customer_id.reference",
    ] {
        assert!(dom.contains(name), "the rendered page does not show {name}");
    }
    assert!(dom.contains(">FAIL</span>"), "no FAIL status word");
}

/// `lakegate check --report site --run-id ID` on the project; the run page of dataset `t`.
fn run_page(p: &Project, id: &str) -> String {
    let r = p.run(&["check", "--report", "site", "--run-id", id]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    std::fs::read_to_string(p.path().join(format!("site/runs/{id}/t.html"))).unwrap()
}

/// The badge text in the step row of check `id` (the row runs from its id to the next row).
fn badge(page: &str, id: &str) -> Option<String> {
    let row = page
        .split("<tr class=\"step-")
        .find(|r| r.contains(&format!("<code class=\"muted\">{id}</code>")))?;
    let start = row.find("<div class=\"badge ")?;
    let text = &row[start..];
    Some(text[text.find('>')? + 1..text.find("</div>")?].to_string())
}

#[test]
fn badges_say_what_is_new_what_keeps_failing_and_what_was_resolved() {
    let p = Project::new();
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"not_null\"\ncolumn = \"a\"\n\n[[check]]\nkind = \"accepted_values\"\ncolumn = \"b\"\nvalues = [\"ok\"]\n",
    );
    p.file("lake/raw/t/part.csv", "a,b\n1,ok\n,ok\n");
    let first = run_page(&p, "r1");
    assert_eq!(
        badge(&first, "t.a.not_null"),
        None,
        "a first run has nothing to compare with"
    );

    p.file("lake/raw/t/part.csv", "a,b\n1,ok\n2,bad\n");
    let second = run_page(&p, "r2");
    assert_eq!(
        badge(&second, "t.a.not_null").as_deref(),
        Some("resolved since the previous run")
    );
    assert_eq!(
        badge(&second, "t.b.accepted_values").as_deref(),
        Some("new since the previous run")
    );

    let third = run_page(&p, "r3");
    assert_eq!(badge(&third, "t.a.not_null"), None);
    let since = badge(&third, "t.b.accepted_values").unwrap();
    let history = p.run(&["history", "t", "--format", "json"]);
    assert!(since.starts_with("failing since 20"), "{since}\n{}", history.stdout);

    // The trend page of the failing check: three runs charted and listed, each linking its page.
    let trend = std::fs::read_to_string(p.path().join("site/checks/t/t.b.accepted_values.html")).unwrap();
    assert_eq!(trend.matches("<circle ").count(), 3, "{trend}");
    for id in ["r1", "r2", "r3"] {
        assert!(trend.contains(&format!("href=\"../../runs/{id}/t.html\"")), "{trend}");
    }
    assert!(
        third.contains("href=\"../../checks/t/t.b.accepted_values.html\""),
        "{third}"
    );
}

#[test]
fn lakegate_report_rebuilds_the_same_site_run_pages_included_from_history_without_the_data() {
    let p = Project::demo();
    for id in ["first", "second"] {
        let r = p.run(&["check", "--report", "site", "--run-id", id]);
        assert_eq!(r.code, 1, "{}", r.stderr);
    }
    let site = p.path().join("site");
    let before: Vec<(String, String)> = files(&site)
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(site.join(&f)).unwrap();
            (f, text)
        })
        .collect();
    // No data: the rebuild reads the history store only. Remove every page: run pages come back
    // from the runs' recorded results, with the badges of their own time.
    std::fs::remove_dir_all(p.path().join("fixtures/lake")).unwrap();
    std::fs::remove_dir_all(site.join("checks")).unwrap();
    std::fs::remove_dir_all(site.join("runs")).unwrap();
    std::fs::remove_file(site.join("index.html")).unwrap();

    let r = p.run(&["report", "--dir", "site"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let after: Vec<(String, String)> = files(&site)
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(site.join(&f)).unwrap();
            (f, text)
        })
        .collect();
    assert_eq!(before.len(), after.len());
    for ((f1, t1), (f2, t2)) in before.iter().zip(&after) {
        assert_eq!(f1, f2);
        assert!(
            t1 == t2,
            "{f1} differs after the rebuild:\n{}",
            crate::cases::line_diff(t1, t2)
        );
    }
    let index = &after.iter().find(|(f, _)| f == "index.html").unwrap().1;
    assert!(index.contains("<b>2 runs</b>"), "{index}");
    // Each of the three datasets' sparklines has a bar per run.
    assert_eq!(index.matches("<rect ").count(), 6, "{index}");

    let r = p.run(&["report"]);
    assert_eq!(r.code, 2, "no directory is a usage error: {}", r.stderr);
}

/// Writes `n` generated runs of datasets `d` (checks `d.a.not_null`, `d.b.range`) and `e` (check
/// `e.x.not_null`) into the project's history store, one minute apart, some failing.
fn generated_history(p: &Project, n: usize) {
    let start = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
        .unwrap()
        .to_utc();
    for i in 0..n {
        let t = start + chrono::Duration::minutes(i as i64);
        let run_id = format!("gen-{i:05}");
        let date = t.format("%Y-%m-%d");
        for (dataset, checks) in [("d", &["d.a.not_null", "d.b.range"][..]), ("e", &["e.x.not_null"][..])] {
            let failing = i % 7 == 0;
            let mut lines = String::new();
            for id in checks {
                let status = if failing && id.ends_with("range") {
                    "fail"
                } else {
                    "pass"
                };
                lines.push_str(
                    &serde_json::json!({
                        "run_id": run_id, "dataset": dataset, "started_at": t, "check_id": id, "name": id,
                        "kind": if id.ends_with("range") { "range" } else { "not_null" }, "column": null,
                        "severity": "error", "status": status, "failing_rows": if status == "fail" { 3 } else { 0 },
                        "failing_fraction": if status == "fail" { 0.03 } else { 0.0 }, "value": null, "message": "generated",
                    })
                    .to_string(),
                );
                lines.push('\n');
            }
            p.file(
                &format!(".lakegate/history/checks/{dataset}/{date}/{run_id}.json"),
                &lines,
            );
            let record = serde_json::json!({
                "run_id": run_id, "command": "check", "dataset": dataset, "zone": "raw",
                "location": format!("lake/raw/{dataset}"), "started_at": t, "finished_at": t,
                "status": if failing { "fail" } else { "pass" }, "rows": 100, "files": 1, "queries": 1,
                "duration_ms": 5, "checks": checks.len(), "passed": checks.len() - usize::from(failing && dataset == "d"),
                "warned": 0, "failed": usize::from(failing && dataset == "d"), "errored": 0,
                "schema_version": 1, "error": null,
            });
            p.file(
                &format!(".lakegate/history/runs/{dataset}/{date}/{run_id}.json"),
                &format!("{record}\n"),
            );
        }
    }
}

/// Every file of the site with its bytes and modification time.
fn snapshot(site: &Path) -> BTreeMap<String, (Vec<u8>, std::time::SystemTime)> {
    all_files(site)
        .into_iter()
        .map(|f| {
            let path = site.join(&f);
            let bytes = std::fs::read(&path).unwrap();
            let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
            (f, (bytes, mtime))
        })
        .collect()
}

/// The files whose bytes or modification time differ between two snapshots, or that only one has.
fn changed(
    before: &BTreeMap<String, (Vec<u8>, std::time::SystemTime)>,
    after: &BTreeMap<String, (Vec<u8>, std::time::SystemTime)>,
) -> Vec<String> {
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|f| before.get(*f) != after.get(*f))
        .cloned()
        .collect()
}

/// Relative links of the site's pages that lead to no file (`page -> target`).
fn broken_links(site: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for f in files(site) {
        let page = std::fs::read_to_string(site.join(&f)).unwrap();
        let dir = site.join(&f).parent().unwrap().to_path_buf();
        for u in urls(&page) {
            let target = u.split('#').next().unwrap();
            if !target.is_empty() && !dir.join(target).is_file() {
                out.push(format!("{f} -> {u}"));
            }
        }
    }
    out
}

/// Rebuilds a copy of `site` from scratch (its run pages kept, everything else removed) with
/// `lakegate report`, and asserts every file — pages and state — is byte for byte the same.
fn assert_rebuild_is_identical(p: &Project, site: &str) {
    let from = p.path().join(site);
    let copy = p.path().join("rebuilt");
    let _ = std::fs::remove_dir_all(&copy);
    for f in all_files(&from).iter().filter(|f| f.starts_with("runs/")) {
        let to = copy.join(f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from.join(f), to).unwrap();
    }
    let r = p.run_bounded(&["report", "--dir", "rebuilt"], std::time::Duration::from_secs(120));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(all_files(&copy), all_files(&from), "the rebuilt site has other files");
    for f in all_files(&from) {
        let (a, b) = (
            std::fs::read_to_string(from.join(&f)).unwrap(),
            std::fs::read_to_string(copy.join(&f)).unwrap(),
        );
        assert!(
            a == b,
            "{f} differs after a rebuild from scratch:\n{}",
            crate::cases::line_diff(&a, &b)
        );
    }
}

#[test]
fn the_index_shows_each_datasets_data_age_from_its_freshness_checks() {
    let (p, r) = demo_site();
    let index = std::fs::read_to_string(p.path().join("site/index.html")).unwrap();
    // A dataset's row: from its link to the end of the row.
    let row = |name: &str| {
        let start = index
            .find(&format!(r#"<a href="runs/demo-run/{name}.html">{name}</a>"#))
            .unwrap();
        index[start..start + index[start..].find("</tr>").unwrap()].to_string()
    };
    for (dataset, check) in [
        ("orders", "orders.created_at.freshness"),
        ("events", "events.ts.freshness"),
    ] {
        let secs = crate::support::check(&r, check)["value"].as_f64().unwrap() as u64;
        // The age as the index writes it: the largest unit, then the next when it is not zero.
        let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
        let age = match (d, h, m) {
            (0, 0, m) => format!("{m}m"),
            (0, h, 0) => format!("{h}h"),
            (0, h, m) => format!("{h}h {m}m"),
            (d, 0, _) => format!("{d}d"),
            (d, h, _) => format!("{d}d {h}h"),
        };
        assert!(
            row(dataset).contains(&format!("<td>{age}</td>")),
            "{age} not in {}",
            row(dataset)
        );
    }
    // `customers` has no freshness check.
    assert!(
        row("customers").contains(r#"title="no freshness check">—"#),
        "{}",
        row("customers")
    );
    assert!(
        !index.contains("before the newest run"),
        "every dataset was checked by the newest run"
    );
}

#[test]
fn a_thousand_runs_build_archive_pages_numbered_from_the_oldest_run() {
    let p = Project::new();
    generated_history(&p, 1000);
    let r = p.run_bounded(&["report", "--dir", "site"], std::time::Duration::from_secs(120));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let site = p.path().join("site");
    let index = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(index.contains("<b>1,000 runs</b>"), "{index}");
    assert_eq!(index.matches("<code>gen-").count(), 50, "the newest 50 runs");
    assert!(
        index.contains("<code>gen-00999</code>") && !index.contains("<code>gen-00949</code>"),
        "newest first"
    );
    // One archive page per 50 runs, the oldest first: runs-1.html is gen-00000 to gen-00049.
    assert!(site.join("runs-20.html").is_file() && !site.join("runs-21.html").exists());
    assert!(index.contains(r#"<a href="runs-20.html">951–1000</a>"#), "{index}");
    let first = std::fs::read_to_string(site.join("runs-1.html")).unwrap();
    assert_eq!(first.matches("<code>gen-").count(), 50);
    assert!(first.contains("<code>gen-00000</code>") && first.contains("<code>gen-00049</code>"));
    assert!(first.contains(r#"<a href="runs-2.html">newer runs →</a>"#) && !first.contains("older runs"));
    let trend = std::fs::read_to_string(site.join("checks/d/d.b.range.html")).unwrap();
    assert_eq!(trend.matches("<circle ").count(), 100, "the last 100 runs are charted");
    // Records written before the history kept a check's bounds still read; no line is drawn.
    assert!(!trend.contains("class=\"limit\""), "{trend}");
    assert!(broken_links(&site).is_empty(), "{:?}", broken_links(&site));
}

/// A suite for dataset `d` of the generated history, and data on which it fails.
fn real_d(p: &Project) {
    p.suite(
        "d",
        "",
        "[[check]]\nkind = \"not_null\"\ncolumn = \"a\"\n\n[[check]]\nkind = \"range\"\ncolumn = \"b\"\nmin = 0\nmax = 1\n",
    );
    p.file("lake/raw/d/part.csv", "a,b\n1,0\n2,5\n");
}

#[test]
fn one_more_run_changes_only_its_pages_the_index_and_its_datasets_trends_and_matches_a_rebuild() {
    let p = Project::new();
    generated_history(&p, 1000);
    let r = p.run_bounded(&["report", "--dir", "site"], std::time::Duration::from_secs(120));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let site = p.path().join("site");
    let before = snapshot(&site);
    // Coarse file systems keep mtimes to the second or two: wait so that a rewrite would show.
    std::thread::sleep(std::time::Duration::from_millis(2100));

    // One more run of `d` (a real check of real data).
    real_d(&p);
    let debug = [("LAKEGATE_LOG", "lakegate=debug")];
    let r = p.run_env(&["check", "--report", "site", "--run-id", "new"], &debug);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("Updating the report from its state") && !r.stderr.contains("Rebuilding"),
        "the update read the whole history:\n{}",
        r.stderr
    );
    assert_eq!(
        changed(&before, &snapshot(&site)),
        [
            ".lakegate/datasets/d.json",
            ".lakegate/runs-000021.json",
            ".lakegate/site.json",
            "checks/d/d.a.not_null.html",
            "checks/d/d.b.range.html",
            "index.html",
            "runs/new/d.html",
        ]
    );
    let index = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(index.contains(r#"<a href="runs/new/d.html">d</a>"#), "{index}");
    assert!(index.contains("<b>1,001 runs</b>"), "{index}");
    // `e` was last checked by the generated run of 2025-01-01 16:39, long before this one.
    assert!(index.contains(" before the newest run</div>"), "{index}");
    assert!(broken_links(&site).is_empty(), "{:?}", broken_links(&site));
    assert_rebuild_is_identical(&p, "site");

    // Without the state (or with a damaged one) the update rebuilds from the history, and says so.
    std::fs::write(site.join(".lakegate/site.json"), "{ torn").unwrap();
    let r = p.run_env(&["check", "--report", "site", "--run-id", "newer"], &debug);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("Rebuilding"), "{}", r.stderr);
    assert_rebuild_is_identical(&p, "site");
}

#[test]
fn retention_removes_run_pages_beyond_keep_runs_and_every_link_to_them() {
    let p = Project::new();
    p.file(
        "lakegate.toml",
        &format!("{}\n[report]\nkeep_runs = 100\n", crate::support::DEFAULT_CONFIG),
    );
    generated_history(&p, 120);
    // Pages for the generated runs of `d`, as if `check --report` had written them.
    for i in 0..120 {
        p.file(
            &format!("site/runs/gen-{i:05}/d.html"),
            "<!DOCTYPE html><p>run page</p>",
        );
    }
    let r = p.run(&["report", "--dir", "site"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let site = p.path().join("site");
    let kept = |i: usize| site.join(format!("runs/gen-{i:05}/d.html")).is_file();
    assert!(
        (0..20).all(|i| !kept(i)) && (20..120).all(kept),
        "the newest 100 of `d` are kept"
    );
    assert!(
        !site.join("runs/gen-00000").exists(),
        "an emptied run directory is removed"
    );
    let first = std::fs::read_to_string(site.join("runs-1.html")).unwrap();
    assert!(!first.contains("runs/gen-00019/d.html") && first.contains("runs/gen-00020/d.html"));
    assert!(
        first.contains("<code>gen-00019</code>"),
        "a run keeps its row, without its link"
    );
    assert!(broken_links(&site).is_empty(), "{:?}", broken_links(&site));

    // One more run: `d`'s oldest kept run falls out; its archive page drops the link first.
    let before = snapshot(&site);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    real_d(&p);
    let r = p.run(&["check", "--report", "site", "--run-id", "new"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(!kept(20) && kept(21));
    let changes = changed(&before, &snapshot(&site));
    assert!(
        changes.contains(&"runs-1.html".to_string()) && changes.contains(&"runs/gen-00020/d.html".to_string()),
        "{changes:?}"
    );
    assert!(!changes.contains(&"runs-2.html".to_string()), "{changes:?}");
    assert!(broken_links(&site).is_empty(), "{:?}", broken_links(&site));
    assert_rebuild_is_identical(&p, "site");

    // Fewer runs kept: the next update rebuilds and removes the pages beyond the new limit.
    p.file(
        "lakegate.toml",
        &format!("{}\n[report]\nkeep_runs = 1\n", crate::support::DEFAULT_CONFIG),
    );
    let r = p.run(&["report", "--dir", "site"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let left: Vec<String> = files(&site).into_iter().filter(|f| f.starts_with("runs/")).collect();
    assert_eq!(left, ["runs/new/d.html"]);
    assert!(broken_links(&site).is_empty(), "{:?}", broken_links(&site));
}

#[test]
fn keep_runs_must_be_a_positive_integer() {
    for (value, code) in [("0", "out-of-range"), ("-3", "out-of-range"), ("\"all\"", "wrong-type")] {
        let p = Project::new();
        let config = format!("{}\n[report]\nkeep_runs = {value}\n", crate::support::DEFAULT_CONFIG);
        p.file("lakegate.toml", &config);
        let r = p.run(&["validate", "--format", "json"]);
        assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
        let d = &r.json()["diagnostics"][0];
        assert_eq!(d["code"], code, "{d}");
        assert_eq!(d["file"], "lakegate.toml", "{d}");
        let line = config.lines().position(|l| l.starts_with("keep_runs")).unwrap() + 1;
        assert_eq!(
            (d["line"].as_u64(), d["column"].as_u64()),
            (Some(line as u64), Some(13)),
            "{d}"
        );
    }
}

#[test]
fn a_run_without_history_writes_its_pages_and_leaves_the_recorded_site_alone() {
    let p = Project::new();
    p.suite("t", "", "[[check]]\nkind = \"not_null\"\ncolumn = \"a\"\n");
    p.file("lake/raw/t/part.csv", "a,b\n1,x\n,y\n");
    // A site of its own: the index lists the unrecorded run, so its page is reachable.
    let r = p.run(&["--no-history", "check", "--report", "alone", "--run-id", "solo"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let alone = std::fs::read_to_string(p.path().join("alone/index.html")).unwrap();
    assert!(alone.contains(r#"<a href="runs/solo/t.html">t</a>"#), "{alone}");
    assert!(
        !p.path().join("alone/.lakegate").exists(),
        "no state from a run the history lacks"
    );

    for id in ["r1", "r2"] {
        let _ = run_page(&p, id);
    }
    let site = p.path().join("site");
    let before = snapshot(&site);
    let r = p.run(&["--no-history", "check", "--report", "site", "--run-id", "nh"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let changes = changed(&before, &snapshot(&site));
    assert_eq!(changes, ["runs/nh/t.html"], "only the run's own page");
    let index = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(
        index.contains("<b>2 runs</b>") && !index.contains("<code>nh</code>"),
        "{index}"
    );
    // The next recorded run updates the site as if the unrecorded one had not happened.
    let _ = run_page(&p, "r3");
    let index = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(
        index.contains("<b>3 runs</b>") && !index.contains("<code>nh</code>"),
        "{index}"
    );
    let page = std::fs::read_to_string(site.join("runs/nh/t.html")).unwrap();
    assert!(
        !page.contains("trend and past runs"),
        "no trend pages to link without history"
    );
}

/// The `y` attributes of the chart's threshold lines and its dots on a trend page.
fn chart_ys(page: &str) -> (Vec<f64>, Vec<f64>) {
    let ys = |re: &str| -> Vec<f64> {
        Regex::new(re)
            .unwrap()
            .captures_iter(page)
            .map(|c| c[1].parse().unwrap())
            .collect()
    };
    (
        ys(r#"<line x1="[0-9.]+" y1="([0-9.]+)"[^>]*class="limit""#),
        ys(r#"<circle cx="[0-9.]+" cy="([0-9.]+)""#),
    )
}

#[test]
fn trend_charts_draw_the_thresholds_the_history_keeps_with_labels() {
    let p = Project::new();
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"not_null\"\ncolumn = \"a\"\nmax_fraction = 0.25\n\n[[check]]\nkind = \"row_count\"\nmin = 2\nmax = 10\n",
    );
    p.file("lake/raw/t/part.csv", "a,b\n1,x\n,y\n3,z\n");
    let _ = run_page(&p, "r1");
    let _ = run_page(&p, "r2");
    // The history record keeps the bound in the units charted (a fraction here).
    let date = std::fs::read_dir(p.path().join(".lakegate/history/checks/t"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let record = std::fs::read_to_string(date.join("r1.json")).unwrap();
    let not_null: serde_json::Value = serde_json::from_str(record.lines().next().unwrap()).unwrap();
    assert_eq!(not_null["limit_max"], 0.25, "{record}");
    assert!(not_null.get("limit_min").is_none(), "{record}");

    let page = std::fs::read_to_string(p.path().join("site/checks/t/t.a.not_null.html")).unwrap();
    assert!(page.contains(">max_fraction 25%</text>"), "{page}");
    let (limits, dots) = chart_ys(&page);
    assert_eq!((limits.len(), dots.len()), (1, 2), "{page}");
    // 1 of 3 rows is null: 33% is above the 25% line (smaller y is higher on the chart), and the
    // line is above the chart's 0% bottom.
    assert!(
        dots.iter().all(|&d| d < limits[0]) && limits[0] < 148.0,
        "{limits:?} {dots:?}"
    );

    let page = std::fs::read_to_string(p.path().join("site/checks/t/t.row_count.html")).unwrap();
    assert!(
        page.contains(">min 2</text>") && page.contains(">max 10</text>"),
        "{page}"
    );
    let (limits, dots) = chart_ys(&page);
    // 3 rows lie between the lines of 2 (the bottom) and 10 (the top).
    assert_eq!(limits, [148.0, 12.0], "{page}");
    assert!(dots.iter().all(|&d| d < 148.0 && d > 12.0), "{dots:?}");

    // `history --sql` reads the new columns, and records without them read as null.
    let r = p.run(&[
        "history",
        "--sql",
        "SELECT check_id, limit_min, limit_max FROM checks WHERE run_id = 'r1' ORDER BY check_id",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("0.25") && r.stdout.contains("10"), "{}", r.stdout);
}
