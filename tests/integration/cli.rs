//! CLI behaviour: exit codes, one-line errors, locks, help, doctor and
//! privileges.

use std::fs::OpenOptions;

use crate::common::{Sigov, SmtpSink, TestDb, free_port};
use crate::project_deadlines::{AT, CHECK, scenario};

#[test]
fn help_lists_the_commands_and_exit_codes() {
    let ran = Sigov::new(&["--help"]).expect(0);
    ran.assert_stdout(&["check-project-deadlines", "run-all", "migrate", "doctor", "75  temporary"]);
}

#[test]
fn bad_config_value_is_one_line_naming_the_key_78() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "timezone = \"Mars/Olympus\"\n").unwrap();
    Sigov::new(&["migrate"]).config(&cfg).expect(78).error_line("sigov-alerts: error: configuration: timezone:");

    std::fs::write(&cfg, "databse_url = \"x\"\n").unwrap();
    Sigov::new(&["migrate"]).config(&cfg).expect(78).assert_stderr(&["databse_url"]);

    Sigov::new(&["run-all", "--at", "yesterday"]).expect(2);
}

#[test]
fn migrate_is_idempotent() {
    let mut db = TestDb::new();
    db.sigov(&["migrate"]).expect(0);
    assert_eq!(db.count("SELECT COUNT(*) FROM _sigov_alerts_migrations"), 4);
    assert_eq!(db.count("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE 'sigov\\_alerts\\_%'"), 2);
}

/// The scenario's check while another holds the lock: exit 75, nothing written.
fn locked_out(db: &mut TestDb, says: &str) {
    let sink = SmtpSink::start();
    let err = db.sigov(&CHECK).smtp(sink.url()).expect(75).error_line("sigov-alerts: ").to_string();
    assert!(err.contains(says), "{err}");
    assert_eq!(db.alerts(), 0);
}

#[test]
fn lock_held_on_this_host_exits_75_saying_by_whom() {
    let mut db = TestDb::new();
    scenario(&mut db);
    let f = OpenOptions::new().create(true).truncate(false).write(true).open(db.lock_file()).unwrap();
    f.try_lock().unwrap();
    std::fs::write(db.lock_file(), "run-all (pid 4242 on cron-host, started 2026-03-16 07:00:00 UTC)").unwrap();
    locked_out(&mut db, "held by run-all (pid 4242 on cron-host");
    drop(f);
}

#[test]
fn lock_held_by_another_host_on_the_database_exits_75() {
    let mut db = TestDb::new();
    scenario(&mut db);
    let name = format!("sigov-alerts:{}", db.name);
    assert_eq!(db.count(&format!("SELECT GET_LOCK('{name}', 0)")), 1);
    locked_out(&mut db, "database lock");
}

#[test]
fn database_unreachable_is_one_line_69() {
    Sigov::new(&["check-project-deadlines", "--dry-run"])
        .opt("--database-url", format!("mysql://root@127.0.0.1:{}/x", free_port()))
        .expect(69)
        .error_line("sigov-alerts: error: ");
}

/// The doctor line of `item` starts with `state` (`ok`, `FAIL`).
fn doctor_says(text: &str, state: &str, item: &str) -> bool {
    text.lines().any(|l| l.starts_with(state) && l.contains(&format!("{item}:")))
}

#[test]
fn doctor_reports_each_item_and_fails_on_any() {
    let db = TestDb::new();
    let sink = SmtpSink::start();
    let text = db.sigov(&["doctor"]).smtp(sink.url()).expect(0).stdout;
    for item in ["config", "database", "app tables", "migrations", "smtp", "lock file"] {
        assert!(doctor_says(&text, "ok", item), "{item}: {text}");
    }
    let bare = TestDb::bare();
    let text = bare.sigov(&["doctor"]).smtp("smtp://127.0.0.1:1?tls=none").run().expect_failure().stdout;
    assert!(doctor_says(&text, "FAIL", "migrations"), "{text}");
    assert!(doctor_says(&text, "FAIL", "smtp"), "{text}");
}

#[test]
fn doctor_names_a_missing_privilege_77_and_least_privilege_grants_suffice() {
    let mut db = TestDb::new();
    scenario(&mut db);
    let d = db.name.clone();
    let user = db.user_with_password("pw-least-privilege");
    for t in sigov_alerts::doctor::APP_TABLES {
        user.grant(&mut db, &format!("SELECT ON `{d}`.`{t}`"));
    }
    let url = user.url(&db, true);
    let sink = SmtpSink::start();
    let as_user = |db: &TestDb, args: &[&str]| db.sigov(args).opt("--database-url", &url).smtp(sink.url());
    as_user(&db, &["doctor"])
        .expect(77)
        .assert_stdout(&["FAIL  privileges: missing: INSERT on core_alerteprojet, INSERT on core_notificationetape"]);
    // The README's least-privilege grants.
    for what in [
        "INSERT ON `{d}`.`core_alerteprojet`",
        "INSERT ON `{d}`.`core_notificationetape`",
        "ALL ON `{d}`.`sigov_alerts_runs`",
        "ALL ON `{d}`.`sigov_alerts_deliveries`",
        "ALL ON `{d}`.`_sigov_alerts_migrations`",
    ] {
        user.grant(&mut db, &what.replace("{d}", &d));
    }
    as_user(&db, &["doctor"]).expect(0);
    as_user(&db, &["run-all", "--at", AT, "--replay"]).expect(0);
    assert_eq!(sink.count(), 8);
}
