//! Delivery under faults (spec R3, R5; docs/design.md §3–§5): every owed e-mail
//! is delivered, or recorded as rejected with the server's answer, or still
//! queued and said so, and never sent twice for one identity.

use std::collections::HashMap;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::{SmtpSink, TestDb, all_output, header};
use crate::project_deadlines::{AT, scenario};

const CHECK: [&str; 3] = ["check-project-deadlines", "--at", AT];

fn spawn(db: &TestDb, smtp: &str, lock: Option<&str>, args: &[&str]) -> Child {
    let mut c = match lock {
        None => db.cmd(&[]),
        Some(lock) => {
            let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_sigov-alerts"));
            c.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
            c.arg("--database-url").arg(&db.url).arg("--lock-file").arg(lock);
            c
        }
    };
    c.arg("--smtp-url").arg(smtp).args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    c.spawn().expect("spawn")
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn message_ids(sink: &SmtpSink) -> Vec<String> {
    sink.received().iter().map(|m| header(&m.data, "Message-ID").unwrap()).collect()
}

fn config(db: &TestDb, body: &str) -> String {
    let path = db.dir.path().join("sigov-alerts.toml");
    std::fs::write(&path, body).unwrap();
    path.display().to_string()
}

#[test]
fn deferred_twice_then_accepted_is_delivered_in_the_same_run() {
    let mut db = TestDb::new();
    scenario(&mut db);
    let sink = SmtpSink::start();
    sink.configure(|b| b.defer_next = 2);
    let out = db.run(&sink.url(), &CHECK);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert_eq!(sink.count(), 8);
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE state = 'sent'"), 8);
    assert_eq!(db.count("SELECT CAST(MAX(attempts) AS SIGNED) FROM sigov_alerts_deliveries"), 1);
}

#[test]
fn permanent_rejection_is_recorded_others_sent_exit_65_never_retried() {
    let mut db = TestDb::new();
    scenario(&mut db);
    let sink = SmtpSink::start();
    sink.configure(|b| {
        b.rcpt_replies.insert("alice@example.org".into(), "550 5.1.1 <alice@example.org>: no such user".into());
    });
    let out = db.run(&sink.url(), &CHECK);
    assert_eq!(out.status.code(), Some(65), "{}", all_output(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1 rejected"), "{err}");
    assert_eq!(sink.count(), 7);
    let failed = db.rows("SELECT address, last_reply FROM sigov_alerts_deliveries WHERE state = 'failed'");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0][0], "alice@example.org");
    assert!(failed[0][1].contains("550") && failed[0][1].contains("no such user"), "{:?}", failed[0]);
    // Later runs and `deliver` do not retry it.
    sink.configure(|b| b.rcpt_replies.clear());
    let out = db.run(&sink.url(), &["deliver"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert_eq!(sink.count(), 7);
}

#[test]
fn silent_server_ends_within_the_timeout_and_mail_stays_queued() {
    let mut db = TestDb::new();
    scenario(&mut db);
    let sink = SmtpSink::start();
    sink.configure(|b| b.silent = true);
    let cfg = config(&db, "smtp_timeout = \"1s\"\nsend_timeout = \"2s\"\n");
    let start = Instant::now();
    let out = db.run(&sink.url(), &["--config", &cfg, "check-project-deadlines", "--at", AT]);
    let took = start.elapsed();
    assert_eq!(out.status.code(), Some(75), "{}", all_output(&out));
    assert!(took < Duration::from_secs(8), "took {took:?}");
    assert_eq!(db.count("SELECT COUNT(*) FROM core_alerteprojet"), 9);
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE state = 'queued'"), 8);
}

#[test]
fn killed_after_commit_before_delivery_next_run_delivers_without_duplicate() {
    let mut db = TestDb::new();
    scenario(&mut db);
    // A server that never answers holds the run right after its commit.
    let silent = SmtpSink::start();
    silent.configure(|b| b.silent = true);
    let mut child = spawn(&db, &silent.url(), None, &CHECK);
    wait_until("the commit", Duration::from_secs(20), || {
        db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE state = 'queued'") == 8
    });
    wait_until("the SMTP connection", Duration::from_secs(20), || silent.sessions() > 0);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(db.count("SELECT COUNT(*) FROM core_alerteprojet"), 9);

    let sink = SmtpSink::start();
    let out = db.run(&sink.url(), &["deliver"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let out = db.run(&sink.url(), &CHECK);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let ids = message_ids(&sink);
    assert_eq!(ids.len(), 8);
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 8, "no duplicate");
    assert_eq!(db.count("SELECT COUNT(*) FROM core_alerteprojet"), 9);
}

#[test]
fn killed_mid_delivery_repeats_at_most_the_one_in_flight_with_the_same_message_id() {
    let mut db = TestDb::new();
    scenario(&mut db);
    let sink = SmtpSink::start();
    sink.configure(|b| b.data_delay_ms = 300);
    let mut child = spawn(&db, &sink.url(), None, &CHECK);
    wait_until("three deliveries", Duration::from_secs(30), || sink.count() >= 3);
    child.kill().unwrap();
    child.wait().unwrap();
    sink.configure(|b| b.data_delay_ms = 0);
    let out = db.run(&sink.url(), &CHECK);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let ids = message_ids(&sink);
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for id in &ids {
        *per_id.entry(id.clone()).or_default() += 1;
    }
    assert_eq!(per_id.len(), 8, "every e-mail delivered");
    let repeated: Vec<_> = per_id.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.len() <= 1 && repeated.iter().all(|(_, n)| **n == 2), "{repeated:?}");
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE state = 'sent'"), 8);
}

#[test]
fn sigterm_stops_cleanly_marks_the_run_interrupted_exit_75() {
    let mut db = TestDb::new();
    scenario(&mut db);
    let sink = SmtpSink::start();
    sink.configure(|b| b.data_delay_ms = 300);
    let child = spawn(&db, &sink.url(), None, &CHECK);
    wait_until("a delivery", Duration::from_secs(30), || sink.count() >= 1);
    let status = std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(75), "{}", all_output(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_runs WHERE status = 'interrupted'"), 1);
    let sent_then = sink.count();
    assert!(sent_then < 8, "{sent_then}");
    sink.configure(|b| b.data_delay_ms = 0);
    let out = db.run(&sink.url(), &["deliver"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert_eq!(sink.count(), 8);
}

#[test]
fn concurrent_runs_same_and_different_lock_files_never_duplicate() {
    let mut db = TestDb::new();
    scenario(&mut db);
    let sink = SmtpSink::start();
    let other_lock = db.dir.path().join("other-host.lock");
    let other_lock = other_lock.to_str().unwrap();
    let mut expected_rows = 0;
    for day in 0..20 {
        // Each day owes new overdue alerts (aa02), so every round has work.
        let at = if day < 10 {
            format!("2026-03-{:02}T08:00:00+01:00", 16 + day)
        } else {
            format!("2026-04-{:02}T08:00:00+02:00", day - 9)
        };
        let same_host = day % 2 == 0;
        let lock = if same_host { None } else { Some(other_lock) };
        let a = spawn(&db, &sink.url(), None, &["run-all", "--at", &at]);
        let b = spawn(&db, &sink.url(), lock, &["run-all", "--at", &at]);
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        let codes = [a.status.code(), b.status.code()];
        assert!(codes.contains(&Some(0)), "round {day}: {codes:?} {} {}", all_output(&a), all_output(&b));
        assert!(codes.iter().all(|c| *c == Some(0) || *c == Some(75)), "round {day}: {codes:?}");
        let before = expected_rows;
        expected_rows = db.count("SELECT COUNT(*) FROM core_alerteprojet");
        assert!(expected_rows > before, "round {day} created nothing");
    }
    // Exactly one row per identity, one e-mail per mailed row.
    assert_eq!(
        db.count("SELECT COUNT(*) FROM (SELECT destinataire_id, projet_id, type_alerte, DATE(date_creation) d, COUNT(*) n FROM core_alerteprojet GROUP BY 1, 2, 3, 4 HAVING n > 1) x"),
        0
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries"), expected_rows);
    let ids = message_ids(&sink);
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "an e-mail was sent twice");
    assert_eq!(ids.len() as i64, db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE state = 'sent'"));
}

/// A self-signed server certificate, and a config file trusting its CA.
fn trusted_tls(db: &TestDb) -> (std::sync::Arc<rustls::ServerConfig>, String) {
    let (server, ca) = crate::common::smtp::self_signed();
    let ca_file = db.dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca).unwrap();
    (server, config(db, &format!("smtp_ca_file = {:?}\n", ca_file.display().to_string())))
}

#[test]
fn starttls_is_used_when_offered_and_required_means_required() {
    let mut db = TestDb::new();
    scenario(&mut db);
    let (server, cfg) = trusted_tls(&db);

    // Required, but the server offers no STARTTLS: nothing goes out in clear.
    let plain = SmtpSink::start();
    let url = format!("smtp://localhost:{}?tls=required", plain.port);
    let out = db.run(&url, &["--config", &cfg, "check-project-deadlines", "--at", AT]);
    assert_eq!(out.status.code(), Some(78), "{}", all_output(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("STARTTLS"), "{}", all_output(&out));
    assert_eq!(plain.count(), 0);

    // Required, offered, but the certificate is not trusted: still nothing.
    let tls = SmtpSink::start();
    tls.configure(|b| b.tls = Some(server.clone()));
    db.exec("UPDATE sigov_alerts_deliveries SET next_attempt_at = NULL");
    let url = format!("smtp://localhost:{}?tls=required", tls.port);
    let out = db.run(&url, &["deliver"]);
    assert_eq!(out.status.code(), Some(78), "{}", all_output(&out));
    assert_eq!(tls.count(), 0);

    // Opportunistic on loopback with the CA trusted: every e-mail over TLS.
    db.exec("UPDATE sigov_alerts_deliveries SET next_attempt_at = NULL");
    let url = format!("smtp://localhost:{}", tls.port);
    let out = db.run(&url, &["--config", &cfg, "deliver"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert_eq!(tls.count(), 8);
    assert_eq!(tls.tls_sessions(), tls.sessions(), "every session switched to TLS before any mail");
}

#[test]
fn smtps_speaks_tls_from_the_first_byte() {
    let mut db = TestDb::new();
    scenario(&mut db);
    let (server, cfg) = trusted_tls(&db);
    let sink = SmtpSink::start();
    sink.configure(|b| {
        b.tls = Some(server);
        b.implicit_tls = true;
    });
    let url = format!("smtps://localhost:{}", sink.port);
    let out = db.run(&url, &["--config", &cfg, "check-project-deadlines", "--at", AT]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert_eq!(sink.count(), 8);
    assert_eq!(sink.tls_sessions(), sink.sessions());
    // Without the CA the certificate is refused and the mail waits.
    db.exec("UPDATE sigov_alerts_deliveries SET state = 'queued', next_attempt_at = NULL");
    let out = db.run(&url, &["deliver"]);
    assert_eq!(out.status.code(), Some(78), "{}", all_output(&out));
    assert_eq!(sink.count(), 8);
}
