//! What the checks produce and share: the people, projects and stages an
//! alert is about, the alert itself with its identity, and the small text
//! helpers every check uses (Python's formats, the app's title length).

use chrono::NaiveDate;
use serde::Serialize;

use super::{AlertKind, Check};

/// A user of the app, as the checks need them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Person {
    /// `core_utilisateur.id` (32 hex chars).
    pub id: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Address; may be empty.
    pub email: String,
    /// `is_active`.
    pub is_active: bool,
    /// `statut_actif`.
    pub statut_actif: bool,
    /// `is_superuser`.
    pub is_superuser: bool,
}

impl Person {
    /// Django's `get_full_name()`: `"{first} {last}".strip()`.
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name).trim().to_string()
    }

    /// Ruling R8: a disabled user gets nothing.
    pub fn is_enabled(&self) -> bool {
        self.is_active && self.statut_actif
    }
}

/// The app table an alert row goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum AppTable {
    /// `core_alerteprojet`.
    #[serde(rename = "core_alerteprojet")]
    AlerteProjet,
    /// `core_notificationetape`.
    #[serde(rename = "core_notificationetape")]
    NotificationEtape,
}

impl AppTable {
    /// The table name.
    pub fn name(self) -> &'static str {
        match self {
            AppTable::AlerteProjet => "core_alerteprojet",
            AppTable::NotificationEtape => "core_notificationetape",
        }
    }

    /// Parses a table name.
    pub fn from_name(name: &str) -> Option<AppTable> {
        match name {
            "core_alerteprojet" => Some(AppTable::AlerteProjet),
            "core_notificationetape" => Some(AppTable::NotificationEtape),
            _ => None,
        }
    }
}

/// The project an alert is about, with what the e-mails show.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ProjectFacts {
    /// `core_projet.id`.
    pub id: String,
    /// Name.
    pub nom: String,
    /// Client.
    pub client: String,
    /// Status code (`EN_COURS`, …).
    pub statut: String,
}

/// The stage a stage notification is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageFacts {
    /// `core_etapeprojet.id`.
    pub id: String,
    /// Type code (`CONCEPTION`).
    pub code: String,
    /// `ordre`.
    pub ordre: i32,
}

/// How the upstream app deduplicates against its own rows (R3a).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "rule", content = "id", rename_all = "snake_case")]
pub enum AppDedup {
    /// Same recipient, target, type, same local day.
    SameDay,
    /// Same day and the same `tache_id` (dashed) in the JSON.
    SameDayTask(String),
    /// Ever, with the same `contrat_id` (dashed) in the JSON.
    EverContract(String),
}

/// Why an alert owed by the rules is not created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Already recorded (app row or ledger).
    AlreadySent,
    /// Disabled user (R8).
    Inactive,
    /// Task assignee without access to the project (§3.3).
    NoAccess,
    /// Row created, no e-mail: empty address (R9).
    NoAddress,
    /// Row created, no e-mail: not a valid mailbox (R9).
    BadAddress,
    /// Not created: the item could not be evaluated, rendered or written
    /// (R15). Not recorded, so every run tries it again.
    DataError,
}

impl SkipReason {
    /// The reason as written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::AlreadySent => "already_sent",
            SkipReason::Inactive => "inactive",
            SkipReason::NoAccess => "no_access",
            SkipReason::NoAddress => "no_address",
            SkipReason::BadAddress => "bad_address",
            SkipReason::DataError => "data_error",
        }
    }
}

/// One alert owed to one recipient: the app row to write and the identity
/// that makes it idempotent (spec R3).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// The check that owes it.
    pub check: Check,
    /// `type_alerte` / `type_notification`.
    pub kind: AlertKind,
    /// The item (project, stage, task or contract id).
    pub item_id: String,
    /// R3 period: local date (daily repeats), due date (thresholds), `-` (once ever).
    pub period: String,
    /// Who receives it.
    pub recipient: Person,
    /// Where the row goes.
    pub table: AppTable,
    /// The project.
    pub project: ProjectFacts,
    /// The stage (stage notifications only).
    pub stage: Option<StageFacts>,
    /// `niveau` (empty for stage notifications, which have none).
    pub niveau: &'static str,
    /// `titre`.
    pub titre: String,
    /// `message`.
    pub message: String,
    /// `donnees_contexte`, as `json.dumps` writes it.
    pub contexte: String,
    /// Upstream's own dedup rule.
    pub dedup: AppDedup,
    /// Set by `evaluate` when the rules name this recipient but must skip them.
    pub blocked: Option<SkipReason>,
}

impl Alert {
    /// The R3 identity: (check, kind, item, recipient, period).
    pub fn key(&self) -> AlertKey {
        AlertKey {
            check: self.check.slug().to_string(),
            kind: self.kind.as_str().to_string(),
            item_id: self.item_id.clone(),
            recipient_id: self.recipient.id.clone(),
            period: self.period.clone(),
        }
    }
}

/// What the alerts of one item share, whoever receives them: each
/// recipient's alert is made with [`Draft::to`], which adds who and their
/// message. Check, table and `niveau` follow from the kind.
#[derive(Debug, Clone)]
pub struct Draft {
    /// The kind.
    pub kind: AlertKind,
    /// The item (project, stage, task or contract id).
    pub item_id: String,
    /// R3 period.
    pub period: String,
    /// The project.
    pub project: ProjectFacts,
    /// The stage (stage notifications only).
    pub stage: Option<StageFacts>,
    /// `titre`.
    pub titre: String,
    /// `donnees_contexte`.
    pub contexte: String,
    /// Upstream's own dedup rule.
    pub dedup: AppDedup,
}

impl Draft {
    /// A draft of `kind` about `item_id` of `project`, deduplicated by
    /// upstream on the same day (set `stage` and `dedup` where they differ).
    pub fn new(
        kind: AlertKind,
        item_id: &str,
        period: String,
        project: &ProjectFacts,
        titre: String,
        contexte: String,
    ) -> Draft {
        Draft {
            kind,
            item_id: item_id.to_string(),
            period,
            project: project.clone(),
            stage: None,
            titre,
            contexte,
            dedup: AppDedup::SameDay,
        }
    }

    /// The alert to `who`, with `message`.
    pub fn to(&self, who: &Person, message: String) -> Alert {
        let check = self.kind.check();
        Alert {
            check,
            kind: self.kind,
            item_id: self.item_id.clone(),
            period: self.period.clone(),
            recipient: who.clone(),
            table: check.spec().table,
            project: self.project.clone(),
            stage: self.stage.clone(),
            niveau: self.kind.niveau(),
            titre: self.titre.clone(),
            message,
            contexte: self.contexte.clone(),
            dedup: self.dedup.clone(),
            blocked: None,
        }
    }
}

/// The business day as the ledger's daily period: `YYYY-MM-DD`.
pub fn day_period(today: NaiveDate) -> String {
    today.format("%Y-%m-%d").to_string()
}

/// The ledger identity of an alert.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct AlertKey {
    /// Check slug.
    pub check: String,
    /// Alert type.
    pub kind: String,
    /// Item id.
    pub item_id: String,
    /// Recipient id.
    pub recipient_id: String,
    /// Period.
    pub period: String,
}

impl AlertKey {
    /// The key as one string, for Message-IDs.
    pub fn joined(&self) -> String {
        format!("{}/{}/{}/{}/{}", self.check, self.kind, self.item_id, self.recipient_id, self.period)
    }
}

/// `32 hex` → `8-4-4-4-12`, as Python's `str(uuid)` writes it.
pub fn dashed(id: &str) -> String {
    if id.len() != 32 || !id.is_ascii() {
        return id.to_string();
    }
    format!("{}-{}-{}-{}-{}", &id[0..8], &id[8..12], &id[12..16], &id[16..20], &id[20..32])
}

/// `strftime('%d/%m/%Y')`.
pub fn fr_date(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// Length of the app's `titre` columns (`varchar(200)`), in characters as
/// MariaDB counts them for utf8mb4: one per Unicode code point (`⚠️` is two,
/// U+26A0 U+FE0F).
pub const TITRE_MAX: usize = 200;

/// Ruling R15: `{prefix}{name}{suffix}`, shortened to exactly [`TITRE_MAX`]
/// characters when it would not fit by cutting `name` and ending it with
/// `…`; the prefix and the suffix are kept whole. Titles that fit are
/// returned unchanged.
pub fn fit_title(prefix: &str, name: &str, suffix: &str) -> String {
    let fixed = prefix.chars().count() + suffix.chars().count();
    if fixed + name.chars().count() <= TITRE_MAX {
        return format!("{prefix}{name}{suffix}");
    }
    let keep = TITRE_MAX.saturating_sub(fixed + 1);
    let cut: String = name.chars().take(keep).collect();
    let title = format!("{prefix}{cut}…{suffix}");
    // Only a prefix and suffix longer than the column itself get here
    // (never for the app's titles): keep the start.
    if title.chars().count() > TITRE_MAX { title.chars().take(TITRE_MAX).collect() } else { title }
}

/// `jours_text`: `1 jour`, else `{n} jours`.
pub fn jours_text(n: i64) -> String {
    if n == 1 { "1 jour".to_string() } else { format!("{n} jours") }
}

/// `alerts` sorted by item, kind, then recipient, for stable output.
pub fn sorted(mut alerts: Vec<Alert>) -> Vec<Alert> {
    alerts.sort_by(|a, b| {
        (a.check, &a.item_id, a.kind.as_str(), &a.recipient.id).cmp(&(
            b.check,
            &b.item_id,
            b.kind.as_str(),
            &b.recipient.id,
        ))
    });
    alerts
}
