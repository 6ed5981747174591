//! What the tool records and reports about itself: `history` (one entry per
//! run, every sending command, exit codes, local times), `status` (latest
//! rejections), the guards on `--at`, and a changed app schema.

use crate::common::{Ran, SmtpSink, TestDb};
use crate::project_deadlines::{AT, alice_refused, scenario_and_sink};

/// `args` in the zone Asia/Kolkata (no summer time), exit `code`.
fn in_kolkata(db: &TestDb, args: &[&str], code: i32) -> Ran {
    db.sigov(args).opt("--timezone", "Asia/Kolkata").expect(code)
}

#[test]
fn history_shows_one_entry_per_run_with_exit_code_deliver_included_in_local_time() {
    let (mut db, sink, _) = alice_refused();
    db.sigov(&["deliver"]).smtp(sink.url()).expect(0);
    db.sigov(&["run-all", "--at", AT, "--replay"]).smtp(sink.url()).expect(0);

    // Every row of a run carries its exit code; `deliver` has one row, check `-`.
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_runs WHERE exit_code IS NULL"), 0);
    assert_eq!(db.rows("SELECT check_slug, status FROM sigov_alerts_runs WHERE command = 'deliver'"), [["-", "ok"]]);

    let runs = in_kolkata(&db, &["history", "--format", "json"], 0).json();
    let runs = runs.as_array().unwrap();
    let commands: Vec<&str> = runs.iter().map(|r| r["command"].as_str().unwrap()).collect();
    assert_eq!(commands, ["run-all", "deliver", "check-project-deadlines"], "newest first");
    let exits: Vec<i64> = runs.iter().map(|r| r["exit_code"].as_i64().unwrap()).collect();
    assert_eq!(exits, [0, 0, 65]);

    let all = &runs[0];
    let checks: Vec<&str> = all["checks"].as_array().unwrap().iter().map(|c| c["check"].as_str().unwrap()).collect();
    assert_eq!(checks, ["project_deadlines", "stage_delays", "task_deadlines", "budget", "contract_expiration"]);
    assert_eq!(all["status"], "ok");
    // Times carry the configured zone's offset; the replay's instant is kept.
    assert_eq!(all["run_instant"], "2026-03-16T12:30:00+05:30");
    for field in ["started_at", "finished_at"] {
        let t = chrono::DateTime::parse_from_rfc3339(all[field].as_str().unwrap()).unwrap();
        assert_eq!(t.offset().local_minus_utc(), 5 * 3600 + 1800, "{field}");
    }
    assert_eq!(all["local_date"], "2026-03-16");

    let deliver = &runs[1];
    assert_eq!(deliver["checks"].as_array().unwrap().len(), 0);
    assert_eq!(deliver["status"], "ok");
    assert_eq!(deliver["sent"], 0);

    let first = &runs[2];
    assert_eq!(first["status"], "partial");
    let pd = &first["checks"][0];
    assert_eq!((pd["check"].as_str(), pd["status"].as_str()), (Some("project_deadlines"), Some("partial")));
    assert_eq!((&pd["rows"], &pd["sent"], &pd["failed"]), (&9.into(), &7.into(), &1.into()));
    assert_eq!((&first["rows"], &first["sent"], &first["failed"]), (&9.into(), &7.into(), &1.into()));
    let keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    for key in ["run_id", "command", "host", "pid", "run_instant", "started_at", "duration_s", "exit_code", "checks"] {
        assert!(keys.iter().any(|k| *k == key), "{key} in {keys:?}");
    }

    // --limit counts runs, not checks.
    let runs = db.sigov(&["history", "--limit", "1", "--format", "json"]).expect(0).json();
    assert_eq!(runs.as_array().unwrap().len(), 1);
    assert_eq!(runs[0]["checks"].as_array().unwrap().len(), 5);

    let text = in_kolkata(&db, &["history", "--limit", "2"], 0).stdout;
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("started") && lines[0].contains("Asia/Kolkata"), "{text}");
    let run_lines: Vec<&&str> = lines.iter().filter(|l| l.starts_with(|c: char| c.is_ascii_digit())).collect();
    assert_eq!(run_lines.len(), 2, "{text}");
    assert!(run_lines[0].contains("run-all") && run_lines[0].contains("instant 2026-03-16 12:30 +05:30"), "{text}");
    assert!(run_lines[0].contains(" +05:30  run-all"), "{text}");
    assert!(run_lines[1].contains("deliver") && !run_lines[1].contains("instant"), "{text}");
    // The five checks of run-all are indented under it; deliver has none.
    assert_eq!(lines.iter().filter(|l| l.trim_start().starts_with("stage_delays")).count(), 1, "{text}");
    assert!(text.contains("crashed      ended without recording its end: killed, host or database lost"), "{text}");
}

#[test]
fn a_failed_command_records_the_exit_code_it_ends_with() {
    let (mut db, sink) = scenario_and_sink();
    let metrics = db.dir.path().join("no-such-dir").join("sigov_alerts.prom");
    let ran = db.sigov(&["deliver"]).opt("--metrics-file", metrics).smtp(sink.url()).run().expect_failure();
    let code = ran.code.unwrap();
    let rows = db.rows("SELECT command, status, CAST(exit_code AS SIGNED) FROM sigov_alerts_runs");
    assert_eq!(rows, [["deliver".to_string(), "ok".into(), code.to_string()]]);
}

#[test]
fn history_and_status_before_migrate_say_what_to_run_78() {
    let db = TestDb::bare();
    for cmd in ["history", "status"] {
        let ran = db.sigov(&[cmd]).expect(78);
        let err = ran.error_line("sigov-alerts: error: ");
        assert!(err.contains("run `sigov-alerts migrate` first"), "{err}");
        assert!(!err.contains("doesn't exist"), "{err}");
    }
}

#[test]
fn status_lists_the_latest_rejections_newest_first() {
    let (mut db, _sink, _) = alice_refused();
    // Older rejections: eleven dated by their last attempt, one by its creation only.
    let mut values = Vec::new();
    for i in 0..11 {
        values.push(format!(
            "('project_deadlines', 'ECHEANCE_J7', 'f{i:031}', 'f{i:031}', '2026-03-01', 'core_alerteprojet', 1,
              'old{i}@example.org', '<old{i}@x>', 'failed', 1, '550 old {i}', UTC_TIMESTAMP(6) - INTERVAL 10 DAY,
              UTC_TIMESTAMP(6) - INTERVAL {} HOUR, 'r')",
            i + 1
        ));
    }
    db.exec(&format!(
        "INSERT INTO sigov_alerts_deliveries (check_slug, kind, item_id, recipient_id, period, app_table, app_id, address,
           message_id, state, attempts, last_reply, created_at, last_attempt_at, run_id) VALUES {};
         INSERT INTO sigov_alerts_deliveries (check_slug, kind, item_id, recipient_id, period, app_table, app_id, address,
           message_id, state, attempts, last_reply, created_at, last_attempt_at, run_id)
         VALUES ('budget', 'BUDGET_DEPASSE', 'e{z}', 'e{z}', '2026-03-01', 'core_alerteprojet', 1, 'legacy@example.org',
           '<legacy@x>', 'failed', 1, '554 legacy', UTC_TIMESTAMP(6) - INTERVAL 90 MINUTE, NULL, 'r')",
        values.join(", "),
        z = "0".repeat(31)
    ));
    // Rejections in the last 24 h: exit 1.
    let s = db.sigov(&["status", "--format", "json"]).opt("--timezone", "UTC").expect(1).json();
    let rejections = s["rejections"].as_array().unwrap();
    assert_eq!(rejections.len(), 10);
    let addresses: Vec<&str> = rejections.iter().map(|r| r["address"].as_str().unwrap()).collect();
    assert_eq!(addresses[..4], ["alice@example.org", "old0@example.org", "legacy@example.org", "old1@example.org"]);
    assert_eq!(rejections[0]["check"], "project_deadlines");
    assert!(rejections[0]["reply"].as_str().unwrap().contains("no such user"), "{}", rejections[0]);
    // The time of the attempt (the database server's clock), not the --at instant of the run.
    let at = chrono::DateTime::parse_from_rfc3339(rejections[0]["at"].as_str().unwrap()).unwrap();
    assert!((chrono::Utc::now() - at.to_utc()).num_minutes().abs() < 10, "{at}");
    assert_eq!(rejections[2]["check"], "budget");

    let text = db.sigov(&["status"]).expect(1).stdout;
    let listed: Vec<&str> = text.lines().skip_while(|l| *l != "latest rejections:").skip(1).take(11).collect();
    assert!(listed[0].contains("project_deadlines  ") && listed[0].contains("<alice@example.org> "), "{text}");
    assert!(listed[0].contains("no such user"), "{text}");
    assert_eq!(listed.iter().filter(|l| l.starts_with("  20")).count(), 10, "{text}");
    assert!(text.contains("(times in Europe/Paris)"), "{text}");
}

#[test]
fn at_on_a_real_run_needs_replay_and_a_storable_instant_64() {
    let (mut db, sink) = scenario_and_sink();
    let before = db.table_counts();
    for (args, says) in [
        (
            vec!["run-all", "--at", "2026-12-01T08:00:00+01:00"],
            "--at on a real run needs --replay: it writes rows dated at that instant and mails them now",
        ),
        (vec!["check-budget", "--at", AT], "--at on a real run needs --replay"),
        (vec!["run-all", "--replay"], "--replay needs --at"),
        (vec!["run-all", "--at", "9999-12-31T23:59:59Z", "--dry-run"], "outside the instants the tables can hold"),
        (vec!["run-all", "--at", "9999-12-31T23:59:59Z", "--replay"], "outside the instants the tables can hold"),
        (vec!["check-project-deadlines", "--at", "1969-12-31T23:00:00Z", "--dry-run"], "years 1970 to 9998"),
    ] {
        let ran = db.sigov(&args).smtp(sink.url()).expect(64);
        let err = ran.error_line("sigov-alerts: error: ");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    assert_eq!(db.table_counts(), before, "nothing written");
    assert_eq!(sink.count(), 0);
    // A preview at another instant needs no flag; the edges of the range are accepted.
    for at in [AT, "9998-12-31T12:00:00Z", "1970-01-02T00:00:00Z"] {
        db.sigov(&["run-all", "--at", at, "--dry-run"]).smtp(sink.url()).expect(0);
    }
}

/// Drops `table.column`, with the foreign keys and table checks on it.
fn drop_column(db: &mut TestDb, table: &str, column: &str) {
    let fks = db.rows(&format!(
        "SELECT constraint_name FROM information_schema.key_column_usage WHERE table_schema = DATABASE()
         AND table_name = '{table}' AND column_name = '{column}' AND referenced_table_name IS NOT NULL"
    ));
    for fk in fks {
        db.exec(&format!("ALTER TABLE `{table}` DROP FOREIGN KEY `{}`", fk[0]));
    }
    let checks = db.rows(&format!(
        "SELECT constraint_name FROM information_schema.check_constraints WHERE constraint_schema = DATABASE()
         AND table_name = '{table}' AND level = 'Table' AND check_clause LIKE '%`{column}`%'"
    ));
    for c in checks {
        db.exec(&format!("ALTER TABLE `{table}` DROP CONSTRAINT `{}`", c[0]));
    }
    db.exec(&format!("ALTER TABLE `{table}` DROP COLUMN `{column}`"));
}

#[test]
fn a_dropped_app_column_is_named_by_doctor_and_runs_exit_78() {
    let (mut db, sink) = scenario_and_sink();
    let run = |args: &[&str], code: i32| db.sigov(args).smtp(sink.url()).expect(code);
    run(&["doctor"], 0).assert_stdout(&["ok    app columns: "]);

    drop_column(&mut db, "core_projet", "client");
    let run = |args: &[&str], code: i32| db.sigov(args).smtp(sink.url()).expect(code);
    let text = run(&["doctor"], 78).stdout;
    let line = text.lines().find(|l| l.contains("app columns")).unwrap_or_else(|| panic!("{text}"));
    assert!(line.starts_with("FAIL") && line.contains("missing: core_projet.client"), "{text}");
    assert!(text.contains("ok    app tables"), "the table is there: {text}");

    run(&["run-all", "--dry-run"], 78).assert_stderr(&["core_projet.client", "the app's schema changed"]);
    run(&["check-project-deadlines"], 78).assert_stderr(&["column core_projet.client is missing"]);
    // The run is recorded with the exit code it ended with.
    let rows = db.rows("SELECT check_slug, CAST(exit_code AS SIGNED) FROM sigov_alerts_runs");
    assert_eq!(rows, [["project_deadlines", "78"]]);
}

/// The list `doctor` checks is enough: with every other column of the app
/// tables gone, all five checks and the delivery still work.
#[test]
fn app_tables_holding_only_the_listed_columns_run_every_check() {
    let mut db = TestDb::new();
    crate::all_checks::people(&mut db);
    crate::all_checks::items(&mut db, "");
    for (table, keep) in sigov_alerts::db::APP_COLUMNS {
        let columns = db.rows(&format!(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = '{table}'"
        ));
        for c in columns.iter().map(|c| &c[0]).filter(|c| !keep.contains(&c.as_str())) {
            drop_column(&mut db, table, c);
        }
    }
    let sink = SmtpSink::start();
    db.sigov(&["doctor"]).smtp(sink.url()).run().assert_stdout(&["ok    app columns: "]);
    let report = db.sigov(&["run-all", "--at", AT, "--replay", "--format", "json"]).smtp(sink.url()).expect(0).json();
    for c in report["checks"].as_array().unwrap() {
        assert_eq!(c["status"], "ok", "{c}");
        // The scenario's one project is not yet due.
        assert!(c["check"] == "project_deadlines" || c["rows"].as_u64().unwrap() > 0, "{c}");
    }
    assert!(sink.count() > 0);
}
