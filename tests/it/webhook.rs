//! Alerts by webhook, against a real HTTP listener on 127.0.0.1 started by the test: a thread that
//! accepts connections, reads each request (headers and `Content-Length` body), keeps it and answers
//! 200 OK.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::support::Project;

/// One request the listener received.
#[derive(Debug, Clone)]
pub struct Request {
    pub line: String,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// An HTTP listener on 127.0.0.1 (a thread), keeping every request it answers.
pub struct Listener {
    pub port: u16,
    got: Arc<Mutex<Vec<Request>>>,
}

impl Listener {
    /// On `port` (or a free one), answering 200 OK.
    pub fn start(port: u16) -> Listener {
        Self::answering(port, "200 OK")
    }

    /// On `port` (or a free one), answering every request with `status` (e.g. "403 Forbidden").
    pub fn answering(port: u16, status: &'static str) -> Listener {
        let l = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let port = l.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = got.clone();
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut r = BufReader::new(conn.try_clone().unwrap());
                let mut line = String::new();
                r.read_line(&mut line).unwrap();
                let mut headers = Vec::new();
                loop {
                    let mut h = String::new();
                    r.read_line(&mut h).unwrap();
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    let (k, v) = h.split_once(':').unwrap();
                    headers.push((k.trim().to_string(), v.trim().to_string()));
                }
                let len: usize = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .map_or(0, |(_, v)| v.parse().unwrap());
                let mut body = vec![0; len];
                r.read_exact(&mut body).unwrap();
                sink.lock().unwrap().push(Request {
                    line: line.trim_end().to_string(),
                    headers,
                    body,
                });
                conn.write_all(
                    format!("HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok").as_bytes(),
                )
                .unwrap();
            }
        });
        Listener { port, got }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.got.lock().unwrap().clone()
    }
}

/// HMAC-SHA256 computed independently of lakegate's (RFC 2104).
pub fn hmac(key: &[u8], msg: &[u8]) -> String {
    let mut k = [0u8; 64];
    k[..key.len()].copy_from_slice(key);
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new().chain_update(&ipad).chain_update(msg).finalize();
    let outer = Sha256::new().chain_update(&opad).chain_update(inner).finalize();
    outer.iter().map(|b| format!("{b:02x}")).collect()
}

const SECRET: &str = "whsec-do-not-leak-7f3a9c";

fn config(port: u16, extra: &str) -> String {
    format!(
        "[alerts]\non = \"failure\"\n\n[[alerts.webhook]]\nurl = \"http://127.0.0.1:{port}/hooks/lakegate\"\n{extra}"
    )
}

/// `orders` in raw with a not-null check on each of `columns` columns, all of which fail, and one
/// that passes.
fn project(alerts: &str, columns: usize) -> Project {
    let p = Project::new();
    p.file(
        "lakegate.toml",
        &format!("suites = [\"checks/*.toml\"]\n\n[lake]\nroot = \"lake\"\n\n{alerts}"),
    );
    let names: Vec<String> = (0..columns)
        .map(|i| format!("a_rather_long_column_name_number_{i:03}"))
        .collect();
    p.file(
        "lake/raw/orders/orders.csv",
        &format!(
            "id,{}\n1,{}\n2,{}\n",
            names.join(","),
            vec![""; columns].join(","),
            vec!["x"; columns].join(",")
        ),
    );
    let mut suite = "[dataset]\nname = \"orders\"\nzone = \"raw\"\npath = \"orders\"\n\n\
                     [[check]]\nkind = \"unique\"\ncolumn = \"id\"\n"
        .to_string();
    for n in &names {
        suite.push_str(&format!("\n[[check]]\nkind = \"not_null\"\ncolumn = \"{n}\"\n"));
    }
    p.file("checks/orders.toml", &suite);
    p
}

#[test]
fn a_failing_run_posts_one_signed_json_body_and_the_secret_is_nowhere() {
    let l = Listener::start(0);
    let p = project(&config(l.port, "secret_env = \"LAKEGATE_HOOK_SECRET\"\n"), 2);
    let r = p.run_env(
        &["check", "--format", "json", "-vv"],
        &[("LAKEGATE_HOOK_SECRET", SECRET)],
    );
    assert_eq!(r.code, 1, "alerts never change the exit code: {}", r.stderr);
    let result = r.json();

    let got = l.requests();
    assert_eq!(got.len(), 1, "{got:?}");
    let req = &got[0];
    assert_eq!(req.line, "POST /hooks/lakegate HTTP/1.1");
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(
        req.header("x-lakegate-signature"),
        Some(format!("sha256={}", hmac(SECRET.as_bytes(), &req.body)).as_str()),
        "the signature is the HMAC-SHA256 of the exact body"
    );
    let body = req.json();
    let text = body["text"].as_str().unwrap();
    assert!(
        text.starts_with("[lakegate] FAIL orders (raw): 2 of 3 checks failed"),
        "{text}"
    );
    assert!(
        text.contains("orders.a_rather_long_column_name_number_000.not_null"),
        "{text}"
    );
    assert!(!text.contains("orders.id.unique"), "{text}");
    let s = &body["lakegate"];
    assert_eq!(s["run_id"], result["run_id"]);
    assert_eq!(s["status"], "fail");
    assert_eq!(s["datasets"][0]["name"], "orders");
    let checks = s["datasets"][0]["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 2, "{checks:?}");
    assert_eq!(checks[0]["status"], "fail");
    assert_eq!(checks[0]["failing_rows"], 1);
    assert!(checks[0]["id"].as_str().unwrap().ends_with(".not_null"));
    assert!(checks[0]["message"].is_string());

    let alerts = result["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["channel"], "webhook");
    assert_eq!(alerts[0]["status"], "sent");
    // The path of a webhook URL is often its credential: results show scheme and host only.
    assert_eq!(alerts[0]["via"], format!("http://127.0.0.1:{}/…", l.port));
    assert!(!r.stdout.contains("/hooks/lakegate"), "{}", r.stdout);

    let mut everything = format!("{}{}", r.stdout, r.stderr);
    for e in walkdir::WalkDir::new(p.path()).into_iter().flatten() {
        if e.file_type().is_file() {
            everything.push_str(&String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()));
        }
    }
    assert!(
        !everything.contains(SECRET),
        "the secret leaked into an output, the history or the outbox"
    );
}

#[test]
fn the_text_is_capped_at_3000_characters_when_everything_fails() {
    let l = Listener::start(0);
    let p = project(&config(l.port, ""), 120);
    let (code, result) = p.check_json(&[]);
    assert_eq!(code, 1);
    assert_eq!(result["alerts"][0]["status"], "sent", "{result}");
    let got = l.requests();
    assert_eq!(got.len(), 1);
    assert!(
        got[0].header("x-lakegate-signature").is_none(),
        "no secret, no signature"
    );
    let body = got[0].json();
    let text = body["text"].as_str().unwrap();
    let n = text.chars().count();
    assert!(n <= 3000 && n > 2500, "{n} characters: {text}");
    let last = text.lines().last().unwrap();
    let more: usize = last
        .strip_prefix("… and ")
        .and_then(|s| s.strip_suffix(" more"))
        .unwrap_or_else(|| panic!("ends with `… and K more`: {last}"))
        .parse()
        .unwrap();
    let listed = text.lines().filter(|l| l.starts_with("• ")).count();
    assert_eq!(listed + more, 120, "{text}");
    // The structured part keeps every firing check.
    assert_eq!(body["lakegate"]["datasets"][0]["checks"].as_array().unwrap().len(), 120);
}

#[test]
fn with_the_listener_down_the_post_waits_in_the_outbox_and_the_next_run_delivers_it_once() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let p = project(&config(port, ""), 2);
    let (code, result) = p.check_json(&[]);
    assert_eq!(code, 1, "{result}");
    let a = &result["alerts"][0];
    assert_eq!(
        (a["channel"].as_str(), a["status"].as_str()),
        (Some("webhook"), Some("queued")),
        "{a}"
    );
    let queued = std::fs::read_dir(p.path().join(".lakegate/outbox"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .count();
    assert_eq!(queued, 1);
    let id = a["message_id"].as_str().unwrap().to_string();

    // The listener is back; a passing run delivers the queued post.
    let l = Listener::start(port);
    p.file(
        "checks/orders.toml",
        "[dataset]\nname = \"orders\"\nzone = \"raw\"\npath = \"orders\"\n\n[[check]]\nkind = \"unique\"\ncolumn = \"id\"\n",
    );
    let (code, result) = p.check_json(&[]);
    assert_eq!(code, 0, "{result}");
    let a = &result["alerts"][0];
    assert_eq!(
        (a["status"].as_str(), a["message_id"].as_str()),
        (Some("sent"), Some(id.as_str())),
        "{a}"
    );
    assert!(a["retry_of"].is_string(), "{a}");
    let got = l.requests();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].header("x-lakegate-message-id"), Some(id.as_str()));
    assert_eq!(got[0].json()["lakegate"]["message_id"], id.as_str());

    let (_, result) = p.check_json(&[]);
    assert!(result.get("alerts").is_none(), "{result}");
    assert_eq!(l.requests().len(), 1, "delivered once");
}

/// Runs `openssl` in `dir` (the test's own certificates: a CA and a leaf for 127.0.0.1).
pub fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the https test needs the openssl command");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A private CA (`ca.pem`) and a server certificate it signed for 127.0.0.1 (`leaf.pem`,
/// `leaf.key`), made in `d` with the openssl command.
pub fn private_ca(d: &std::path::Path) {
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=lakegate test CA",
        ],
    );
    openssl(
        d,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(
        d.join("ext.cnf"),
        "basicConstraints=critical,CA:FALSE\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
}

#[test]
fn https_with_a_private_ca_delivers_a_signed_body() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    private_ca(d);
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/https_sink.py");
    let python = std::env::var("LAKEGATE_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let _child = Kill(
        std::process::Command::new(python)
            .arg(script)
            .arg(d.join("leaf.pem"))
            .arg(d.join("leaf.key"))
            .arg(d.join("got"))
            .arg(d.join("port"))
            .spawn()
            .unwrap(),
    );
    let start = std::time::Instant::now();
    let port: u16 = loop {
        if let Ok(s) = std::fs::read_to_string(d.join("port"))
            && let Ok(p) = s.trim().parse()
        {
            break p;
        }
        assert!(start.elapsed().as_secs() < 20, "the HTTPS listener did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let p = project(
        &format!(
            "[alerts]\non = \"failure\"\n\n[[alerts.webhook]]\nurl = \"https://127.0.0.1:{port}/hook\"\n\
             tls_ca_file = \"{}\"\nsecret_env = \"LAKEGATE_HOOK_SECRET\"\n",
            d.join("ca.pem").display()
        ),
        2,
    );
    let r = p.run_env(&["check", "--format", "json"], &[("LAKEGATE_HOOK_SECRET", SECRET)]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.json()["alerts"][0]["status"], "sent", "{}", r.stdout);
    let got: Value = serde_json::from_str(&std::fs::read_to_string(d.join("got/0000.json")).unwrap()).unwrap();
    assert_eq!(got["line"], "POST /hook HTTP/1.1");
    let body = got["body"].as_str().unwrap();
    assert_eq!(
        got["headers"]["X-Lakegate-Signature"].as_str(),
        Some(format!("sha256={}", hmac(SECRET.as_bytes(), body.as_bytes())).as_str())
    );
    let body: Value = serde_json::from_str(body).unwrap();
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .starts_with("[lakegate] FAIL orders (raw)")
    );

    // Without the private CA the endpoint is not trusted: the message waits in the outbox.
    let p = project(&config_https(port), 2);
    let (_, result) = p.check_json(&[]);
    let a = &result["alerts"][0];
    assert_eq!(a["status"], "queued", "{result}");
    assert!(a["error"].as_str().unwrap().contains("certificate"), "{a}");
}

/// Stops the listener however the test ends.
struct Kill(std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

fn config_https(port: u16) -> String {
    format!("[alerts]\non = \"failure\"\n\n[[alerts.webhook]]\nurl = \"https://127.0.0.1:{port}/hook\"\n")
}

/// Every file under the project, as one string (to look for a secret in outputs, history, outbox).
fn everything(p: &Project) -> String {
    let mut all = String::new();
    for e in walkdir::WalkDir::new(p.path()).into_iter().flatten() {
        if e.file_type().is_file() {
            all.push_str(&String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()));
        }
    }
    all
}

#[test]
fn url_env_reads_the_url_from_the_environment_and_never_writes_it() {
    let l = Listener::start(0);
    let token = "T000/B000/xoxb-url-token-do-not-leak";
    let url = format!("http://127.0.0.1:{}/services/{token}", l.port);
    let p = project(
        "[alerts]\non = \"failure\"\n\n[[alerts.webhook]]\nurl_env = \"LAKEGATE_HOOK_URL\"\n",
        2,
    );
    // `validate` needs no secret.
    let r = p.run(&["validate"]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // Unset when sending: nothing is lost, the message waits and says which variable is missing.
    let r1 = p.run(&["check", "--format", "json"]);
    assert_eq!(r1.code, 1, "{}", r1.stderr);
    let a = &r1.json()["alerts"][0];
    assert_eq!(
        (a["status"].as_str(), a["via"].as_str()),
        (Some("queued"), Some("env:LAKEGATE_HOOK_URL")),
        "{a}"
    );
    assert!(a["error"].as_str().unwrap().contains("`LAKEGATE_HOOK_URL`"), "{a}");
    assert!(l.requests().is_empty());

    // Set: the queued post and this run's go to the URL from the environment.
    let r2 = p.run_env(&["check", "--format", "json", "-vv"], &[("LAKEGATE_HOOK_URL", &url)]);
    assert_eq!(r2.code, 1, "{}", r2.stderr);
    let alerts = r2.json()["alerts"].as_array().unwrap().clone();
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert!(alerts.iter().all(|a| a["status"] == "sent"), "{alerts:?}");
    let got = l.requests();
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|r| r.line == format!("POST /services/{token} HTTP/1.1")));

    let all = format!("{}{}{}{}{}", r1.stdout, r1.stderr, r2.stdout, r2.stderr, everything(&p));
    assert!(
        !all.contains(token),
        "the URL from the environment was written somewhere"
    );

    // A variable holding something that is not a webhook URL is a diagnostic at `url_env`.
    let r = p.run_env(&["validate"], &[("LAKEGATE_HOOK_URL", "ftp://example.com/x")]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("lakegate.toml:10:") && r.stderr.contains("`LAKEGATE_HOOK_URL`"),
        "{}",
        r.stderr
    );
}
