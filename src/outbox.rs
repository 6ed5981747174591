//! The outbox: the ledger rows still owed an e-mail (`state = 'queued'`),
//! what delivery reads back (`OutboxRow`), and the statements that record
//! each outcome. Statements joining the app's tables live in `db::outbox`.

use chrono::NaiveDateTime;
use sqlx::{MySql, QueryBuilder, Row};

use crate::checks::{AppTable, ProjectFacts, StageFacts};
use crate::db::Db;
use crate::error::{Error, Result};

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
