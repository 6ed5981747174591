//! The outbox made visible and steerable: `outbox` lists what is owed or
//! given up, `outbox retry` queues it again to the app's current address,
//! `outbox discard` cancels it, `deliver --now` flushes it.

use crate::common::{Ran, Sigov, SmtpSink, TestDb, header, relay_down, uid};
use crate::project_deadlines::{CHECK, alice_refused, scenario, scenario_and_sink};

/// A zone without summer time, so offsets are known whatever the date.
const TZ: &str = "Asia/Kolkata";

/// `command` in [`TZ`].
fn in_tz(db: &TestDb, command: &str) -> Sigov {
    db.sigov(&[command]).opt("--timezone", TZ)
}

/// `outbox ARGS`, exit `code`.
fn outbox(db: &TestDb, args: &[&str], code: i32) -> Ran {
    in_tz(db, "outbox").args(args).expect(code)
}

/// The rows `outbox ARGS --format json` lists.
fn json(db: &TestDb, args: &[&str]) -> Vec<serde_json::Value> {
    let ran = outbox(db, &[args, &["--format", "json"]].concat(), 0);
    ran.json().as_array().expect("an array").clone()
}

/// The scenario run once with alice@example.org refused by the relay (550),
/// which then accepts everyone.
fn one_rejected() -> (TestDb, SmtpSink) {
    let (db, sink, _) = alice_refused();
    assert_eq!(sink.count(), 7);
    sink.configure(|b| b.rcpt_replies.clear());
    (db, sink)
}

/// `deliver ARGS` mailing to `sink`, exit `code`.
fn deliver(db: &TestDb, sink: &SmtpSink, args: &[&str], code: i32) {
    db.sigov(&["deliver"]).args(args).smtp(sink.url()).expect(code);
}

fn ledger_id(db: &mut TestDb, filter: &str) -> String {
    let rows = db.rows(&format!("SELECT CAST(id AS CHAR) FROM sigov_alerts_deliveries WHERE {filter} ORDER BY id"));
    assert_eq!(rows.len(), 1, "{filter}: {rows:?}");
    rows[0][0].clone()
}

#[test]
fn outbox_lists_a_rejected_address_in_text_and_json_with_local_offsets() {
    let (mut db, _sink) = one_rejected();
    let id = ledger_id(&mut db, "state = 'failed'");
    let titre = db.rows(&format!(
        "SELECT ap.titre FROM sigov_alerts_deliveries d JOIN core_alerteprojet ap ON ap.id = d.app_id WHERE d.id = {id}"
    ))[0][0]
        .clone();

    let text = outbox(&db, &[], 0).stdout;
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

    let rows = json(&db, &[]);
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
    let by = |args: &[&str]| json(&db, args).len();
    assert_eq!(by(&["--address", "ALICE@Example.org", "--check", "check-project-deadlines"]), 1);
    assert_eq!(by(&["--check", "project_deadlines"]), 1);
    assert_eq!(by(&["--check", "budget"]), 0);
    assert_eq!(by(&["--state", "queued"]), 0);
    assert_eq!(by(&["--state", "all"]), 9);
    assert_eq!(by(&["--state", "sent", "--state", "no_email"]), 8);
    let text = outbox(&db, &["--state", "all", "--limit", "2"], 0).stdout;
    assert!(
        text.ends_with("9 e-mails: 1 failed, 7 sent, 1 no_email (showing the oldest 2; --limit 0 shows all)\n"),
        "{text}"
    );
    assert_eq!(outbox(&db, &["--check", "check-budget"], 0).stdout, "no e-mail matches\n");
}

#[test]
fn retry_after_fixing_the_address_in_the_app_sends_there_with_the_same_message_id() {
    let (mut db, sink) = one_rejected();
    let alice = ledger_id(&mut db, "state = 'failed'");
    let emma = ledger_id(&mut db, "state = 'no_email'");
    let message_id =
        db.rows(&format!("SELECT message_id FROM sigov_alerts_deliveries WHERE id = {alice}"))[0][0].clone();
    db.exec(&format!("UPDATE core_utilisateur SET email = 'alice.roux@example.org' WHERE id = '{}'", uid("a1")));

    let text = outbox(&db, &["retry", &alice, &emma, "999999", "--by", "ops"], 0).stdout;
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

    deliver(&db, &sink, &[], 0);
    assert_eq!(sink.count(), 8);
    let mail = sink.received().pop().unwrap();
    assert_eq!(mail.to, ["alice.roux@example.org"]);
    assert_eq!(header(&mail.data, "Message-ID").as_deref(), Some(message_id.as_str()));
    assert_eq!(db.rows(&format!("SELECT state FROM sigov_alerts_deliveries WHERE id = {alice}"))[0][0], "sent");

    // A sent e-mail is not queued again; an invalid address is refused; once
    // the app has a valid one, an alert that was never mailed can be.
    db.exec(&format!("UPDATE core_utilisateur SET email = 'emma at example' WHERE id = '{}'", uid("e1")));
    let text = outbox(&db, &["-q", "retry", &alice, &emma], 0).stdout;
    assert!(text.starts_with("0 e-mails re-queued\n"), "{text}");
    assert!(text.contains(&format!("skipped {alice}: already sent")), "{text}");
    assert!(
        text.contains(&format!(
            "skipped {emma}: its recipient's address in the app is not a valid mailbox: emma at example"
        )),
        "{text}"
    );
    db.exec(&format!("UPDATE core_utilisateur SET email = 'emma@example.org' WHERE id = '{}'", uid("e1")));
    assert_eq!(outbox(&db, &["-q", "retry", &emma], 0).stdout, "1 e-mail re-queued\n");
    deliver(&db, &sink, &[], 0);
    assert_eq!(sink.count(), 9);
    assert_eq!(sink.received().pop().unwrap().to, ["emma@example.org"]);
}

#[test]
fn discard_records_who_and_why_is_never_delivered_and_retry_brings_it_back() {
    let mut db = TestDb::new();
    scenario(&mut db);
    // The relay is down: the run records everything and queues the mail.
    db.sigov(&CHECK).smtp(relay_down()).expect(75);
    assert_eq!(db.deliveries("queued"), 8);
    // A deliverer holds the newest one right now.
    db.exec(
        "UPDATE sigov_alerts_deliveries SET claimed_by = 'aaaaaaaa-0000-4000-8000-000000000001',
         claim_expires_at = UTC_TIMESTAMP(6) + INTERVAL 1 HOUR WHERE state = 'queued' ORDER BY id DESC LIMIT 1",
    );
    let claimed = ledger_id(&mut db, "claimed_by IS NOT NULL");

    assert_eq!(outbox(&db, &["discard", "--before", "2000-01-01"], 0).stdout, "0 e-mails discarded\n");
    let discard = in_tz(&db, "outbox").args(&["discard", "--check", "check-project-deadlines"]);
    let discard = discard.args(&["--reason", "project closed"]).env("SUDO_USER", "claire").env("USER", "root");
    let text = discard.expect(0).stdout;
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

    let rows = json(&db, &["--state", "discarded"]);
    assert_eq!(rows.len(), 7);
    assert!(rows.iter().all(|r| r["discarded_by"] == "claire" && r["discard_reason"] == "project closed"));
    let text = outbox(&db, &["--state", "discarded"], 0).stdout;
    assert!(text.contains("discarded by claire: project closed"), "{text}");
    assert!(text.ends_with("7 e-mails: 7 discarded\n"), "{text}");

    // Delivery never sends a discarded e-mail (the claim has expired meanwhile).
    db.exec("UPDATE sigov_alerts_deliveries SET claim_expires_at = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND WHERE claimed_by IS NOT NULL");
    let sink = SmtpSink::start();
    deliver(&db, &sink, &["--now"], 0);
    assert_eq!(sink.count(), 1);
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE state = 'discarded'"), 7);

    // `retry` brings one back, the discard forgotten, and it is delivered.
    let back = rows[0]["id"].to_string();
    let text = outbox(&db, &["retry", &back], 0).stdout;
    assert!(text.starts_with(&format!("re-queued {back} from discarded: ")), "{text}");
    assert_eq!(
        db.rows(&format!(
            "SELECT state, COALESCE(discarded_by, 'NULL'), COALESCE(discard_reason, 'NULL') FROM sigov_alerts_deliveries WHERE id = {back}"
        ))[0],
        ["queued", "NULL", "NULL"]
    );
    deliver(&db, &sink, &[], 0);
    assert_eq!(sink.count(), 2);
    let expected = rows[0]["message_id"].as_str().unwrap();
    assert_eq!(header(&sink.received().pop().unwrap().data, "Message-ID").as_deref(), Some(expected));
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE state = 'discarded'"), 6);
}

#[test]
fn deliver_now_flushes_mail_waiting_for_its_retry_time() {
    let (mut db, sink) = scenario_and_sink();
    // The first e-mail is deferred on each of its attempts in the run.
    sink.configure(|b| b.defer_next = 3);
    db.sigov(&CHECK).smtp(sink.url()).expect(75);
    assert_eq!(sink.count(), 7);
    let waiting = ledger_id(&mut db, "state = 'queued' AND next_attempt_at > UTC_TIMESTAMP(6)");

    // status and outbox tell when it is tried next, in local time.
    // Unhealthy: the run did not deliver everything.
    let s = in_tz(&db, "status").args(&["--format", "json"]).expect(1).json();
    assert_eq!(s["queued"], 1);
    assert_eq!(s["oldest_queued_id"].to_string(), waiting);
    let next = s["oldest_queued_next_attempt"].as_str().unwrap_or_else(|| panic!("{s}"));
    assert!(next.ends_with("+05:30"), "{next}");
    assert!(chrono::DateTime::parse_from_rfc3339(next).unwrap() > chrono::Utc::now());
    assert!(s["oldest_queued"].is_string(), "existing fields kept: {s}");
    let text = in_tz(&db, "status").expect(1).stdout;
    assert!(
        text.contains(&format!("oldest queued e-mail: id {waiting}, next attempt ")) && text.contains("+05:30"),
        "{text}"
    );
    let text = outbox(&db, &[], 0).stdout;
    let row =
        text.lines().find(|l| l.trim_start().starts_with(&format!("{waiting} "))).unwrap_or_else(|| panic!("{text}"));
    assert!(row.contains("queued") && row.matches("+05:30").count() == 2, "{row}");
    assert!(text.contains("451"), "{text}");

    // Not due yet: a plain `deliver` sends nothing, and says it is still owed.
    deliver(&db, &sink, &[], 75);
    assert_eq!(sink.count(), 7);
    assert_eq!(db.deliveries("queued"), 1);

    // `deliver --now` empties the outbox.
    deliver(&db, &sink, &["--now"], 0);
    assert_eq!(sink.count(), 8);
    assert_eq!(db.deliveries("queued"), 0);
    assert_eq!(db.rows(&format!("SELECT state FROM sigov_alerts_deliveries WHERE id = {waiting}"))[0][0], "sent");
}

#[test]
fn outbox_needs_the_migrations_and_retry_or_discard_a_selector() {
    let bare = TestDb::bare();
    let ran = outbox(&bare, &[], 78);
    let err = ran.error_line("sigov-alerts: error: ");
    assert!(err.contains("run `sigov-alerts migrate` first"), "{err}");

    let db = TestDb::new();
    assert_eq!(outbox(&db, &[], 0).stdout, "no e-mail matches\n");
    assert_eq!(json(&db, &[]).len(), 0);
    for args in [&["retry"][..], &["discard"], &["discard", "--reason", "x"], &["--check", "nope"]] {
        outbox(&db, args, 2);
    }
    outbox(&db, &["--check", "budget", "discard", "1"], 2).assert_stderr(&["--state, --check"]);
    outbox(&db, &["discard", "--before", "16/03/2026"], 2);
}
