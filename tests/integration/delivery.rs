//! Delivery under faults (spec R3, R5; docs/design.md §3–§5): every owed e-mail
//! is delivered, or recorded as rejected with the server's answer, or still
//! queued and said so, and never sent twice for one identity. The faults
//! are driven by the SMTP sink (a silent server, a message held on the
//! wire), never by sleeping.

use std::collections::HashMap;

use crate::common::{Ran, SmtpSink, Spawned, TestDb, message_ids};
use crate::project_deadlines::{CHECK, alice_refused, scenario, scenario_and_sink};

/// `args` mailing to `smtp`, exit `code`.
fn run(db: &TestDb, smtp: &str, args: &[&str], code: i32) -> Ran {
    db.sigov(args).smtp(smtp).expect(code)
}

/// The check started against `sink`.
fn spawn_check(db: &TestDb, sink: &SmtpSink) -> Spawned {
    db.sigov(&CHECK).smtp(sink.url()).spawn()
}

/// Every one of `ids` comes once.
fn unique(ids: &[String]) -> usize {
    let mut unique = ids.to_vec();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "an e-mail was sent twice: {ids:?}");
    unique.len()
}

#[test]
fn deferred_twice_then_accepted_is_delivered_in_the_same_run() {
    let (mut db, sink) = scenario_and_sink();
    sink.configure(|b| b.defer_next = 2);
    run(&db, &sink.url(), &CHECK, 0);
    assert_eq!(sink.count(), 8);
    assert_eq!(db.deliveries("sent"), 8);
    assert_eq!(db.count("SELECT CAST(MAX(attempts) AS SIGNED) FROM sigov_alerts_deliveries"), 1);
}

#[test]
fn permanent_rejection_is_recorded_others_sent_exit_65_never_retried() {
    let (mut db, sink, ran) = alice_refused();
    ran.assert_stderr(&["1 rejected"]);
    assert_eq!(sink.count(), 7);
    let failed = db.rows("SELECT address, last_reply FROM sigov_alerts_deliveries WHERE state = 'failed'");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0][0], "alice@example.org");
    assert!(failed[0][1].contains("550") && failed[0][1].contains("no such user"), "{:?}", failed[0]);
    // Later runs and `deliver` do not retry it.
    sink.configure(|b| b.rcpt_replies.clear());
    run(&db, &sink.url(), &["deliver"], 0);
    assert_eq!(sink.count(), 7);
}

#[test]
fn silent_server_ends_the_run_on_smtp_timeout_and_mail_stays_queued() {
    let (mut db, sink) = scenario_and_sink();
    sink.configure(|b| b.silent = true);
    let cfg = db.file("sigov-alerts.toml", "smtp_timeout = \"1s\"\nsend_timeout = \"2s\"\n");
    // The server holds the session without a word: the run gives up on
    // the greeting, says which timeout ended it, and keeps the mail.
    let ran = db.sigov(&CHECK).config(&cfg).smtp(sink.url()).spawn().finish().expect(75);
    ran.assert_stderr(&["to the greeting within 1s (smtp_timeout)"]);
    assert!(sink.sessions() >= 1, "the run reached the server");
    assert_eq!(db.alerts(), 9);
    assert_eq!(db.deliveries("queued"), 8);
}

#[test]
fn killed_after_commit_before_delivery_next_run_delivers_without_duplicate() {
    let (mut db, sink) = scenario_and_sink();
    // A server that never answers holds the run right after its commit:
    // delivery opens its session only once the check has committed.
    let silent = SmtpSink::start();
    silent.configure(|b| b.silent = true);
    let check = spawn_check(&db, &silent);
    assert!(silent.wait_for(60, |s| s.sessions() > 0), "the run never reached delivery");
    assert_eq!(db.deliveries("queued"), 8, "committed before delivery");
    check.kill(); // SIGKILL
    assert_eq!(db.alerts(), 9);

    run(&db, &sink.url(), &["deliver"], 0);
    run(&db, &sink.url(), &CHECK, 0);
    assert_eq!(unique(&message_ids(&sink)), 8, "no duplicate");
    assert_eq!(db.alerts(), 9);
}

#[test]
fn killed_mid_delivery_repeats_at_most_the_unconfirmed_with_the_same_message_id() {
    let (mut db, sink) = scenario_and_sink();
    // Three accepted, the fourth held on the wire: then the kill.
    sink.configure(|b| b.block_after = Some(3));
    let check = spawn_check(&db, &sink);
    assert!(sink.wait_for(60, |s| s.blocked() == 1 && s.count() == 3), "the run never reached its 4th e-mail");
    check.kill();
    sink.drop_held();
    run(&db, &sink.url(), &CHECK, 0);
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for id in message_ids(&sink) {
        *per_id.entry(id).or_default() += 1;
    }
    assert_eq!(per_id.len(), 8, "every e-mail delivered");
    // Only the three accepted before the kill can come twice, same Message-ID.
    let repeated: Vec<_> = per_id.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.len() <= 3 && repeated.iter().all(|(_, n)| **n == 2), "{repeated:?}");
    assert_eq!(db.deliveries("sent"), 8);
}

#[test]
fn sigterm_stops_cleanly_marks_the_run_interrupted_exit_75() {
    let (mut db, sink) = scenario_and_sink();
    // The first e-mail accepted, the second held on the wire when the signal comes.
    sink.configure(|b| b.block_after = Some(1));
    let mut check = spawn_check(&db, &sink);
    assert!(sink.wait_for(60, |s| s.blocked() == 1 && s.count() == 1), "the run never reached its 2nd e-mail");
    check.signal("-TERM");
    check.wait_for_stderr("signal received");
    // The run finishes the e-mail it is sending, then stops.
    sink.release();
    let ran = check.finish().expect(75);
    ran.assert_stderr(&["interrupted"]);
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_runs WHERE status = 'interrupted'"), 1);
    assert_eq!(sink.count(), 2, "the e-mail on the wire was finished, no other begun");
    assert_eq!(db.deliveries("sent"), 2);
    run(&db, &sink.url(), &["deliver"], 0);
    assert_eq!(sink.count(), 8);
}

#[test]
fn concurrent_runs_same_and_different_lock_files_never_duplicate() {
    let (mut db, sink) = scenario_and_sink();
    let other_lock = db.dir.path().join("other-host.lock");
    let mut expected_rows = 0;
    for day in 0..20 {
        // Each day owes new overdue alerts (aa02), so every round has work.
        let at = if day < 10 {
            format!("2026-03-{:02}T08:00:00+01:00", 16 + day)
        } else {
            format!("2026-04-{:02}T08:00:00+02:00", day - 9)
        };
        let run_all = || db.sigov(&["run-all", "--at", &at, "--replay"]).smtp(sink.url());
        let a = run_all().spawn();
        // Every other round, the second run is on another host: its own lock file.
        let b = if day % 2 == 0 { run_all() } else { run_all().opt("--lock-file", &other_lock) }.spawn();
        let (a, b) = (a.finish(), b.finish());
        let codes = [a.code, b.code];
        assert!(codes.contains(&Some(0)), "round {day}: {a:?} {b:?}");
        assert!(codes.iter().all(|c| *c == Some(0) || *c == Some(75)), "round {day}: {codes:?}");
        let before = expected_rows;
        expected_rows = db.alerts();
        assert!(expected_rows > before, "round {day} created nothing");
    }
    // Exactly one row per identity, one e-mail per mailed row.
    assert_eq!(
        db.count("SELECT COUNT(*) FROM (SELECT destinataire_id, projet_id, type_alerte, DATE(date_creation) d, COUNT(*) n FROM core_alerteprojet GROUP BY 1, 2, 3, 4 HAVING n > 1) x"),
        0
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries"), expected_rows);
    let sent = unique(&message_ids(&sink));
    assert_eq!(sent as i64, db.deliveries("sent"));
}

/// The scenario, a self-signed server certificate, and a config file
/// trusting its CA.
fn trusted_tls() -> (TestDb, std::sync::Arc<rustls::ServerConfig>, String) {
    let mut db = TestDb::new();
    scenario(&mut db);
    let (server, ca) = crate::common::smtp::self_signed();
    let ca_file = db.file("ca.pem", &ca);
    let cfg = db.file("sigov-alerts.toml", &format!("smtp_ca_file = {ca_file:?}\n"));
    (db, server, cfg)
}

/// `args` with the config file `cfg`, mailing to `smtp`, exit `code`.
fn run_with(db: &TestDb, cfg: &str, smtp: &str, args: &[&str], code: i32) -> Ran {
    db.sigov(args).config(cfg).smtp(smtp).expect(code)
}

#[test]
fn starttls_is_used_when_offered_and_required_means_required() {
    let (mut db, server, cfg) = trusted_tls();

    // Required, but the server offers no STARTTLS: nothing goes out in clear.
    let plain = SmtpSink::start();
    let url = format!("smtp://localhost:{}?tls=required", plain.port);
    run_with(&db, &cfg, &url, &CHECK, 78).assert_stderr(&["STARTTLS"]);
    assert_eq!(plain.count(), 0);

    // Required, offered, but the certificate is not trusted: still nothing.
    let tls = SmtpSink::start();
    tls.configure(|b| b.tls = Some(server.clone()));
    db.exec("UPDATE sigov_alerts_deliveries SET next_attempt_at = NULL");
    let url = format!("smtp://localhost:{}?tls=required", tls.port);
    run(&db, &url, &["deliver"], 78);
    assert_eq!(tls.count(), 0);

    // Opportunistic on loopback with the CA trusted: every e-mail over TLS.
    db.exec("UPDATE sigov_alerts_deliveries SET next_attempt_at = NULL");
    let url = format!("smtp://localhost:{}", tls.port);
    run_with(&db, &cfg, &url, &["deliver"], 0);
    assert_eq!(tls.count(), 8);
    assert_eq!(tls.tls_sessions(), tls.sessions(), "every session switched to TLS before any mail");
}

#[test]
fn smtps_speaks_tls_from_the_first_byte() {
    let (mut db, server, cfg) = trusted_tls();
    let sink = SmtpSink::start();
    sink.configure(|b| {
        b.tls = Some(server);
        b.implicit_tls = true;
    });
    let url = format!("smtps://localhost:{}", sink.port);
    run_with(&db, &cfg, &url, &CHECK, 0);
    assert_eq!(sink.count(), 8);
    assert_eq!(sink.tls_sessions(), sink.sessions());
    // Without the CA the certificate is refused and the mail waits.
    db.exec("UPDATE sigov_alerts_deliveries SET state = 'queued', next_attempt_at = NULL");
    run(&db, &url, &["deliver"], 78);
    assert_eq!(sink.count(), 8);
}
