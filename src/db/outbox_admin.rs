//! The statements of the `outbox` command: the outbox listed with the
//! subject of each e-mail's app row, and the operator's re-queues and
//! discards, each one set-based UPDATE over rows locked with
//! `SELECT … FOR UPDATE` in the caller's transaction.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use serde::Serialize;
use sqlx::mysql::MySqlRow;
use sqlx::{Encode, MySql, QueryBuilder, Row, Type};
use tracing::instrument;

use super::Db;
use crate::error::{Error, Result};
use crate::outbox::DeliveryState;

/// Ids per statement: far below the protocol's 65,535 placeholders (an
/// UPDATE binds an id and, for a re-queue, two values per recipient) and a
/// small share of `max_allowed_packet`.
const CHUNK: usize = 20_000;

/// Appends `(?, ?, …)`, one placeholder bound to each of `values`.
fn push_list<T>(qb: &mut QueryBuilder<MySql>, values: impl IntoIterator<Item = T>)
where
    T: for<'t> Encode<'t, MySql> + Type<MySql>,
{
    qb.push("(");
    let mut sep = qb.separated(", ");
    for v in values {
        sep.push_bind(v);
    }
    qb.push(")");
}

/// Appends ` AND column IN (…)`; nothing when `values` is empty.
fn and_in<T>(qb: &mut QueryBuilder<MySql>, column: &str, values: &[T])
where
    T: Clone + for<'t> Encode<'t, MySql> + Type<MySql>,
{
    if !values.is_empty() {
        qb.push(" AND ").push(column).push(" IN ");
        push_list(qb, values.iter().cloned());
    }
}

/// Appends the check and address selectors given (`prefix`: the table
/// alias with its dot, or nothing); the address compares case-insensitively.
fn and_check_address(qb: &mut QueryBuilder<MySql>, prefix: &str, check: Option<&'static str>, address: Option<&str>) {
    if let Some(check) = check {
        qb.push(" AND ").push(prefix).push("check_slug = ").push_bind(check);
    }
    if let Some(address) = address {
        qb.push(" AND LOWER(").push(prefix).push("address) = LOWER(").push_bind(address.trim().to_string()).push(")");
    }
}

/// Runs the query `qb` holds and decodes every row with `decode`; either
/// failure is `Error::db(what, …)`.
async fn fetch<T, C: FromIterator<T>>(
    db: &mut Db,
    qb: &mut QueryBuilder<MySql>,
    what: &str,
    decode: impl FnMut(&MySqlRow) -> std::result::Result<T, sqlx::Error>,
) -> Result<C> {
    let rows = qb.build().fetch_all(db.conn()).await.map_err(|e| Error::db(what, e))?;
    rows.iter().map(decode).collect::<std::result::Result<C, sqlx::Error>>().map_err(|e| Error::db(what, e))
}

/// Runs the statement `qb` holds; the rows it changed.
async fn execute(db: &mut Db, qb: &mut QueryBuilder<MySql>, what: &str) -> Result<u64> {
    Ok(qb.build().execute(db.conn()).await.map_err(|e| Error::db(what, e))?.rows_affected())
}

/// The claim columns of a row selected with `live_claim`: the deliverer
/// holding it and until when, both `None` unless the claim is live.
fn live_claim(r: &MySqlRow) -> std::result::Result<(Option<String>, Option<NaiveDateTime>), sqlx::Error> {
    let live: i64 = r.try_get("live_claim")?;
    if live == 0 {
        return Ok((None, None));
    }
    Ok((r.try_get("claimed_by")?, r.try_get("claim_expires_at")?))
}

/// Which ledger rows a listing takes.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Ledger states; empty: every state.
    pub states: Vec<&'static str>,
    /// Check slug.
    pub check: Option<&'static str>,
    /// Address, compared case-insensitively.
    pub address: Option<String>,
}

impl ListFilter {
    fn push_where(&self, qb: &mut QueryBuilder<MySql>) {
        qb.push(" WHERE 1 = 1");
        and_in(qb, "d.state", &self.states);
        and_check_address(qb, "d.", self.check, self.address.as_deref());
    }
}

/// One ledger row as the outbox listing shows it, its times of type `T`:
/// [`ListedRow`] as read (UTC), text in the business time zone for
/// `outbox --format json`, which prints it as is (the field names are
/// that output's: keep them stable).
#[derive(Debug, Clone, Serialize)]
pub struct Listed<T> {
    /// Ledger row id (what `retry` and `discard` take).
    pub id: u64,
    /// Ledger state.
    pub state: String,
    /// Check slug.
    pub check: String,
    /// Alert type.
    pub kind: String,
    /// Item id.
    pub item_id: String,
    /// Recipient (`core_utilisateur.id`).
    pub recipient_id: String,
    /// Address the e-mail goes (went) to.
    pub address: String,
    /// Subject: the app row's `titre` (`None` when the row is gone).
    pub subject: Option<String>,
    /// Stable Message-ID.
    pub message_id: String,
    /// Attempts since it was (last) queued.
    pub attempts: u32,
    /// The relay's last reply.
    pub last_reply: Option<String>,
    /// When that reply came.
    pub last_attempt_at: Option<T>,
    /// When it may be tried again (`None`: at the next delivery).
    pub next_attempt_at: Option<T>,
    /// When it was queued, or queued again.
    pub queued_at: T,
    /// When the relay accepted it.
    pub sent_at: Option<T>,
    /// Who discarded it.
    pub discarded_by: Option<String>,
    /// Why.
    pub discard_reason: Option<String>,
    /// The run delivering it right now, when its claim is live.
    pub claimed_by: Option<String>,
    /// Until when that claim holds.
    pub claim_expires_at: Option<T>,
}

/// A listed ledger row as read, times UTC.
pub type ListedRow = Listed<NaiveDateTime>;

impl<T> Listed<T> {
    /// The same row with every time converted by `f`.
    pub fn map_times<U>(self, f: impl Fn(T) -> U) -> Listed<U> {
        let Listed { last_attempt_at, next_attempt_at, queued_at, sent_at, claim_expires_at, .. } = self;
        Listed {
            last_attempt_at: last_attempt_at.map(&f),
            next_attempt_at: next_attempt_at.map(&f),
            queued_at: f(queued_at),
            sent_at: sent_at.map(&f),
            claim_expires_at: claim_expires_at.map(&f),
            id: self.id,
            state: self.state,
            check: self.check,
            kind: self.kind,
            item_id: self.item_id,
            recipient_id: self.recipient_id,
            address: self.address,
            subject: self.subject,
            message_id: self.message_id,
            attempts: self.attempts,
            last_reply: self.last_reply,
            discarded_by: self.discarded_by,
            discard_reason: self.discard_reason,
            claimed_by: self.claimed_by,
        }
    }
}

fn listed(r: &MySqlRow) -> std::result::Result<ListedRow, sqlx::Error> {
    let (claimed_by, claim_expires_at) = live_claim(r)?;
    Ok(ListedRow {
        id: r.try_get("id")?,
        state: r.try_get("state")?,
        check: r.try_get("check_slug")?,
        kind: r.try_get("kind")?,
        item_id: r.try_get("item_id")?,
        recipient_id: r.try_get("recipient_id")?,
        address: r.try_get("address")?,
        subject: r.try_get("subject")?,
        message_id: r.try_get("message_id")?,
        attempts: r.try_get("attempts")?,
        last_reply: r.try_get("last_reply")?,
        last_attempt_at: r.try_get("last_attempt_at")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        queued_at: r.try_get("queued")?,
        sent_at: r.try_get("sent_at")?,
        discarded_by: r.try_get("discarded_by")?,
        discard_reason: r.try_get("discard_reason")?,
        claimed_by,
        claim_expires_at,
    })
}

/// The rows `filter` takes, oldest queued first, at most `limit` (0: all),
/// each with its app row's subject, in one query.
#[instrument(skip_all)]
pub async fn list(db: &mut Db, filter: &ListFilter, limit: u32) -> Result<Vec<ListedRow>> {
    const WHAT: &str = "reading the outbox";
    // language=MySQL
    let mut qb: QueryBuilder<MySql> = QueryBuilder::new(concat!(
        "SELECT d.id, d.state, d.check_slug, d.kind, d.item_id, d.recipient_id, d.address, d.message_id,",
        " d.attempts, d.last_reply, d.last_attempt_at, d.next_attempt_at,",
        " COALESCE(d.queued_at, d.created_at) AS queued, d.sent_at, d.discarded_by, d.discard_reason,",
        " d.claimed_by, d.claim_expires_at,",
        " CAST(d.claimed_by IS NOT NULL AND d.claim_expires_at > UTC_TIMESTAMP(6) AS SIGNED) AS live_claim,",
        " COALESCE(ap.titre, ne.titre) AS subject",
        " FROM sigov_alerts_deliveries d",
        " LEFT JOIN core_alerteprojet ap ON d.app_table = 'core_alerteprojet' AND ap.id = d.app_id",
        " LEFT JOIN core_notificationetape ne ON d.app_table = 'core_notificationetape' AND ne.id = d.app_id",
    ));
    filter.push_where(&mut qb);
    qb.push(" ORDER BY queued, d.id");
    if limit > 0 {
        qb.push(" LIMIT ").push_bind(limit);
    }
    fetch(db, &mut qb, WHAT, listed).await
}

/// How many rows `filter` takes, per state, in one query.
pub async fn count_by_state(db: &mut Db, filter: &ListFilter) -> Result<Vec<(String, u64)>> {
    const WHAT: &str = "counting the outbox";
    // language=MySQL
    let mut qb: QueryBuilder<MySql> = QueryBuilder::new("SELECT d.state, COUNT(*) FROM sigov_alerts_deliveries d");
    filter.push_where(&mut qb);
    qb.push(" GROUP BY d.state");
    fetch(db, &mut qb, WHAT, |r| Ok((r.try_get(0)?, super::count_col(r, 1)))).await
}

/// Which rows a re-queue or a discard selects: every selector given must
/// match; with no ids, only rows in `states`.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Ledger ids (any state: the report says why one is skipped).
    pub ids: Vec<u64>,
    /// States the rows must be in when no ids are given.
    pub states: Vec<&'static str>,
    /// Only this state (`retry --failed`).
    pub state: Option<&'static str>,
    /// Check slug.
    pub check: Option<&'static str>,
    /// Address, case-insensitive.
    pub address: Option<String>,
    /// Queued (or queued again) before this UTC instant.
    pub queued_before: Option<NaiveDateTime>,
}

/// A selected ledger row, locked.
#[derive(Debug, Clone)]
pub struct Selected {
    /// Ledger row id.
    pub id: u64,
    /// Ledger state.
    pub state: String,
    /// Check slug.
    pub check: String,
    /// Item id.
    pub item_id: String,
    /// Recipient id.
    pub recipient_id: String,
    /// Address.
    pub address: String,
    /// Message-ID.
    pub message_id: String,
    /// The deliverer holding it, when its claim is live.
    pub live_claim: Option<(String, NaiveDateTime)>,
}

/// Selects and locks (`FOR UPDATE`, inside the caller's transaction) the
/// ledger rows of `sel`, in id order, in one query.
#[instrument(skip_all)]
pub async fn select_for_update(db: &mut Db, sel: &Selection) -> Result<Vec<Selected>> {
    const WHAT: &str = "selecting e-mails of the outbox";
    // language=MySQL
    let mut qb: QueryBuilder<MySql> = QueryBuilder::new(concat!(
        "SELECT id, state, check_slug, item_id, recipient_id, address, message_id, claimed_by, claim_expires_at,",
        " CAST(claimed_by IS NOT NULL AND claim_expires_at > UTC_TIMESTAMP(6) AS SIGNED) AS live_claim",
        " FROM sigov_alerts_deliveries WHERE 1 = 1",
    ));
    if sel.ids.is_empty() {
        and_in(&mut qb, "state", &sel.states);
    } else {
        and_in(&mut qb, "id", &sel.ids);
    }
    if let Some(state) = sel.state {
        qb.push(" AND state = ").push_bind(state);
    }
    and_check_address(&mut qb, "", sel.check, sel.address.as_deref());
    if let Some(before) = sel.queued_before {
        qb.push(" AND COALESCE(queued_at, created_at) < ").push_bind(before);
    }
    qb.push(" ORDER BY id FOR UPDATE");
    fetch(db, &mut qb, WHAT, |r| {
        let (claimed_by, claim_expires_at) = live_claim(r)?;
        Ok(Selected {
            id: r.try_get("id")?,
            state: r.try_get("state")?,
            check: r.try_get("check_slug")?,
            item_id: r.try_get("item_id")?,
            recipient_id: r.try_get("recipient_id")?,
            address: r.try_get("address")?,
            message_id: r.try_get("message_id")?,
            live_claim: claimed_by.zip(claim_expires_at),
        })
    })
    .await
}

/// What the app has now for a ledger row: its recipient and its app row.
#[derive(Debug, Clone)]
pub struct AppNow {
    /// Ledger row id.
    pub id: u64,
    /// The recipient's address, `None` when the user no longer exists.
    pub email: Option<String>,
    /// `is_active AND statut_actif` (R8).
    pub enabled: bool,
    /// Whether the app row the e-mail renders still exists.
    pub app_row: bool,
}

/// The recipient's current address and the app row's presence for each
/// of `rows` (ledger id, recipient id), with plain reads (app rows are never
/// locked): one query for the app rows and one for the users, per 20,000
/// rows. Users are looked up by bound ids, which compare in the app table's
/// own collation (ours may differ) and use its primary key.
#[instrument(skip_all)]
pub async fn app_now(db: &mut Db, rows: &[(u64, String)]) -> Result<Vec<AppNow>> {
    const WHAT: &str = "reading the recipients' addresses";
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(CHUNK) {
        // language=MySQL
        let mut qb: QueryBuilder<MySql> = QueryBuilder::new(concat!(
            "SELECT d.id, CAST(ap.id IS NOT NULL OR ne.id IS NOT NULL AS SIGNED) AS app_row",
            " FROM sigov_alerts_deliveries d",
            " LEFT JOIN core_alerteprojet ap ON d.app_table = 'core_alerteprojet' AND ap.id = d.app_id",
            " LEFT JOIN core_notificationetape ne ON d.app_table = 'core_notificationetape' AND ne.id = d.app_id",
            " WHERE d.id IN ",
        ));
        push_list(&mut qb, chunk.iter().map(|(id, _)| *id));
        let app: HashMap<u64, bool> =
            fetch(db, &mut qb, WHAT, |r| Ok((r.try_get("id")?, r.try_get::<i64, _>("app_row")? != 0))).await?;
        let mut recipients: Vec<&str> = chunk.iter().map(|(_, r)| r.as_str()).collect();
        recipients.sort_unstable();
        recipients.dedup();
        // language=MySQL
        let mut qb: QueryBuilder<MySql> = QueryBuilder::new(
            "SELECT id, email, CAST(is_active AND statut_actif AS SIGNED) AS enabled FROM core_utilisateur WHERE id IN ",
        );
        push_list(&mut qb, recipients.iter().map(|r| r.to_string()));
        let users: HashMap<String, (String, bool)> = fetch(db, &mut qb, WHAT, |r| {
            Ok((r.try_get("id")?, (r.try_get("email")?, r.try_get::<i64, _>("enabled")? != 0)))
        })
        .await?;
        for (id, recipient) in chunk {
            let user = users.get(recipient);
            out.push(AppNow {
                id: *id,
                email: user.map(|(e, _)| e.clone()),
                enabled: user.is_some_and(|(_, on)| *on),
                app_row: app.get(id).copied().unwrap_or(false),
            });
        }
    }
    Ok(out)
}

/// Queues `rows` (id, recipient id, address) again: no attempts, no reply,
/// no retry time, no claim, no discard, queued now, each addressed to the
/// address given for its recipient. One UPDATE per 20,000 rows.
#[instrument(skip_all, fields(rows = rows.len()))]
pub async fn requeue(db: &mut Db, rows: &[(u64, String, String)]) -> Result<u64> {
    let mut done = 0;
    for chunk in rows.chunks(CHUNK) {
        let mut recipients: Vec<(&str, &str)> = chunk.iter().map(|(_, r, a)| (r.as_str(), a.as_str())).collect();
        recipients.sort_unstable();
        recipients.dedup();
        // language=MySQL
        let mut qb: QueryBuilder<MySql> =
            QueryBuilder::new("UPDATE sigov_alerts_deliveries SET address = CASE recipient_id");
        for (recipient, address) in recipients {
            qb.push(" WHEN ").push_bind(recipient.to_string()).push(" THEN ").push_bind(address.to_string());
        }
        qb.push(concat!(
            " ELSE address END, attempts = 0, last_reply = NULL, last_attempt_at = NULL,",
            " next_attempt_at = NULL, queued_at = UTC_TIMESTAMP(6), claimed_by = NULL, claim_expires_at = NULL,",
            " discarded_by = NULL, discard_reason = NULL, state = ",
        ));
        qb.push_bind(DeliveryState::Queued.as_str()).push(" WHERE id IN ");
        push_list(&mut qb, chunk.iter().map(|(id, _, _)| *id));
        done += execute(db, &mut qb, "queueing e-mails again").await?;
    }
    Ok(done)
}

/// Discards the queued rows among `ids`, recording `by` and `reason`. One
/// UPDATE per 20,000 rows.
#[instrument(skip_all, fields(rows = ids.len()))]
pub async fn discard(db: &mut Db, ids: &[u64], by: &str, reason: &str) -> Result<u64> {
    let by: String = by.chars().take(100).collect();
    let reason: String = reason.chars().take(500).collect();
    let mut done = 0;
    for chunk in ids.chunks(CHUNK) {
        // language=MySQL
        let mut qb: QueryBuilder<MySql> = QueryBuilder::new("UPDATE sigov_alerts_deliveries SET state = ");
        qb.push_bind(DeliveryState::Discarded.as_str())
            .push(", discarded_by = ")
            .push_bind(by.clone())
            .push(", discard_reason = ")
            .push_bind(reason.clone())
            .push(", claimed_by = NULL, claim_expires_at = NULL WHERE state = ")
            .push_bind(DeliveryState::Queued.as_str())
            .push(" AND id IN ");
        push_list(&mut qb, chunk.iter().copied());
        done += execute(db, &mut qb, "discarding e-mails").await?;
    }
    Ok(done)
}
