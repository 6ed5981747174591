//! `history` and `status`: what ran when, how long, what it created and
//! sent, and what is still owed, read from our tables (they replace Flower).

use std::fmt::Write as _;
use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use crate::db::Db;
use crate::db::Within;
use crate::error::{Error, Result};

/// One run row.
#[derive(Debug, Serialize)]
pub struct RunRow {
    /// Run id.
    pub run_id: String,
    /// Command.
    pub command: String,
    /// Check slug.
    pub check: String,
    /// Host.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// Business day.
    pub local_date: String,
    /// Start (UTC).
    pub started_at: String,
    /// Seconds taken.
    pub duration_s: Option<f64>,
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

/// The latest `limit` run rows, newest first.
pub async fn history(db: &mut Db, limit: u32) -> Result<Vec<RunRow>> {
    const WHAT: &str = "reading the run history";
    // language=MySQL
    let rows = sqlx::query(
        "SELECT run_id, command, check_slug, host, pid, local_date, started_at, finished_at, status, rows_created,
                emails_sent, emails_queued, emails_failed, skipped, error
         FROM sigov_alerts_runs ORDER BY id DESC LIMIT ?",
    )
    .bind(limit)
    .fetch_all(db.conn())
    .within(WHAT)
    .await?;
    rows.iter()
        .map(|r| {
            let started: NaiveDateTime = r.try_get(6)?;
            let finished: Option<NaiveDateTime> = r.try_get(7)?;
            Ok(RunRow {
                run_id: r.try_get(0)?,
                command: r.try_get(1)?,
                check: r.try_get(2)?,
                host: r.try_get(3)?,
                pid: r.try_get(4)?,
                local_date: r.try_get::<chrono::NaiveDate, _>(5)?.to_string(),
                started_at: started.format("%Y-%m-%d %H:%M:%S").to_string(),
                duration_s: finished.map(|f| ((f - started).as_seconds_f64() * 1000.0).round() / 1000.0),
                status: r.try_get(8)?,
                rows: r.try_get(9)?,
                sent: r.try_get(10)?,
                queued: r.try_get(11)?,
                failed: r.try_get(12)?,
                skipped: r.try_get(13)?,
                error: r.try_get(14)?,
            })
        })
        .collect::<std::result::Result<_, sqlx::Error>>()
        .map_err(|e| Error::db(WHAT, e))
}

/// `history` as text.
pub fn history_text(rows: &[RunRow]) -> String {
    let mut o = String::from(
        "started (UTC)        command                    check                status       s     rows  sent queued failed host\n",
    );
    for r in rows {
        let _ = writeln!(
            o,
            "{:<20} {:<26} {:<20} {:<11} {:>6} {:>6} {:>5} {:>6} {:>6} {}{}",
            r.started_at,
            r.command,
            r.check,
            r.status,
            r.duration_s.map(|d| format!("{d:.2}")).unwrap_or_else(|| "-".into()),
            r.rows,
            r.sent,
            r.queued,
            r.failed,
            r.host,
            r.error.as_deref().map(|e| format!("  error: {e}")).unwrap_or_default()
        );
    }
    o
}

/// Health of one check.
#[derive(Debug, Serialize)]
pub struct CheckStatus {
    /// Check slug.
    pub check: &'static str,
    /// Start of the latest run (UTC).
    pub last_run: Option<String>,
    /// Status of the latest run.
    pub last_status: Option<String>,
    /// End of the latest successful run (UTC).
    pub last_success: Option<String>,
    /// Whether the last success is older than the threshold (or absent).
    pub stale: bool,
}

/// The whole picture.
#[derive(Debug, Serialize)]
pub struct Status {
    /// Per check.
    pub checks: Vec<CheckStatus>,
    /// E-mails queued.
    pub queued: u64,
    /// E-mails queued for longer than the stuck threshold.
    pub stuck: u64,
    /// Oldest queued e-mail (UTC).
    pub oldest_queued: Option<String>,
    /// E-mails rejected permanently in the last 24 hours.
    pub failed_24h: u64,
    /// E-mails abandoned in the last 24 hours.
    pub abandoned_24h: u64,
    /// Healthy?
    pub healthy: bool,
    /// Why not.
    pub problems: Vec<String>,
}

/// Reads the status in four queries.
pub async fn status(db: &mut Db, stale_after: Duration, stuck_after: Duration) -> Result<Status> {
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
                    "{}: last success {} UTC is older than {}",
                    c.slug(),
                    t.format("%Y-%m-%d %H:%M"),
                    humantime::format_duration(stale_after)
                ),
                None => format!("{}: never succeeded", c.slug()),
            });
        }
        let fmt = |t: NaiveDateTime| t.format("%Y-%m-%d %H:%M:%S").to_string();
        checks.push(CheckStatus {
            check: c.slug(),
            last_run: last_run.map(fmt),
            last_status,
            last_success: last_success.map(fmt),
            stale: is_stale,
        });
    }
    // language=MySQL
    let r = sqlx::query(
        "SELECT COUNT(*), COALESCE(SUM(created_at < ?), 0), MIN(created_at) FROM sigov_alerts_deliveries WHERE state = 'queued'",
    )
    .bind(now - stuck)
    .fetch_one(db.conn())
    .within(WHAT).await?;
    let num = crate::db::count_col;
    let queued = num(&r, 0);
    let stuck_n = num(&r, 1);
    let oldest: Option<NaiveDateTime> = r.try_get(2).ok().flatten();
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
        oldest_queued: oldest.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()),
        failed_24h,
        abandoned_24h,
        healthy: problems.is_empty(),
        problems,
    })
}

/// `status` as text.
pub fn status_text(s: &Status) -> String {
    let mut o = String::from("check                last run (UTC)       status       last success (UTC)\n");
    for c in &s.checks {
        let _ = writeln!(
            o,
            "{:<20} {:<20} {:<12} {}{}",
            c.check,
            c.last_run.as_deref().unwrap_or("never"),
            c.last_status.as_deref().unwrap_or("-"),
            c.last_success.as_deref().unwrap_or("never"),
            if c.stale { "  STALE" } else { "" }
        );
    }
    let _ = writeln!(
        o,
        "\noutbox: {} queued ({} stuck, oldest {}), last 24 h: {} rejected, {} abandoned",
        s.queued,
        s.stuck,
        s.oldest_queued.as_deref().unwrap_or("-"),
        s.failed_24h,
        s.abandoned_24h
    );
    if s.healthy {
        o.push_str("healthy\n");
    } else {
        for p in &s.problems {
            let _ = writeln!(o, "UNHEALTHY: {p}");
        }
    }
    o
}
