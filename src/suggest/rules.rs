//! From a profile to suggested checks: every rule and margin of `lakegate suggest` (docs/suggest.md
//! describes them for users; keep the two in step).
//!
//! Each rule must give a check that passes on the data it came from and would still pass on more
//! data drawn the same way, yet fails on plausible breakage. So no exact counts, bounds widened by
//! a stated margin, value sets only when small and every value seen several times, `unique` only
//! for columns that are unique and look like ids, and a freshness age from the data's own cadence.

use chrono::{DateTime, Utc};
use toml::Value;

use crate::engine::profile::{ColumnClass, ColumnProfile, Profile};
use crate::results::numbers::{fmt_count, fmt_pct};

/// Ranges are widened on each side by this share of the observed span.
pub(crate) const RANGE_MARGIN: f64 = 0.10;
/// A tolerated fraction (nulls, rare values, NaNs) is this many times the observed one …
pub(crate) const FRACTION_FACTOR: f64 = 1.5;
/// … plus this many (one percentage point).
pub(crate) const FRACTION_SLACK: f64 = 0.01;
/// A value set lists at most this many values.
pub(crate) const MAX_SET: usize = 20;
/// A value belongs to a set only when seen at least this many times.
pub(crate) const MIN_SEEN: u64 = 5;
/// Values seen fewer times may make up at most this share of a column, or no set is suggested.
pub(crate) const MAX_RARE_SHARE: f64 = 0.01;
/// A `length` check allows values up to this many times the longest one seen.
pub(crate) const LENGTH_FACTOR: u64 = 2;
/// `freshness` allows the current age plus this many intervals between values …
pub(crate) const CADENCE_FACTOR: i64 = 3;
/// … and at least this much (seconds).
pub(crate) const MIN_FRESHNESS_SLACK: i64 = 3600;

/// One suggested check.
#[derive(Debug, Clone)]
pub(crate) struct Suggested {
    pub kind: &'static str,
    pub column: Option<String>,
    /// The keys after `kind` and `column`, in order.
    pub keys: Vec<(&'static str, Value)>,
    /// Why: the evidence and the margin, as a sentence.
    pub evidence: String,
}

impl Suggested {
    fn new(kind: &'static str, column: Option<&str>, evidence: String) -> Self {
        Self {
            kind,
            column: column.map(str::to_string),
            keys: Vec::new(),
            evidence,
        }
    }

    fn key(mut self, k: &'static str, v: impl Into<Value>) -> Self {
        self.keys.push((k, v.into()));
        self
    }
}

/// What the rules found: the checks, and notes on what was left out and why.
#[derive(Debug, Default)]
pub(crate) struct Suggestions {
    pub checks: Vec<Suggested>,
    pub notes: Vec<String>,
}

/// Whether a column's name says it identifies something: `id`, `key`, `uuid`, or ending in
/// `_id`, `_key`, `_uuid` (or `-`), or camel case `…Id`, `…ID`, `…Key`.
pub(crate) fn id_like(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if ["id", "key", "uuid"].contains(&lower.as_str()) {
        return true;
    }
    if ["_id", "-id", "_key", "-key", "_uuid", "-uuid"]
        .iter()
        .any(|s| lower.ends_with(s))
    {
        return true;
    }
    let camel = |suffix: &str| {
        name.strip_suffix(suffix)
            .and_then(|rest| rest.chars().last())
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    };
    camel("Id") || camel("ID") || camel("Key")
}

/// The column a `unique` check may be suggested for, whose exact distinct count the profile
/// must therefore measure: the dataset's declared one-column `key`, else the first column whose
/// name looks like an id, else the first integer column (partition keys and types other than
/// integers and strings left out). Other unique columns (a foreign key that happens not to repeat
/// in a small batch) get none: one key per dataset is what a later batch can be trusted to keep.
pub(crate) fn key_candidates(columns: &[(String, ColumnClass, bool)], declared: &[String]) -> Vec<String> {
    let usable = |c: &&(String, ColumnClass, bool)| !c.2 && matches!(c.1, ColumnClass::Integer | ColumnClass::String);
    let pick = match declared {
        [k] => columns.iter().filter(usable).find(|c| c.0 == *k),
        [] => columns
            .iter()
            .filter(usable)
            .find(|c| id_like(&c.0))
            .or_else(|| columns.iter().filter(usable).find(|c| c.1 == ColumnClass::Integer)),
        _ => None,
    };
    pick.map(|c| c.0.clone()).into_iter().collect()
}

/// A tolerated fraction for an observed one: [`FRACTION_FACTOR`] × observed + [`FRACTION_SLACK`],
/// rounded up to a tenth of a percent.
pub(crate) fn tolerated(observed: f64) -> f64 {
    let t = observed * FRACTION_FACTOR + FRACTION_SLACK;
    (t * 1000.0).ceil() / 1000.0
}

/// A share of values, never rounded up to 100% (`99.5%`, `99.9%`, `2.5%`).
pub(crate) fn share(f: f64) -> String {
    if (0.1..1.0).contains(&f) {
        let p = (f * 1000.0).floor() / 10.0;
        format!("{p:.1}%").replace(".0%", "%")
    } else {
        fmt_pct(f)
    }
}

/// `1,234.5`: a number with thousands separators and at most six significant digits.
pub(crate) fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x.fract() == 0.0 && x.abs() < 1e15 {
        let s = fmt_count(x.abs() as u64);
        return if x < 0.0 { format!("-{s}") } else { s };
    }
    let digits = 6 - (x.abs().log10().floor() as i32 + 1);
    let decimals = usize::try_from(digits.clamp(0, 12)).unwrap_or(0);
    let s = format!("{:.*}", decimals, x.abs());
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    let (int, frac) = s.split_once('.').map_or((s.as_str(), None), |(a, b)| (a, Some(b)));
    let int = int.parse::<u64>().map_or_else(|_| int.to_string(), fmt_count);
    let sign = if x < 0.0 { "-" } else { "" };
    match frac {
        Some(f) => format!("{sign}{int}.{f}"),
        None => format!("{sign}{int}"),
    }
}

/// Everything suggested for a profile, in suite order: `row_count`, `schema`, then per column
/// `not_null`, `unique`, `range`, `accepted_values` | `pattern` | `length`, then `freshness`.
pub(crate) fn suggest(p: &Profile, now: DateTime<Utc>, declared_key: &[String]) -> Suggestions {
    let mut out = Suggestions::default();
    out.checks.push(row_count(p));
    if let Some(s) = schema(p) {
        out.checks.push(s);
    } else if p.files > 1 {
        out.notes.push(
            "no `schema` check: the files disagree on their columns (a `schema` check would fail on them)".into(),
        );
    }
    if p.rows == 0 {
        out.notes.push(
            "the dataset has no rows, so nothing about its values could be learnt; run suggest again once it has data"
                .into(),
        );
        return out;
    }
    let columns: Vec<(String, ColumnClass, bool)> = p
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.class, c.partition))
        .collect();
    let key = key_candidates(&columns, declared_key).pop();
    for c in &p.columns {
        if c.non_null(p.rows) == 0 {
            out.notes.push(format!("`{}`: every value is null; no check", c.name));
            continue;
        }
        let keyish = id_like(&c.name) || declared_key.contains(&c.name);
        out.checks.extend(not_null(c, p.rows, &mut out.notes));
        let unique = if key.as_deref() == Some(c.name.as_str()) {
            unique(c, p.rows, &mut out.notes)
        } else {
            None
        };
        let is_unique = unique.is_some();
        out.checks.extend(unique);
        if c.partition {
            continue;
        }
        match c.class {
            ColumnClass::Integer | ColumnClass::Float | ColumnClass::Decimal => {
                // Ids grow: a later batch has larger ones.
                let open_top = keyish || (is_unique && c.class == ColumnClass::Integer);
                out.checks.extend(range(c, p.rows, open_top, &mut out.notes));
            }
            ColumnClass::String => out
                .checks
                .extend(strings(c, p.rows, is_unique || keyish, &mut out.notes)),
            _ => {}
        }
    }
    out.checks.extend(freshness(p, now, &mut out.notes));
    out
}

fn row_count(p: &Profile) -> Suggested {
    if p.rows == 0 {
        return Suggested::new(
            "row_count",
            None,
            "the dataset has no rows yet: raise `min` to 1 once data arrives".into(),
        )
        .key("min", 0);
    }
    Suggested::new(
        "row_count",
        None,
        format!(
            "{} when suggested; min = 1 asks for any data at all (an exact count would fail on the next batch)",
            crate::results::numbers::count_of(p.rows, "row", "rows")
        ),
    )
    .key("min", 1)
}

fn schema(p: &Profile) -> Option<Suggested> {
    if !p.files_agree {
        return None;
    }
    let mut columns = toml::map::Map::new();
    for c in p
        .columns
        .iter()
        .filter(|c| !c.partition && c.class != ColumnClass::Other)
    {
        columns.insert(c.name.clone(), Value::String(c.type_name.clone()));
    }
    if columns.is_empty() {
        return None;
    }
    let n = columns.len();
    Some(
        Suggested::new(
            "schema",
            None,
            format!(
                "the {n} {} every file has, with their types (compared by family; new columns are allowed)",
                if n == 1 { "column" } else { "columns" }
            ),
        )
        .key("columns", Value::Table(columns)),
    )
}

fn not_null(c: &ColumnProfile, rows: u64, notes: &mut Vec<String>) -> Option<Suggested> {
    if c.nulls == 0 {
        return Some(Suggested::new(
            "not_null",
            Some(&c.name),
            format!("0 nulls in {}", crate::results::numbers::count_of(rows, "row", "rows")),
        ));
    }
    let observed = c.nulls as f64 / rows as f64;
    let allowed = tolerated(observed);
    if allowed >= 1.0 {
        notes.push(format!(
            "`{}`: {} null ({}); too many for a useful `not_null`",
            c.name,
            fmt_pct(observed),
            crate::results::numbers::count_of(c.nulls, "value", "values")
        ));
        return None;
    }
    Some(
        Suggested::new(
            "not_null",
            Some(&c.name),
            format!(
                "{} in {} rows ({}) → max_fraction = {} ({FRACTION_FACTOR} × observed + 1 point)",
                crate::results::numbers::count_of(c.nulls, "null", "nulls"),
                fmt_count(rows),
                fmt_pct(observed),
                fmt_pct(allowed)
            ),
        )
        .key("max_fraction", allowed),
    )
}

fn unique(c: &ColumnProfile, rows: u64, notes: &mut Vec<String>) -> Option<Suggested> {
    let non_null = c.non_null(rows);
    match c.distinct {
        Some(d) if d == non_null && non_null >= 2 => Some(Suggested::new(
            "unique",
            Some(&c.name),
            format!(
                "all {} non-null values are distinct, and `{}` is the dataset's key (its name or type says id)",
                fmt_count(non_null),
                c.name
            ),
        )),
        Some(d) => {
            notes.push(format!(
                "`{}` looks like the key but holds {} distinct values in {} non-null rows: no `unique` check",
                c.name,
                fmt_count(d),
                fmt_count(non_null)
            ));
            None
        }
        None => None,
    }
}

/// Bounds widened by [`RANGE_MARGIN`] of the span, rounded outwards to the margin's order of
/// magnitude; never across zero for a column without negative (or positive) values.
pub(crate) fn widen(min: f64, max: f64, integer: bool) -> (f64, f64, f64) {
    let span = max - min;
    let mut margin = if span > 0.0 {
        span * RANGE_MARGIN
    } else {
        min.abs() * RANGE_MARGIN
    };
    if margin == 0.0 || !margin.is_finite() {
        margin = 1.0;
    }
    // Two significant digits of the margin: coarse enough to read, fine enough not to double it.
    let mut step = 10f64.powf(margin.log10().floor() - 1.0);
    if integer {
        step = step.max(1.0);
    }
    let decimals = usize::try_from((-step.log10().floor()).max(0.0) as i64).unwrap_or(0);
    let round = |x: f64| format!("{:.*}", decimals, x).parse::<f64>().unwrap_or(x);
    let mut lo = round(((min - margin) / step).floor() * step);
    let mut hi = round(((max + margin) / step).ceil() * step);
    if min >= 0.0 {
        lo = 0.0;
    }
    if max <= 0.0 {
        hi = 0.0;
    }
    (lo, hi, margin)
}

fn bound_value(x: f64, integer: bool) -> Value {
    if integer && x.abs() < 9e15 {
        Value::Integer(x as i64)
    } else {
        Value::Float(x)
    }
}

fn range(c: &ColumnProfile, rows: u64, open_top: bool, notes: &mut Vec<String>) -> Option<Suggested> {
    let (Some(lo), Some(hi)) = (
        c.min.as_ref().and_then(|b| b.as_f64()),
        c.max.as_ref().and_then(|b| b.as_f64()),
    ) else {
        notes.push(format!("`{}`: no finite values, so no `range`", c.name));
        return None;
    };
    if !lo.is_finite() || !hi.is_finite() {
        notes.push(format!("`{}` holds infinite values: no `range`", c.name));
        return None;
    }
    let integer = c.class == ColumnClass::Integer;
    let (min, max, margin) = widen(lo, hi, integer);
    let mut why = format!("min {}, max {}", fmt_num(lo), fmt_num(hi));
    let mut s = Suggested::new("range", Some(&c.name), String::new()).key("min", bound_value(min, integer));
    if lo >= 0.0 {
        why.push_str(" → min = 0 (no value is negative)");
    } else {
        why.push_str(&format!(
            " → min widened by 10% of the span ({}) to {}",
            fmt_num(margin),
            fmt_num(min)
        ));
    }
    if open_top {
        why.push_str(&format!("; no `max`: `{}` is an id, and ids grow", c.name));
    } else {
        s = s.key("max", bound_value(max, integer));
        if hi <= 0.0 {
            why.push_str(", max = 0 (no value is positive)");
        } else {
            why.push_str(&format!(
                ", max widened by 10% of the span ({}) to {}",
                fmt_num(margin),
                fmt_num(max)
            ));
        }
    }
    if let Some(nan) = c.nan.filter(|n| *n > 0) {
        let observed = nan as f64 / rows as f64;
        let allowed = tolerated(observed);
        if allowed >= 1.0 {
            notes.push(format!("`{}` is mostly NaN: no `range`", c.name));
            return None;
        }
        why.push_str(&format!(
            "; {} NaN values ({}) fall outside any range → max_fraction = {}",
            fmt_count(nan),
            fmt_pct(observed),
            fmt_pct(allowed)
        ));
        s = s.key("max_fraction", allowed);
    }
    s.evidence = why;
    Some(s)
}

/// A value set, else a verified fixed shape, else lengths.
fn strings(c: &ColumnProfile, rows: u64, unique: bool, notes: &mut Vec<String>) -> Option<Suggested> {
    let non_null = c.non_null(rows);
    let shape = c.shape.as_ref().filter(|s| s.matched == non_null);
    // Dates and times written as text grow: a set of them would fail on the next batch.
    let date_like = shape.is_some_and(|s| s.regex.starts_with("^[0-9]{4}-[0-9]{2}-[0-9]{2}"));
    if !unique
        && !date_like
        && let Some(s) = value_set(c, rows, notes)
    {
        return Some(s);
    }
    if let Some(s) = shape {
        return Some(
            Suggested::new(
                "pattern",
                Some(&c.name),
                format!(
                    "all {} values have the shape {} (derived from a sample of the first rows, verified on every row)",
                    fmt_count(non_null),
                    s.regex
                ),
            )
            .key("regex", s.regex.clone()),
        );
    }
    let (shortest, longest) = c.lengths?;
    let max = (longest * LENGTH_FACTOR).max(1);
    let mut s = Suggested::new("length", Some(&c.name), String::new());
    let mut why = format!("lengths {}–{} characters →", fmt_count(shortest), fmt_count(longest));
    if shortest >= 1 && c.empty == Some(0) {
        s = s.key("min", 1);
        why.push_str(" min = 1 (no empty strings),");
    }
    s = s.key("max", i64::try_from(max).unwrap_or(i64::MAX));
    why.push_str(&format!(" max = {LENGTH_FACTOR} × the longest"));
    s.evidence = why;
    Some(s)
}

fn value_set(c: &ColumnProfile, rows: u64, notes: &mut Vec<String>) -> Option<Suggested> {
    let values = c.values.as_ref()?;
    let non_null = c.non_null(rows);
    let frequent: Vec<&crate::engine::profile::ValueCount> = values.iter().filter(|v| v.count >= MIN_SEEN).collect();
    if frequent.is_empty() || frequent.len() > MAX_SET {
        return None;
    }
    let covered: u64 = frequent.iter().map(|v| v.count).sum();
    let rare = non_null - covered;
    let rare_share = rare as f64 / non_null as f64;
    if rare_share > MAX_RARE_SHARE {
        if frequent.len() < values.len() && values.len() <= MAX_SET {
            notes.push(format!(
                "`{}`: {} values, but {} of them seen fewer than {MIN_SEEN} times: no value set",
                c.name,
                values.len(),
                values.len() - frequent.len()
            ));
        }
        return None;
    }
    let list: Vec<Value> = frequent.iter().map(|v| Value::String(v.value.clone())).collect();
    let mut why = format!(
        "{} of {} values in {} {}, each seen at least {MIN_SEEN} times",
        share(covered as f64 / non_null as f64),
        fmt_count(non_null),
        frequent.len(),
        if frequent.len() == 1 { "code" } else { "codes" }
    );
    let mut s = Suggested::new("accepted_values", Some(&c.name), String::new()).key("values", Value::Array(list));
    if rare > 0 {
        let rarer: Vec<String> = values
            .iter()
            .filter(|v| v.count < MIN_SEEN)
            .take(5)
            .map(|v| format!("{:?}", v.value))
            .collect();
        let allowed = tolerated(rare as f64 / rows as f64);
        why.push_str(&format!(
            "; {} rarer (e.g. {}) tolerated: max_fraction = {} ({FRACTION_FACTOR} × observed + 1 point)",
            crate::results::numbers::count_of(rare, "row", "rows"),
            rarer.join(", "),
            fmt_pct(allowed)
        ));
        s = s.key("max_fraction", allowed);
    }
    s.evidence = why;
    Some(s)
}

/// A duration in the compact form suites use, rounded up: minutes (by 5) under 2 hours, whole
/// hours under 2 days, whole days above.
pub(crate) fn round_up_duration(secs: i64) -> (String, i64) {
    let secs = secs.max(60);
    if secs < 2 * 3600 {
        let m = (secs + 299) / 300 * 5;
        (format!("{m}m"), m * 60)
    } else if secs < 2 * 86_400 {
        let h = (secs + 3599) / 3600;
        (format!("{h}h"), h * 3600)
    } else {
        let d = (secs + 86_399) / 86_400;
        (format!("{d}d"), d * 86_400)
    }
}

fn freshness(p: &Profile, now: DateTime<Utc>, notes: &mut Vec<String>) -> Option<Suggested> {
    let c = p
        .columns
        .iter()
        .filter(|c| matches!(c.class, ColumnClass::Timestamp | ColumnClass::Date) && !c.partition)
        .filter_map(|c| Some((c, c.max.as_ref()?.as_instant()?)))
        .max_by_key(|(_, t)| *t);
    let (c, newest) = c?;
    let age = (now - newest).num_seconds();
    if age < -86_400 {
        notes.push(format!(
            "`{}`: its newest value ({}) lies more than a day after now; no `freshness` check",
            c.name,
            newest.to_rfc3339()
        ));
        return None;
    }
    let age = age.max(0);
    let oldest = c.min.as_ref().and_then(|b| b.as_instant()).unwrap_or(newest);
    let distinct = c.distinct.or(c.approx_distinct).unwrap_or(1);
    let span = (newest - oldest).num_seconds();
    let cadence = (distinct >= 2 && span > 0).then(|| span / i64::try_from(distinct - 1).unwrap_or(i64::MAX));
    let slack = cadence.map_or(MIN_FRESHNESS_SLACK, |c| {
        (c.saturating_mul(CADENCE_FACTOR)).max(MIN_FRESHNESS_SLACK)
    });
    let (max_age, _) = round_up_duration(age.saturating_add(slack));
    let human = crate::duration::human;
    let cadence_text = cadence.map_or_else(
        || "one distinct value, so no cadence: 1h of slack".to_string(),
        |c| {
            format!(
                "values arrive about every {} → slack {CADENCE_FACTOR} × that (at least 1h)",
                human(c.max(1))
            )
        },
    );
    Some(
        Suggested::new(
            "freshness",
            Some(&c.name),
            format!(
                "the newest `{}` is {}, {} old at {}; {cadence_text} → max_age = age + slack, rounded up",
                c.name,
                newest.format("%Y-%m-%dT%H:%M:%SZ"),
                human(age),
                now.format("%Y-%m-%dT%H:%M:%SZ"),
            ),
        )
        .key("max_age", max_age),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_recognised_by_name() {
        for yes in [
            "id",
            "order_id",
            "OrderID",
            "customerId",
            "event-key",
            "uuid",
            "row_uuid",
        ] {
            assert!(id_like(yes), "{yes}");
        }
        for no in ["paid", "valid", "void", "amount", "ID_card", "Keys"] {
            assert!(!id_like(no), "{no}");
        }
    }

    #[test]
    fn ranges_widen_by_a_tenth_of_the_span_and_never_cross_zero() {
        let bounds = |lo: f64, hi: f64, int: bool| {
            let (a, b, _) = widen(lo, hi, int);
            (a, b)
        };
        assert_eq!(bounds(0.5, 9_870.0, false), (0.0, 10_860.0));
        assert_eq!(bounds(-50.0, 50.0, true), (-60.0, 60.0));
        assert_eq!(bounds(-10.0, -2.0, true), (-11.0, 0.0));
        assert_eq!(bounds(5.0, 5.0, true), (0.0, 6.0));
        assert_eq!(bounds(0.12, 0.98, false), (0.0, 1.066));
        assert_eq!(bounds(-0.5, 0.25, false), (-0.575, 0.325));
        assert_eq!(bounds(-5.0, 12_000.0, false), (-1_300.0, 13_300.0));
    }

    #[test]
    fn tolerated_fractions_have_a_margin() {
        assert!((tolerated(0.005) - 0.018).abs() < 1e-12);
        assert!((tolerated(0.0) - 0.01).abs() < 1e-12);
    }

    #[test]
    fn durations_round_up() {
        assert_eq!(round_up_duration(7_200 + 1_080).0, "3h");
        assert_eq!(round_up_duration(61).0, "5m");
        assert_eq!(round_up_duration(3 * 86_400 + 1).0, "4d");
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(fmt_num(9_870.0), "9,870");
        assert_eq!(fmt_num(0.5), "0.5");
        assert_eq!(fmt_num(-1_234.567_89), "-1,234.57");
        assert_eq!(fmt_num(986.95), "986.95");
    }
}
