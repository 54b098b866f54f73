//! When an audit runs a suite: a cron expression read in an IANA time zone.
//!
//! Parsing and the search for the next slot are croner's (the Open Cron Pattern Specification, with
//! an optional seconds field: `*/10 * * * * *` or five fields `30 2 * * *`). lakegate adds the time
//! zone and the two questions the audit daemon asks: "when is the next slot after this one?" and
//! "what is the latest slot that is already due?" — the second is what makes a daemon that was down
//! for five slots run once, not five times.
//!
//! Daylight saving time, as croner defines it and the tests pin down: a job at a fixed local time
//! (`30 2 * * *`) runs exactly once on both change days — on the spring-forward day at the first
//! valid time after the gap (03:00), on the fall-back day only at the first of the two 02:30s. An
//! interval job (`*/15 * * * *`) keeps its interval in real time: slots inside the gap do not exist,
//! and the repeated hour is audited as the hour it is (every quarter of an hour, twice).

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds};

/// A parsed schedule: a cron expression in a time zone.
#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    cron: Cron,
    tz: Tz,
    text: String,
}

/// What a valid cron expression looks like, for help lines.
pub(crate) const CRON_HELP: &str = "five fields `minute hour day month weekday` (e.g. \"30 2 * * *\" for 02:30 daily) \
     or six with seconds first (e.g. \"*/10 * * * * *\" for every ten seconds); @hourly, @daily and @weekly work too";

impl Schedule {
    /// Parses `expr` in the time zone `tz` (an IANA name such as `Europe/Berlin`; `UTC` when `None`).
    pub(crate) fn parse(expr: &str, tz: Option<&str>) -> Result<Self, ScheduleError> {
        let tz = match tz {
            None => Tz::UTC,
            Some(name) => parse_tz(name)?,
        };
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .build()
            .parse(expr)
            .map_err(|e| ScheduleError::Cron(format!("`{expr}` is not a cron expression: {e}")))?;
        // A pattern that never matches (e.g. 30 February) would leave a suite silently unscheduled.
        let probe = Utc
            .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
            .single()
            .map(|t| t.with_timezone(&tz));
        if probe.is_none_or(|p| cron.find_next_occurrence(&p, false).is_err()) {
            return Err(ScheduleError::Cron(format!("`{expr}` never matches a date")));
        }
        Ok(Self {
            cron,
            tz,
            text: expr.trim().to_string(),
        })
    }

    /// The expression as written.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The time zone's IANA name.
    pub(crate) fn timezone(&self) -> &str {
        self.tz.name()
    }

    /// The first slot strictly after `t`.
    pub(crate) fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = t.with_timezone(&self.tz);
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }

    /// The latest slot at or before `now` that comes after `since` (`None`: nothing is due). Missed
    /// slots collapse into this one: the daemon runs it once.
    pub(crate) fn latest_due(&self, since: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let first = self.next_after(since)?;
        if first > now {
            return None;
        }
        let local = now.with_timezone(&self.tz);
        let latest = self
            .cron
            .find_previous_occurrence(&local, true)
            .ok()
            .map(|d| d.with_timezone(&Utc))?;
        Some(latest.max(first))
    }
}

/// Parses an IANA time zone name, suggesting the closest one when it is not known.
fn parse_tz(name: &str) -> Result<Tz, ScheduleError> {
    name.parse::<Tz>().map_err(|_| {
        let close = chrono_tz::TZ_VARIANTS
            .iter()
            .map(|t| t.name())
            .min_by(|a, b| {
                strsim::levenshtein(&a.to_ascii_lowercase(), &name.to_ascii_lowercase()).cmp(&strsim::levenshtein(
                    &b.to_ascii_lowercase(),
                    &name.to_ascii_lowercase(),
                ))
            })
            .filter(|c| strsim::levenshtein(&c.to_ascii_lowercase(), &name.to_ascii_lowercase()) <= 3);
        ScheduleError::TimeZone {
            name: name.to_string(),
            suggestion: close.map(str::to_string),
        }
    })
}

/// Why a schedule was refused.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum ScheduleError {
    #[error("{0}")]
    Cron(String),
    #[error("`{name}` is not an IANA time zone name")]
    TimeZone { name: String, suggestion: Option<String> },
}

impl ScheduleError {
    /// A help line saying what would be valid.
    pub(crate) fn help(&self) -> String {
        match self {
            Self::Cron(_) => format!("write {CRON_HELP}"),
            Self::TimeZone {
                suggestion: Some(s), ..
            } => format!("did you mean \"{s}\"? (names like \"UTC\", \"Europe/Berlin\", \"America/New_York\")"),
            Self::TimeZone { .. } => {
                "use an IANA name such as \"UTC\", \"Europe/Berlin\" or \"America/New_York\"".into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// Every slot in `[from, to)`, in UTC.
    fn slots(s: &Schedule, from: &str, to: &str) -> Vec<DateTime<Utc>> {
        let (mut t, end) = (utc(from), utc(to));
        let mut out = Vec::new();
        while let Some(n) = s.next_after(t) {
            if n >= end {
                break;
            }
            out.push(n);
            t = n;
        }
        out
    }

    fn local(s: &Schedule, t: DateTime<Utc>) -> String {
        t.with_timezone(&s.tz).format("%Y-%m-%d %H:%M:%S %Z").to_string()
    }

    #[test]
    fn a_fixed_time_runs_once_on_the_spring_forward_day_in_berlin() {
        // 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist that day.
        let s = Schedule::parse("30 2 * * *", Some("Europe/Berlin")).unwrap();
        let got = slots(&s, "2026-03-28T00:00:00Z", "2026-03-31T00:00:00Z");
        let shown: Vec<String> = got.iter().map(|t| local(&s, *t)).collect();
        assert_eq!(
            shown,
            [
                "2026-03-28 02:30:00 CET",
                "2026-03-29 03:00:00 CEST",
                "2026-03-30 02:30:00 CEST"
            ]
        );
    }

    #[test]
    fn a_fixed_time_runs_once_on_the_fall_back_day_in_berlin() {
        // 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice.
        let s = Schedule::parse("30 2 * * *", Some("Europe/Berlin")).unwrap();
        let got = slots(&s, "2026-10-24T00:00:00Z", "2026-10-27T00:00:00Z");
        let shown: Vec<String> = got.iter().map(|t| local(&s, *t)).collect();
        assert_eq!(
            shown,
            [
                "2026-10-24 02:30:00 CEST",
                "2026-10-25 02:30:00 CEST",
                "2026-10-26 02:30:00 CET"
            ]
        );
    }

    #[test]
    fn a_fixed_time_runs_once_on_both_change_days_in_new_york() {
        // 2026-03-08: 02:00 EST jumps to 03:00 EDT. 2026-11-01: 02:00 EDT falls back to 01:00 EST.
        let s = Schedule::parse("30 2 * * *", Some("America/New_York")).unwrap();
        let spring: Vec<String> = slots(&s, "2026-03-07T12:00:00Z", "2026-03-09T12:00:00Z")
            .iter()
            .map(|t| local(&s, *t))
            .collect();
        assert_eq!(spring, ["2026-03-08 03:00:00 EDT", "2026-03-09 02:30:00 EDT"]);
        let s = Schedule::parse("30 1 * * *", Some("America/New_York")).unwrap();
        let fall: Vec<String> = slots(&s, "2026-10-31T12:00:00Z", "2026-11-02T12:00:00Z")
            .iter()
            .map(|t| local(&s, *t))
            .collect();
        // 01:30 happens twice on 1 November; it runs at the first.
        assert_eq!(fall, ["2026-11-01 01:30:00 EDT", "2026-11-02 01:30:00 EST"]);
    }

    #[test]
    fn an_interval_keeps_real_time_across_the_changes() {
        let s = Schedule::parse("0 */30 * * * *", Some("Europe/Berlin")).unwrap();
        // The spring-forward night: 23 real hours → 46 half-hour slots, none inside the gap.
        let spring = slots(&s, "2026-03-28T22:59:59Z", "2026-03-29T21:59:59Z");
        assert_eq!(spring.len(), 46);
        assert!(spring.windows(2).all(|w| w[1] - w[0] == chrono::Duration::minutes(30)));
        // The fall-back night: 25 real hours → 50 slots, the repeated hour audited twice.
        let fall = slots(&s, "2026-10-24T21:59:59Z", "2026-10-25T22:59:59Z");
        assert_eq!(fall.len(), 50);
        assert!(fall.windows(2).all(|w| w[1] - w[0] == chrono::Duration::minutes(30)));
    }

    #[test]
    fn missed_slots_collapse_into_the_latest() {
        let s = Schedule::parse("*/10 * * * * *", None).unwrap();
        let since = utc("2026-01-01T00:00:00Z");
        // Nothing due yet.
        assert_eq!(s.latest_due(since, utc("2026-01-01T00:00:09Z")), None);
        // Five slots missed (10 s, 20 s, … 50 s): one is due, the latest.
        assert_eq!(
            s.latest_due(since, utc("2026-01-01T00:00:55Z")),
            Some(utc("2026-01-01T00:00:50Z"))
        );
        // Exactly on a slot, it is due.
        assert_eq!(
            s.latest_due(since, utc("2026-01-01T00:00:10Z")),
            Some(utc("2026-01-01T00:00:10Z"))
        );
    }

    #[test]
    fn seconds_are_optional_and_nicknames_work() {
        let five = Schedule::parse("0 * * * *", None).unwrap();
        let six = Schedule::parse("0 0 * * * *", None).unwrap();
        let nick = Schedule::parse("@hourly", None).unwrap();
        let t = utc("2026-01-01T10:20:00Z");
        let want = Some(utc("2026-01-01T11:00:00Z"));
        assert_eq!(
            (five.next_after(t), six.next_after(t), nick.next_after(t)),
            (want, want, want)
        );
    }

    #[test]
    fn bad_expressions_and_zones_say_what_is_valid() {
        let e = Schedule::parse("61 * * * *", None).unwrap_err();
        assert!(e.to_string().contains("`61 * * * *` is not a cron expression"), "{e}");
        assert!(Schedule::parse("every hour", None).is_err());
        assert!(
            Schedule::parse("0 0 30 2 *", None)
                .unwrap_err()
                .to_string()
                .contains("never matches")
        );
        let e = Schedule::parse("0 * * * *", Some("Europe/Berln")).unwrap_err();
        assert_eq!(e.to_string(), "`Europe/Berln` is not an IANA time zone name");
        assert!(e.help().contains("Europe/Berlin"), "{}", e.help());
    }
}
