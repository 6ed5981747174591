//! `outbox retry` and `outbox discard`, inside the caller's transaction:
//! the selected e-mails locked, each one taken or skipped with the reason,
//! one set-based UPDATE, and the report naming who acted.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::str::FromStr;

use chrono_tz::Tz;
use tracing::info;

use super::{RETRYABLE, plural};
use crate::cli::{DiscardArgs, RetryArgs};
use crate::db::Db;
use crate::db::outbox_admin::{self, Selected, Selection};
use crate::error::Result;
use crate::history::time::{day_start, text_time};
use crate::outbox::DeliveryState;

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

/// The address a selected e-mail can be queued again to (the recipient's
/// current one in the app), or why it is left alone.
fn retry_verdict(s: &Selected, now: Option<&outbox_admin::AppNow>, tz: Tz) -> std::result::Result<String, String> {
    if let Some(claim) = claim_note(s, tz) {
        return Err(claim);
    }
    if !RETRYABLE.contains(&s.state.as_str()) {
        return Err(if s.state == DeliveryState::Sent.as_str() {
            "already sent".to_string()
        } else {
            format!("it is {}", s.state)
        });
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

/// The report: the `lines` of the e-mails taken, their count and, unless
/// quiet or none was, who acted (`by`), then the `skips`.
fn report(lines: String, n: u64, done: &str, by: impl FnOnce() -> String, quiet: bool, skips: &str) -> String {
    let mut o = lines;
    if quiet || n == 0 {
        let _ = writeln!(o, "{n} e-mail{} {done}", plural(n));
    } else {
        let _ = writeln!(o, "{n} e-mail{} {done} by {}", plural(n), by());
    }
    o.push_str(skips);
    o
}

/// `outbox retry`, inside the caller's transaction; returns the report.
pub async fn retry(db: &mut Db, tz: Tz, a: &RetryArgs, quiet: bool) -> Result<String> {
    let sel = Selection {
        ids: a.ids.clone(),
        states: RETRYABLE.to_vec(),
        state: a.failed.then_some(DeliveryState::Failed.as_str()),
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
    Ok(report(lines, n, "re-queued", || by, quiet, &skips))
}

/// `outbox discard`, inside the caller's transaction; returns the report.
pub async fn discard(db: &mut Db, tz: Tz, a: &DiscardArgs, quiet: bool) -> Result<String> {
    let sel = Selection {
        ids: a.ids.clone(),
        states: vec![DeliveryState::Queued.as_str()],
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
        } else if s.state != DeliveryState::Queued.as_str() {
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
    Ok(report(lines, n, DeliveryState::Discarded.as_str(), || format!("{by}: {reason}"), quiet, &skips))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::time::at;

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
        claimed.live_claim = Some(("run".into(), at("2026-01-01 00:00:00")));
        assert!(v(&claimed, &now(Some("a@b.c"))).unwrap_err().contains("holds it"));
        let mut gone = now(Some("a@b.c"));
        gone.app_row = false;
        assert!(v(&selected("abandoned"), &gone).unwrap_err().contains("app row"));
        let mut disabled = now(Some("a@b.c"));
        disabled.enabled = false;
        assert!(v(&selected("no_email"), &disabled).unwrap_err().contains("disabled"));
    }
}
