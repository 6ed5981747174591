//! Nothing lost, nothing twice, under the faults operators meet: a run
//! killed on one host and finished on another, two databases sharing one
//! lock file, a relay that refuses our password, defers or rejects
//! everything, never greets, a stalled database, and several deliverers at
//! once with no lock to serialise them. Faults are driven by the SMTP sink
//! (hold after N messages, then kill), never by sleeping and hoping.

use std::path::Path;

use crate::common::{Ran, Sigov, SmtpSink, Spawned, TestDb, per_message_id, relay_down};
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

/// A new database holding [`bulk`]'s `n` users and projects, and a sink.
fn bulk_and_sink(n: usize) -> (TestDb, SmtpSink) {
    let mut db = TestDb::new();
    bulk(&mut db, n);
    (db, SmtpSink::start())
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

/// `run-all` at [`AT`], for real.
const RUN_ALL: [&str; 4] = ["run-all", "--at", AT, "--replay"];

/// `args` on `db`'s database with lock file `lock`, mailing to `sink`.
fn on(db: &TestDb, lock: &Path, sink: &SmtpSink, args: &[&str]) -> Sigov {
    db.sigov(args).opt("--lock-file", lock).smtp(sink.url())
}

/// `args` mailing to `smtp`, exit `code`.
fn run(db: &TestDb, smtp: &str, args: &[&str], code: i32) -> Ran {
    db.sigov(args).smtp(smtp).expect(code)
}

/// `run-all` started on `db` with lock file `lock`, mailing to `sink` that
/// holds message `held + 1`: killed once it is on the wire, the held
/// message dropped unanswered.
fn killed_at(db: &TestDb, lock: &Path, sink: &SmtpSink, held: usize) {
    sink.configure(|b| b.block_after = Some(held));
    let run = on(db, lock, sink, &RUN_ALL).spawn();
    assert!(sink.wait_for(60, |s| s.blocked() == 1 && s.count() == held), "the run never reached message {}", held + 1);
    run.kill(); // SIGKILL, mid-delivery: one message on the wire
    sink.drop_held();
}

fn queued(db: &mut TestDb) -> i64 {
    db.deliveries("queued")
}

/// Runs `run-all` on host A until the sink holds its N+1th message, kills
/// it, deletes everything A kept locally, and lets host B (its own lock
/// file) finish. Returns the number of repeated e-mails.
fn cross_host_kill(trial: usize) -> usize {
    let (mut db, sink) = bulk_and_sink(300);
    let host_a = tempfile::tempdir().unwrap();
    killed_at(&db, &host_a.path().join("a.lock"), &sink, 120 + 37 * trial);
    drop(host_a); // A's local state is gone (a reboot, or another host)
    let host_b = tempfile::tempdir().unwrap();
    on(&db, &host_b.path().join("b.lock"), &sink, &["deliver"]).expect(0);
    let per = per_message_id(&sink);
    assert_eq!(per.len(), 300, "every e-mail delivered (0 lost)");
    assert_eq!(queued(&mut db), 0);
    assert_eq!(db.deliveries("sent"), 300);
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
    killed_at(&staging, &lock, &s_sink, 80);
    // Production's run on the same lock file, then staging's next run.
    on(&production, &lock, &p_sink, &RUN_ALL).expect(0);
    on(&staging, &lock, &s_sink, &["deliver"]).expect(0);
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
    let (mut db, sink) = bulk_and_sink(30);
    sink.configure(|b| b.auth = Some(("alerts".into(), "right".into())));
    let url = |pw: &str| format!("smtp://alerts:{pw}@127.0.0.1:{}?tls=none", sink.port);
    let ran = run(&db, &url("rotated"), &RUN_ALL, 78);
    ran.assert_stderr(&["535", "password"]);
    assert!(!ran.all().contains("rotated"), "the password never appears");
    assert_eq!(sink.auth_attempts(), 1, "AUTH is tried once per run");
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE state <> 'queued'"), 0);
    assert_eq!(db.count("SELECT CAST(MAX(attempts) AS SIGNED) FROM sigov_alerts_deliveries"), 0);
    run(&db, &url("right"), &["deliver"], 0);
    assert_eq!(sink.count(), 30);
    assert_eq!(sink.auth_attempts(), 2);
}

#[test]
fn a_relay_deferring_everything_trips_the_breaker_after_a_few_e_mails_all_stays_queued() {
    let (mut db, sink) = bulk_and_sink(200);
    sink.configure(|b| b.rcpt_all = Some("451 4.3.0 try again later".into()));
    // The breaker, not the 200 e-mails' retries, ends the run: a handful tried.
    run(&db, &sink.url(), &RUN_ALL, 75).assert_stderr(&["circuit_breaker"]);
    assert_eq!(queued(&mut db), 200);
    assert!(db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE attempts > 0") <= 5);
    // 421 stops at once: the relay is shutting down.
    sink.configure(|b| {
        b.rcpt_all = None;
        b.mail_reply = Some("421 4.3.2 service shutting down".into());
    });
    run(&db, &sink.url(), &["deliver", "--now"], 75);
    assert_eq!(queued(&mut db), 200);
    assert_eq!(sink.count(), 0);
    // Once the relay is back, nothing waits behind a backoff.
    sink.configure(|b| b.mail_reply = None);
    run(&db, &sink.url(), &["deliver", "--now"], 0);
    assert_eq!(sink.count(), 200);
    assert_eq!(queued(&mut db), 0);
}

#[test]
fn the_same_permanent_reply_for_every_recipient_is_the_relay_s_fault() {
    let (mut db, sink) = bulk_and_sink(50);
    sink.configure(|b| b.rcpt_all = Some("554 5.7.1 <{addr}>: Relay access denied".into()));
    run(&db, &sink.url(), &RUN_ALL, 75).assert_stderr(&["Relay access denied"]);
    assert_eq!(db.deliveries("failed"), 0);
    assert_eq!(queued(&mut db), 50);
    assert!(sink.sessions() <= 1);
    // One recipient's own rejection is still recorded as theirs.
    sink.configure(|b| b.rcpt_all = None);
    sink.refuse(&["u7@example.org"], "550 5.1.1 <{addr}>: no such user");
    // The warning names the address.
    run(&db, &sink.url(), &["deliver"], 65).assert_stderr(&["u7@example.org"]);
    assert_eq!(db.deliveries("failed"), 1);
    assert_eq!(sink.count(), 49);
}

#[test]
fn a_server_that_never_greets_ends_the_run_on_smtp_timeout() {
    let (mut db, sink) = bulk_and_sink(5);
    sink.configure(|b| b.silent = true);
    // send_timeout is long: only smtp_timeout bounds the greeting, and the
    // error names it.
    let cfg = db.file("t.toml", "smtp_timeout = \"2s\"\nsend_timeout = \"60s\"\n");
    let ran = db.sigov(&RUN_ALL).config(&cfg).smtp(sink.url()).spawn().finish().expect(75);
    ran.assert_stderr(&["to the greeting within 2s (smtp_timeout)"]);
    assert!(!ran.stderr.contains("send_timeout"), "{ran:?}");
    assert!(sink.sessions() >= 1, "the run reached the server");
    assert_eq!(queued(&mut db), 5);
}

#[test]
fn mail_older_than_max_delivery_age_is_never_sent() {
    let mut db = TestDb::new();
    queue(&mut db, 10);
    // A week later the relay is back: the J-7 reminders are stale.
    db.exec("UPDATE sigov_alerts_deliveries SET created_at = created_at - INTERVAL 7 DAY, queued_at = NULL");
    let sink = SmtpSink::start();
    run(&db, &sink.url(), &["deliver", "--now"], 65);
    assert_eq!(sink.count(), 0);
    assert_eq!(db.deliveries("abandoned"), 10);
}

/// `n` deliverers at once, each `deliver --now --format json` with the
/// database lock off and its own lock file, against `urls` in turn; the
/// sink holds each session's first message until all are sending. Each
/// sends some, together they send the `total` queued, each e-mail once.
pub fn split_outbox(urls: &[String], n: usize, sink: &SmtpSink, dir: &Path, total: u64) {
    sink.configure(|b| b.hold_until_sessions = Some(n));
    let cfg = dir.join("no-database-lock.toml");
    std::fs::write(&cfg, "database_lock = false\n").unwrap();
    let deliverers: Vec<Spawned> = (0..n)
        .map(|i| {
            Sigov::new(&["deliver", "--now", "--format", "json"])
                .opt("--database-url", &urls[i % urls.len()])
                .opt("--lock-file", dir.join(format!("host{i}.lock")))
                .config(&cfg)
                .smtp(sink.url())
                .spawn()
        })
        .collect();
    let sent: Vec<u64> =
        deliverers.into_iter().map(|d| d.finish().expect(0).json()["sent"].as_u64().unwrap()).collect();
    println!("each deliverer sent {sent:?}");
    assert!(sent.iter().all(|n| *n > 0), "each deliverer sent some: {sent:?}");
    assert_eq!(sent.iter().sum::<u64>(), total, "{sent:?}");
    let per = per_message_id(sink);
    assert_eq!(per.len(), total as usize);
    assert!(per.values().all(|n| *n == 1), "an e-mail was sent twice");
}

/// Queues `n` e-mails: a run with the relay down.
pub fn queue(db: &mut TestDb, n: usize) {
    bulk(db, n);
    run(db, &relay_down(), &RUN_ALL, 75);
    assert_eq!(queued(db), n as i64);
}

#[test]
fn three_deliverers_without_a_lock_split_the_outbox_and_send_each_e_mail_once() {
    let mut db = TestDb::new();
    queue(&mut db, 2000);
    let sink = SmtpSink::start_on(0, true);
    split_outbox(std::slice::from_ref(&db.url), 3, &sink, db.dir.path(), 2000);
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
    let cfg = db.file("t.toml", "database_timeout = \"3s\"\n");
    let run = db.sigov(&RUN_ALL).config(&cfg).smtp(sink.url()).spawn();
    assert!(sink.wait_for(60, |s| s.blocked() == 1), "the run never reached delivery");
    server.stop_process(); // SIGSTOP: the server accepts nothing, answers nothing
    sink.release();
    // The confirmation of the sent message gets no answer: the run ends, and
    // says that database_timeout ended it.
    let ran = run.finish().expect(75);
    ran.assert_stderr(&["no answer from the database within 3s (database_timeout)"]);
    assert!(ran.stderr.lines().all(|l| l.len() < 2000), "no statement text in the log: {ran:?}");
}

struct Resume<'a>(&'a crate::common::PrivateServer);

impl Drop for Resume<'_> {
    fn drop(&mut self) {
        self.0.continue_process();
    }
}

#[test]
fn no_such_user_for_several_recipients_in_a_row_is_theirs_not_the_relay_s() {
    let (mut db, sink) = bulk_and_sink(10);
    let unknown = ["u1@example.org", "u2@example.org", "u3@example.org", "u4@example.org"];
    sink.refuse(&unknown, "550 5.1.1 <{addr}>: Recipient address rejected: User unknown");
    run(&db, &sink.url(), &RUN_ALL, 65);
    assert_eq!(db.deliveries("failed"), 4);
    assert_eq!(sink.count(), 6);
}

#[test]
fn mail_a_relay_fault_stopped_on_goes_last_and_holds_up_nothing() {
    let (mut db, sink) = bulk_and_sink(20);
    // Three recipients the relay refuses alike, first in line.
    sink.refuse(&["u1@example.org", "u2@example.org", "u3@example.org"], "554 5.7.1 <{addr}>: Relay access denied");
    run(&db, &sink.url(), &RUN_ALL, 75);
    let sent_first = sink.count();
    // The next delivery sends everything else before meeting them again.
    let ran = run(&db, &sink.url(), &["deliver"], 75);
    assert_eq!(sink.count(), 17, "first run sent {sent_first}: {ran:?}");
    assert_eq!(queued(&mut db), 3);
    assert_eq!(db.deliveries("failed"), 0);
}
