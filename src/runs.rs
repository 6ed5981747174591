//! Run rows (`sigov_alerts_runs`): one per check of each real run, opened
//! up front, closed with counts and status at the end; orphans of a run that
//! died are closed as `crashed` by the next run that holds the locks.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use sqlx::{MySql, QueryBuilder, Row};

use crate::checks::Check;
use crate::db::Db;
use crate::error::{Error, Result};

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

/// Marks abandoned the `running` rows left by a run that died (the caller
/// holds the run lock, so no other run is in progress).
pub async fn close_orphans(db: &mut Db) -> Result<()> {
    // language=MySQL
    sqlx::query(
        "UPDATE sigov_alerts_runs SET status = 'crashed', error = 'the process ended without recording its end' WHERE status = 'running'",
    )
    .execute(db.conn())
    .await
    .map_err(|e| Error::db("recording the run", e))?;
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

/// Records the start of every check of `run` in one statement; returns
/// the row ids in the order of `checks`.
pub async fn start_runs(db: &mut Db, run: &Run, checks: &[Check]) -> Result<Vec<u64>> {
    let started = chrono::Utc::now().naive_utc();
    let mut ids = Vec::with_capacity(checks.len());
    let chunks: Vec<&[Check]> = if db.autoinc_consecutive { vec![checks] } else { checks.chunks(1).collect() };
    for chunk in chunks {
        // language=MySQL
        let mut qb: QueryBuilder<MySql> = QueryBuilder::new(
            "INSERT INTO sigov_alerts_runs (run_id, command, check_slug, host, pid, run_instant, local_date, started_at, status) ",
        );
        qb.push_values(chunk.iter(), |mut b, c| {
            b.push_bind(&run.run_id)
                .push_bind(&run.command)
                .push_bind(c.slug())
                .push_bind(&run.host)
                .push_bind(run.pid)
                .push_bind(run.instant)
                .push_bind(run.today)
                .push_bind(started)
                .push("'running'");
        });
        let r = qb.build().execute(db.conn()).await.map_err(|e| Error::db("recording the run", e))?;
        let first = r.last_insert_id();
        ids.extend((0..chunk.len() as u64).map(|i| first + i * db.autoinc_step));
    }
    Ok(ids)
}

/// The end of one run row.
#[derive(Debug, Clone)]
pub struct RunEnd {
    /// Row id.
    pub row: u64,
    /// Final status.
    pub status: &'static str,
    /// Counts.
    pub counts: Counts,
    /// Error, if the check failed.
    pub error: Option<String>,
}

/// Records the end of run rows, in one statement.
pub async fn finish_runs(db: &mut Db, ends: &[RunEnd]) -> Result<()> {
    if ends.is_empty() {
        return Ok(());
    }
    let finished = chrono::Utc::now().naive_utc();
    // An upsert on existing ids: one statement for every row.
    // language=MySQL
    let mut qb: QueryBuilder<MySql> = QueryBuilder::new(
        "INSERT INTO sigov_alerts_runs (id, run_id, command, check_slug, run_instant, local_date, started_at, \
         finished_at, status, rows_created, emails_sent, emails_queued, emails_failed, skipped, error) ",
    );
    qb.push_values(ends.iter(), |mut b, e| {
        b.push_bind(e.row)
            .push("''")
            .push("''")
            .push("''")
            .push_bind(finished)
            .push_bind(finished.date())
            .push_bind(finished)
            .push_bind(finished)
            .push_bind(e.status)
            .push_bind(e.counts.rows)
            .push_bind(e.counts.sent)
            .push_bind(e.counts.queued)
            .push_bind(e.counts.failed)
            .push_bind(e.counts.skipped)
            .push_bind(e.error.as_deref().map(|s| s.chars().take(1000).collect::<String>()));
    });
    qb.push(
        " ON DUPLICATE KEY UPDATE finished_at = VALUES(finished_at), status = VALUES(status), \
         rows_created = VALUES(rows_created), emails_sent = VALUES(emails_sent), emails_queued = VALUES(emails_queued), \
         emails_failed = VALUES(emails_failed), skipped = VALUES(skipped), error = VALUES(error)",
    );
    qb.build().execute(db.conn()).await.map_err(|e| Error::db("recording the run", e))?;
    Ok(())
}

/// Who holds the run, from the newest `running` row, for lock messages.
pub async fn running_holder(conn: &mut sqlx::MySqlConnection) -> Option<String> {
    // language=MySQL
    let row = sqlx::query(
        "SELECT host, pid, command, started_at FROM sigov_alerts_runs WHERE status = 'running' ORDER BY id DESC LIMIT 1",
    )
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
    let cutoff = chrono::Utc::now().naive_utc() - chrono::Duration::days(i64::from(days));
    // language=MySQL
    let b = sqlx::query("DELETE FROM sigov_alerts_runs WHERE started_at < ?")
        .bind(cutoff)
        .execute(db.conn())
        .await
        .map_err(|e| Error::db("pruning the run history", e))?;
    Ok(b.rows_affected())
}
