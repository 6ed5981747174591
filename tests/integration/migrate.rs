//! Migrations you can trust: an install migrated by the previous release
//! upgrades in place; an applied migration whose text differs from the
//! binary's (checksum mismatch), or one the binary does not know (a newer
//! release's), makes `doctor` fail naming it and every command that needs
//! our tables, `migrate` included, exit 78 with one line and change nothing;
//! `migrate` twice is a no-op.

use std::process::Output;

use sha2::{Digest, Sha256};

use crate::common::{SmtpSink, TestDb, all_output};
use crate::project_deadlines::{AT, scenario};

/// The previous release's bookkeeping table, as its `migrate` created it.
const PREVIOUS_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS _sigov_alerts_migrations (
               version BIGINT NOT NULL PRIMARY KEY,
               description VARCHAR(255) NOT NULL,
               checksum CHAR(64) NOT NULL,
               applied_at DATETIME(6) NOT NULL
             ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

/// The previous release's migrations: (version, description, SQL). Their
/// texts are those of migrations/ (a released migration never changes; a
/// unit test of src/db/migrate.rs holds their checksums).
const PREVIOUS_MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "create runs", include_str!("../../migrations/0001_create_runs.sql")),
    (2, "create deliveries", include_str!("../../migrations/0002_create_deliveries.sql")),
    (3, "claims and exit codes", include_str!("../../migrations/0003_claims_and_exit_codes.sql")),
    (4, "outbox claim order", include_str!("../../migrations/0004_outbox_order.sql")),
];

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Sets up our tables as the previous release's `migrate` left them after
/// applying `versions`: each migration's SQL, then its bookkeeping row.
fn previous_release(db: &mut TestDb, versions: &[i64]) {
    db.exec(PREVIOUS_MIGRATIONS_TABLE);
    for (version, description, sql) in PREVIOUS_MIGRATIONS.iter().filter(|(v, _, _)| versions.contains(v)) {
        db.exec(sql);
        db.exec(&format!(
            "INSERT INTO _sigov_alerts_migrations (version, description, checksum, applied_at) \
             VALUES ({version}, '{description}', '{}', UTC_TIMESTAMP(6))",
            sha256_hex(sql)
        ));
    }
}

/// A finished run and two ledger rows, as a run of the previous release
/// recorded them yesterday (columns of migrations 1 and 2 only; recent, so
/// that retention keeps them).
fn previous_rows(db: &mut TestDb) {
    db.exec(
        "SET @t = UTC_TIMESTAMP(6) - INTERVAL 1 DAY;
         INSERT INTO sigov_alerts_runs (run_id, command, check_slug, host, pid, run_instant, local_date, started_at,
         finished_at, status, rows_created, emails_sent) VALUES
         ('00000000-0000-4000-8000-000000000001', 'run-all', 'project_deadlines', 'old-host', 42,
          @t, DATE(@t), @t, @t + INTERVAL 1 SECOND, 'ok', 1, 1);
         INSERT INTO sigov_alerts_deliveries (check_slug, kind, item_id, recipient_id, period, app_table, app_id,
         address, message_id, state, attempts, created_at, sent_at, run_id) VALUES
         ('project_deadlines', 'J-30', REPEAT('9', 32), REPEAT('8', 32), DATE(@t), 'core_alerteprojet', 1,
          'old@example.org', '<old-1@example.org>', 'sent', 1, @t, @t + INTERVAL 1 SECOND,
          '00000000-0000-4000-8000-000000000001'),
         ('project_deadlines', 'J-30', REPEAT('9', 32), REPEAT('7', 32), DATE(@t), 'core_alerteprojet', 2,
          'gone@example.org', '<old-2@example.org>', 'failed', 1, @t, NULL,
          '00000000-0000-4000-8000-000000000001');",
    );
}

/// Every row of the runs, each as one string.
const RUNS: &str = "SELECT CONCAT_WS('|', id, run_id, command, check_slug, host, pid, run_instant, local_date, \
     started_at, finished_at, status, rows_created, emails_sent, emails_queued, emails_failed, skipped, error, \
     exit_code) FROM sigov_alerts_runs ORDER BY id";

/// Every row of the ledger and outbox, each as one string.
const DELIVERIES: &str = "SELECT CONCAT_WS('|', id, check_slug, kind, item_id, recipient_id, period, app_table, \
     app_id, address, message_id, state, attempts, last_reply, next_attempt_at, created_at, sent_at, run_id, \
     claimed_by, claim_expires_at, queued_at, last_attempt_at, discarded_by, discard_reason) \
     FROM sigov_alerts_deliveries ORDER BY id";

/// The bookkeeping rows, every column.
fn bookkeeping(db: &mut TestDb) -> Vec<Vec<String>> {
    db.rows("SELECT version, description, checksum, applied_at FROM _sigov_alerts_migrations ORDER BY version")
}

/// The definitions of our tables, to see that nothing changed them.
fn our_tables(db: &mut TestDb) -> Vec<Vec<String>> {
    ["_sigov_alerts_migrations", "sigov_alerts_runs", "sigov_alerts_deliveries"]
        .iter()
        .flat_map(|t| db.rows(&format!("SHOW CREATE TABLE {t}")))
        .collect()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The `doctor` line of `item`.
fn doctor_line(text: &str, item: &str) -> String {
    text.lines().find(|l| l.get(6..).is_some_and(|r| r.starts_with(&format!("{item}:")))).unwrap_or_default().into()
}

#[test]
fn the_previous_release_tables_upgrade_in_place() {
    let mut db = TestDb::bare();
    scenario(&mut db);
    previous_release(&mut db, &[1, 2, 3, 4]);
    previous_rows(&mut db);
    let before = bookkeeping(&mut db);
    let tables = our_tables(&mut db);
    let runs = db.rows(RUNS);
    let deliveries = db.rows(DELIVERIES);

    let out = db.cmd(&["migrate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert_eq!(all_output(&out), "");
    // Nothing to apply, nothing converted: the checksums the previous
    // release recorded are those of this binary.
    assert_eq!(bookkeeping(&mut db), before);
    assert_eq!(our_tables(&mut db), tables);
    assert_eq!(db.rows(RUNS), runs);
    assert_eq!(db.rows(DELIVERIES), deliveries);
    assert_eq!(runs.len(), 1);
    assert_eq!(deliveries.len(), 2);

    let sink = SmtpSink::start();
    let out = db.run(&sink.url(), &["doctor"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert_eq!(doctor_line(&stdout(&out), "migrations"), "ok    migrations: 4 applied");

    let out = db.run(&sink.url(), &["run-all", "--at", AT, "--replay"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert!(sink.count() > 0, "the run sent nothing");
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_runs WHERE host = 'old-host'"), 1);
    assert!(db.count("SELECT COUNT(*) FROM sigov_alerts_runs") > 1);
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE message_id LIKE '<old-%'"), 2);
    let out = db.cmd(&["history", "--limit", "10"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
}

#[test]
fn the_first_release_tables_get_the_missing_migrations() {
    let mut db = TestDb::bare();
    scenario(&mut db);
    previous_release(&mut db, &[1, 2]);
    previous_rows(&mut db);
    let before = bookkeeping(&mut db);

    let sink = SmtpSink::start();
    let out = db.run(&sink.url(), &["run-all", "--at", AT, "--replay"]);
    assert_eq!(out.status.code(), Some(78), "{}", all_output(&out));
    assert_eq!(
        stderr(&out),
        "sigov-alerts: error: the tool's tables are missing or out of date: run `sigov-alerts migrate` first\n"
    );

    let out = db.cmd(&["migrate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let after = bookkeeping(&mut db);
    assert_eq!(after.len(), 4);
    assert_eq!(after[..2], before[..]);
    let added: Vec<(&str, &str)> = after[2..].iter().map(|r| (r[0].as_str(), r[2].as_str())).collect();
    let expected: Vec<(String, String)> =
        PREVIOUS_MIGRATIONS[2..].iter().map(|(v, _, sql)| (v.to_string(), sha256_hex(sql))).collect();
    assert_eq!(added, expected.iter().map(|(v, s)| (v.as_str(), s.as_str())).collect::<Vec<_>>());
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE message_id LIKE '<old-%'"), 2);
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_runs WHERE host = 'old-host' AND exit_code IS NULL"), 1);
    let out = db.run(&sink.url(), &["run-all", "--at", AT, "--replay"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
}

/// Every command that needs our tables exits 78 with `line` alone on
/// stderr, and changes nothing; `doctor` fails on the migrations naming it.
fn refused_everywhere(db: &mut TestDb, line: &str) {
    let sink = SmtpSink::start();
    let tables = our_tables(db);
    let counts = db.table_counts();
    let expected = format!("sigov-alerts: error: {line}\n");

    let out = db.run(&sink.url(), &["doctor"]);
    assert_eq!(out.status.code(), Some(78), "{}", all_output(&out));
    assert_eq!(doctor_line(&stdout(&out), "migrations"), format!("FAIL  migrations: {line}"), "{}", stdout(&out));
    assert_eq!(stdout(&out).lines().filter(|l| l.starts_with("FAIL")).count(), 1, "{}", stdout(&out));

    let commands: &[&[&str]] = &[
        &["migrate"],
        &["run-all", "--dry-run", "--at", AT],
        &["run-all", "--at", AT, "--replay"],
        &["check-project-deadlines", "--at", AT, "--replay"],
        &["deliver"],
        &["outbox"],
        &["history"],
        &["status"],
    ];
    for args in commands {
        let out = db.run(&sink.url(), args);
        assert_eq!(out.status.code(), Some(78), "{args:?}: {}", all_output(&out));
        assert_eq!(stderr(&out), expected, "{args:?}");
        assert_eq!(stdout(&out), "", "{args:?}");
    }
    assert_eq!(sink.count(), 0);
    assert_eq!(db.table_counts(), counts);
    assert_eq!(our_tables(db), tables);
}

#[test]
fn a_changed_migration_is_refused_naming_its_version() {
    let mut db = TestDb::new();
    scenario(&mut db);
    // As a build whose migration 2 had another text would have recorded it.
    let other = sha256_hex("-- another migration 2\n");
    db.exec(&format!("UPDATE _sigov_alerts_migrations SET checksum = '{other}' WHERE version = 2"));
    let line = format!(
        "migration 2 (create deliveries) applied to this database differs from this version's (recorded checksum \
         {}…, expected {}…): the tool's tables were made by another build of sigov-alerts; refusing to use or \
         change them",
        &other[..12],
        &sha256_hex(PREVIOUS_MIGRATIONS[1].2)[..12]
    );
    refused_everywhere(&mut db, &line);
    assert_eq!(db.count(&format!("SELECT COUNT(*) FROM _sigov_alerts_migrations WHERE checksum = '{other}'")), 1);
}

#[test]
fn a_migration_newer_than_the_binary_is_refused_naming_its_version() {
    let mut db = TestDb::new();
    scenario(&mut db);
    db.exec(&format!(
        "INSERT INTO _sigov_alerts_migrations (version, description, checksum, applied_at) \
         VALUES (99, 'from a later release', '{}', UTC_TIMESTAMP(6))",
        sha256_hex("-- migration 99\n")
    ));
    refused_everywhere(
        &mut db,
        "migration 99 is recorded as applied but this version of sigov-alerts does not know it (it knows 1 to 4): \
         a newer release of sigov-alerts migrated this database: install that release or a later one",
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM _sigov_alerts_migrations"), 5);
}

#[test]
fn migrate_twice_is_a_no_op() {
    let mut db = TestDb::bare();
    let out = db.cmd(&["migrate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let first = bookkeeping(&mut db);
    assert_eq!(first.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(), ["1", "2", "3", "4"]);
    for (row, (_, description, sql)) in first.iter().zip(PREVIOUS_MIGRATIONS) {
        assert_eq!((row[1].as_str(), row[2].as_str()), (*description, sha256_hex(sql).as_str()));
    }
    let tables = our_tables(&mut db);
    let counts = db.table_counts();

    let out = db.cmd(&["migrate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert_eq!(all_output(&out), "");
    assert_eq!(bookkeeping(&mut db), first);
    assert_eq!(our_tables(&mut db), tables);
    assert_eq!(db.table_counts(), counts);
}
