//! check-project-deadlines end to end (spec §3.1, rulings R1–R3, R6, R8,
//! R9, R11–R14), against a real MariaDB and a real SMTP server.

use crate::common::{Ran, SmtpSink, TestDb, header, parts, relay_down, uid};

/// 2026-03-16 08:00 in Paris.
pub const AT: &str = "2026-03-16T08:00:00+01:00";

/// The check at [`AT`], for real.
pub const CHECK: [&str; 4] = ["check-project-deadlines", "--at", AT, "--replay"];

/// Users: creator c1, principal b1, team a1, inactive d1, no address e1;
/// projects: J-7 (aa01, whole team), overdue by 2 (aa02), J-3 (aa03),
/// J-1 (aa04, no principal), TERMINE at J-3 (aa05), dateless (aa06), 2 days (aa07).
pub fn scenario(db: &mut TestDb) {
    db.team().user("d1", "Denis", "Inactif", "denis@example.org", (false, true, false)).user(
        "e1",
        "Emma",
        "Sansmail",
        "",
        (true, true, false),
    );
    db.project("aa01", "Portail RH", "EN_COURS", Some("2026-03-23"), "c1")
        .project("aa02", "Migration", "EN_COURS", Some("2026-03-14"), "c1")
        .project("aa03", "Intranet", "EN_COURS", Some("2026-03-19"), "c1")
        .project("aa04", "Archivage", "EN_COURS", Some("2026-03-17"), "c1")
        .project("aa05", "Termine", "TERMINE", Some("2026-03-19"), "c1")
        .project("aa06", "Sans date", "EN_COURS", None, "c1")
        .project("aa07", "Deux jours", "EN_COURS", Some("2026-03-18"), "c1");
    db.assign("f001", "aa01", "b1", true, false)
        .assign("f002", "aa01", "a1", false, false)
        .assign("f003", "aa01", "d1", false, false)
        .assign("f004", "aa01", "e1", false, false)
        .assign("f005", "aa02", "b1", true, false)
        .assign("f006", "aa02", "a1", false, false)
        .assign("f007", "aa03", "b1", true, false)
        .assign("f008", "aa05", "b1", true, false)
        .assign("f009", "aa07", "b1", true, false)
        // An ended principal assignment is ignored.
        .assign("f00a", "aa04", "a1", true, true);
}

/// A new database holding the scenario, and a sink.
pub fn scenario_and_sink() -> (TestDb, SmtpSink) {
    let mut db = TestDb::new();
    scenario(&mut db);
    (db, SmtpSink::start())
}

/// The scenario with alice@example.org refused by the relay (550), its
/// check run once: exit 65.
pub fn alice_refused() -> (TestDb, SmtpSink, Ran) {
    let (db, sink) = scenario_and_sink();
    sink.refuse(&["alice@example.org"], "550 5.1.1 <{addr}>: no such user");
    let ran = db.sigov(&CHECK).smtp(sink.url()).expect(65);
    (db, sink, ran)
}

fn rows_by(db: &mut TestDb, kind: &str) -> Vec<Vec<String>> {
    db.rows(&format!(
        "SELECT destinataire_id, projet_id FROM core_alerteprojet WHERE type_alerte = '{kind}' ORDER BY projet_id, destinataire_id"
    ))
}

/// `check-project-deadlines --replay` at `at`, mailing to `sink`: exit 0.
fn check_at(db: &TestDb, sink: &SmtpSink, at: &str) -> Ran {
    db.sigov(&["check-project-deadlines", "--at", at, "--replay"]).smtp(sink.url()).expect(0)
}

/// A new database holding `fill`, checked at [`AT`] (exit 0).
fn checked(fill: impl FnOnce(&mut TestDb)) -> (TestDb, SmtpSink, Ran) {
    let mut db = TestDb::new();
    fill(&mut db);
    let sink = SmtpSink::start();
    let ran = check_at(&db, &sink, AT);
    (db, sink, ran)
}

#[test]
fn scenario_creates_the_apps_rows_and_mails() {
    let (mut db, sink, ran) = checked(scenario);
    ran.assert_quiet();

    // J-7: creator, principal, team (inactive d1 skipped, e1 gets a row).
    let j7 = rows_by(&mut db, "ECHEANCE_J7");
    let who: Vec<&str> = j7.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(who, [uid("a1"), uid("b1"), uid("c1"), uid("e1")]);
    assert_eq!(rows_by(&mut db, "ECHEANCE_DEPASSEE").len(), 2);
    assert_eq!(rows_by(&mut db, "ECHEANCE_J3"), [[uid("b1"), uid("aa03")], [uid("c1"), uid("aa03")]]);
    assert_eq!(rows_by(&mut db, "ECHEANCE_J1"), [[uid("c1"), uid("aa04")]]);
    assert_eq!(db.alerts(), 9);
    assert_eq!(db.count("SELECT COUNT(*) FROM core_notificationetape"), 0);

    // Byte-identical row, as the app writes it.
    let row = db.rows(&format!(
        "SELECT type_alerte, niveau, titre, message, CAST(lue AS CHAR), CAST(date_creation AS CHAR), \
         COALESCE(date_lecture, 'NULL'), donnees_contexte FROM core_alerteprojet \
         WHERE destinataire_id = '{}' AND projet_id = '{}'",
        uid("b1"),
        uid("aa02")
    ));
    assert_eq!(
        row[0],
        [
            "ECHEANCE_DEPASSEE",
            "DANGER",
            "🔴 Projet Migration - EN RETARD",
            "Le projet 'Migration' est en retard de 2 jours (date de fin prévue : 14/03/2026). En tant que responsable, une action urgente est requise pour rattraper le retard.",
            "0",
            "2026-03-16 07:00:00.000000",
            "NULL",
            r#"{"jours_retard": 2, "date_fin": "2026-03-14", "type_alerte": "RETARD"}"#,
        ]
    );

    // 9 rows, e1 has no address: 8 e-mails, one per row.
    let mails = sink.received();
    assert_eq!(mails.len(), 8);
    assert!(mails.iter().all(|m| m.to.len() == 1));
    assert_eq!(mails.iter().filter(|m| m.to[0] == "bruno@example.org").count(), 3);
    let m = mails.iter().find(|m| m.to[0] == "alice@example.org").unwrap();
    assert_eq!(
        header(&m.data, "Subject").unwrap(),
        "[SI-Gouvernance] ⚠️ Alerte: ⚠️ Projet Portail RH - Fin dans 7 jours"
    );
    assert_eq!(header(&m.data, "Auto-Submitted").unwrap(), "auto-generated");
    assert!(header(&m.data, "Message-ID").unwrap().ends_with("@si-gouvernance.com>"));
    let (text, html) = parts(&m.data);
    assert!(
        text.starts_with(
            "Bonjour Alice Roux,\r\n\r\nLe projet 'Portail RH' se termine dans 7 jours (23/03/2026). Assurez-vous"
        ),
        "{text:?}"
    );
    // R6: local time of the row.
    assert!(text.contains("Date de notification: 16/03/2026 à 08:00"), "{text}");
    assert!(html.contains("Portail RH") && html.contains("En cours"));

    // The ledger: one row per identity, delivered.
    assert_eq!(db.deliveries("sent"), 8);
    assert_eq!(db.deliveries("no_email"), 1);
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_runs WHERE status = 'ok'"), 1);
}

#[test]
fn second_run_same_day_creates_and_sends_nothing() {
    let (mut db, sink, _) = checked(scenario);
    check_at(&db, &sink, "2026-03-16T20:00:00+01:00");
    assert_eq!(db.alerts(), 9);
    assert_eq!(sink.count(), 8);
}

#[test]
fn next_day_overdue_alerts_come_again_with_the_new_count() {
    let (mut db, sink, _) = checked(scenario);
    check_at(&db, &sink, "2026-03-17T08:00:00+01:00");
    let overdue = db.rows(
        "SELECT message FROM core_alerteprojet WHERE type_alerte = 'ECHEANCE_DEPASSEE' AND date_creation >= '2026-03-17' ORDER BY destinataire_id",
    );
    assert_eq!(overdue.len(), 2);
    assert!(overdue[0][0].contains("en retard de 3 jours"));
    // J-7/J-3/J-1 fire on exactly one day: aa04 is now due today (0 days), aa03
    // at 2 days, aa01 at 6; aa07 reaches J-1 (creator and principal).
    assert_eq!(db.count("SELECT COUNT(*) FROM core_alerteprojet WHERE date_creation >= '2026-03-17'"), 4);
    assert_eq!(rows_by(&mut db, "ECHEANCE_J1").len(), 3);
    assert_eq!(sink.count(), 8 + 4);
}

#[test]
fn old_stack_row_from_paris_today_suppresses_the_alert_r3a_r2() {
    let mut db = TestDb::new();
    scenario(&mut db);
    // This server has no time zone tables: upstream's CONVERT_TZ dedup never matched.
    // An old-stack row at 23:30 UTC on the 15th is 00:30 on the 16th in Paris.
    db.exec(&format!(
        "INSERT INTO core_alerteprojet (type_alerte, niveau, titre, message, lue, date_creation, date_lecture,
         donnees_contexte, destinataire_id, projet_id) VALUES ('ECHEANCE_J7', 'WARNING', 't', 'm', 0,
         '2026-03-15 23:30:00.000000', NULL, '{{}}', '{}', '{}')",
        uid("b1"),
        uid("aa01")
    ));
    let sink = SmtpSink::start();
    let report = db.sigov(&CHECK).smtp(sink.url()).args(&["--format", "json"]).expect(0).json();
    let skipped = &report["checks"][0]["skipped"];
    assert!(
        skipped.as_array().unwrap().iter().any(|s| s["recipient_id"] == uid("b1") && s["reason"] == "already_sent"),
        "{skipped}"
    );
    assert_eq!(
        db.count(&format!(
            "SELECT COUNT(*) FROM core_alerteprojet WHERE type_alerte = 'ECHEANCE_J7' AND destinataire_id = '{}'",
            uid("b1")
        )),
        1
    );
    assert_eq!(sink.received().iter().filter(|m| m.to[0] == "bruno@example.org").count(), 2);
}

#[test]
fn run_at_0030_paris_uses_the_paris_date_r1() {
    let (mut db, sink) = scenario_and_sink();
    // 23:30 UTC on the 15th: the UTC date would make aa01 8 days away.
    check_at(&db, &sink, "2026-03-15T23:30:00Z");
    assert_eq!(rows_by(&mut db, "ECHEANCE_J7").len(), 4);
    let (text, _) = parts(&sink.received()[0].data);
    assert!(text.contains("Date de notification: 16/03/2026 à 00:30"), "{text}");
}

#[test]
fn inactive_users_get_nothing_and_no_address_gets_a_row_only_r8_r9() {
    let (mut db, sink, _) = checked(scenario);
    assert_eq!(db.count(&format!("SELECT COUNT(*) FROM core_alerteprojet WHERE destinataire_id = '{}'", uid("d1"))), 0);
    assert_eq!(db.count(&format!("SELECT COUNT(*) FROM core_alerteprojet WHERE destinataire_id = '{}'", uid("e1"))), 1);
    assert!(sink.received().iter().all(|m| m.to[0] != "denis@example.org"));
    assert!(sink.received().iter().all(|m| !m.to[0].is_empty()));
}

#[test]
fn hostile_project_name_subject_single_line_html_escaped_text_raw_r11() {
    let (mut db, sink, _) = checked(|db| {
        db.team().project("aa01", "Evil\r\nBcc: x@evil.example <b>gras</b>", "EN_COURS", Some("2026-03-19"), "c1");
    });
    let mails = sink.received();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, ["claire@example.org"]);
    let subject = header(&mails[0].data, "Subject").unwrap();
    assert!(!subject.contains('\r') && !subject.contains('\n'), "{subject:?}");
    assert!(subject.contains("Evil  Bcc: x@evil.example <b>gras</b>"), "{subject:?}");
    assert!(header(&mails[0].data, "Bcc").is_none());
    let (text, html) = parts(&mails[0].data);
    assert!(
        text.contains("Evil\r\nBcc: x@evil.example <b>gras</b>")
            || text.contains("Evil\nBcc: x@evil.example <b>gras</b>"),
        "{text:?}"
    );
    assert!(html.contains("&lt;b&gt;gras&lt;&#x2f;b&gt;") && !html.contains("<b>gras"), "{html}");
    let stored = db.rows("SELECT message FROM core_alerteprojet");
    assert!(stored[0][0].contains("Evil\r\nBcc"));
}

#[test]
fn dry_run_writes_nothing_and_sends_nothing_r14() {
    let (mut db, sink) = scenario_and_sink();
    let before = db.table_counts();
    let dry = ["check-project-deadlines", "--at", AT, "--dry-run"];
    db.sigov(&dry).smtp(sink.url()).expect(0).assert_stdout(&[
        "would create 9 rows, 8 e-mails; 2 skipped",
        "Subject: [SI-Gouvernance] ⚠️ Alerte: 🔴 Projet Migration - EN RETARD",
        "skipped Denis Inactif ECHEANCE_J7 on \"Portail RH\": inactive",
        "no e-mail: no_address",
        "skipped Emma Sansmail ECHEANCE_J7 on \"Portail RH\": no_address (row created, no e-mail)",
    ]);
    assert_eq!(db.table_counts(), before);
    assert_eq!(sink.sessions(), 0);

    // The preview equals the real run.
    let preview = db.sigov(&dry).smtp(sink.url()).args(&["--format", "json"]).expect(0).json();
    let report = db.sigov(&CHECK).smtp(sink.url()).args(&["--format", "json"]).expect(0).json();
    let strip = |v: &serde_json::Value| -> Vec<(String, String, String)> {
        v["checks"][0]["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["recipient_id"].to_string(), a["titre"].to_string(), a["message"].to_string()))
            .collect()
    };
    assert_eq!(strip(&preview), strip(&report));
    let subjects: Vec<String> = preview["checks"][0]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["email"]["subject"].as_str().map(String::from))
        .collect();
    let mut sent: Vec<String> = sink.received().iter().map(|m| header(&m.data, "Subject").unwrap()).collect();
    let mut subjects_sorted = subjects.clone();
    subjects_sorted.sort();
    sent.sort();
    assert_eq!(subjects_sorted, sent);
}

#[test]
fn dry_run_before_migrate_treats_the_ledger_as_empty_and_says_so() {
    let mut db = TestDb::bare();
    scenario(&mut db);
    let before = db.table_counts();
    db.sigov(&["check-project-deadlines", "--at", AT, "--dry-run"])
        .expect(0)
        .assert_stdout(&["ledger tables do not exist yet"]);
    assert_eq!(db.table_counts(), before);
}

#[test]
fn real_run_before_migrate_fails_with_78() {
    let mut db = TestDb::bare();
    scenario(&mut db);
    let sink = SmtpSink::start();
    let err = db.sigov(&CHECK).smtp(sink.url()).expect(78).error_line("sigov-alerts: error: ").to_string();
    assert!(err.contains("run `sigov-alerts migrate` first"), "{err}");
    assert_eq!(db.alerts(), 0);
}

#[test]
fn smtp_down_rows_committed_mail_queued_then_delivered_once() {
    let mut db = TestDb::new();
    scenario(&mut db);
    let down = relay_down();
    db.sigov(&CHECK).smtp(&down).expect(75).assert_stderr(&["8 queued for retry"]);
    assert_eq!(db.alerts(), 9);
    assert_eq!(db.deliveries("queued"), 8);
    // Retries wait for their next attempt time; make them due now.
    db.exec("UPDATE sigov_alerts_deliveries SET next_attempt_at = NULL");
    // The relay comes back on the same port.
    let port = url::Url::parse(&down).unwrap().port().unwrap();
    let sink = SmtpSink::start_on(port, true);
    check_at(&db, &sink, AT);
    assert_eq!(sink.count(), 8);
    assert_eq!(db.alerts(), 9);
    check_at(&db, &sink, AT);
    assert_eq!(sink.count(), 8);
}
