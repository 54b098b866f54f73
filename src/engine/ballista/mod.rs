//! Running lakegate's queries on an Apache DataFusion Ballista cluster (`--engine
//! ballista://HOST:PORT`, docs/scale.md).
//!
//! The client side is the same [`super::session`] with Ballista's query planner in front: lakegate
//! plans every query as it does locally (its kernels included), Ballista serializes the logical
//! plan with lakegate's [`codec`] and the scheduler splits it into stages that the executors run.
//! What Ballista changes and lakegate accounts for (`spikes/ballista/FINDINGS.md`):
//!
//! - strings are `Utf8`, not `Utf8View` (Ballista turns views off for Arrow Flight); the kernels
//!   accept both, and results compare types by family;
//! - a scheduler with no executor accepts a job and waits minutes for one, and a silent one makes
//!   each call wait for its gRPC timeout: [`ready`] asks the scheduler's `/readyz` first, with a
//!   short timeout, so a run that cannot happen says why within seconds (exit 3);
//! - errors arrive as Debug dumps of gRPC types: [`explain`] turns the known ones into a sentence.
//!
//! The scheduler and executor processes are [`node`]s (the `lakegate-executor` binary).

pub(crate) mod codec;
pub mod node;

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use ballista::prelude::SessionConfigExt;
use ballista_core::extension::SessionStateExt;
use datafusion::error::Result as DfResult;
use datafusion::execution::SessionState;

/// How long connecting to the scheduler, and its answer to `/readyz`, may take.
const CONNECT: Duration = Duration::from_secs(3);
/// How long one gRPC call to the scheduler may take (job submission, status polls, results).
const CALL_SECS: u64 = 60;

/// `state` planning through the Ballista scheduler at `url` (`ballista://HOST:PORT`).
pub(crate) fn remote(state: SessionState, url: &str) -> DfResult<SessionState> {
    // Ballista's settings (strings without views, …) and its config extension, which the client
    // timeouts and codecs below are set in.
    let config = SessionConfigExt::upgrade_for_ballista(state.config().clone())
        .set_u64("ballista.client.grpc_connect_timeout_seconds", CONNECT.as_secs())
        .set_u64("ballista.client.grpc_timeout_seconds", CALL_SECS)
        .with_ballista_logical_extension_codec(Arc::new(codec::LogicalCodec::default()))
        .with_ballista_physical_extension_codec(Arc::new(codec::PhysicalCodec::default()));
    let state = datafusion::execution::SessionStateBuilder::new_from_existing(state)
        .with_config(config)
        .build();
    // The client speaks gRPC over plain HTTP/2 to the scheduler (as `SessionContext::remote` does).
    SessionStateExt::upgrade_for_ballista(state, format!("http://{}", authority(url)))
}

/// `HOST:PORT` of a `ballista://HOST:PORT` URL.
fn authority(url: &str) -> &str {
    url.strip_prefix("ballista://").unwrap_or(url).trim_end_matches('/')
}

/// Whether the scheduler at `url` answers and has an executor registered; otherwise the sentence
/// that says what to fix.
pub(crate) fn ready(url: &str) -> Result<(), String> {
    let at = authority(url);
    let unreachable = |why: String| {
        format!(
            "the Ballista scheduler at {at} {why}; start it (lakegate-executor scheduler) or fix --engine / [engine] url"
        )
    };
    let addrs: Vec<_> = at
        .to_socket_addrs()
        .map_err(|e| unreachable(format!("cannot be resolved ({e})")))?
        .collect();
    // Each address the name has (`localhost` is often ::1 first, a scheduler on 127.0.0.1).
    let mut last = None;
    let mut connected = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, CONNECT) {
            Ok(s) => {
                connected = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let mut stream = connected.ok_or_else(|| {
        unreachable(match last {
            None => "has no address".into(),
            Some(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => "refused the connection".into(),
            Some(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                format!("did not accept a connection within {} s", CONNECT.as_secs())
            }
            Some(e) => format!("cannot be reached ({e})"),
        })
    })?;
    let _ = stream.set_read_timeout(Some(CONNECT));
    let _ = stream.set_write_timeout(Some(CONNECT));
    let silent = || {
        unreachable(format!(
            "accepted the connection but did not answer within {} s",
            CONNECT.as_secs()
        ))
    };
    stream
        .write_all(format!("GET /readyz HTTP/1.1\r\nHost: {at}\r\nConnection: close\r\n\r\n").as_bytes())
        .map_err(|_| silent())?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) if answer.len() < 64 * 1024 => answer.extend_from_slice(&buf[..n]),
            Ok(_) => break,
            Err(_) if !answer.is_empty() => break,
            Err(_) => return Err(silent()),
        }
    }
    readiness(at, &String::from_utf8_lossy(&answer))
}

/// The verdict of a `/readyz` answer.
fn readiness(at: &str, answer: &str) -> Result<(), String> {
    let status = answer.split_whitespace().nth(1).unwrap_or_default();
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default().trim();
    match status {
        "200" => Ok(()),
        "503" => Err(format!(
            "the Ballista scheduler at {at} has no executor ready ({body}); start one (lakegate-executor executor --scheduler {at}) and run again"
        )),
        "" => Err(format!(
            "the Ballista scheduler at {at} closed the connection without answering; is {at} a Ballista 55 scheduler?"
        )),
        other => Err(format!(
            "the server at {at} answered /readyz with HTTP {other}, not as a Ballista 55 scheduler does; fix --engine / [engine] url"
        )),
    }
}

/// Whether a query's error says the cluster cannot run lakegate's queries — it is not there any
/// more (a refused connection, a call without answer, a broken transport), or its processes are
/// not `lakegate-executor`s of this version (they cannot decode lakegate's plans) — as opposed to
/// a query that failed on the data.
pub(crate) fn unavailable(message: &str) -> bool {
    let has = |s: &str| message.contains(s);
    let gone = (has("tonic") || has("Status {"))
        && (has("ConnectionRefused")
            || has("tcp connect error")
            || has("TimeoutExpired")
            || has("Timeout expired")
            || has("Unavailable")
            || has("transport error"));
    let foreign =
        has("Could not parse plan") || has("task could not be prepared") || has("arrived without lakegate's state");
    gone || foreign
}

/// A Ballista or gRPC error message in words, when it is one lakegate knows.
pub(crate) fn explain(message: &str) -> Option<String> {
    let has = |s: &str| message.contains(s);
    // Only gRPC's words: an object store's errors (reqwest's "tcp connect error") are not these.
    let grpc = has("tonic") || has("Status {");
    if grpc && (has("ConnectionRefused") || has("tcp connect error")) {
        return Some("the Ballista scheduler or an executor refused the connection (stopped during the run?); start it and run again".into());
    }
    if grpc && (has("TimeoutExpired") || has("Timeout expired")) {
        return Some(format!(
            "the Ballista cluster did not answer within {CALL_SECS} s; check that the scheduler and its executors are running"
        ));
    }
    if has("Could not parse plan") || has("task could not be prepared") || has("arrived without lakegate's state") {
        return Some("the Ballista cluster could not run lakegate's plan: start its scheduler and executors with lakegate-executor of the same version as this lakegate".into());
    }
    // A task that failed on the data: the executor's error, as DataFusion says it here.
    if let Some((_, dump)) = message.split_once("Task failed due to runtime execution error: ") {
        return Some(task_error(dump));
    }
    if let Some(at) = message.find("Job ").filter(|_| has(" failed: ") || has(" failed:")) {
        let job = &message[at..];
        let cut: String = job.chars().take(300).collect();
        return Some(format!("the Ballista cluster failed the query: {cut}"));
    }
    None
}

/// An executor's error, which reaches the client as the Debug form of DataFusion's error
/// (`DataFusionError(Shared(External(ArrowError(CastError("Cannot cast …")))))`), in the words the
/// same error has in this process (`Cast error: Cannot cast …`): its innermost message with its
/// kind's prefix.
fn task_error(dump: &str) -> String {
    const KINDS: &[(&str, &str)] = &[
        ("CastError", "Cast error: "),
        ("ComputeError", "Compute error: "),
        ("ArithmeticOverflow", "Arithmetic overflow: "),
        ("ParseError", "Parser error: "),
        ("CsvError", "Csv error: "),
        ("JsonError", "Json error: "),
        ("InvalidArgumentError", "Invalid argument error: "),
        ("ResourcesExhausted", "Resources exhausted: "),
        ("Execution", ""),
        ("Plan", ""),
        ("General", ""),
    ];
    if dump.contains("DivideByZero") {
        return "Divide by zero error".into();
    }
    // The innermost `Kind("message")`: the last opening `("` of the dump.
    let Some(open) = dump.rfind("(\"") else {
        return dump.chars().take(300).collect();
    };
    let kind_start = dump[..open]
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(0, |i| i + 1);
    let kind = &dump[kind_start..open];
    let mut text = String::new();
    let mut chars = dump[open + 2..].chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => text.extend(chars.next()),
            '"' => break,
            other => text.push(other),
        }
    }
    let prefix = KINDS.iter().find(|(k, _)| *k == kind).map_or("", |(_, p)| *p);
    format!("{prefix}{text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_answers_become_sentences() {
        assert!(readiness("h:1", "HTTP/1.1 200 OK\r\n\r\nready: 2 executors registered").is_ok());
        let e = readiness(
            "h:1",
            "HTTP/1.1 503 Service Unavailable\r\n\r\nnot ready: 0/1 executors registered",
        )
        .unwrap_err();
        assert!(
            e.contains("no executor ready (not ready: 0/1 executors registered)") && e.contains("--scheduler h:1"),
            "{e}"
        );
        assert!(readiness("h:1", "").unwrap_err().contains("without answering"));
        assert!(
            readiness("h:1", "HTTP/1.1 404 Not Found\r\n\r\n")
                .unwrap_err()
                .contains("HTTP 404")
        );
    }

    #[test]
    fn grpc_dumps_become_sentences() {
        let refused = "Execution error: tonic::transport::Error(Transport, ConnectError(ConnectError(\"tcp connect error\", 127.0.0.1:35723, Os { code: 111, kind: ConnectionRefused, message: \"Connection refused\" })))";
        assert!(explain(refused).unwrap().contains("refused the connection"));
        let silent = "Execution error: Status { code: Cancelled, message: \"Timeout expired\", source: Some(tonic::transport::Error(Transport, TimeoutExpired(()))) }";
        assert!(explain(silent).unwrap().contains("did not answer within"));
        assert!(explain("Schema error: no field x").is_none());
        assert!(unavailable(refused) && unavailable(silent));
        assert!(!unavailable(
            "Job 1 failed: Arrow error: Cast error: 'x' is not an Int64"
        ));
        assert!(
            !unavailable("error sending request: tcp connect error"),
            "an object store's, not the cluster's"
        );
        // A stock Ballista scheduler or executor (spikes/ballista/FINDINGS.md §3).
        let stock = r#"Status { code: InvalidArgument, message: "Could not parse plan: NotImplemented(\"LogicalExtensionCodec is not provided for scalar function lakegate_count_true\")" }"#;
        assert!(unavailable(stock));
        assert!(
            explain(stock)
                .unwrap()
                .contains("lakegate-executor of the same version")
        );
        let cast = r#"Job 038HE47D1G000 failed: Job failed due to stage 0 failed: Task failed due to runtime execution error: DataFusionError(Shared(External(ArrowError(CastError("Cannot cast string 'abc' to value of \"Int32\" type")))))"#;
        assert_eq!(
            explain(cast).unwrap(),
            r#"Cast error: Cannot cast string 'abc' to value of "Int32" type"#
        );
        let zero = "Job 1 failed: Job failed due to stage 0 failed: Task failed due to runtime execution error: ArrowError(DivideByZero, None)";
        assert_eq!(explain(zero).unwrap(), "Divide by zero error");
        assert!(!unavailable(cast));
        let rejected = "Job 01AB failed: task could not be prepared or was rejected by executor";
        assert!(unavailable(rejected));
        assert!(explain(rejected).unwrap().contains("lakegate-executor"));
    }
}
