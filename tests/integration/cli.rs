//! CLI behaviour: exit codes, one-line errors, locks, secrets, help.

use std::fs::OpenOptions;

use crate::common::{SmtpSink, TestDb, all_output};
use crate::project_deadlines::{AT, scenario};

fn bin() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_sigov-alerts"));
    c.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    c
}

#[test]
fn help_lists_the_commands_and_exit_codes() {
    let out = bin().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for c in ["check-project-deadlines", "run-all", "migrate", "doctor"] {
        assert!(help.contains(c), "{help}");
    }
    assert!(help.contains("75  temporary"));
}

#[test]
fn bad_config_value_is_one_line_naming_the_key_78() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "timezone = \"Mars/Olympus\"\n").unwrap();
    let out = bin().arg("--config").arg(&cfg).arg("migrate").output().unwrap();
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("sigov-alerts: error: configuration: timezone:"), "{err}");

    std::fs::write(&cfg, "databse_url = \"x\"\n").unwrap();
    let out = bin().arg("--config").arg(&cfg).arg("migrate").output().unwrap();
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("databse_url"));

    let out = bin().args(["run-all", "--at", "yesterday"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn migrate_is_idempotent() {
    let mut db = TestDb::new();
    let out = db.cmd(&["migrate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert_eq!(db.count("SELECT COUNT(*) FROM _sigov_alerts_migrations"), 4);
    assert_eq!(db.count("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE 'sigov\\_alerts\\_%'"), 2);
}

#[test]
fn lock_held_on_this_host_exits_75_saying_by_whom() {
    let mut db = TestDb::new();
    scenario(&mut db);
    let f = OpenOptions::new().create(true).truncate(false).write(true).open(db.lock_file()).unwrap();
    f.try_lock().unwrap();
    std::fs::write(db.lock_file(), "run-all (pid 4242 on cron-host, started 2026-03-16 07:00:00 UTC)").unwrap();
    let sink = SmtpSink::start();
    let out = db.run(&sink.url(), &["check-project-deadlines", "--at", AT, "--replay"]);
    assert_eq!(out.status.code(), Some(75));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("held by run-all (pid 4242 on cron-host"), "{err}");
    assert_eq!(db.count("SELECT COUNT(*) FROM core_alerteprojet"), 0);
    drop(f);
}

#[test]
fn lock_held_by_another_host_on_the_database_exits_75() {
    let mut db = TestDb::new();
    scenario(&mut db);
    let name = format!("sigov-alerts:{}", db.name);
    assert_eq!(db.count(&format!("SELECT GET_LOCK('{name}', 0)")), 1);
    let sink = SmtpSink::start();
    let out = db.run(&sink.url(), &["check-project-deadlines", "--at", AT, "--replay"]);
    assert_eq!(out.status.code(), Some(75), "{}", all_output(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("database lock"));
    assert_eq!(db.count("SELECT COUNT(*) FROM core_alerteprojet"), 0);
}

#[test]
fn database_password_never_appears_in_any_output() {
    let mut db = TestDb::new();
    scenario(&mut db);
    let secret = "Hunter2-Sup3rSecret";
    let url = db.url.replacen("mysql://root@", &format!("mysql://root:{secret}@"), 1);
    for args in [
        vec!["check-project-deadlines", "--at", AT, "--replay"],
        vec!["-vv", "--log-format", "json", "run-all", "--dry-run"],
        vec!["doctor"],
        vec!["migrate"],
    ] {
        let out = bin()
            .arg("--database-url")
            .arg(&url)
            .arg("--smtp-url")
            .arg(format!("smtp://mailer:{secret}@127.0.0.1:1?tls=none"))
            .arg("--lock-file")
            .arg(db.lock_file())
            .args(&args)
            .output()
            .unwrap();
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        let all = all_output(&out);
        assert!(!all.contains(secret), "{args:?}: {all}");
        assert!(!all.contains("Sup3r"), "{args:?}: {all}");
    }
    // Trace-level logs of every library, against a live SMTP server.
    let sink = SmtpSink::start();
    let out = bin()
        .env("SIGOV_ALERTS_LOG", "trace")
        .arg("--database-url")
        .arg(&db.url)
        .arg("--smtp-url")
        .arg(format!("smtp://mailer:{secret}@127.0.0.1:{}?tls=none", sink.port))
        .arg("--lock-file")
        .arg(db.lock_file())
        .args(["-vv", "run-all", "--at", AT, "--replay"])
        .output()
        .unwrap();
    // The server offers no AUTH: mail stays queued (75), nothing leaks.
    assert_eq!(out.status.code(), Some(75), "{}", all_output(&out));
    assert!(!all_output(&out).contains(secret) && !all_output(&out).contains("Sup3r"), "{}", all_output(&out));
    let help = bin().env("DATABASE_URL", &url).arg("--help").output().unwrap();
    assert!(!all_output(&help).contains(secret));
}

#[test]
fn database_unreachable_is_one_line_69() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = bin()
        .arg("--database-url")
        .arg(format!("mysql://root@127.0.0.1:{port}/x"))
        .args(["check-project-deadlines", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(69));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn doctor_reports_each_item_and_fails_on_any() {
    let db = TestDb::new();
    let sink = SmtpSink::start();
    let out = db.run(&sink.url(), &["doctor"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
    for item in ["config", "database", "app tables", "migrations", "smtp", "lock file"] {
        assert!(text.lines().any(|l| l.starts_with("ok") && l.contains(&format!("{item}:"))), "{item}: {text}");
    }
    let bare = TestDb::bare();
    let out = bare.run("smtp://127.0.0.1:1?tls=none", &["doctor"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_ne!(out.status.code(), Some(0));
    assert!(text.lines().any(|l| l.starts_with("FAIL") && l.contains("migrations:")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("FAIL") && l.contains("smtp:")), "{text}");
}

#[test]
fn doctor_names_a_missing_privilege_77_and_least_privilege_grants_suffice() {
    let mut db = TestDb::new();
    scenario(&mut db);
    let user = format!("u{}", &db.name[db.name.len() - 12..]);
    let d = db.name.clone();
    let app_tables = sigov_alerts::doctor::APP_TABLES;
    let hosts = ["localhost", "127.0.0.1"];
    for h in hosts {
        db.exec(&format!("CREATE USER '{user}'@'{h}' IDENTIFIED BY 'pw-{user}'"));
        for t in app_tables {
            db.exec(&format!("GRANT SELECT ON `{d}`.`{t}` TO '{user}'@'{h}'"));
        }
    }
    let url = format!(
        "{}/{}",
        crate::common::server_url().replacen("mysql://root@", &format!("mysql://{user}:pw-{user}@"), 1),
        d
    );
    let sink = SmtpSink::start();
    let lock = db.lock_file();
    let doctor = |url: &str| {
        bin()
            .arg("--database-url")
            .arg(url)
            .arg("--smtp-url")
            .arg(sink.url())
            .arg("--lock-file")
            .arg(&lock)
            .arg("doctor")
            .output()
            .unwrap()
    };
    let out = doctor(&url);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(77), "{text}");
    assert!(
        text.contains("FAIL  privileges: missing: INSERT on core_alerteprojet, INSERT on core_notificationetape"),
        "{text}"
    );
    // The README's least-privilege grants.
    for h in hosts {
        db.exec(&format!(
            "GRANT INSERT ON `{d}`.`core_alerteprojet` TO '{user}'@'{h}';
             GRANT INSERT ON `{d}`.`core_notificationetape` TO '{user}'@'{h}';
             GRANT ALL ON `{d}`.`sigov_alerts_runs` TO '{user}'@'{h}';
             GRANT ALL ON `{d}`.`sigov_alerts_deliveries` TO '{user}'@'{h}';
             GRANT ALL ON `{d}`.`_sigov_alerts_migrations` TO '{user}'@'{h}';"
        ));
    }
    let out = doctor(&url);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{text}");
    let run = bin()
        .arg("--database-url")
        .arg(&url)
        .arg("--smtp-url")
        .arg(sink.url())
        .arg("--lock-file")
        .arg(db.lock_file())
        .args(["run-all", "--at", AT, "--replay"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", all_output(&run));
    assert_eq!(sink.count(), 8);
    for h in hosts {
        db.exec(&format!("DROP USER '{user}'@'{h}'"));
    }
}
