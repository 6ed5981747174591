//! `doctor`: one line per prerequisite of a run, non-zero exit on any
//! failure (the most pressing class wins).

use std::fs::OpenOptions;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use sqlx::{MySql, QueryBuilder, Row};

use crate::config::Config;
use crate::db::Within;
use crate::db::{Db, MIGRATIONS};
use crate::error::{Error, code};
use crate::notify::mail::Mailer;
use crate::schema::APP_COLUMNS;

/// The app tables the checks read or write.
pub const APP_TABLES: &[&str] = &[
    "core_utilisateur",
    "core_statutprojet",
    "core_projet",
    "core_affectation",
    "core_typeetape",
    "core_etapeprojet",
    "core_tacheetape",
    "core_lignebudget",
    "core_contratgarantie",
    "core_alerteprojet",
    "core_notificationetape",
];

struct Lines {
    out: String,
    exit: u8,
}

impl Lines {
    fn ok(&mut self, item: &str, detail: impl AsRef<str>) {
        self.out.push_str(&format!("ok    {item}: {}\n", detail.as_ref()));
    }
    fn fail(&mut self, item: &str, e: &Error) {
        self.out.push_str(&format!("FAIL  {item}: {e}\n"));
        self.exit = crate::error::merge_exit(self.exit, e.exit_code());
    }
}

/// Probes each privilege a run needs with a statement that touches no row
/// (`… WHERE 1 = 0`): the server checks privileges before it looks at data,
/// so this sees grants, roles and wildcards exactly as a run would.
async fn privileges(db: &mut Db, l: &mut Lines) {
    let mut probes: Vec<(String, String)> =
        APP_TABLES.iter().map(|t| (format!("SELECT on {t}"), format!("SELECT 1 FROM {t} WHERE 1 = 0"))).collect();
    for t in ["core_alerteprojet", "core_notificationetape"] {
        probes.push((format!("INSERT on {t}"), format!("INSERT INTO {t} SELECT * FROM {t} WHERE 1 = 0")));
    }
    let ours_present: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'sigov_alerts_deliveries'",
    )
    .fetch_one(db.conn())
    .await
    .unwrap_or(0);
    if ours_present > 0 {
        for t in ["sigov_alerts_runs", "sigov_alerts_deliveries"] {
            probes.push((format!("SELECT on {t}"), format!("SELECT 1 FROM {t} WHERE 1 = 0")));
            probes.push((format!("INSERT on {t}"), format!("INSERT INTO {t} SELECT * FROM {t} WHERE 1 = 0")));
            probes.push((format!("UPDATE on {t}"), format!("UPDATE {t} SET id = id WHERE 1 = 0")));
            probes.push((format!("DELETE on {t}"), format!("DELETE FROM {t} WHERE 1 = 0")));
        }
    }
    let mut missing = Vec::new();
    for (what, sql) in &probes {
        if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).execute(db.conn()).await {
            let text = e.to_string();
            if text.contains("denied") {
                missing.push(what.clone());
            } else {
                l.fail("privileges", &Error::Db(format!("probing {what}: {}", crate::error::one_line(&text))));
                return;
            }
        }
    }
    if missing.is_empty() {
        l.ok("privileges", format!("{} needed privileges present", probes.len()));
    } else {
        l.fail("privileges", &Error::Privilege(format!("missing: {}", missing.join(", "))));
    }
}

/// Checks, in one query, that every column the checks read and write
/// exists in the app tables that are present (an app upgrade may drop or
/// rename one; a run would then fail on it).
async fn app_columns(db: &mut Db, l: &mut Lines, present_tables: &[String]) {
    let tables: Vec<&(&str, &[&str])> =
        APP_COLUMNS.iter().filter(|(t, _)| present_tables.iter().any(|p| p == t)).collect();
    if tables.is_empty() {
        return;
    }
    // language=MySQL
    let mut qb: QueryBuilder<MySql> = QueryBuilder::new(
        "SELECT table_name, column_name FROM information_schema.columns \
         WHERE table_schema = DATABASE() AND table_name IN (",
    );
    let mut sep = qb.separated(", ");
    for (t, _) in &tables {
        sep.push_bind(*t);
    }
    qb.push(")");
    let present: Vec<(String, String)> = match qb.build().fetch_all(db.conn()).await {
        Ok(rows) => rows.iter().filter_map(|r| Some((r.try_get(0).ok()?, r.try_get(1).ok()?))).collect(),
        Err(e) => return l.fail("app columns", &Error::db("reading the app's columns", e)),
    };
    let mut missing = Vec::new();
    let mut count = 0;
    for (table, cols) in &tables {
        for col in *cols {
            count += 1;
            if !present.iter().any(|(t, c)| t == table && c.eq_ignore_ascii_case(col)) {
                missing.push(format!("{table}.{col}"));
            }
        }
    }
    if missing.is_empty() {
        l.ok("app columns", format!("{count} columns present"));
    } else {
        l.fail(
            "app columns",
            &Error::Config(format!(
                "missing: {} (the app's schema changed: an app upgrade dropped or renamed them; \
                 this version of sigov-alerts reads or writes them)",
                missing.join(", ")
            )),
        );
    }
}

/// Runs every check of the environment; returns the lines and exit code.
pub async fn doctor(cfg: &Config) -> (String, u8) {
    let mut l = Lines { out: String::new(), exit: code::OK };
    l.ok(
        "config",
        format!(
            "valid (timezone {}, from {}, base URL {}, lock file {})",
            cfg.timezone.name(),
            cfg.from,
            cfg.base_url,
            cfg.lock_file.display()
        ),
    );
    match cfg.database() {
        Err(e) => l.fail("database", &e),
        Ok(target) => match Db::connect(target).await {
            Err(e) => l.fail("database", &e),
            Ok(mut db) => {
                // language=MySQL
                let version: String = sqlx::query_scalar("SELECT VERSION()")
                    .fetch_one(db.conn())
                    .bounded()
                    .await
                    .unwrap_or_else(|_| "unknown version".into());
                l.ok("database", format!("reachable at {} ({version}), {}", target.display, target.describe_tls()));
                // language=MySQL
                let present: Vec<String> =
                    sqlx::query("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()")
                        .fetch_all(db.conn())
                        .await
                        .map(|rows| rows.iter().filter_map(|r| r.try_get::<String, _>(0).ok()).collect())
                        .unwrap_or_default();
                let missing: Vec<&str> =
                    APP_TABLES.iter().copied().filter(|t| !present.iter().any(|p| p == t)).collect();
                // A table the user may not read is hidden from information_schema:
                // tell a missing privilege from a missing table.
                let mut absent = Vec::new();
                let mut denied = Vec::new();
                for t in &missing {
                    match sqlx::query(sqlx::AssertSqlSafe(format!("SELECT 1 FROM {t} WHERE 1 = 0")))
                        .execute(db.conn())
                        .await
                    {
                        Err(e) if e.to_string().contains("denied") => denied.push(format!("SELECT on {t}")),
                        _ => absent.push(*t),
                    }
                }
                if missing.is_empty() {
                    l.ok("app tables", format!("{} tables present", APP_TABLES.len()));
                } else if absent.is_empty() {
                    l.ok("app tables", format!("{} tables present", APP_TABLES.len()));
                    l.fail("privileges", &Error::Privilege(format!("missing: {}", denied.join(", "))));
                } else {
                    l.fail("app tables", &Error::Config(format!("missing: {}", absent.join(", "))));
                }
                app_columns(&mut db, &mut l, &present).await;
                if missing.is_empty() {
                    privileges(&mut db, &mut l).await;
                }
                // A changed or unknown applied migration fails with its reason (78).
                match db.pending_migrations().await {
                    Ok(pending) if pending.is_empty() => l.ok("migrations", format!("{} applied", MIGRATIONS.len())),
                    Ok(_) => l.fail("migrations", &Error::Config("not applied: run `sigov-alerts migrate`".into())),
                    Err(e) => l.fail("migrations", &e),
                }
                db.close().await;
            }
        },
    }
    match cfg.transport() {
        Err(e) => l.fail("smtp", &e),
        Ok(t) => match Mailer::new(cfg, t) {
            Err(e) => l.fail("smtp", &e),
            Ok(m) => match m.test().await {
                Ok(detail) => l.ok("smtp", format!("{} {detail}", t.describe())),
                Err(e) => l.fail("smtp", &Error::Mail { transient: true, message: format!("{}: {e}", t.describe()) }),
            },
        },
    }
    paths(cfg, &mut l);
    (l.out, l.exit)
}

/// The user `doctor` runs as, by name (numeric when not in /etc/passwd),
/// and that user's primary group: what the fix lines name.
fn whoami() -> (String, String) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    // "Uid:	real	effective	saved	fs": files are created as the effective user.
    let field = |key: &str| {
        status.lines().find_map(|l| l.strip_prefix(key)).and_then(|r| r.split_whitespace().nth(1)).map(str::to_string)
    };
    let uid = field("Uid:").unwrap_or_else(|| "0".into());
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let entry = passwd.lines().map(|l| l.split(':').collect::<Vec<_>>()).find(|f| f.len() > 3 && f[2] == uid);
    let user = entry.as_ref().map(|f| f[0].to_string()).unwrap_or_else(|| uid.clone());
    let gid = entry.as_ref().map(|f| f[3].to_string()).or_else(|| field("Gid:")).unwrap_or_else(|| "0".into());
    let groups = std::fs::read_to_string("/etc/group").unwrap_or_default();
    let group = groups
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 2 && f[2] == gid)
        .map(|f| f[0].to_string())
        .unwrap_or(gid);
    (user, group)
}

/// The directory holding `path` (`.` for a bare file name).
fn parent(path: &Path) -> PathBuf {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf()
}

/// A name no other process uses, for probe files.
fn probe_name(dir: &Path, n: u32) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    dir.join(format!(".sigov-alerts-doctor-{}-{nanos}-{n}.tmp", std::process::id()))
}

/// Creates a uniquely named file in `dir` and removes it; with `rename`,
/// renames it once in between, as the metrics file is written.
fn probe_dir(dir: &Path, rename: bool) -> std::io::Result<()> {
    let first = probe_name(dir, 1);
    OpenOptions::new().write(true).create_new(true).open(&first)?;
    let mut last = first.clone();
    let renamed = if rename {
        last = probe_name(dir, 2);
        std::fs::rename(&first, &last)
    } else {
        Ok(())
    };
    if renamed.is_err() {
        last = first;
    }
    let removed = std::fs::remove_file(&last);
    renamed.and(removed)
}

/// What a run will need from a path.
#[derive(Clone, Copy, PartialEq)]
enum Need {
    /// A file opened for writing (created if absent): the lock, the log.
    File,
    /// A directory where a temporary file is created and renamed: metrics.
    Dir,
}

/// Checks that `path` can be written as a run will, as this user, without
/// creating or changing anything (a probe file is created and removed).
/// On failure: why, and the command that fixes it.
fn check_path(key: &str, path: &Path, need: Need, (user, group): &(String, String)) -> Result<String, String> {
    let dir = parent(path);
    let mkdir = format!("install -d -o {user} -g {group} -m 0755 {}", dir.display());
    let other = |e: std::io::Error| {
        format!("{}: {e}; fix: set {key} to a path in a directory {user} can write", path.display())
    };
    if need == Need::File && path.exists() {
        return match OpenOptions::new().append(true).open(path) {
            Ok(_) => Ok(format!("{} writable by {user}", path.display())),
            Err(e) if e.kind() == ErrorKind::PermissionDenied => {
                Err(format!("{}: not writable by {user} ({e}); fix: chown {user}: {}", path.display(), path.display()))
            }
            Err(e) => Err(other(e)),
        };
    }
    match std::fs::metadata(&dir) {
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(format!("{}: directory {} does not exist; fix: {mkdir}", path.display(), dir.display()));
        }
        Err(e) => return Err(other(e)),
        Ok(m) if !m.is_dir() => {
            return Err(other(std::io::Error::new(
                ErrorKind::NotADirectory,
                format!("{} is not a directory", dir.display()),
            )));
        }
        Ok(_) => {}
    }
    match probe_dir(&dir, need == Need::Dir) {
        Ok(()) if need == Need::Dir => Ok(format!("{} writable by {user} ({})", dir.display(), path.display())),
        Ok(()) => Ok(format!("{} can be created by {user}", path.display())),
        Err(e) if e.kind() == ErrorKind::PermissionDenied => {
            // Never suggest taking over a directory that exists: for a file,
            // create the file for the user; for metrics, grant the user access.
            let fix = match need {
                Need::File => format!("install -m 0640 -o {user} -g {group} /dev/null {}", path.display()),
                Need::Dir => format!("setfacl -m u:{user}:rwx {} (package acl)", dir.display()),
            };
            Err(format!("{}: directory {} is not writable by {user} ({e}); fix: {fix}", path.display(), dir.display()))
        }
        Err(e) => Err(other(e)),
    }
}

/// The files a run writes: the lock file, the metrics file, the log file.
/// Never creates them: `doctor` run as root would leave them owned by root
/// and lock the service user out.
fn paths(cfg: &Config, l: &mut Lines) {
    let me = whoami();
    let items: [(&str, &str, Option<&Path>, Need); 3] = [
        ("lock file", "lock_file", Some(cfg.lock_file.as_path()), Need::File),
        ("metrics file", "metrics_file", cfg.metrics_file.as_deref(), Need::Dir),
        ("log file", "log_file", cfg.log_file.as_deref(), Need::File),
    ];
    for (item, key, path, need) in items {
        match path.map(|p| check_path(key, p, need, &me)) {
            None => l.ok(item, format!("not configured ({key})")),
            Some(Ok(detail)) => l.ok(item, detail),
            Some(Err(why)) => l.fail(item, &Error::Config(why)),
        }
    }
}
