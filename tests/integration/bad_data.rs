//! Bad data never silences a check (ruling R15, R11): long names, line
//! separators in names, rows the database refuses or that the app deletes
//! between our reads and our INSERT, and temporary lock conflicts, against a
//! real MariaDB and SMTP server. The mid-run faults use the `failpoints`
//! feature (scripts/test turns it on): the binary stops right before its
//! first INSERT until the test has changed the database.

use crate::common::{Ran, SmtpSink, TestDb, header, parts, q, uid};
use crate::project_deadlines::{AT, CHECK};

/// A name of exactly `n` characters (accents: two bytes each in UTF-8),
/// starting with `start` and ending with `Z`.
fn long_name(start: &str, n: usize) -> String {
    let mut s: String = start.chars().chain("Système d'information ".chars().cycle()).take(n - 1).collect();
    s.push('Z');
    assert_eq!(s.chars().count(), n);
    s
}

/// Creator c1, principal b1, team member a1 (all with addresses); project
/// aa01 at J-7 (rows to c1, b1, a1) and aa02 overdue by 2 days (c1, b1):
/// five rows in one batch, a1's first by project.
fn scenario(db: &mut TestDb) {
    db.team();
    db.project("aa01", "Portail RH", "EN_COURS", Some("2026-03-23"), "c1").project(
        "aa02",
        "Migration",
        "EN_COURS",
        Some("2026-03-14"),
        "c1",
    );
    db.assign("f001", "aa01", "b1", true, false)
        .assign("f002", "aa01", "a1", false, false)
        .assign("f003", "aa02", "b1", true, false);
}

/// `(recipient, project)` of every app row.
fn app_rows(db: &mut TestDb) -> Vec<(String, String)> {
    db.rows("SELECT destinataire_id, projet_id FROM core_alerteprojet ORDER BY projet_id, destinataire_id")
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect()
}

fn all_five() -> Vec<(String, String)> {
    let mut v = vec![
        (uid("a1"), uid("aa01")),
        (uid("b1"), uid("aa01")),
        (uid("c1"), uid("aa01")),
        (uid("b1"), uid("aa02")),
        (uid("c1"), uid("aa02")),
    ];
    v.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
    v
}

fn without_a1() -> Vec<(String, String)> {
    all_five().into_iter().filter(|(r, _)| *r != uid("a1")).collect()
}

/// The stderr lines that report a data error; each holds every one of `want`.
fn data_error_lines(ran: &Ran, want: &[&str]) -> Vec<String> {
    let lines: Vec<String> = ran.stderr.lines().filter(|l| l.contains("data_error")).map(String::from).collect();
    for l in &lines {
        for w in want {
            assert!(l.contains(w), "{w} in {l}");
        }
    }
    lines
}

/// The skipped entries of the first check of a JSON report with `reason`.
fn skipped_with(report: &serde_json::Value, reason: &str) -> Vec<serde_json::Value> {
    report["checks"][0]["skipped"].as_array().unwrap().iter().filter(|s| s["reason"] == reason).cloned().collect()
}

/// The one data error of the first check of a JSON report: its item,
/// recipient and detail.
fn one_data_error(report: &serde_json::Value, item: &str, recipient: &str, detail: &str) -> serde_json::Value {
    let errors = skipped_with(report, "data_error");
    assert_eq!(errors.len(), 1, "{report:#}");
    let e = errors[0].clone();
    assert_eq!(
        (e["item_id"].as_str(), e["recipient_id"].as_str()),
        (Some(uid(item).as_str()), Some(uid(recipient).as_str()))
    );
    assert!(e["detail"].as_str().unwrap().contains(detail), "{report:#}");
    e
}

/// Once the data is right again, the next check writes every alert and
/// sends alice@example.org's e-mail, once.
fn fixed_then_all_delivered(db: &mut TestDb, sink: &SmtpSink) {
    db.sigov(&CHECK).smtp(sink.url()).expect(0);
    assert_eq!(app_rows(db), all_five());
    assert_eq!(sink.count(), 5);
    assert_eq!(sink.received().iter().filter(|m| m.to[0] == "alice@example.org").count(), 1);
}

/// No outbox row for a1: its alert was never recorded.
fn nothing_recorded_for_a1(db: &mut TestDb) {
    let n = db.count(&format!("SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE recipient_id = '{}'", uid("a1")));
    assert_eq!(n, 0);
}

#[test]
fn names_of_200_characters_give_200_character_titles_and_full_messages_r15() {
    let mut db = TestDb::new();
    db.team();
    let projet = long_name("Projet ", 200);
    let tache = long_name("Tâche ", 200);
    // Overdue, over budget, with a late stage holding an overdue task.
    db.project_full("aa01", &projet, "EN_COURS", Some("2026-03-14"), "c1", "1000.00", "ACME");
    db.assign("f001", "aa01", "b1", true, false).assign("f002", "aa01", "a1", false, false);
    db.budget_line("b001", "aa01", "MATERIEL", "2000.00");
    db.stage("e001", "aa01", "CONCEPTION", 2, "EN_COURS", Some("2026-03-13"));
    db.task("d001", "e001", &tache, "EN_COURS", Some("2026-03-15"), Some("a1"));
    let sink = SmtpSink::start();
    let ran = db.sigov(&["run-all", "--at", AT, "--replay"]).smtp(sink.url()).expect(0);
    assert!(ran.stderr.is_empty(), "{}", ran.all());

    // project_deadlines, task_deadlines, budget: 2 rows each, all 200 characters.
    let rows = db.rows(
        "SELECT type_alerte, titre, message, donnees_contexte, CAST(CHAR_LENGTH(titre) AS CHAR) \
         FROM core_alerteprojet ORDER BY type_alerte, destinataire_id",
    );
    let kinds: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "BUDGET_DEPASSE",
            "BUDGET_DEPASSE",
            "ECHEANCE_DEPASSEE",
            "ECHEANCE_DEPASSEE",
            "TACHES_EN_RETARD",
            "TACHES_EN_RETARD"
        ]
    );
    let cut = |name: &str, fixed: &str| -> String {
        let keep = 200 - fixed.chars().count() - 1;
        format!("{}…", name.chars().take(keep).collect::<String>())
    };
    for r in &rows {
        assert_eq!(r[4], "200", "{}", r[1]);
        let (want, in_message) = match r[0].as_str() {
            "ECHEANCE_DEPASSEE" => (
                format!("🔴 Projet {} - EN RETARD", cut(&projet, "🔴 Projet  - EN RETARD")),
                format!("Le projet '{projet}' est en retard de 2 jours"),
            ),
            "BUDGET_DEPASSE" => (
                format!("🔴 Budget dépassé - {}", cut(&projet, "🔴 Budget dépassé - ")),
                format!("Le budget du projet '{projet}' a été dépassé."),
            ),
            _ => (
                format!("🔴 Tâche en retard - {}", cut(&tache, "🔴 Tâche en retard - ")),
                format!("La tâche '{tache}' du projet '{projet}'"),
            ),
        };
        assert_eq!(r[1], want);
        assert!(r[2].starts_with(&in_message), "message keeps the full names: {}", r[2]);
    }
    // The JSON keeps the full task name.
    let noms = db.rows(
        "SELECT JSON_UNQUOTE(JSON_EXTRACT(donnees_contexte, '$.tache_nom')) FROM core_alerteprojet \
         WHERE type_alerte = 'TACHES_EN_RETARD'",
    );
    assert!(noms.iter().all(|n| n[0] == tache), "{noms:?}");
    // The stage title embeds only the code; its message the full project name.
    let stage = db.rows("SELECT titre, message FROM core_notificationetape");
    assert_eq!(stage.len(), 2);
    assert!(stage.iter().all(|s| s[0] == "🔴 Étape CONCEPTION - EN RETARD" && s[1].contains(&projet)));

    // One e-mail per row; the subject is the stored title, the body has the full names.
    let mails = sink.received();
    assert_eq!(mails.len(), 8);
    let alert_titles: Vec<String> = rows.iter().map(|r| r[1].clone()).collect();
    let mut subjects = 0;
    for m in &mails {
        let subject = header(&m.data, "Subject").unwrap();
        if let Some(titre) = subject.strip_prefix("[SI-Gouvernance] ⚠️ Alerte: ") {
            assert!(alert_titles.iter().any(|t| t == titre), "{subject}");
            subjects += 1;
            let (text, _) = parts(&m.data);
            assert!(text.contains(&format!("- Projet: {projet}\r\n")), "{text}");
        }
    }
    assert_eq!(subjects, 6);
}

#[test]
fn unicode_line_separator_in_a_project_name_is_a_space_in_the_subject_r11() {
    let mut db = TestDb::new();
    db.team().project("aa01", "Portail\u{2028}RH", "EN_COURS", Some("2026-03-14"), "c1");
    let sink = SmtpSink::start();
    db.sigov(&CHECK).smtp(sink.url()).expect(0);
    // The row keeps the raw name.
    assert_eq!(db.rows("SELECT titre FROM core_alerteprojet")[0][0], "🔴 Projet Portail\u{2028}RH - EN RETARD");
    let mails = sink.received();
    assert_eq!(mails.len(), 1);
    assert_eq!(
        header(&mails[0].data, "Subject").unwrap(),
        "[SI-Gouvernance] ⚠️ Alerte: 🔴 Projet Portail RH - EN RETARD"
    );
    let (text, html) = parts(&mails[0].data);
    assert!(text.contains("Le projet 'Portail\u{2028}RH' est en retard"), "{text:?}");
    assert!(html.contains("Portail\u{2028}RH"));
}

#[test]
fn a_row_the_database_refuses_is_a_data_error_reported_on_every_run_r15() {
    let mut db = TestDb::new();
    scenario(&mut db);
    // A rule of the database no rule of ours foresaw: a1 cannot receive alerts.
    db.exec(&format!(
        "ALTER TABLE core_alerteprojet ADD CONSTRAINT test_refuse_a1 CHECK (destinataire_id <> {})",
        q(&uid("a1"))
    ));
    let sink = SmtpSink::start();
    for run in 1..=2 {
        let ran = db.sigov(&CHECK).smtp(sink.url()).args(&["--format", "json"]).expect(65);
        // The four others are written and sent once (the second run: already sent).
        assert_eq!(app_rows(&mut db), without_a1(), "run {run}");
        assert_eq!(sink.count(), 4, "run {run}");
        assert_eq!(db.deliveries("sent"), 4);
        // Not recorded: tried again, and reported, on every run.
        nothing_recorded_for_a1(&mut db);
        let lines = data_error_lines(&ran, &["project_deadlines", &uid("aa01"), &uid("a1"), "4025"]);
        assert_eq!(lines.len(), 1, "run {run}: {}", ran.all());
        let report = ran.json();
        let error = one_data_error(&report, "aa01", "a1", "test_refuse_a1");
        assert_eq!(error["kind"], "ECHEANCE_J7");
        assert_eq!(report["exit_code"], 65);
        let already = skipped_with(&report, "already_sent").len();
        assert_eq!(already, if run == 1 { 0 } else { 4 });
    }
    // Once the data is fixed, the next run writes and sends it.
    db.exec("ALTER TABLE core_alerteprojet DROP CONSTRAINT test_refuse_a1");
    fixed_then_all_delivered(&mut db, &sink);
}

/// Faults injected between a check's reads and its first INSERT.
#[cfg(feature = "failpoints")]
mod mid_run {
    use std::path::{Path, PathBuf};
    use std::time::{Duration, Instant};

    use sqlx::Connection;
    use sqlx::mysql::MySqlConnection;

    use super::{
        CHECK, all_five, app_rows, data_error_lines, fixed_then_all_delivered, nothing_recorded_for_a1, one_data_error,
        scenario, without_a1,
    };
    use crate::common::{Ran, SAFETY, SmtpSink, Spawned, TestDb, uid};

    /// The check, stopping right before each try's first INSERT at
    /// `{fp}.{n}.ready` until the test writes `{fp}.{n}.go`.
    struct Stopping {
        run: Spawned,
        fp: PathBuf,
    }

    impl Stopping {
        /// `extra` after the check's arguments; the session's lock wait, `lock_wait` seconds.
        fn start(db: &TestDb, sink: &SmtpSink, extra: &[&str], lock_wait: u32) -> Stopping {
            let fp = db.dir.path().join("fp");
            let run = db
                .sigov(&CHECK)
                .args(extra)
                .smtp(sink.url())
                .env("SIGOV_ALERTS_FAILPOINT", format!("before_insert:{}", fp.display()))
                .env("SIGOV_ALERTS_FAILPOINT_LOCK_WAIT", lock_wait.to_string())
                .spawn();
            Stopping { run, fp }
        }

        /// Whether the binary has reached its `n`-th stop.
        fn reached(&self, n: u32) -> bool {
            stop_file(&self.fp, n, "ready").exists()
        }

        /// Waits until the binary stands at its `n`-th stop.
        fn wait(&mut self, n: u32) {
            let deadline = Instant::now() + SAFETY;
            while !self.reached(n) {
                if let Some(status) = self.run.ended() {
                    panic!("the binary ended ({status}) before stop {n}: {}", self.run.stderr_so_far());
                }
                assert!(Instant::now() < deadline, "stop {n} never reached");
                std::thread::sleep(Duration::from_millis(10));
            }
        }

        /// Lets the binary go on from its `n`-th stop.
        fn go(&self, n: u32) {
            std::fs::write(stop_file(&self.fp, n, "go"), b"").unwrap();
        }

        /// Waits for the end, exit code `code`, stop `unreached` never reached.
        fn end(self, code: i32, unreached: u32) -> Ran {
            let never = stop_file(&self.fp, unreached, "ready");
            let ran = self.run.finish().expect(code);
            assert!(!never.exists(), "stop {unreached} reached: {}", ran.all());
            ran
        }

        /// Waits at stop `n`, runs `meanwhile`, lets the binary go on.
        fn at(&mut self, n: u32, meanwhile: impl FnOnce()) {
            self.wait(n);
            meanwhile();
            self.go(n);
        }
    }

    fn stop_file(fp: &Path, n: u32, what: &str) -> PathBuf {
        PathBuf::from(format!("{}.{n}.{what}", fp.display()))
    }

    /// The app's own connection, holding locks in its transactions. Declared
    /// after the [`TestDb`], it is dropped first, even when a test fails: the
    /// server then rolls its transaction back and the database can be dropped.
    struct AppSession {
        rt: tokio::runtime::Runtime,
        conn: Option<MySqlConnection>,
    }

    impl AppSession {
        fn open(db: &TestDb) -> AppSession {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let conn = rt.block_on(MySqlConnection::connect(&db.url)).expect("connect");
            AppSession { rt, conn: Some(conn) }
        }

        fn exec(&mut self, sql: &str) {
            let conn = self.conn.as_mut().unwrap();
            self.rt
                .block_on(sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).execute(conn))
                .unwrap_or_else(|e| panic!("{e}\n{sql}"));
        }
    }

    impl Drop for AppSession {
        fn drop(&mut self) {
            if let Some(conn) = self.conn.take() {
                let _ = self.rt.block_on(conn.close());
            }
        }
    }

    /// The scenario, its check stopped before its first INSERT while the app
    /// deletes row `id` of `table` and the assignments naming it in
    /// `column`; what the check then ended with (65).
    fn deleted_mid_run(extra: &[&str], column: &str, table: &str, id: &str) -> (TestDb, SmtpSink, Ran) {
        let mut db = TestDb::new();
        scenario(&mut db);
        let sink = SmtpSink::start();
        let mut check = Stopping::start(&db, &sink, extra, 1);
        let id = uid(id);
        check.at(1, || {
            db.exec(&format!(
                "DELETE FROM core_affectation WHERE {column} = '{id}'; DELETE FROM {table} WHERE id = '{id}'"
            ))
        });
        // A data error is not retried within the run.
        let ran = check.end(65, 2);
        (db, sink, ran)
    }

    /// A conflict the app makes with the check at its first stop; it lets
    /// the check go on.
    type Conflict = fn(&mut AppSession, &mut TestDb, &Stopping);

    /// A second try of the check, after a lock conflict the app makes at
    /// the first stop and ends at the second with `end`: each alert written
    /// and sent exactly once. What the check ended with.
    fn retried(db: &mut TestDb, extra: &[&str], lock_wait: u32, conflict: Conflict, end: &str) -> Ran {
        scenario(db);
        let sink = SmtpSink::start();
        let mut check = Stopping::start(db, &sink, extra, lock_wait);
        let mut app = AppSession::open(db);
        check.wait(1);
        conflict(&mut app, db, &check);
        // The check's transaction is rolled back and tried again.
        check.at(2, || app.exec(end));
        let ran = check.end(0, 3);
        assert_eq!(app_rows(db), all_five(), "each alert written exactly once");
        assert_eq!(sink.count(), 5);
        assert_eq!(db.deliveries("sent"), 5);
        ran
    }

    #[test]
    fn recipient_deleted_between_read_and_insert_is_a_data_error_others_sent_r15() {
        // The app deletes a1 after our reads.
        let (mut db, sink, ran) = deleted_mid_run(&["--format", "json"], "utilisateur_id", "core_utilisateur", "a1");

        // Every other alert of the check is written and sent.
        assert_eq!(app_rows(&mut db), without_a1());
        let mails = sink.received();
        assert_eq!(mails.len(), 4);
        assert!(mails.iter().all(|m| m.to[0] != "alice@example.org"));
        assert_eq!(db.deliveries("sent"), 4);
        // Named on stderr (check, item, recipient, why) and in the report; not recorded.
        let lines = data_error_lines(&ran, &["project_deadlines", &uid("aa01"), &uid("a1"), "1452"]);
        assert_eq!(lines.len(), 1, "{}", ran.all());
        one_data_error(&ran.json(), "aa01", "a1", "foreign key");
        nothing_recorded_for_a1(&mut db);

        // The deletion is undone: the next run tries the alert again and delivers it.
        db.user("a1", "Alice", "Roux", "alice@example.org", (true, true, false))
            .assign("f002", "aa01", "a1", false, false);
        fixed_then_all_delivered(&mut db, &sink);
    }

    #[test]
    fn project_deleted_between_read_and_insert_is_a_data_error_other_projects_sent_r15() {
        let (mut db, sink, ran) = deleted_mid_run(&[], "projet_id", "core_projet", "aa01");
        // The other project's two alerts are written and sent; aa01's three are reported.
        assert_eq!(app_rows(&mut db), [(uid("b1"), uid("aa02")), (uid("c1"), uid("aa02"))]);
        assert_eq!(sink.count(), 2);
        let lines = data_error_lines(&ran, &[&uid("aa01"), "1452"]);
        assert_eq!(lines.len(), 3, "{}", ran.all());
        assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_deliveries"), 2);
    }

    #[test]
    fn lock_wait_timeout_is_retried_once_and_every_alert_written_once() {
        let mut db = TestDb::new();
        // A transaction of the app holds aa01: the INSERT's foreign key check
        // waits for it and gives up after the session's 1 s.
        let hold: Conflict = |app, _, check| {
            app.exec(&format!("START TRANSACTION; SELECT id FROM core_projet WHERE id = '{}' FOR UPDATE", uid("aa01")));
            check.go(1);
        };
        retried(&mut db, &[], 1, hold, "COMMIT").assert_quiet();
    }

    #[test]
    fn deadlock_is_retried_once_and_every_alert_written_once() {
        let mut db = TestDb::new();
        // Ballast that makes the app's transaction the heavier one, so InnoDB
        // rolls back ours when the two deadlock.
        db.exec("CREATE TABLE test_ballast (n INT PRIMARY KEY) ENGINE=InnoDB");
        let deadlock: Conflict = |app, db, check| {
            app.exec(&format!(
                "START TRANSACTION;
                 INSERT INTO test_ballast WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 900) SELECT n FROM s;
                 SELECT id FROM core_projet WHERE id = '{}' FOR UPDATE",
                uid("aa02")
            ));
            // Let our INSERT go: it locks aa01 (its first rows) and waits for aa02.
            check.go(1);
            let deadline = Instant::now() + SAFETY;
            while db.count("SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'") == 0 {
                assert!(Instant::now() < deadline, "the INSERT never waited");
                // InnoDB refreshes this table only when it was not read for 100 ms.
                std::thread::sleep(Duration::from_millis(250));
            }
            // The app now wants aa01: a deadlock, and ours is rolled back.
            app.exec(&format!("SELECT id FROM core_projet WHERE id = '{}' FOR UPDATE", uid("aa01")));
        };
        // A long lock wait: only the deadlock can end ours.
        let ran = retried(&mut db, &["-v"], 30, deadlock, "ROLLBACK");
        ran.assert_stderr(&["Deadlock"]);
    }
}
