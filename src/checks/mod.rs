//! The check registry: the five checks, their alert kinds and what each
//! check declares about itself ([`Spec`]). Adding a check means its module
//! here (rules, texts and `SPEC`), its read in `db/read.rs`, and one entry in
//! this file (a `Check` variant with its arms, its `AlertKind`s); see
//! docs/design.md §7. The checks themselves are pure functions over database
//! rows (docs/rules.md §3): `evaluate(rows, today) -> Vec<Alert>`, no I/O,
//! no clock, no logging.

use serde::Serialize;

mod alert;
pub mod budget;
pub mod contracts;
pub mod project_deadlines;
pub mod stage_delays;
pub mod task_deadlines;
pub mod team;
#[cfg(test)]
pub mod testkit;

pub use alert::*;

/// One of the checks.
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

    /// What the check declares about itself.
    pub fn spec(self) -> &'static Spec {
        match self {
            Check::ProjectDeadlines => &project_deadlines::SPEC,
            Check::StageDelays => &stage_delays::SPEC,
            Check::TaskDeadlines => &task_deadlines::SPEC,
            Check::Budget => &budget::SPEC,
            Check::ContractExpiration => &contracts::SPEC,
        }
    }

    /// The slug: ledger `check_slug` column, log field, metrics label.
    pub fn slug(self) -> &'static str {
        self.spec().slug
    }

    /// The subcommand name.
    pub fn command_name(self) -> &'static str {
        self.spec().command
    }

    /// The check with this slug.
    pub fn from_slug(slug: &str) -> Option<Check> {
        Check::ALL.into_iter().find(|c| c.slug() == slug)
    }

    /// The check run by subcommand `name`.
    pub fn from_command(name: &str) -> Option<Check> {
        Check::ALL.into_iter().find(|c| c.command_name() == name)
    }
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.slug())
    }
}

crate::stored_enum! {
    /// The alert kinds, as stored in `type_alerte` / `type_notification` and
    /// in the ledger's `kind` column: project due in 7, 3 or 1 days, project
    /// overdue, stage late, task overdue, budget exceeded, contract expiring
    /// within the warning window, contract expired.
    pub enum AlertKind {
        EcheanceJ7 = "ECHEANCE_J7", EcheanceJ3 = "ECHEANCE_J3", EcheanceJ1 = "ECHEANCE_J1",
        EcheanceDepassee = "ECHEANCE_DEPASSEE", RetardEtape = "RETARD_ETAPE", TachesEnRetard = "TACHES_EN_RETARD",
        BudgetDepasse = "BUDGET_DEPASSE", ContratExpiration = "CONTRAT_EXPIRATION", ContratExpire = "CONTRAT_EXPIRE",
    }
}

impl AlertKind {
    /// The display name in e-mails, the `niveau` written with it (empty for
    /// stage notifications, which have none) and the check that owes it.
    const fn facts(self) -> (&'static str, &'static str, Check) {
        use Check::*;
        match self {
            AlertKind::EcheanceJ7 => ("Échéance dans 7 jours", "WARNING", ProjectDeadlines),
            AlertKind::EcheanceJ3 => ("Échéance dans 3 jours", "WARNING", ProjectDeadlines),
            AlertKind::EcheanceJ1 => ("Échéance dans 1 jour", "DANGER", ProjectDeadlines),
            AlertKind::EcheanceDepassee => ("Échéance dépassée", "DANGER", ProjectDeadlines),
            AlertKind::RetardEtape => ("Retard d'étape", "", StageDelays),
            AlertKind::TachesEnRetard => ("Tâches en retard", "DANGER", TaskDeadlines),
            AlertKind::BudgetDepasse => ("Budget dépassé", "DANGER", Budget),
            AlertKind::ContratExpiration => ("Contrat proche expiration", "WARNING", ContractExpiration),
            AlertKind::ContratExpire => ("Contrat expiré", "DANGER", ContractExpiration),
        }
    }

    /// The display name (`get_type_alerte_display()`).
    pub const fn label(self) -> &'static str {
        self.facts().0
    }

    /// The `niveau` of its rows.
    pub const fn niveau(self) -> &'static str {
        self.facts().1
    }

    /// The check that owes it.
    pub const fn check(self) -> Check {
        self.facts().2
    }
}

/// How upstream finds its own earlier rows of a check (R3a).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DedupRule {
    /// Same recipient, target and kind, created the same local day.
    SameDay,
    /// The same, and the same value under this key of `donnees_contexte`.
    SameDayWith(&'static str),
    /// Any day, with the same value under this key of `donnees_contexte`.
    EverWith(&'static str),
}

/// What a check declares about itself.
#[derive(Debug)]
pub struct Spec {
    /// Ledger `check_slug`, log field, metrics label.
    pub slug: &'static str,
    /// Subcommand name.
    pub command: &'static str,
    /// One line of help for the subcommand.
    pub about: &'static str,
    /// Its heading in a digest e-mail.
    pub heading: &'static str,
    /// The kinds it writes (each of them has `check()` == this check).
    pub kinds: &'static [AlertKind],
    /// The app table its rows go to.
    pub table: AppTable,
    /// How upstream deduplicates its rows.
    pub dedup: DedupRule,
}

#[cfg(test)]
mod tests;
