//! Building messages from outbox rows: one per row, or one digest per
//! recipient (`mail_mode = "digest"`), rendered from the app rows.

use std::collections::HashMap;

use crate::checks;
use crate::error::Error;
use crate::notify::mail::{Mailer, SendError};
use crate::notify::render::{MailInput, Renderer};
use crate::outbox::{self, OutboxRow};

/// One message to send: one outbox row, or (digest) all of a recipient's.
pub struct Unit<'a> {
    /// The rows the message carries.
    pub rows: Vec<&'a OutboxRow>,
    /// The message, or why it cannot be built (a permanent failure).
    pub built: std::result::Result<lettre::Message, SendError>,
    /// Its Message-ID.
    pub message_id: String,
}

fn mail_input<'a>(row: &'a OutboxRow, content: &'a outbox::AppContent) -> MailInput<'a> {
    MailInput {
        table: row.table.unwrap_or(checks::AppTable::AlerteProjet),
        kind: row.kind,
        niveau: &content.niveau,
        titre: &content.titre,
        message: &content.message,
        contexte: &content.contexte,
        created_at: content.created_at,
        recipient_name: &content.recipient_name,
        project: &content.project,
        stage: content.stage.as_ref(),
    }
}

/// Groups a batch into messages: one per row, or one per address (digest).
pub fn group_rows<'a>(rows: &[&'a OutboxRow], digest: bool) -> Vec<Vec<&'a OutboxRow>> {
    if !digest {
        return rows.iter().map(|r| vec![*r]).collect();
    }
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut groups: Vec<Vec<&'a OutboxRow>> = Vec::new();
    for r in rows {
        match index.get(r.address.as_str()) {
            Some(&i) => groups[i].push(r),
            None => {
                index.insert(r.address.as_str(), groups.len());
                groups.push(vec![*r]);
            }
        }
    }
    groups
}

/// Renders and builds the message of one group of rows.
pub fn build_unit<'a>(rows: Vec<&'a OutboxRow>, renderer: &Renderer, mailer: &Mailer, digest: bool) -> Unit<'a> {
    let first = rows[0];
    let content = first.content.as_ref();
    let name = content.map(|c| c.recipient_name.as_str()).unwrap_or_default();
    let (email, message_id) = if digest && rows.len() > 1 {
        let inputs: Vec<MailInput<'_>> =
            rows.iter().filter_map(|r| r.content.as_ref().map(|c| mail_input(r, c))).collect();
        let mut ids: Vec<&str> = rows.iter().map(|r| r.message_id.as_str()).collect();
        ids.sort_unstable();
        let domain = first.message_id.rsplit_once('@').map(|(_, d)| d.trim_end_matches('>')).unwrap_or("localhost");
        (
            renderer.render_digest(name, &inputs),
            format!("<digest-{}@{domain}>", &crate::ledger::sha256_hex(&ids.join(","))[..40]),
        )
    } else {
        let email = match content {
            Some(c) => renderer.render(&mail_input(first, c)),
            None => Err(Error::Internal("no content".into())),
        };
        (email, first.message_id.clone())
    };
    let built = match email {
        Err(e) => Err(SendError::Permanent(e.to_string())),
        Ok(email) => mailer.build(name, &first.address, &email, &message_id),
    };
    Unit { rows, built, message_id }
}
