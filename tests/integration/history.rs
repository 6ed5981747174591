//! What the tool records and reports about itself, and what it refuses:
//! the guards on `--at`, and a changed app schema.

use crate::common::{SmtpSink, TestDb, all_output};
use crate::project_deadlines::{AT, scenario};

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", all_output(out)))
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn at_on_a_real_run_needs_replay_and_a_storable_instant_64() {
    let mut db = TestDb::new();
    scenario(&mut db);
    let before = db.table_counts();
    let sink = SmtpSink::start();
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
        let out = db.run(&sink.url(), &args);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {}", all_output(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("sigov-alerts: error: ") && err.contains(says), "{args:?}: {err}");
    }
    assert_eq!(db.table_counts(), before, "nothing written");
    assert_eq!(sink.count(), 0);
    // A preview at another instant needs no flag; the edges of the range are accepted.
    for at in [AT, "9998-12-31T12:00:00Z", "1970-01-02T00:00:00Z"] {
        let out = db.run(&sink.url(), &["run-all", "--at", at, "--dry-run"]);
        assert_eq!(out.status.code(), Some(0), "{at}: {}", all_output(&out));
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
    let mut db = TestDb::new();
    scenario(&mut db);
    let sink = SmtpSink::start();
    let out = db.run(&sink.url(), &["doctor"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok    app columns: "), "{}", all_output(&out));

    drop_column(&mut db, "core_projet", "client");
    let out = db.run(&sink.url(), &["doctor"]);
    assert_eq!(out.status.code(), Some(78), "{}", all_output(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.contains("app columns")).unwrap_or_else(|| panic!("{text}"));
    assert!(line.starts_with("FAIL") && line.contains("missing: core_projet.client"), "{text}");
    assert!(text.contains("ok    app tables"), "the table is there: {text}");

    let out = db.run(&sink.url(), &["run-all", "--dry-run"]);
    assert_eq!(out.status.code(), Some(78), "{}", all_output(&out));
    let err = stderr(&out);
    assert!(err.contains("core_projet.client") && err.contains("the app's schema changed"), "{err}");
    let out = db.run(&sink.url(), &["check-project-deadlines"]);
    assert_eq!(out.status.code(), Some(78), "{}", all_output(&out));
    assert!(stderr(&out).contains("column core_projet.client is missing"), "{}", all_output(&out));
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
    let out = db.run(&sink.url(), &["doctor"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok    app columns: "), "{}", all_output(&out));
    let out = db.run(&sink.url(), &["run-all", "--at", AT, "--replay", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let report = json(&out);
    for c in report["checks"].as_array().unwrap() {
        assert_eq!(c["status"], "ok", "{c}");
        // The scenario's one project is not yet due.
        assert!(c["check"] == "project_deadlines" || c["rows"].as_u64().unwrap() > 0, "{c}");
    }
    assert!(sink.count() > 0);
}
