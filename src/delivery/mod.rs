//! Delivery: sends what the outbox owes, after the checks have committed.
//! Each step of [`deliver`] is one function below: pick up what is due,
//! build each message (one ahead of the wire), send with retries, record the
//! outcome.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use futures_util::stream::{FuturesUnordered, StreamExt};
use indicatif::ProgressBar;
use tracing::warn;

use crate::checks;
use crate::config::{Config, MailMode};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::notify::mail::{Mailer, SendError, file_stem};
use crate::notify::render::{MailInput, Renderer};
use crate::outbox::{self, OutboxRow};
use crate::report::{DeliveryFailure, DeliveryReport};
use crate::runs::Counts;
use crate::signals;

/// Queued e-mails read per outbox query.
const OUTBOX_BATCH: u32 = 5000;
/// Attempts per e-mail within one run for 4xx replies.
const ATTEMPTS: u32 = 3;

/// The sent journal lives next to the lock file (a directory the run can write).
fn journal_path(cfg: &Config) -> std::path::PathBuf {
    let mut name = cfg.lock_file.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "sigov-alerts.lock".into());
    name.push(".sent");
    cfg.lock_file.with_file_name(name)
}

/// Backoff before the next run may retry an e-mail (`attempts` made so far).
fn retry_delay(attempts: u32) -> chrono::Duration {
    chrono::Duration::minutes(5 * (1i64 << attempts.min(4)))
}

/// One message to send: one outbox row, or (digest) all of a recipient's.
struct Unit<'a> {
    rows: Vec<&'a OutboxRow>,
    built: std::result::Result<lettre::Message, SendError>,
    message_id: String,
}

/// Sends one message, retrying a 4xx reply within the run (R5).
async fn send_with_retries(
    mailer: &Mailer,
    msg: &lettre::Message,
    message_id: &str,
) -> std::result::Result<(), SendError> {
    let mut attempt = 1;
    loop {
        match mailer.send(msg, &file_stem(message_id)).await {
            // The server is up and said "later": try again shortly.
            Err(SendError::Deferred(_)) if attempt < ATTEMPTS => {
                tokio::time::sleep(Duration::from_millis(250 * (1 << attempt))).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

fn mail_input<'a>(row: &'a OutboxRow, content: &'a outbox::AppContent) -> MailInput<'a> {
    MailInput {
        table: row.table.unwrap_or(checks::AppTable::AlerteProjet),
        kind: &row.kind,
        niveau: &content.niveau,
        titre: &content.titre,
        message: &content.message,
        contexte: &content.contexte,
        created_at: content.created_at,
        recipient_name: &content.recipient_name,
        project: &content.project,
        stage: content.stage.as_ref(),
    }
}

/// Groups a batch into messages: one per row, or one per address (digest).
fn group_rows<'a>(rows: &[&'a OutboxRow], digest: bool) -> Vec<Vec<&'a OutboxRow>> {
    if !digest {
        return rows.iter().map(|r| vec![*r]).collect();
    }
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut groups: Vec<Vec<&'a OutboxRow>> = Vec::new();
    for r in rows {
        match index.get(r.address.as_str()) {
            Some(&i) => groups[i].push(r),
            None => {
                index.insert(r.address.as_str(), groups.len());
                groups.push(vec![*r]);
            }
        }
    }
    groups
}

/// Renders and builds the message of one group of rows.
fn build_unit<'a>(rows: Vec<&'a OutboxRow>, renderer: &Renderer, mailer: &Mailer, digest: bool) -> Unit<'a> {
    let first = rows[0];
    let content = first.content.as_ref();
    let name = content.map(|c| c.recipient_name.as_str()).unwrap_or_default();
    let (email, message_id) = if digest && rows.len() > 1 {
        let inputs: Vec<(String, MailInput<'_>)> =
            rows.iter().filter_map(|r| r.content.as_ref().map(|c| (r.check.clone(), mail_input(r, c)))).collect();
        let mut ids: Vec<&str> = rows.iter().map(|r| r.message_id.as_str()).collect();
        ids.sort_unstable();
        let domain = first.message_id.rsplit_once('@').map(|(_, d)| d.trim_end_matches('>')).unwrap_or("localhost");
        (
            renderer.render_digest(name, &inputs),
            format!("<digest-{}@{domain}>", &crate::ledger::sha256_hex(&ids.join(","))[..40]),
        )
    } else {
        let email = match content {
            Some(c) => renderer.render(&mail_input(first, c)),
            None => Err(Error::Internal("no content".into())),
        };
        (email, first.message_id.clone())
    };
    let built = match email {
        Err(e) => Err(SendError::Permanent(e.to_string())),
        Ok(email) => mailer.build(name, &first.address, &email, &message_id),
    };
    Unit { rows, built, message_id }
}

/// Sends every queued e-mail that is due, in batches (digest mode: all due
/// mail at once, grouped by recipient); per-check outcomes are added to
/// `per_check`.
pub async fn deliver(
    db: &mut Db,
    cfg: &Config,
    renderer: &Renderer,
    mailer: &Mailer,
    per_check: &mut HashMap<String, Counts>,
    pb: &ProgressBar,
    ignore_backoff: bool,
) -> Result<DeliveryReport> {
    let mut rep = DeliveryReport::default();
    let max_age = chrono::Duration::from_std(cfg.max_delivery_age).unwrap_or(chrono::Duration::days(3));
    let digest = cfg.mail_mode == MailMode::Digest;
    let mut after = 0u64;
    let mut journal = outbox::Journal::open(&journal_path(cfg))?;
    let pending = journal.pending();
    if !pending.is_empty() {
        // A previous run was stopped after delivering these: record them.
        outbox::confirm_sent(db, &pending, Utc::now().naive_utc()).await?;
        journal.clear()?;
    }
    'batches: loop {
        let now = Utc::now().naive_utc();
        let due = if ignore_backoff { now + chrono::Duration::days(36500) } else { now };
        let mut batch = crate::db::outbox::fetch_due(db, due, after, OUTBOX_BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        let mut full = batch.len() as u32 == OUTBOX_BATCH;
        while digest && full {
            // A digest needs all of a recipient's mail in one message.
            let more = crate::db::outbox::fetch_due(db, due, after, OUTBOX_BATCH).await?;
            full = more.len() as u32 == OUTBOX_BATCH;
            if let Some(last) = more.last() {
                after = last.id;
            }
            batch.extend(more);
        }
        let mut gone = Vec::new();
        let mut live = Vec::new();
        for row in &batch {
            if row.content.is_some() { live.push(row) } else { gone.push(row) }
        }
        for row in gone {
            outbox::record_failure(db, row.id, "abandoned", "the app row no longer exists", None).await?;
            rep.abandoned += 1;
            per_check.entry(row.check.clone()).or_default().failed += 1;
            rep.failures.push(DeliveryFailure {
                check: row.check.clone(),
                address: row.address.clone(),
                state: "abandoned",
                reply: "the app row no longer exists".into(),
            });
        }
        let mut sent = Vec::with_capacity(live.len());
        // Up to `smtp_connections` messages on the wire at once (default 1:
        // then a kill repeats at most the one in flight). The next message is
        // built while the others travel, so rendering overlaps the round trips.
        let parallel = cfg.smtp_connections.max(1) as usize;
        let mut groups = group_rows(&live, digest).into_iter();
        let mut ready = groups.next().map(|g| build_unit(g, renderer, mailer, digest));
        let mut in_flight = FuturesUnordered::new();
        let mut stop: Option<String> = None;
        loop {
            while in_flight.len() < parallel && stop.is_none() && !signals::interrupted() {
                let Some(unit) = ready.take() else { break };
                in_flight.push(async move {
                    let outcome = match &unit.built {
                        Err(e) => Err(e.clone()),
                        Ok(msg) => send_with_retries(mailer, msg, &unit.message_id).await,
                    };
                    (unit, outcome)
                });
                if in_flight.len() < parallel {
                    ready = groups.next().map(|g| build_unit(g, renderer, mailer, digest));
                }
            }
            if in_flight.is_empty() {
                break;
            }
            pb.set_message(format!("delivering: {} sent", rep.sent));
            let prepare_next = ready.is_none() && stop.is_none();
            let prepare = async {
                if prepare_next { groups.next().map(|g| build_unit(g, renderer, mailer, digest)) } else { None }
            };
            let (done, prepared) = tokio::join!(in_flight.next(), prepare);
            if prepared.is_some() {
                ready = prepared;
            }
            let Some((unit, outcome)) = done else { break };
            for row in &unit.rows {
                let counts = per_check.entry(row.check.clone()).or_default();
                match &outcome {
                    Ok(()) => {
                        journal.record(row.id)?;
                        sent.push(row.id);
                        rep.sent += 1;
                        counts.sent += 1;
                    }
                    Err(SendError::Permanent(reply)) => {
                        warn!(check = %row.check, %reply, "e-mail rejected permanently");
                        outbox::record_failure(db, row.id, "failed", reply, None).await?;
                        rep.failed += 1;
                        counts.failed += 1;
                        rep.failures.push(DeliveryFailure {
                            check: row.check.clone(),
                            address: row.address.clone(),
                            state: "failed",
                            reply: reply.clone(),
                        });
                    }
                    Err(e) => {
                        let reply = e.reply().to_string();
                        let too_old = now - row.created_at > max_age;
                        let (state, next) = if too_old {
                            ("abandoned", None)
                        } else {
                            ("queued", Some(now + retry_delay(row.attempts)))
                        };
                        outbox::record_failure(db, row.id, state, &reply, next).await?;
                        if too_old {
                            rep.abandoned += 1;
                            counts.failed += 1;
                        }
                        warn!(check = %row.check, %reply, state, "e-mail not delivered");
                        rep.failures.push(DeliveryFailure {
                            check: row.check.clone(),
                            address: row.address.clone(),
                            state,
                            reply: reply.clone(),
                        });
                        if matches!(e, SendError::Unreachable(_)) && stop.is_none() {
                            // The server is unreachable or silent: send no
                            // more; the rest stays queued for the next run.
                            stop = Some(reply);
                        }
                    }
                }
            }
        }
        if stop.is_some() || signals::interrupted() {
            outbox::confirm_sent(db, &sent, Utc::now().naive_utc()).await?;
            journal.clear()?;
            rep.stopped = Some(stop.unwrap_or_else(|| "interrupted by a signal".into()));
            break 'batches;
        }
        outbox::confirm_sent(db, &sent, Utc::now().naive_utc()).await?;
        journal.clear()?;
        if !full {
            break;
        }
    }
    // What is still owed, whatever run created it (R5: said, never lost).
    for (check, n) in outbox::queued_by_check(db).await? {
        rep.queued += n;
        per_check.entry(check).or_default().queued = n;
    }
    Ok(rep)
}
