//! The outbox: the ledger rows still owed an e-mail (`state = 'queued'`),
//! what delivery reads back (`OutboxRow`), the claims that keep deliverers
//! apart, and the statements that record each outcome. Statements joining
//! the app's tables live in `db::outbox`.
//!
//! A deliverer claims the rows it is about to send with a committed write
//! (its run id and an expiry no shorter than `delivery_deadline`) before
//! sending any of them; every later write names the claim, so an id is only
//! confirmed where it is still queued and still ours.

use chrono::NaiveDateTime;
use std::time::Duration;

use sqlx::{MySql, QueryBuilder, Row};

use crate::checks::{AlertKind, AppTable, Check, ProjectFacts, StageFacts};
use crate::db::Db;
use crate::db::Within;
use crate::error::{Error, Result};

crate::stored_enum! {
    /// The state of a ledger row's e-mail, as stored in
    /// `sigov_alerts_deliveries.state`, in the order summaries name them:
    /// `queued` waits to be sent (again): the outbox; `failed` was rejected
    /// permanently by the relay; `abandoned` was given up (too old, or its app
    /// row is gone); `discarded` was cancelled by an operator (`outbox
    /// discard`); `sent` was accepted by the relay; `no_email` and
    /// `bad_address` were never mailed: no address, or not a valid mailbox (R9).
    pub enum DeliveryState {
        Queued = "queued", Failed = "failed", Abandoned = "abandoned", Discarded = "discarded",
        Sent = "sent", NoEmail = "no_email", BadAddress = "bad_address",
    }
}

const QUEUED: &str = DeliveryState::Queued.as_str();

/// A queued e-mail with what its rendering needs, read back from the app row.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    /// Ledger row id.
    pub id: u64,
    /// The check that owes it.
    pub check: Check,
    /// The item the alert is about (project, stage, task or contract id).
    pub item_id: String,
    /// Alert type.
    pub kind: AlertKind,
    /// App table.
    pub table: Option<AppTable>,
    /// Address.
    pub address: String,
    /// Stable Message-ID.
    pub message_id: String,
    /// Attempts so far.
    pub attempts: u32,
    /// When it was queued (or re-queued): its delivery age counts from here.
    pub queued_at: NaiveDateTime,
    /// The app row's content, `None` when the row is gone.
    pub content: Option<AppContent>,
}

/// An app row and the facts around it, enough to render its e-mail.
#[derive(Debug, Clone)]
pub struct AppContent {
    /// `titre`.
    pub titre: String,
    /// `message`.
    pub message: String,
    /// `niveau` (empty for stages).
    pub niveau: String,
    /// `donnees_contexte`.
    pub contexte: String,
    /// `date_creation` (UTC).
    pub created_at: NaiveDateTime,
    /// Recipient's full name.
    pub recipient_name: String,
    /// Project.
    pub project: ProjectFacts,
    /// Stage (stage notifications).
    pub stage: Option<StageFacts>,
}

/// E-mails still queued, per check, in one query; rows another live
/// deliverer has claimed are not counted (they are being sent by it, not
/// waiting for a retry).
pub async fn queued_by_check(db: &mut Db, run_id: &str) -> Result<Vec<(String, u32)>> {
    // language=MySQL
    let mut qb: QueryBuilder<MySql> =
        QueryBuilder::new("SELECT check_slug, COUNT(*) FROM sigov_alerts_deliveries WHERE state = ");
    qb.push_bind(QUEUED);
    qb.push(" AND (claimed_by IS NULL OR claimed_by = ")
        .push_bind(run_id)
        .push(" OR claim_expires_at < UTC_TIMESTAMP(6))");
    qb.push(" GROUP BY check_slug");
    let rows = qb.build().fetch_all(db.conn()).within("reading the outbox").await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get::<i64, _>(1)? as u32)))
        .collect::<std::result::Result<_, sqlx::Error>>()
        .map_err(|e| Error::db("reading the outbox", e))
}

/// Gives up queued mail older than `max_age` before anything is sent (a
/// week-old J-1 reminder must not go out when a relay comes back); returns
/// how many.
pub async fn abandon_expired(db: &mut Db, max_age: Duration) -> Result<u64> {
    let secs = max_age.as_secs();
    // language=MySQL
    let r = sqlx::query(
        "UPDATE sigov_alerts_deliveries SET state = ?, \
         last_reply = CONCAT('not sent: queued longer than max_delivery_age (', ?, 's)'), \
         next_attempt_at = NULL, claimed_by = NULL, claim_expires_at = NULL \
         WHERE state = ? AND COALESCE(queued_at, created_at) < UTC_TIMESTAMP(6) - INTERVAL ? SECOND \
         AND (claimed_by IS NULL OR claim_expires_at < UTC_TIMESTAMP(6))",
    )
    .bind(DeliveryState::Abandoned.as_str())
    .bind(secs)
    .bind(QUEUED)
    .bind(secs)
    .execute(db.conn())
    .within("giving up old queued mail")
    .await?;
    Ok(r.rows_affected())
}

/// What a claim may take.
#[derive(Debug, Clone, Copy)]
pub struct ClaimScope<'a> {
    /// The claiming run.
    pub run_id: &'a str,
    /// How long the claim holds (at least the delivery deadline).
    pub ttl: Duration,
    /// At most this many rows.
    pub limit: u32,
    /// Take rows whatever their next attempt time (`deliver --now`), but
    /// each at most once per run: only rows not attempted since `since`.
    pub ignore_backoff: bool,
    /// The start of this run's delivery (UTC).
    pub since: chrono::NaiveDateTime,
    /// Take over live claims too: only when the database lock guarantees
    /// that no other deliverer runs (the claims are a crashed run's).
    pub take_over: bool,
}

/// Claims up to `scope.limit` due rows for `scope.run_id`, oldest first, in
/// one committed statement; returns how many. Retried on a certification
/// conflict (Galera) or a deadlock: another deliverer took those rows first.
pub async fn claim(db: &mut Db, scope: &ClaimScope<'_>) -> Result<u64> {
    let mut tries = 0;
    loop {
        // language=MySQL
        let mut qb: QueryBuilder<MySql> = QueryBuilder::new("UPDATE sigov_alerts_deliveries SET claimed_by = ");
        qb.push_bind(scope.run_id)
            .push(", claim_expires_at = UTC_TIMESTAMP(6) + INTERVAL ")
            .push_bind(scope.ttl.as_secs().max(1))
            .push(" SECOND WHERE state = ")
            .push_bind(QUEUED);
        if scope.ignore_backoff {
            qb.push(" AND (last_attempt_at IS NULL OR last_attempt_at < ").push_bind(scope.since).push(")");
        } else {
            qb.push(" AND (next_attempt_at IS NULL OR next_attempt_at <= UTC_TIMESTAMP(6))");
        }
        if scope.take_over {
            // Another run's claims only (this run's own are held back on purpose).
            qb.push(" AND (claimed_by IS NULL OR claimed_by <> ").push_bind(scope.run_id);
            qb.push(" OR claim_expires_at < UTC_TIMESTAMP(6))");
        } else {
            qb.push(" AND (claimed_by IS NULL OR claim_expires_at < UTC_TIMESTAMP(6))");
        }
        // Never attempted first (NULL sorts first), then the oldest attempt:
        // mail a relay fault stopped on goes last, so one message the relay
        // always refuses cannot hold up the others (index claim_order).
        qb.push(" ORDER BY last_attempt_at, id LIMIT ").push_bind(scope.limit);
        match qb.build().execute(db.conn()).bounded().await {
            Ok(r) => return Ok(r.rows_affected()),
            Err(e) if again(&mut tries, &e).await => {}
            Err(e) => return Err(Error::db("claiming queued mail", e)),
        }
    }
}

/// After a deadlock, a lock wait timeout or a Galera certification
/// conflict (deliverers writing the same table at once), waits a little and
/// says to try again, at most 10 times: an outbox write is idempotent, and
/// giving up would lose confirmations of mail already accepted.
async fn again(tries: &mut u64, err: &sqlx::Error) -> bool {
    if *tries >= 10 || !crate::error::is_conflict(err) {
        return false;
    }
    *tries += 1;
    tokio::time::sleep(Duration::from_millis(20 * *tries)).await;
    true
}

/// Releases what `run_id` still holds (not sent when delivery stopped).
pub async fn release(db: &mut Db, run_id: &str) -> Result<()> {
    // language=MySQL
    sqlx::query(
        "UPDATE sigov_alerts_deliveries SET claimed_by = NULL, claim_expires_at = NULL \
         WHERE claimed_by = ? AND state = ?",
    )
    .bind(run_id)
    .bind(QUEUED)
    .execute(db.conn())
    .within("releasing claimed mail")
    .await?;
    Ok(())
}

/// Marks `ids` delivered at `now`, in one statement; only rows still queued
/// and still claimed by `run_id` change.
pub async fn confirm_sent(db: &mut Db, run_id: &str, ids: &[u64], now: NaiveDateTime) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut tries = 0;
    loop {
        // language=MySQL
        let mut qb: QueryBuilder<MySql> = QueryBuilder::new("UPDATE sigov_alerts_deliveries SET state = ");
        qb.push_bind(DeliveryState::Sent.as_str());
        qb.push(
            ", attempts = attempts + 1, last_reply = NULL, next_attempt_at = NULL, claimed_by = NULL, \
             claim_expires_at = NULL, sent_at = ",
        );
        qb.push_bind(now).push(", last_attempt_at = ").push_bind(now);
        qb.push(" WHERE state = ").push_bind(QUEUED).push(" AND claimed_by = ").push_bind(run_id).push(" AND id IN (");
        let mut sep = qb.separated(", ");
        for id in ids {
            sep.push_bind(*id);
        }
        qb.push(")");
        match qb.build().execute(db.conn()).bounded().await {
            Ok(_) => return Ok(()),
            Err(e) if again(&mut tries, &e).await => {}
            Err(e) => return Err(Error::db("recording deliveries", e)),
        }
    }
}

/// An attempt's outcome to record on one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Rejected for good (`failed`).
    Failed,
    /// Given up (`abandoned`): too old, or the app row is gone.
    Abandoned,
    /// Try again at the given time (`queued`), one more attempt counted.
    Retry(NaiveDateTime),
    /// The relay failed, not the message: stays queued, no attempt counted.
    RelayFault,
}

/// Records one attempt's outcome on row `id` (claimed by `run_id`).
pub async fn record(db: &mut Db, run_id: &str, id: u64, outcome: Outcome, reply: &str) -> Result<()> {
    let reply: String = reply.chars().take(1000).collect();
    let (state, next, counted) = match outcome {
        Outcome::Failed => (DeliveryState::Failed, None, 1),
        Outcome::Abandoned => (DeliveryState::Abandoned, None, 1),
        Outcome::Retry(at) => (DeliveryState::Queued, Some(at), 1),
        Outcome::RelayFault => (DeliveryState::Queued, None, 0),
    };
    let mut tries = 0;
    loop {
        // language=MySQL
        let r = sqlx::query(
            "UPDATE sigov_alerts_deliveries SET state = ?, attempts = attempts + ?, last_reply = ?, \
             next_attempt_at = COALESCE(?, next_attempt_at), last_attempt_at = ?, \
             claimed_by = NULL, claim_expires_at = NULL WHERE id = ? AND claimed_by = ? AND state = ?",
        )
        .bind(state.as_str())
        .bind(counted)
        .bind(&reply)
        .bind(next)
        .bind(chrono::Utc::now().naive_utc())
        .bind(id)
        .bind(run_id)
        .bind(QUEUED)
        .execute(db.conn())
        .bounded()
        .await;
        match r {
            Ok(_) => return Ok(()),
            Err(e) if again(&mut tries, &e).await => {}
            Err(e) => return Err(Error::db("recording a delivery failure", e)),
        }
    }
}
