//! `history`: the latest runs read from `sigov_alerts_runs`, one entry per
//! run with its checks, its most severe status and what it created and
//! sent, and the table that shows them.

use std::fmt::Write as _;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use serde::Serialize;
use sqlx::Row;
use sqlx::mysql::MySqlRow;

use super::time::{local, text};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::runs::NO_CHECK;
use crate::runs::RunStatus;
use crate::runs::RunStatus as R;

/// What a run, or one of its checks, did.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct Tally {
    /// Rows created.
    pub rows: u32,
    /// E-mails sent.
    pub sent: u32,
    /// E-mails left queued.
    pub queued: u32,
    /// E-mails rejected or abandoned.
    pub failed: u32,
    /// Alerts skipped.
    pub skipped: u32,
}

impl Tally {
    /// Reads the counters from five columns from `first` on, in the order
    /// of the fields (`rows_created`, `emails_sent`, `emails_queued`,
    /// `emails_failed`, `skipped`).
    fn read(r: &MySqlRow, first: usize) -> std::result::Result<Tally, sqlx::Error> {
        let n = |i: usize| r.try_get::<u32, _>(first + i);
        Ok(Tally { rows: n(0)?, sent: n(1)?, queued: n(2)?, failed: n(3)?, skipped: n(4)? })
    }

    /// Adds what `other` did.
    fn add(&mut self, other: &Tally) {
        self.rows += other.rows;
        self.sent += other.sent;
        self.queued += other.queued;
        self.failed += other.failed;
        self.skipped += other.skipped;
    }
}

/// One run: one command, with its checks.
#[derive(Debug, Serialize)]
pub struct RunEntry {
    /// Run id.
    pub run_id: String,
    /// Command.
    pub command: String,
    /// Host.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// The run instant: now, or the `--at` of a replay.
    pub run_instant: DateTime<FixedOffset>,
    /// Business day.
    pub local_date: String,
    /// Start.
    pub started_at: DateTime<FixedOffset>,
    /// End, when recorded.
    pub finished_at: Option<DateTime<FixedOffset>>,
    /// Seconds taken.
    pub duration_s: Option<f64>,
    /// The most severe status of its rows.
    pub status: String,
    /// Exit code, when recorded.
    pub exit_code: Option<i16>,
    /// The sum of its rows' tallies.
    #[serde(flatten)]
    pub tally: Tally,
    /// Error of a run without checks (`deliver`).
    pub error: Option<String>,
    /// Its checks, in order (none for `deliver`).
    pub checks: Vec<CheckEntry>,
}

/// One check of a run.
#[derive(Debug, Serialize)]
pub struct CheckEntry {
    /// Check slug.
    pub check: String,
    /// Status.
    pub status: String,
    /// What it did.
    #[serde(flatten)]
    pub tally: Tally,
    /// Error.
    pub error: Option<String>,
}

/// Run statuses, most severe first: a run shows the first its rows have.
const SEVERITY: [RunStatus; 6] = [R::Running, R::Crashed, R::Failed, R::Interrupted, R::Partial, R::Ok];

fn severity(status: &str) -> usize {
    SEVERITY.iter().position(|s| s.as_str() == status).unwrap_or(0)
}

/// One row of `sigov_alerts_runs`: one check of a run (or a run without
/// checks), times UTC.
struct RunRow {
    run_id: String,
    command: String,
    host: String,
    pid: u32,
    run_instant: NaiveDateTime,
    local_date: NaiveDate,
    started: NaiveDateTime,
    finished: Option<NaiveDateTime>,
    exit_code: Option<i16>,
    check: CheckEntry,
}

fn run_row(r: &MySqlRow) -> std::result::Result<RunRow, sqlx::Error> {
    Ok(RunRow {
        run_id: r.try_get(0)?,
        command: r.try_get(1)?,
        host: r.try_get(3)?,
        pid: r.try_get(4)?,
        run_instant: r.try_get(5)?,
        local_date: r.try_get(6)?,
        started: r.try_get(7)?,
        finished: r.try_get(8)?,
        exit_code: r.try_get(10)?,
        check: CheckEntry {
            check: r.try_get(2)?,
            status: r.try_get(9)?,
            tally: Tally::read(r, 11)?,
            error: r.try_get(16)?,
        },
    })
}

/// The latest `limit` runs, newest first, times in `tz`.
pub async fn history(db: &mut Db, limit: u32, tz: Tz) -> Result<Vec<RunEntry>> {
    const WHAT: &str = "reading the run history";
    // language=MySQL
    let rows = sqlx::query(
        "SELECT r.run_id, r.command, r.check_slug, r.host, r.pid, r.run_instant, r.local_date, r.started_at,
                r.finished_at, r.status, r.exit_code, r.rows_created, r.emails_sent, r.emails_queued, r.emails_failed,
                r.skipped, r.error
         FROM (SELECT run_id, MIN(id) AS first FROM sigov_alerts_runs GROUP BY run_id ORDER BY first DESC LIMIT ?) l
         JOIN sigov_alerts_runs r ON r.run_id = l.run_id
         ORDER BY l.first DESC, r.id",
    )
    .bind(limit)
    .fetch_all(db.conn())
    .await
    .map_err(|e| Error::db(WHAT, e))?;
    let rows = rows.iter().map(run_row).collect::<std::result::Result<Vec<_>, sqlx::Error>>();
    Ok(group_runs(rows.map_err(|e| Error::db(WHAT, e))?, tz))
}

/// The rows of each run (ordered by run, then by id) as one entry: it
/// starts with its first row, ends with its last (when every row has
/// ended), has its most severe status and the sum of its checks.
fn group_runs(rows: Vec<RunRow>, tz: Tz) -> Vec<RunEntry> {
    let mut runs: Vec<RunEntry> = Vec::new();
    let mut ends: Vec<Option<NaiveDateTime>> = Vec::new();
    let mut starts: Vec<NaiveDateTime> = Vec::new();
    for row in rows {
        let (started, finished, check) = (row.started, row.finished, row.check);
        if runs.last().is_none_or(|last| last.run_id != row.run_id) {
            runs.push(RunEntry {
                run_id: row.run_id,
                command: row.command,
                host: row.host,
                pid: row.pid,
                run_instant: local(row.run_instant, tz),
                local_date: row.local_date.to_string(),
                started_at: local(started, tz),
                finished_at: None,
                duration_s: None,
                status: check.status.clone(),
                exit_code: row.exit_code,
                tally: Tally::default(),
                error: None,
                checks: Vec::new(),
            });
            starts.push(started);
            ends.push(finished);
        }
        let (Some(run), Some(start), Some(end)) = (runs.last_mut(), starts.last_mut(), ends.last_mut()) else {
            continue;
        };
        if started < *start {
            *start = started;
            run.started_at = local(started, tz);
        }
        // The run has ended when every row has.
        *end = match (*end, finished) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
        if severity(&check.status) < severity(&run.status) {
            run.status = check.status.clone();
        }
        run.exit_code = run.exit_code.or(row.exit_code);
        run.tally.add(&check.tally);
        if check.check == NO_CHECK {
            run.error = check.error;
        } else {
            run.checks.push(check);
        }
    }
    for ((run, start), end) in runs.iter_mut().zip(starts).zip(ends) {
        run.finished_at = end.map(|t| local(t, tz));
        run.duration_s = end.map(|f| ((f - start).as_seconds_f64() * 1000.0).round() / 1000.0);
    }
    runs
}

/// Whether a run was dated at another instant than its start (a replay,
/// or a long wait for the lock).
fn dated_elsewhere(r: &RunEntry) -> bool {
    (r.started_at - r.run_instant).num_seconds().abs() >= 60
}

/// The meaning of the run statuses, after the `history` table.
pub const STATUS_LEGEND: &str = "\
status: ok           done, every e-mail owed delivered
        partial      rows recorded; some e-mail still queued, rejected or abandoned
        failed       the check (or the command) failed; nothing of the check was committed
        interrupted  stopped by SIGTERM or SIGINT
        running      not ended (yet)
        crashed      ended without recording its end: killed, host or database lost, or a fatal error
exit: the command's exit code; instant: the run's instant (--at of a replay) when it is not its start
";

/// `history` as text: one line per run, its checks indented below it.
pub fn history_text(runs: &[RunEntry], tz: Tz) -> String {
    let mut o = format!(
        "{:<23}  {:<25} {:<11} {:>4} {:>7} {:>6} {:>5} {:>6} {:>6}  {:<16} run (times in {})\n",
        "started",
        "command",
        "status",
        "exit",
        "s",
        "rows",
        "sent",
        "queued",
        "failed",
        "host",
        tz.name()
    );
    if runs.is_empty() {
        o.push_str("no runs recorded yet\n");
    }
    for r in runs {
        let _ = writeln!(
            o,
            "{:<23}  {:<25} {:<11} {:>4} {:>7} {:>6} {:>5} {:>6} {:>6}  {:<16} {}{}{}",
            text(&r.started_at),
            r.command,
            r.status,
            r.exit_code.map(|c| c.to_string()).unwrap_or_else(|| "-".into()),
            r.duration_s.map(|d| format!("{d:.2}")).unwrap_or_else(|| "-".into()),
            r.tally.rows,
            r.tally.sent,
            r.tally.queued,
            r.tally.failed,
            r.host,
            r.run_id.get(..8).unwrap_or(&r.run_id),
            if dated_elsewhere(r) { format!("  instant {}", text(&r.run_instant)) } else { String::new() },
            r.error.as_deref().map(|e| format!("  error: {e}")).unwrap_or_default()
        );
        for c in &r.checks {
            let _ = writeln!(
                o,
                "{:<23}    {:<23} {:<11} {:>4} {:>7} {:>6} {:>5} {:>6} {:>6}{}",
                "",
                c.check,
                c.status,
                "",
                "",
                c.tally.rows,
                c.tally.sent,
                c.tally.queued,
                c.tally.failed,
                c.error.as_deref().map(|e| format!("  error: {e}")).unwrap_or_default()
            );
        }
    }
    o.push_str(STATUS_LEGEND);
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::time::at;

    fn check(slug: &str, status: &str) -> CheckEntry {
        CheckEntry {
            check: slug.into(),
            status: status.into(),
            tally: Tally { rows: 2, sent: 1, queued: 1, failed: 0, skipped: 0 },
            error: None,
        }
    }

    fn run(command: &str, started: &str, instant: &str, checks: Vec<CheckEntry>) -> RunEntry {
        let tz = chrono_tz::Europe::Paris;
        RunEntry {
            run_id: "0123456789abcdef".into(),
            command: command.into(),
            host: "cron-1".into(),
            pid: 42,
            run_instant: local(at(instant), tz),
            local_date: "2026-12-01".into(),
            started_at: local(at(started), tz),
            finished_at: None,
            duration_s: Some(1.5),
            status: "partial".into(),
            exit_code: Some(75),
            tally: Tally { rows: 4, sent: 2, queued: 2, failed: 0, skipped: 0 },
            error: None,
            checks,
        }
    }

    #[test]
    fn text_shows_one_line_per_run_its_checks_indented_and_a_replays_instant() {
        let runs = [
            run("deliver", "2026-12-01 08:05:00", "2026-12-01 08:05:00", vec![]),
            run(
                "run-all",
                "2026-12-01 08:00:00",
                "2026-03-16 07:00:00",
                vec![check("project_deadlines", "partial"), check("budget", "ok")],
            ),
        ];
        let t = history_text(&runs, chrono_tz::Europe::Paris);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("started ") && lines[0].ends_with("(times in Europe/Paris)"), "{t}");
        assert!(lines[1].starts_with("2026-12-01 09:05 +01:00  deliver "), "{t}");
        assert!(!lines[1].contains("instant"), "{t}");
        assert!(lines[1].contains(" 75 ") && lines[1].contains("cron-1") && lines[1].contains("01234567"), "{t}");
        assert!(lines[2].starts_with("2026-12-01 09:00 +01:00  run-all "), "{t}");
        assert!(lines[2].ends_with("instant 2026-03-16 08:00 +01:00"), "{t}");
        assert!(lines[3].trim_start().starts_with("project_deadlines") && lines[3].starts_with("   "), "{t}");
        assert!(lines[4].trim_start().starts_with("budget"), "{t}");
        assert!(lines[5].starts_with("status:") && t.contains("crashed"), "{t}");
        assert!(history_text(&[], chrono_tz::UTC).contains("no runs recorded yet"));
    }

    #[test]
    fn a_run_shows_its_most_severe_status() {
        assert!(severity("crashed") < severity("failed"));
        assert!(severity("failed") < severity("partial"));
        assert!(severity("partial") < severity("ok"));
    }
}
