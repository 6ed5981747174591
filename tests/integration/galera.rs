//! A real two-node MariaDB Galera cluster on this machine (scripts/galera), for
//! the proofs that deliverers on different nodes never send the same e-mail:
//! on Galera, GET_LOCK and row locks hold on one node only; only a committed
//! write is seen cluster-wide, and conflicting commits fail certification.
//!
//! The cluster is started once per test process in
//! `${CARGO_TARGET_DIR:-target}/galera` and left running, so that a later test
//! run reuses it; scripts/test stops it at its end. When it cannot start, the
//! tests fail, unless SIGOV_SKIP_GALERA=1.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use sqlx::mysql::MySqlConnection;
use sqlx::{Connection, Row};

use crate::common::{Ran, SCHEMA, Sigov, create_database, drop_database, unique_name};

/// The package root.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The cluster's directory, `${CARGO_TARGET_DIR:-target}/galera` (the one
/// scripts/test stops).
pub fn cluster_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| "target".into());
    root().join(target).join("galera")
}

/// True when SIGOV_SKIP_GALERA=1: the Galera tests pass without running.
pub fn skipped() -> bool {
    let skip = std::env::var("SIGOV_SKIP_GALERA").is_ok_and(|v| v == "1");
    if skip {
        eprintln!("SIGOV_SKIP_GALERA=1: Galera test skipped");
    }
    skip
}

/// The server URLs (no database) of node 1 and node 2, e.g.
/// `mysql://root@127.0.0.1:3311`. The first call runs `scripts/galera start`
/// (a few seconds from nothing, instant when the cluster runs); later calls of
/// the process reuse its answer. None when SIGOV_SKIP_GALERA=1; panics when the
/// cluster cannot start.
pub fn cluster() -> Option<(String, String)> {
    static CLUSTER: OnceLock<Result<(String, String), String>> = OnceLock::new();
    if skipped() {
        return None;
    }
    match CLUSTER.get_or_init(start_cluster) {
        Ok(urls) => Some(urls.clone()),
        Err(e) => panic!("{e}"),
    }
}

fn start_cluster() -> Result<(String, String), String> {
    let dir = cluster_dir();
    let script = root().join("scripts/galera");
    let out = Command::new(&script)
        .arg("start")
        .arg(&dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    let status = out.status;
    let Ran { stdout, stderr, .. } = Ran::of("scripts/galera start", out);
    let url = |node: &str| {
        stdout.lines().find_map(|l| l.strip_prefix(node).and_then(|l| l.strip_prefix('='))).map(str::to_string)
    };
    match (status.success(), url("node1"), url("node2")) {
        (true, Some(n1), Some(n2)) => {
            eprint!("{stderr}");
            Ok((n1, n2))
        }
        _ => Err(format!(
            "the Galera cluster did not start (scripts/galera start {}: {}; set SIGOV_SKIP_GALERA=1 to skip \
             the Galera tests)\nstdout:\n{stdout}\nstderr:\n{stderr}",
            dir.display(),
            status
        )),
    }
}

/// `server/database`.
fn db_url(server: &str, name: &str) -> String {
    format!("{}/{}", server.trim_end_matches('/'), name)
}

/// A uniquely named database created on node 1 (DDL replicates to node 2),
/// dropped at the end. Connections made by its helpers use causal reads
/// (`wsrep_sync_wait = 1`): a read waits for every write committed anywhere
/// in the cluster before it.
pub struct GaleraDb {
    /// Database name.
    pub name: String,
    /// The database on node 1.
    pub url1: String,
    /// The same database on node 2.
    pub url2: String,
    /// Temporary directory for lock files and mail.
    pub dir: tempfile::TempDir,
    server1: String,
    rt: tokio::runtime::Runtime,
}

impl GaleraDb {
    /// An empty database; None when SIGOV_SKIP_GALERA=1.
    pub fn empty() -> Option<GaleraDb> {
        let (server1, server2) = cluster()?;
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let name = unique_name("sigov_g");
        create_database(&server1, &name);
        let db = GaleraDb {
            url1: db_url(&server1, &name),
            url2: db_url(&server2, &name),
            name,
            dir: tempfile::tempdir().unwrap(),
            server1,
            rt,
        };
        db.wait_on_node2();
        Some(db)
    }

    /// A database holding the app schema (tests/fixtures/, as
    /// `common::TestDb::bare`), loaded on node 1 and present on node 2.
    pub fn app_schema() -> Option<GaleraDb> {
        let mut db = Self::empty()?;
        db.exec(1, SCHEMA);
        db.wait_on_node2();
        Some(db)
    }

    /// The app schema and our migrations (`sigov-alerts migrate` on node 1):
    /// what the deliverers need, on both nodes.
    pub fn app() -> Option<GaleraDb> {
        let db = Self::app_schema()?;
        db.sigov(1, &["migrate"]).expect(0);
        db.wait_on_node2();
        Some(db)
    }

    /// The URL of the database on node 1 or 2.
    pub fn url(&self, node: u8) -> &str {
        match node {
            1 => &self.url1,
            2 => &self.url2,
            _ => panic!("the cluster has nodes 1 and 2, not {node}"),
        }
    }

    /// A connection to the database on `node`, with causal reads.
    pub async fn connect(&self, node: u8) -> MySqlConnection {
        let mut c = MySqlConnection::connect(self.url(node)).await.unwrap_or_else(|e| panic!("node {node}: {e}"));
        sqlx::raw_sql("SET SESSION wsrep_sync_wait = 1").execute(&mut c).await.unwrap();
        c
    }

    /// Waits until node 2 has applied everything committed so far and holds
    /// the same tables as node 1.
    fn wait_on_node2(&self) {
        let (s1, s2) = cluster().unwrap();
        let sql = format!("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '{}'", self.name);
        let tables = |server: String| {
            let sql = sql.clone();
            async move {
                let mut c = MySqlConnection::connect(&server).await.unwrap();
                sqlx::raw_sql("SET SESSION wsrep_sync_wait = 15").execute(&mut c).await.unwrap();
                let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&mut c).await.unwrap();
                c.close().await.unwrap();
                n
            }
        };
        let (n1, n2) = self.rt.block_on(async { (tables(s1).await, tables(s2).await) });
        assert_eq!(n1, n2, "tables of {} on node 1 and node 2", self.name);
    }

    /// Runs SQL statements on `node`.
    pub fn exec(&mut self, node: u8, sql: &str) {
        self.rt.block_on(async {
            let mut c = self.connect(node).await;
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(&mut c)
                .await
                .unwrap_or_else(|e| panic!("node {node}: {e}\n{sql}"));
            c.close().await.unwrap();
        })
    }

    /// One integer from a query on `node` (a causal read).
    pub fn count(&mut self, node: u8, sql: &str) -> i64 {
        self.rt.block_on(async {
            let mut c = self.connect(node).await;
            let row = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
                .fetch_one(&mut c)
                .await
                .unwrap_or_else(|e| panic!("node {node}: {e}\n{sql}"));
            c.close().await.unwrap();
            row.try_get::<i64, _>(0).unwrap()
        })
    }

    /// The binary on `node`'s database, with a lock file of its own per
    /// node (as deliverers on different hosts).
    pub fn sigov(&self, node: u8, args: &[&str]) -> Sigov {
        Sigov::new(args)
            .opt("--database-url", self.url(node))
            .opt("--lock-file", self.dir.path().join(format!("node{node}.lock")))
            .dir(self.dir.path())
    }
}

impl Drop for GaleraDb {
    fn drop(&mut self) {
        drop_database(&self.server1, &self.name);
    }
}

#[test]
fn galera_cluster_replicates_a_row() {
    let Some(mut db) = GaleraDb::empty() else { return };
    db.exec(
        1,
        "CREATE TABLE t (id INT PRIMARY KEY, note VARCHAR(40) NOT NULL) ENGINE=InnoDB;
         INSERT INTO t VALUES (1, 'written on node 1')",
    );
    assert_eq!(db.count(2, "SELECT COUNT(*) FROM t WHERE id = 1 AND note = 'written on node 1'"), 1);
    // Both nodes are members of one primary component.
    assert_eq!(
        db.count(
            2,
            "SELECT CAST(VARIABLE_VALUE AS SIGNED) FROM information_schema.GLOBAL_STATUS
             WHERE VARIABLE_NAME = 'WSREP_CLUSTER_SIZE'"
        ),
        2
    );
    // And back: a row written on node 2 is read on node 1.
    db.exec(2, "INSERT INTO t VALUES (2, 'written on node 2')");
    assert_eq!(db.count(1, "SELECT COUNT(*) FROM t"), 2);
}

#[test]
fn galera_app_database_is_on_both_nodes() {
    let Some(mut db) = GaleraDb::app() else { return };
    let tables = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()";
    let n = db.count(1, tables);
    assert!(n > 50, "{n} tables");
    assert_eq!(db.count(2, tables), n);
    assert_eq!(db.count(2, "SELECT COUNT(*) FROM sigov_alerts_deliveries"), 0);
}

#[test]
fn one_deliverer_per_galera_node_split_the_outbox_and_send_each_e_mail_once() {
    use crate::common::{REFERENCE_SQL, SmtpSink, relay_down};
    use crate::faults::{bulk_sql, split_outbox};
    let Some(mut db) = GaleraDb::app() else { return };
    db.exec(1, REFERENCE_SQL);
    db.exec(1, &bulk_sql(2000));
    // Queued with the relay down, on node 1.
    db.sigov(1, &["run-all", "--at", crate::project_deadlines::AT, "--replay"]).smtp(relay_down()).expect(75);
    let queued = "SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE state = 'queued'";
    assert_eq!(db.count(2, queued), 2000);
    // One deliverer per node, no database lock (it is per node here).
    let sink = SmtpSink::start();
    let urls = [db.url1.clone(), db.url2.clone()];
    split_outbox(&urls, 2, &sink, db.dir.path(), 2000);
    assert_eq!(db.count(1, queued), 0);
    assert_eq!(db.count(2, "SELECT COUNT(*) FROM sigov_alerts_deliveries WHERE state = 'sent'"), 2000);
}
