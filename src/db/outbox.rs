//! The outbox read that joins the app's tables: queued e-mails with the app
//! row, project, stage and recipient their rendering needs.

use chrono::NaiveDateTime;
use sqlx::Row;
use tracing::instrument;

use super::Db;
use crate::checks::{AlertKind, AppTable, Check, ProjectFacts, StageFacts};
use crate::db::Within;
use crate::error::{Error, Result};
use crate::outbox::{AppContent, DeliveryState, OutboxRow};

/// The queued e-mails claimed by `run_id`, oldest first, joined to their
/// app rows in one query.
#[instrument(skip_all)]
pub async fn fetch_claimed(db: &mut Db, run_id: &str) -> Result<Vec<OutboxRow>> {
    const WHAT: &str = "reading the outbox";
    // language=MySQL
    let sql = concat!(
        "SELECT d.id, d.check_slug, d.item_id, d.kind, d.app_table, d.address, d.message_id, d.attempts,",
        " COALESCE(d.queued_at, d.created_at) AS queued_at,",
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
        " WHERE d.claimed_by = ? AND d.state = ?",
        " ORDER BY d.last_attempt_at, d.id"
    );
    let rows =
        sqlx::query(sql).bind(run_id).bind(DeliveryState::Queued.as_str()).fetch_all(db.conn()).within(WHAT).await?;
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
            let (slug, kind): (String, String) = (r.try_get("check_slug")?, r.try_get("kind")?);
            let (Some(check), Some(kind)) = (Check::from_slug(&slug), AlertKind::parse(&kind)) else {
                // Only a newer release writes what this one does not know:
                // left queued for it, and named.
                let id: u64 = r.try_get("id")?;
                tracing::warn!(id, check = %slug, %kind, "outbox row of an unknown check or kind: left queued");
                return Ok(None);
            };
            Ok(Some(OutboxRow {
                id: r.try_get("id")?,
                check,
                item_id: r.try_get("item_id")?,
                kind,
                table: AppTable::from_name(&table),
                address: r.try_get("address")?,
                message_id: r.try_get("message_id")?,
                attempts: r.try_get("attempts")?,
                queued_at: r.try_get("queued_at")?,
                content,
            }))
        })
        .filter_map(|r| r.transpose())
        .collect::<std::result::Result<_, sqlx::Error>>()
        .map_err(|e| Error::db(WHAT, e))
}
