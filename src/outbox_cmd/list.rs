//! The outbox listing: the e-mails a filter takes, oldest queued first,
//! as aligned columns with a summary of counts per state, or as JSON.

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono_tz::Tz;

use super::{DEFAULT_STATES, plural};
use crate::cli::{Format, OutboxListArgs};
use crate::db::Db;
use crate::db::outbox_admin::{self, ListFilter, Listed, ListedRow};
use crate::error::Result;
use crate::history::time::{json_time, text_time};
use crate::outbox::DeliveryState;

const QUEUED: &str = DeliveryState::Queued.as_str();

/// One e-mail as `outbox --format json` prints it: the listed row, its
/// times RFC 3339 in the business time zone.
pub type Entry = Listed<String>;

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
        let entries: Vec<Entry> = rows.into_iter().map(|r| r.map_times(|t| json_time(t, tz))).collect();
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
                (QUEUED, Some(t)) => text_time(t, tz),
                (QUEUED, None) => "due".to_string(),
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
        if r.state == DeliveryState::Discarded.as_str() {
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

/// `3 e-mails: 1 queued, 1 failed, 1 abandoned`.
fn summary(counts: &[(String, u64)], shown: usize) -> String {
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return "no e-mail matches\n".to_string();
    }
    let by: HashMap<&str, u64> = counts.iter().map(|(s, n)| (s.as_str(), *n)).collect();
    // Every state in the order the enum declares them (the order summaries name them).
    let mut parts: Vec<String> = DeliveryState::ALL
        .iter()
        .map(|s| s.as_str())
        .filter_map(|s| by.get(s).filter(|n| **n > 0).map(|n| format!("{n} {s}")))
        .collect();
    // A state this version does not know still counts.
    parts.extend(
        counts.iter().filter(|(s, n)| *n > 0 && DeliveryState::parse(s).is_none()).map(|(s, n)| format!("{n} {s}")),
    );
    let mut o = format!("{total} e-mail{}: {}", plural(total), parts.join(", "));
    if (shown as u64) < total {
        let _ = write!(o, " (showing the oldest {shown}; --limit 0 shows all)");
    }
    o.push('\n');
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_per_state() {
        let counts = vec![("failed".to_string(), 1), ("queued".to_string(), 2)];
        assert_eq!(summary(&counts, 3), "3 e-mails: 2 queued, 1 failed\n");
        assert_eq!(summary(&counts, 1), "3 e-mails: 2 queued, 1 failed (showing the oldest 1; --limit 0 shows all)\n");
        assert_eq!(summary(&[], 0), "no e-mail matches\n");
    }
}
