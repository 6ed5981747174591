//! The database and SMTP passwords never leave: on runs that really connect
//! and work with them (a MariaDB user of the test's own, a relay that
//! requires AUTH), at every verbosity, in text and JSON logs, on success and
//! on a failure after connecting, they appear in no stdout, stderr, log
//! file, e-mail or ledger row.

use crate::common::smtp::base64;
use crate::common::{DbUser, Ran, Sigov, SmtpSink, TestDb};
use crate::project_deadlines::{AT, scenario};

/// A password nothing prints by chance, and never percent-encoded in a URL.
fn password(what: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{what}Pw{:08x}{:06x}Zq", nanos, std::process::id())
}

/// The forms a leaked password could take.
struct Secrets(Vec<String>);

impl Secrets {
    /// `text` (what `place` holds) holds none of them.
    #[track_caller]
    fn absent(&self, place: &str, text: &str) {
        for s in &self.0 {
            assert!(!text.contains(s.as_str()), "{place} holds the secret {s:?}:\n{text}");
        }
    }

    /// Nothing the run printed holds one.
    #[track_caller]
    fn absent_from(&self, ran: &Ran) {
        self.absent("stdout", &ran.stdout);
        self.absent("stderr", &ran.stderr);
    }
}

/// The test's world: the scenario on a database not yet migrated, a user
/// with a password and every privilege on it, a relay requiring AUTH.
struct World {
    db: TestDb,
    user: DbUser,
    sink: SmtpSink,
    smtp_password: String,
    secrets: Secrets,
}

impl World {
    fn new() -> World {
        let mut db = TestDb::bare();
        scenario(&mut db);
        let user = db.user_with_password(&password("Db"));
        let all = format!("ALL PRIVILEGES ON `{}`.*", db.name);
        user.grant(&mut db, &all);
        let smtp_password = password("Smtp");
        let sink = SmtpSink::start();
        sink.configure(|b| b.auth = Some(("alerts".into(), smtp_password.clone())));
        let secrets = Secrets(vec![
            user.password.clone(),
            smtp_password.clone(),
            // The distinctive middles, should a password be cut or quoted;
            // the credentials as AUTH PLAIN sends them.
            user.password[2..14].to_string(),
            smtp_password[4..16].to_string(),
            base64(format!("\0alerts\0{smtp_password}").as_bytes()),
        ]);
        World { db, user, sink, smtp_password, secrets }
    }

    /// The binary with both passwords in the URLs given as flags.
    fn in_flags(&self, args: &[&str]) -> Sigov {
        let smtp = format!("smtp://alerts:{}@127.0.0.1:{}?tls=none", self.smtp_password, self.sink.port);
        self.db.sigov(args).opt("--database-url", self.user.url(&self.db, true)).smtp(smtp)
    }

    /// The binary configured by a file that names password files and a log
    /// file (no URL on the command line).
    fn in_files(&self, args: &[&str]) -> Sigov {
        let dir = self.db.dir.path();
        let db_pw = self.db.file("database-password", &format!("{}\n", self.user.password));
        let smtp_pw = self.db.file("smtp-password", &format!("{}\n", self.smtp_password));
        let cfg = self.db.file(
            "secrets.toml",
            &format!(
                "database_url = {:?}\ndatabase_password_file = {db_pw:?}\n\
                 smtp_url = \"smtp://alerts@127.0.0.1:{}?tls=none\"\nsmtp_password_file = {smtp_pw:?}\n\
                 log_file = {:?}\nlog_file_level = \"debug\"\n",
                self.user.url(&self.db, false),
                self.sink.port,
                dir.join("files.log").display().to_string(),
            ),
        );
        Sigov::new(args).opt("--lock-file", self.db.lock_file()).config(cfg).dir(dir)
    }

    /// Runs `sigov` to exit `code`; nothing it printed holds a secret.
    #[track_caller]
    fn run(&self, sigov: Sigov, code: i32) -> Ran {
        let ran = sigov.expect(code);
        self.secrets.absent_from(&ran);
        ran
    }
}

#[test]
fn passwords_never_appear_on_runs_that_connect_with_them() {
    let mut w = World::new();
    let log = w.db.dir.path().join("flags.log");
    let log = log.to_str().unwrap();

    // The user creates our tables: it connected, and had its privileges.
    w.run(w.in_flags(&["-vv", "--log-file", log, "migrate"]), 0);
    assert_eq!(w.db.count("SELECT COUNT(*) FROM _sigov_alerts_migrations"), 4);

    let dry = w.run(w.in_flags(&["-vv", "--log-format", "json", "run-all", "--at", AT, "--dry-run"]), 0);
    assert!(dry.stdout.contains("would create 9 rows, 8 e-mails"), "{}", dry.stdout);

    // The real run, every library at trace level: rows written, mail sent
    // through the relay's AUTH.
    let real = w.in_flags(&["-vv", "--log-file", log, "run-all", "--at", AT, "--replay"]);
    w.run(real.env("SIGOV_ALERTS_LOG", "trace"), 0);
    assert_eq!(w.db.alerts(), 9);
    assert_eq!(w.sink.count(), 8);
    assert!(w.sink.auth_attempts() >= 1);

    let status = w.run(w.in_flags(&["-v", "status", "--format", "json"]), 0).json();
    assert_eq!(status["healthy"], true, "{status}");
    let history = w.run(w.in_flags(&["-vv", "--log-file", log, "history", "--format", "json"]), 0).json();
    assert_eq!(history[0]["command"], "run-all", "{history}");
    let doctor = w.run(w.in_flags(&["-vv", "doctor"]), 0);
    assert!(doctor.stdout.contains("ok    database: ") && doctor.stdout.contains("ok    smtp: "), "{}", doctor.stdout);
    w.run(w.in_flags(&["outbox", "--state", "all"]), 0).assert_stdout(&["9 e-mails: 8 sent, 1 no_email"]);
    w.run(w.in_flags(&["config"]), 0).assert_stdout(&["****"]);

    // The same commands with the passwords read from files.
    w.run(w.in_files(&["config"]), 0).assert_stdout(&["database_password_file = ", "smtp_password_file = "]);
    w.run(w.in_files(&["-vv", "doctor"]), 0).assert_stdout(&["ok    database: ", "ok    smtp: "]);
    w.run(w.in_files(&["-vv", "run-all", "--at", AT, "--dry-run"]), 0).assert_stdout(&["would create "]);
    w.db.exec("UPDATE sigov_alerts_deliveries SET state = 'queued' WHERE state = 'sent' ORDER BY id LIMIT 2");
    w.run(w.in_files(&["-vv", "deliver", "--now"]), 0);
    assert_eq!(w.sink.count(), 10, "the two e-mails queued again were sent");
    w.run(w.in_files(&["-vv", "history"]), 0).assert_stdout(&["deliver"]);

    // A failure after connecting: a statement the server refuses.
    w.db.exec("SET FOREIGN_KEY_CHECKS = 0; DROP TABLE core_contratgarantie; SET FOREIGN_KEY_CHECKS = 1;");
    let failed = ["-vv", "--log-file", log, "check-contract-expiration", "--at", AT, "--replay"];
    w.run(w.in_flags(&failed), 78).assert_stderr(&["core_contratgarantie"]);
    w.run(w.in_files(&failed[3..]), 78).assert_stderr(&["core_contratgarantie"]);
    // And one at connecting: a password the server refuses.
    let wrong = w.user.url(&w.db, true).replacen(&w.user.password, &format!("{}0", w.user.password), 1);
    w.run(w.in_flags(&["-vv", "history"]).opt("--database-url", &wrong), 69).assert_stderr(&["Access denied"]);
    w.run(Sigov::new(&["--help"]).env("DATABASE_URL", &wrong), 0);

    // Nor in the log files, the e-mails, or what the tool recorded.
    for file in ["flags.log", "files.log"] {
        let text = std::fs::read_to_string(w.db.dir.path().join(file)).unwrap();
        assert!(text.contains("run finished"), "{file} has the runs: {text}");
        w.secrets.absent(file, &text);
    }
    for m in w.sink.received() {
        w.secrets.absent("an e-mail", &m.data);
    }
    for table in ["sigov_alerts_runs", "sigov_alerts_deliveries"] {
        let rows = w.db.rows(&format!("SELECT * FROM {table}"));
        assert!(!rows.is_empty(), "{table}");
        w.secrets.absent(table, &format!("{rows:?}"));
    }
}
