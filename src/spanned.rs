//! A typed reader over a spanned TOML table.
//!
//! lakegate does not deserialize its configuration with serde: serde stops at the first error and its
//! `tag`/`flatten` helpers lose spans. Instead each section is read through a [`TableReader`], which
//! records every key it is asked for (so unknown keys can be listed with the valid ones), reports a
//! wrong type or a missing key as a [`Diagnostic`] pointing at the value, and keeps going so that every
//! problem of a file is reported in one pass.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diag::{Code, Diagnostic, Diags, SourceFile, did_you_mean};

/// A scalar literal from the configuration (a bound, an accepted value).
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
}

impl std::fmt::Display for Literal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Float(x) => write!(f, "{x}"),
            Literal::Str(s) => write!(f, "{s:?}"),
            Literal::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl Literal {
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Literal::Int(i) => (*i).into(),
            Literal::Float(x) => serde_json::Number::from_f64(*x).map_or(serde_json::Value::Null, Into::into),
            Literal::Str(s) => s.clone().into(),
            Literal::Bool(b) => (*b).into(),
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Literal::Int(i) => Some(*i as f64),
            Literal::Float(x) => Some(*x),
            _ => None,
        }
    }
}

/// The name TOML users know for a value's type.
fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// Reads typed values out of one TOML table, collecting diagnostics.
pub struct TableReader<'a, 'i> {
    file: &'a SourceFile,
    diags: &'a Diags,
    table: &'a DeTable<'i>,
    span: Range<usize>,
    what: String,
    known: Vec<&'static str>,
}

impl<'a, 'i> TableReader<'a, 'i> {
    /// `what` names the table in messages, e.g. "`[dataset]`".
    pub fn new(
        file: &'a SourceFile,
        diags: &'a Diags,
        table: &'a DeTable<'i>,
        span: Range<usize>,
        what: impl Into<String>,
    ) -> Self {
        Self {
            file,
            diags,
            table,
            span,
            what: what.into(),
            known: Vec::new(),
        }
    }

    pub fn file(&self) -> &'a SourceFile {
        self.file
    }

    pub fn diags(&self) -> &'a Diags {
        self.diags
    }

    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    pub fn what(&self) -> &str {
        &self.what
    }

    /// A diagnostic at a span of this file.
    pub fn error(&self, code: Code, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        Diagnostic::at(code, self.file, span, message)
    }

    /// Names the table differently in the messages still to come (e.g. once a check's kind is known).
    pub fn rename(&mut self, what: impl Into<String>) {
        self.what = what.into();
    }

    pub fn push(&self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// The raw value of a key (marking the key as known).
    pub fn raw(&mut self, key: &'static str) -> Option<&'a Spanned<DeValue<'i>>> {
        if !self.known.contains(&key) {
            self.known.push(key);
        }
        self.table.get(key)
    }

    /// Whether the table has the key (marking it as known).
    pub fn has(&mut self, key: &'static str) -> bool {
        self.raw(key).is_some()
    }

    fn wrong_type(&self, key: &str, v: &Spanned<DeValue<'_>>, expected: &str) {
        self.push(
            self.error(
                Code::WrongType,
                v.span(),
                format!("`{key}` must be {expected}, found {}", type_name(v.get_ref())),
            )
            .label(format!("expected {expected}")),
        );
    }

    /// `nan` where a bound is expected: every comparison with NaN is false, so it bounds nothing.
    fn not_a_number(&self, key: &str, v: &Spanned<DeValue<'_>>) {
        self.push(
            self.error(
                Code::NotANumber,
                v.span(),
                format!("`{key}` must be a number, found nan"),
            )
            .label("not a number")
            .help("NaN compares false with every value, so it cannot bound anything; write a number"),
        );
    }

    /// Reports a missing required key at the table's header.
    pub fn missing(&self, key: &str, help: Option<String>) {
        let mut d = self
            .error(
                Code::MissingKey,
                self.span.clone(),
                format!("{} is missing the required key `{key}`", self.what),
            )
            .label(format!("`{key}` is required here"));
        if let Some(h) = help {
            d = d.help(h);
        }
        self.push(d);
    }

    pub fn str(&mut self, key: &'static str) -> Option<Spanned<String>> {
        let v = self.raw(key)?;
        match v.get_ref() {
            DeValue::String(s) => Some(Spanned::new(v.span(), s.to_string())),
            _ => {
                self.wrong_type(key, v, "a string");
                None
            }
        }
    }

    pub fn req_str(&mut self, key: &'static str) -> Option<Spanned<String>> {
        if self.has(key) {
            self.str(key)
        } else {
            self.missing(key, None);
            None
        }
    }

    pub fn bool(&mut self, key: &'static str) -> Option<Spanned<bool>> {
        let v = self.raw(key)?;
        match v.get_ref() {
            DeValue::Boolean(b) => Some(Spanned::new(v.span(), *b)),
            _ => {
                self.wrong_type(key, v, "a boolean (true or false)");
                None
            }
        }
    }

    /// An integer or a float.
    pub fn number(&mut self, key: &'static str) -> Option<Spanned<f64>> {
        let v = self.raw(key)?;
        match literal(v.get_ref()) {
            Some(Literal::Float(f)) if f.is_nan() => {
                self.not_a_number(key, v);
                None
            }
            Some(l @ (Literal::Int(_) | Literal::Float(_))) => Some(Spanned::new(v.span(), l.as_f64()?)),
            _ => {
                self.wrong_type(key, v, "a number");
                None
            }
        }
    }

    /// A non-negative integer.
    pub fn uint(&mut self, key: &'static str) -> Option<Spanned<u64>> {
        let v = self.raw(key)?;
        match literal(v.get_ref()) {
            Some(Literal::Int(i)) if i >= 0 => Some(Spanned::new(v.span(), i.unsigned_abs())),
            Some(Literal::Int(i)) => {
                self.push(
                    self.error(
                        Code::OutOfRange,
                        v.span(),
                        format!("`{key}` must be a non-negative integer, found {i}"),
                    )
                    .label("negative"),
                );
                None
            }
            _ => {
                self.wrong_type(key, v, "a non-negative integer");
                None
            }
        }
    }

    /// A number, string, boolean or datetime (datetimes become their RFC 3339 text).
    pub fn literal(&mut self, key: &'static str) -> Option<Spanned<Literal>> {
        let v = self.raw(key)?;
        if let Some(Literal::Float(f)) = literal(v.get_ref())
            && f.is_nan()
        {
            self.not_a_number(key, v);
            None
        } else if let Some(l) = literal(v.get_ref()) {
            Some(Spanned::new(v.span(), l))
        } else {
            self.wrong_type(key, v, "a number, string, boolean or date");
            None
        }
    }

    /// An array of scalars.
    pub fn literal_list(&mut self, key: &'static str) -> Option<Spanned<Vec<Spanned<Literal>>>> {
        let v = self.raw(key)?;
        let DeValue::Array(items) = v.get_ref() else {
            self.wrong_type(key, v, "an array");
            return None;
        };
        let mut out = Vec::new();
        for item in items.iter() {
            match literal(item.get_ref()) {
                Some(l) => out.push(Spanned::new(item.span(), l)),
                None => self.wrong_type(key, item, "a number, string, boolean or date"),
            }
        }
        Some(Spanned::new(v.span(), out))
    }

    /// An array of strings; a single string is accepted as a one-element list.
    pub fn str_list(&mut self, key: &'static str) -> Option<Spanned<Vec<Spanned<String>>>> {
        let v = self.raw(key)?;
        match v.get_ref() {
            DeValue::String(s) => Some(Spanned::new(v.span(), vec![Spanned::new(v.span(), s.to_string())])),
            DeValue::Array(items) => {
                let mut out = Vec::new();
                for item in items.iter() {
                    match item.get_ref() {
                        DeValue::String(s) => out.push(Spanned::new(item.span(), s.to_string())),
                        _ => self.wrong_type(key, item, "a string"),
                    }
                }
                Some(Spanned::new(v.span(), out))
            }
            _ => {
                self.wrong_type(key, v, "an array of strings");
                None
            }
        }
    }

    /// A table whose values are all strings, in source order.
    pub fn str_map(&mut self, key: &'static str) -> Option<Spanned<Vec<(Spanned<String>, Spanned<String>)>>> {
        let v = self.raw(key)?;
        let DeValue::Table(t) = v.get_ref() else {
            self.wrong_type(key, v, "a table of strings, such as { id = \"int64\" }");
            return None;
        };
        let mut out = Vec::new();
        for (k, item) in t.iter() {
            match item.get_ref() {
                DeValue::String(s) => out.push((
                    Spanned::new(k.span(), k.get_ref().to_string()),
                    Spanned::new(item.span(), s.to_string()),
                )),
                _ => self.wrong_type(k.get_ref(), item, "a string"),
            }
        }
        Some(Spanned::new(v.span(), out))
    }

    /// A nested table, read with its own reader.
    pub fn table(&mut self, key: &'static str, what: impl Into<String>) -> Option<TableReader<'a, 'i>> {
        let v = self.raw(key)?;
        match v.get_ref() {
            DeValue::Table(t) => Some(TableReader::new(self.file, self.diags, t, v.span(), what)),
            _ => {
                self.wrong_type(key, v, "a table");
                None
            }
        }
    }

    /// An array of tables (`[[check]]`), each read with its own reader.
    pub fn table_array(&mut self, key: &'static str) -> Vec<TableReader<'a, 'i>> {
        let Some(v) = self.raw(key) else {
            return Vec::new();
        };
        let DeValue::Array(items) = v.get_ref() else {
            self.wrong_type(key, v, "an array of tables");
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match item.get_ref() {
                DeValue::Table(t) => out.push(TableReader::new(
                    self.file,
                    self.diags,
                    t,
                    item.span(),
                    format!("[[{key}]] #{}", i + 1),
                )),
                _ => self.wrong_type(key, item, "a table"),
            }
        }
        out
    }

    /// Keys present in the table that nobody asked for, with their spans.
    pub fn unknown_keys(&self) -> Vec<(String, Range<usize>)> {
        self.table
            .iter()
            .filter(|(k, _)| !self.known.contains(&k.get_ref().as_ref()))
            .map(|(k, _)| (k.get_ref().to_string(), k.span()))
            .collect()
    }

    /// Reports unknown keys, naming the closest valid key and listing all of them.
    pub fn finish(&self) {
        self.finish_with_hint(None);
    }

    /// Like [`finish`](Self::finish), with an extra sentence for the help line.
    pub fn finish_with_hint(&self, hint: Option<&str>) {
        for (key, span) in self.unknown_keys() {
            let mut help = did_you_mean(&key, &self.known, "valid keys:");
            if let Some(h) = hint {
                help.push_str("; ");
                help.push_str(h);
            }
            self.push(
                self.error(Code::UnknownKey, span, format!("unknown key `{key}` in {}", self.what))
                    .label("unknown key")
                    .help(help),
            );
        }
    }

    /// The keys asked for so far (for documentation tests).
    pub fn known(&self) -> &[&'static str] {
        &self.known
    }
}

fn literal(v: &DeValue<'_>) -> Option<Literal> {
    Some(match v {
        DeValue::String(s) => Literal::Str(s.to_string()),
        DeValue::Integer(i) => Literal::Int(i64::from_str_radix(i.as_str(), i.radix()).ok()?),
        DeValue::Float(f) => Literal::Float(parse_float(f.as_str())?),
        DeValue::Boolean(b) => Literal::Bool(*b),
        DeValue::Datetime(d) => Literal::Str(d.to_string()),
        DeValue::Array(_) | DeValue::Table(_) => return None,
    })
}

fn parse_float(s: &str) -> Option<f64> {
    let s = s.replace('_', "");
    match s.as_str() {
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" | "+nan" | "-nan" => Some(f64::NAN),
        other => other.parse().ok(),
    }
}

/// Parses a whole TOML document, turning a syntax error into a diagnostic.
pub fn parse_document<'i>(file: &SourceFile, text: &'i str) -> Result<Spanned<DeTable<'i>>, Diagnostic> {
    DeTable::parse(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let msg = e.message().trim().to_string();
        Diagnostic::at(Code::TomlSyntax, file, span, format!("this is not valid TOML: {msg}"))
            .label("here")
            .help(
                "see https://toml.io for the syntax; strings need quotes, tables are [name], lists of tables [[name]]",
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_reader(text: &str, f: impl FnOnce(&mut TableReader<'_, '_>)) -> Vec<Diagnostic> {
        let file = SourceFile::new("t.toml", text);
        let diags = Diags::default();
        let doc = parse_document(&file, text).unwrap();
        let mut r = TableReader::new(&file, &diags, doc.get_ref(), 0..0, "the table");
        f(&mut r);
        r.finish();
        diags.into_vec()
    }

    #[test]
    fn reads_values_and_reports_wrong_types() {
        let d = with_reader("a = \"x\"\nb = 3\nc = [1, \"y\"]\nd = true\n", |r| {
            assert_eq!(r.str("a").unwrap().into_inner(), "x");
            assert_eq!(r.uint("b").unwrap().into_inner(), 3);
            assert_eq!(r.literal_list("c").unwrap().into_inner().len(), 2);
            assert!(r.str("d").is_none());
        });
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("`d` must be a string, found a boolean"));
        assert_eq!(d[0].location().unwrap().1, 4);
    }

    #[test]
    fn unknown_keys_name_the_closest_valid_one() {
        let d = with_reader("colum = \"x\"\n", |r| {
            let _ = r.str("column");
        });
        assert_eq!(d.len(), 1);
        assert!(d[0].help.as_deref().unwrap().starts_with("did you mean `column`?"));
        assert_eq!(d[0].location().unwrap().2, 1);
    }

    #[test]
    fn syntax_errors_have_a_location() {
        let file = SourceFile::new("t.toml", "a = \nb = 1\n");
        let e = parse_document(&file, &file.text.clone()).unwrap_err();
        assert_eq!(e.location().unwrap().1, 1);
    }
}
