//! Run rows (`sigov_alerts_runs`): one per check of each real run, opened
//! up front, closed with counts and status at the end; orphans of a run that
//! died are closed as `crashed` by the next run that holds the locks.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use sqlx::{MySql, QueryBuilder, Row};

use crate::checks::Check;
use crate::db::Db;
use crate::db::Within;
use crate::error::{Error, Result};

crate::stored_enum! {
    /// The status of a run row, as stored in `sigov_alerts_runs.status`:
    /// `running` has started and not ended yet; `ok` ended with every e-mail
    /// sent; `partial` ended with e-mails still queued or rejected, or alerts
    /// skipped as data errors; `failed`: the check failed and nothing of it was
    /// committed; `interrupted`: a signal stopped it; `crashed`: the process
    /// ended without recording its end, closed by a later run
    /// (`close_orphans`) or after a fatal error (`abort_runs`).
    pub enum RunStatus {
        Running = "running", Ok = "ok", Partial = "partial", Failed = "failed",
        Interrupted = "interrupted", Crashed = "crashed",
    }
}

/// The identity of one run of one command.
#[derive(Debug, Clone)]
pub struct Run {
    /// UUID of the run.
    pub run_id: String,
    /// The command (`run-all`, `check-budget`, …).
    pub command: String,
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// The run instant (UTC).
    pub instant: NaiveDateTime,
    /// The business day.
    pub today: NaiveDate,
}

impl Run {
    /// A new run of `command` at `instant`, whose business day is `today`,
    /// with a fresh id, by this process on this host.
    pub fn new(command: &str, instant: DateTime<Utc>, today: NaiveDate) -> Run {
        Run {
            run_id: new_run_id(),
            command: command.to_string(),
            host: hostname(),
            pid: std::process::id(),
            instant: instant.naive_utc(),
            today,
        }
    }
}

/// The business day of `instant` in `tz` (R1) and its UTC bounds
/// `[local 00:00, next local 00:00)` (R2).
pub fn business_day(instant: DateTime<Utc>, tz: Tz) -> (NaiveDate, (NaiveDateTime, NaiveDateTime)) {
    let today = instant.with_timezone(&tz).date_naive();
    let midnight = |d: NaiveDate| -> NaiveDateTime {
        let local = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        match tz.from_local_datetime(&local) {
            chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t.naive_utc(),
            // A zone whose clocks skip midnight: the day starts an hour later.
            chrono::LocalResult::None => tz
                .from_local_datetime(&(local + chrono::Duration::hours(1)))
                .earliest()
                .map(|t| t.naive_utc())
                .unwrap_or(local),
        }
    };
    (today, (midnight(today), midnight(today + chrono::Days::new(1))))
}

fn new_run_id() -> String {
    // A random v4-style id from the OS; no extra crate needed.
    let mut bytes = [0u8; 16];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut bytes);
    }
    if bytes == [0u8; 16] {
        let t = Utc::now().timestamp_nanos_opt().unwrap_or_default() as u128 ^ ((std::process::id() as u128) << 64);
        bytes = t.to_le_bytes();
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    crate::checks::dashed(&hex)
}

/// This host's name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// Closes as `crashed` the `running` rows left by runs that died. With
/// `exclusive` (the caller holds the database lock) no other run can be
/// alive, so every `running` row is an orphan. Without it (Galera, the
/// database lock off) another host's run may be live: only rows of this
/// host whose process is gone, and rows older than a day (no run lives that
/// long: every phase is bounded), are closed.
pub async fn close_orphans(db: &mut Db, exclusive: bool) -> Result<()> {
    const WHY: &str = "the process ended without recording its end";
    if exclusive {
        // language=MySQL
        sqlx::query("UPDATE sigov_alerts_runs SET status = ?, error = ? WHERE status = ?")
            .bind(RunStatus::Crashed.as_str())
            .bind(WHY)
            .bind(RunStatus::Running.as_str())
            .execute(db.conn())
            .within("recording the run")
            .await?;
        return Ok(());
    }
    let host = hostname();
    // language=MySQL
    let rows = sqlx::query("SELECT DISTINCT pid FROM sigov_alerts_runs WHERE status = ? AND host = ?")
        .bind(RunStatus::Running.as_str())
        .bind(&host)
        .fetch_all(db.conn())
        .within("reading the run history")
        .await?;
    let mut dead: Vec<u32> = Vec::new();
    for r in &rows {
        let pid: u32 = r.try_get(0).map_err(|e| Error::db("reading the run history", e))?;
        if pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            dead.push(pid);
        }
    }
    // language=MySQL
    let mut qb: QueryBuilder<MySql> = QueryBuilder::new("UPDATE sigov_alerts_runs SET status = ");
    qb.push_bind(RunStatus::Crashed.as_str()).push(", error = ").push_bind(WHY);
    qb.push(" WHERE status = ").push_bind(RunStatus::Running.as_str());
    qb.push(" AND (started_at < UTC_TIMESTAMP(6) - INTERVAL 1 DAY");
    if !dead.is_empty() {
        qb.push(" OR (host = ").push_bind(&host).push(" AND pid IN (");
        let mut sep = qb.separated(", ");
        for pid in &dead {
            sep.push_bind(*pid);
        }
        qb.push("))");
    }
    qb.push(")");
    qb.build().execute(db.conn()).within("recording the run").await?;
    Ok(())
}

/// Counts per check and state of the run, recorded at its end.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    /// App rows created.
    pub rows: u32,
    /// E-mails delivered.
    pub sent: u32,
    /// E-mails still queued.
    pub queued: u32,
    /// E-mails rejected or abandoned.
    pub failed: u32,
    /// Alerts skipped (inactive, already sent, no access).
    pub skipped: u32,
}

/// The `check_slug` of the one row of a run that runs no check (`deliver`).
pub const NO_CHECK: &str = "-";

/// Records the start of every check of `run` in one statement; returns
/// the row ids in the order of `checks`.
pub async fn start_runs(db: &mut Db, run: &Run, checks: &[Check]) -> Result<Vec<u64>> {
    let slugs: Vec<&str> = checks.iter().map(|c| c.slug()).collect();
    start_rows(db, run, &slugs).await
}

/// Records the start of a run that runs no check (`deliver`): one row with
/// the check `-`; returns its id.
pub async fn start_run(db: &mut Db, run: &Run) -> Result<u64> {
    Ok(start_rows(db, run, &[NO_CHECK]).await?[0])
}

async fn start_rows(db: &mut Db, run: &Run, slugs: &[&str]) -> Result<Vec<u64>> {
    let started = chrono::Utc::now().naive_utc();
    // language=MySQL
    let mut qb: QueryBuilder<MySql> = QueryBuilder::new(
        "INSERT INTO sigov_alerts_runs (run_id, command, check_slug, host, pid, run_instant, local_date, started_at, status) ",
    );
    qb.push_values(slugs.iter(), |mut b, c| {
        b.push_bind(&run.run_id)
            .push_bind(&run.command)
            .push_bind(*c)
            .push_bind(&run.host)
            .push_bind(run.pid)
            .push_bind(run.instant)
            .push_bind(run.today)
            .push_bind(started)
            .push_bind(RunStatus::Running.as_str());
    });
    // The ids as the server assigned them, in the order of the rows.
    qb.push(" RETURNING id");
    let rows = qb.build().fetch_all(db.conn()).within("recording the run").await?;
    rows.iter()
        .map(|r| r.try_get::<u64, _>(0))
        .collect::<std::result::Result<_, sqlx::Error>>()
        .map_err(|e| Error::db("recording the run", e))
}

/// The end of one run row.
#[derive(Debug, Clone)]
pub struct RunEnd {
    /// Row id.
    pub row: u64,
    /// Final status.
    pub status: RunStatus,
    /// Counts.
    pub counts: Counts,
    /// Error, if the check failed.
    pub error: Option<String>,
}

/// Records the end of run rows, each with the run's exit code, in one
/// statement.
pub async fn finish_runs(db: &mut Db, ends: &[RunEnd], exit_code: u8) -> Result<()> {
    if ends.is_empty() {
        return Ok(());
    }
    let finished = chrono::Utc::now().naive_utc();
    // One UPDATE for every row: joined to the ends as a derived table.
    // language=MySQL
    let mut qb: QueryBuilder<MySql> = QueryBuilder::new("UPDATE sigov_alerts_runs r JOIN (");
    for (i, e) in ends.iter().enumerate() {
        qb.push(if i == 0 { "SELECT " } else { " UNION ALL SELECT " });
        qb.push_bind(e.row).push(" AS id, ");
        qb.push_bind(e.status.as_str()).push(" AS status, ");
        qb.push_bind(e.counts.rows).push(" AS rows_created, ");
        qb.push_bind(e.counts.sent).push(" AS emails_sent, ");
        qb.push_bind(e.counts.queued).push(" AS emails_queued, ");
        qb.push_bind(e.counts.failed).push(" AS emails_failed, ");
        qb.push_bind(e.counts.skipped).push(" AS skipped, ");
        qb.push_bind(e.error.as_deref().map(|s| s.chars().take(1000).collect::<String>())).push(" AS error");
    }
    qb.push(") e ON e.id = r.id SET r.finished_at = ").push_bind(finished);
    qb.push(
        ", r.status = e.status, r.rows_created = e.rows_created, r.emails_sent = e.emails_sent, \
         r.emails_queued = e.emails_queued, r.emails_failed = e.emails_failed, r.skipped = e.skipped, \
         r.error = e.error, r.exit_code = ",
    );
    qb.push_bind(i16::from(exit_code));
    qb.build().execute(db.conn()).within("recording the run").await?;
    Ok(())
}

/// After a run ended on `err` before recording its end: its rows still
/// `running` become `crashed` with the error (what a check committed is not
/// known here), and every row of the run gets the exit code. Best effort
/// (the database may be what failed): rows left `running` are closed as
/// `crashed` by the next run.
pub async fn abort_runs(db: &mut Db, run_id: &str, err: &Error) {
    if matches!(err, Error::Lost(_) | Error::Unavailable(_)) {
        // Nothing more can be recorded there: the next run closes the rows.
        return;
    }
    let now = chrono::Utc::now().naive_utc();
    let message: String = err.to_string().chars().take(1000).collect();
    // MariaDB assigns left to right: `status` last, so the others see the old one.
    // language=MySQL
    let r = sqlx::query(
        "UPDATE sigov_alerts_runs SET error = IF(status = ?, ?, error),
                finished_at = IF(status = ?, ?, finished_at), exit_code = ?,
                status = IF(status = ?, ?, status)
         WHERE run_id = ?",
    )
    .bind(RunStatus::Running.as_str())
    .bind(message)
    .bind(RunStatus::Running.as_str())
    .bind(now)
    .bind(i16::from(err.exit_code()))
    .bind(RunStatus::Running.as_str())
    .bind(RunStatus::Crashed.as_str())
    .bind(run_id)
    .execute(db.conn())
    .within("recording the end of a failed run")
    .await;
    if let Err(e) = r {
        tracing::debug!(error = %e, "recording the end of a failed run");
    }
}

/// Records `exit` as the exit code of every row of `run_id` (when an output
/// file failed after the run was recorded: 74).
pub async fn record_exit(db: &mut Db, run_id: &str, exit: u8) -> Result<()> {
    // language=MySQL
    sqlx::query("UPDATE sigov_alerts_runs SET exit_code = ? WHERE run_id = ?")
        .bind(i16::from(exit))
        .bind(run_id)
        .execute(db.conn())
        .within("recording the run")
        .await?;
    Ok(())
}

/// Who holds the run, from the newest `running` row, for lock messages.
pub async fn running_holder(conn: &mut sqlx::MySqlConnection) -> Option<String> {
    // language=MySQL
    let row = sqlx::query(
        "SELECT host, pid, command, started_at FROM sigov_alerts_runs WHERE status = ? ORDER BY id DESC LIMIT 1",
    )
    .bind(RunStatus::Running.as_str())
    .fetch_optional(conn)
    .await
    .ok()??;
    let host: String = row.try_get(0).ok()?;
    let pid: u32 = row.try_get(1).ok()?;
    let command: String = row.try_get(2).ok()?;
    let started: NaiveDateTime = row.try_get(3).ok()?;
    Some(format!("{command} (pid {pid} on {host}, started {started} UTC)"))
}

/// Deletes run rows older than `days`.
pub async fn prune(db: &mut Db, days: u32) -> Result<u64> {
    // language=MySQL
    let q = sqlx::query("DELETE FROM sigov_alerts_runs WHERE started_at < ?").bind(cutoff(days));
    Ok(q.execute(db.conn()).within("pruning the run history").await?.rows_affected())
}

/// The instant before which rows older than `days` are pruned (UTC).
pub fn cutoff(days: u32) -> NaiveDateTime {
    Utc::now().naive_utc() - chrono::Duration::days(i64::from(days))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_day_is_paris_date_r1() {
        let at = |s| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let (d, (start, end)) = business_day(at("2026-03-15T23:30:00Z"), chrono_tz::Europe::Paris);
        assert_eq!(d.to_string(), "2026-03-16");
        assert_eq!(start.to_string(), "2026-03-15 23:00:00");
        assert_eq!(end.to_string(), "2026-03-16 23:00:00");
        // Summer time: the day starts at 22:00 UTC.
        let (d, (start, _)) = business_day(at("2026-07-01T22:30:00Z"), chrono_tz::Europe::Paris);
        assert_eq!(d.to_string(), "2026-07-02");
        assert_eq!(start.to_string(), "2026-07-01 22:00:00");
    }
}
