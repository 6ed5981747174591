//! Project deadlines (docs/rules.md §3.1): J-7, J-3, J-1 and overdue
//! `EN_COURS` projects, to the creator, the principal and (J-7) the team.

use chrono::NaiveDate;

use super::team::{MemberRow, Role, Teams, with_roles};
use super::{
    Alert, AlertKind, AppTable, DedupRule, Draft, Person, ProjectFacts, Spec, day_period, fit_title, fr_date,
    jours_text, sorted,
};
use crate::pyfmt::{Json, dumps};

/// An `EN_COURS` project with a due date, and its creator.
#[derive(Debug, Clone)]
pub struct ProjectRow {
    /// The project.
    pub project: ProjectFacts,
    /// `date_fin` (a dateless project never alerts).
    pub date_fin: Option<NaiveDate>,
    /// `createur_id`'s user.
    pub creator: Person,
}

/// What the registry knows of this check.
pub const SPEC: Spec = Spec {
    slug: "project_deadlines",
    command: "check-project-deadlines",
    about: "Project deadlines: J-7, J-3, J-1 and overdue projects",
    heading: "Échéances des projets",
    kinds: &[AlertKind::EcheanceDepassee, AlertKind::EcheanceJ7, AlertKind::EcheanceJ3, AlertKind::EcheanceJ1],
    table: AppTable::AlerteProjet,
    dedup: DedupRule::SameDay,
};

struct Threshold {
    kind: AlertKind,
    /// `titre` is `{prefix}{nom}{suffix}`.
    titre: (&'static str, &'static str),
    label: &'static str,
    principal: &'static str,
    creator: &'static str,
}

const J7: Threshold = Threshold {
    kind: AlertKind::EcheanceJ7,
    titre: ("⚠️ Projet ", " - Fin dans 7 jours"),
    label: "J-7",
    principal: "En tant que responsable, assurez-vous que toutes les tâches seront terminées à temps.",
    creator: "En tant qu'administrateur, surveillez l'avancement du projet.",
};
const J3: Threshold = Threshold {
    kind: AlertKind::EcheanceJ3,
    titre: ("🟠 Projet ", " - Fin dans 3 jours"),
    label: "J-3",
    principal: "En tant que responsable, assurez-vous que toutes les tâches critiques seront terminées à temps.",
    creator: "En tant qu'administrateur, surveillez de près l'avancement du projet.",
};
const J1: Threshold = Threshold {
    kind: AlertKind::EcheanceJ1,
    titre: ("🔴 Projet ", " - Fin DEMAIN"),
    label: "J-1",
    principal: "En tant que responsable, action urgente requise pour finaliser toutes les tâches restantes.",
    creator: "En tant qu'administrateur, intervention urgente nécessaire pour assurer la livraison.",
};
const TEAM_J7: &str = "Assurez-vous de terminer vos tâches assignées avant la date limite.";
const OVERDUE_PRINCIPAL: &str = "En tant que responsable, une action urgente est requise pour rattraper le retard.";
const OVERDUE_CREATOR: &str =
    "En tant qu'administrateur, veuillez prendre les mesures nécessaires pour résoudre cette situation.";

/// The dates on which a project due on `date_fin` can alert, relative to
/// `today`: the SQL selection binds these (overdue is `date_fin < today`).
pub fn threshold_dates(today: NaiveDate) -> [NaiveDate; 3] {
    [today + chrono::Days::new(7), today + chrono::Days::new(3), today + chrono::Days::new(1)]
}

/// Every alert owed for `projects` on `today` (§3.1), before deduplication.
pub fn evaluate(projects: &[ProjectRow], members: &[MemberRow], today: NaiveDate) -> Vec<Alert> {
    let teams = Teams::new(members);
    let mut out = Vec::new();
    for p in projects {
        // The SQL selects only these; kept here so the rule lives in one place.
        let Some(date_fin) = p.date_fin.filter(|_| p.project.statut == "EN_COURS") else {
            continue;
        };
        let team = teams.of(&p.project.id);
        let principal = team.principal();
        let days = (date_fin - today).num_days();
        let nom = &p.project.nom;
        let date_fr = fr_date(date_fin);
        let date_iso = date_fin.format("%Y-%m-%d").to_string();

        let (draft, base, suffix, others): (_, _, Box<dyn Fn(Role) -> &'static str>, _) = if days < 0 {
            let n = -days;
            let contexte = dumps(&[
                ("jours_retard", Json::Int(n)),
                ("date_fin", Json::Str(date_iso.clone())),
                ("type_alerte", Json::Str("RETARD".into())),
            ]);
            let titre = fit_title("🔴 Projet ", nom, " - EN RETARD");
            (
                Draft::new(AlertKind::EcheanceDepassee, &p.project.id, day_period(today), &p.project, titre, contexte),
                format!("Le projet '{nom}' est en retard de {} (date de fin prévue : {date_fr}). ", jours_text(n)),
                Box::new(|r| if r == Role::Principal { OVERDUE_PRINCIPAL } else { OVERDUE_CREATOR }),
                &[][..],
            )
        } else {
            let t = match days {
                7 => &J7,
                3 => &J3,
                1 => &J1,
                _ => continue,
            };
            let base = if days == 1 {
                format!("Le projet '{nom}' se termine DEMAIN ({date_fr})! ")
            } else {
                format!("Le projet '{nom}' se termine dans {days} jours ({date_fr}). ")
            };
            let contexte = dumps(&[
                ("jours_restants", Json::Int(days)),
                ("date_fin", Json::Str(date_iso.clone())),
                ("type_alerte", Json::Str(t.label.into())),
            ]);
            let titre = fit_title(t.titre.0, nom, t.titre.1);
            (
                Draft::new(t.kind, &p.project.id, date_iso.clone(), &p.project, titre, contexte),
                base,
                Box::new(move |r| match r {
                    Role::Principal => t.principal,
                    Role::Creator => t.creator,
                    Role::Team => TEAM_J7,
                }),
                // J-7 goes to the whole team too.
                if days == 7 { &team.members[..] } else { &[][..] },
            )
        };
        let others = others.iter().map(|m| &m.person);
        for (who, role) in with_roles(&p.creator, principal, others) {
            out.push(draft.to(who, format!("{base}{}", suffix(role))));
        }
    }
    sorted(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::{
        NEXT_DAY, TODAY, assert_alerts, assert_fitted, assert_messages, assert_next_day, d, long_name, to, user,
    };

    fn project(id: &str, due: &str) -> ProjectRow {
        ProjectRow {
            project: ProjectFacts {
                id: format!("{id:0>32}"),
                nom: "Portail RH".into(),
                client: "ACME".into(),
                statut: "EN_COURS".into(),
            },
            date_fin: Some(d(due)),
            creator: user("c"),
        }
    }

    fn member(p: &ProjectRow, aid: &str, who: Person, principal: bool) -> MemberRow {
        MemberRow { project_id: p.project.id.clone(), assignment_id: aid.into(), principal, person: who }
    }

    fn run(p: &ProjectRow, members: &[MemberRow]) -> Vec<Alert> {
        evaluate(std::slice::from_ref(p), members, d(TODAY))
    }

    #[test]
    fn j7_goes_to_creator_principal_and_team_with_role_suffixes() {
        let p = project("1", "2026-03-23");
        let m = [member(&p, "a1", user("p"), true), member(&p, "a2", user("t"), false)];
        let a = run(&p, &m);
        assert_eq!(a.len(), 3);
        assert!(a.iter().all(|x| x.kind.as_str() == "ECHEANCE_J7" && x.niveau == "WARNING"));
        assert_eq!(to(&a, "p").titre, "⚠️ Projet Portail RH - Fin dans 7 jours");
        assert_messages(
            &a,
            &[
                (
                    "p",
                    "Le projet 'Portail RH' se termine dans 7 jours (23/03/2026). En tant que responsable, assurez-vous que toutes les tâches seront terminées à temps.",
                ),
                (
                    "c",
                    "Le projet 'Portail RH' se termine dans 7 jours (23/03/2026). En tant qu'administrateur, surveillez l'avancement du projet.",
                ),
            ],
        );
        assert_eq!(
            to(&a, "t").message,
            "Le projet 'Portail RH' se termine dans 7 jours (23/03/2026). Assurez-vous de terminer vos tâches assignées avant la date limite."
        );
        assert_eq!(to(&a, "t").contexte, r#"{"jours_restants": 7, "date_fin": "2026-03-23", "type_alerte": "J-7"}"#);
        assert_eq!(to(&a, "t").period, "2026-03-23");
    }

    #[test]
    fn j3_goes_to_creator_and_principal_only() {
        let p = project("1", "2026-03-19");
        let m = [member(&p, "a1", user("p"), true), member(&p, "a2", user("t"), false)];
        let a = run(&p, &m);
        assert_eq!(a.len(), 2);
        assert_eq!(to(&a, "p").titre, "🟠 Projet Portail RH - Fin dans 3 jours");
        assert_eq!(
            to(&a, "c").message,
            "Le projet 'Portail RH' se termine dans 3 jours (19/03/2026). En tant qu'administrateur, surveillez de près l'avancement du projet."
        );
        assert_eq!(to(&a, "c").contexte, r#"{"jours_restants": 3, "date_fin": "2026-03-19", "type_alerte": "J-3"}"#);
    }

    #[test]
    fn j1_is_danger_and_says_demain() {
        let p = project("1", "2026-03-17");
        let a = run(&p, &[member(&p, "a1", user("p"), true)]);
        assert_eq!(to(&a, "p").niveau, "DANGER");
        assert_alerts(
            &a,
            "🔴 Projet Portail RH - Fin DEMAIN",
            &[
                (
                    "p",
                    "Le projet 'Portail RH' se termine DEMAIN (17/03/2026)! En tant que responsable, action urgente requise pour finaliser toutes les tâches restantes.",
                ),
                (
                    "c",
                    "Le projet 'Portail RH' se termine DEMAIN (17/03/2026)! En tant qu'administrateur, intervention urgente nécessaire pour assurer la livraison.",
                ),
            ],
        );
    }

    #[test]
    fn overdue_repeats_daily_with_day_count() {
        let p = project("1", "2026-03-14");
        let a = run(&p, &[member(&p, "a1", user("p"), true), member(&p, "a2", user("t"), false)]);
        assert_eq!(a.len(), 2, "team members other than principal get no overdue alert");
        assert_eq!(to(&a, "p").kind.as_str(), "ECHEANCE_DEPASSEE");
        assert_eq!(to(&a, "p").titre, "🔴 Projet Portail RH - EN RETARD");
        assert_messages(
            &a,
            &[
                (
                    "p",
                    "Le projet 'Portail RH' est en retard de 2 jours (date de fin prévue : 14/03/2026). En tant que responsable, une action urgente est requise pour rattraper le retard.",
                ),
                (
                    "c",
                    "Le projet 'Portail RH' est en retard de 2 jours (date de fin prévue : 14/03/2026). En tant qu'administrateur, veuillez prendre les mesures nécessaires pour résoudre cette situation.",
                ),
            ],
        );
        assert_eq!(to(&a, "c").contexte, r#"{"jours_retard": 2, "date_fin": "2026-03-14", "type_alerte": "RETARD"}"#);
        assert_eq!(to(&a, "c").period, TODAY);
        assert_next_day(&evaluate(std::slice::from_ref(&p), &[], d(NEXT_DAY)), "en retard de 3 jours");
    }

    #[test]
    fn overdue_by_one_day_says_1_jour() {
        let p = project("1", "2026-03-15");
        let a = run(&p, &[]);
        assert!(a[0].message.contains("en retard de 1 jour (date"));
    }

    #[test]
    fn other_day_counts_give_nothing() {
        for due in ["2026-03-16", "2026-03-18", "2026-03-20", "2026-03-21", "2026-03-22", "2026-03-24", "2026-04-30"] {
            let p = project("1", due);
            assert!(run(&p, &[member(&p, "a1", user("p"), true)]).is_empty(), "{due}");
        }
    }

    #[test]
    fn non_en_cours_and_dateless_projects_give_nothing() {
        let mut p = project("1", "2026-03-19");
        for statut in ["TERMINE", "SUSPENDU", "PLANIFIE", "ARCHIVE", "IDEE", "AFFECTE"] {
            p.project.statut = statut.into();
            assert!(run(&p, &[]).is_empty(), "{statut}");
        }
        let mut p = project("1", "2026-03-19");
        p.date_fin = None;
        assert!(run(&p, &[]).is_empty());
    }

    #[test]
    fn creator_who_is_principal_gets_one_row_with_responsable_text() {
        let p = project("1", "2026-03-19");
        let a = run(&p, &[member(&p, "a1", user("c"), true)]);
        assert_eq!(a.len(), 1);
        assert!(a[0].message.ends_with(
            "En tant que responsable, assurez-vous que toutes les tâches critiques seront terminées à temps."
        ));
    }

    #[test]
    fn first_principal_by_assignment_id_wins() {
        let p = project("1", "2026-03-19");
        let a = run(&p, &[member(&p, "b", user("x"), true), member(&p, "a", user("y"), true)]);
        assert_eq!(a.len(), 2);
        assert!(to(&a, "y").message.contains("En tant que responsable"));
        assert!(a.iter().all(|x| x.recipient.id != format!("{:0>32}", "x")));
    }

    #[test]
    fn long_name_titles_are_cut_to_200_characters_r15() {
        let name = long_name(200);
        for (due, prefix, suffix) in [
            ("2026-03-23", "⚠️ Projet ", " - Fin dans 7 jours"),
            ("2026-03-19", "🟠 Projet ", " - Fin dans 3 jours"),
            ("2026-03-17", "🔴 Projet ", " - Fin DEMAIN"),
            ("2026-03-14", "🔴 Projet ", " - EN RETARD"),
        ] {
            let mut p = project("1", due);
            p.project.nom = name.clone();
            let a = run(&p, &[member(&p, "a1", user("p"), true)]);
            assert_eq!(a.len(), 2, "{due}");
            for x in &a {
                assert_fitted(&x.titre, prefix, &name, suffix);
                assert!(x.message.contains(&format!("Le projet '{name}' ")), "{due}: message keeps the full name");
                assert_eq!(x.project.nom, name);
            }
        }
    }
}
