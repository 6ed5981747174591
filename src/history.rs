//! `history` and `status`: what ran when, how long, what it created and
//! sent, and what is still owed, read from our tables (they replace Flower).

use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use sqlx::Row;

use crate::db::Db;
use crate::db::Within;
use crate::error::{Error, Result};
use crate::runs::NO_CHECK;

/// A stored UTC time in the configured zone (JSON: RFC 3339 with offset).
pub fn local(t: NaiveDateTime, tz: Tz) -> DateTime<FixedOffset> {
    t.and_utc().with_timezone(&tz).fixed_offset()
}

/// A time as text: `2026-12-01 09:00 +01:00`.
pub fn text(t: &DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%d %H:%M %:z").to_string()
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
    /// Error.
    pub error: Option<String>,
}

/// Run statuses, most severe first: a run shows the first its rows have.
const SEVERITY: [&str; 6] = ["running", "crashed", "failed", "interrupted", "partial", "ok"];

fn severity(status: &str) -> usize {
    SEVERITY.iter().position(|s| *s == status).unwrap_or(0)
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
    let mut runs: Vec<RunEntry> = Vec::new();
    let mut ends: Vec<Option<NaiveDateTime>> = Vec::new();
    let mut starts: Vec<NaiveDateTime> = Vec::new();
    for r in &rows {
        (|| -> std::result::Result<(), sqlx::Error> {
            let run_id: String = r.try_get(0)?;
            let started: NaiveDateTime = r.try_get(7)?;
            let finished: Option<NaiveDateTime> = r.try_get(8)?;
            let check = CheckEntry {
                check: r.try_get(2)?,
                status: r.try_get(9)?,
                rows: r.try_get(11)?,
                sent: r.try_get(12)?,
                queued: r.try_get(13)?,
                failed: r.try_get(14)?,
                skipped: r.try_get(15)?,
                error: r.try_get(16)?,
            };
            let exit_code: Option<i16> = r.try_get(10)?;
            if runs.last().is_none_or(|last| last.run_id != run_id) {
                runs.push(RunEntry {
                    run_id,
                    command: r.try_get(1)?,
                    host: r.try_get(3)?,
                    pid: r.try_get(4)?,
                    run_instant: local(r.try_get(5)?, tz),
                    local_date: r.try_get::<chrono::NaiveDate, _>(6)?.to_string(),
                    started_at: local(started, tz),
                    finished_at: None,
                    duration_s: None,
                    status: check.status.clone(),
                    exit_code,
                    rows: 0,
                    sent: 0,
                    queued: 0,
                    failed: 0,
                    skipped: 0,
                    error: None,
                    checks: Vec::new(),
                });
                starts.push(started);
                ends.push(finished);
            }
            let (Some(run), Some(start), Some(end)) = (runs.last_mut(), starts.last_mut(), ends.last_mut()) else {
                return Ok(());
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
            run.exit_code = run.exit_code.or(exit_code);
            run.rows += check.rows;
            run.sent += check.sent;
            run.queued += check.queued;
            run.failed += check.failed;
            run.skipped += check.skipped;
            if check.check == NO_CHECK {
                run.error = check.error;
            } else {
                run.checks.push(check);
            }
            Ok(())
        })()
        .map_err(|e| Error::db(WHAT, e))?;
    }
    for ((run, start), end) in runs.iter_mut().zip(starts).zip(ends) {
        run.finished_at = end.map(|t| local(t, tz));
        run.duration_s = end.map(|f| ((f - start).as_seconds_f64() * 1000.0).round() / 1000.0);
    }
    Ok(runs)
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
            r.rows,
            r.sent,
            r.queued,
            r.failed,
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
                c.rows,
                c.sent,
                c.queued,
                c.failed,
                c.error.as_deref().map(|e| format!("  error: {e}")).unwrap_or_default()
            );
        }
    }
    o.push_str(STATUS_LEGEND);
    o
}

/// Health of one check.
#[derive(Debug, Serialize)]
pub struct CheckStatus {
    /// Check slug.
    pub check: &'static str,
    /// Start of the latest run.
    pub last_run: Option<DateTime<FixedOffset>>,
    /// Status of the latest run.
    pub last_status: Option<String>,
    /// End of the latest successful run.
    pub last_success: Option<DateTime<FixedOffset>>,
    /// Whether the last success is older than the threshold (or absent).
    pub stale: bool,
}

/// One e-mail rejected permanently.
#[derive(Debug, Serialize)]
pub struct Rejection {
    /// The recipient's address.
    pub address: String,
    /// Check slug.
    pub check: String,
    /// The server's reply.
    pub reply: String,
    /// When it was rejected (the last attempt; its creation for older rows).
    pub at: DateTime<FixedOffset>,
}

/// How many rejections `status` lists.
pub const REJECTIONS_SHOWN: u32 = 10;

/// The whole picture.
#[derive(Debug, Serialize)]
pub struct Status {
    /// Per check.
    pub checks: Vec<CheckStatus>,
    /// E-mails queued.
    pub queued: u64,
    /// E-mails queued for longer than the stuck threshold.
    pub stuck: u64,
    /// Oldest queued e-mail.
    pub oldest_queued: Option<DateTime<FixedOffset>>,
    /// Ledger id of the oldest queued e-mail (what `outbox retry` takes).
    pub oldest_queued_id: Option<u64>,
    /// Its next attempt, RFC 3339 in the configured time zone; `null` when
    /// nothing is queued or it is due at the next delivery.
    pub oldest_queued_next_attempt: Option<String>,
    /// E-mails rejected permanently in the last 24 hours.
    pub failed_24h: u64,
    /// E-mails abandoned in the last 24 hours.
    pub abandoned_24h: u64,
    /// The same next attempt as text (`2026-12-01 09:30 +01:00`).
    #[serde(skip)]
    pub oldest_next_local: Option<String>,
    /// The latest rejections, newest first (at most 10, of any age).
    pub rejections: Vec<Rejection>,
    /// Healthy?
    pub healthy: bool,
    /// Why not.
    pub problems: Vec<String>,
}

/// Reads the status in five queries, times in `tz`.
pub async fn status(db: &mut Db, stale_after: Duration, stuck_after: Duration, tz: Tz) -> Result<Status> {
    const WHAT: &str = "reading the status";
    let now = Utc::now().naive_utc();
    let stale = chrono::Duration::from_std(stale_after).unwrap_or(chrono::Duration::hours(26));
    let stuck = chrono::Duration::from_std(stuck_after).unwrap_or(chrono::Duration::hours(6));
    let (figures, _, _) = crate::metrics::fetch(db).await?;
    let mut problems = Vec::new();
    let mut checks = Vec::new();
    for (c, f) in figures {
        let (last_run, last_status, last_success) = (f.last_run, f.last_status, f.last_success);
        let is_stale = last_success.is_none_or(|t| now - t > stale);
        if is_stale {
            problems.push(match last_success {
                Some(t) => format!(
                    "{}: last success {} is older than {}",
                    c.slug(),
                    text(&local(t, tz)),
                    humantime::format_duration(stale_after)
                ),
                None => format!("{}: never succeeded", c.slug()),
            });
        }
        checks.push(CheckStatus {
            check: c.slug(),
            last_run: last_run.map(|t| local(t, tz)),
            last_status,
            last_success: last_success.map(|t| local(t, tz)),
            stale: is_stale,
        });
    }
    // language=MySQL
    let r = sqlx::query(
        "SELECT COUNT(*), COALESCE(SUM(COALESCE(queued_at, created_at) < ?), 0), MIN(COALESCE(queued_at, created_at))
         FROM sigov_alerts_deliveries WHERE state = 'queued'",
    )
    .bind(now - stuck)
    .fetch_one(db.conn())
    .within(WHAT)
    .await?;
    let num = crate::db::count_col;
    let queued = num(&r, 0);
    let stuck_n = num(&r, 1);
    let oldest: Option<NaiveDateTime> = r.try_get(2).ok().flatten();
    // language=MySQL
    let first = sqlx::query(
        "SELECT id, next_attempt_at FROM sigov_alerts_deliveries WHERE state = 'queued'
         ORDER BY COALESCE(queued_at, created_at), id LIMIT 1",
    )
    .fetch_optional(db.conn())
    .await
    .map_err(|e| Error::db(WHAT, e))?;
    let (oldest_id, oldest_next) = match &first {
        Some(r) => (
            Some(r.try_get::<u64, _>(0).map_err(|e| Error::db(WHAT, e))?),
            r.try_get::<Option<NaiveDateTime>, _>(1).map_err(|e| Error::db(WHAT, e))?,
        ),
        None => (None, None),
    };
    // language=MySQL
    let f = sqlx::query(
        "SELECT COALESCE(SUM(state = 'failed'), 0), COALESCE(SUM(state = 'abandoned'), 0) FROM sigov_alerts_deliveries
         WHERE state IN ('failed', 'abandoned') AND created_at >= ?",
    )
    .bind(now - chrono::Duration::hours(24))
    .fetch_one(db.conn())
    .within(WHAT)
    .await?;
    let failed_24h = num(&f, 0);
    let abandoned_24h = num(&f, 1);
    // language=MySQL
    let rejections = sqlx::query(
        "SELECT address, check_slug, COALESCE(last_reply, ''), COALESCE(last_attempt_at, created_at) AS at
         FROM sigov_alerts_deliveries WHERE state = 'failed' ORDER BY at DESC, id DESC LIMIT ?",
    )
    .bind(REJECTIONS_SHOWN)
    .fetch_all(db.conn())
    .await
    .map_err(|e| Error::db(WHAT, e))?
    .iter()
    .map(|r| {
        Ok(Rejection {
            address: r.try_get(0)?,
            check: r.try_get(1)?,
            reply: r.try_get(2)?,
            at: local(r.try_get(3)?, tz),
        })
    })
    .collect::<std::result::Result<Vec<_>, sqlx::Error>>()
    .map_err(|e| Error::db(WHAT, e))?;
    if stuck_n > 0 {
        problems.push(format!("{stuck_n} e-mail(s) queued for more than {}", humantime::format_duration(stuck_after)));
    }
    if failed_24h + abandoned_24h > 0 {
        problems.push(format!("{failed_24h} e-mail(s) rejected and {abandoned_24h} abandoned in the last 24 hours"));
    }
    Ok(Status {
        checks,
        queued,
        stuck: stuck_n,
        oldest_queued: oldest.map(|t| local(t, tz)),
        oldest_queued_id: oldest_id,
        oldest_queued_next_attempt: oldest_next.map(|t| crate::outbox_cmd::json_time(t, tz)),
        oldest_next_local: oldest_next.map(|t| crate::outbox_cmd::text_time(t, tz)),
        failed_24h,
        abandoned_24h,
        rejections,
        healthy: problems.is_empty(),
        problems,
    })
}

/// `status` as text.
pub fn status_text(s: &Status, tz: Tz) -> String {
    let when = |t: &Option<DateTime<FixedOffset>>, none: &str| t.as_ref().map(text).unwrap_or_else(|| none.into());
    let mut o = format!("{:<20} {:<23}  {:<12} last success (times in {})\n", "check", "last run", "status", tz.name());
    for c in &s.checks {
        let _ = writeln!(
            o,
            "{:<20} {:<23}  {:<12} {}{}",
            c.check,
            when(&c.last_run, "never"),
            c.last_status.as_deref().unwrap_or("-"),
            when(&c.last_success, "never"),
            if c.stale { "  STALE" } else { "" }
        );
    }
    let _ = writeln!(
        o,
        "\noutbox: {} queued ({} stuck, oldest {}), last 24 h: {} rejected, {} abandoned",
        s.queued,
        s.stuck,
        when(&s.oldest_queued, "-"),
        s.failed_24h,
        s.abandoned_24h
    );
    if let Some(id) = s.oldest_queued_id {
        let next = s.oldest_next_local.as_deref().map(|t| format!("next attempt {t}"));
        let _ = writeln!(o, "oldest queued e-mail: id {id}, {}", next.as_deref().unwrap_or("due at the next delivery"));
    }
    if !s.rejections.is_empty() {
        o.push_str("latest rejections:\n");
        for r in &s.rejections {
            let _ = writeln!(o, "  {}  {:<20} <{}> {}", text(&r.at), r.check, r.address, r.reply);
        }
    }
    if s.healthy {
        o.push_str("healthy\n");
    } else {
        for p in &s.problems {
            let _ = writeln!(o, "UNHEALTHY: {p}");
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn check(slug: &str, status: &str) -> CheckEntry {
        CheckEntry {
            check: slug.into(),
            status: status.into(),
            rows: 2,
            sent: 1,
            queued: 1,
            failed: 0,
            skipped: 0,
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
            rows: 4,
            sent: 2,
            queued: 2,
            failed: 0,
            skipped: 0,
            error: None,
            checks,
        }
    }

    #[test]
    fn times_are_local_with_their_offset() {
        let tz = chrono_tz::Europe::Paris;
        assert_eq!(text(&local(at("2026-12-01 08:00:00"), tz)), "2026-12-01 09:00 +01:00");
        assert_eq!(text(&local(at("2026-07-01 08:00:00"), tz)), "2026-07-01 10:00 +02:00");
        let json = serde_json::to_value(local(at("2026-12-01 08:00:00"), tz)).unwrap();
        assert_eq!(json, "2026-12-01T09:00:00+01:00");
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
