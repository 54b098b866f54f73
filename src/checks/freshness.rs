//! `freshness`: the newest value of a timestamp column is recent enough.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use datafusion::functions_aggregate::expr_fn::max;
use datafusion::scalar::ScalarValue;
use serde_json::json;
use toml::Spanned;

use super::{Check, EvalCx, KeyDoc, KindSpec, Observation, PlanCx, Shape, Verdict, column, fmt_count};
use crate::diag::{Code, Diagnostic};
use crate::duration::{DURATION_HELP, human};
use crate::spanned::TableReader;
use crate::types::{family_name, is_temporal};

pub(super) const SPEC: KindSpec = KindSpec {
    name: "freshness",
    summary: "The newest value of a timestamp or date column is at most `max_age` old.",
    semantics: "The check fails when now − max(column) > `max_age`, and when the newest value lies more than `max_future` (default one day) after now: a far-future value (a placeholder such as 2999-12-31) would otherwise stand for the newest data and hide a stale dataset. \"Now\" is the clock of the run (`--now` fixes it). An empty dataset is stale, and so is a column that is null in every row (the message says which). Timestamps with a time zone are compared as instants; values without one are read in `timezone` (default UTC); a date counts from its midnight.",
    keys: &[
        KeyDoc {
            name: "column",
            ty: "string",
            required: true,
            doc: "A timestamp or date column.",
        },
        KeyDoc {
            name: "max_age",
            ty: "duration",
            required: true,
            doc: "Oldest acceptable age of the newest value: \"90m\", \"6h\", \"2d\", \"1h30m\".",
        },
        KeyDoc {
            name: "max_future",
            ty: "duration",
            required: false,
            doc: "How far past now the newest value may lie (default \"1d\", for clocks and zones that disagree); a value further ahead, such as a placeholder year 2999, fails the check instead of hiding stale data.",
        },
        KeyDoc {
            name: "timezone",
            ty: "string",
            required: false,
            doc: "Zone of values without one: \"UTC\" (default), an IANA name such as \"Europe/Paris\", or an offset such as \"+02:00\".",
        },
    ],
    example: "[[check]]\nkind = \"freshness\"\ncolumn = \"created_at\"\nmax_age = \"6h\"\n",
    parse,
};

#[derive(Debug, Clone, Copy)]
enum Zone {
    Named(Tz),
    Offset(chrono::FixedOffset),
}

impl Zone {
    fn to_utc(self, naive: NaiveDateTime) -> Option<DateTime<Utc>> {
        match self {
            Zone::Named(tz) => tz.from_local_datetime(&naive).earliest().map(|d| d.with_timezone(&Utc)),
            Zone::Offset(o) => o.from_local_datetime(&naive).single().map(|d| d.with_timezone(&Utc)),
        }
    }
}

fn parse_zone(s: &str) -> Option<Zone> {
    if let Ok(tz) = Tz::from_str(s) {
        return Some(Zone::Named(tz));
    }
    DateTime::parse_from_str(&format!("2000-01-01T00:00:00{s}"), "%Y-%m-%dT%H:%M:%S%:z")
        .ok()
        .map(|d| Zone::Offset(*d.offset()))
}

#[derive(Debug)]
struct Freshness {
    column: Spanned<String>,
    max_age: std::time::Duration,
    max_age_text: String,
    max_future: std::time::Duration,
    max_future_text: String,
    zone: Zone,
}

/// How far ahead of now the newest value may be unless `max_future` says otherwise.
const DEFAULT_MAX_FUTURE: &str = "1d";

/// A duration key's value with its text, or a diagnostic at the value.
fn duration(t: &TableReader<'_, '_>, m: toml::Spanned<String>) -> Option<(std::time::Duration, String)> {
    match crate::duration::parse(m.get_ref()) {
        Ok(d) => Some((d, m.into_inner())),
        Err(e) => {
            t.push(
                t.error(
                    Code::InvalidValue,
                    m.span(),
                    format!("`{}` is not a duration: {e}", m.get_ref()),
                )
                .label("invalid duration")
                .help(DURATION_HELP),
            );
            None
        }
    }
}

fn parse(t: &mut TableReader<'_, '_>) -> Vec<Box<dyn Check>> {
    let column = t.req_str("column");
    let max_age = t.req_str("max_age").and_then(|m| duration(t, m));
    let max_future = match t.str("max_future") {
        Some(m) => duration(t, m),
        None => crate::duration::parse(DEFAULT_MAX_FUTURE)
            .ok()
            .map(|d| (d, DEFAULT_MAX_FUTURE.to_string())),
    };
    let zone = match t.str("timezone") {
        Some(z) => match parse_zone(z.get_ref()) {
            Some(zone) => Some(zone),
            None => {
                t.push(
                    t.error(
                        Code::UnknownTimeZone,
                        z.span(),
                        format!("`{}` is not a time zone", z.get_ref()),
                    )
                    .label("unknown time zone")
                    .help("use \"UTC\", an IANA name such as \"America/New_York\", or an offset such as \"+02:00\""),
                );
                None
            }
        },
        None => Some(Zone::Named(Tz::UTC)),
    };
    match (column, max_age, max_future, zone) {
        (Some(column), Some((max_age, max_age_text)), Some((max_future, max_future_text)), Some(zone)) => {
            vec![Box::new(Freshness {
                column,
                max_age,
                max_age_text,
                max_future,
                max_future_text,
                zone,
            })]
        }
        _ => Vec::new(),
    }
}

impl Freshness {
    /// The newest value as an instant.
    fn instant(&self, v: &ScalarValue) -> Option<DateTime<Utc>> {
        let (value, scale, tz) = match v {
            ScalarValue::TimestampSecond(Some(x), tz) => (*x, 1_000_000_000, tz),
            ScalarValue::TimestampMillisecond(Some(x), tz) => (*x, 1_000_000, tz),
            ScalarValue::TimestampMicrosecond(Some(x), tz) => (*x, 1_000, tz),
            ScalarValue::TimestampNanosecond(Some(x), tz) => (*x, 1, tz),
            ScalarValue::Date32(Some(d)) => {
                let date =
                    NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(chrono::Duration::days(i64::from(*d)))?;
                return self.zone.to_utc(date.and_hms_opt(0, 0, 0)?);
            }
            ScalarValue::Date64(Some(ms)) => {
                let naive = DateTime::from_timestamp_millis(*ms)?.naive_utc();
                return self.zone.to_utc(naive);
            }
            _ => return None,
        };
        let nanos = i128::from(value) * i128::from(scale);
        let secs = i64::try_from(nanos.div_euclid(1_000_000_000)).ok()?;
        let sub = u32::try_from(nanos.rem_euclid(1_000_000_000)).ok()?;
        let utc_wall = DateTime::from_timestamp(secs, sub)?;
        if tz.is_some() {
            Some(utc_wall)
        } else {
            self.zone.to_utc(utc_wall.naive_utc())
        }
    }
}

impl Check for Freshness {
    fn kind(&self) -> &'static str {
        "freshness"
    }

    fn columns(&self) -> Vec<Spanned<String>> {
        vec![self.column.clone()]
    }

    fn plan(&self, cx: &PlanCx<'_>) -> Result<Shape, Diagnostic> {
        let name = self.column.get_ref();
        let dt = cx.column_type(name);
        if !is_temporal(dt) {
            return Err(cx
                .error(
                    Code::TypeMismatch,
                    self.column.span(),
                    format!(
                        "`freshness` needs a timestamp or date column; `{name}` is {}",
                        family_name(dt)
                    ),
                )
                .label("not a timestamp")
                .help(format!(
                    "declare how to read it in the suite: [dataset] types = {{ {name} = \"timestamp\" }}"
                )));
        }
        Ok(Shape::Aggregates(vec![max(column(name))]))
    }

    fn evaluate(&self, cx: &EvalCx<'_>, obs: &Observation<'_>) -> Verdict {
        let values = obs.values();
        let col = self.column.get_ref();
        let expected = json!(format!("newest value at most {} old", self.max_age_text));
        let stale = |message: String, observed: serde_json::Value| Verdict {
            failed: true,
            failing_rows: None,
            failing_fraction: None,
            observed,
            expected: expected.clone(),
            message,
            value: None,
            warn: false,
            limits: crate::results::Limits::default(),
        };
        if cx.in_scope == 0 {
            return stale(
                "The dataset has no rows, so it is stale.".into(),
                serde_json::Value::Null,
            );
        }
        let Some(latest) = values.first().and_then(|v| self.instant(v)) else {
            return stale(
                if cx.in_scope == 1 {
                    format!("`{col}` is null in the only row, so the data's age is unknown; it counts as stale.")
                } else {
                    format!(
                        "`{col}` is null in all {} rows, so the data's age is unknown; it counts as stale.",
                        fmt_count(cx.in_scope)
                    )
                },
                serde_json::Value::Null,
            );
        };
        let age = cx.now.signed_duration_since(latest);
        let allowed = i64::try_from(self.max_age.as_secs()).unwrap_or(i64::MAX);
        let latest_text = latest.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        let ahead = i64::try_from(self.max_future.as_secs()).unwrap_or(i64::MAX);
        let future = age.num_seconds() < 0;
        let too_far = future && -age.num_seconds() > ahead;
        let failed = age.num_seconds() > allowed || too_far;
        let message = if too_far {
            format!(
                "The newest `{col}` is {latest_text}, {} in the future of now ({}); at most {} ahead is allowed \
                 (`max_future`). A value from the future hides how old the rest of the data is.",
                human(-age.num_seconds()),
                cx.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                self.max_future_text
            )
        } else if future {
            format!(
                "The newest `{col}` is {latest_text}, {} in the future of now ({}).",
                human(-age.num_seconds()),
                cx.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )
        } else if failed {
            format!(
                "The newest `{col}` is {latest_text}, {} old; at most {} is allowed.",
                human(age.num_seconds()),
                self.max_age_text
            )
        } else {
            format!(
                "The newest `{col}` is {latest_text}, {} old (at most {} allowed).",
                human(age.num_seconds()),
                self.max_age_text
            )
        };
        Verdict {
            failed,
            failing_rows: None,
            failing_fraction: None,
            observed: json!({ "latest": latest_text, "age_seconds": age.num_seconds() }),
            expected: json!({
                "max_age": self.max_age_text,
                "max_age_seconds": allowed,
                "max_future": self.max_future_text,
                "max_future_seconds": ahead,
            }),
            message,
            value: Some(age.num_seconds() as f64),
            warn: false,
            // The chart shows the age; `max_future` guards against placeholders and is not drawn.
            limits: crate::results::Limits {
                min: None,
                max: Some(allowed as f64),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_parse() {
        assert!(parse_zone("UTC").is_some());
        assert!(parse_zone("Europe/Paris").is_some());
        assert!(parse_zone("+02:00").is_some());
        assert!(parse_zone("Mars/Olympus").is_none());
    }

    #[test]
    fn naive_values_are_read_in_the_zone() {
        let f = Freshness {
            column: Spanned::new(0..0, "t".into()),
            max_age: std::time::Duration::from_secs(60),
            max_age_text: "1m".into(),
            max_future: std::time::Duration::from_secs(60),
            max_future_text: "1m".into(),
            zone: parse_zone("+02:00").unwrap(),
        };
        // 12:00 wall time at +02:00 is 10:00 UTC.
        let v = ScalarValue::TimestampSecond(Some(12 * 3600), None);
        assert_eq!(f.instant(&v).unwrap().timestamp(), 10 * 3600);
        let z = ScalarValue::TimestampSecond(Some(12 * 3600), Some("UTC".into()));
        assert_eq!(f.instant(&z).unwrap().timestamp(), 12 * 3600);
    }
}
