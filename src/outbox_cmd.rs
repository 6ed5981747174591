//! `outbox`: the outbox made visible and steerable. Lists e-mails of the
//! ledger with their app row's subject, times in the business time zone;
//! `retry` queues e-mails again to each recipient's current address;
//! `discard` cancels queued ones, recording who and why. Each action is one
//! transaction: the selected rows locked (`SELECT … FOR UPDATE`), one
//! set-based UPDATE, the report. No run lock: outbox claims keep deliverers
//! and operators apart.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use tracing::info;

use crate::cli::{DiscardArgs, Format, OutboxAction, OutboxArgs, OutboxListArgs, RetryArgs};
use crate::config::Config;
use crate::db::Db;
use crate::db::outbox_admin::{self, ListFilter, ListedRow, Selected, Selection};
use crate::error::{Error, Result};

/// The states `outbox` lists by default.
pub const DEFAULT_STATES: [&str; 3] = ["queued", "failed", "abandoned"];

/// Every ledger state, in the order summaries name them.
pub const STATES: [&str; 7] = ["queued", "failed", "abandoned", "discarded", "sent", "no_email", "bad_address"];

/// The states `retry` takes (`queued` ones are refreshed).
pub const RETRYABLE: [&str; 6] = ["queued", "failed", "abandoned", "discarded", "bad_address", "no_email"];

/// `t` (UTC) in `tz`.
pub fn local(t: NaiveDateTime, tz: Tz) -> DateTime<Tz> {
    Utc.from_utc_datetime(&t).with_timezone(&tz)
}

/// `2026-12-01 09:30 +01:00`.
pub fn text_time(t: NaiveDateTime, tz: Tz) -> String {
    local(t, tz).format("%Y-%m-%d %H:%M %:z").to_string()
}

/// RFC 3339 with the zone's offset, to the second.
pub fn json_time(t: NaiveDateTime, tz: Tz) -> String {
    local(t, tz).to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// The UTC instant the local day `d` starts in `tz` (a day whose midnight
/// the clocks skip starts at the first instant that exists).
pub fn day_start(d: NaiveDate, tz: Tz) -> NaiveDateTime {
    let midnight = d.and_hms_opt(0, 0, 0).unwrap_or_default();
    (0..=4 * 60)
        .step_by(15)
        .find_map(|m| tz.from_local_datetime(&(midnight + chrono::Duration::minutes(m))).earliest())
        .map(|t| t.naive_utc())
        .unwrap_or(midnight)
}

/// Who acts: `--by`, else `$SUDO_USER`, `$USER`, `$LOGNAME`, else the uid.
pub fn operator(by: Option<&str>) -> String {
    let env = |k: &str| std::env::var(k).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    by.map(|b| b.trim().to_string())
        .filter(|b| !b.is_empty())
        .or_else(|| env("SUDO_USER"))
        .or_else(|| env("USER"))
        .or_else(|| env("LOGNAME"))
        .unwrap_or_else(|| {
            use std::os::unix::fs::MetadataExt;
            match std::fs::metadata("/proc/self") {
                Ok(m) => format!("uid {}", m.uid()),
                Err(_) => "unknown".to_string(),
            }
        })
}

/// One e-mail as `outbox --format json` prints it (stable field names).
#[derive(Debug, Serialize)]
pub struct Entry {
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
    /// Address.
    pub address: String,
    /// Subject: the app row's `titre` (`null` when the row is gone).
    pub subject: Option<String>,
    /// Message-ID.
    pub message_id: String,
    /// Attempts since it was (last) queued.
    pub attempts: u32,
    /// The relay's last reply.
    pub last_reply: Option<String>,
    /// When that reply came.
    pub last_attempt_at: Option<String>,
    /// When it may be tried again (`null`: at the next delivery).
    pub next_attempt_at: Option<String>,
    /// When it was queued, or queued again.
    pub queued_at: String,
    /// When the relay accepted it.
    pub sent_at: Option<String>,
    /// Who discarded it.
    pub discarded_by: Option<String>,
    /// Why.
    pub discard_reason: Option<String>,
    /// The run delivering it right now, when its claim is live.
    pub claimed_by: Option<String>,
    /// Until when that claim holds.
    pub claim_expires_at: Option<String>,
}

impl Entry {
    fn new(r: ListedRow, tz: Tz) -> Entry {
        let t = |v: Option<NaiveDateTime>| v.map(|t| json_time(t, tz));
        Entry {
            id: r.id,
            state: r.state,
            check: r.check,
            kind: r.kind,
            item_id: r.item_id,
            recipient_id: r.recipient_id,
            address: r.address,
            subject: r.subject,
            message_id: r.message_id,
            attempts: r.attempts,
            last_reply: r.last_reply,
            last_attempt_at: t(r.last_attempt_at),
            next_attempt_at: t(r.next_attempt_at),
            queued_at: json_time(r.queued_at, tz),
            sent_at: t(r.sent_at),
            discarded_by: r.discarded_by,
            discard_reason: r.discard_reason,
            claimed_by: r.claimed_by,
            claim_expires_at: t(r.claim_expires_at),
        }
    }
}

/// Connects and checks that our migrations are applied.
pub async fn connect(cfg: &Config) -> Result<Db> {
    let mut db = Db::connect(cfg.database()?).await?;
    if !db.is_migrated().await? {
        db.close().await;
        return Err(Error::Config(
            "the tool's tables are missing or out of date: run `sigov-alerts migrate` first".into(),
        ));
    }
    Ok(db)
}

/// `outbox` and its actions; returns the exit code.
pub async fn run(cfg: &Config, args: &OutboxArgs, quiet: bool) -> Result<u8> {
    if args.action.is_some() && args.list.any() {
        // A usage error, reported (exit 2) as clap reports its own.
        <crate::cli::Cli as clap::CommandFactory>::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                "--state, --check, --address, --limit and --format list the outbox; they do not go with `retry` or `discard`",
            )
            .exit();
    }
    let mut db = connect(cfg).await?;
    let tz = cfg.timezone;
    let result = match &args.action {
        None => list(&mut db, tz, &args.list).await,
        Some(action) => {
            // One transaction: the rows locked, one UPDATE, the report.
            match db.exec("starting a transaction", "START TRANSACTION").await {
                Err(e) => Err(e),
                Ok(()) => {
                    let done = match action {
                        OutboxAction::Retry(a) => retry(&mut db, tz, a, quiet).await,
                        OutboxAction::Discard(a) => discard(&mut db, tz, a, quiet).await,
                    };
                    match done {
                        Ok(report) => db.exec("committing", "COMMIT").await.map(|()| report),
                        Err(e) => {
                            let _ = db.exec("rolling back", "ROLLBACK").await;
                            Err(e)
                        }
                    }
                }
            }
        }
    };
    db.close().await;
    crate::out(&result?);
    Ok(0)
}

/// The listing, as text or JSON.
pub async fn list(db: &mut Db, tz: Tz, a: &OutboxListArgs) -> Result<String> {
    let states: Vec<&'static str> = if a.state.is_empty() {
        DEFAULT_STATES.to_vec()
    } else if a.state.iter().any(|s| s.as_state().is_none()) {
        Vec::new()
    } else {
        let mut v: Vec<&'static str> = a.state.iter().filter_map(|s| s.as_state()).collect();
        v.dedup();
        v
    };
    let filter = ListFilter { states, check: a.check.map(|c| c.slug()), address: a.address.clone() };
    let rows = outbox_admin::list(db, &filter, a.limit.unwrap_or(100)).await?;
    if a.format == Some(Format::Json) {
        let entries: Vec<Entry> = rows.into_iter().map(|r| Entry::new(r, tz)).collect();
        return Ok(format!("{}\n", serde_json::to_string_pretty(&entries).unwrap_or_default()));
    }
    let counts = outbox_admin::count_by_state(db, &filter).await?;
    Ok(list_text(&rows, &counts, tz))
}

/// The listing as aligned columns, each e-mail's reply or discard on the
/// line below it, and a summary line with counts per state.
pub fn list_text(rows: &[ListedRow], counts: &[(String, u64)], tz: Tz) -> String {
    let header = ["id", "state", "check", "item", "address", "attempts", "next attempt", "queued at", "subject"];
    let table: Vec<[String; 9]> = rows
        .iter()
        .map(|r| {
            let next = match (r.state.as_str(), r.next_attempt_at) {
                ("queued", Some(t)) => text_time(t, tz),
                ("queued", None) => "due".to_string(),
                _ => "-".to_string(),
            };
            [
                r.id.to_string(),
                r.state.clone(),
                r.check.clone(),
                r.item_id.clone(),
                if r.address.is_empty() { "-".to_string() } else { r.address.clone() },
                r.attempts.to_string(),
                next,
                text_time(r.queued_at, tz),
                r.subject.clone().unwrap_or_else(|| "(app row gone)".to_string()),
            ]
        })
        .collect();
    let width = |i: usize| {
        table.iter().map(|row| row[i].chars().count()).chain(std::iter::once(header[i].len())).max().unwrap_or(0)
    };
    let widths: Vec<usize> = (0..header.len()).map(width).collect();
    let line = |cells: &[&str]| -> String {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else if i == 0 || i == 5 {
                // Numbers align right.
                let _ = write!(l, "{c:>w$}  ", w = widths[i]);
            } else {
                let _ = write!(l, "{c:<w$}  ", w = widths[i]);
            }
        }
        l.trim_end().to_string()
    };
    let mut o = String::new();
    if !rows.is_empty() {
        o.push_str(&line(&header));
        o.push('\n');
    }
    let indent = " ".repeat(widths[0] + 2);
    for (r, cells) in rows.iter().zip(&table) {
        let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
        o.push_str(&line(&cells));
        o.push('\n');
        if let Some(reply) = &r.last_reply {
            let when = r.last_attempt_at.map(|t| format!(" ({})", text_time(t, tz))).unwrap_or_default();
            let _ = writeln!(o, "{indent}last reply{when}: {}", crate::error::one_line(reply));
        }
        if r.state == "discarded" {
            let _ = writeln!(
                o,
                "{indent}discarded by {}: {}",
                r.discarded_by.as_deref().unwrap_or("?"),
                r.discard_reason.as_deref().unwrap_or("-")
            );
        }
        if let (Some(by), Some(until)) = (&r.claimed_by, r.claim_expires_at) {
            let _ = writeln!(o, "{indent}being delivered by run {by} (claim until {})", text_time(until, tz));
        }
    }
    o.push_str(&summary(counts, rows.len()));
    o
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `3 e-mails: 1 queued, 1 failed, 1 abandoned`.
fn summary(counts: &[(String, u64)], shown: usize) -> String {
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return "no e-mail matches\n".to_string();
    }
    let by: HashMap<&str, u64> = counts.iter().map(|(s, n)| (s.as_str(), *n)).collect();
    let mut parts: Vec<String> =
        STATES.iter().filter_map(|s| by.get(s).filter(|n| **n > 0).map(|n| format!("{n} {s}"))).collect();
    // A state this version does not know still counts.
    parts.extend(
        counts.iter().filter(|(s, n)| *n > 0 && !STATES.contains(&s.as_str())).map(|(s, n)| format!("{n} {s}")),
    );
    let mut o = format!("{total} e-mail{}: {}", plural(total), parts.join(", "));
    if (shown as u64) < total {
        let _ = write!(o, " (showing the oldest {shown}; --limit 0 shows all)");
    }
    o.push('\n');
    o
}

/// Why a selected e-mail is left alone; `None`: it can be queued again to
/// the returned address.
fn retry_verdict(s: &Selected, now: Option<&outbox_admin::AppNow>, tz: Tz) -> std::result::Result<String, String> {
    if let Some(claim) = claim_note(s, tz) {
        return Err(claim);
    }
    if !RETRYABLE.contains(&s.state.as_str()) {
        return Err(if s.state == "sent" { "already sent".to_string() } else { format!("it is {}", s.state) });
    }
    let Some(now) = now else { return Err("it is no longer in the ledger".to_string()) };
    if !now.app_row {
        return Err("its app row no longer exists".to_string());
    }
    let Some(email) = &now.email else { return Err("its recipient no longer exists in the app".to_string()) };
    if !now.enabled {
        return Err("its recipient is disabled in the app".to_string());
    }
    let email = email.trim();
    if email.is_empty() {
        return Err("its recipient has no address in the app".to_string());
    }
    if lettre::Address::from_str(email).is_err() {
        return Err(format!("its recipient's address in the app is not a valid mailbox: {email}"));
    }
    Ok(email.to_string())
}

fn claim_note(s: &Selected, tz: Tz) -> Option<String> {
    s.live_claim.as_ref().map(|(run, until)| {
        format!("a deliverer holds it right now (run {run}, claim until {})", text_time(*until, tz))
    })
}

fn skipped_missing(ids: &[u64], selected: &[Selected], o: &mut String) {
    let found: std::collections::HashSet<u64> = selected.iter().map(|s| s.id).collect();
    let mut missing: Vec<u64> = ids.iter().copied().filter(|i| !found.contains(i)).collect();
    missing.sort_unstable();
    missing.dedup();
    for id in missing {
        let _ = writeln!(o, "skipped {id}: no such e-mail in the ledger");
    }
}

/// `outbox retry`, inside the caller's transaction; returns the report.
pub async fn retry(db: &mut Db, tz: Tz, a: &RetryArgs, quiet: bool) -> Result<String> {
    let sel = Selection {
        ids: a.ids.clone(),
        states: RETRYABLE.to_vec(),
        state: a.failed.then_some("failed"),
        address: a.address.clone(),
        ..Default::default()
    };
    let selected = outbox_admin::select_for_update(db, &sel).await?;
    let keys: Vec<(u64, String)> = selected.iter().map(|s| (s.id, s.recipient_id.clone())).collect();
    let facts: HashMap<u64, outbox_admin::AppNow> = if keys.is_empty() {
        HashMap::new()
    } else {
        outbox_admin::app_now(db, &keys).await?.into_iter().map(|f| (f.id, f)).collect()
    };
    let mut todo = Vec::new();
    let mut lines = String::new();
    let mut skips = String::new();
    for s in &selected {
        match retry_verdict(s, facts.get(&s.id), tz) {
            Ok(address) => {
                if !quiet {
                    let change = if address.eq_ignore_ascii_case(&s.address) {
                        String::new()
                    } else if s.address.is_empty() {
                        " (had no address)".to_string()
                    } else {
                        format!(" (address was {})", s.address)
                    };
                    let _ = writeln!(
                        lines,
                        "re-queued {} from {}: {} item {} to {address}{change}, Message-ID {}",
                        s.id, s.state, s.check, s.item_id, s.message_id
                    );
                }
                todo.push((s.id, s.recipient_id.clone(), address));
            }
            Err(why) => {
                let _ = writeln!(skips, "skipped {}: {why}", s.id);
            }
        }
    }
    skipped_missing(&a.ids, &selected, &mut skips);
    let n = if todo.is_empty() { 0 } else { outbox_admin::requeue(db, &todo).await? };
    let by = operator(a.by.as_deref());
    info!(requeued = n, skipped = selected.len() - todo.len(), by, "outbox retry");
    let mut o = lines;
    if quiet || n == 0 {
        let _ = writeln!(o, "{n} e-mail{} re-queued", plural(n));
    } else {
        let _ = writeln!(o, "{n} e-mail{} re-queued by {by}", plural(n));
    }
    o.push_str(&skips);
    Ok(o)
}

/// `outbox discard`, inside the caller's transaction; returns the report.
pub async fn discard(db: &mut Db, tz: Tz, a: &DiscardArgs, quiet: bool) -> Result<String> {
    let sel = Selection {
        ids: a.ids.clone(),
        states: vec!["queued"],
        check: a.check.map(|c| c.slug()),
        queued_before: a.before.map(|d| day_start(d, tz)),
        ..Default::default()
    };
    let selected = outbox_admin::select_for_update(db, &sel).await?;
    let mut todo = Vec::new();
    let mut lines = String::new();
    let mut skips = String::new();
    for s in &selected {
        if let Some(claim) = claim_note(s, tz) {
            let _ = writeln!(skips, "skipped {}: {claim}", s.id);
        } else if s.state != "queued" {
            let _ = writeln!(skips, "skipped {}: not queued (it is {})", s.id, s.state);
        } else {
            if !quiet {
                let to = if s.address.is_empty() { "-" } else { s.address.as_str() };
                let _ = writeln!(
                    lines,
                    "discarded {}: {} item {} to {to}, Message-ID {}",
                    s.id, s.check, s.item_id, s.message_id
                );
            }
            todo.push(s.id);
        }
    }
    skipped_missing(&a.ids, &selected, &mut skips);
    let by = operator(a.by.as_deref());
    let reason = a.reason.trim();
    let reason = if reason.is_empty() { "discarded by an operator" } else { reason };
    let n = if todo.is_empty() { 0 } else { outbox_admin::discard(db, &todo, &by, reason).await? };
    info!(discarded = n, skipped = selected.len() - todo.len(), by, reason, "outbox discard");
    let mut o = lines;
    if quiet || n == 0 {
        let _ = writeln!(o, "{n} e-mail{} discarded", plural(n));
    } else {
        let _ = writeln!(o, "{n} e-mail{} discarded by {by}: {reason}", plural(n));
    }
    o.push_str(&skips);
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn times_show_the_zone_offset() {
        let paris = chrono_tz::Europe::Paris;
        assert_eq!(text_time(t("2026-12-01 08:30:00"), paris), "2026-12-01 09:30 +01:00");
        assert_eq!(text_time(t("2026-07-01 08:30:00"), paris), "2026-07-01 10:30 +02:00");
        assert_eq!(json_time(t("2026-12-01 08:30:00"), paris), "2026-12-01T09:30:00+01:00");
        assert_eq!(json_time(t("2026-12-01 08:30:00"), chrono_tz::UTC), "2026-12-01T08:30:00+00:00");
    }

    #[test]
    fn a_day_starts_at_local_midnight() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let paris = chrono_tz::Europe::Paris;
        assert_eq!(day_start(d("2026-03-16"), paris), t("2026-03-15 23:00:00"));
        assert_eq!(day_start(d("2026-07-02"), paris), t("2026-07-01 22:00:00"));
        // Clocks skip midnight (America/Santiago, 2026-09-06): 01:00 local.
        assert_eq!(day_start(d("2026-09-06"), chrono_tz::America::Santiago), t("2026-09-06 04:00:00"));
    }

    #[test]
    fn operator_prefers_by_then_sudo_user() {
        assert_eq!(operator(Some(" ops ")), "ops");
        assert!(!operator(None).is_empty());
    }

    fn selected(state: &str) -> Selected {
        Selected {
            id: 1,
            state: state.into(),
            check: "budget".into(),
            item_id: "i".into(),
            recipient_id: "r".into(),
            address: "old@example.org".into(),
            message_id: "<m@x>".into(),
            live_claim: None,
        }
    }

    fn now(email: Option<&str>) -> outbox_admin::AppNow {
        outbox_admin::AppNow { id: 1, email: email.map(str::to_string), enabled: true, app_row: true }
    }

    #[test]
    fn retry_takes_the_apps_current_valid_address() {
        let v = |s: &Selected, n: &outbox_admin::AppNow| retry_verdict(s, Some(n), chrono_tz::UTC);
        assert_eq!(v(&selected("failed"), &now(Some(" new@example.org "))), Ok("new@example.org".into()));
        assert!(v(&selected("failed"), &now(Some(""))).unwrap_err().contains("no address"));
        assert!(v(&selected("failed"), &now(Some("nope"))).unwrap_err().contains("not a valid mailbox"));
        assert!(v(&selected("failed"), &now(None)).unwrap_err().contains("no longer exists"));
        assert_eq!(v(&selected("sent"), &now(Some("a@b.c"))), Err("already sent".into()));
        let mut claimed = selected("queued");
        claimed.live_claim = Some(("run".into(), t("2026-01-01 00:00:00")));
        assert!(v(&claimed, &now(Some("a@b.c"))).unwrap_err().contains("holds it"));
        let mut gone = now(Some("a@b.c"));
        gone.app_row = false;
        assert!(v(&selected("abandoned"), &gone).unwrap_err().contains("app row"));
        let mut disabled = now(Some("a@b.c"));
        disabled.enabled = false;
        assert!(v(&selected("no_email"), &disabled).unwrap_err().contains("disabled"));
    }

    #[test]
    fn summary_counts_per_state() {
        let counts = vec![("failed".to_string(), 1), ("queued".to_string(), 2)];
        assert_eq!(summary(&counts, 3), "3 e-mails: 2 queued, 1 failed\n");
        assert_eq!(summary(&counts, 1), "3 e-mails: 2 queued, 1 failed (showing the oldest 1; --limit 0 shows all)\n");
        assert_eq!(summary(&[], 0), "no e-mail matches\n");
    }
}
