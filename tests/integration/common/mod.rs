//! Test harness: a uniquely named database per test on the local MariaDB
//! (the app schema from tests/fixtures/, our migrations), row builders, an
//! SMTP sink, and a runner for the built binary.

#![allow(dead_code)]

mod run;
pub mod smtp;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::mysql::MySqlConnection;
use sqlx::{Connection, Row};

pub use run::{Ran, SAFETY, Sigov, Spawned};
pub use smtp::SmtpSink;

/// The server URL, without database (scripts/test exports it).
pub fn server_url() -> String {
    std::env::var("SIGOV_TEST_DATABASE_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A name no other test of any process uses: `{prefix}_{pid}_{n}_{µs}`.
pub fn unique_name(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        chrono::Utc::now().timestamp_subsec_micros()
    )
}

/// Runs `sql` on the server at `server` (a URL without database) as the
/// connection's user; an error is returned, not raised, for clean-ups.
pub fn on_server(server: &str, sql: &str) -> Result<(), sqlx::Error> {
    let server = server.trim_end_matches('/').to_string();
    let sql = sql.to_string();
    // A thread of its own: callers may be inside another runtime, or dropping.
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let mut c = MySqlConnection::connect(&format!("{server}/mysql")).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut c).await?;
            c.close().await
        })
    })
    .join()
    .unwrap()
}

/// Creates database `name` on `server`.
pub fn create_database(server: &str, name: &str) {
    on_server(server, &format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
        .expect("create the test database (run scripts/test, or set SIGOV_TEST_DATABASE_URL)");
}

/// Drops database `name` on `server`, if it can.
pub fn drop_database(server: &str, name: &str) {
    let _ = on_server(server, &format!("DROP DATABASE IF EXISTS `{name}`"));
}

/// The app schema, as shipped in tests/fixtures/.
pub const SCHEMA: &str = include_str!("../../fixtures/si-gouvernance-schema.sql");

/// A throwaway database holding the app schema.
pub struct TestDb {
    /// Database name.
    pub name: String,
    /// URL of the database.
    pub url: String,
    /// A connection for fixtures and assertions.
    pub conn: MySqlConnection,
    /// Temporary directory for lock files and mail.
    pub dir: tempfile::TempDir,
    /// The server URL, without database.
    server: String,
    rt: tokio::runtime::Runtime,
}

impl TestDb {
    /// A new database with the app schema and our migrations applied.
    pub fn new() -> TestDb {
        Self::on(&server_url())
    }

    /// A new migrated database with the app schema on the server at `server`.
    pub fn on(server: &str) -> TestDb {
        let db = Self::bare_on(server);
        db.sigov(&["migrate"]).expect(0);
        db
    }

    /// A new database with only the app schema (not migrated).
    pub fn bare() -> TestDb {
        Self::bare_on(&server_url())
    }

    /// A new database with only the app schema on the server at `server`.
    pub fn bare_on(server: &str) -> TestDb {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let name = unique_name("sigov_t");
        let server = server.to_string();
        create_database(&server, &name);
        let url = format!("{}/{}", server.trim_end_matches('/'), name);
        let conn = rt.block_on(async {
            let mut conn = MySqlConnection::connect(&url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(SCHEMA)).execute(&mut conn).await.expect("load schema");
            conn
        });
        TestDb { name, url, conn, dir: tempfile::tempdir().unwrap(), server, rt }
    }

    /// Runs SQL statements (fixtures).
    pub fn exec(&mut self, sql: &str) {
        let conn = &mut self.conn;
        self.rt
            .block_on(sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).execute(conn))
            .unwrap_or_else(|e| panic!("{e}\n{sql}"));
    }

    /// One integer from a query.
    pub fn count(&mut self, sql: &str) -> i64 {
        let conn = &mut self.conn;
        self.rt.block_on(async {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).fetch_one(conn).await.unwrap();
            row.try_get::<i64, _>(0).unwrap()
        })
    }

    /// Rows of strings from a query (NULL as "NULL").
    pub fn rows(&mut self, sql: &str) -> Vec<Vec<String>> {
        let conn = &mut self.conn;
        self.rt.block_on(async {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).fetch_all(conn).await.unwrap();
            rows.iter()
                .map(|r| {
                    (0..r.len())
                        .map(|i| {
                            r.try_get::<Option<String>, _>(i)
                                .map(|v| v.unwrap_or_else(|| "NULL".into()))
                                .or_else(|_| {
                                    r.try_get::<Option<i64>, _>(i)
                                        .map(|v| v.map(|x| x.to_string()).unwrap_or_else(|| "NULL".into()))
                                })
                                .or_else(|_| {
                                    r.try_get::<Option<chrono::NaiveDateTime>, _>(i)
                                        .map(|v| v.map(|x| x.to_string()).unwrap_or_else(|| "NULL".into()))
                                })
                                .or_else(|_| {
                                    r.try_get::<Option<chrono::NaiveDate>, _>(i)
                                        .map(|v| v.map(|x| x.to_string()).unwrap_or_else(|| "NULL".into()))
                                })
                                .unwrap_or_else(|e| format!("<{e}>"))
                        })
                        .collect()
                })
                .collect()
        })
    }

    /// Row counts of every table of the database, for "nothing written" checks.
    pub fn table_counts(&mut self) -> Vec<(String, i64)> {
        let tables = self.rows(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name",
        );
        tables
            .into_iter()
            .map(|t| {
                let n = self.count(&format!("SELECT COUNT(*) FROM `{}`", t[0]));
                (t[0].clone(), n)
            })
            .collect()
    }

    /// The lock file of this test.
    pub fn lock_file(&self) -> PathBuf {
        self.dir.path().join("sigov-alerts.lock")
    }

    /// The binary with this database and lock file, in the test's directory.
    pub fn sigov(&self, args: &[&str]) -> Sigov {
        Sigov::new(args).opt("--database-url", &self.url).opt("--lock-file", self.lock_file()).dir(self.dir.path())
    }

    /// [`TestDb::sigov`] as a plain command.
    pub fn cmd(&self, args: &[&str]) -> Command {
        self.sigov(args).command()
    }

    /// Runs the binary with a mail transport; the plain output.
    pub fn run(&self, smtp_url: &str, args: &[&str]) -> Output {
        self.sigov(args).smtp(smtp_url).command().output().expect("run the binary")
    }

    /// Writes `contents` to `name` in the test's directory; its path.
    pub fn file(&self, name: &str, contents: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path.display().to_string()
    }

    /// E-mails of the outbox in `state` (`queued`, `sent`…).
    pub fn deliveries(&mut self, state: &str) -> i64 {
        self.count(&format!("SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE state = '{state}'"))
    }

    /// Rows of core_alerteprojet.
    pub fn alerts(&mut self) -> i64 {
        self.count("SELECT COUNT(*) FROM core_alerteprojet")
    }

    /// A MariaDB user of this test's own, `password` its password, with no
    /// privilege yet ([`DbUser::grant`]); dropped with the guard returned.
    pub fn user_with_password(&mut self, password: &str) -> DbUser {
        let user = DbUser { name: unique_name("sigov_u"), password: password.into(), server: self.server.clone() };
        for host in DbUser::HOSTS {
            self.exec(&format!("CREATE USER '{}'@'{host}' IDENTIFIED BY {}", user.name, q(password)));
        }
        user
    }

    /// Reference rows: statuses, stage types.
    pub fn reference(&mut self) -> &mut Self {
        self.exec(REFERENCE_SQL);
        self
    }

    /// The reference rows and three active users with addresses: c1 Claire
    /// Martin, b1 Bruno Petit, a1 Alice Roux.
    pub fn team(&mut self) -> &mut Self {
        self.reference()
            .user("c1", "Claire", "Martin", "claire@example.org", (true, true, false))
            .user("b1", "Bruno", "Petit", "bruno@example.org", (true, true, false))
            .user("a1", "Alice", "Roux", "alice@example.org", (true, true, false))
    }

    /// A user; `flags` = (is_active, statut_actif, is_superuser).
    pub fn user(&mut self, id: &str, first: &str, last: &str, email: &str, flags: (bool, bool, bool)) -> &mut Self {
        let (a, s, su) = flags;
        self.exec(&format!(
            "INSERT INTO core_utilisateur (password, is_superuser, username, first_name, last_name, email, is_staff,
             is_active, date_joined, id, telephone, taux_horaire, statut_actif, date_creation, tentatives_connexion_echouees)
             VALUES ('x', {su}, '{id}', {}, {}, {}, 0, {a}, NOW(), '{}', '', 0, {s}, NOW(), 0)",
            q(first),
            q(last),
            q(email),
            uid(id),
            su = su as u8,
            a = a as u8,
            s = s as u8
        ));
        self
    }

    /// A project; `statut` is a code, `date_fin` a date or None.
    pub fn project(&mut self, id: &str, nom: &str, statut: &str, date_fin: Option<&str>, creator: &str) -> &mut Self {
        self.project_full(id, nom, statut, date_fin, creator, "0.00", "ACME")
    }

    /// A project with budget and client.
    #[allow(clippy::too_many_arguments)]
    pub fn project_full(
        &mut self,
        id: &str,
        nom: &str,
        statut: &str,
        date_fin: Option<&str>,
        creator: &str,
        budget: &str,
        client: &str,
    ) -> &mut Self {
        let df = date_fin.map(|d| format!("'{d}'")).unwrap_or_else(|| "NULL".into());
        self.exec(&format!(
            "INSERT INTO core_projet (id, nom, description, client, budget_previsionnel, devise, priorite, date_creation,
             date_modification, commentaires, createur_id, statut_id, notifications_admin_activees, date_fin)
             VALUES ('{}', {}, '', {}, {budget}, 'EUR', 'HAUTE', NOW(6), NOW(6), '', '{}',
             (SELECT id FROM core_statutprojet WHERE nom = '{statut}'), 1, {df})",
            uid(id),
            q(nom),
            q(client),
            uid(creator)
        ));
        self
    }

    /// An assignment; `ended` sets `date_fin`.
    pub fn assign(&mut self, id: &str, project: &str, user: &str, principal: bool, ended: bool) -> &mut Self {
        self.exec(&format!(
            "INSERT INTO core_affectation (id, est_responsable_principal, pourcentage_temps, date_debut, date_fin, projet_id,
             utilisateur_id, notes) VALUES ('{}', {}, 100, NOW(6), {}, '{}', '{}', '')",
            uid(id),
            principal as u8,
            if ended { "NOW(6)" } else { "NULL" },
            uid(project),
            uid(user)
        ));
        self
    }
}

impl TestDb {
    /// A stage of type `code` (`CONCEPTION`…), `date_fin_prevue` optional.
    pub fn stage(
        &mut self,
        id: &str,
        project: &str,
        code: &str,
        ordre: i32,
        statut: &str,
        due: Option<&str>,
    ) -> &mut Self {
        let due = due.map(|d| format!("'{d}'")).unwrap_or_else(|| "NULL".into());
        self.exec(&format!(
            "INSERT INTO core_etapeprojet (id, ordre, statut, date_debut_prevue, date_fin_prevue, date_creation,
             date_modification, commentaires, createur_id, projet_id, type_etape_id)
             VALUES ('{}', {ordre}, '{statut}', NULL, {due}, NOW(6), NOW(6), '',
             (SELECT createur_id FROM core_projet WHERE id = '{p}'), '{p}',
             (SELECT id FROM core_typeetape WHERE nom = '{code}'))",
            uid(id),
            p = uid(project)
        ));
        self
    }

    /// A task of a stage; `responsable` optional.
    pub fn task(
        &mut self,
        id: &str,
        stage: &str,
        nom: &str,
        statut: &str,
        due: Option<&str>,
        responsable: Option<&str>,
    ) -> &mut Self {
        let due = due.map(|d| format!("'{d}'")).unwrap_or_else(|| "NULL".into());
        let resp = responsable.map(|r| format!("'{}'", uid(r))).unwrap_or_else(|| "NULL".into());
        self.exec(&format!(
            "INSERT INTO core_tacheetape (id, nom, description, date_fin, statut, priorite, date_creation, date_modification,
             commentaires, raison_blocage, createur_id, etape_id, responsable_id, etiquettes, pourcentage_completion,
             ajoutee_apres_cloture, justification_ajout_tardif)
             VALUES ('{}', {}, '', {due}, '{statut}', 'MOYENNE', NOW(6), NOW(6), '', '',
             (SELECT createur_id FROM core_etapeprojet WHERE id = '{e}'), '{e}', {resp}, '', 0, 0, '')",
            uid(id),
            q(nom),
            e = uid(stage)
        ));
        self
    }

    /// A budget line.
    pub fn budget_line(&mut self, id: &str, project: &str, kind: &str, montant: &str) -> &mut Self {
        self.exec(&format!(
            "INSERT INTO core_lignebudget (id, type_ligne, montant, description, date_ajout, ajoute_par_id, projet_id)
             VALUES ('{}', '{kind}', {montant}, '', NOW(6), (SELECT createur_id FROM core_projet WHERE id = '{p}'), '{p}')",
            uid(id),
            p = uid(project)
        ));
        self
    }

    /// A maintenance contract.
    pub fn contract(&mut self, id: &str, project: &str, kind: &str, debut: &str, fin: &str) -> &mut Self {
        self.exec(&format!(
            "INSERT INTO core_contratgarantie (id, type_garantie, date_debut, date_fin, sla_heures, description_couverture,
             exclusions, date_creation, cree_par_id, projet_id)
             VALUES ('{}', '{kind}', '{debut}', '{fin}', 24, '', '', NOW(6), NULL, '{}')",
            uid(id),
            uid(project)
        ));
        self
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        drop_database(&self.server, &self.name);
    }
}

/// A user made by [`TestDb::user_with_password`], on `localhost` and
/// `127.0.0.1` (so that no anonymous user of the server shadows it); dropped
/// with the guard, even when the test fails.
pub struct DbUser {
    /// The user name.
    pub name: String,
    /// Its password.
    pub password: String,
    server: String,
}

impl DbUser {
    const HOSTS: [&str; 2] = ["localhost", "127.0.0.1"];

    /// `GRANT {what} TO` the user (`what`: `SELECT ON db.table`…).
    pub fn grant(&self, db: &mut TestDb, what: &str) {
        for host in Self::HOSTS {
            db.exec(&format!("GRANT {what} TO '{}'@'{host}'", self.name));
        }
    }

    /// The URL of `db` as this user, with its password or without.
    pub fn url(&self, db: &TestDb, with_password: bool) -> String {
        let mut url = url::Url::parse(&db.url).unwrap();
        url.set_username(&self.name).unwrap();
        url.set_password(with_password.then_some(self.password.as_str())).unwrap();
        url.to_string()
    }
}

impl Drop for DbUser {
    fn drop(&mut self) {
        for host in Self::HOSTS {
            let _ = on_server(&self.server, &format!("DROP USER IF EXISTS '{}'@'{host}'", self.name));
        }
    }
}

/// A private MariaDB server of this test alone (its own data directory and
/// port), for faults that would disturb the shared one (SIGSTOP). Killed
/// when dropped.
pub struct PrivateServer {
    /// `mysql://root@127.0.0.1:PORT`.
    pub url: String,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl PrivateServer {
    /// Stops the server process (SIGSTOP): it answers nothing.
    pub fn stop_process(&self) {
        signal(self.child.id(), "-STOP");
    }

    /// Lets it go on (SIGCONT).
    pub fn continue_process(&self) {
        signal(self.child.id(), "-CONT");
    }
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill").arg(sig).arg(pid.to_string()).status().map(|s| s.success()).unwrap_or(false);
    assert!(ok, "kill {sig} {pid}");
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        signal(self.child.id(), "-CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a private MariaDB (Debian's mariadb-server binaries, installed by
/// scripts/test). Panics when it cannot start: a test that needs it must
/// not pass without it.
pub fn private_server() -> PrivateServer {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let root = if is_root() { vec!["--user=root"] } else { vec![] };
    let mut install = Command::new("mariadb-install-db");
    install
        .args(["--no-defaults", "--auth-root-authentication-method=normal", "--skip-test-db"])
        .arg(format!("--datadir={}", data.display()))
        .args(&root);
    Ran::tool(install);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("/usr/sbin/mariadbd")
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--socket={}", dir.path().join("sock").display()))
        .arg(format!("--log-error={}", dir.path().join("error.log").display()))
        .arg(format!("--port={port}"))
        .args(["--bind-address=127.0.0.1", "--skip-name-resolve", "--skip-log-bin"])
        .args(["--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci"])
        .args(["--innodb-buffer-pool-size=64M"])
        .args(&root)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start mariadbd");
    let server = PrivateServer { url: format!("mysql://root@127.0.0.1:{port}"), child, _dir: dir };
    let start = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < std::time::Duration::from_secs(60), "the private MariaDB did not come up");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    server
}

/// The app's reference rows: project statuses and stage types.
pub const REFERENCE_SQL: &str = "INSERT INTO core_statutprojet (id, nom, description, couleur_affichage, ordre_affichage) VALUES
             (1,'IDEE','',\'#000000\',1),(2,'AFFECTE','','#000000',2),(3,'PLANIFIE','','#000000',3),
             (4,'EN_COURS','','#000000',4),(5,'SUSPENDU','','#000000',5),(6,'TERMINE','','#000000',6),(7,'ARCHIVE','','#000000',7);
             INSERT INTO core_typeetape (id, nom, description, ordre_standard, couleur, icone_emoji, date_creation) VALUES
             (1,'PLANIFICATION','',1,'#000000','',NOW()),(2,'CONCEPTION','',2,'#000000','',NOW()),
             (3,'DEVELOPPEMENT','',3,'#000000','',NOW()),(4,'TESTS','',4,'#000000','',NOW()),
             (5,'DEPLOIEMENT','',5,'#000000','',NOW()),(6,'MAINTENANCE','',6,'#000000','',NOW());";

/// A readable id padded to 32 hex characters: `uid("c1")` →
/// `c1000000000000000000000000000000`. Ids must use hex digits only.
pub fn uid(s: &str) -> String {
    assert!(s.chars().all(|c| c.is_ascii_hexdigit()), "ids are hex: {s}");
    format!("{s:0<32}")
}

/// A SQL string literal.
pub fn q(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

/// Parses captured messages.
pub fn parse(raw: &str) -> mailparse::ParsedMail<'_> {
    mailparse::parse_mail(raw.as_bytes()).expect("parse mail")
}

/// The decoded text/plain and text/html parts of a message.
pub fn parts(raw: &str) -> (String, String) {
    let m = parse(raw);
    let mut text = String::new();
    let mut html = String::new();
    for p in m.subparts.iter().chain(std::iter::once(&m)) {
        match p.ctype.mimetype.as_str() {
            "text/plain" => text = p.get_body().unwrap(),
            "text/html" => html = p.get_body().unwrap(),
            _ => {}
        }
    }
    (text, html)
}

/// A header of a message, decoded.
pub fn header(raw: &str, name: &str) -> Option<String> {
    use mailparse::MailHeaderMap;
    parse(raw).headers.get_first_value(name)
}

/// stdout and stderr of a plain output.
pub fn all_output(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A port on 127.0.0.1 that nothing listens on (just now).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// An SMTP URL where no relay listens: mail stays queued.
pub fn relay_down() -> String {
    format!("smtp://127.0.0.1:{}?tls=none", free_port())
}

/// The Message-ID of every message `sink` received, in order.
pub fn message_ids(sink: &SmtpSink) -> Vec<String> {
    sink.received().iter().map(|m| header(&m.data, "Message-ID").unwrap()).collect()
}

/// Message-IDs received, with how many times each.
pub fn per_message_id(sink: &SmtpSink) -> HashMap<String, usize> {
    let mut per: HashMap<String, usize> = HashMap::new();
    for id in message_ids(sink) {
        *per.entry(id).or_default() += 1;
    }
    per
}

/// True when the tests run as root.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}
