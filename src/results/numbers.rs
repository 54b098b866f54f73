//! Numbers and values as people read them in messages, reports and alerts: `1,234,567`, `1 row`,
//! `0.3%`, a JSON value cut short.

/// `1,234,567`.
pub fn fmt_count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1 row`, `0 rows`, `1,234 files`: a count and its noun in the right number.
pub fn count_of(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", fmt_count(n), if n == 1 { one } else { many })
}

/// `0.3%`, `12%`, `0.012%`.
pub fn fmt_pct(f: f64) -> String {
    let p = f * 100.0;
    if p == 0.0 {
        "0%".into()
    } else if p >= 10.0 {
        format!("{p:.0}%")
    } else if p >= 1.0 {
        format!("{p:.1}%").replace(".0%", "%")
    } else {
        let s = format!("{p:.3}");
        format!("{}%", s.trim_end_matches('0').trim_end_matches('.'))
    }
}

/// A size in bytes for people: `812 B`, `13.8 KB`, `2.1 GB` (powers of 1,024).
pub fn fmt_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// How many characters of a value an alert or a summary shows before cutting it.
pub const VALUE_CHARS: usize = 80;

/// A JSON value as a short string (strings without quotes), cut at [`VALUE_CHARS`] with `…`.
pub fn short_value(v: &serde_json::Value) -> String {
    let s = match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "null".into(),
        other => other.to_string(),
    };
    if s.chars().count() > VALUE_CHARS {
        let cut: String = s.chars().take(VALUE_CHARS).collect();
        format!("{cut}…")
    } else {
        s
    }
}
