//! Writes into the app's two alert tables, and nothing else of the app's
//! (ruling R12): multi-row INSERTs sized to the server's packet limit; a row
//! the database refuses is left out alone (R15).

use chrono::NaiveDateTime;
use sqlx::mysql::MySqlDatabaseError;
use sqlx::{MySql, QueryBuilder, Row};
use tracing::instrument;

use super::Db;
use crate::checks::{Alert, AppTable};
use crate::db::Within;
use crate::error::{Error, Result};

/// Placeholders one prepared statement may carry.
const MAX_PLACEHOLDERS: usize = 65_535;

/// Splits `items` into batches that fit one statement: at most
/// `per_row` × rows placeholders and about half the packet limit.
pub fn batches<T>(items: &[T], per_row: usize, max_packet: usize, size: impl Fn(&T) -> usize) -> Vec<&[T]> {
    let max_rows = (MAX_PLACEHOLDERS / per_row).max(1);
    let budget = (max_packet / 2).max(64 * 1024);
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, item) in items.iter().enumerate() {
        let s = size(item) + 64;
        if i > start && (i - start >= max_rows || bytes + s > budget) {
            out.push(&items[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += s;
    }
    if start < items.len() {
        out.push(&items[start..]);
    }
    out
}

fn alert_size(a: &&Alert) -> usize {
    a.titre.len() + a.message.len() + a.contexte.len() + 128
}

/// Why the database refused a row because of the row's own data (R15): a
/// reference to a row the app deleted meanwhile (1452, 1216), a value too
/// long (1406), incorrect (1366, 1292, 1265) or out of range (1264), a NULL
/// (1048), a CHECK constraint (4025) or a trigger (1644). `None` for any
/// other failure, which fails the check.
pub fn refused_row(err: &sqlx::Error) -> Option<String> {
    let sqlx::Error::Database(db) = err else { return None };
    let number = db.try_downcast_ref::<MySqlDatabaseError>()?.number();
    matches!(number, 1048 | 1216 | 1264 | 1265 | 1292 | 1366 | 1406 | 1452 | 1644 | 4025)
        .then(|| format!("error {number}: {}", crate::error::one_line(db.message())))
}

/// The savepoint taken before each batch, and before each row when a batch
/// is written one row at a time.
const BATCH: &str = "SAVEPOINT sigov_alerts_batch";
const BATCH_UNDO: &str = "ROLLBACK TO SAVEPOINT sigov_alerts_batch";
const ROW: &str = "SAVEPOINT sigov_alerts_row";
const ROW_UNDO: &str = "ROLLBACK TO SAVEPOINT sigov_alerts_row";

/// Placeholders per row of [`insert_chunk`] (at most: `core_alerteprojet`'s).
const PER_ROW: usize = 8;

/// One multi-row INSERT of `chunk`, every value bound; returns the new row
/// ids in the order of `chunk`, as the server assigned them (`RETURNING`).
async fn insert_chunk(
    db: &mut Db,
    table: AppTable,
    chunk: &[&Alert],
    created: NaiveDateTime,
) -> std::result::Result<Vec<i64>, sqlx::Error> {
    let mut qb: QueryBuilder<MySql> = match table {
        // language=MySQL
        AppTable::AlerteProjet => QueryBuilder::new(
            "INSERT INTO core_alerteprojet (type_alerte, niveau, titre, message, lue, date_creation, \
             date_lecture, donnees_contexte, destinataire_id, projet_id) ",
        ),
        // language=MySQL
        AppTable::NotificationEtape => QueryBuilder::new(
            "INSERT INTO core_notificationetape (type_notification, titre, message, lue, date_creation, \
             date_lecture, donnees_contexte, destinataire_id, emetteur_id, etape_id, cas_test_id) ",
        ),
    };
    qb.push_values(chunk.iter(), |mut b, a| {
        b.push_bind(a.kind.as_str());
        if table == AppTable::AlerteProjet {
            b.push_bind(a.niveau);
        }
        b.push_bind(a.titre.as_str()).push_bind(a.message.as_str()).push("0").push_bind(created).push("NULL");
        b.push_bind(a.contexte.as_str()).push_bind(a.recipient.id.as_str());
        match table {
            AppTable::AlerteProjet => {
                b.push_bind(a.project.id.as_str());
            }
            AppTable::NotificationEtape => {
                b.push("NULL").push_bind(a.stage.as_ref().map(|s| s.id.as_str()).unwrap_or_default()).push("NULL");
            }
        }
    });
    qb.push(" RETURNING id");
    let rows = qb.build().fetch_all(db.conn()).bounded().await?;
    rows.iter().map(|r| r.try_get::<i64, _>(0)).collect()
}

/// The outcome of one app row: its id, or why the database refused it.
pub type RowOutcome = std::result::Result<i64, String>;

/// Inserts one app row per alert, all in `table`, created at `created_at`
/// (UTC), inside the caller's transaction; returns, in the order of
/// `alerts`, each new row id or why the database refused that row (R15).
///
/// Rows go in multi-row INSERTs, each after a savepoint. When the database
/// refuses a batch because of a row's data ([`refused_row`]), the batch is
/// rolled back to its savepoint and written again one row at a time, each
/// under its own savepoint, so only the refused rows are left out. Any other
/// error (a deadlock, a lost connection…) is returned and the caller rolls
/// the whole transaction back.
#[instrument(skip_all, fields(table = table.name(), rows = alerts.len()))]
pub async fn insert_app_rows(
    db: &mut Db,
    table: AppTable,
    alerts: &[&Alert],
    created_at: NaiveDateTime,
) -> Result<Vec<RowOutcome>> {
    #[cfg(feature = "failpoints")]
    failpoint::hit(db, "before_insert").await;
    let what = format!("writing {}", table.name());
    let mut out = Vec::with_capacity(alerts.len());
    let chunks = batches(alerts, PER_ROW, db.max_packet, alert_size);
    for chunk in chunks {
        db.exec("setting a savepoint", BATCH).await?;
        let why = match insert_chunk(db, table, chunk, created_at).await {
            Ok(ids) => {
                out.extend(ids.into_iter().map(Ok));
                continue;
            }
            Err(e) => refused_row(&e).ok_or_else(|| Error::db(&what, e))?,
        };
        db.exec("rolling back to a savepoint", BATCH_UNDO).await?;
        if chunk.len() == 1 {
            out.push(Err(why));
            continue;
        }
        for a in chunk {
            db.exec("setting a savepoint", ROW).await?;
            match insert_chunk(db, table, std::slice::from_ref(a), created_at).await {
                Ok(ids) => out.extend(ids.into_iter().map(Ok)),
                Err(e) => {
                    let why = refused_row(&e).ok_or_else(|| Error::db(&what, e))?;
                    db.exec("rolling back to a savepoint", ROW_UNDO).await?;
                    out.push(Err(why));
                }
            }
        }
    }
    Ok(out)
}

/// Fault injection for the integration tests (Cargo feature `failpoints`,
/// off by default: a normal build has none of this).
///
/// With `SIGOV_ALERTS_FAILPOINT=before_insert:/some/path`, every call of
/// [`insert_app_rows`] first stops: its n-th stop (n = 1, 2, … in the
/// process) creates `/some/path.{n}.ready` and waits until
/// `/some/path.{n}.go` exists (at most 30 s), so a test can change the
/// database between a check's reads and its first INSERT. At the first stop
/// the session's `innodb_lock_wait_timeout` is set to
/// `SIGOV_ALERTS_FAILPOINT_LOCK_WAIT` seconds (default 1), so a lock the test
/// holds gives a lock wait timeout quickly.
#[cfg(feature = "failpoints")]
pub mod failpoint {
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::{Duration, Instant};

    use super::Db;

    /// The environment variable: `{name}:{path}`.
    pub const ENV: &str = "SIGOV_ALERTS_FAILPOINT";
    /// The session's lock wait timeout while a failpoint is set, in seconds.
    pub const LOCK_WAIT_ENV: &str = "SIGOV_ALERTS_FAILPOINT_LOCK_WAIT";

    static STOPS: AtomicU32 = AtomicU32::new(0);

    /// Stops at failpoint `name` when the environment asks for it.
    pub async fn hit(db: &mut Db, name: &str) {
        let Ok(spec) = std::env::var(ENV) else { return };
        let Some((point, path)) = spec.split_once(':') else { return };
        if point != name {
            return;
        }
        let n = STOPS.fetch_add(1, Ordering::SeqCst) + 1;
        if n == 1 {
            let secs: u32 = std::env::var(LOCK_WAIT_ENV).ok().and_then(|s| s.parse().ok()).unwrap_or(1);
            let sql = format!("SET SESSION innodb_lock_wait_timeout = {secs}");
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(db.conn()).await;
        }
        let ready = PathBuf::from(format!("{path}.{n}.ready"));
        let go = PathBuf::from(format!("{path}.{n}.go"));
        if let Err(e) = std::fs::write(&ready, b"") {
            tracing::warn!(failpoint = name, path = %ready.display(), error = %e, "failpoint: cannot signal");
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while !go.exists() {
            if Instant::now() >= deadline {
                tracing::warn!(failpoint = name, path = %go.display(), "failpoint: not released within 30 s");
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_placeholders_and_bytes() {
        let items: Vec<usize> = vec![10; 20_000];
        let b = batches(&items, 8, 16 << 20, |s| *s);
        assert_eq!(b.len(), 3);
        assert!(b.iter().all(|c| c.len() * 8 <= MAX_PLACEHOLDERS));
        let big: Vec<usize> = vec![100_000; 50];
        let b = batches(&big, 8, 1 << 20, |s| *s);
        assert!(b.iter().all(|c| c.len() <= 5), "{:?}", b.iter().map(|c| c.len()).collect::<Vec<_>>());
        assert_eq!(b.iter().map(|c| c.len()).sum::<usize>(), 50);
        assert!(batches::<usize>(&[], 8, 1 << 20, |s| *s).is_empty());
    }
}
