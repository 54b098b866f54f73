//! `lakegate audit status`: per dataset its schedule, last run (time, status, duration) and next due
//! slot — read from the history store and the daemon's persisted slots, so it works while a daemon
//! runs (and says which suites are running right now, from their locks).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::StateDir;
use crate::config::Project;
use crate::results::Status;
use crate::suite::Suite;

/// One dataset's line.
#[derive(Debug, Serialize)]
pub(crate) struct Row {
    pub dataset: String,
    pub zone: String,
    /// The cron expression, or `None` when nothing schedules the suite.
    pub schedule: Option<String>,
    pub timezone: Option<String>,
    /// Why the schedule is not usable, when it is not.
    pub schedule_error: Option<String>,
    pub last_run: Option<LastRun>,
    /// The next slot after the last one run (or after now when none ran); may be in the past when
    /// a slot is overdue (the daemon is not running).
    pub next_due: Option<DateTime<Utc>>,
    pub overdue: bool,
    /// A process holds the suite's audit lock now.
    pub running: bool,
}

/// A dataset's latest recorded run.
#[derive(Debug, Serialize)]
pub(crate) struct LastRun {
    pub run_id: String,
    pub command: String,
    pub started_at: DateTime<Utc>,
    pub status: Status,
    pub duration_ms: u64,
}

/// The status of every selected suite.
pub(crate) fn rows(project: &Project, suites: &[Suite], names: &[String], now: DateTime<Utc>) -> Vec<Row> {
    let store = crate::history::Store {
        dir: project.history_dir.clone(),
    };
    let states = StateDir::new(&project.history_dir);
    let mut out = Vec::new();
    for suite in suites.iter().filter(|s| names.contains(s.dataset.name.get_ref())) {
        let name = suite.dataset.name.get_ref().clone();
        let last_run = store.runs(&name).pop().map(|r| LastRun {
            run_id: r.run_id,
            command: r.command,
            started_at: r.started_at,
            status: r.status,
            duration_ms: r.duration_ms,
        });
        let (mut schedule, mut timezone, mut schedule_error, mut next_due) = (None, None, None, None);
        let state = states.read(&name);
        let schedule_of = super::schedule_of(suite, project, None, None).or_else(|| {
            // Scheduled by the daemon's `--schedule`: the state remembers the expression.
            state
                .as_ref()
                .map(|st| crate::schedule::Schedule::parse(&st.schedule, Some(&st.timezone)))
        });
        match schedule_of {
            None => {}
            Some(Err(e)) => schedule_error = Some(e.to_string()),
            Some(Ok(s)) => {
                let anchor = state.as_ref().map_or(now, |st| st.last_slot);
                next_due = s.next_after(anchor);
                schedule = Some(s.text().to_string());
                timezone = Some(s.timezone().to_string());
            }
        }
        out.push(Row {
            overdue: next_due.is_some_and(|t| t <= now),
            running: states.is_running(&name),
            zone: suite.dataset.zone.get_ref().clone(),
            dataset: name,
            schedule,
            timezone,
            schedule_error,
            last_run,
            next_due,
        });
    }
    out
}

/// The rows as a text table.
pub(crate) fn render_text(rows: &[Row], now: DateTime<Utc>) -> String {
    let mut lines = vec![[
        "DATASET".to_string(),
        "ZONE".into(),
        "SCHEDULE".into(),
        "LAST RUN".into(),
        "STATUS".into(),
        "TOOK".into(),
        "NEXT DUE".into(),
    ]];
    for r in rows {
        let schedule = match (&r.schedule, &r.timezone, &r.schedule_error) {
            (Some(s), Some(tz), _) => format!("{s} ({tz})"),
            (_, _, Some(e)) => format!("invalid: {e}"),
            _ => "none (--once only)".into(),
        };
        let (last, status, took) = match &r.last_run {
            Some(l) => (
                format!(
                    "{} ({} ago)",
                    l.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
                    crate::duration::human((now - l.started_at).num_seconds())
                ),
                l.status.as_str().to_string(),
                format!("{:.1}s", l.duration_ms as f64 / 1000.0),
            ),
            None => ("never".into(), "-".into(), "-".into()),
        };
        let next = match r.next_due {
            _ if r.running => "running now".into(),
            Some(t) if r.overdue => format!("overdue since {}", t.format("%Y-%m-%d %H:%M:%S UTC")),
            Some(t) => format!(
                "{} (in {})",
                t.format("%Y-%m-%d %H:%M:%S UTC"),
                crate::duration::human((t - now).num_seconds())
            ),
            None => "-".into(),
        };
        lines.push([r.dataset.clone(), r.zone.clone(), schedule, last, status, took, next]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|i| lines.iter().map(|l| l[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for l in &lines {
        let cells: Vec<String> = l.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
