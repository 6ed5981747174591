//! Delivery: sends what the outbox owes, after the checks have committed.
//! [`deliver`] reads like its steps: give up mail too old to send, then
//! claim a batch, send it, record each outcome, until nothing is due or a
//! relay fault, the circuit breaker, the deadline or a signal stops it;
//! then release what is still claimed.
//!
//! The guarantee (docs/design.md §4.3): every e-mail the relay accepts is
//! recorded as sent in the database within [`CONFIRM_EVERY`] messages or
//! [`CONFIRM_WITHIN`], whichever comes first; nothing local is ever the
//! only record of a delivery.

mod build;
mod tally;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::stream::{FuturesUnordered, StreamExt};
use indicatif::ProgressBar;
use tracing::warn;

use crate::checks::Check;
use crate::config::{Config, MailMode};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::notify::mail::{Mailer, SendError, file_stem};
use crate::notify::render::Renderer;
use crate::outbox::{self, ClaimScope, DeliveryState, OutboxRow, Outcome};
use crate::report::DeliveryReport;
use crate::runs::Counts;
use crate::signals;
use build::{build_unit, group_rows};
use tally::{Stop, Tally, failure};

/// Rows claimed per batch: small enough that several deliverers split a
/// large outbox between them.
const CLAIM_BATCH: u32 = 500;
/// Accepted messages are confirmed in the database at least every this
/// many messages…
pub const CONFIRM_EVERY: usize = 100;
/// …and at least this often.
pub const CONFIRM_WITHIN: Duration = Duration::from_millis(250);
/// Attempts per e-mail within one run for 4xx replies.
const ATTEMPTS: u32 = 3;
/// The same permanent reply for this many different recipients in a row
/// is the relay's fault, not theirs ("relay access denied" to everyone).
const SAME_REPLY_LIMIT: usize = 3;
/// A claim outlives the delivery deadline by this much.
const CLAIM_MARGIN: Duration = Duration::from_secs(60);

/// Who delivers, and how.
pub struct Deliverer<'a> {
    /// The configuration.
    pub cfg: &'a Config,
    /// Renders the e-mails from the app rows.
    pub renderer: &'a Renderer,
    /// Sends them.
    pub mailer: &'a Mailer,
    /// The run that claims the rows it sends.
    pub run_id: &'a str,
    /// `deliver --now`: every queued e-mail is due whatever its next attempt time.
    pub ignore_backoff: bool,
}

/// Sends every queued e-mail that is due; per-check outcomes are added to
/// `per_check`.
pub async fn deliver(
    db: &mut Db,
    d: &Deliverer<'_>,
    per_check: &mut HashMap<Check, Counts>,
    pb: &ProgressBar,
) -> Result<DeliveryReport> {
    let cfg = d.cfg;
    let before = db.statements();
    let mut rep = DeliveryReport::default();
    let mut tally = Tally::new(d.run_id, cfg);
    let given_up = outbox::abandon_expired(db, cfg.max_delivery_age).await?;
    if given_up > 0 {
        warn!(count = given_up, "queued e-mails older than max_delivery_age were given up without being sent");
        rep.abandoned += given_up as u32;
    }
    let digest = cfg.mail_mode == MailMode::Digest;
    let scope = ClaimScope {
        run_id: d.run_id,
        // Longer than the longest a claimed row can wait for its outcome:
        // the deadline, a last send with its retries, pacing, a slow
        // confirmation.
        ttl: cfg.delivery_deadline
            + cfg.send_timeout * (ATTEMPTS + 1)
            + cfg.smtp_rate.map_or(Duration::ZERO, |r| Duration::from_secs_f64(60.0 / f64::from(r.max(1))))
            + cfg.database_timeout * 2
            + CLAIM_MARGIN,
        // A digest needs all of a recipient's mail in one message.
        limit: if digest { u32::MAX >> 1 } else { CLAIM_BATCH },
        ignore_backoff: d.ignore_backoff,
        since: Utc::now().naive_utc(),
        // With the database lock held no other deliverer runs: claims left
        // by a run that died are taken over at once.
        take_over: cfg.database_lock,
    };
    let sent = async {
        while tally.stop.is_none() {
            if outbox::claim(db, &scope).await? == 0 {
                break;
            }
            let batch = crate::db::outbox::fetch_claimed(db, d.run_id).await?;
            let batch: Vec<&OutboxRow> = batch.iter().filter(|r| tally.handled.insert(r.id)).collect();
            if batch.is_empty() {
                break;
            }
            send_batch(db, d, &batch, &mut tally, &mut rep, per_check, pb).await?;
            tally.confirm(db).await?;
        }
        Ok(())
    }
    .await;
    if let Err(e) = sent {
        // What the relay accepted is still recorded if the database lets
        // us (a statement that failed once may go through now).
        if !matches!(e, Error::Lost(_) | Error::Unavailable(_)) {
            let _ = tally.confirm(db).await;
        }
        return Err(e);
    }
    // What is still pending: the held-back rejections (unless delivery stopped), then the confirmations.
    if tally.stop.is_none() {
        tally.end_streak(db, &mut rep, per_check).await?;
    }
    tally.confirm(db).await?;
    outbox::release(db, d.run_id).await?;
    if let Some(stop) = &tally.stop {
        rep.stopped = Some(stop.reason.clone());
        rep.stop_exit = stop.exit;
    }
    // What is still owed, whatever run created it (R5: said, never lost).
    for (check, n) in outbox::queued_by_check(db, d.run_id).await? {
        rep.queued += n;
        if let Some(check) = Check::from_slug(&check) {
            per_check.entry(check).or_default().queued = n;
        }
    }
    rep.statements = db.statements() - before;
    Ok(rep)
}

/// Sends one message, retrying a 4xx reply within the run (R5) up to
/// `attempts` times; returns the attempts made.
async fn send_with_retries(
    mailer: &Mailer,
    msg: &lettre::Message,
    message_id: &str,
    attempts: u32,
    deadline: Instant,
) -> std::result::Result<u32, (SendError, u32)> {
    let mut attempt = 1;
    loop {
        match mailer.send(msg, &file_stem(message_id)).await {
            Ok(()) => return Ok(attempt),
            // The server is up and said "later": try again shortly.
            Err(SendError::Deferred(_)) if attempt < attempts && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(250 * (1 << attempt))).await;
                attempt += 1;
            }
            Err(e) => return Err((e, attempt)),
        }
    }
}

/// Sends one claimed batch: up to `smtp_connections` messages on the wire
/// at once, the next one built while the others travel, paced by
/// `smtp_rate`, confirmed as the tally says.
async fn send_batch(
    db: &mut Db,
    d: &Deliverer<'_>,
    batch: &[&OutboxRow],
    tally: &mut Tally<'_>,
    rep: &mut DeliveryReport,
    per_check: &mut HashMap<Check, Counts>,
    pb: &ProgressBar,
) -> Result<()> {
    let cfg = d.cfg;
    let deadline = tally.deadline;
    let digest = cfg.mail_mode == MailMode::Digest;
    let mut live = Vec::with_capacity(batch.len());
    for row in batch {
        if row.content.is_some() {
            live.push(*row);
            continue;
        }
        const GONE: &str = "the app row no longer exists";
        outbox::record(db, d.run_id, row.id, Outcome::Abandoned, GONE).await?;
        warn!(check = %row.check, item = %row.item_id, address = %row.address, "e-mail abandoned: {GONE}");
        rep.abandoned += 1;
        per_check.entry(row.check).or_default().failed += 1;
        rep.failures.push(failure(row, DeliveryState::Abandoned, GONE));
    }
    let parallel = cfg.smtp_connections.max(1) as usize;
    let pace = cfg.smtp_rate.map(|r| Duration::from_secs_f64(60.0 / f64::from(r.max(1))));
    let mut next_slot = Instant::now();
    let mut groups = group_rows(&live, digest).into_iter();
    let mut ready = groups.next().map(|g| build_unit(g, d.renderer, d.mailer, digest));
    let mut in_flight = FuturesUnordered::new();
    loop {
        while in_flight.len() < parallel && tally.stop.is_none() {
            if signals::interrupted() {
                tally.stop(Stop::temporary("interrupted by a signal".into()));
                break;
            }
            if Instant::now() >= deadline {
                tally.stop(Stop::temporary(format!(
                    "delivery_deadline ({}) reached",
                    humantime::format_duration(cfg.delivery_deadline)
                )));
                break;
            }
            let Some(unit) = ready.take() else { break };
            if let Some(pace) = pace {
                tally.confirm(db).await?;
                tokio::time::sleep_until(next_slot.into()).await;
                next_slot = Instant::now().max(next_slot) + pace;
                if Instant::now() >= deadline {
                    ready = Some(unit);
                    continue;
                }
            }
            let budget = ATTEMPTS.min(tally.breaker.saturating_sub(tally.deferred_in_a_row).max(1));
            in_flight.push(async move {
                let outcome = match &unit.built {
                    Err(e) => Err((e.clone(), 1)),
                    Ok(msg) => send_with_retries(d.mailer, msg, &unit.message_id, budget, deadline).await,
                };
                (unit, outcome)
            });
            if in_flight.len() < parallel {
                ready = groups.next().map(|g| build_unit(g, d.renderer, d.mailer, digest));
            }
        }
        if in_flight.is_empty() {
            break;
        }
        pb.set_message(format!("delivering: {} sent", rep.sent));
        let prepare_next = ready.is_none() && tally.stop.is_none();
        let prepare = async {
            if prepare_next { groups.next().map(|g| build_unit(g, d.renderer, d.mailer, digest)) } else { None }
        };
        let confirm_at = tally.confirm_due();
        let next = async {
            // While messages travel, confirmations still reach the
            // database on time.
            match confirm_at {
                Some(t) => tokio::select! {
                    done = in_flight.next() => Some(done),
                    _ = tokio::time::sleep_until(t.into()) => None,
                },
                None => Some(in_flight.next().await),
            }
        };
        let (done, prepared) = tokio::join!(next, prepare);
        if prepared.is_some() {
            ready = prepared;
        }
        match done {
            None => tally.confirm(db).await?,
            Some(None) => break,
            Some(Some((unit, outcome))) => tally.record(db, &unit, outcome, rep, per_check).await?,
        }
    }
    Ok(())
}
