//! Operations: history, status, metrics file, JSON logs, log file, crontab.

use crate::common::{Ran, SmtpSink, TestDb};
use crate::project_deadlines::{AT, scenario, scenario_and_sink};

/// `run-all` at [`AT`], for real.
const RUN_ALL: [&str; 4] = ["run-all", "--at", AT, "--replay"];

/// `args` mailing to `sink`, exit 0.
fn run(db: &TestDb, sink: &SmtpSink, args: &[&str]) -> Ran {
    db.sigov(args).smtp(sink.url()).expect(0)
}

#[test]
fn history_and_status_tell_what_ran_and_what_is_owed() {
    let mut db = TestDb::new();
    scenario(&mut db);
    // Nothing ran yet: unhealthy.
    db.sigov(&["status"]).expect(1).assert_stdout(&["never succeeded"]);

    let sink = SmtpSink::start();
    run(&db, &sink, &RUN_ALL);
    let runs = db.sigov(&["history", "--format", "json"]).expect(0).json();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["local_date"], "2026-03-16");
    assert_eq!(runs[0]["exit_code"], 0);
    let checks = runs[0]["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 5);
    let pd = checks.iter().find(|r| r["check"] == "project_deadlines").unwrap();
    assert_eq!(pd["status"], "ok");
    assert_eq!(pd["rows"], 9);
    assert_eq!(pd["sent"], 8);

    let s = db.sigov(&["status", "--format", "json"]).expect(0).json();
    assert_eq!(s["healthy"], true);
    assert_eq!(s["queued"], 0);

    // Mail stuck in the outbox makes it unhealthy.
    db.exec(
        "UPDATE sigov_alerts_deliveries SET state = 'queued', created_at = created_at - INTERVAL 7 HOUR WHERE state = 'sent' LIMIT 1",
    );
    db.sigov(&["status"]).expect(1).assert_stdout(&["queued for more than 6h"]);
}

#[test]
fn metrics_file_is_node_exporter_textfile_format() {
    let (db, sink) = scenario_and_sink();
    let path = db.dir.path().join("sigov_alerts.prom");
    db.sigov(&RUN_ALL).opt("--metrics-file", &path).smtp(sink.url()).expect(0);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("sigov_alerts_rows_created{check=\"project_deadlines\"} 9\n"), "{text}");
    assert!(text.contains("sigov_alerts_emails_sent{check=\"project_deadlines\"} 8\n"), "{text}");
    assert!(text.contains("sigov_alerts_outbox_queued 0\n"));
    assert!(text.contains("sigov_alerts_last_exit_code 0\n"));
    let mut families = 0;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            assert!(rest.ends_with(" gauge"), "{line}");
            families += 1;
        } else if !line.starts_with("# HELP ") {
            let (name, value) = line.rsplit_once(' ').unwrap();
            assert!(name.starts_with("sigov_alerts_"), "{line}");
            let v: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
            if name.starts_with("sigov_alerts_last_success_timestamp_seconds") {
                assert!(v > 1.7e9, "{line}");
            }
        }
    }
    assert!(families >= 9);
    assert!(
        std::fs::read_dir(db.dir.path()).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().ends_with(".tmp"))
    );
}

#[test]
fn json_logs_carry_run_id_and_check_and_log_file_appends_without_ansi() {
    let (db, sink) = scenario_and_sink();
    let log = db.dir.path().join("sigov-alerts.log");
    let logged = |args: &[&str]| db.sigov(args).opt("--log-file", &log).args(&RUN_ALL).smtp(sink.url()).expect(0);
    let stderr = logged(&["-v", "--log-format", "json", "--color", "always"]).stderr;
    let lines: Vec<serde_json::Value> =
        stderr.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    let evaluated: Vec<_> = lines.iter().filter(|l| l["fields"]["message"] == "check evaluated").collect();
    assert_eq!(evaluated.len(), 5, "{stderr}");
    for l in &evaluated {
        assert!(l["span"]["check"].is_string(), "{l}");
        let run = l["spans"].as_array().unwrap().iter().find(|s| s["name"] == "run").unwrap();
        assert_eq!(run["run_id"].as_str().unwrap().len(), 36);
    }
    let first = std::fs::read_to_string(&log).unwrap();
    assert_eq!(first.lines().count(), stderr.lines().count());
    assert!(!first.contains('\u{1b}'), "no ANSI codes in the log file");
    // A second run appends.
    logged(&["-v"]);
    let second = std::fs::read_to_string(&log).unwrap();
    assert!(second.starts_with(&first) && second.len() > first.len());
    assert!(!second.contains('\u{1b}'));
}

#[test]
fn quiet_on_success_but_errors_on_stderr() {
    let (db, sink) = scenario_and_sink();
    run(&db, &sink, &RUN_ALL).assert_quiet();
    run(&db, &sink, &["deliver"]).assert_quiet();
    assert!(!run(&db, &sink, &["-v", "run-all", "--at", AT, "--replay"]).stderr.is_empty(), "-v gives a summary");
}

#[test]
fn crontab_prints_absolute_paths_and_the_staggered_schedule() {
    let db = TestDb::new();
    let text = db.sigov(&["crontab", "--staggered"]).expect(0).stdout;
    assert!(text.contains("CRON_TZ=Europe/Paris"));
    for (minute, cmd) in [
        (0, "check-project-deadlines"),
        (5, "check-stage-delays"),
        (10, "check-task-deadlines"),
        (15, "check-budget"),
        (20, "check-contract-expiration"),
    ] {
        let line = text.lines().find(|l| l.ends_with(cmd)).unwrap_or_else(|| panic!("{cmd}: {text}"));
        assert!(line.starts_with(&format!("{minute} */4 * * * /")), "{line}");
    }
    let text = db.sigov(&["crontab"]).expect(0).stdout;
    assert!(text.lines().any(|l| l.starts_with("0 */4 * * * /") && l.ends_with(" run-all")), "{text}");
}

#[test]
fn old_ledger_rows_are_pruned_once_ever_identities_kept() {
    let (mut db, sink) = scenario_and_sink();
    run(&db, &sink, &RUN_ALL);
    let total = db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries");
    // Age every row past the 90-day retention; pretend one is a once-ever contract alert.
    db.exec(
        "UPDATE sigov_alerts_deliveries SET created_at = created_at - INTERVAL 100 DAY;
         UPDATE sigov_alerts_deliveries SET period = '-' ORDER BY id LIMIT 1;
         UPDATE sigov_alerts_runs SET started_at = started_at - INTERVAL 100 DAY;",
    );
    run(&db, &sink, &["deliver"]);
    assert!(total > 1);
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries"), 1, "only the once-ever identity is kept");
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE period = '-'"), 1);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM sigov_alerts_runs WHERE started_at < UTC_TIMESTAMP() - INTERVAL 90 DAY"),
        0
    );
}
