//! Stage delays (docs/rules.md §3.2): running stages past their planned end,
//! notified every day to the project's creator and principal.

use chrono::NaiveDate;

use super::team::{MemberRow, Teams, to_creator_and_principal};
use super::{
    Alert, AlertKind, AppTable, DedupRule, Draft, Person, ProjectFacts, Spec, StageFacts, dashed, day_period,
    fit_title, fr_date, jours_text, sorted,
};
use crate::pyfmt::{Json, dumps};

/// What the registry knows of this check.
pub const SPEC: Spec = Spec {
    slug: "stage_delays",
    command: "check-stage-delays",
    about: "Stages still running past their planned end",
    heading: "Étapes en retard",
    kinds: &[AlertKind::RetardEtape],
    table: AppTable::NotificationEtape,
    dedup: DedupRule::SameDay,
};

const PRINCIPAL_SUFFIX: &str = "En tant que responsable, une action urgente est requise pour rattraper le retard.";
const CREATOR_SUFFIX: &str =
    "En tant qu'administrateur, veuillez prendre les mesures nécessaires pour résoudre cette situation.";

/// A project stage with its project and the project's creator, as the SQL
/// layer reads it (no filter on the project's status, §3.2).
#[derive(Debug, Clone)]
pub struct StageRow {
    /// The stage: id, type code (`CONCEPTION`), `ordre`.
    pub stage: StageFacts,
    /// `statut` (`A_VENIR`, `EN_COURS`, `TERMINEE`).
    pub statut: String,
    /// `date_fin_prevue` (a dateless stage never alerts).
    pub date_fin_prevue: Option<NaiveDate>,
    /// Whether `date_fin_reelle` is set (a finished stage never alerts).
    pub date_fin_reelle_set: bool,
    /// The stage's project.
    pub project: ProjectFacts,
    /// The project's creator (`createur_id`).
    pub creator: Person,
}

/// Every stage-delay notification owed for `stages` on `today` (§3.2),
/// before deduplication: one per (late stage, creator ∪ principal), repeated
/// daily (period = `today`). `members` are the active assignments of the
/// stages' projects.
pub fn evaluate(stages: &[StageRow], members: &[MemberRow], today: NaiveDate) -> Vec<Alert> {
    let teams = Teams::new(members);
    let mut out = Vec::new();
    for s in stages {
        // The SQL selects only these; kept here so the rule lives in one place.
        if s.statut != "EN_COURS" || s.date_fin_reelle_set {
            continue;
        }
        let Some(due) = s.date_fin_prevue else {
            continue;
        };
        let n = (today - due).num_days();
        if n <= 0 {
            // Due today or later: not late yet.
            continue;
        }
        let principal = teams.of(&s.project.id).principal();

        let code = &s.stage.code;
        let nom = &s.project.nom;
        let base = format!(
            "L'étape '{code}' du projet '{nom}' est en retard de {} (date de fin prévue : {}). ",
            jours_text(n),
            fr_date(due)
        );
        let contexte = dumps(&[
            ("jours_retard", Json::Int(n)),
            ("date_fin_prevue", Json::Str(due.format("%Y-%m-%d").to_string())),
            ("type_alerte", Json::Str("RETARD_ETAPE".into())),
            ("projet_id", Json::Str(dashed(&s.project.id))),
            ("projet_nom", Json::Str(nom.clone())),
            ("etape_nom", Json::Str(code.clone())),
        ]);

        // The code is a varchar(50): this title always fits, shortened like
        // the others if the app ever allows longer codes (R15).
        let titre = fit_title("🔴 Étape ", code, " - EN RETARD");

        let mut draft = Draft::new(AlertKind::RetardEtape, &s.stage.id, day_period(today), &s.project, titre, contexte);
        draft.stage = Some(s.stage.clone());
        let suffixes = (PRINCIPAL_SUFFIX, CREATOR_SUFFIX);
        out.extend(to_creator_and_principal(&draft, &s.creator, principal, &base, suffixes));
    }
    sorted(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::{
        NEXT_DAY, TODAY, assert_alerts, assert_fitted, assert_next_day, d, long_name, to, user,
    };
    use crate::checks::{AppDedup, Check};

    const PROJECT_ID: &str = "aaaaaaaa000040008000000000000b02";

    fn stage(id: &str, due: &str) -> StageRow {
        StageRow {
            stage: StageFacts { id: format!("{id:0>32}"), code: "CONCEPTION".into(), ordre: 2 },
            statut: "EN_COURS".into(),
            date_fin_prevue: Some(d(due)),
            date_fin_reelle_set: false,
            project: ProjectFacts {
                id: PROJECT_ID.into(),
                nom: "Portail RH".into(),
                client: "ACME".into(),
                statut: "EN_COURS".into(),
            },
            creator: user("c"),
        }
    }

    fn principal_of(s: &StageRow, aid: &str, who: Person) -> MemberRow {
        MemberRow { project_id: s.project.id.clone(), assignment_id: aid.into(), principal: true, person: who }
    }

    fn run(s: &StageRow, members: &[MemberRow]) -> Vec<Alert> {
        evaluate(std::slice::from_ref(s), members, d(TODAY))
    }

    #[test]
    fn stage_late_alerts_creator_and_principal_with_role_suffixes() {
        let s = stage("e1", "2026-03-13");
        let a = run(&s, &[principal_of(&s, "a1", user("p"))]);
        assert_alerts(
            &a,
            "🔴 Étape CONCEPTION - EN RETARD",
            &[
                (
                    "p",
                    "L'étape 'CONCEPTION' du projet 'Portail RH' est en retard de 3 jours (date de fin prévue : 13/03/2026). En tant que responsable, une action urgente est requise pour rattraper le retard.",
                ),
                (
                    "c",
                    "L'étape 'CONCEPTION' du projet 'Portail RH' est en retard de 3 jours (date de fin prévue : 13/03/2026). En tant qu'administrateur, veuillez prendre les mesures nécessaires pour résoudre cette situation.",
                ),
            ],
        );
    }

    #[test]
    fn stage_context_json_has_dashed_project_id_and_type_code() {
        let mut s = stage("e1", "2026-03-13");
        s.project.nom = "Référentiel".into();
        let a = run(&s, &[]);
        assert_eq!(
            a[0].contexte,
            r#"{"jours_retard": 3, "date_fin_prevue": "2026-03-13", "type_alerte": "RETARD_ETAPE", "projet_id": "aaaaaaaa-0000-4000-8000-000000000b02", "projet_nom": "R\u00e9f\u00e9rentiel", "etape_nom": "CONCEPTION"}"#
        );
    }

    #[test]
    fn stage_row_identity_is_daily_on_the_stage_table() {
        let s = stage("e1", "2026-03-13");
        let a = run(&s, &[]);
        assert_eq!(a.len(), 1);
        let x = &a[0];
        assert_eq!(x.check, Check::StageDelays);
        assert_eq!(x.kind.as_str(), "RETARD_ETAPE");
        assert_eq!(x.niveau, "");
        assert_eq!(x.table, AppTable::NotificationEtape);
        assert_eq!(x.item_id, s.stage.id);
        assert_eq!(x.stage, Some(s.stage.clone()));
        assert_eq!(x.project, s.project);
        assert_eq!(x.period, TODAY);
        assert_eq!(x.dedup, AppDedup::SameDay);
        assert_eq!(x.blocked, None);
        assert_next_day(&evaluate(std::slice::from_ref(&s), &[], d(NEXT_DAY)), "en retard de 4 jours");
    }

    #[test]
    fn stage_one_day_late_says_1_jour() {
        let s = stage("e1", "2026-03-15");
        let a = run(&s, &[]);
        assert_eq!(
            a[0].message,
            "L'étape 'CONCEPTION' du projet 'Portail RH' est en retard de 1 jour (date de fin prévue : 15/03/2026). En tant qu'administrateur, veuillez prendre les mesures nécessaires pour résoudre cette situation."
        );
        assert!(a[0].contexte.starts_with(r#"{"jours_retard": 1, "#));
    }

    #[test]
    fn stage_due_today_is_not_late() {
        assert!(run(&stage("e1", TODAY), &[]).is_empty());
    }

    #[test]
    fn stage_due_later_is_not_late() {
        assert!(run(&stage("e1", "2026-03-17"), &[]).is_empty());
    }

    #[test]
    fn stage_not_en_cours_gives_nothing() {
        for statut in ["A_VENIR", "TERMINEE"] {
            let mut s = stage("e1", "2026-03-01");
            s.statut = statut.into();
            assert!(run(&s, &[]).is_empty(), "{statut}");
        }
    }

    #[test]
    fn stage_with_real_end_date_gives_nothing() {
        let mut s = stage("e1", "2026-03-01");
        s.date_fin_reelle_set = true;
        assert!(run(&s, &[]).is_empty());
    }

    #[test]
    fn stage_without_planned_end_gives_nothing() {
        let mut s = stage("e1", "2026-03-01");
        s.date_fin_prevue = None;
        assert!(run(&s, &[]).is_empty());
    }

    #[test]
    fn stage_of_finished_project_is_still_alerted() {
        let mut s = stage("e1", "2026-03-13");
        s.project.statut = "TERMINE".into();
        assert_eq!(run(&s, &[]).len(), 1);
    }

    #[test]
    fn stage_creator_who_is_principal_gets_one_row_with_responsable_text() {
        let s = stage("e1", "2026-03-13");
        let a = run(&s, &[principal_of(&s, "a1", user("c"))]);
        assert_eq!(a.len(), 1);
        assert!(a[0].message.ends_with(PRINCIPAL_SUFFIX));
    }

    #[test]
    fn stage_team_members_and_other_projects_principals_get_nothing() {
        let s = stage("e1", "2026-03-13");
        let team = MemberRow {
            project_id: s.project.id.clone(),
            assignment_id: "a2".into(),
            principal: false,
            person: user("t"),
        };
        let elsewhere = MemberRow {
            project_id: format!("{:0>32}", "other"),
            assignment_id: "a3".into(),
            principal: true,
            person: user("x"),
        };
        let a = run(&s, &[team, elsewhere]);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].recipient.id, s.creator.id);
    }

    #[test]
    fn stage_first_principal_by_assignment_id_wins() {
        let s = stage("e1", "2026-03-13");
        let a = run(&s, &[principal_of(&s, "b", user("x")), principal_of(&s, "a", user("y"))]);
        assert_eq!(a.len(), 2);
        assert!(to(&a, "y").message.ends_with(PRINCIPAL_SUFFIX));
    }

    #[test]
    fn stage_alerts_are_sorted_by_stage_then_recipient() {
        let s1 = stage("e2", "2026-03-13");
        let s2 = stage("e1", "2026-03-14");
        let m = [principal_of(&s1, "a1", user("a"))];
        let a = evaluate(&[s1, s2], &m, d(TODAY));
        let got: Vec<(&str, &str)> = a.iter().map(|x| (x.item_id.as_str(), x.recipient.id.as_str())).collect();
        let (e1, e2) = (format!("{:0>32}", "e1"), format!("{:0>32}", "e2"));
        let (ua, uc) = (format!("{:0>32}", "a"), format!("{:0>32}", "c"));
        assert_eq!(
            got,
            vec![
                (e1.as_str(), ua.as_str()),
                (e1.as_str(), uc.as_str()),
                (e2.as_str(), ua.as_str()),
                (e2.as_str(), uc.as_str())
            ]
        );
    }

    #[test]
    fn stage_long_names_r15() {
        // The longest code the app allows (varchar(50)) fits whole.
        let mut s = stage("1", "2026-03-14");
        s.stage.code = "C".repeat(50);
        s.project.nom = long_name(200);
        let a = run(&s, &[]);
        assert_eq!(a[0].titre, format!("🔴 Étape {} - EN RETARD", s.stage.code));
        assert!(a[0].message.contains(&format!("du projet '{}' est en retard", s.project.nom)));
        // A longer one would be cut like the other titles.
        s.stage.code = long_name(200);
        let a = run(&s, &[]);
        assert_fitted(&a[0].titre, "🔴 Étape ", &s.stage.code, " - EN RETARD");
        assert!(a[0].message.starts_with(&format!("L'étape '{}' du projet", s.stage.code)));
    }
}
