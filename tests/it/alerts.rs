//! Alerts by email, against a real SMTP server on 127.0.0.1: `tests/smtp_sink.py` (aiosmtpd) runs as
//! a child process on a free port and stores every message it accepts, parsed by Python's email
//! package, so each test reads back what a mailbox would hold.
//!
//! The server runs from the virtualenv `.ci/run` installs aiosmtpd into: `LAKEGATE_TEST_PYTHON`
//! names its interpreter (`.ci/test` sets it), by default `~/.cache/lakegate-venv/bin/python`.
//! A missing virtualenv fails the test with the command that creates it; nothing is skipped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::Project;

/// A running `smtp_sink.py` and the directory it stores messages in.
struct Sink {
    child: Child,
    port: u16,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl Sink {
    fn start() -> Sink {
        Self::start_with(None, None)
    }

    /// On `port` (or a free one), requiring AUTH as `auth` = (user, password) when given.
    fn start_with(port: Option<u16>, auth: Option<(&str, &str)>) -> Sink {
        Self::spawn(port, auth, None)
    }

    /// Speaking TLS (`starttls` or `implicit`) with the certificate `leaf.pem` in `certs`
    /// (`webhook::private_ca`).
    fn start_tls(mode: &str, certs: &Path) -> Sink {
        Self::spawn(None, None, Some((mode, certs)))
    }

    fn spawn(port: Option<u16>, auth: Option<(&str, &str)>, tls: Option<(&str, &Path)>) -> Sink {
        let py = crate::support::python();
        let ok = Command::new(&py)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "the alert tests need Python with aiosmtpd at {} (set LAKEGATE_TEST_PYTHON, or create it: \
             python3 -m venv ~/.cache/lakegate-venv && ~/.cache/lakegate-venv/bin/pip install aiosmtpd; .ci/test does this)",
            py.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("mail");
        let portfile = dir.path().join("port");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_sink.py");
        let mut cmd = Command::new(&py);
        cmd.arg(script).arg(&maildir).arg(&portfile);
        if let Some(p) = port {
            cmd.args(["--port", &p.to_string()]);
        }
        if let Some((user, password)) = auth {
            cmd.args(["--auth", &format!("{user}:SINK_PASSWORD")])
                .env("SINK_PASSWORD", password);
        }
        if let Some((mode, certs)) = tls {
            cmd.args(["--tls", mode, "--cert"])
                .arg(certs.join("leaf.pem"))
                .arg("--key")
                .arg(certs.join("leaf.key"));
        }
        let child = cmd.stdout(Stdio::null()).stderr(Stdio::inherit()).spawn().unwrap();
        let start = Instant::now();
        let port = loop {
            if let Ok(s) = std::fs::read_to_string(&portfile)
                && let Ok(p) = s.trim().parse()
            {
                break p;
            }
            assert!(start.elapsed() < Duration::from_secs(20), "the SMTP sink did not start");
            std::thread::sleep(Duration::from_millis(50));
        };
        Sink {
            child,
            port,
            maildir,
            _dir: dir,
        }
    }

    /// Every message the server accepted, in order.
    fn messages(&self) -> Vec<Value> {
        let Ok(rd) = std::fs::read_dir(&self.maildir) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|f| serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap())
            .collect()
    }

    fn stop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

const HOSTILE: &str = "<script>alert(1)</script>";

/// `orders` in raw: 3 checks, 2 of which fail (a null email, a hostile note that breaks a pattern).
fn orders_project(alerts: &str, owners: &str) -> Project {
    let p = Project::new();
    p.file(
        "lakegate.toml",
        &format!("suites = [\"checks/*.toml\"]\n\n[lake]\nroot = \"lake\"\n\n{alerts}"),
    );
    p.file(
        "lake/raw/orders/orders.csv",
        &format!("id,email,note\n1,a@example.com,ok\n2,,ok\n3,c@example.com,\"{HOSTILE}\"\n"),
    );
    p.file(
        "checks/orders.toml",
        &format!(
            "[dataset]\nname = \"orders\"\nzone = \"raw\"\npath = \"orders\"\n{owners}\n\n\
             [[check]]\nkind = \"not_null\"\ncolumn = \"email\"\n\n\
             [[check]]\nkind = \"pattern\"\ncolumn = \"note\"\nregex = '^[a-z]+$'\n\n\
             [[check]]\nkind = \"unique\"\ncolumn = \"id\"\n"
        ),
    );
    p
}

fn email_config(port: u16, extra: &str) -> String {
    format!(
        "[alerts]\non = \"failure\"\n\n[[alerts.email]]\nurl = \"smtp://127.0.0.1:{port}\"\nfrom = \"lakegate@example.com\"\n\
         to = [\"data-oncall@example.com\"]\ncc = [\"lead@example.com\"]\n{extra}"
    )
}

fn make_passing(p: &Project) {
    p.file(
        "lake/raw/orders/orders.csv",
        "id,email,note\n1,a@example.com,ok\n2,b@example.com,ok\n3,c@example.com,ok\n",
    );
}

#[test]
fn a_failing_run_mails_one_digest_with_text_and_escaped_html_parts() {
    let sink = Sink::start();
    let p = orders_project(&email_config(sink.port, ""), "owners = [\"orders-team@example.com\"]");
    let (code, result) = p.check_json(&[]);
    assert_eq!(code, 1, "alerts never change the exit code: {result}");

    let mail = sink.messages();
    assert_eq!(mail.len(), 1, "{mail:?}");
    let m = &mail[0];
    assert_eq!(m["subject"], "[lakegate] FAIL orders (raw): 2 of 3 checks failed");
    assert_eq!(m["mail_from"], "lakegate@example.com");
    let mut rcpt: Vec<&str> = m["rcpt_tos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    rcpt.sort_unstable();
    assert_eq!(
        rcpt,
        ["data-oncall@example.com", "lead@example.com", "orders-team@example.com"]
    );
    assert!(m["to"].as_str().unwrap().contains("orders-team@example.com"), "{m}");
    assert!(m["cc"].as_str().unwrap().contains("lead@example.com"), "{m}");
    assert_eq!(m["content_type"], "multipart/alternative");

    let text = m["text"].as_str().unwrap();
    assert!(text.contains("orders.email.not_null"), "{text}");
    assert!(text.contains("orders.note.pattern"), "{text}");
    assert!(text.contains("1 failing row"), "{text}");
    assert!(text.contains("declared at checks/orders.toml:"), "{text}");
    assert!(
        !text.contains("orders.id.unique"),
        "a passing check is not listed: {text}"
    );

    let html = m["html"].as_str().unwrap();
    assert!(html.contains("width:600px"), "{html}");
    assert!(
        html.contains("orders.email.not_null") && html.contains("orders.note.pattern"),
        "{html}"
    );
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the hostile sample value is shown escaped: {html}"
    );
    assert!(!html.contains(HOSTILE), "no raw markup from the data: {html}");

    let alerts = result["alerts"].as_array().expect("the result records the alerts");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["channel"], "email");
    assert_eq!(alerts[0]["status"], "sent");
    assert!(alerts[0]["error"].is_null());
    assert_eq!(
        alerts[0]["message_id"].as_str().unwrap(),
        m["message_id"].as_str().unwrap()
    );

    // The history store records the outcome too.
    let recorded: Vec<Value> = walkdir::WalkDir::new(p.path().join(".lakegate/history/alerts"))
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .flat_map(|e| {
            std::fs::read_to_string(e.path())
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(
        (recorded[0]["status"].as_str(), recorded[0]["run_id"].as_str()),
        (Some("sent"), result["run_id"].as_str())
    );
}

#[test]
fn a_passing_run_under_on_failure_sends_nothing_and_no_alerts_sends_nothing() {
    let sink = Sink::start();
    let p = orders_project(&email_config(sink.port, ""), "");
    make_passing(&p);
    let (code, result) = p.check_json(&[]);
    assert_eq!(code, 0);
    assert!(result.get("alerts").is_none(), "{result}");

    let p = orders_project(&email_config(sink.port, ""), "");
    let (code, result) = p.check_json(&["--no-alerts"]);
    assert_eq!(code, 1);
    assert!(result.get("alerts").is_none(), "{result}");
    assert!(sink.messages().is_empty(), "{:?}", sink.messages());
}

#[test]
fn a_login_uses_the_password_from_the_environment_and_never_shows_it() {
    let secret = "s3cr3t-Pa55word-that-must-not-leak";
    let sink = Sink::start_with(None, Some(("alerts", secret)));
    let p = orders_project(
        &email_config(
            sink.port,
            "username = \"alerts\"\npassword_env = \"LAKEGATE_SMTP_PASSWORD\"\n",
        ),
        "",
    );
    let r = p.run_env(
        &["check", "--format", "json", "-vv"],
        &[("LAKEGATE_SMTP_PASSWORD", secret)],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let mail = sink.messages();
    assert_eq!(mail.len(), 1, "{}", r.stderr);
    assert_eq!(mail[0]["login"], "alerts");
    assert_eq!(r.json()["alerts"][0]["status"], "sent");

    // A wrong password is refused; the error is recorded, the password is nowhere.
    let bad = format!("{secret}-wrong");
    let r2 = p.run_env(
        &["check", "--format", "json", "-vv"],
        &[("LAKEGATE_SMTP_PASSWORD", &bad)],
    );
    assert_eq!(r2.code, 1, "{}", r2.stderr);
    assert_ne!(r2.json()["alerts"][0]["status"], "sent");
    assert_eq!(sink.messages().len(), 1);

    let mut everything = format!("{}{}{}{}", r.stdout, r.stderr, r2.stdout, r2.stderr);
    for e in walkdir::WalkDir::new(p.path()).into_iter().flatten() {
        if e.file_type().is_file() {
            everything.push_str(&String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()));
        }
    }
    assert!(
        !everything.contains(secret),
        "the password leaked into an output, the history or the outbox"
    );
}

#[test]
fn with_the_relay_down_the_message_waits_in_the_outbox_and_the_next_run_delivers_it_once() {
    let port = closed_port();
    let p = orders_project(&email_config(port, ""), "");
    let (code, result) = p.check_json(&[]);
    assert_eq!(code, 1, "the run keeps its own exit code: {result}");
    let a = &result["alerts"][0];
    assert_eq!(a["status"], "queued", "{a}");
    assert!(
        a["error"].as_str().unwrap().contains(&format!("127.0.0.1:{port}")),
        "{a}"
    );
    let outbox = p.path().join(".lakegate/outbox");
    let queued: Vec<_> = std::fs::read_dir(&outbox)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .collect();
    assert_eq!(queued.len(), 1, "one message in the outbox");
    assert!(
        p.path().join(".lakegate/history/runs/orders").exists(),
        "history is written although the relay is down"
    );
    let first_id = a["message_id"].as_str().unwrap().to_string();

    // The relay is back; the next run (now passing, so it raises no alert of its own) delivers it.
    let sink = Sink::start_with(Some(port), None);
    make_passing(&p);
    let (code, result) = p.check_json(&[]);
    assert_eq!(code, 0);
    let a = &result["alerts"][0];
    assert_eq!(
        (a["status"].as_str(), a["message_id"].as_str()),
        (Some("sent"), Some(first_id.as_str())),
        "{a}"
    );
    assert!(a["retry_of"].is_string(), "{a}");
    let mail = sink.messages();
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(mail[0]["message_id"].as_str(), Some(first_id.as_str()));
    assert_eq!(mail[0]["subject"], "[lakegate] FAIL orders (raw): 2 of 3 checks failed");

    // Delivered once: a third run sends nothing more.
    let (_, result) = p.check_json(&[]);
    assert!(result.get("alerts").is_none(), "{result}");
    assert_eq!(sink.messages().len(), 1);
}

#[test]
fn a_crash_after_the_relay_accepted_resends_with_the_same_message_id() {
    // The documented guarantee: at least once, one Message-ID. The process dies between the 250
    // and the outbox update; the next run sends the message again, with the id it had.
    let sink = Sink::start();
    let p = orders_project(&email_config(sink.port, ""), "");
    let r = p.run_env(&["check", "--format", "json"], &[("LAKEGATE_FAULT", "alert-sent")]);
    assert_eq!(r.code, -1, "the process was killed at the fault point: {}", r.stderr);
    assert_eq!(sink.messages().len(), 1);
    make_passing(&p);
    let (code, _) = p.check_json(&[]);
    assert_eq!(code, 0);
    let mail = sink.messages();
    assert_eq!(mail.len(), 2, "sent again after the crash");
    assert_eq!(mail[0]["message_id"], mail[1]["message_id"]);
    let (_, result) = p.check_json(&[]);
    assert!(result.get("alerts").is_none(), "{result}");
    assert_eq!(sink.messages().len(), 2, "and not a third time");
}

#[test]
fn on_change_sends_when_checks_start_firing_and_one_resolved_message_when_they_recover() {
    let sink = Sink::start();
    let p = orders_project(
        &email_config(sink.port, "").replace("on = \"failure\"", "on = \"change\""),
        "",
    );
    assert_eq!(p.check_json(&[]).0, 1);
    assert_eq!(p.check_json(&[]).0, 1);
    let mail = sink.messages();
    assert_eq!(mail.len(), 1, "two identical failing runs send one message: {mail:?}");
    assert_eq!(mail[0]["subject"], "[lakegate] FAIL orders (raw): 2 of 3 checks failed");
    assert!(
        mail[0]["text"].as_str().unwrap().contains("failing since"),
        "{}",
        mail[0]["text"]
    );

    make_passing(&p);
    assert_eq!(p.check_json(&[]).0, 0);
    assert_eq!(p.check_json(&[]).0, 0);
    let mail = sink.messages();
    assert_eq!(mail.len(), 2, "{mail:?}");
    assert_eq!(
        mail[1]["subject"],
        "[lakegate] RESOLVED orders (raw): 2 checks recovered"
    );
    let text = mail[1]["text"].as_str().unwrap();
    assert!(
        text.contains("orders.email.not_null") && text.contains("orders.note.pattern"),
        "{text}"
    );
}

#[test]
fn alert_configuration_mistakes_are_diagnostics() {
    let p = orders_project(
        "[alerts]\non = \"failures\"\n\n[[alerts.email]]\nurl = \"smtp://user:pw@127.0.0.1:25\"\nfrom = \"lakegate@example.com\"\nto = [\"x@example.com\"]\npasword_env = \"X\"\n",
        "",
    );
    let r = p.run(&["validate", "--format", "json"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let codes: Vec<String> = r.json()["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| format!("{} {}", d["code"].as_str().unwrap(), d["help"].as_str().unwrap_or("")))
        .collect();
    assert!(
        codes
            .iter()
            .any(|c| c.starts_with("invalid-choice") && c.contains("`failure`")),
        "{codes:?}"
    );
    assert!(
        codes
            .iter()
            .any(|c| c.starts_with("invalid-value") && c.contains("password_env")),
        "{codes:?}"
    );
    assert!(
        codes
            .iter()
            .any(|c| c.starts_with("unknown-key") && c.contains("did you mean `password_env`")),
        "{codes:?}"
    );
}

#[test]
fn alerts_test_sends_through_every_channel_and_says_what_happened_to_each() {
    let sink = Sink::start();
    let hook = crate::webhook::Listener::start(0);
    let forbidden = crate::webhook::Listener::answering(0, "403 Forbidden");
    let down = closed_port();
    let secret = "whsec-alerts-test-never-printed";
    let channels = format!(
        "[alerts]\non = \"never\"\n\n\
         [[alerts.email]]\nurl = \"smtp://127.0.0.1:{port}\"\nfrom = \"lakegate@example.com\"\nto = [\"data-oncall@example.com\"]\n\n\
         [[alerts.email]]\nurl = \"smtp://127.0.0.1:{port}\"\nfrom = \"lakegate@example.com\"\nto = [\"nobody@example.com\"]\n\n\
         [[alerts.email]]\nurl = \"smtp://127.0.0.1:{down}\"\nfrom = \"lakegate@example.com\"\nto = [\"data-oncall@example.com\"]\n\n\
         [[alerts.webhook]]\nurl = \"http://127.0.0.1:{hook}/hooks/secret-path\"\nsecret_env = \"LAKEGATE_HOOK_SECRET\"\n\n\
         [[alerts.webhook]]\nurl = \"http://127.0.0.1:{forbidden}/hooks/x\"\n",
        port = sink.port,
        hook = hook.port,
        forbidden = forbidden.port,
    );
    let p = orders_project(&channels, "");
    let r = p.run_env(
        &["alerts", "test", "--format", "json"],
        &[("LAKEGATE_HOOK_SECRET", secret)],
    );
    assert_eq!(
        r.code, 3,
        "a channel that cannot deliver: exit 3\n{}\n{}",
        r.stdout, r.stderr
    );
    let doc = r.json();
    assert_eq!(doc["status"], "undelivered");
    let got: Vec<(&str, &str)> = doc["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["channel"].as_str().unwrap(), c["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("email", "delivered"),
            ("email", "refused"),
            ("email", "unreachable"),
            ("webhook", "delivered"),
            ("webhook", "refused"),
        ]
    );
    let reason = |i: usize| doc["channels"][i]["reason"].as_str().unwrap().to_string();
    assert!(
        reason(1).contains("550") && reason(1).contains("no such user here"),
        "{}",
        reason(1)
    );
    assert!(reason(2).contains(&format!("127.0.0.1:{down}")), "{}", reason(2));
    assert!(reason(4).contains("HTTP 403 Forbidden"), "{}", reason(4));
    assert!(doc["channels"][0]["reason"].is_null());

    // The messages arrived as a person would see them: a mail, a signed POST.
    let mail = sink.messages();
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(mail[0]["subject"], "[lakegate] test message");
    assert_eq!(mail[0]["rcpt_tos"][0], "data-oncall@example.com");
    let posts = hook.requests();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].json()["lakegate"]["kind"], "test");
    assert_eq!(
        posts[0].header("x-lakegate-signature"),
        Some(format!("sha256={}", crate::webhook::hmac(secret.as_bytes(), &posts[0].body)).as_str())
    );
    assert!(
        !r.stdout.contains(secret) && !r.stderr.contains(secret) && !r.stdout.contains("secret-path"),
        "{}",
        r.stdout
    );
    assert!(
        !p.path().join(".lakegate/outbox").exists(),
        "a test message is never queued"
    );

    // Text: one line per channel and a count.
    let r = p.run_env(&["alerts", "test"], &[("LAKEGATE_HOOK_SECRET", secret)]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stdout.contains(&format!(
            "email smtp://127.0.0.1:{down} → data-oncall@example.com: unreachable"
        )),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.ends_with("2 of 5 channels delivered the test message\n"),
        "{}",
        r.stdout
    );

    // Every channel delivers: exit 0. No channel at all: a usage error (2).
    let p = orders_project(&email_config(sink.port, ""), "");
    let r = p.run(&["alerts", "test"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("1 of 1 channel delivered"), "{}", r.stdout);
    let p = orders_project("", "");
    let r = p.run(&["alerts", "test"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("configures no alert channel"), "{}", r.stderr);
}

/// The messages waiting in the project's outbox.
fn outbox(p: &Project) -> usize {
    std::fs::read_dir(p.path().join(".lakegate/outbox"))
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn starttls_and_implicit_tls_deliver_with_a_private_ca_and_an_untrusted_certificate_fails_clearly() {
    let certs = tempfile::tempdir().unwrap();
    crate::webhook::private_ca(certs.path());
    let ca = certs.path().join("ca.pem");
    for (mode, scheme, extra) in [
        ("starttls", "smtp", "starttls = \"required\"\n"),
        ("implicit", "smtps", ""),
    ] {
        let sink = Sink::start_tls(mode, certs.path());
        let config = |trust: &str| {
            email_config(sink.port, &format!("{extra}{trust}"))
                .replace("url = \"smtp://", &format!("url = \"{scheme}://"))
        };
        let p = orders_project(&config(&format!("tls_ca_file = \"{}\"\n", ca.display())), "");
        let (code, result) = p.check_json(&[]);
        assert_eq!(code, 1);
        assert_eq!(result["alerts"][0]["status"], "sent", "{mode}: {result}");
        let mail = sink.messages();
        assert_eq!(mail.len(), 1, "{mode}");
        assert_eq!(mail[0]["tls"], true, "{mode}: the message came over TLS");

        // Without the private CA the relay is not trusted: nothing is sent, the message waits.
        let p = orders_project(&config(""), "");
        let (code, result) = p.check_json(&[]);
        assert_eq!(code, 1, "the run keeps its exit code");
        let a = &result["alerts"][0];
        assert_eq!(a["status"], "queued", "{mode}: {a}");
        let error = a["error"].as_str().unwrap();
        assert!(
            error.contains(&format!("{scheme}://127.0.0.1:{}", sink.port))
                && error.contains("invalid peer certificate: UnknownIssuer")
                && error.contains("`tls_ca_file`"),
            "{mode}: {error}"
        );
        assert_eq!(outbox(&p), 1, "{mode}");
        assert_eq!(sink.messages().len(), 1, "{mode}: nothing more arrived");

        // `alerts test` says the same.
        let r = p.run(&["alerts", "test"]);
        assert_eq!(r.code, 3, "{}", r.stdout);
        assert!(
            r.stdout.contains(": unreachable") && r.stdout.contains("certificate"),
            "{}",
            r.stdout
        );
    }
}

#[test]
fn starttls_required_against_a_relay_without_it_fails_clearly_and_the_message_waits() {
    let sink = Sink::start();
    let p = orders_project(&email_config(sink.port, "starttls = \"required\"\n"), "");
    let (code, result) = p.check_json(&[]);
    assert_eq!(code, 1);
    let a = &result["alerts"][0];
    assert_eq!(a["status"], "queued", "{a}");
    assert!(
        a["error"]
            .as_str()
            .unwrap()
            .contains("does not offer STARTTLS, and `starttls = \"required\"` forbids sending without it"),
        "{a}"
    );
    assert!(sink.messages().is_empty(), "nothing was sent in the clear");
    assert_eq!(outbox(&p), 1);

    // Once the relay may be used without TLS (opportunistic), the waiting message goes out.
    p.file(
        "lakegate.toml",
        &format!(
            "suites = [\"checks/*.toml\"]\n\n[lake]\nroot = \"lake\"\n\n{}",
            email_config(sink.port, "")
        ),
    );
    make_passing(&p);
    let (code, result) = p.check_json(&[]);
    assert_eq!(code, 0);
    assert_eq!(result["alerts"][0]["status"], "sent", "{result}");
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(sink.messages()[0]["tls"], false);
    assert_eq!(outbox(&p), 0);
}

#[test]
fn on_change_reminds_after_repeat_on_the_runs_clock_and_repeat_0_never_reminds() {
    let sink = Sink::start();
    let config = |repeat: &str| {
        email_config(sink.port, "").replace("on = \"failure\"", &format!("on = \"change\"\nrepeat = \"{repeat}\""))
    };
    let at = |p: &Project, now: &str| {
        let r = p.run_at(now, &["check", "--format", "json"], &[]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        r.json().get("alerts").map_or(0, |a| a.as_array().unwrap().len())
    };
    let p = orders_project(&config("24h"), "");
    assert_eq!(at(&p, "2026-01-15T12:00:00Z"), 1, "a check starts firing: one message");
    assert_eq!(
        at(&p, "2026-01-15T13:00:00Z"),
        0,
        "the same checks an hour later: nothing"
    );
    assert_eq!(at(&p, "2026-01-16T11:59:00Z"), 0, "not yet 24 hours: nothing");
    assert_eq!(at(&p, "2026-01-16T12:30:00Z"), 1, "24 hours later: a reminder");
    assert_eq!(at(&p, "2026-01-16T18:00:00Z"), 0, "reminded already: nothing");
    assert_eq!(
        at(&p, "2026-01-18T09:00:00Z"),
        1,
        "two more periods passed: one reminder"
    );
    let mail = sink.messages();
    assert_eq!(mail.len(), 3, "{mail:?}");
    for m in &mail {
        assert_eq!(m["subject"], "[lakegate] FAIL orders (raw): 2 of 3 checks failed");
        let text = m["text"].as_str().unwrap();
        assert!(
            text.contains("failing since 2026-01-15 12:00 UTC"),
            "since the first run's clock: {text}"
        );
    }

    let p = orders_project(&config("0"), "");
    for now in ["2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z", "2026-03-01T00:00:00Z"] {
        at(&p, now);
    }
    assert_eq!(sink.messages().len(), 4, "repeat = \"0\" sends once and never reminds");
}

#[test]
fn the_html_part_links_the_run_page_and_follows_template_overrides() {
    let sink = Sink::start();
    let p = orders_project(&email_config(sink.port, ""), "");
    let with_base = |base: &str| {
        p.file(
            "lakegate.toml",
            &format!(
                "suites = [\"checks/*.toml\"]\n\n[lake]\nroot = \"lake\"\n\n[report]\n{base}\n{}",
                email_config(sink.port, "")
            ),
        );
    };
    // `check --report` wrote the page: the mail says where it is.
    let r = p.run(&["check", "--report", "site", "--run-id", "r1"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let page = p.path().join("site/runs/r1/orders.html");
    assert!(page.is_file());
    let html = sink.messages()[0]["html"].as_str().unwrap().to_string();
    let shown = std::fs::canonicalize(&page).unwrap();
    assert!(
        html.contains(&shown.display().to_string()) || html.contains(&page.display().to_string()),
        "{html}"
    );
    for want in [
        "orders.email.not_null",
        "orders.note.pattern",
        "checks/orders.toml:",
        "observed",
        "expected",
        "failing rows",
    ] {
        assert!(html.contains(want), "{want} in {html}");
    }

    // With `[report] base_url`, a link under it.
    with_base("base_url = \"https://reports.example.com/lakegate\"");
    let r = p.run(&["check", "--report", "site", "--run-id", "r2"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let html = sink.messages()[1]["html"].as_str().unwrap().to_string();
    assert!(
        html.contains("href=\"https://reports.example.com/lakegate/runs/r2/orders.html\""),
        "{html}"
    );

    // No report written: no page to point at.
    let r = p.run(&["check", "--run-id", "r3"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let html = sink.messages()[2]["html"].as_str().unwrap().to_string();
    assert!(!html.contains("runs/r3/"), "{html}");

    // `--templates` replaces the summary like any page, and still escapes what it shows.
    p.file(
        "tpl/summary.html",
        "<div style=\"max-width:600px\">OVERRIDDEN {{ headline }}{% for c in checks %}<p>{{ c.id }} {% for r in c.rows %}{% for v in r %}{{ v.text }}{% endfor %}{% endfor %}</p>{% endfor %}</div>",
    );
    let r = p.run(&["check", "--templates", "tpl"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let html = sink.messages()[3]["html"].as_str().unwrap().to_string();
    assert!(
        html.starts_with("<div style=\"max-width:600px\">OVERRIDDEN orders (raw)"),
        "{html}"
    );
    assert!(html.contains("&lt;script&gt;") && !html.contains(HOSTILE), "{html}");

    // A broken override does not stop the alert: the text goes out in the HTML part, escaped.
    p.file("tpl/summary.html", "{% for %}");
    let r = p.run(&["check", "--templates", "tpl", "--format", "json"]);
    assert_eq!(r.json()["alerts"][0]["status"], "sent", "{}", r.stdout);
    let html = sink.messages()[4]["html"].as_str().unwrap().to_string();
    assert!(
        html.contains("could not be rendered") && !html.contains(HOSTILE),
        "{html}"
    );
}

#[test]
fn a_headless_browser_shows_the_mails_failing_checks_and_no_markup_from_the_data() {
    let sink = Sink::start();
    let p = orders_project(&email_config(sink.port, ""), "");
    let r = p.run(&["check"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let html = sink.messages()[0]["html"].as_str().unwrap().to_string();
    // Kept after the test, for a person to look at.
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("alerts-email-browser");
    std::fs::create_dir_all(&out).unwrap();
    let file = out.join("email.html");
    std::fs::write(&file, &html).unwrap();
    let url = url::Url::from_file_path(&file).unwrap().to_string();

    let dom = crate::report::headless(&url, &["--dump-dom".to_string()]);
    for name in ["orders.email.not_null", "orders.note.pattern"] {
        assert!(dom.contains(name), "the rendered mail does not show {name}:\n{dom}");
    }
    assert!(
        dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the hostile value is shown as text:\n{dom}"
    );
    assert!(!dom.contains("<script"), "no script element in the DOM:\n{dom}");

    let blank = out.join("blank.html");
    std::fs::write(&blank, "<!DOCTYPE html><html><body></body></html>").unwrap();
    let floor = crate::report::screenshot(
        url::Url::from_file_path(&blank).unwrap().as_ref(),
        &out.join("blank-600.png"),
        600,
        1200,
    );
    let png = out.join("email-600.png");
    let size = crate::report::screenshot(&url, &png, 600, 1200);
    assert!(
        size > 5 * floor.max(1),
        "the mail at 600 px looks blank: {size} bytes against {floor} for a blank page ({})",
        png.display()
    );
}
