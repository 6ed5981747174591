//! The run ledger and outbox (docs/design.md §3, spec R3/R5): decides what is new
//! (`partition`, pure), records it with the app rows (`claim`), and tracks
//! delivery (`fetch_due`, `confirm`). Runs are recorded in
//! `sigov_alerts_runs`.

use std::collections::HashSet;
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime};
use lettre::Address;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{MySql, QueryBuilder, Row};
use tracing::instrument;

use crate::checks::{Alert, AlertKey, AppDedup, AppTable, Check, ProjectFacts, SkipReason, StageFacts};
use crate::db::Db;
use crate::db::read::AppDedupKey;
use crate::db::write::{batches, insert_app_rows};
use crate::error::{Error, Result};

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
    pub fn initial_state(self) -> &'static str {
        match self {
            MailPlan::Send => "queued",
            MailPlan::NoAddress => "no_email",
            MailPlan::BadAddress => "bad_address",
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
                } else if Address::from_str(email).is_err() {
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
        .await
        .map_err(|e| Error::db("reading the ledger", e))?;
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

/// The identity of one run of one command.
#[derive(Debug, Clone)]
pub struct Run {
    /// UUID of the run.
    pub run_id: String,
    /// The command (`run-all`, `check-budget`, …).
    pub command: String,
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// The run instant (UTC).
    pub instant: NaiveDateTime,
    /// The business day.
    pub today: NaiveDate,
}

/// Writes the app rows and ledger rows of `planned` (inside the caller's
/// transaction). Returns the number of rows created.
#[instrument(skip_all, fields(check = check.slug(), rows = planned.len()))]
pub async fn claim(db: &mut Db, run: &Run, check: Check, planned: &[Planned], from_domain: &str) -> Result<usize> {
    let mut app_ids: Vec<(usize, i64)> = Vec::with_capacity(planned.len());
    for table in [AppTable::AlerteProjet, AppTable::NotificationEtape] {
        let idx: Vec<usize> = (0..planned.len()).filter(|i| planned[*i].alert.table == table).collect();
        if idx.is_empty() {
            continue;
        }
        let alerts: Vec<&Alert> = idx.iter().map(|i| &planned[*i].alert).collect();
        let ids = insert_app_rows(db, table, &alerts, run.instant).await?;
        app_ids.extend(idx.into_iter().zip(ids));
    }
    app_ids.sort_unstable();
    let recorded_at = chrono::Utc::now().naive_utc();
    // Values that come from our own code are written as literals; only what
    // comes from the app's data is bound (fewer placeholders, bigger batches).
    let recorded = format!("'{}'", recorded_at.format("%Y-%m-%d %H:%M:%S%.6f"));
    let run_id = format!("'{}'", run.run_id.replace('\'', ""));
    for chunk in batches(&app_ids, 4, db.max_packet, |_| 400) {
        // language=MySQL
        let mut qb: QueryBuilder<MySql> = QueryBuilder::new(
            "INSERT INTO sigov_alerts_deliveries (check_slug, kind, item_id, recipient_id, period, app_table, \
             app_id, address, message_id, state, attempts, created_at, run_id) ",
        );
        qb.push_values(chunk.iter(), |mut b, (i, app_id)| {
            let p = &planned[*i];
            let key = p.alert.key();
            b.push(format!("'{}'", check.slug()))
                .push(format!("'{}'", p.alert.kind))
                .push_bind(p.alert.item_id.as_str())
                .push_bind(p.alert.recipient.id.as_str())
                .push(format!("'{}'", p.alert.period.replace('\'', "")))
                .push(format!("'{}'", p.alert.table.name()))
                .push(app_id.to_string())
                .push_bind(p.alert.recipient.email.trim())
                .push_bind(message_id(&key, from_domain))
                .push(format!("'{}'", p.mail.initial_state()))
                .push("0")
                // Wall-clock time of recording (not the possibly replayed
                // run instant): delivery age is measured from it.
                .push(&recorded)
                .push(&run_id);
        });
        qb.build().execute(db.conn()).await.map_err(|e| Error::db("writing the ledger", e))?;
    }
    Ok(planned.len())
}

/// A queued e-mail with what its rendering needs, read back from the app row.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    /// Ledger row id.
    pub id: u64,
    /// Check slug.
    pub check: String,
    /// Alert type.
    pub kind: String,
    /// App table.
    pub table: Option<AppTable>,
    /// Address.
    pub address: String,
    /// Stable Message-ID.
    pub message_id: String,
    /// Attempts so far.
    pub attempts: u32,
    /// When the ledger row was created.
    pub created_at: NaiveDateTime,
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

/// Queued e-mails due at `now` with id above `after`, oldest first, at
/// most `limit`, joined to their app rows in one query.
#[instrument(skip_all)]
pub async fn fetch_due(db: &mut Db, now: NaiveDateTime, after: u64, limit: u32) -> Result<Vec<OutboxRow>> {
    const WHAT: &str = "reading the outbox";
    // language=MySQL
    let sql = concat!(
        "SELECT d.id, d.check_slug, d.kind, d.app_table, d.address, d.message_id, d.attempts, d.created_at,",
        " COALESCE(ap.titre, ne.titre) AS titre, COALESCE(ap.message, ne.message) AS message,",
        " COALESCE(ap.niveau, '') AS niveau, COALESCE(ap.donnees_contexte, ne.donnees_contexte, '{}') AS ctx,",
        " COALESCE(ap.date_creation, ne.date_creation) AS app_created,",
        " u.first_name AS u_first_name, u.last_name AS u_last_name,",
        " p.id AS p_id, p.nom AS p_nom, p.client AS p_client, COALESCE(s.nom, '') AS p_statut,",
        " e.id AS e_id, te.nom AS e_code, e.ordre AS e_ordre",
        " FROM sigov_alerts_deliveries d",
        " LEFT JOIN core_alerteprojet ap ON d.app_table = 'core_alerteprojet' AND ap.id = d.app_id",
        " LEFT JOIN core_notificationetape ne ON d.app_table = 'core_notificationetape' AND ne.id = d.app_id",
        " LEFT JOIN core_etapeprojet e ON e.id = ne.etape_id",
        " LEFT JOIN core_typeetape te ON te.id = e.type_etape_id",
        " LEFT JOIN core_projet p ON p.id = COALESCE(ap.projet_id, e.projet_id)",
        " LEFT JOIN core_statutprojet s ON s.id = p.statut_id",
        " LEFT JOIN core_utilisateur u ON u.id = COALESCE(ap.destinataire_id, ne.destinataire_id)",
        " WHERE d.state = 'queued' AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?) AND d.id > ?",
        " ORDER BY d.id LIMIT ?"
    );
    let rows = sqlx::query(sql)
        .bind(now)
        .bind(after)
        .bind(limit)
        .fetch_all(db.conn())
        .await
        .map_err(|e| Error::db(WHAT, e))?;
    rows.iter()
        .map(|r| {
            let titre: Option<String> = r.try_get("titre")?;
            let p_id: Option<String> = r.try_get("p_id")?;
            let content = match (titre, p_id) {
                (Some(titre), Some(p_id)) => {
                    let stage = match r.try_get::<Option<String>, _>("e_id")? {
                        Some(id) => Some(StageFacts {
                            id,
                            code: r.try_get::<Option<String>, _>("e_code")?.unwrap_or_default(),
                            ordre: r.try_get::<Option<i32>, _>("e_ordre")?.unwrap_or_default(),
                        }),
                        None => None,
                    };
                    let first: Option<String> = r.try_get("u_first_name")?;
                    let last: Option<String> = r.try_get("u_last_name")?;
                    Some(AppContent {
                        titre,
                        message: r.try_get::<Option<String>, _>("message")?.unwrap_or_default(),
                        niveau: r.try_get("niveau")?,
                        contexte: r.try_get("ctx")?,
                        created_at: r.try_get::<Option<NaiveDateTime>, _>("app_created")?.unwrap_or_default(),
                        recipient_name: format!("{} {}", first.unwrap_or_default(), last.unwrap_or_default())
                            .trim()
                            .to_string(),
                        project: ProjectFacts {
                            id: p_id,
                            nom: r.try_get::<Option<String>, _>("p_nom")?.unwrap_or_default(),
                            client: r.try_get::<Option<String>, _>("p_client")?.unwrap_or_default(),
                            statut: r.try_get("p_statut")?,
                        },
                        stage,
                    })
                }
                _ => None,
            };
            let table: String = r.try_get("app_table")?;
            Ok(OutboxRow {
                id: r.try_get("id")?,
                check: r.try_get("check_slug")?,
                kind: r.try_get("kind")?,
                table: AppTable::from_name(&table),
                address: r.try_get("address")?,
                message_id: r.try_get("message_id")?,
                attempts: r.try_get("attempts")?,
                created_at: r.try_get("created_at")?,
                content,
            })
        })
        .collect::<std::result::Result<_, sqlx::Error>>()
        .map_err(|e| Error::db(WHAT, e))
}

/// E-mails still queued, per check, in one query.
pub async fn queued_by_check(db: &mut Db) -> Result<Vec<(String, u32)>> {
    // language=MySQL
    let rows = sqlx::query(
        "SELECT check_slug, COUNT(*) FROM sigov_alerts_deliveries WHERE state = 'queued' GROUP BY check_slug",
    )
    .fetch_all(db.conn())
    .await
    .map_err(|e| Error::db("reading the outbox", e))?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get::<i64, _>(1)? as u32)))
        .collect::<std::result::Result<_, sqlx::Error>>()
        .map_err(|e| Error::db("reading the outbox", e))
}

/// Marks abandoned the `running` rows left by a run that died (the caller
/// holds the run lock, so no other run is in progress).
pub async fn close_orphans(db: &mut Db) -> Result<()> {
    // language=MySQL
    sqlx::query(
        "UPDATE sigov_alerts_runs SET status = 'crashed', error = 'the process ended without recording its end' WHERE status = 'running'",
    )
    .execute(db.conn())
    .await
    .map_err(|e| Error::db("recording the run", e))?;
    Ok(())
}

/// Marks `ids` delivered at `now`, in one statement.
pub async fn confirm_sent(db: &mut Db, ids: &[u64], now: NaiveDateTime) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    // language=MySQL
    let mut qb: QueryBuilder<MySql> = QueryBuilder::new(
        "UPDATE sigov_alerts_deliveries SET state = 'sent', attempts = attempts + 1, last_reply = NULL, next_attempt_at = NULL, sent_at = ",
    );
    qb.push_bind(now).push(" WHERE id IN (");
    let mut sep = qb.separated(", ");
    for id in ids {
        sep.push_bind(*id);
    }
    qb.push(")");
    qb.build().execute(db.conn()).await.map_err(|e| Error::db("recording deliveries", e))?;
    Ok(())
}

/// The sent journal: a local append-only file (next to the lock file) that
/// records each delivered ledger id the moment the server accepts it, so a
/// process killed between the server's 250 and the batched `sent` update
/// repeats at most the one message in flight (docs/design.md §4.3) without one
/// UPDATE per e-mail. Replayed into the ledger before the next delivery.
pub struct Journal {
    path: std::path::PathBuf,
    file: std::fs::File,
}

impl Journal {
    /// Opens (creating) the journal at `path`.
    pub fn open(path: &std::path::Path) -> Result<Journal> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)
            .map_err(|e| Error::Io(format!("opening the sent journal {}: {e}", path.display())))?;
        Ok(Journal { path: path.to_path_buf(), file })
    }

    /// Ids recorded and not yet confirmed in the ledger.
    pub fn pending(&self) -> Vec<u64> {
        std::fs::read_to_string(&self.path).unwrap_or_default().lines().filter_map(|l| l.trim().parse().ok()).collect()
    }

    /// Records one delivered id (survives the process being killed).
    pub fn record(&mut self, id: u64) -> Result<()> {
        use std::io::Write;
        self.file
            .write_all(format!("{id}\n").as_bytes())
            .map_err(|e| Error::Io(format!("writing the sent journal {}: {e}", self.path.display())))
    }

    /// Empties the journal once its ids are confirmed in the ledger.
    pub fn clear(&mut self) -> Result<()> {
        self.file.set_len(0).map_err(|e| Error::Io(format!("clearing the sent journal {}: {e}", self.path.display())))
    }
}

/// Records a failed attempt: `state` is `queued` (retry at `next`),
/// `failed` (permanent) or `abandoned` (too old).
pub async fn record_failure(db: &mut Db, id: u64, state: &str, reply: &str, next: Option<NaiveDateTime>) -> Result<()> {
    let reply: String = reply.chars().take(1000).collect();
    // language=MySQL
    sqlx::query(
        "UPDATE sigov_alerts_deliveries SET state = ?, attempts = attempts + 1, last_reply = ?, next_attempt_at = ? WHERE id = ?",
    )
    .bind(state)
    .bind(reply)
    .bind(next)
    .bind(id)
    .execute(db.conn())
    .await
    .map_err(|e| Error::db("recording a delivery failure", e))?;
    Ok(())
}

/// Counts per check and state of the run, recorded at its end.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    /// App rows created.
    pub rows: u32,
    /// E-mails delivered.
    pub sent: u32,
    /// E-mails still queued.
    pub queued: u32,
    /// E-mails rejected or abandoned.
    pub failed: u32,
    /// Alerts skipped (inactive, already sent, no access).
    pub skipped: u32,
}

/// Records the start of every check of `run` in one statement; returns
/// the row ids in the order of `checks`.
pub async fn start_runs(db: &mut Db, run: &Run, checks: &[Check]) -> Result<Vec<u64>> {
    let started = chrono::Utc::now().naive_utc();
    let mut ids = Vec::with_capacity(checks.len());
    let chunks: Vec<&[Check]> = if db.autoinc_consecutive { vec![checks] } else { checks.chunks(1).collect() };
    for chunk in chunks {
        // language=MySQL
        let mut qb: QueryBuilder<MySql> = QueryBuilder::new(
            "INSERT INTO sigov_alerts_runs (run_id, command, check_slug, host, pid, run_instant, local_date, started_at, status) ",
        );
        qb.push_values(chunk.iter(), |mut b, c| {
            b.push_bind(&run.run_id)
                .push_bind(&run.command)
                .push_bind(c.slug())
                .push_bind(&run.host)
                .push_bind(run.pid)
                .push_bind(run.instant)
                .push_bind(run.today)
                .push_bind(started)
                .push("'running'");
        });
        let r = qb.build().execute(db.conn()).await.map_err(|e| Error::db("recording the run", e))?;
        let first = r.last_insert_id();
        ids.extend((0..chunk.len() as u64).map(|i| first + i * db.autoinc_step));
    }
    Ok(ids)
}

/// The end of one run row.
#[derive(Debug, Clone)]
pub struct RunEnd {
    /// Row id.
    pub row: u64,
    /// Final status.
    pub status: &'static str,
    /// Counts.
    pub counts: Counts,
    /// Error, if the check failed.
    pub error: Option<String>,
}

/// Records the end of run rows, in one statement.
pub async fn finish_runs(db: &mut Db, ends: &[RunEnd]) -> Result<()> {
    if ends.is_empty() {
        return Ok(());
    }
    let finished = chrono::Utc::now().naive_utc();
    // An upsert on existing ids: one statement for every row.
    // language=MySQL
    let mut qb: QueryBuilder<MySql> = QueryBuilder::new(
        "INSERT INTO sigov_alerts_runs (id, run_id, command, check_slug, run_instant, local_date, started_at, \
         finished_at, status, rows_created, emails_sent, emails_queued, emails_failed, skipped, error) ",
    );
    qb.push_values(ends.iter(), |mut b, e| {
        b.push_bind(e.row)
            .push("''")
            .push("''")
            .push("''")
            .push_bind(finished)
            .push_bind(finished.date())
            .push_bind(finished)
            .push_bind(finished)
            .push_bind(e.status)
            .push_bind(e.counts.rows)
            .push_bind(e.counts.sent)
            .push_bind(e.counts.queued)
            .push_bind(e.counts.failed)
            .push_bind(e.counts.skipped)
            .push_bind(e.error.as_deref().map(|s| s.chars().take(1000).collect::<String>()));
    });
    qb.push(
        " ON DUPLICATE KEY UPDATE finished_at = VALUES(finished_at), status = VALUES(status), \
         rows_created = VALUES(rows_created), emails_sent = VALUES(emails_sent), emails_queued = VALUES(emails_queued), \
         emails_failed = VALUES(emails_failed), skipped = VALUES(skipped), error = VALUES(error)",
    );
    qb.build().execute(db.conn()).await.map_err(|e| Error::db("recording the run", e))?;
    Ok(())
}

/// Deletes ledger and run rows older than `days` (docs/design.md §3), keeping
/// once-ever identities (contracts, period `-`) and anything still queued.
pub async fn prune(db: &mut Db, days: u32) -> Result<u64> {
    let cutoff = chrono::Utc::now().naive_utc() - chrono::Duration::days(i64::from(days));
    // language=MySQL
    let a =
        sqlx::query("DELETE FROM sigov_alerts_deliveries WHERE created_at < ? AND period <> '-' AND state <> 'queued'")
            .bind(cutoff)
            .execute(db.conn())
            .await
            .map_err(|e| Error::db("pruning the ledger", e))?;
    // language=MySQL
    let b = sqlx::query("DELETE FROM sigov_alerts_runs WHERE started_at < ?")
        .bind(cutoff)
        .execute(db.conn())
        .await
        .map_err(|e| Error::db("pruning the run history", e))?;
    Ok(a.rows_affected() + b.rows_affected())
}

/// Who holds the run, from the newest `running` row, for lock messages.
pub async fn running_holder(conn: &mut sqlx::MySqlConnection) -> Option<String> {
    // language=MySQL
    let row = sqlx::query(
        "SELECT host, pid, command, started_at FROM sigov_alerts_runs WHERE status = 'running' ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(conn)
    .await
    .ok()??;
    let host: String = row.try_get(0).ok()?;
    let pid: u32 = row.try_get(1).ok()?;
    let command: String = row.try_get(2).ok()?;
    let started: NaiveDateTime = row.try_get(3).ok()?;
    Some(format!("{command} (pid {pid} on {host}, started {started} UTC)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::user;
    use crate::checks::{Person, ProjectFacts};

    fn alert(who: Person) -> Alert {
        Alert {
            check: Check::ProjectDeadlines,
            kind: "ECHEANCE_J3",
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
    fn message_id_is_stable_per_identity() {
        let a = alert(user("a"));
        let id = message_id(&a.key(), "example.org");
        assert_eq!(id, message_id(&a.key(), "example.org"));
        assert_ne!(id, message_id(&alert(user("b")).key(), "example.org"));
        assert!(id.starts_with('<') && id.ends_with("@example.org>"));
    }
}
