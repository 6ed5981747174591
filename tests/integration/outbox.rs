//! The outbox made visible and steerable: `outbox` lists what is owed or
//! given up, `outbox retry` queues it again to the app's current address,
//! `outbox discard` cancels it, `deliver --now` flushes it.

use std::process::Output;

use crate::common::{SmtpSink, TestDb, all_output, header, uid};
use crate::project_deadlines::{AT, scenario};

const CHECK: [&str; 4] = ["check-project-deadlines", "--at", AT, "--replay"];
/// A zone without summer time, so offsets are known whatever the date.
const TZ: &str = "Asia/Kolkata";

fn outbox(db: &TestDb, args: &[&str]) -> Output {
    db.cmd(&["--timezone", TZ, "outbox"]).args(args).output().expect("run outbox")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(o: &Output) -> Vec<serde_json::Value> {
    assert_eq!(o.status.code(), Some(0), "{}", all_output(o));
    serde_json::from_slice::<serde_json::Value>(&o.stdout).expect("JSON").as_array().expect("an array").clone()
}

/// The scenario run once with alice@example.org refused by the relay (550).
fn one_rejected(db: &mut TestDb) -> SmtpSink {
    scenario(db);
    let sink = SmtpSink::start();
    sink.configure(|b| {
        b.rcpt_replies.insert("alice@example.org".into(), "550 5.1.1 <alice@example.org>: no such user".into());
    });
    let out = db.run(&sink.url(), &CHECK);
    assert_eq!(out.status.code(), Some(65), "{}", all_output(&out));
    assert_eq!(sink.count(), 7);
    sink.configure(|b| b.rcpt_replies.clear());
    sink
}

fn ledger_id(db: &mut TestDb, filter: &str) -> String {
    let rows = db.rows(&format!("SELECT CAST(id AS CHAR) FROM sigov_alerts_deliveries WHERE {filter} ORDER BY id"));
    assert_eq!(rows.len(), 1, "{filter}: {rows:?}");
    rows[0][0].clone()
}

#[test]
fn outbox_lists_a_rejected_address_in_text_and_json_with_local_offsets() {
    let mut db = TestDb::new();
    one_rejected(&mut db);
    let id = ledger_id(&mut db, "state = 'failed'");
    let titre = db.rows(&format!(
        "SELECT ap.titre FROM sigov_alerts_deliveries d JOIN core_alerteprojet ap ON ap.id = d.app_id WHERE d.id = {id}"
    ))[0][0]
        .clone();

    let out = outbox(&db, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("id") && lines[0].contains("address") && lines[0].contains("queued at"), "{text}");
    let row = lines.iter().find(|l| l.contains("alice@example.org")).unwrap_or_else(|| panic!("{text}"));
    assert!(row.trim_start().starts_with(&format!("{id} ")), "{row}");
    for cell in ["failed", "project_deadlines", &uid("aa01"), "+05:30", titre.as_str()] {
        assert!(row.contains(cell), "{cell} in {row}");
    }
    // Columns line up: the address starts at the header's column.
    assert_eq!(row.find("alice@example.org"), lines[0].find("address"), "{text}");
    assert!(text.contains("last reply") && text.contains("550") && text.contains("no such user"), "{text}");
    assert_eq!(lines.last(), Some(&"1 e-mail: 1 failed"), "{text}");

    let rows = json(&outbox(&db, &["--format", "json"]));
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = &rows[0];
    assert_eq!(r["id"].to_string(), id);
    assert_eq!(r["state"], "failed");
    assert_eq!(r["check"], "project_deadlines");
    assert_eq!(r["item_id"], uid("aa01"));
    assert_eq!(r["recipient_id"], uid("a1"));
    assert_eq!(r["address"], "alice@example.org");
    assert_eq!(r["subject"], titre.as_str());
    assert_eq!(r["attempts"], 1);
    assert!(r["last_reply"].as_str().unwrap().contains("no such user"), "{r}");
    assert!(r["next_attempt_at"].is_null(), "{r}");
    assert!(r["discarded_by"].is_null() && r["discard_reason"].is_null(), "{r}");
    let queued_at = r["queued_at"].as_str().unwrap();
    assert!(queued_at.ends_with("+05:30"), "{queued_at}");
    chrono::DateTime::parse_from_rfc3339(queued_at).expect("RFC 3339");
    assert!(r["message_id"].as_str().unwrap().starts_with('<'), "{r}");

    // Filters: the address case-insensitively, the check by command or slug.
    let by = |args: &[&str]| json(&outbox(&db, args)).len();
    assert_eq!(by(&["--format", "json", "--address", "ALICE@Example.org", "--check", "check-project-deadlines"]), 1);
    assert_eq!(by(&["--format", "json", "--check", "project_deadlines"]), 1);
    assert_eq!(by(&["--format", "json", "--check", "budget"]), 0);
    assert_eq!(by(&["--format", "json", "--state", "queued"]), 0);
    assert_eq!(by(&["--format", "json", "--state", "all"]), 9);
    assert_eq!(by(&["--format", "json", "--state", "sent", "--state", "no_email"]), 8);
    let out = outbox(&db, &["--state", "all", "--limit", "2"]);
    let text = stdout(&out);
    assert!(
        text.ends_with("9 e-mails: 1 failed, 7 sent, 1 no_email (showing the oldest 2; --limit 0 shows all)\n"),
        "{text}"
    );
    assert_eq!(stdout(&outbox(&db, &["--check", "check-budget"])), "no e-mail matches\n");
}

#[test]
fn retry_after_fixing_the_address_in_the_app_sends_there_with_the_same_message_id() {
    let mut db = TestDb::new();
    let sink = one_rejected(&mut db);
    let alice = ledger_id(&mut db, "state = 'failed'");
    let emma = ledger_id(&mut db, "state = 'no_email'");
    let message_id =
        db.rows(&format!("SELECT message_id FROM sigov_alerts_deliveries WHERE id = {alice}"))[0][0].clone();
    db.exec(&format!("UPDATE core_utilisateur SET email = 'alice.roux@example.org' WHERE id = '{}'", uid("a1")));

    let out = outbox(&db, &["retry", &alice, &emma, "999999", "--by", "ops"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("re-queued {alice} from failed: project_deadlines item {}", uid("aa01")))
            && text.contains("to alice.roux@example.org (address was alice@example.org)")
            && text.contains(&message_id),
        "{text}"
    );
    assert!(text.contains("1 e-mail re-queued by ops\n"), "{text}");
    assert!(text.contains(&format!("skipped {emma}: its recipient has no address in the app")), "{text}");
    assert!(text.contains("skipped 999999: no such e-mail in the ledger"), "{text}");
    let row = db.rows(&format!(
        "SELECT state, address, CAST(attempts AS CHAR), COALESCE(last_reply, 'NULL'), COALESCE(next_attempt_at, 'NULL'),
         CAST(queued_at IS NOT NULL AS CHAR), message_id FROM sigov_alerts_deliveries WHERE id = {alice}"
    ));
    assert_eq!(row[0], ["queued", "alice.roux@example.org", "0", "NULL", "NULL", "1", message_id.as_str()]);

    let out = db.run(&sink.url(), &["deliver"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert_eq!(sink.count(), 8);
    let mail = sink.received().pop().unwrap();
    assert_eq!(mail.to, ["alice.roux@example.org"]);
    assert_eq!(header(&mail.data, "Message-ID").as_deref(), Some(message_id.as_str()));
    assert_eq!(db.rows(&format!("SELECT state FROM sigov_alerts_deliveries WHERE id = {alice}"))[0][0], "sent");

    // A sent e-mail is not queued again; an invalid address is refused; once
    // the app has a valid one, an alert that was never mailed can be.
    db.exec(&format!("UPDATE core_utilisateur SET email = 'emma at example' WHERE id = '{}'", uid("e1")));
    let out = outbox(&db, &["-q", "retry", &alice, &emma]);
    let text = stdout(&out);
    assert!(text.starts_with("0 e-mails re-queued\n"), "{text}");
    assert!(text.contains(&format!("skipped {alice}: already sent")), "{text}");
    assert!(
        text.contains(&format!(
            "skipped {emma}: its recipient's address in the app is not a valid mailbox: emma at example"
        )),
        "{text}"
    );
    db.exec(&format!("UPDATE core_utilisateur SET email = 'emma@example.org' WHERE id = '{}'", uid("e1")));
    let out = outbox(&db, &["-q", "retry", &emma]);
    assert_eq!(stdout(&out), "1 e-mail re-queued\n", "{}", all_output(&out));
    let out = db.run(&sink.url(), &["deliver"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert_eq!(sink.count(), 9);
    assert_eq!(sink.received().pop().unwrap().to, ["emma@example.org"]);
}

#[test]
fn discard_records_who_and_why_is_never_delivered_and_retry_brings_it_back() {
    let mut db = TestDb::new();
    scenario(&mut db);
    // The relay is down: the run records everything and queues the mail.
    let out = db.run("smtp://127.0.0.1:1?tls=none", &CHECK);
    assert_eq!(out.status.code(), Some(75), "{}", all_output(&out));
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE state = 'queued'"), 8);
    // A deliverer holds the newest one right now.
    db.exec(
        "UPDATE sigov_alerts_deliveries SET claimed_by = 'aaaaaaaa-0000-4000-8000-000000000001',
         claim_expires_at = UTC_TIMESTAMP(6) + INTERVAL 1 HOUR WHERE state = 'queued' ORDER BY id DESC LIMIT 1",
    );
    let claimed = ledger_id(&mut db, "claimed_by IS NOT NULL");

    let out = outbox(&db, &["discard", "--before", "2000-01-01"]);
    assert_eq!(stdout(&out), "0 e-mails discarded\n", "{}", all_output(&out));
    let mut cmd = db.cmd(&["--timezone", TZ, "outbox", "discard", "--check", "check-project-deadlines"]);
    cmd.args(["--reason", "project closed"]).env("SUDO_USER", "claire").env("USER", "root");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().filter(|l| l.starts_with("discarded ")).count(), 7, "{text}");
    assert!(text.contains("7 e-mails discarded by claire: project closed\n"), "{text}");
    assert!(text.contains(&format!("skipped {claimed}: a deliverer holds it right now (run aaaaaaaa-")), "{text}");
    assert!(text.contains("+05:30)"), "{text}");
    assert_eq!(
        db.rows(
            "SELECT state, discarded_by, discard_reason, CAST(COUNT(*) AS CHAR) FROM sigov_alerts_deliveries
             WHERE state = 'discarded' GROUP BY 1, 2, 3"
        ),
        [["discarded", "claire", "project closed", "7"]]
    );
    assert_eq!(db.rows(&format!("SELECT state FROM sigov_alerts_deliveries WHERE id = {claimed}"))[0][0], "queued");

    let rows = json(&outbox(&db, &["--state", "discarded", "--format", "json"]));
    assert_eq!(rows.len(), 7);
    assert!(rows.iter().all(|r| r["discarded_by"] == "claire" && r["discard_reason"] == "project closed"));
    let text = stdout(&outbox(&db, &["--state", "discarded"]));
    assert!(text.contains("discarded by claire: project closed"), "{text}");
    assert!(text.ends_with("7 e-mails: 7 discarded\n"), "{text}");

    // Delivery never sends a discarded e-mail (the claim has expired meanwhile).
    db.exec("UPDATE sigov_alerts_deliveries SET claim_expires_at = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND WHERE claimed_by IS NOT NULL");
    let sink = SmtpSink::start();
    let out = db.run(&sink.url(), &["deliver", "--now"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert_eq!(sink.count(), 1);
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE state = 'discarded'"), 7);

    // `retry` brings one back, the discard forgotten, and it is delivered.
    let back = rows[0]["id"].to_string();
    let out = outbox(&db, &["retry", &back]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert!(stdout(&out).starts_with(&format!("re-queued {back} from discarded: ")), "{}", stdout(&out));
    assert_eq!(
        db.rows(&format!(
            "SELECT state, COALESCE(discarded_by, 'NULL'), COALESCE(discard_reason, 'NULL') FROM sigov_alerts_deliveries WHERE id = {back}"
        ))[0],
        ["queued", "NULL", "NULL"]
    );
    let out = db.run(&sink.url(), &["deliver"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert_eq!(sink.count(), 2);
    let expected = rows[0]["message_id"].as_str().unwrap();
    assert_eq!(header(&sink.received().pop().unwrap().data, "Message-ID").as_deref(), Some(expected));
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE state = 'discarded'"), 6);
}

#[test]
fn deliver_now_flushes_mail_waiting_for_its_retry_time() {
    let mut db = TestDb::new();
    scenario(&mut db);
    let sink = SmtpSink::start();
    // The first e-mail is deferred on each of its attempts in the run.
    sink.configure(|b| b.defer_next = 3);
    let out = db.run(&sink.url(), &CHECK);
    assert_eq!(out.status.code(), Some(75), "{}", all_output(&out));
    assert_eq!(sink.count(), 7);
    let waiting = ledger_id(&mut db, "state = 'queued' AND next_attempt_at > UTC_TIMESTAMP(6)");

    // status and outbox tell when it is tried next, in local time.
    let out = db.cmd(&["--timezone", TZ, "status", "--format", "json"]).output().unwrap();
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", all_output(&out)));
    assert_eq!(s["queued"], 1);
    assert_eq!(s["oldest_queued_id"].to_string(), waiting);
    let next = s["oldest_queued_next_attempt"].as_str().unwrap_or_else(|| panic!("{s}"));
    assert!(next.ends_with("+05:30"), "{next}");
    assert!(chrono::DateTime::parse_from_rfc3339(next).unwrap() > chrono::Utc::now());
    assert!(s["oldest_queued"].is_string(), "existing fields kept: {s}");
    let out = db.cmd(&["--timezone", TZ, "status"]).output().unwrap();
    let text = stdout(&out);
    assert!(
        text.contains(&format!("oldest queued e-mail: id {waiting}, next attempt ")) && text.contains("+05:30"),
        "{text}"
    );
    let text = stdout(&outbox(&db, &[]));
    let row =
        text.lines().find(|l| l.trim_start().starts_with(&format!("{waiting} "))).unwrap_or_else(|| panic!("{text}"));
    assert!(row.contains("queued") && row.matches("+05:30").count() == 2, "{row}");
    assert!(text.contains("451"), "{text}");

    // Not due yet: a plain `deliver` sends nothing.
    db.run(&sink.url(), &["deliver"]);
    assert_eq!(sink.count(), 7);
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE state = 'queued'"), 1);

    // `deliver --now` empties the outbox.
    let out = db.run(&sink.url(), &["deliver", "--now"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert_eq!(sink.count(), 8);
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE state = 'queued'"), 0);
    assert_eq!(db.rows(&format!("SELECT state FROM sigov_alerts_deliveries WHERE id = {waiting}"))[0][0], "sent");
}

#[test]
fn outbox_needs_the_migrations_and_retry_or_discard_a_selector() {
    let bare = TestDb::bare();
    let out = outbox(&bare, &[]);
    assert_eq!(out.status.code(), Some(78), "{}", all_output(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("run `sigov-alerts migrate` first"), "{err}");

    let db = TestDb::new();
    let out = outbox(&db, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert_eq!(stdout(&out), "no e-mail matches\n");
    assert_eq!(json(&outbox(&db, &["--format", "json"])).len(), 0);
    for args in [&["retry"][..], &["discard"], &["discard", "--reason", "x"], &["--check", "nope"]] {
        let out = outbox(&db, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", all_output(&out));
    }
    let out = outbox(&db, &["--check", "budget", "discard", "1"]);
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--state, --check"), "{}", all_output(&out));
    let out = outbox(&db, &["discard", "--before", "16/03/2026"]);
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
}
