//! Writes into the app's two alert tables, and nothing else of the app's
//! (ruling R12): multi-row INSERTs sized to the server's packet limit.

use chrono::NaiveDateTime;
use sqlx::{MySql, QueryBuilder};
use tracing::instrument;

use super::Db;
use crate::checks::{Alert, AppTable};
use crate::db::Within;
use crate::error::Result;

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

/// Inserts one app row per alert, all in `table`, created at `created_at`
/// (UTC); returns the new row ids in the order of `alerts`.
#[instrument(skip_all, fields(table = table.name(), rows = alerts.len()))]
pub async fn insert_app_rows(
    db: &mut Db,
    table: AppTable,
    alerts: &[&Alert],
    created_at: NaiveDateTime,
) -> Result<Vec<i64>> {
    let what = format!("writing {}", table.name());
    let mut ids = Vec::with_capacity(alerts.len());
    let step = db.autoinc_step as i64;
    let chunks = if db.autoinc_consecutive {
        batches(alerts, 6, db.max_packet, alert_size)
    } else {
        // Interleaved auto-increment: only single-row INSERTs give known ids.
        alerts.chunks(1).collect()
    };
    for chunk in chunks {
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
        // Our own constants are literals; the app's data is bound.
        let created = format!("'{}'", created_at.format("%Y-%m-%d %H:%M:%S%.6f"));
        qb.push_values(chunk.iter(), |mut b, a| {
            b.push(format!("'{}'", a.kind));
            if table == AppTable::AlerteProjet {
                b.push(format!("'{}'", a.niveau));
            }
            b.push_bind(a.titre.as_str()).push_bind(a.message.as_str()).push("0").push(&created).push("NULL");
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
        let result = qb.build().execute(db.conn()).within(&what).await?;
        let first = result.last_insert_id() as i64;
        ids.extend((0..chunk.len() as i64).map(|i| first + i * step));
    }
    Ok(ids)
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
