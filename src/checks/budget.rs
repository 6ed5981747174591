//! Budget overruns (docs/rules.md §3.4): `EN_COURS` projects whose spending
//! exceeds the planned budget, alerted every day to the creator and the
//! principal, with Python `Decimal` arithmetic and formatting.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::team::{MemberRow, Teams, to_creator_and_principal};
use super::{Alert, AlertKind, AppTable, DedupRule, Draft, Person, ProjectFacts, Spec, day_period, fit_title, sorted};
use crate::pyfmt::{Json, context_round, decimal_fixed, decimal_to_float, dumps};

/// What the registry knows of this check.
pub const SPEC: Spec = Spec {
    slug: "budget",
    command: "check-budget",
    about: "Projects whose spending exceeds their budget",
    heading: "Budgets dépassés",
    kinds: &[AlertKind::BudgetDepasse],
    table: AppTable::AlerteProjet,
    dedup: DedupRule::SameDay,
};

const PRINCIPAL_SUFFIX: &str = "En tant que responsable, veuillez prendre des mesures pour contrôler les dépenses.";
const CREATOR_SUFFIX: &str = "En tant qu'administrateur, une révision budgétaire est nécessaire.";

/// A project with its planned budget and its spending sums, as the SQL
/// layer reads it (one `GROUP BY` over `core_lignebudget`).
#[derive(Debug, Clone)]
pub struct BudgetRow {
    /// The project (`statut` must be `EN_COURS` to alert).
    pub project: ProjectFacts,
    /// `devise` (3 letters), written in the message and the JSON.
    pub devise: String,
    /// `budget_previsionnel`.
    pub budget: Decimal,
    /// Σ `montant` of the `MATERIEL` lines (0 when none).
    pub materiel: Decimal,
    /// Σ `montant` of the `SERVICE` lines (0 when none).
    pub service: Decimal,
    /// The project's creator (`createur_id`).
    pub creator: Person,
}

/// Every budget-overrun alert owed for `projects` on `today` (§3.4), before
/// deduplication: one per (overrun project, creator ∪ principal), repeated
/// daily (period = `today`). `members` are the active assignments of the
/// projects.
pub fn evaluate(projects: &[BudgetRow], members: &[MemberRow], today: NaiveDate) -> Vec<Alert> {
    let teams = Teams::new(members);
    let mut out = Vec::new();
    for p in projects {
        // The SQL selects only `EN_COURS`; kept here so the rule lives in one place.
        if p.project.statut != "EN_COURS" || p.budget <= Decimal::ZERO {
            continue;
        }
        // Sums of decimal(12,2) are exact, as in Python.
        let conso = p.materiel + p.service;
        if conso <= p.budget {
            continue;
        }
        let dep = conso - p.budget;
        // Python: `(depassement / budget) * 100`, each operation rounded to the
        // default context (28 significant digits, half-even). budget >= 0.01 and
        // dep is a sum of decimal(12,2), so neither operation can overflow.
        let pct = context_round(context_round(dep / p.budget) * Decimal::ONE_HUNDRED);

        let principal = teams.of(&p.project.id).principal();

        let nom = &p.project.nom;
        let devise = &p.devise;
        let base = format!(
            "Le budget du projet '{nom}' a été dépassé. Budget prévu : {} {devise}, Budget consommé : {} {devise}, Dépassement : {} {devise} (+{}%). ",
            decimal_fixed(p.budget, 2),
            decimal_fixed(conso, 2),
            decimal_fixed(dep, 2),
            decimal_fixed(pct, 1),
        );
        let contexte = dumps(&[
            ("budget_previsionnel", Json::Float(decimal_to_float(p.budget))),
            ("budget_consomme", Json::Float(decimal_to_float(conso))),
            ("depassement", Json::Float(decimal_to_float(dep))),
            ("pourcentage_depassement", Json::Float(decimal_to_float(pct))),
            ("devise", Json::Str(devise.clone())),
            ("type_alerte", Json::Str("BUDGET_DEPASSE".into())),
        ]);

        let titre = fit_title("🔴 Budget dépassé - ", nom, "");
        let draft = Draft::new(AlertKind::BudgetDepasse, &p.project.id, day_period(today), &p.project, titre, contexte);
        let suffixes = (PRINCIPAL_SUFFIX, CREATOR_SUFFIX);
        out.extend(to_creator_and_principal(&draft, &p.creator, principal, &base, suffixes));
    }
    sorted(out)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::checks::testkit::{TODAY, assert_alerts, assert_fitted, d, long_name, user};
    use crate::checks::{AppDedup, Check};

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    /// An `EN_COURS` project in EUR with `budget`, spending split as
    /// `materiel` + `service`.
    fn project(budget: &str, materiel: &str, service: &str) -> BudgetRow {
        BudgetRow {
            project: ProjectFacts {
                id: format!("{:0>32}", "1"),
                nom: "Portail RH".into(),
                client: "ACME".into(),
                statut: "EN_COURS".into(),
            },
            devise: "EUR".into(),
            budget: dec(budget),
            materiel: dec(materiel),
            service: dec(service),
            creator: user("c"),
        }
    }

    fn principal_of(p: &BudgetRow, who: Person) -> MemberRow {
        MemberRow { project_id: p.project.id.clone(), assignment_id: "a1".into(), principal: true, person: who }
    }

    fn run(p: &BudgetRow, members: &[MemberRow]) -> Vec<Alert> {
        evaluate(std::slice::from_ref(p), members, d(TODAY))
    }

    /// The single alert owed for `p` with no principal (to the creator).
    fn only(p: &BudgetRow) -> Alert {
        let a = run(p, &[]);
        assert_eq!(a.len(), 1);
        a[0].clone()
    }

    #[test]
    fn budget_overrun_alerts_creator_and_principal_with_role_suffixes() {
        let p = project("10000.00", "7000.00", "5000.00");
        let a = run(&p, &[principal_of(&p, user("p"))]);
        assert_alerts(
            &a,
            "🔴 Budget dépassé - Portail RH",
            &[
                (
                    "p",
                    "Le budget du projet 'Portail RH' a été dépassé. Budget prévu : 10000.00 EUR, Budget consommé : 12000.00 EUR, Dépassement : 2000.00 EUR (+20.0%). En tant que responsable, veuillez prendre des mesures pour contrôler les dépenses.",
                ),
                (
                    "c",
                    "Le budget du projet 'Portail RH' a été dépassé. Budget prévu : 10000.00 EUR, Budget consommé : 12000.00 EUR, Dépassement : 2000.00 EUR (+20.0%). En tant qu'administrateur, une révision budgétaire est nécessaire.",
                ),
            ],
        );
    }

    #[test]
    fn budget_row_identity_is_daily_per_project() {
        let p = project("10000.00", "7000.00", "5000.00");
        let a = only(&p);
        assert_eq!(a.check, Check::Budget);
        assert_eq!(a.kind.as_str(), "BUDGET_DEPASSE");
        assert_eq!(a.niveau, "DANGER");
        assert_eq!(a.table, AppTable::AlerteProjet);
        assert_eq!(a.item_id, p.project.id);
        assert_eq!(a.project, p.project);
        assert_eq!(a.stage, None);
        assert_eq!(a.period, TODAY);
        assert_eq!(a.dedup, AppDedup::SameDay);
        assert_eq!(a.blocked, None);
    }

    #[test]
    fn budget_third_percent_has_28_digit_precision_and_float_repr() {
        // 5000 / 15000 * 100 = 33.33333333333333333333333333 (Decimal) → 33.333333333333336 (float).
        let a = only(&project("15000.00", "20000.00", "0"));
        assert_eq!(
            a.message,
            "Le budget du projet 'Portail RH' a été dépassé. Budget prévu : 15000.00 EUR, Budget consommé : 20000.00 EUR, Dépassement : 5000.00 EUR (+33.3%). En tant qu'administrateur, une révision budgétaire est nécessaire."
        );
        assert_eq!(
            a.contexte,
            r#"{"budget_previsionnel": 15000.0, "budget_consomme": 20000.0, "depassement": 5000.0, "pourcentage_depassement": 33.333333333333336, "devise": "EUR", "type_alerte": "BUDGET_DEPASSE"}"#
        );
    }

    #[test]
    fn budget_two_thirds_percent_rounds_last_digit_up() {
        // 200 / 300 * 100 = 66.66666666666666666666666667 → 66.7%, 66.66666666666667.
        let a = only(&project("300.00", "250.00", "250.00"));
        assert!(a.message.contains("Dépassement : 200.00 EUR (+66.7%). "));
        assert!(a.contexte.contains(r#""pourcentage_depassement": 66.66666666666667, "#));
    }

    #[test]
    fn budget_percent_matches_python_decimal_then_float() {
        // (budget, consumption, message percent, JSON percent) as Python prints them.
        for (budget, conso, text, json) in [
            ("300.00", "800.00", "(+166.7%). ", r#""pourcentage_depassement": 166.66666666666666, "#),
            ("7.00", "100.00", "(+1328.6%). ", r#""pourcentage_depassement": 1328.5714285714287, "#),
            ("3.00", "3.01", "(+0.3%). ", r#""pourcentage_depassement": 0.3333333333333333, "#),
            ("100.00", "150.00", "(+50.0%). ", r#""pourcentage_depassement": 50.0, "#),
        ] {
            let a = only(&project(budget, conso, "0"));
            assert!(a.message.contains(text), "{budget} {conso}: {}", a.message);
            assert!(a.contexte.contains(json), "{budget} {conso}: {}", a.contexte);
        }
    }

    #[test]
    fn budget_quarter_percent_rounds_half_even() {
        // Observed upstream: 25 / 10000 * 100 = 0.25 prints "+0.2%".
        let a = only(&project("10000.00", "10000.00", "25.00"));
        assert_eq!(
            a.message,
            "Le budget du projet 'Portail RH' a été dépassé. Budget prévu : 10000.00 EUR, Budget consommé : 10025.00 EUR, Dépassement : 25.00 EUR (+0.2%). En tant qu'administrateur, une révision budgétaire est nécessaire."
        );
        assert!(a.contexte.contains(r#""pourcentage_depassement": 0.25, "#));
    }

    #[test]
    fn budget_three_quarter_percent_rounds_half_even_up() {
        // 0.35 → "+0.4%" (the even neighbour is above).
        let a = only(&project("10000.00", "10035.00", "0"));
        assert!(a.message.contains("(+0.4%). "));
    }

    #[test]
    fn budget_context_json_floats_are_python_repr() {
        // Python: 1001 / 20000 * 100 = 5.005 → "+5.0%" and 5.005 in the JSON;
        // 0.01 / 9999999999.99 * 100 = 1.000000000001000000000001000E-10;
        // 0.01 / 10000.00 * 100 = 0.000100 → "+0.0%", 0.0001.
        let cases = [
            (
                ("10000.00", "7000.00", "5000.00"),
                "Dépassement : 2000.00 EUR (+20.0%). ",
                r#"{"budget_previsionnel": 10000.0, "budget_consomme": 12000.0, "depassement": 2000.0, "pourcentage_depassement": 20.0, "devise": "EUR", "type_alerte": "BUDGET_DEPASSE"}"#,
            ),
            (
                ("20000.00", "21001.00", "0.00"),
                "Dépassement : 1001.00 EUR (+5.0%). ",
                r#"{"budget_previsionnel": 20000.0, "budget_consomme": 21001.0, "depassement": 1001.0, "pourcentage_depassement": 5.005, "devise": "EUR", "type_alerte": "BUDGET_DEPASSE"}"#,
            ),
            (
                ("9999999999.99", "5000000000.00", "5000000000.00"),
                "Budget consommé : 10000000000.00 EUR, Dépassement : 0.01 EUR (+0.0%). ",
                r#"{"budget_previsionnel": 9999999999.99, "budget_consomme": 10000000000.0, "depassement": 0.01, "pourcentage_depassement": 1.000000000001e-10, "devise": "EUR", "type_alerte": "BUDGET_DEPASSE"}"#,
            ),
            (
                ("10000.00", "10000.01", "0"),
                "Dépassement : 0.01 EUR (+0.0%). ",
                r#"{"budget_previsionnel": 10000.0, "budget_consomme": 10000.01, "depassement": 0.01, "pourcentage_depassement": 0.0001, "devise": "EUR", "type_alerte": "BUDGET_DEPASSE"}"#,
            ),
        ];
        for ((budget, materiel, service), text, contexte) in cases {
            let a = only(&project(budget, materiel, service));
            assert!(a.message.contains(text), "{}", a.message);
            assert_eq!(a.contexte, contexte);
        }
    }

    #[test]
    fn budget_context_rounding_keeps_values_under_28_digits_unchanged() {
        for s in ["0.0025", "0.00001", "1.000000000001E-12", "33.330", "0.3333333333333333333333333333"] {
            let v = dec(s);
            let r = context_round(v);
            assert_eq!((r.mantissa(), r.scale()), (v.mantissa(), v.scale()), "{s}");
        }
        // 29 significant digits (as rust_decimal may divide) round half-even to 28.
        let r = context_round(dec("1.6666666666666666666666666665"));
        assert_eq!(r.to_string(), "1.666666666666666666666666666");
        let r = context_round(dec("1.6666666666666666666666666675"));
        assert_eq!(r.to_string(), "1.666666666666666666666666668");
    }

    #[test]
    fn budget_amounts_print_two_decimals_without_separator() {
        let a = only(&project("1234567.5", "1000000", "300000.25"));
        assert!(a.message.contains(
            "Budget prévu : 1234567.50 EUR, Budget consommé : 1300000.25 EUR, Dépassement : 65432.75 EUR (+5.3%). "
        ));
        // Python: 5.300054472517703568253659682 → 5.3000544725177035.
        assert_eq!(
            a.contexte,
            r#"{"budget_previsionnel": 1234567.5, "budget_consomme": 1300000.25, "depassement": 65432.75, "pourcentage_depassement": 5.3000544725177035, "devise": "EUR", "type_alerte": "BUDGET_DEPASSE"}"#
        );
    }

    #[test]
    fn budget_currency_comes_from_the_project() {
        let mut p = project("100.00", "150.00", "0");
        p.devise = "XAF".into();
        let a = only(&p);
        assert!(
            a.message.contains(
                "Budget prévu : 100.00 XAF, Budget consommé : 150.00 XAF, Dépassement : 50.00 XAF (+50.0%). "
            )
        );
        assert!(a.contexte.contains(r#""devise": "XAF", "#));
    }

    #[test]
    fn budget_consumption_is_materiel_plus_service() {
        // Neither sum alone exceeds the budget.
        let a = only(&project("1000.00", "600.00", "400.01"));
        assert!(a.message.contains("Budget consommé : 1000.01 EUR, Dépassement : 0.01 EUR (+0.0%). "));
        assert!(a.contexte.contains(r#""depassement": 0.01, "pourcentage_depassement": 0.001, "#));
    }

    #[test]
    fn budget_exactly_at_budget_gives_nothing() {
        assert!(run(&project("10000.00", "6000.00", "4000.00"), &[]).is_empty());
    }

    #[test]
    fn budget_under_budget_gives_nothing() {
        assert!(run(&project("10000.00", "6000.00", "0"), &[]).is_empty());
    }

    #[test]
    fn budget_zero_or_negative_is_skipped() {
        for budget in ["0.00", "-100.00"] {
            assert!(run(&project(budget, "50.00", "50.00"), &[]).is_empty(), "{budget}");
        }
    }

    #[test]
    fn budget_non_en_cours_project_is_skipped() {
        for statut in ["IDEE", "AFFECTE", "PLANIFIE", "SUSPENDU", "TERMINE", "ARCHIVE"] {
            let mut p = project("100.00", "150.00", "0");
            p.project.statut = statut.into();
            assert!(run(&p, &[]).is_empty(), "{statut}");
        }
    }

    #[test]
    fn budget_creator_who_is_principal_gets_one_row_with_responsable_text() {
        let p = project("100.00", "150.00", "0");
        let a = run(&p, &[principal_of(&p, user("c"))]);
        assert_eq!(a.len(), 1);
        assert!(a[0].message.ends_with(PRINCIPAL_SUFFIX));
    }

    #[test]
    fn budget_team_members_get_nothing() {
        let p = project("100.00", "150.00", "0");
        let t = MemberRow {
            project_id: p.project.id.clone(),
            assignment_id: "a2".into(),
            principal: false,
            person: user("t"),
        };
        let a = run(&p, &[principal_of(&p, user("p")), t]);
        assert_eq!(a.len(), 2);
        assert!(a.iter().all(|x| x.recipient.id != format!("{:0>32}", "t")));
    }

    #[test]
    fn budget_long_name_title_is_cut_to_200_characters_r15() {
        let mut p = project("10000.00", "7000.00", "5000.00");
        p.project.nom = long_name(200);
        let a = run(&p, &[principal_of(&p, user("p"))]);
        assert_eq!(a.len(), 2);
        for x in &a {
            assert_fitted(&x.titre, "🔴 Budget dépassé - ", &p.project.nom, "");
            assert!(x.message.starts_with(&format!("Le budget du projet '{}' a été dépassé.", p.project.nom)));
        }
    }
}
