//! JSON Schemas for `lakegate.toml` and for suites, so that editors (Even Better TOML / taplo)
//! validate and complete them as they are typed. They are generated from the code's own key
//! tables — every check kind's [`KeyDoc`]s in the registry and the tables below — checked in under
//! `schemas/` (a test fails when the copies are stale, another that the tables name exactly the
//! keys the readers accept), and printed by `lakegate schema-json`.
//!
//! The schemas accept every valid file (they are deliberately no stricter than lakegate: values
//! lakegate checks in context, such as a cron expression or a SQL fragment, are plain strings) and
//! reject a misspelled key anywhere (`additionalProperties: false`).

use serde_json::{Map, Value, json};

use crate::checks::common::COMMON_KEYS;
use crate::checks::{KeyDoc, REGISTRY};

const fn key(name: &'static str, ty: &'static str, required: bool, doc: &'static str) -> KeyDoc {
    KeyDoc {
        name,
        ty,
        required,
        doc,
    }
}

/// A suite's top level.
pub const SUITE_KEYS: &[KeyDoc] = &[
    key(
        "version",
        "string",
        false,
        "The suite's own version, free text (shown in results).",
    ),
    key("dataset", "table", true, "The dataset this suite checks."),
    key(
        "check",
        "array of tables",
        true,
        "The checks, one `[[check]]` table each.",
    ),
];

/// `[dataset]`.
pub const DATASET_KEYS: &[KeyDoc] = &[
    key(
        "name",
        "string",
        true,
        "The dataset's name: letters, digits, `_` and `-` (part of every check id).",
    ),
    key(
        "zone",
        "string",
        true,
        "The zone the dataset lives in (a zone of lakegate.toml).",
    ),
    key(
        "path",
        "string",
        true,
        "A file, a directory (read recursively) or a glob, relative to the zone.",
    ),
    key(
        "format",
        "\"parquet\" | \"csv\" | \"json\"",
        false,
        "The files' format (default: from their extensions).",
    ),
    key(
        "partitions",
        "array of strings",
        false,
        "Hive partition keys (default: `key=value` directories are detected).",
    ),
    key("csv", "table", false, "CSV reading options."),
    key(
        "types",
        "table of name = type",
        false,
        "Declared column types; values read are cast to them.",
    ),
    key(
        "key",
        "array of strings",
        false,
        "Columns that identify a row; shown in every failing-row sample.",
    ),
    key(
        "schedule",
        "string",
        false,
        "When `lakegate audit` runs this suite: a cron expression (docs/audit.md).",
    ),
    key(
        "timezone",
        "string",
        false,
        "The IANA time zone `schedule` is read in (default UTC).",
    ),
    key(
        "on_fail",
        "\"keep\" | \"quarantine\"",
        false,
        "What a failed promotion does with the batch.",
    ),
    key(
        "description",
        "string",
        false,
        "What the dataset holds (shown in the report).",
    ),
    key("owner", "string", false, "Who owns the dataset (shown in the report)."),
    key(
        "owners",
        "array of strings",
        false,
        "Email addresses that receive this dataset's alerts.",
    ),
];

/// `[dataset.csv]`.
pub const CSV_KEYS: &[KeyDoc] = &[
    key(
        "header",
        "boolean",
        false,
        "Whether the first line names the columns (default true).",
    ),
    key(
        "delimiter",
        "string",
        false,
        "One ASCII character (default `,`; `\\t` for tabs).",
    ),
    key("quote", "string", false, "One ASCII character (default `\"`)."),
    key("escape", "string", false, "One ASCII character, or none (default)."),
    key(
        "comment",
        "string",
        false,
        "Lines starting with this character are skipped.",
    ),
    key(
        "null_values",
        "array of strings",
        false,
        "Values read as null (default: the empty string).",
    ),
];

/// `lakegate.toml`'s top level.
pub const PROJECT_KEYS: &[KeyDoc] = &[
    key(
        "suites",
        "array of strings",
        false,
        "Globs of suite files, relative to this file (default `checks/*.toml`).",
    ),
    key("lake", "table", true, "Where the lake is."),
    key(
        "zones",
        "table of name = path",
        false,
        "Zone name = folder inside the lake root (default raw, cleaned, curated, quarantine).",
    ),
    key("engine", "table", false, "How DataFusion runs."),
    key("history", "table", false, "The history store."),
    key("report", "table", false, "The HTML report."),
    key("alerts", "table", false, "Email and webhook alerts."),
    key("audit", "table", false, "Defaults for `lakegate audit`."),
    key("lineage", "table", false, "Where OpenLineage run events go."),
];

/// The keys of each table of `lakegate.toml` (by its name in [`PROJECT_KEYS`] or `alerts.email` /
/// `alerts.webhook`).
pub const PROJECT_TABLES: &[(&str, &[KeyDoc])] = &[
    (
        "lake",
        &[key(
            "root",
            "string",
            true,
            "The lake's root directory, relative to this file.",
        )],
    ),
    (
        "engine",
        &[
            key(
                "memory_limit",
                "string",
                false,
                "DataFusion's memory pool, e.g. \"2GB\" (operators spill beyond it).",
            ),
            key("concurrency", "integer", false, "Datasets checked at once."),
            key(
                "target_partitions",
                "integer",
                false,
                "DataFusion partitions per query (default: the cores).",
            ),
            key(
                "infer_rows",
                "integer",
                false,
                "CSV/JSON records read per file to infer column types.",
            ),
            key(
                "statistics",
                "boolean",
                false,
                "Answer counts and bounds from exact Parquet statistics (default true).",
            ),
            key(
                "url",
                "string",
                false,
                "Where queries run: \"ballista://HOST:PORT\" (a Ballista scheduler), or \"local\" (the default).",
            ),
            key(
                "incremental",
                "boolean",
                false,
                "Read only files new or changed since the last run (default: on for `audit`, off for `check`).",
            ),
        ],
    ),
    (
        "history",
        &[key(
            "dir",
            "string",
            false,
            "The history store's directory (default `.lakegate/history`).",
        )],
    ),
    (
        "report",
        &[
            key("dir", "string", false, "Where `check` writes the HTML report."),
            key(
                "templates",
                "string",
                false,
                "Templates that replace the built-in ones, file by file.",
            ),
            key(
                "base_url",
                "string",
                false,
                "Where the report is published (links in alert emails).",
            ),
            key(
                "keep_runs",
                "integer",
                false,
                "Run pages kept per dataset (older ones are removed; default 500).",
            ),
        ],
    ),
    (
        "alerts",
        &[
            key(
                "on",
                "\"failure\" | \"warning\" | \"change\" | \"always\" | \"never\"",
                false,
                "When alerts go out (default failure).",
            ),
            key(
                "repeat",
                "string",
                false,
                "Under `change`: remind after this long while a check keeps firing (\"0\": never).",
            ),
            key(
                "outbox",
                "string",
                false,
                "Where undelivered alerts wait (default: beside the history store).",
            ),
            key(
                "email",
                "array of tables",
                false,
                "SMTP relays, one `[[alerts.email]]` each.",
            ),
            key(
                "webhook",
                "array of tables",
                false,
                "Webhooks, one `[[alerts.webhook]]` each.",
            ),
        ],
    ),
    (
        "alerts.email",
        &[
            key(
                "url",
                "string",
                false,
                "smtp://host:port (STARTTLS when offered) or smtps://host:port.",
            ),
            key("smtp_url", "string", false, "Another name for `url`."),
            key("from", "string", true, "The sender address."),
            key("to", "array of strings", true, "Recipients."),
            key("cc", "array of strings", false, "Copied recipients."),
            key("username", "string", false, "The relay login."),
            key(
                "password_env",
                "string",
                false,
                "The environment variable holding the password (never the password).",
            ),
            key(
                "starttls",
                "\"required\"",
                false,
                "Refuse a relay that does not offer STARTTLS.",
            ),
            key(
                "tls_ca_file",
                "string",
                false,
                "A PEM file of certificates to trust (a private CA).",
            ),
        ],
    ),
    (
        "alerts.webhook",
        &[
            key("url", "string", false, "http:// or https:// endpoint (or `url_env`)."),
            key("url_env", "string", false, "The environment variable holding the URL."),
            key(
                "secret_env",
                "string",
                false,
                "The environment variable holding the HMAC-SHA256 signing secret.",
            ),
            key(
                "tls_ca_file",
                "string",
                false,
                "A PEM file of certificates to trust (a private CA).",
            ),
        ],
    ),
    (
        "lineage",
        &[
            key(
                "url",
                "string",
                false,
                "An OpenLineage HTTP endpoint, e.g. http://localhost:5000/api/v1/lineage (or `file`).",
            ),
            key(
                "file",
                "string",
                false,
                "A file that gets one JSON event a line (or `url`).",
            ),
            key(
                "namespace",
                "string",
                false,
                "The jobs' namespace (default `lakegate`).",
            ),
            key(
                "api_key_env",
                "string",
                false,
                "The environment variable holding an API key, sent as `Authorization: Bearer`.",
            ),
            key(
                "timeout",
                "string",
                false,
                "How long one try to deliver an event may wait, e.g. \"10s\" (default 20s; three tries).",
            ),
            key(
                "tls_ca_file",
                "string",
                false,
                "A PEM file of certificates to trust (a private CA).",
            ),
        ],
    ),
    (
        "audit",
        &[
            key(
                "schedule",
                "string",
                false,
                "A cron expression for suites without their own.",
            ),
            key(
                "timezone",
                "string",
                false,
                "The IANA time zone schedules are read in (default UTC).",
            ),
            key(
                "overlap",
                "\"skip\" | \"queue\"",
                false,
                "A slot that comes while the suite still runs: skip it or run once after.",
            ),
            key("jobs", "integer", false, "Suites that run at the same time."),
            key(
                "grace",
                "string",
                false,
                "How long a stopping daemon waits for running suites, e.g. \"60s\".",
            ),
            key(
                "heartbeat_url",
                "string",
                false,
                "Pinged (POST) after each run that happened.",
            ),
        ],
    ),
];

/// The JSON Schema of one value from a [`KeyDoc`] type.
fn type_schema(ty: &str) -> Value {
    if ty.starts_with('"') {
        let values: Vec<&str> = ty.split('|').map(|v| v.trim().trim_matches('"')).collect();
        return json!({ "type": "string", "enum": values });
    }
    match ty {
        "integer" => json!({ "type": "integer", "minimum": 0 }),
        "number" => json!({ "type": "number" }),
        "number 0..1" => json!({ "type": "number", "minimum": 0, "maximum": 1 }),
        "number or string" => json!({ "type": ["number", "string"] }),
        "boolean" => json!({ "type": "boolean" }),
        "array" => json!({ "type": "array" }),
        "array of strings" => json!({ "type": "array", "items": { "type": "string" } }),
        "string or array of strings" => {
            json!({ "anyOf": [{ "type": "string" }, { "type": "array", "items": { "type": "string" } }] })
        }
        "table of name = type" | "table of name = path" => {
            json!({ "type": "object", "additionalProperties": { "type": "string" } })
        }
        "table" => json!({ "type": "object" }),
        "array of tables" => json!({ "type": "array", "items": { "type": "object" } }),
        // Strings lakegate checks in context: SQL fragments, durations, regexes, names.
        _ => json!({ "type": "string" }),
    }
}

/// An object schema with exactly these keys; `extra` replaces the schema of some keys.
fn object(keys: &[KeyDoc], extra: &[(&str, Value)]) -> Value {
    let mut props = Map::new();
    for k in keys {
        let mut s = extra
            .iter()
            .find(|(n, _)| *n == k.name)
            .map_or_else(|| type_schema(k.ty), |(_, v)| v.clone());
        if let Value::Object(m) = &mut s {
            m.insert("description".into(), Value::String(k.doc.to_string()));
        }
        props.insert(k.name.to_string(), s);
    }
    let required: Vec<&str> = keys.iter().filter(|k| k.required).map(|k| k.name).collect();
    let mut o = json!({ "type": "object", "properties": props, "additionalProperties": false });
    if !required.is_empty() {
        o["required"] = json!(required);
    }
    o
}

/// One `[[check]]` of a kind: the common keys, the kind's keys, `kind` fixed to its name.
fn check_schema(kind: &crate::checks::KindSpec) -> Value {
    let mut keys: Vec<KeyDoc> = COMMON_KEYS.to_vec();
    keys.extend(kind.keys.iter().cloned());
    let mut s = object(&keys, &[("kind", json!({ "const": kind.name }))]);
    s["title"] = json!(kind.name);
    s["description"] = json!(kind.summary);
    s
}

/// The schema of a suite file (`checks/*.toml`).
pub fn suite() -> Value {
    let checks: Vec<Value> = REGISTRY.iter().map(|k| check_schema(k)).collect();
    let dataset = object(DATASET_KEYS, &[("csv", object(CSV_KEYS, &[]))]);
    let mut s = object(
        SUITE_KEYS,
        &[
            ("dataset", dataset),
            ("check", json!({ "type": "array", "items": { "oneOf": checks } })),
        ],
    );
    s["$schema"] = json!("http://json-schema.org/draft-07/schema#");
    s["$id"] = json!("https://lakegate.dev/schemas/suite.schema.json");
    s["title"] = json!("lakegate suite");
    s
}

/// The schema of `lakegate.toml`.
pub fn project() -> Value {
    let table =
        |name: &str| -> &'static [KeyDoc] { PROJECT_TABLES.iter().find(|(n, _)| *n == name).map_or(&[], |(_, k)| k) };
    let alerts = object(
        table("alerts"),
        &[
            (
                "email",
                json!({ "type": "array", "items": object(table("alerts.email"), &[]) }),
            ),
            (
                "webhook",
                json!({ "type": "array", "items": object(table("alerts.webhook"), &[]) }),
            ),
        ],
    );
    let extra: Vec<(&str, Value)> = ["lake", "engine", "history", "report", "audit", "lineage"]
        .iter()
        .map(|n| (*n, object(table(n), &[])))
        .chain([("alerts", alerts)])
        .collect();
    let mut s = object(PROJECT_KEYS, &extra);
    s["$schema"] = json!("http://json-schema.org/draft-07/schema#");
    s["$id"] = json!("https://lakegate.dev/schemas/lakegate.schema.json");
    s["title"] = json!("lakegate project (lakegate.toml)");
    s
}

/// The checked-in copies: path and content.
pub fn files() -> Vec<(String, String)> {
    let pretty = |v: Value| serde_json::to_string_pretty(&v).unwrap_or_default() + "\n";
    vec![
        ("schemas/suite.schema.json".into(), pretty(suite())),
        ("schemas/lakegate.schema.json".into(), pretty(project())),
    ]
}
