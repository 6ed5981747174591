//! The identity ledger (docs/design.md §3, rulings R3/R5): decides what is
//! new (`partition`, pure), and records it with the app rows (`record`), one
//! row per alert identity under a UNIQUE key. The same rows are the outbox
//! (`crate::outbox`); runs are recorded by `crate::runs`.

use std::collections::HashSet;

use chrono::NaiveDate;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{MySql, QueryBuilder, Row};
use tracing::instrument;

use crate::checks::{Alert, AlertKey, AppDedup, AppTable, Check, SkipReason};
use crate::db::Db;
use crate::db::Within;
use crate::db::read::AppDedupKey;
use crate::db::write::{batches, insert_app_rows};
use crate::error::{Error, Result};
use crate::outbox::DeliveryState;
use crate::runs::Run;

/// Placeholders per row of the ledger INSERT in [`record`].
const PER_ROW: usize = 12;

/// Lowercase hex SHA-256 of `s`.
pub fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The stable Message-ID of an alert identity: `<hash@domain-of-from>`.
pub fn message_id(key: &AlertKey, from_domain: &str) -> String {
    format!("<{}@{}>", &sha256_hex(&key.joined())[..40], from_domain)
}

/// What happens to the e-mail of a created row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MailPlan {
    /// Send it.
    Send,
    /// Row only: empty address (R9).
    NoAddress,
    /// Row only: not a valid mailbox (R9).
    BadAddress,
}

impl MailPlan {
    /// The ledger state a new row starts in.
    pub fn initial_state(self) -> DeliveryState {
        match self {
            MailPlan::Send => DeliveryState::Queued,
            MailPlan::NoAddress => DeliveryState::NoEmail,
            MailPlan::BadAddress => DeliveryState::BadAddress,
        }
    }
}

/// An alert that will be created, and its e-mail plan.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The alert.
    pub alert: Alert,
    /// Its e-mail.
    pub mail: MailPlan,
}

/// The split of a check's alerts into new ones and skipped ones.
#[derive(Debug, Default)]
pub struct Partition {
    /// Rows to create.
    pub create: Vec<Planned>,
    /// Alerts not created, with why.
    pub skipped: Vec<(Alert, SkipReason)>,
}

/// The key upstream's own dedup compares for `alert` (R3a).
pub fn app_dedup_key(alert: &Alert) -> AppDedupKey {
    let target = match (alert.table, &alert.stage) {
        (AppTable::NotificationEtape, Some(stage)) => stage.id.clone(),
        _ => alert.project.id.clone(),
    };
    let extra = match &alert.dedup {
        AppDedup::SameDay => String::new(),
        AppDedup::SameDayTask(id) | AppDedup::EverContract(id) => id.clone(),
    };
    (alert.recipient.id.clone(), target, alert.kind.to_string(), extra)
}

/// Splits `alerts` (pure): blocked by the rules, disabled users (R8), already
/// recorded by the app (R3a) or the ledger (R3b) are skipped; the rest are
/// created, mailed unless the address is empty or invalid (R9).
pub fn partition(alerts: Vec<Alert>, app: &HashSet<AppDedupKey>, ledger: &HashSet<AlertKey>) -> Partition {
    let mut out = Partition::default();
    let mut seen: HashSet<AlertKey> = HashSet::new();
    for alert in alerts {
        let key = alert.key();
        let reason = if let Some(r) = alert.blocked {
            Some(r)
        } else if !alert.recipient.is_enabled() {
            Some(SkipReason::Inactive)
        } else if ledger.contains(&key) || app.contains(&app_dedup_key(&alert)) || !seen.insert(key) {
            Some(SkipReason::AlreadySent)
        } else {
            None
        };
        match reason {
            Some(r) => out.skipped.push((alert, r)),
            None => {
                let email = alert.recipient.email.trim();
                let mail = if email.is_empty() {
                    MailPlan::NoAddress
                } else if !crate::notify::mail::valid_address(email) {
                    MailPlan::BadAddress
                } else {
                    MailPlan::Send
                };
                out.create.push(Planned { alert, mail });
            }
        }
    }
    out
}

/// The ledger identities of `check` that can still matter on `today`
/// (daily and threshold periods from today on, and once-ever ones). With
/// `lock`, the rows and gaps are locked until the transaction ends, so two
/// concurrent runs serialise here.
#[instrument(skip_all, fields(check = check.slug()))]
pub async fn fetch_keys(db: &mut Db, check: Check, today: NaiveDate, lock: bool) -> Result<HashSet<AlertKey>> {
    // language=MySQL
    let sql = if lock {
        "SELECT kind, item_id, recipient_id, period FROM sigov_alerts_deliveries \
         WHERE check_slug = ? AND (period >= ? OR period = '-') FOR UPDATE"
    } else {
        "SELECT kind, item_id, recipient_id, period FROM sigov_alerts_deliveries \
         WHERE check_slug = ? AND (period >= ? OR period = '-')"
    };
    let rows = sqlx::query(sql)
        .bind(check.slug())
        .bind(today.format("%Y-%m-%d").to_string())
        .fetch_all(db.conn())
        .within("reading the ledger")
        .await?;
    rows.iter()
        .map(|r| {
            Ok(AlertKey {
                check: check.slug().to_string(),
                kind: r.try_get(0)?,
                item_id: r.try_get(1)?,
                recipient_id: r.try_get(2)?,
                period: r.try_get(3)?,
            })
        })
        .collect::<std::result::Result<_, sqlx::Error>>()
        .map_err(|e| Error::db("reading the ledger", e))
}

/// Writes the app rows and ledger rows of `planned` (inside the caller's
/// transaction). Returns the rows the database refused (R15), as indices in
/// `planned` with why, in order: they have no app row and no ledger row.
#[instrument(skip_all, fields(check = check.slug(), rows = planned.len()))]
pub async fn record(
    db: &mut Db,
    run: &Run,
    check: Check,
    planned: &[Planned],
    from_domain: &str,
) -> Result<Vec<(usize, String)>> {
    let mut app_ids: Vec<(usize, i64)> = Vec::with_capacity(planned.len());
    let mut refused = Vec::new();
    for table in [AppTable::AlerteProjet, AppTable::NotificationEtape] {
        let idx: Vec<usize> = (0..planned.len()).filter(|i| planned[*i].alert.table == table).collect();
        if idx.is_empty() {
            continue;
        }
        let alerts: Vec<&Alert> = idx.iter().map(|i| &planned[*i].alert).collect();
        for (i, outcome) in idx.into_iter().zip(insert_app_rows(db, table, &alerts, run.instant).await?) {
            match outcome {
                Ok(id) => app_ids.push((i, id)),
                Err(why) => refused.push((i, why)),
            }
        }
    }
    app_ids.sort_unstable();
    refused.sort_unstable();
    let recorded_at = chrono::Utc::now().naive_utc();
    for chunk in batches(&app_ids, PER_ROW, db.max_packet, |_| 400) {
        // language=MySQL
        let mut qb: QueryBuilder<MySql> = QueryBuilder::new(
            "INSERT INTO sigov_alerts_deliveries (check_slug, kind, item_id, recipient_id, period, app_table, \
             app_id, address, message_id, state, attempts, created_at, run_id) ",
        );
        qb.push_values(chunk.iter(), |mut b, (i, app_id)| {
            let p = &planned[*i];
            let key = p.alert.key();
            b.push_bind(check.slug())
                .push_bind(p.alert.kind.as_str())
                .push_bind(p.alert.item_id.as_str())
                .push_bind(p.alert.recipient.id.as_str())
                .push_bind(p.alert.period.as_str())
                .push_bind(p.alert.table.name())
                .push_bind(*app_id)
                .push_bind(p.alert.recipient.email.trim())
                .push_bind(message_id(&key, from_domain))
                .push_bind(p.mail.initial_state().as_str())
                .push("0")
                // Wall-clock time of recording (not the possibly replayed
                // run instant): delivery age is measured from it.
                .push_bind(recorded_at)
                .push_bind(run.run_id.as_str());
        });
        qb.build().execute(db.conn()).within("writing the ledger").await?;
    }
    Ok(refused)
}

/// Deletes ledger rows older than `days` (docs/design.md §3), keeping
/// once-ever identities (contracts, period `-`) and anything still queued.
pub async fn prune(db: &mut Db, days: u32) -> Result<u64> {
    // language=MySQL
    let sql = "DELETE FROM sigov_alerts_deliveries WHERE created_at < ? AND period <> '-' AND state <> ?";
    let q = sqlx::query(sql).bind(crate::runs::cutoff(days)).bind(DeliveryState::Queued.as_str());
    Ok(q.execute(db.conn()).within("pruning the ledger").await?.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::user;
    use crate::checks::{Person, ProjectFacts};

    fn alert(who: Person) -> Alert {
        Alert {
            check: Check::ProjectDeadlines,
            kind: crate::checks::AlertKind::EcheanceJ3,
            item_id: "p1".into(),
            period: "2026-03-19".into(),
            recipient: who,
            table: AppTable::AlerteProjet,
            project: ProjectFacts { id: "p1".into(), ..Default::default() },
            stage: None,
            niveau: "WARNING",
            titre: String::new(),
            message: String::new(),
            contexte: String::new(),
            dedup: AppDedup::SameDay,
            blocked: None,
        }
    }

    #[test]
    fn partition_skips_inactive_users_r8() {
        let mut a = user("a");
        a.is_active = false;
        let mut b = user("b");
        b.statut_actif = false;
        let p = partition(vec![alert(a), alert(b)], &HashSet::new(), &HashSet::new());
        assert!(p.create.is_empty());
        assert!(p.skipped.iter().all(|(_, r)| *r == SkipReason::Inactive));
    }

    #[test]
    fn partition_no_address_still_creates_row_r9() {
        let mut a = user("a");
        a.email = "  ".into();
        let mut b = user("b");
        b.email = "not an address".into();
        let p = partition(vec![alert(a), alert(b)], &HashSet::new(), &HashSet::new());
        assert_eq!(p.create.len(), 2);
        assert_eq!(p.create[0].mail, MailPlan::NoAddress);
        assert_eq!(p.create[1].mail, MailPlan::BadAddress);
    }

    #[test]
    fn partition_honours_app_rows_and_ledger_r3() {
        let a = alert(user("a"));
        let b = alert(user("b"));
        let app: HashSet<_> = [app_dedup_key(&a)].into();
        let ledger: HashSet<_> = [b.key()].into();
        let p = partition(vec![a, b, alert(user("c")), alert(user("c"))], &app, &ledger);
        assert_eq!(p.create.len(), 1);
        assert_eq!(p.skipped.len(), 3);
        assert!(p.skipped.iter().all(|(_, r)| *r == SkipReason::AlreadySent));
    }

    #[test]
    fn message_id_differs_per_identity_and_names_the_domain() {
        let a = alert(user("a"));
        let id = message_id(&a.key(), "example.org");
        assert_ne!(id, message_id(&alert(user("b")).key(), "example.org"));
        assert!(id.starts_with('<') && id.ends_with("@example.org>"));
    }
}
