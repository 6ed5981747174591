//! Task deadlines (docs/rules.md §3.3): open tasks past their due date,
//! alerted every day to the assignee (if they may see the project) and to
//! the project's principal.

use chrono::NaiveDate;

use super::team::{MemberRow, Teams};
use super::{
    Alert, AlertKind, AppDedup, AppTable, DedupRule, Draft, Person, ProjectFacts, SkipReason, Spec, dashed, day_period,
    fit_title, fr_date, jours_text, sorted,
};
use crate::pyfmt::{Json, dumps};

/// What the registry knows of this check.
pub const SPEC: Spec = Spec {
    slug: "task_deadlines",
    command: "check-task-deadlines",
    about: "Open tasks past their due date",
    heading: "Tâches en retard",
    kinds: &[AlertKind::TachesEnRetard],
    table: AppTable::AlerteProjet,
    dedup: DedupRule::SameDayWith("tache_id"),
};

/// The task statuses that can be late; `TERMINEE`, `ECHEC` and anything else are not.
pub const OPEN: [&str; 3] = ["A_FAIRE", "EN_COURS", "BLOQUEE"];

/// A task with its assignee and its stage's project, as the SQL layer reads
/// it (no filter on the stage's or project's status, §3.3).
#[derive(Debug, Clone)]
pub struct TaskRow {
    /// `core_tacheetape.id`.
    pub id: String,
    /// `nom`.
    pub nom: String,
    /// `statut` (`A_FAIRE`, `EN_COURS`, `TERMINEE`, `BLOQUEE`, `ECHEC`).
    pub statut: String,
    /// `date_fin` (a dateless task never alerts).
    pub date_fin: Option<NaiveDate>,
    /// `responsable_id`'s user, if any.
    pub assignee: Option<Person>,
    /// The project of the task's stage.
    pub project: ProjectFacts,
}

/// Every overdue-task alert owed for `tasks` on `today` (§3.3), before
/// deduplication: one per (overdue task, assignee ∪ principal), repeated
/// daily (period = `today`). `members` are the active assignments of the
/// tasks' projects; they give the principal and `a_acces_projet`. An assignee
/// without access is returned with `blocked: Some(SkipReason::NoAccess)`.
pub fn evaluate(tasks: &[TaskRow], members: &[MemberRow], today: NaiveDate) -> Vec<Alert> {
    let teams = Teams::new(members);
    let mut out = Vec::new();
    for t in tasks {
        // The SQL selects only these; kept here so the rule lives in one place.
        if !OPEN.contains(&t.statut.as_str()) {
            continue;
        }
        let Some(due) = t.date_fin else {
            continue;
        };
        // Newest upstream version: overdue only (due in 2, 1 or 0 days: nothing).
        let n = (today - due).num_days();
        if n <= 0 {
            continue;
        }
        let team = teams.of(&t.project.id);
        let principal = team.principal();

        let nom = &t.nom;
        let projet = &t.project.nom;
        let late = format!("est en retard de {} (date limite : {})", jours_text(n), fr_date(due));
        let contexte = dumps(&[
            ("jours_retard", Json::Int(n)),
            ("tache_id", Json::Str(dashed(&t.id))),
            ("tache_nom", Json::Str(nom.clone())),
            ("date_fin", Json::Str(due.format("%Y-%m-%d").to_string())),
            ("type_alerte", Json::Str("TACHE_RETARD".into())),
        ]);
        let titre = fit_title("🔴 Tâche en retard - ", nom, "");
        let mut draft = Draft::new(AlertKind::TachesEnRetard, &t.id, day_period(today), &t.project, titre, contexte);
        draft.dedup = AppDedup::SameDayTask(dashed(&t.id));
        let alert =
            |who: &Person, message: String, blocked: Option<SkipReason>| Alert { blocked, ..draft.to(who, message) };

        if let Some(a) = &t.assignee {
            let has_access = a.is_superuser || team.has(a);
            let blocked = (!has_access).then_some(SkipReason::NoAccess);
            out.push(alert(
                a,
                format!("La tâche '{nom}' du projet '{projet}' {late}. Une action urgente est requise."),
                blocked,
            ));
        }
        if let Some(p) = principal.filter(|p| t.assignee.as_ref().is_none_or(|a| a.id != p.id)) {
            // The assignee is named even when they were skipped for lack of access.
            let assignee = t.assignee.as_ref().map_or_else(|| "Non assignée".to_string(), Person::full_name);
            out.push(alert(p, format!("La tâche '{nom}' du projet '{projet}' (assignée à {assignee}) {late}."), None));
        }
    }
    sorted(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Check;
    use crate::checks::testkit::{TODAY, assert_fitted, d, long_name, to, user};

    const TASK_ID: &str = "bbbbbbbb00004000800000000000c003";
    const PROJECT_ID: &str = "aaaaaaaa000040008000000000000b02";

    fn task(due: &str) -> TaskRow {
        TaskRow {
            id: TASK_ID.into(),
            nom: "Maquettes".into(),
            statut: "EN_COURS".into(),
            date_fin: Some(d(due)),
            assignee: Some(user("r")),
            project: ProjectFacts {
                id: PROJECT_ID.into(),
                nom: "Portail RH".into(),
                client: "ACME".into(),
                statut: "EN_COURS".into(),
            },
        }
    }

    fn member(t: &TaskRow, aid: &str, who: Person, principal: bool) -> MemberRow {
        MemberRow { project_id: t.project.id.clone(), assignment_id: aid.into(), principal, person: who }
    }

    /// The assignee `r` as a plain member and `p` as principal.
    fn team(t: &TaskRow) -> Vec<MemberRow> {
        vec![member(t, "a1", user("p"), true), member(t, "a2", user("r"), false)]
    }

    fn run(t: &TaskRow, members: &[MemberRow]) -> Vec<Alert> {
        evaluate(std::slice::from_ref(t), members, d(TODAY))
    }

    const TO_ASSIGNEE: &str = "La tâche 'Maquettes' du projet 'Portail RH' est en retard de 2 jours (date limite : 14/03/2026). Une action urgente est requise.";
    const TO_PRINCIPAL: &str = "La tâche 'Maquettes' du projet 'Portail RH' (assignée à Prenomr Nomr) est en retard de 2 jours (date limite : 14/03/2026).";

    #[test]
    fn task_overdue_alerts_assignee_and_principal() {
        let t = task("2026-03-14");
        let a = run(&t, &team(&t));
        assert_eq!(a.len(), 2);
        assert_eq!(to(&a, "r").titre, "🔴 Tâche en retard - Maquettes");
        assert_eq!(to(&a, "p").titre, "🔴 Tâche en retard - Maquettes");
        assert_eq!(to(&a, "r").message, TO_ASSIGNEE);
        assert_eq!(to(&a, "p").message, TO_PRINCIPAL);
        assert!(a.iter().all(|x| x.blocked.is_none()));
    }

    #[test]
    fn task_context_json_has_dashed_task_id() {
        let mut t = task("2026-03-14");
        t.nom = "Intégration \"SSO\"".into();
        let a = run(&t, &team(&t));
        let want = r#"{"jours_retard": 2, "tache_id": "bbbbbbbb-0000-4000-8000-00000000c003", "tache_nom": "Int\u00e9gration \"SSO\"", "date_fin": "2026-03-14", "type_alerte": "TACHE_RETARD"}"#;
        assert_eq!(to(&a, "r").contexte, want);
        assert_eq!(to(&a, "p").contexte, want);
    }

    #[test]
    fn task_row_identity_is_daily_and_deduped_by_task_id() {
        let t = task("2026-03-14");
        let a = run(&t, &team(&t));
        for x in &a {
            assert_eq!(x.check, Check::TaskDeadlines);
            assert_eq!(x.kind.as_str(), "TACHES_EN_RETARD");
            assert_eq!(x.niveau, "DANGER");
            assert_eq!(x.table, AppTable::AlerteProjet);
            assert_eq!(x.item_id, TASK_ID);
            assert_eq!(x.period, TODAY);
            assert_eq!(x.project, t.project);
            assert_eq!(x.stage, None);
            assert_eq!(x.dedup, AppDedup::SameDayTask("bbbbbbbb-0000-4000-8000-00000000c003".into()));
        }
        let next = evaluate(std::slice::from_ref(&t), &team(&t), d("2026-03-17"));
        assert!(next.iter().all(|x| x.period == "2026-03-17" && x.message.contains("en retard de 3 jours")));
    }

    #[test]
    fn task_one_day_late_says_1_jour() {
        let t = task("2026-03-15");
        let a = run(&t, &team(&t));
        assert_eq!(
            to(&a, "r").message,
            "La tâche 'Maquettes' du projet 'Portail RH' est en retard de 1 jour (date limite : 15/03/2026). Une action urgente est requise."
        );
    }

    #[test]
    fn task_due_in_0_1_or_2_days_gives_nothing() {
        for due in [TODAY, "2026-03-17", "2026-03-18", "2026-03-25"] {
            let t = task(due);
            assert!(run(&t, &team(&t)).is_empty(), "{due}");
        }
    }

    #[test]
    fn task_open_statuses_are_all_alerted() {
        for statut in ["A_FAIRE", "EN_COURS", "BLOQUEE"] {
            let mut t = task("2026-03-14");
            t.statut = statut.into();
            assert_eq!(run(&t, &team(&t)).len(), 2, "{statut}");
        }
    }

    #[test]
    fn task_terminee_echec_and_unknown_statuses_are_excluded() {
        for statut in ["TERMINEE", "ECHEC", "ANNULEE", ""] {
            let mut t = task("2026-03-14");
            t.statut = statut.into();
            assert!(run(&t, &team(&t)).is_empty(), "{statut}");
        }
    }

    #[test]
    fn task_without_due_date_gives_nothing() {
        let mut t = task("2026-03-14");
        t.date_fin = None;
        assert!(run(&t, &team(&t)).is_empty());
    }

    #[test]
    fn task_of_finished_project_is_still_alerted() {
        let mut t = task("2026-03-14");
        t.project.statut = "TERMINE".into();
        assert_eq!(run(&t, &team(&t)).len(), 2);
    }

    #[test]
    fn task_assignee_without_access_is_blocked_and_principal_still_alerted() {
        let t = task("2026-03-14");
        let a = run(&t, &[member(&t, "a1", user("p"), true)]);
        assert_eq!(a.len(), 2);
        assert_eq!(to(&a, "r").blocked, Some(SkipReason::NoAccess));
        assert_eq!(to(&a, "r").message, TO_ASSIGNEE);
        assert_eq!(to(&a, "p").blocked, None);
        assert_eq!(to(&a, "p").message, TO_PRINCIPAL);
    }

    #[test]
    fn task_assignee_of_another_project_has_no_access() {
        let t = task("2026-03-14");
        let elsewhere = MemberRow {
            project_id: format!("{:0>32}", "other"),
            assignment_id: "a9".into(),
            principal: false,
            person: user("r"),
        };
        let a = run(&t, &[member(&t, "a1", user("p"), true), elsewhere]);
        assert_eq!(to(&a, "r").blocked, Some(SkipReason::NoAccess));
    }

    #[test]
    fn task_superuser_assignee_has_access_without_assignment() {
        let mut t = task("2026-03-14");
        if let Some(a) = t.assignee.as_mut() {
            a.is_superuser = true;
        }
        let a = run(&t, &[member(&t, "a1", user("p"), true)]);
        assert_eq!(a.len(), 2);
        assert_eq!(to(&a, "r").blocked, None);
    }

    #[test]
    fn task_without_assignee_tells_principal_non_assignee() {
        let mut t = task("2026-03-14");
        t.assignee = None;
        let a = run(&t, &team(&t));
        assert_eq!(a.len(), 1);
        assert_eq!(
            to(&a, "p").message,
            "La tâche 'Maquettes' du projet 'Portail RH' (assignée à Non assignée) est en retard de 2 jours (date limite : 14/03/2026)."
        );
    }

    #[test]
    fn task_without_assignee_or_principal_gives_nothing() {
        let mut t = task("2026-03-14");
        t.assignee = None;
        assert!(run(&t, &[member(&t, "a2", user("r"), false)]).is_empty());
    }

    #[test]
    fn task_without_principal_alerts_assignee_only() {
        let t = task("2026-03-14");
        let a = run(&t, &[member(&t, "a2", user("r"), false)]);
        assert_eq!(a.len(), 1);
        assert_eq!(to(&a, "r").message, TO_ASSIGNEE);
    }

    #[test]
    fn task_principal_who_is_assignee_gets_one_row_first_form() {
        let t = task("2026-03-14");
        let a = run(&t, &[member(&t, "a1", user("r"), true)]);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].message, TO_ASSIGNEE);
        assert_eq!(a[0].blocked, None);
    }

    #[test]
    fn task_other_team_members_get_nothing() {
        let t = task("2026-03-14");
        let mut m = team(&t);
        m.push(member(&t, "a3", user("t"), false));
        let a = run(&t, &m);
        assert_eq!(a.len(), 2);
        assert!(a.iter().all(|x| x.recipient.id != format!("{:0>32}", "t")));
    }

    #[test]
    fn task_first_principal_by_assignment_id_wins() {
        let t = task("2026-03-14");
        let m = [member(&t, "b", user("x"), true), member(&t, "a", user("y"), true), member(&t, "c", user("r"), false)];
        let a = run(&t, &m);
        assert_eq!(a.len(), 2);
        assert_eq!(to(&a, "y").message, TO_PRINCIPAL);
    }

    #[test]
    fn task_assignee_with_empty_name_is_named_as_django_does() {
        let mut t = task("2026-03-14");
        if let Some(a) = t.assignee.as_mut() {
            a.first_name.clear();
            a.last_name.clear();
        }
        let a = run(&t, &team(&t));
        assert!(to(&a, "p").message.contains("(assignée à ) est en retard"));
    }

    #[test]
    fn task_long_name_title_is_cut_to_200_characters_r15() {
        let mut t = task("2026-03-14");
        t.nom = long_name(200);
        t.project.nom = long_name(200);
        let a = run(&t, &team(&t));
        assert_eq!(a.len(), 2);
        for x in &a {
            assert_fitted(&x.titre, "🔴 Tâche en retard - ", &t.nom, "");
            assert!(x.message.starts_with(&format!("La tâche '{}' du projet '{}' ", t.nom, t.project.nom)));
            assert!(x.contexte.contains(r#""tache_nom": "R\u00e9seau d'\u00e9quipements R"#), "{}", x.contexte);
            assert!(x.contexte.contains("Z\", \"date_fin\""), "JSON keeps the full name: {}", x.contexte);
        }
    }
}
