//! The delivery tally: what a run has sent and not yet confirmed (flushed
//! every [`CONFIRM_EVERY`] messages or [`CONFIRM_WITHIN`]), the streak of
//! identical permanent replies that reveals a relay fault, the circuit
//! breaker, and why delivery stopped.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use chrono::Utc;
use tracing::warn;

use super::build::Unit;
use super::{CONFIRM_EVERY, CONFIRM_WITHIN, SAME_REPLY_LIMIT};
use crate::checks::Check;
use crate::config::Config;
use crate::db::Db;
use crate::error::{Result, code};
use crate::notify::mail::SendError;
use crate::outbox::{self, DeliveryState, OutboxRow, Outcome};
use crate::report::{DeliveryFailure, DeliveryReport};
use crate::runs::Counts;

/// Why delivery stopped before the outbox was empty.
#[derive(Debug, Clone)]
pub(super) struct Stop {
    pub(super) reason: String,
    pub(super) exit: u8,
}

impl Stop {
    pub(super) fn temporary(reason: String) -> Stop {
        Stop { reason, exit: code::TEMPFAIL }
    }
}

/// What a run has sent and not yet confirmed, the streak of identical
/// permanent replies not yet recorded, and the circuit breaker.
pub(super) struct Tally<'a> {
    pub(super) run_id: &'a str,
    /// The end of the delivery phase (`delivery_deadline`).
    pub(super) deadline: Instant,
    pub(super) max_age: chrono::Duration,
    pub(super) breaker: u32,
    /// Accepted by the relay, not yet recorded as sent.
    pub(super) pending: Vec<u64>,
    pub(super) pending_since: Option<Instant>,
    /// Consecutive permanent failures with the same reply (rows, reply).
    pub(super) streak: Vec<(OutboxRow, String)>,
    pub(super) streak_reply: String,
    /// Consecutive temporary failures (each attempt counts).
    pub(super) deferred_in_a_row: u32,
    /// Rows this run has already handled (never sent twice by one run).
    pub(super) handled: HashSet<u64>,
    pub(super) stop: Option<Stop>,
}

impl<'a> Tally<'a> {
    pub(super) fn new(run_id: &'a str, cfg: &Config) -> Tally<'a> {
        Tally {
            run_id,
            deadline: Instant::now() + cfg.delivery_deadline,
            max_age: chrono::Duration::from_std(cfg.max_delivery_age).unwrap_or(chrono::Duration::days(3)),
            breaker: cfg.circuit_breaker,
            pending: Vec::new(),
            pending_since: None,
            streak: Vec::new(),
            streak_reply: String::new(),
            deferred_in_a_row: 0,
            handled: HashSet::new(),
            stop: None,
        }
    }

    /// When the pending confirmations are due in the database.
    pub(super) fn confirm_due(&self) -> Option<Instant> {
        self.pending_since.map(|t| t + CONFIRM_WITHIN)
    }

    /// Records the pending confirmations in one statement.
    pub(super) async fn confirm(&mut self, db: &mut Db) -> Result<()> {
        if !self.pending.is_empty() {
            outbox::confirm_sent(db, self.run_id, &self.pending, Utc::now().naive_utc()).await?;
            self.pending.clear();
        }
        self.pending_since = None;
        Ok(())
    }

    /// Confirms when [`CONFIRM_EVERY`] or [`CONFIRM_WITHIN`] is reached.
    pub(super) async fn confirm_if_due(&mut self, db: &mut Db) -> Result<()> {
        let due = self.confirm_due().is_some_and(|t| Instant::now() >= t);
        if self.pending.len() >= CONFIRM_EVERY || due { self.confirm(db).await } else { Ok(()) }
    }

    pub(super) fn stop(&mut self, stop: Stop) {
        if self.stop.is_none() {
            warn!(reason = %stop.reason, "delivery stopped; the rest stays queued");
            self.stop = Some(stop);
        }
    }

    /// Records the outcome of one message for each of its rows.
    pub(super) async fn record(
        &mut self,
        db: &mut Db,
        unit: &Unit<'_>,
        outcome: std::result::Result<u32, (SendError, u32)>,
        rep: &mut DeliveryReport,
        per_check: &mut HashMap<Check, Counts>,
    ) -> Result<()> {
        match outcome {
            Ok(_) => {
                self.deferred_in_a_row = 0;
                for row in &unit.rows {
                    self.pending.push(row.id);
                    self.pending_since.get_or_insert_with(Instant::now);
                    rep.sent += 1;
                    per_check.entry(row.check).or_default().sent += 1;
                }
                self.end_streak(db, rep, per_check).await?;
                self.confirm_if_due(db).await?;
            }
            Err((SendError::Permanent(reply), _)) => {
                self.deferred_in_a_row = 0;
                self.permanent(db, unit, reply, rep, per_check).await?;
            }
            Err((SendError::Deferred(reply), attempts)) => {
                self.end_streak(db, rep, per_check).await?;
                self.deferred_in_a_row += attempts;
                let now = Utc::now().naive_utc();
                for row in &unit.rows {
                    let too_old = now - row.queued_at > self.max_age;
                    let (outcome, state) = if too_old {
                        (Outcome::Abandoned, DeliveryState::Abandoned)
                    } else {
                        (Outcome::Retry(now + retry_delay(row.attempts)), DeliveryState::Queued)
                    };
                    outbox::record(db, self.run_id, row.id, outcome, &reply).await?;
                    if too_old {
                        rep.abandoned += 1;
                        per_check.entry(row.check).or_default().failed += 1;
                    }
                    warn!(check = %row.check, item = %row.item_id, address = %row.address, %reply, %state, "e-mail not delivered");
                    rep.failures.push(failure(row, state, &reply));
                }
                if self.deferred_in_a_row >= self.breaker {
                    self.stop(Stop::temporary(format!(
                        "{} temporary failures in a row (last: {reply}): the relay is not taking mail now \
                         (circuit_breaker = {})",
                        self.deferred_in_a_row, self.breaker
                    )));
                }
            }
            Err((e @ (SendError::Relay(_) | SendError::Config(_)), _)) => {
                // Nothing about the recipient: the e-mail stays queued as it
                // was, with the reply noted, no attempt counted.
                for row in &unit.rows {
                    outbox::record(db, self.run_id, row.id, Outcome::RelayFault, e.reply()).await?;
                }
                let exit = if matches!(e, SendError::Config(_)) { code::CONFIG } else { code::TEMPFAIL };
                let fix = if exit == code::CONFIG {
                    "fix smtp_url or its password, then run `sigov-alerts deliver`"
                } else {
                    "delivery resumes on the next run"
                };
                self.stop(Stop { reason: format!("{}; {fix}", e.reply()), exit });
            }
        }
        Ok(())
    }

    /// A permanent reply: held back while it might be the relay's own
    /// answer to everyone, recorded as `failed` once it is not.
    pub(super) async fn permanent(
        &mut self,
        db: &mut Db,
        unit: &Unit<'_>,
        reply: String,
        rep: &mut DeliveryReport,
        per_check: &mut HashMap<Check, Counts>,
    ) -> Result<()> {
        if mailbox_specific(&reply) {
            // "No such user" (5.1.x, 5.2.x) is about this mailbox, however
            // many mailboxes in a row get it.
            self.end_streak(db, rep, per_check).await?;
            self.streak.extend(unit.rows.iter().map(|r| ((*r).clone(), reply.clone())));
            return self.end_streak(db, rep, per_check).await;
        }
        let normalised = unit.rows.iter().fold(reply.clone(), |r, row| r.replace(&row.address, "<address>"));
        if normalised != self.streak_reply {
            self.end_streak(db, rep, per_check).await?;
            self.streak_reply = normalised;
        }
        for row in &unit.rows {
            self.streak.push(((*row).clone(), reply.clone()));
        }
        let addresses = self.streak.iter().map(|(r, _)| r.address.as_str()).collect::<HashSet<&str>>().len();
        if addresses >= SAME_REPLY_LIMIT {
            let rows: Vec<(OutboxRow, String)> = std::mem::take(&mut self.streak);
            for (row, reply) in &rows {
                outbox::record(db, self.run_id, row.id, Outcome::RelayFault, reply).await?;
            }
            self.stop(Stop::temporary(format!(
                "the relay gave the same permanent reply to {} different recipients in a row ({reply}): \
                 taken as a relay fault, not theirs",
                addresses
            )));
        }
        Ok(())
    }

    /// The held-back permanent failures are the recipients' after all.
    pub(super) async fn end_streak(
        &mut self,
        db: &mut Db,
        rep: &mut DeliveryReport,
        per_check: &mut HashMap<Check, Counts>,
    ) -> Result<()> {
        for (row, reply) in std::mem::take(&mut self.streak) {
            warn!(check = %row.check, item = %row.item_id, address = %row.address, %reply, "e-mail rejected permanently");
            outbox::record(db, self.run_id, row.id, Outcome::Failed, &reply).await?;
            rep.failed += 1;
            per_check.entry(row.check).or_default().failed += 1;
            rep.failures.push(failure(&row, DeliveryState::Failed, &reply));
        }
        self.streak_reply.clear();
        Ok(())
    }
}

/// Whether a permanent reply's enhanced status code (RFC 3463) is about the
/// mailbox itself: 5.1.x (addressing) or 5.2.x (the mailbox).
pub(super) fn mailbox_specific(reply: &str) -> bool {
    reply.split_whitespace().take(6).any(|w| w.starts_with("5.1.") || w.starts_with("5.2."))
}

pub(super) fn failure(row: &OutboxRow, state: DeliveryState, reply: &str) -> DeliveryFailure {
    DeliveryFailure {
        check: row.check,
        item: row.item_id.clone(),
        address: row.address.clone(),
        state,
        reply: reply.to_string(),
    }
}

/// Backoff before the next run may retry an e-mail (`attempts` made so far).
pub(super) fn retry_delay(attempts: u32) -> chrono::Duration {
    chrono::Duration::minutes(5 * (1i64 << attempts.min(4)))
}
