//! `status`: the health of each check (last run, last success, stale or
//! not) and of the outbox (queued, stuck, rejected, abandoned, the oldest
//! queued e-mail and the latest rejections), read in five queries.

use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use sqlx::Row;

use super::time::{json_time, local, text, text_time};
use crate::db::Db;
use crate::db::Within;
use crate::error::{Error, Result};
use crate::outbox::DeliveryState as S;

/// Health of one check.
#[derive(Debug, Serialize)]
pub struct CheckStatus {
    /// Check slug.
    pub check: &'static str,
    /// Start of the latest run.
    pub last_run: Option<DateTime<FixedOffset>>,
    /// Status of the latest run.
    pub last_status: Option<String>,
    /// End of the latest successful run.
    pub last_success: Option<DateTime<FixedOffset>>,
    /// Whether the last success is older than the threshold (or absent).
    pub stale: bool,
}

/// One e-mail rejected permanently.
#[derive(Debug, Serialize)]
pub struct Rejection {
    /// The recipient's address.
    pub address: String,
    /// Check slug.
    pub check: String,
    /// The server's reply.
    pub reply: String,
    /// When it was rejected (the last attempt; its creation for older rows).
    pub at: DateTime<FixedOffset>,
}

/// How many rejections `status` lists.
pub const REJECTIONS_SHOWN: u32 = 10;

/// The whole picture.
#[derive(Debug, Serialize)]
pub struct Status {
    /// Per check.
    pub checks: Vec<CheckStatus>,
    /// E-mails queued.
    pub queued: u64,
    /// E-mails queued for longer than the stuck threshold.
    pub stuck: u64,
    /// Oldest queued e-mail.
    pub oldest_queued: Option<DateTime<FixedOffset>>,
    /// Ledger id of the oldest queued e-mail (what `outbox retry` takes).
    pub oldest_queued_id: Option<u64>,
    /// Its next attempt, RFC 3339 in the configured time zone; `null` when
    /// nothing is queued or it is due at the next delivery.
    pub oldest_queued_next_attempt: Option<String>,
    /// E-mails rejected permanently in the last 24 hours.
    pub failed_24h: u64,
    /// E-mails abandoned in the last 24 hours.
    pub abandoned_24h: u64,
    /// The same next attempt as text (`2026-12-01 09:30 +01:00`).
    #[serde(skip)]
    pub oldest_next_local: Option<String>,
    /// The latest rejections, newest first (at most 10, of any age).
    pub rejections: Vec<Rejection>,
    /// Healthy?
    pub healthy: bool,
    /// Why not.
    pub problems: Vec<String>,
}

/// Reads the status in five queries, times in `tz`.
pub async fn status(db: &mut Db, stale_after: Duration, stuck_after: Duration, tz: Tz) -> Result<Status> {
    const WHAT: &str = "reading the status";
    let now = Utc::now().naive_utc();
    let stale = chrono::Duration::from_std(stale_after).unwrap_or(chrono::Duration::hours(26));
    let stuck = chrono::Duration::from_std(stuck_after).unwrap_or(chrono::Duration::hours(6));
    let (figures, _, _) = crate::metrics::fetch(db).await?;
    let mut problems = Vec::new();
    let mut checks = Vec::new();
    for (c, f) in figures {
        let (last_run, last_status, last_success) = (f.last_run, f.last_status, f.last_success);
        let is_stale = last_success.is_none_or(|t| now - t > stale);
        if is_stale {
            problems.push(match last_success {
                Some(t) => format!(
                    "{}: last success {} is older than {}",
                    c.slug(),
                    text(&local(t, tz)),
                    humantime::format_duration(stale_after)
                ),
                None => format!("{}: never succeeded", c.slug()),
            });
        }
        checks.push(CheckStatus {
            check: c.slug(),
            last_run: last_run.map(|t| local(t, tz)),
            last_status,
            last_success: last_success.map(|t| local(t, tz)),
            stale: is_stale,
        });
    }
    // language=MySQL
    let r = sqlx::query(
        "SELECT COUNT(*), COALESCE(SUM(COALESCE(queued_at, created_at) < ?), 0), MIN(COALESCE(queued_at, created_at))
         FROM sigov_alerts_deliveries WHERE state = ?",
    )
    .bind(now - stuck)
    .bind(S::Queued.as_str())
    .fetch_one(db.conn())
    .within(WHAT)
    .await?;
    let num = crate::db::count_col;
    let queued = num(&r, 0);
    let stuck_n = num(&r, 1);
    let oldest: Option<NaiveDateTime> = r.try_get(2).ok().flatten();
    // language=MySQL
    let first = sqlx::query(
        "SELECT id, next_attempt_at FROM sigov_alerts_deliveries WHERE state = ?
         ORDER BY COALESCE(queued_at, created_at), id LIMIT 1",
    )
    .bind(S::Queued.as_str())
    .fetch_optional(db.conn())
    .within(WHAT)
    .await?;
    let (oldest_id, oldest_next) = match &first {
        Some(r) => (
            Some(r.try_get::<u64, _>(0).map_err(|e| Error::db(WHAT, e))?),
            r.try_get::<Option<NaiveDateTime>, _>(1).map_err(|e| Error::db(WHAT, e))?,
        ),
        None => (None, None),
    };
    // language=MySQL
    let f = sqlx::query(
        "SELECT COALESCE(SUM(state = ?), 0), COALESCE(SUM(state = ?), 0) FROM sigov_alerts_deliveries
         WHERE state IN (?, ?) AND created_at >= ?",
    )
    .bind(S::Failed.as_str())
    .bind(S::Abandoned.as_str())
    .bind(S::Failed.as_str())
    .bind(S::Abandoned.as_str())
    .bind(now - chrono::Duration::hours(24))
    .fetch_one(db.conn())
    .within(WHAT)
    .await?;
    let failed_24h = num(&f, 0);
    let abandoned_24h = num(&f, 1);
    // language=MySQL
    let rejections = sqlx::query(
        "SELECT address, check_slug, COALESCE(last_reply, ''), COALESCE(last_attempt_at, created_at) AS at
         FROM sigov_alerts_deliveries WHERE state = ? ORDER BY at DESC, id DESC LIMIT ?",
    )
    .bind(S::Failed.as_str())
    .bind(REJECTIONS_SHOWN)
    .fetch_all(db.conn())
    .within(WHAT)
    .await?
    .iter()
    .map(|r| {
        Ok(Rejection {
            address: r.try_get(0)?,
            check: r.try_get(1)?,
            reply: r.try_get(2)?,
            at: local(r.try_get(3)?, tz),
        })
    })
    .collect::<std::result::Result<Vec<_>, sqlx::Error>>()
    .map_err(|e| Error::db(WHAT, e))?;
    if stuck_n > 0 {
        problems.push(format!("{stuck_n} e-mail(s) queued for more than {}", humantime::format_duration(stuck_after)));
    }
    if failed_24h + abandoned_24h > 0 {
        problems.push(format!("{failed_24h} e-mail(s) rejected and {abandoned_24h} abandoned in the last 24 hours"));
    }
    Ok(Status {
        checks,
        queued,
        stuck: stuck_n,
        oldest_queued: oldest.map(|t| local(t, tz)),
        oldest_queued_id: oldest_id,
        oldest_queued_next_attempt: oldest_next.map(|t| json_time(t, tz)),
        oldest_next_local: oldest_next.map(|t| text_time(t, tz)),
        failed_24h,
        abandoned_24h,
        rejections,
        healthy: problems.is_empty(),
        problems,
    })
}

/// `status` as text.
pub fn status_text(s: &Status, tz: Tz) -> String {
    let when = |t: &Option<DateTime<FixedOffset>>, none: &str| t.as_ref().map(text).unwrap_or_else(|| none.into());
    let mut o = format!("{:<20} {:<23}  {:<12} last success (times in {})\n", "check", "last run", "status", tz.name());
    for c in &s.checks {
        let _ = writeln!(
            o,
            "{:<20} {:<23}  {:<12} {}{}",
            c.check,
            when(&c.last_run, "never"),
            c.last_status.as_deref().unwrap_or("-"),
            when(&c.last_success, "never"),
            if c.stale { "  STALE" } else { "" }
        );
    }
    let _ = writeln!(
        o,
        "\noutbox: {} queued ({} stuck, oldest {}), last 24 h: {} rejected, {} abandoned",
        s.queued,
        s.stuck,
        when(&s.oldest_queued, "-"),
        s.failed_24h,
        s.abandoned_24h
    );
    if let Some(id) = s.oldest_queued_id {
        let next = s.oldest_next_local.as_deref().map(|t| format!("next attempt {t}"));
        let _ = writeln!(o, "oldest queued e-mail: id {id}, {}", next.as_deref().unwrap_or("due at the next delivery"));
    }
    if !s.rejections.is_empty() {
        o.push_str("latest rejections:\n");
        for r in &s.rejections {
            let _ = writeln!(o, "  {}  {:<20} <{}> {}", text(&r.at), r.check, r.address, r.reply);
        }
    }
    if s.healthy {
        o.push_str("healthy\n");
    } else {
        for p in &s.problems {
            let _ = writeln!(o, "UNHEALTHY: {p}");
        }
    }
    o
}
