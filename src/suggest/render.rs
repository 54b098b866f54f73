//! The suggested suite as TOML text: a header saying where it came from, the `[dataset]` table,
//! one commented `[[check]]` per suggestion, and what was left out and why.

use std::fmt::Write as _;

use toml::Value;

use super::rules::{Suggested, Suggestions};
use crate::suite::{CsvSpec, DatasetSpec};

/// A TOML key, bare when it can be.
fn key(k: &str) -> String {
    if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        k.to_string()
    } else {
        Value::String(k.to_string()).to_string()
    }
}

/// A value on one line (tables inline).
pub(crate) fn value(v: &Value) -> String {
    match v {
        Value::Table(t) => {
            let items: Vec<String> = t.iter().map(|(k, v)| format!("{} = {}", key(k), value(v))).collect();
            format!("{{ {} }}", items.join(", "))
        }
        Value::Array(a) => format!("[{}]", a.iter().map(value).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

fn string(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

fn strings(list: &[String]) -> String {
    format!("[{}]", list.iter().map(|s| string(s)).collect::<Vec<_>>().join(", "))
}

/// `text` as `# ` comment lines of at most about 100 characters.
fn comment(out: &mut String, text: &str) {
    let mut line = String::from("#");
    for word in text.split(' ') {
        if line.len() > 1 && line.len() + 1 + word.len() > 100 {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#  ");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
}

/// The `csv` options when they differ from the defaults.
fn csv_options(csv: &CsvSpec) -> Option<String> {
    let d = CsvSpec::default();
    let ch = |b: u8| string(&char::from(b).to_string());
    let mut parts = Vec::new();
    if csv.header != d.header {
        parts.push(format!("header = {}", csv.header));
    }
    if csv.delimiter != d.delimiter {
        parts.push(format!("delimiter = {}", ch(csv.delimiter)));
    }
    if csv.quote != d.quote {
        parts.push(format!("quote = {}", ch(csv.quote)));
    }
    if let Some(e) = csv.escape {
        parts.push(format!("escape = {}", ch(e)));
    }
    if let Some(c) = csv.comment {
        parts.push(format!("comment = {}", ch(c)));
    }
    if csv.null_values != d.null_values {
        parts.push(format!("null_values = {}", strings(&csv.null_values)));
    }
    (!parts.is_empty()).then(|| format!("{{ {} }}", parts.join(", ")))
}

/// How the `[dataset]` table is written.
pub(crate) struct DatasetTable<'a> {
    pub spec: &'a DatasetSpec,
    pub name: &'a str,
    /// The format the files were read as.
    pub format: &'a str,
    /// Partition keys found (written when the spec leaves them to detection).
    pub partitions: &'a [String],
}

fn dataset(out: &mut String, d: &DatasetTable<'_>) {
    let s = d.spec;
    out.push_str("[dataset]\n");
    let _ = writeln!(out, "name = {}", string(d.name));
    let _ = writeln!(out, "zone = {}", string(s.zone.get_ref()));
    let _ = writeln!(out, "path = {}", string(s.path.get_ref()));
    let _ = writeln!(out, "format = {}", string(d.format));
    match &s.partitions {
        Some(p) => {
            let _ = writeln!(out, "partitions = {}", strings(p));
        }
        None if !d.partitions.is_empty() => {
            let _ = writeln!(out, "partitions = {}", strings(d.partitions));
        }
        None => {}
    }
    if let Some(csv) = csv_options(&s.csv) {
        let _ = writeln!(out, "csv = {csv}");
    }
    if !s.types.is_empty() {
        let items: Vec<String> = s
            .types
            .iter()
            .map(|(c, t)| format!("{} = {}", key(c.get_ref()), string(&t.to_string())))
            .collect();
        let _ = writeln!(out, "types = {{ {} }}", items.join(", "));
    }
    if !s.key.is_empty() {
        let _ = writeln!(out, "key = {}", strings(&s.key));
    }
    for (k, v) in [
        ("description", &s.description),
        ("owner", &s.owner),
        ("schedule", &s.schedule),
        ("timezone", &s.timezone),
    ] {
        if let Some(v) = v {
            let _ = writeln!(out, "{k} = {}", string(v));
        }
    }
    if !s.owners.is_empty() {
        let _ = writeln!(out, "owners = {}", strings(&s.owners));
    }
    if s.on_fail == crate::suite::OnFail::Quarantine {
        out.push_str("on_fail = \"quarantine\"\n");
    }
}

fn check(out: &mut String, c: &Suggested) {
    out.push('\n');
    comment(out, &c.evidence);
    out.push_str("[[check]]\n");
    let _ = writeln!(out, "kind = {}", string(c.kind));
    if let Some(col) = &c.column {
        let _ = writeln!(out, "column = {}", string(col));
    }
    for (k, v) in &c.keys {
        let _ = writeln!(out, "{k} = {}", value(v));
    }
}

/// The whole suite: `header` comment lines, the dataset, the checks, the notes.
pub(crate) fn suite(header: &[String], d: &DatasetTable<'_>, s: &Suggestions) -> String {
    let mut out = String::new();
    for h in header {
        comment(&mut out, h);
    }
    out.push_str("version = \"0.1\"\n\n");
    dataset(&mut out, d);
    for c in &s.checks {
        check(&mut out, c);
    }
    if !s.notes.is_empty() {
        out.push_str("\n# Not suggested:\n");
        for n in &s.notes {
            comment(&mut out, &format!("- {n}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_toml() {
        let mut t = toml::map::Map::new();
        t.insert("a b".into(), Value::String("x\"y".into()));
        t.insert("c".into(), Value::Integer(1));
        assert_eq!(value(&Value::Table(t)), r#"{ "a b" = 'x"y', c = 1 }"#);
        assert_eq!(value(&Value::Float(10_900.0)), "10900.0");
        assert_eq!(value(&Value::Float(0.018)), "0.018");
    }

    #[test]
    fn comments_wrap() {
        let mut out = String::new();
        comment(&mut out, &"word ".repeat(40));
        assert!(out.lines().count() > 1);
        assert!(out.lines().all(|l| l.starts_with('#') && l.len() <= 106));
    }
}
