//! Durations as suites write them: `90m`, `6h`, `2d`, `1h30m`.
//!
//! `humantime` accepts many spellings ("6 hours", "6hrs"); a suite is a contract, so lakegate accepts
//! one compact form and says exactly what is valid when a value is not.

use std::time::Duration;

/// What a valid duration looks like, for help lines.
pub(crate) const DURATION_HELP: &str =
    "write a whole number followed by a unit, e.g. \"90m\", \"6h\", \"2d\" or \"1h30m\" (units: s, m, h, d, w)";

pub(crate) fn parse(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("the duration is empty".into());
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            c if c.is_whitespace() => return Err("spaces are not allowed".into()),
            _ => return Err(format!("`{c}` is not a duration unit")),
        };
        if digits.is_empty() {
            return Err(format!("unit `{c}` has no number before it"));
        }
        let n: u64 = digits.parse().map_err(|_| "the number is too large".to_string())?;
        total = total
            .checked_add(n.checked_mul(unit).ok_or("the duration is too large")?)
            .ok_or("the duration is too large")?;
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(format!("`{digits}` has no unit"));
    }
    Ok(Duration::from_secs(total))
}

/// Formats seconds compactly: `3h 12m`, `2d 4h`, `45s`.
pub(crate) fn human(secs: i64) -> String {
    let neg = secs < 0;
    let s = secs.unsigned_abs();
    let (d, h, m, sec) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60, s % 60);
    let out = if d > 0 {
        if h > 0 { format!("{d}d {h}h") } else { format!("{d}d") }
    } else if h > 0 {
        if m > 0 { format!("{h}h {m}m") } else { format!("{h}h") }
    } else if m > 0 {
        if sec > 0 {
            format!("{m}m {sec}s")
        } else {
            format!("{m}m")
        }
    } else {
        format!("{sec}s")
    };
    if neg { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_compact_forms() {
        assert_eq!(parse("90m").unwrap().as_secs(), 5400);
        assert_eq!(parse("6h").unwrap().as_secs(), 21_600);
        assert_eq!(parse("2d").unwrap().as_secs(), 172_800);
        assert_eq!(parse("1h30m").unwrap().as_secs(), 5400);
    }

    #[test]
    fn rejects_other_forms() {
        assert!(parse("6 hours").is_err());
        assert!(parse("6").is_err());
        assert!(parse("h").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn formats_human() {
        assert_eq!(human(3 * 3600 + 12 * 60), "3h 12m");
        assert_eq!(human(45), "45s");
        assert_eq!(human(2 * 86_400 + 4 * 3600), "2d 4h");
    }
}
