//! The five checks together (spec §3.2–§3.5, R4, R7, R8, R10, R13) on a
//! real MariaDB and SMTP server, run twice.

use crate::common::{Ran, SmtpSink, TestDb, header, parts, uid};
use crate::project_deadlines::AT;

/// `run-all` at [`AT`], for real.
const RUN_ALL: [&str; 4] = ["run-all", "--at", AT, "--replay"];

pub fn people(db: &mut TestDb) {
    db.team()
        .user("f1", "Fabien", "Externe", "fabien@example.org", (true, true, false))
        .user("5a", "Sarah", "Admin", "sarah@example.org", (true, true, true))
        .user("5b", "Serge", "Ancien", "serge@example.org", (false, true, true));
}

/// One copy of the scenario; `p` prefixes every item id (hex).
pub fn items(db: &mut TestDb, p: &str) {
    let id = |s: &str| format!("{p}{s}");
    let nom = |s: &str| if p.is_empty() { s.to_string() } else { format!("{s} {p}") };
    db.project_full(&id("aa01"), &nom("Portail RH"), "EN_COURS", Some("2026-04-30"), "c1", "15000.00", "ACME");
    db.assign(&id("f001"), &id("aa01"), "b1", true, false).assign(&id("f002"), &id("aa01"), "a1", false, false);
    // Stages: 3 days late (alerted), late but not started, due today.
    db.stage(&id("e01"), &id("aa01"), "CONCEPTION", 2, "EN_COURS", Some("2026-03-13"))
        .stage(&id("e02"), &id("aa01"), "TESTS", 4, "A_VENIR", Some("2026-03-01"))
        .stage(&id("e03"), &id("aa01"), "DEVELOPPEMENT", 3, "EN_COURS", Some("2026-03-16"));
    // Tasks: overdue with access, overdue without access, done, not yet due.
    db.task(&id("d01"), &id("e01"), "Maquettes", "EN_COURS", Some("2026-03-15"), Some("a1"))
        .task(&id("d02"), &id("e01"), "Connecteur SSO", "BLOQUEE", Some("2026-03-10"), Some("f1"))
        .task(&id("d03"), &id("e01"), "Recette", "TERMINEE", Some("2026-03-01"), Some("a1"))
        .task(&id("d04"), &id("e01"), "Demain", "A_FAIRE", Some("2026-03-17"), Some("a1"));
    // Budget 15000.00, spent 12000 + 8000 (+ 5000 of another kind, ignored).
    db.budget_line(&id("b01"), &id("aa01"), "MATERIEL", "12000.00")
        .budget_line(&id("b02"), &id("aa01"), "SERVICE", "8000.00")
        .budget_line(&id("b03"), &id("aa01"), "AUTRE", "5000.00");
    // Contracts: 30 days left, expired 10 days ago.
    db.contract(&id("c01"), &id("aa01"), "CORRECTIVE", "2025-01-01", "2026-04-15").contract(
        &id("c02"),
        &id("aa01"),
        "EVOLUTIVE",
        "2025-01-01",
        "2026-03-06",
    );
}

/// The people and one copy of the items; a sink.
fn scenario() -> (TestDb, SmtpSink) {
    let mut db = TestDb::new();
    people(&mut db);
    items(&mut db, "");
    (db, SmtpSink::start())
}

/// `args` mailing to `sink`, exit `code`.
fn run(db: &TestDb, sink: &SmtpSink, args: &[&str], code: i32) -> Ran {
    db.sigov(args).smtp(sink.url()).expect(code)
}

/// Rows of both app tables.
fn all_rows(db: &mut TestDb) -> i64 {
    db.alerts() + db.count("SELECT COUNT(*) FROM core_notificationetape")
}

#[test]
fn all_five_checks_twice_second_run_nothing_new() {
    let (mut db, sink) = scenario();
    run(&db, &sink, &RUN_ALL, 0);

    // Stage delays: creator + principal, code in the title, display name in the mail (R7).
    let stage = db.rows(
        "SELECT destinataire_id, type_notification, titre, message, donnees_contexte, CAST(lue AS CHAR), \
         COALESCE(emetteur_id, 'NULL'), COALESCE(cas_test_id, 'NULL') FROM core_notificationetape ORDER BY destinataire_id",
    );
    assert_eq!(stage.len(), 2);
    let context = format!(
        r#"{{"jours_retard": 3, "date_fin_prevue": "2026-03-13", "type_alerte": "RETARD_ETAPE", "projet_id": "{}", "projet_nom": "Portail RH", "etape_nom": "CONCEPTION"}}"#,
        crate_dashed(&uid("aa01"))
    );
    assert_eq!(
        stage[0],
        [
            &uid("b1"),
            "RETARD_ETAPE",
            "🔴 Étape CONCEPTION - EN RETARD",
            "L'étape 'CONCEPTION' du projet 'Portail RH' est en retard de 3 jours (date de fin prévue : 13/03/2026). En tant que responsable, une action urgente est requise pour rattraper le retard.",
            &context,
            "0",
            "NULL",
            "NULL",
        ]
    );

    // Tasks: assignee with access (first form), principal (second form, twice), no-access assignee skipped.
    let tasks = db.rows(
        "SELECT destinataire_id, message, donnees_contexte FROM core_alerteprojet WHERE type_alerte = 'TACHES_EN_RETARD' ORDER BY destinataire_id, message",
    );
    assert_eq!(tasks.len(), 3, "{tasks:?}");
    assert_eq!(tasks[0][0], uid("a1"));
    assert_eq!(
        tasks[0][1],
        "La tâche 'Maquettes' du projet 'Portail RH' est en retard de 1 jour (date limite : 15/03/2026). Une action urgente est requise."
    );
    assert_eq!(
        tasks[0][2],
        format!(
            r#"{{"jours_retard": 1, "tache_id": "{}", "tache_nom": "Maquettes", "date_fin": "2026-03-15", "type_alerte": "TACHE_RETARD"}}"#,
            crate_dashed(&uid("d01"))
        )
    );
    assert!(tasks.iter().any(|t| t[0] == uid("b1")
        && t[1] == "La tâche 'Connecteur SSO' du projet 'Portail RH' (assignée à Fabien Externe) est en retard de 6 jours (date limite : 10/03/2026)."));
    assert!(tasks.iter().all(|t| t[0] != uid("f1")));

    // Budget: exact decimals, Python float repr, one row (and one e-mail) per recipient (R4).
    let budget = db.rows(
        "SELECT destinataire_id, titre, message, donnees_contexte FROM core_alerteprojet WHERE type_alerte = 'BUDGET_DEPASSE' ORDER BY destinataire_id",
    );
    assert_eq!(budget.len(), 2);
    assert_eq!(
        budget[0][1..],
        [
            "🔴 Budget dépassé - Portail RH",
            "Le budget du projet 'Portail RH' a été dépassé. Budget prévu : 15000.00 EUR, Budget consommé : 20000.00 EUR, Dépassement : 5000.00 EUR (+33.3%). En tant que responsable, veuillez prendre des mesures pour contrôler les dépenses.",
            r#"{"budget_previsionnel": 15000.0, "budget_consomme": 20000.0, "depassement": 5000.0, "pourcentage_depassement": 33.333333333333336, "devise": "EUR", "type_alerte": "BUDGET_DEPASSE"}"#,
        ]
    );

    // Contracts: active superuser + principal (inactive superuser and creator not), both kinds.
    let contracts = db.rows(
        "SELECT destinataire_id, type_alerte, message FROM core_alerteprojet WHERE type_alerte LIKE 'CONTRAT%' ORDER BY type_alerte, destinataire_id",
    );
    let who: Vec<(&str, &str)> = contracts.iter().map(|r| (r[1].as_str(), r[0].as_str())).collect();
    let (s1, b1) = (uid("5a"), uid("b1"));
    let mut want = vec![
        ("CONTRAT_EXPIRATION", s1.as_str()),
        ("CONTRAT_EXPIRATION", b1.as_str()),
        ("CONTRAT_EXPIRE", s1.as_str()),
        ("CONTRAT_EXPIRE", b1.as_str()),
    ];
    want.sort();
    assert_eq!(who, want);
    assert!(contracts[0][2].starts_with("Le contrat de maintenance Maintenance Corrective du projet 'Portail RH' expire dans 30 jours (date d'expiration : 15/04/2026)."));
    assert!(contracts[2][2].starts_with(
        "Le contrat de maintenance Maintenance Évolutive du projet 'Portail RH' a expiré depuis 10 jours"
    ));

    // 2 stage + 3 task + 2 budget + 4 contract rows, one e-mail each.
    assert_eq!(db.alerts(), 9);
    let mails = sink.received();
    assert_eq!(mails.len(), 11);
    let budget_to_bruno = mails
        .iter()
        .filter(|m| m.to[0] == "bruno@example.org" && header(&m.data, "Subject").unwrap().contains("Budget"))
        .count();
    assert_eq!(budget_to_bruno, 1, "R4: one budget e-mail per row");
    let stage_mail =
        mails.iter().find(|m| header(&m.data, "Subject").unwrap().starts_with("[SI-Gouvernance] Étape:")).unwrap();
    let (text, html) = parts(&stage_mail.data);
    assert!(text.contains("- Étape: Conception\r\n") || text.contains("- Étape: Conception\n"), "{text}");
    assert!(text.contains("Ordre: Étape 2"));
    assert!(html.contains("Conception"), "R7: the stage mail has an HTML part");

    // Second run the same day, and again the next day for the once-ever contracts.
    run(&db, &sink, &["run-all", "--at", "2026-03-16T16:00:00+01:00", "--replay"], 0);
    assert_eq!(all_rows(&mut db), 11);
    assert_eq!(sink.count(), 11);
    run(&db, &sink, &["check-contract-expiration", "--at", "2026-03-20T08:00:00+01:00", "--replay"], 0);
    assert_eq!(db.count("SELECT COUNT(*) FROM core_alerteprojet WHERE type_alerte LIKE 'CONTRAT%'"), 4);
}

fn crate_dashed(id: &str) -> String {
    format!("{}-{}-{}-{}-{}", &id[0..8], &id[8..12], &id[12..16], &id[16..20], &id[20..32])
}

#[test]
fn contract_warning_catches_up_after_missed_days_r10() {
    let (mut db, sink) = scenario();
    // 12 days left: upstream (exactly 30) would never warn again.
    run(&db, &sink, &["check-contract-expiration", "--at", "2026-04-03T08:00:00+02:00", "--replay"], 0);
    let rows =
        db.rows("SELECT message, donnees_contexte FROM core_alerteprojet WHERE type_alerte = 'CONTRAT_EXPIRATION'");
    assert_eq!(rows.len(), 2);
    assert!(rows[0][0].contains("expire dans 12 jours"), "{}", rows[0][0]);
    assert!(rows[0][1].contains(r#""jours_restants": 12"#));
}

#[test]
fn statement_count_is_the_same_on_a_ten_times_larger_database_r13() {
    let statements = |copies: usize| -> (u64, u64) {
        let mut db = TestDb::new();
        people(&mut db);
        for i in 0..copies {
            items(&mut db, &format!("{i:02x}"));
        }
        let sink = SmtpSink::start();
        let dry = run(&db, &sink, &["run-all", "--at", AT, "--dry-run", "--format", "json"], 0).json();
        let real = run(&db, &sink, &[&RUN_ALL[..], &["--format", "json"]].concat(), 0).json();
        assert_eq!(sink.count(), 11 * copies);
        (dry["statements"].as_u64().unwrap(), real["statements"].as_u64().unwrap())
    };
    let small = statements(1);
    let large = statements(10);
    assert_eq!(small, large, "statements (dry run, real run) must not grow with the data");
    assert!(large.1 <= 60, "{large:?}");
}

#[test]
fn digest_mode_sends_one_mail_per_recipient_rows_stay_one_per_alert() {
    let (mut db, sink) = scenario();
    let cfg = db.file("digest.toml", "mail_mode = \"digest\"\n");
    let digest = |db: &TestDb| db.sigov(&RUN_ALL).config(&cfg).smtp(sink.url()).expect(0);
    digest(&db);
    assert_eq!(all_rows(&mut db), 11);
    let mails = sink.received();
    let mut to: Vec<&str> = mails.iter().map(|m| m.to[0].as_str()).collect();
    to.sort();
    assert_eq!(to, ["alice@example.org", "bruno@example.org", "claire@example.org", "sarah@example.org"]);
    let bruno = mails.iter().find(|m| m.to[0] == "bruno@example.org").unwrap();
    assert_eq!(header(&bruno.data, "Subject").unwrap(), "[SI-Gouvernance] 6 nouvelles alertes");
    let (text, _) = parts(&bruno.data);
    for heading in
        ["Étapes en retard (1)", "Tâches en retard (2)", "Budgets dépassés (1)", "Contrats de maintenance (2)"]
    {
        assert!(text.contains(heading), "{heading}: {text}");
    }
    assert_eq!(db.deliveries("sent"), 11);
    // Nothing new on a second run.
    digest(&db);
    assert_eq!(sink.count(), 4);
}

#[test]
fn run_all_keeps_going_when_one_check_fails_and_merges_the_exit_code() {
    let (mut db, sink) = scenario();
    // The contracts table disappears (an app migration gone wrong).
    db.exec("SET FOREIGN_KEY_CHECKS = 0; DROP TABLE core_contratgarantie; SET FOREIGN_KEY_CHECKS = 1;");
    let ran = run(&db, &sink, &[&RUN_ALL[..], &["--format", "json"]].concat(), 78);
    let report = ran.json();
    let status: Vec<&str> =
        report["checks"].as_array().unwrap().iter().map(|c| c["status"].as_str().unwrap()).collect();
    assert_eq!(status, ["ok", "ok", "ok", "ok", "failed"]);
    ran.assert_stderr(&["check-contract-expiration: reading maintenance contracts:", "core_contratgarantie"]);
    // The other checks' rows and e-mails went through.
    assert_eq!(sink.count(), 7);
    assert_eq!(
        db.count(
            "SELECT COUNT(*) FROM sigov_alerts_runs WHERE status = 'failed' AND check_slug = 'contract_expiration'"
        ),
        1
    );
}
