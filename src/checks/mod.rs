//! The five checks as pure functions over database rows (docs/rules.md §3):
//! `evaluate(rows, today) -> Vec<Alert>`. No I/O, no clock, no logging.

use chrono::NaiveDate;
use serde::Serialize;

pub mod budget;
pub mod contracts;
pub mod project_deadlines;
pub mod stage_delays;
pub mod task_deadlines;

/// One of the five checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// §3.1 project deadlines.
    ProjectDeadlines,
    /// §3.2 stage delays.
    StageDelays,
    /// §3.3 overdue tasks.
    TaskDeadlines,
    /// §3.4 budget overruns.
    Budget,
    /// §3.5 maintenance contracts.
    ContractExpiration,
}

impl Check {
    /// Every check, in upstream order (the order of `run-all`).
    pub const ALL: [Check; 5] =
        [Check::ProjectDeadlines, Check::StageDelays, Check::TaskDeadlines, Check::Budget, Check::ContractExpiration];

    /// The slug: module, ledger `check_slug` column, log field.
    pub fn slug(self) -> &'static str {
        match self {
            Check::ProjectDeadlines => "project_deadlines",
            Check::StageDelays => "stage_delays",
            Check::TaskDeadlines => "task_deadlines",
            Check::Budget => "budget",
            Check::ContractExpiration => "contract_expiration",
        }
    }

    /// The subcommand name.
    pub fn command_name(self) -> &'static str {
        match self {
            Check::ProjectDeadlines => "check-project-deadlines",
            Check::StageDelays => "check-stage-delays",
            Check::TaskDeadlines => "check-task-deadlines",
            Check::Budget => "check-budget",
            Check::ContractExpiration => "check-contract-expiration",
        }
    }

    /// The check with this slug.
    pub fn from_slug(slug: &str) -> Option<Check> {
        Check::ALL.into_iter().find(|c| c.slug() == slug)
    }
}

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
    pub kind: &'static str,
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
            kind: self.kind.to_string(),
            item_id: self.item_id.clone(),
            recipient_id: self.recipient.id.clone(),
            period: self.period.clone(),
        }
    }
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

/// The role of a recipient in a project, for the message suffix (§2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The project's principal.
    Principal,
    /// The project's creator (and not principal).
    Creator,
    /// Another team member.
    Team,
}

/// A recipient set keyed by user id (upstream collects a Python `set` of
/// users): `people`, deduplicated, in id order.
pub fn recipient_set<'a>(
    people: impl IntoIterator<Item = &'a Person>,
) -> std::collections::BTreeMap<&'a str, &'a Person> {
    people.into_iter().map(|p| (p.id.as_str(), p)).collect()
}

/// Sorts alerts by item, kind, then recipient, for stable output.
pub fn sort_alerts(alerts: &mut [Alert]) {
    alerts.sort_by(|a, b| {
        (a.check, &a.item_id, a.kind, &a.recipient.id).cmp(&(b.check, &b.item_id, b.kind, &b.recipient.id))
    });
}

#[cfg(test)]
pub mod testkit {
    //! Builders for check unit tests.
    use super::*;

    /// An enabled user with an address.
    pub fn user(id: &str) -> Person {
        Person {
            id: format!("{id:0>32}"),
            first_name: format!("Prenom{id}"),
            last_name: format!("Nom{id}"),
            email: format!("{id}@example.org"),
            is_active: true,
            statut_actif: true,
            is_superuser: false,
        }
    }

    /// The alert to user `who` (the short id given to [`user`]).
    pub fn to<'a>(alerts: &'a [Alert], who: &str) -> &'a Alert {
        let id = format!("{who:0>32}");
        alerts.iter().find(|a| a.recipient.id == id).unwrap_or_else(|| panic!("no alert to {who}"))
    }

    /// A name of exactly `n` characters, most of them two bytes long in
    /// UTF-8 (so a byte count would be wrong), ending with `Z`.
    pub fn long_name(n: usize) -> String {
        let mut s: String = "Réseau d'équipements ".chars().cycle().take(n - 1).collect();
        s.push('Z');
        s
    }

    /// Checks a title shortened by [`fit_title`] (R15): exactly 200
    /// characters, `prefix` and `suffix` kept, the name part cut and ended
    /// with `…`, and `name` not whole in it.
    pub fn assert_fitted(titre: &str, prefix: &str, name: &str, suffix: &str) {
        assert_eq!(titre.chars().count(), TITRE_MAX, "{titre}");
        assert!(titre.starts_with(prefix), "{titre}");
        assert!(titre.ends_with(suffix), "{titre}");
        let middle = &titre[prefix.len()..titre.len() - suffix.len()];
        assert!(middle.ends_with('…'), "{middle}");
        assert!(name.starts_with(middle.trim_end_matches('…')), "{middle}");
        assert!(!titre.contains(name));
    }

    /// A date from `YYYY-MM-DD`.
    pub fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dashed_uuid_form() {
        assert_eq!(dashed("aaaaaaaa000040008000000000000b02"), "aaaaaaaa-0000-4000-8000-000000000b02");
    }

    #[test]
    fn fit_title_keeps_short_titles_unchanged() {
        assert_eq!(fit_title("🔴 Projet ", "Portail RH", " - EN RETARD"), "🔴 Projet Portail RH - EN RETARD");
        let exact = testkit::long_name(TITRE_MAX - 2);
        assert_eq!(fit_title("[", &exact, "]").chars().count(), TITRE_MAX);
        assert_eq!(fit_title("[", &exact, "]"), format!("[{exact}]"));
    }

    #[test]
    fn fit_title_cuts_the_name_to_exactly_200_characters() {
        let name = testkit::long_name(200);
        for (prefix, suffix) in
            [("⚠️ Projet ", " - Fin dans 7 jours"), ("🔴 Tâche en retard - ", ""), ("🔴 Projet ", " - EN RETARD")]
        {
            let t = fit_title(prefix, &name, suffix);
            testkit::assert_fitted(&t, prefix, &name, suffix);
        }
        // One character too many is enough to cut.
        let t = fit_title("", &testkit::long_name(201), "");
        assert_eq!(t.chars().count(), TITRE_MAX);
        assert!(t.ends_with('…'));
    }

    #[test]
    fn fit_title_counts_code_points_as_mariadb() {
        // ⚠️ is U+26A0 U+FE0F: two characters for MariaDB.
        assert_eq!("⚠️".chars().count(), 2);
        let name = "x".repeat(200);
        let t = fit_title("⚠️ ", &name, "");
        assert_eq!(t.chars().count(), TITRE_MAX);
        assert_eq!(t, format!("⚠️ {}…", "x".repeat(196)));
    }

    #[test]
    fn fit_title_with_a_prefix_longer_than_the_column_keeps_its_start() {
        let prefix = "p".repeat(250);
        assert_eq!(fit_title(&prefix, "nom", "s"), "p".repeat(TITRE_MAX));
    }

    #[test]
    fn jours_text_singular_plural() {
        assert_eq!(jours_text(1), "1 jour");
        assert_eq!(jours_text(2), "2 jours");
        assert_eq!(jours_text(0), "0 jours");
    }

    #[test]
    fn every_check_has_a_distinct_slug_and_command() {
        for c in Check::ALL {
            assert_eq!(Check::from_slug(c.slug()), Some(c));
            assert_eq!(c.command_name().replace('-', "_"), format!("check_{}", c.slug()));
        }
    }
}
