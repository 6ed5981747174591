//! Maintenance contracts (docs/rules.md §3.5, ruling R10): one warning when
//! a running contract has 30 days or less left, one alert once it has
//! expired, each once ever per (contract, recipient), to every superuser and
//! the project's principal.

use chrono::NaiveDate;

use super::team::{MemberRow, Teams, recipient_set};
use super::{
    Alert, AlertKind, AppDedup, AppTable, DedupRule, Draft, Person, ProjectFacts, Spec, dashed, fr_date, jours_text,
    sorted,
};
use crate::pyfmt::{Json, dumps};

/// What the registry knows of this check.
pub const SPEC: Spec = Spec {
    slug: "contract_expiration",
    command: "check-contract-expiration",
    about: "Maintenance contracts expiring within 30 days or expired",
    heading: "Contrats de maintenance",
    kinds: &[AlertKind::ContratExpiration, AlertKind::ContratExpire],
    table: AppTable::AlerteProjet,
    dedup: DedupRule::EverWith("contrat_id"),
};

/// The warning window: a running contract is warned when this many days or
/// fewer are left (upstream: exactly this many; ruling R10 catches up).
pub const WARNING_DAYS: i64 = 30;

/// A maintenance contract with its project, as the SQL layer reads it (no
/// filter on the project's status, §3.5).
#[derive(Debug, Clone)]
pub struct ContractRow {
    /// `core_contratgarantie.id`.
    pub id: String,
    /// `type_garantie` (`CORRECTIVE`, `EVOLUTIVE`).
    pub type_garantie: String,
    /// `date_debut`.
    pub date_debut: NaiveDate,
    /// `date_fin`.
    pub date_fin: NaiveDate,
    /// The contract's project.
    pub project: ProjectFacts,
}

/// Django's `get_type_garantie_display()`: the choice label, or the stored
/// code when it is not one of the choices.
fn type_display(code: &str) -> &str {
    match code {
        "CORRECTIVE" => "Maintenance Corrective",
        "EVOLUTIVE" => "Maintenance Évolutive",
        other => other,
    }
}

/// Every contract alert owed for `contracts` on `today` (§3.5 with R10),
/// before deduplication: a `CONTRAT_EXPIRATION` warning for a started
/// contract with `0 <= days left <= 30`, a `CONTRAT_EXPIRE` alert for an
/// expired one, each to every user in `superusers` (all of them: R8 filters
/// later) and to the project's principal from `members`. Both are once ever
/// (period `-`).
pub fn evaluate(
    contracts: &[ContractRow],
    superusers: &[Person],
    members: &[MemberRow],
    today: NaiveDate,
) -> Vec<Alert> {
    let teams = Teams::new(members);
    let mut out = Vec::new();
    for c in contracts {
        let display = type_display(&c.type_garantie);
        let nom = &c.project.nom;
        let date_fr = fr_date(c.date_fin);
        let left = (c.date_fin - today).num_days();

        let (kind, titre, message, count) = if left < 0 {
            // Expired, whatever `date_debut`.
            let n = -left;
            (
                AlertKind::ContratExpire,
                "🔴 Contrat de maintenance expiré",
                format!(
                    "Le contrat de maintenance {display} du projet '{nom}' a expiré depuis {} (date d'expiration : {date_fr}). Action urgente requise : renouvellement ou clôture du contrat.",
                    jours_text(n)
                ),
                ("jours_retard", n),
            )
        } else if c.date_debut <= today && left <= WARNING_DAYS {
            // R10: any count in the window, so a missed day does not lose the
            // warning; the once-ever identity keeps it to one per recipient.
            (
                AlertKind::ContratExpiration,
                "⚠️ Contrat de maintenance proche de l'expiration",
                format!(
                    "Le contrat de maintenance {display} du projet '{nom}' expire dans {} (date d'expiration : {date_fr}). Veuillez prévoir le renouvellement ou la clôture du contrat.",
                    jours_text(left)
                ),
                ("jours_restants", left),
            )
        } else {
            continue;
        };
        let contrat_id = dashed(&c.id);
        let contexte = dumps(&[
            ("contrat_id", Json::Str(contrat_id.clone())),
            ("type_garantie", Json::Str(c.type_garantie.clone())),
            ("date_fin", Json::Str(c.date_fin.format("%Y-%m-%d").to_string())),
            (count.0, Json::Int(count.1)),
            ("type_alerte", Json::Str(kind.as_str().into())),
        ]);

        let mut draft = Draft::new(kind, &c.id, "-".to_string(), &c.project, titre.to_string(), contexte);
        draft.dedup = AppDedup::EverContract(contrat_id);
        // Recipients as a set keyed by user id (upstream: a Python set).
        let principal = teams.of(&c.project.id).principal();
        for who in recipient_set(superusers.iter().chain(principal)).into_values() {
            out.push(draft.to(who, message.clone()));
        }
    }
    sorted(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Check;
    use crate::checks::testkit::{TODAY, d, user};

    const CONTRACT_ID: &str = "cccccccc00004000800000000000d004";
    const DASHED: &str = "cccccccc-0000-4000-8000-00000000d004";

    fn contract(debut: &str, fin: &str) -> ContractRow {
        ContractRow {
            id: CONTRACT_ID.into(),
            type_garantie: "CORRECTIVE".into(),
            date_debut: d(debut),
            date_fin: d(fin),
            project: ProjectFacts {
                id: format!("{:0>32}", "1"),
                nom: "Portail RH".into(),
                client: "ACME".into(),
                statut: "TERMINE".into(),
            },
        }
    }

    fn admin(id: &str) -> Person {
        Person { is_superuser: true, ..user(id) }
    }

    fn principal_of(c: &ContractRow, who: Person) -> MemberRow {
        MemberRow { project_id: c.project.id.clone(), assignment_id: "a1".into(), principal: true, person: who }
    }

    /// The alerts for `c` with one superuser `s` and no principal.
    fn run(c: &ContractRow) -> Vec<Alert> {
        evaluate(std::slice::from_ref(c), &[admin("s")], &[], d(TODAY))
    }

    /// The single alert owed for `c` (to the superuser `s`).
    fn only(c: &ContractRow) -> Alert {
        let a = run(c);
        assert_eq!(a.len(), 1);
        a[0].clone()
    }

    #[test]
    fn contracts_have_upstream_texts_when_warned_caught_up_or_expired() {
        let warning = ("CONTRAT_EXPIRATION", "WARNING", "⚠️ Contrat de maintenance proche de l'expiration");
        let expired = ("CONTRAT_EXPIRE", "DANGER", "🔴 Contrat de maintenance expiré");
        let cases = [
            // 30 days left: upstream's own day.
            (
                ("2025-04-16", "2026-04-15"),
                warning,
                "Le contrat de maintenance Maintenance Corrective du projet 'Portail RH' expire dans 30 jours (date d'expiration : 15/04/2026). Veuillez prévoir le renouvellement ou la clôture du contrat.",
                r#"{"contrat_id": "cccccccc-0000-4000-8000-00000000d004", "type_garantie": "CORRECTIVE", "date_fin": "2026-04-15", "jours_restants": 30, "type_alerte": "CONTRAT_EXPIRATION"}"#,
            ),
            // R10: 12 days left, caught up.
            (
                ("2025-03-28", "2026-03-28"),
                warning,
                "Le contrat de maintenance Maintenance Corrective du projet 'Portail RH' expire dans 12 jours (date d'expiration : 28/03/2026). Veuillez prévoir le renouvellement ou la clôture du contrat.",
                r#"{"contrat_id": "cccccccc-0000-4000-8000-00000000d004", "type_garantie": "CORRECTIVE", "date_fin": "2026-03-28", "jours_restants": 12, "type_alerte": "CONTRAT_EXPIRATION"}"#,
            ),
            // Expired 10 days ago.
            (
                ("2025-03-01", "2026-03-06"),
                expired,
                "Le contrat de maintenance Maintenance Corrective du projet 'Portail RH' a expiré depuis 10 jours (date d'expiration : 06/03/2026). Action urgente requise : renouvellement ou clôture du contrat.",
                r#"{"contrat_id": "cccccccc-0000-4000-8000-00000000d004", "type_garantie": "CORRECTIVE", "date_fin": "2026-03-06", "jours_retard": 10, "type_alerte": "CONTRAT_EXPIRE"}"#,
            ),
        ];
        for ((debut, fin), (kind, niveau, titre), message, contexte) in cases {
            let a = only(&contract(debut, fin));
            assert_eq!((a.kind.as_str(), a.niveau, a.titre.as_str()), (kind, niveau, titre), "{fin}");
            assert_eq!(a.message, message);
            assert_eq!(a.contexte, contexte);
        }
    }

    #[test]
    fn contract_one_day_left_says_1_jour() {
        let a = only(&contract("2025-03-17", "2026-03-17"));
        assert!(a.message.contains(" expire dans 1 jour (date d'expiration : 17/03/2026). "));
        assert!(a.contexte.contains(r#""jours_restants": 1, "#));
    }

    #[test]
    fn contract_ending_today_is_warned_not_expired() {
        let a = only(&contract("2025-03-16", TODAY));
        assert_eq!(a.kind.as_str(), "CONTRAT_EXPIRATION");
        assert!(a.message.contains(" expire dans 0 jours (date d'expiration : 16/03/2026). "));
        assert!(a.contexte.contains(r#""jours_restants": 0, "#));
    }

    #[test]
    fn contract_31_days_left_gives_nothing() {
        assert!(run(&contract("2025-04-17", "2026-04-16")).is_empty());
    }

    #[test]
    fn contract_not_started_yet_gives_nothing() {
        assert!(run(&contract("2026-03-17", "2026-03-28")).is_empty());
    }

    #[test]
    fn contract_starting_today_is_warned() {
        assert_eq!(only(&contract(TODAY, "2026-03-28")).kind.as_str(), "CONTRAT_EXPIRATION");
    }

    #[test]
    fn contract_expired_one_day_says_1_jour() {
        let a = only(&contract("2025-03-01", "2026-03-15"));
        assert!(a.message.contains(" a expiré depuis 1 jour (date d'expiration : 15/03/2026). "));
    }

    #[test]
    fn contract_expired_whatever_date_debut() {
        // A start date after today (bad data) does not hide an expired contract.
        let a = only(&contract("2026-06-01", "2026-03-01"));
        assert_eq!(a.kind.as_str(), "CONTRAT_EXPIRE");
        assert!(a.contexte.contains(r#""jours_retard": 15, "#));
    }

    #[test]
    fn contract_evolutive_is_displayed_with_accent() {
        let mut c = contract("2025-04-16", "2026-04-15");
        c.type_garantie = "EVOLUTIVE".into();
        let a = only(&c);
        assert!(a.message.starts_with("Le contrat de maintenance Maintenance Évolutive du projet 'Portail RH' expire"));
        assert!(a.contexte.contains(r#""type_garantie": "EVOLUTIVE", "#));
    }

    #[test]
    fn contract_unknown_type_is_displayed_as_its_code() {
        let mut c = contract("2025-04-16", "2026-04-15");
        c.type_garantie = "PREVENTIVE".into();
        assert!(only(&c).message.starts_with("Le contrat de maintenance PREVENTIVE du projet"));
    }

    #[test]
    fn contract_goes_to_every_superuser_and_the_principal() {
        let c = contract("2025-04-16", "2026-04-15");
        let mut disabled = admin("s2");
        disabled.is_active = false;
        let team = [
            principal_of(&c, user("p")),
            MemberRow {
                project_id: c.project.id.clone(),
                assignment_id: "a2".into(),
                principal: false,
                person: user("t"),
            },
        ];
        let a = evaluate(std::slice::from_ref(&c), &[admin("s1"), disabled], &team, d(TODAY));
        let got: Vec<&str> = a.iter().map(|x| x.recipient.id.as_str()).collect();
        let want: Vec<String> = ["p", "s1", "s2"].iter().map(|id| format!("{id:0>32}")).collect();
        assert_eq!(got, want, "superusers (inactive too) and the principal; not other team members");
        assert!(a.iter().all(|x| x.message == a[0].message && x.contexte == a[0].contexte));
    }

    #[test]
    fn contract_superuser_who_is_principal_gets_one_row() {
        let c = contract("2025-03-01", "2026-03-06");
        let a = evaluate(std::slice::from_ref(&c), &[admin("p")], &[principal_of(&c, admin("p"))], d(TODAY));
        assert_eq!(a.len(), 1);
    }

    #[test]
    fn contract_without_superusers_or_principal_gives_nothing() {
        let c = contract("2025-03-01", "2026-03-06");
        assert!(evaluate(std::slice::from_ref(&c), &[], &[], d(TODAY)).is_empty());
    }

    #[test]
    fn contract_principal_alone_is_alerted() {
        let c = contract("2025-03-01", "2026-03-06");
        let a = evaluate(std::slice::from_ref(&c), &[], &[principal_of(&c, user("p"))], d(TODAY));
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].recipient.id, format!("{:0>32}", "p"));
    }

    #[test]
    fn contract_alerts_are_once_ever_per_contract() {
        for c in [contract("2025-04-16", "2026-04-15"), contract("2025-03-01", "2026-03-06")] {
            let a = only(&c);
            assert_eq!(a.check, Check::ContractExpiration);
            assert_eq!(a.table, AppTable::AlerteProjet);
            assert_eq!(a.item_id, CONTRACT_ID);
            assert_eq!(a.period, "-");
            assert_eq!(a.dedup, AppDedup::EverContract(DASHED.into()));
            assert_eq!(a.project, c.project);
            assert_eq!(a.stage, None);
            assert_eq!(a.blocked, None);
        }
    }

    #[test]
    fn contract_warning_and_expiry_have_distinct_identities() {
        let warn = only(&contract("2025-04-16", "2026-04-15"));
        let gone = evaluate(&[contract("2025-04-16", "2026-04-15")], &[admin("s")], &[], d("2026-04-20"));
        assert_eq!(gone.len(), 1);
        assert_ne!(warn.key(), gone[0].key());
        assert_eq!(warn.key().item_id, gone[0].key().item_id);
    }
}
