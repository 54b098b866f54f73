//! `[lineage]` in `lakegate.toml`: where OpenLineage run events go — an HTTP endpoint (`url`, e.g.
//! Marquez's `http://host:5000/api/v1/lineage`) or a file of one event a line (`file`) — the job
//! namespace (`namespace`, default `lakegate`), for endpoints that want one an API key read from
//! the environment variable `api_key_env` (sent as `Authorization: Bearer`, never logged), and how
//! long one try to deliver an event may wait (`timeout`, a duration such as `"10s"`; default 20 s).

use std::path::{Path, PathBuf};

use crate::config::alerts::{UrlSource, WEBHOOK_URLS, WebhookChannel};
use crate::diag::Code;
use crate::spanned::TableReader;

/// Where events go.
#[derive(Debug, Clone)]
pub(crate) enum LineageTarget {
    /// POSTed, one event a request (the webhook client: http or https, `tls_ca_file`).
    Http(WebhookChannel),
    /// Appended to this file, one JSON event a line.
    File(PathBuf),
}

/// `[lineage]`.
#[derive(Debug, Clone)]
pub(crate) struct LineageConfig {
    pub target: LineageTarget,
    /// The OpenLineage job namespace.
    pub namespace: String,
}

/// Reads `[lineage]`; `None` when absent (no events) or invalid (with diagnostics).
pub(super) fn read(top: &mut TableReader<'_, '_>, dir: &Path) -> Option<LineageConfig> {
    let mut t = top.table("lineage", "`[lineage]`")?;
    let url = t.str("url");
    let file = t.str("file");
    let tls_ca_file = t.str("tls_ca_file").map(|f| dir.join(f.get_ref()));
    let bearer_env = t.str("api_key_env").map(toml::Spanned::into_inner);
    let namespace = t
        .str("namespace")
        .map_or_else(|| "lakegate".to_string(), toml::Spanned::into_inner);
    let timeout = t
        .str("timeout")
        .and_then(|v| match crate::duration::parse(v.get_ref()) {
            Ok(d) if !d.is_zero() => Some(d),
            Ok(_) => {
                t.push(
                    t.error(Code::InvalidValue, v.span(), "`timeout` is zero")
                        .label("no try could finish")
                        .help("how long one try to deliver an event may wait, e.g. \"10s\""),
                );
                None
            }
            Err(e) => {
                t.push(
                    t.error(
                        Code::InvalidValue,
                        v.span(),
                        format!("`timeout` is not a duration: {e}"),
                    )
                    .label("not a duration")
                    .help(crate::duration::DURATION_HELP),
                );
                None
            }
        });
    let target = match (url, file) {
        (Some(u), None) => match WEBHOOK_URLS.parse(u.get_ref()) {
            Ok(endpoint) => Some(LineageTarget::Http(WebhookChannel {
                url: u.get_ref().clone(),
                source: UrlSource::Literal(endpoint),
                tls_ca_file,
                secret_env: None,
                bearer_env,
                timeout,
            })),
            Err(e) => {
                t.push(
                    t.error(Code::InvalidValue, u.span(), format!("`url`: {e}"))
                        .label("not an OpenLineage endpoint")
                        .help("write it like \"http://localhost:5000/api/v1/lineage\" (Marquez)"),
                );
                None
            }
        },
        (None, Some(f)) => Some(LineageTarget::File(dir.join(f.get_ref()))),
        (Some(_), Some(f)) => {
            t.push(
                t.error(Code::ConflictingKeys, f.span(), "both `url` and `file` are given")
                    .label("the second target")
                    .help("events go to one place: an HTTP endpoint (`url`) or a file (`file`)"),
            );
            None
        }
        (None, None) => {
            t.missing(
                "url",
                Some("add `url = \"http://localhost:5000/api/v1/lineage\"`, or `file = \"lineage.jsonl\"`".into()),
            );
            None
        }
    };
    t.finish();
    Some(LineageConfig {
        target: target?,
        namespace,
    })
}
