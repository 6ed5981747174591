//! Nothing lost, nothing twice, under the faults operators meet: a run
//! killed on one host and finished on another, two databases sharing one
//! lock file, a relay that refuses our password, defers or rejects
//! everything, never greets, a stalled database, and several deliverers at
//! once with no lock to serialise them. Faults are driven by the SMTP sink
//! (hold after N messages, then kill), never by sleeping and hoping.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{SmtpSink, TestDb, all_output, header};
use crate::project_deadlines::AT;

/// The bound a kill may repeat: unconfirmed messages (one confirmation per
/// 100) plus the one on the wire.
const REPEAT_BOUND: usize = 100 + 1;

/// `n` users, each the creator of one running project due in 7 days: `n`
/// J-7 e-mails, one per address.
pub fn bulk(db: &mut TestDb, n: usize) {
    db.reference();
    db.exec(&bulk_sql(n));
}

/// The SQL of [`bulk`] (without the reference rows).
pub fn bulk_sql(n: usize) -> String {
    format!(
        "INSERT INTO core_utilisateur (password, is_superuser, username, first_name, last_name, email, is_staff,
         is_active, date_joined, id, telephone, taux_horaire, statut_actif, date_creation, tentatives_connexion_echouees)
         SELECT 'x', 0, CONCAT('u', seq), 'Prénom', CONCAT('Nom', seq), CONCAT('u', seq, '@example.org'), 0, 1, NOW(),
                CONCAT('b', LPAD(HEX(seq), 31, '0')), '', 0, 1, NOW(), 0 FROM seq_1_to_{n};
         INSERT INTO core_projet (id, nom, description, client, budget_previsionnel, devise, priorite, date_creation,
         date_modification, commentaires, createur_id, statut_id, notifications_admin_activees, date_fin)
         SELECT CONCAT('c', LPAD(HEX(seq), 31, '0')), CONCAT('Projet ', seq), '', 'ACME', 0, 'EUR', 'HAUTE', NOW(6), NOW(6), '',
                CONCAT('b', LPAD(HEX(seq), 31, '0')), (SELECT id FROM core_statutprojet WHERE nom = 'EN_COURS'), 1, '2026-03-23'
         FROM seq_1_to_{n};"
    )
}

fn spawn(db: &TestDb, lock: &std::path::Path, args: &[&str]) -> Child {
    bin(&db.url, lock).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn")
}

fn bin(url: &str, lock: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sigov-alerts"));
    c.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    c.arg("--database-url").arg(url).arg("--lock-file").arg(lock);
    c
}

fn config(db: &TestDb, name: &str, body: &str) -> String {
    let path = db.dir.path().join(name);
    std::fs::write(&path, body).unwrap();
    path.display().to_string()
}

/// Message-IDs received, with how many times each.
pub fn per_message_id(sink: &SmtpSink) -> HashMap<String, usize> {
    let mut per: HashMap<String, usize> = HashMap::new();
    for m in sink.received() {
        *per.entry(header(&m.data, "Message-ID").unwrap()).or_default() += 1;
    }
    per
}

fn queued(db: &mut TestDb) -> i64 {
    db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE state = 'queued'")
}

/// Runs `run-all` on host A until the sink holds its N+1th message, kills
/// it, deletes everything A kept locally, and lets host B (its own lock
/// file) finish. Returns the number of repeated e-mails.
fn cross_host_kill(trial: usize) -> usize {
    let mut db = TestDb::new();
    bulk(&mut db, 300);
    let sink = SmtpSink::start();
    let held_after = 120 + 37 * trial;
    sink.configure(|b| b.block_after = Some(held_after));
    let host_a = tempfile::tempdir().unwrap();
    let mut a =
        spawn(&db, &host_a.path().join("a.lock"), &["--smtp-url", &sink.url(), "run-all", "--at", AT, "--replay"]);
    assert!(
        sink.wait_for(60, |s| s.blocked() == 1 && s.count() == held_after),
        "A never reached its {held_after}th message"
    );
    a.kill().unwrap(); // SIGKILL, mid-delivery: one message on the wire
    a.wait().unwrap();
    sink.drop_held();
    drop(host_a); // A's local state is gone (a reboot, or another host)
    let host_b = tempfile::tempdir().unwrap();
    let out =
        bin(&db.url, &host_b.path().join("b.lock")).args(["--smtp-url", &sink.url(), "deliver"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let per = per_message_id(&sink);
    assert_eq!(per.len(), 300, "every e-mail delivered (0 lost)");
    assert_eq!(queued(&mut db), 0);
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE state = 'sent'"), 300);
    per.values().map(|n| n - 1).sum()
}

#[test]
fn killed_on_one_host_finished_on_another_repeats_at_most_the_bound_and_loses_nothing() {
    // scripts/bench --kill-trials=20 runs more.
    let trials = std::env::var("SIGOV_KILL_TRIALS").ok().and_then(|n| n.parse().ok()).unwrap_or(3);
    let mut worst = 0;
    for trial in 0..trials {
        let repeats = cross_host_kill(trial % 4);
        println!("trial {trial}: {repeats} repeated");
        assert!(repeats <= REPEAT_BOUND, "trial {trial}: {repeats} repeats");
        worst = worst.max(repeats);
    }
    println!("worst: {worst} repeated over {trials} trials");
}

#[test]
fn two_databases_sharing_one_lock_file_neither_lose_nor_mark_unsent_mail_sent() {
    let mut staging = TestDb::new();
    let mut production = TestDb::new();
    bulk(&mut staging, 200);
    bulk(&mut production, 200);
    let shared = tempfile::tempdir().unwrap();
    let lock = shared.path().join("sigov-alerts.lock");
    let (s_sink, p_sink) = (SmtpSink::start(), SmtpSink::start());
    s_sink.configure(|b| b.block_after = Some(80));
    let mut a = spawn(&staging, &lock, &["--smtp-url", &s_sink.url(), "run-all", "--at", AT, "--replay"]);
    assert!(s_sink.wait_for(60, |s| s.blocked() == 1), "staging never reached its 81st message");
    a.kill().unwrap();
    a.wait().unwrap();
    s_sink.drop_held();
    // Production's run on the same lock file, then staging's next run.
    let out = bin(&production.url, &lock)
        .args(["--smtp-url", &p_sink.url(), "run-all", "--at", AT, "--replay"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let out = bin(&staging.url, &lock).args(["--smtp-url", &s_sink.url(), "deliver"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    for (db, sink, name) in [(&mut staging, &s_sink, "staging"), (&mut production, &p_sink, "production")] {
        let received = per_message_id(sink);
        let sent = db.rows("SELECT message_id FROM sigov_alerts_deliveries WHERE state = 'sent'");
        assert_eq!(sent.len(), 200, "{name}: every e-mail recorded sent");
        for row in &sent {
            assert!(received.contains_key(&row[0]), "{name}: {} marked sent, never sent", row[0]);
        }
        assert_eq!(received.len(), 200, "{name}: 0 lost");
    }
}

#[test]
fn relay_refusing_the_password_fails_nothing_tries_once_and_delivers_once_fixed() {
    let mut db = TestDb::new();
    bulk(&mut db, 30);
    let sink = SmtpSink::start();
    sink.configure(|b| b.auth = Some(("alerts".into(), "right".into())));
    let url = |pw: &str| format!("smtp://alerts:{pw}@127.0.0.1:{}?tls=none", sink.port);
    let out = db.run(&url("rotated"), &["run-all", "--at", AT, "--replay"]);
    assert_eq!(out.status.code(), Some(78), "{}", all_output(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("535") && err.contains("password"), "{err}");
    assert!(!all_output(&out).contains("rotated"), "the password never appears");
    assert_eq!(sink.auth_attempts(), 1, "AUTH is tried once per run");
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE state <> 'queued'"), 0);
    assert_eq!(db.count("SELECT CAST(MAX(attempts) AS SIGNED) FROM sigov_alerts_deliveries"), 0);
    let out = db.run(&url("right"), &["deliver"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert_eq!(sink.count(), 30);
    assert_eq!(sink.auth_attempts(), 2);
}

#[test]
fn a_relay_deferring_everything_trips_the_breaker_within_seconds_all_stays_queued() {
    let mut db = TestDb::new();
    bulk(&mut db, 200);
    let sink = SmtpSink::start();
    sink.configure(|b| b.rcpt_all = Some("451 4.3.0 try again later".into()));
    let start = Instant::now();
    let out = db.run(&sink.url(), &["run-all", "--at", AT, "--replay"]);
    let took = start.elapsed();
    assert_eq!(out.status.code(), Some(75), "{}", all_output(&out));
    assert!(took < Duration::from_secs(30), "took {took:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("circuit_breaker"), "{}", all_output(&out));
    assert_eq!(queued(&mut db), 200);
    assert!(db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE attempts > 0") <= 5);
    // 421 stops at once: the relay is shutting down.
    sink.configure(|b| {
        b.rcpt_all = None;
        b.mail_reply = Some("421 4.3.2 service shutting down".into());
    });
    let out = db.run(&sink.url(), &["deliver", "--now"]);
    assert_eq!(out.status.code(), Some(75), "{}", all_output(&out));
    assert_eq!(queued(&mut db), 200);
    assert_eq!(sink.count(), 0);
    // Once the relay is back, nothing waits behind a backoff.
    sink.configure(|b| b.mail_reply = None);
    let out = db.run(&sink.url(), &["deliver", "--now"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert_eq!(sink.count(), 200);
    assert_eq!(queued(&mut db), 0);
}

#[test]
fn the_same_permanent_reply_for_every_recipient_is_the_relay_s_fault() {
    let mut db = TestDb::new();
    bulk(&mut db, 50);
    let sink = SmtpSink::start();
    sink.configure(|b| b.rcpt_all = Some("554 5.7.1 <{addr}>: Relay access denied".into()));
    let out = db.run(&sink.url(), &["run-all", "--at", AT, "--replay"]);
    assert_eq!(out.status.code(), Some(75), "{}", all_output(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Relay access denied"), "{}", all_output(&out));
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE state = 'failed'"), 0);
    assert_eq!(queued(&mut db), 50);
    assert!(sink.sessions() <= 1);
    // One recipient's own rejection is still recorded as theirs.
    sink.configure(|b| {
        b.rcpt_all = None;
        b.rcpt_replies.insert("u7@example.org".into(), "550 5.1.1 <u7@example.org>: no such user".into());
    });
    let out = db.run(&sink.url(), &["deliver"]);
    assert_eq!(out.status.code(), Some(65), "{}", all_output(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("u7@example.org"), "the warning names the address: {err}");
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE state = 'failed'"), 1);
    assert_eq!(sink.count(), 49);
}

#[test]
fn a_server_that_never_greets_ends_the_run_within_smtp_timeout() {
    let mut db = TestDb::new();
    bulk(&mut db, 5);
    let sink = SmtpSink::start();
    sink.configure(|b| b.silent = true);
    // send_timeout is long: only smtp_timeout bounds the greeting.
    let cfg = config(&db, "t.toml", "smtp_timeout = \"2s\"\nsend_timeout = \"60s\"\n");
    let start = Instant::now();
    let out = db.run(&sink.url(), &["--config", &cfg, "run-all", "--at", AT, "--replay"]);
    let took = start.elapsed();
    assert_eq!(out.status.code(), Some(75), "{}", all_output(&out));
    assert!(took < Duration::from_secs(6), "took {took:?} (3 × smtp_timeout)");
    assert!(String::from_utf8_lossy(&out.stderr).contains("greeting"), "{}", all_output(&out));
    assert_eq!(queued(&mut db), 5);
}

#[test]
fn mail_older_than_max_delivery_age_is_never_sent() {
    let mut db = TestDb::new();
    bulk(&mut db, 10);
    let down = format!("smtp://127.0.0.1:{}?tls=none", free_port());
    let out = db.run(&down, &["run-all", "--at", AT, "--replay"]);
    assert_eq!(out.status.code(), Some(75), "{}", all_output(&out));
    assert_eq!(queued(&mut db), 10);
    // A week later the relay is back: the J-7 reminders are stale.
    db.exec("UPDATE sigov_alerts_deliveries SET created_at = created_at - INTERVAL 7 DAY, queued_at = NULL");
    let sink = SmtpSink::start();
    let out = db.run(&sink.url(), &["deliver", "--now"]);
    assert_eq!(out.status.code(), Some(65), "{}", all_output(&out));
    assert_eq!(sink.count(), 0);
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE state = 'abandoned'"), 10);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `n` deliverers at once, each `deliver --now --format json` with the
/// database lock off and its own lock file, against `urls` in turn; the
/// sink holds each session's first message until all are sending. Returns
/// what each reported sent.
pub fn split_outbox(urls: &[String], n: usize, sink: &SmtpSink, dir: &std::path::Path) -> Vec<u64> {
    sink.configure(|b| b.hold_until_sessions = Some(n));
    let cfg = dir.join("no-database-lock.toml");
    std::fs::write(&cfg, "database_lock = false\n").unwrap();
    let children: Vec<Child> = (0..n)
        .map(|i| {
            bin(&urls[i % urls.len()], &dir.join(format!("host{i}.lock")))
                .arg("--config")
                .arg(&cfg)
                .args(["--smtp-url", &sink.url(), "deliver", "--now", "--format", "json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
            v["sent"].as_u64().unwrap()
        })
        .collect()
}

/// Queues `n` e-mails: a run with the relay down.
pub fn queue(db: &mut TestDb, n: usize) {
    bulk(db, n);
    let down = format!("smtp://127.0.0.1:{}?tls=none", free_port());
    let out = db.run(&down, &["run-all", "--at", AT, "--replay"]);
    assert_eq!(out.status.code(), Some(75), "{}", all_output(&out));
    assert_eq!(queued(db), n as i64);
}

#[test]
fn three_deliverers_without_a_lock_split_the_outbox_and_send_each_e_mail_once() {
    let mut db = TestDb::new();
    queue(&mut db, 2000);
    let sink = SmtpSink::start_on(0, true);
    let sent = split_outbox(std::slice::from_ref(&db.url), 3, &sink, db.dir.path());
    println!("each deliverer sent {sent:?}");
    assert!(sent.iter().all(|n| *n > 0), "each deliverer sent some: {sent:?}");
    assert_eq!(sent.iter().sum::<u64>(), 2000, "{sent:?}");
    let per = per_message_id(&sink);
    assert_eq!(per.len(), 2000);
    assert!(per.values().all(|n| *n == 1), "an e-mail was sent twice");
    assert_eq!(queued(&mut db), 0);
}

#[test]
fn a_stalled_database_ends_the_run_with_75_within_database_timeout() {
    let server = crate::common::private_server();
    let mut db = TestDb::on(&server.url);
    // Whatever happens, the server goes on before the database is dropped.
    let _resume = Resume(&server);
    bulk(&mut db, 20);
    let sink = SmtpSink::start();
    // The relay holds the first message; the database is stopped meanwhile.
    sink.configure(|b| b.block_after = Some(0));
    let cfg = config(&db, "t.toml", "database_timeout = \"3s\"\n");
    let mut run = bin(&db.url, &db.lock_file())
        .args(["--config", &cfg, "--smtp-url", &sink.url(), "run-all", "--at", AT, "--replay"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(sink.wait_for(60, |s| s.blocked() == 1), "the run never reached delivery");
    server.stop_process(); // SIGSTOP: the server accepts nothing, answers nothing
    let start = Instant::now();
    sink.release();
    let status = loop {
        if let Some(s) = run.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(9), "still waiting after 3 × database_timeout");
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = run.wait_with_output().unwrap();
    assert_eq!(status.code(), Some(75), "{}", all_output(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("database_timeout"), "{err}");
    assert!(err.lines().all(|l| l.len() < 2000), "no statement text in the log: {err}");
}

struct Resume<'a>(&'a crate::common::PrivateServer);

impl Drop for Resume<'_> {
    fn drop(&mut self) {
        self.0.continue_process();
    }
}

#[test]
fn no_such_user_for_several_recipients_in_a_row_is_theirs_not_the_relay_s() {
    let mut db = TestDb::new();
    bulk(&mut db, 10);
    let sink = SmtpSink::start();
    sink.configure(|b| {
        for u in ["u1", "u2", "u3", "u4"] {
            let a = format!("{u}@example.org");
            b.rcpt_replies.insert(a.clone(), format!("550 5.1.1 <{a}>: Recipient address rejected: User unknown"));
        }
    });
    let out = db.run(&sink.url(), &["run-all", "--at", AT, "--replay"]);
    assert_eq!(out.status.code(), Some(65), "{}", all_output(&out));
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE state = 'failed'"), 4);
    assert_eq!(sink.count(), 6);
}

#[test]
fn mail_a_relay_fault_stopped_on_goes_last_and_holds_up_nothing() {
    let mut db = TestDb::new();
    bulk(&mut db, 20);
    let sink = SmtpSink::start();
    // Three recipients the relay refuses alike, first in line.
    let denied = ["u1", "u2", "u3"];
    sink.configure(|b| {
        for u in denied {
            let a = format!("{u}@example.org");
            b.rcpt_replies.insert(a.clone(), format!("554 5.7.1 <{a}>: Relay access denied"));
        }
    });
    let out = db.run(&sink.url(), &["run-all", "--at", AT, "--replay"]);
    assert_eq!(out.status.code(), Some(75), "{}", all_output(&out));
    let sent_first = sink.count();
    // The next delivery sends everything else before meeting them again.
    let out = db.run(&sink.url(), &["deliver"]);
    assert_eq!(out.status.code(), Some(75), "{}", all_output(&out));
    assert_eq!(sink.count(), 17, "first run sent {sent_first}: {}", all_output(&out));
    assert_eq!(queued(&mut db), 3);
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE state = 'failed'"), 0);
}
