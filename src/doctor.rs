//! `doctor`: one line per prerequisite of a run, non-zero exit on any
//! failure (the most pressing class wins).

use std::fs::OpenOptions;

use sqlx::Row;

use crate::config::Config;
use crate::db::{Db, MIGRATIONS};
use crate::error::{Error, code};
use crate::notify::mail::Mailer;

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
                    .await
                    .unwrap_or_else(|_| "unknown version".into());
                l.ok("database", format!("reachable at {} ({version})", target.display));
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
                if missing.is_empty() {
                    privileges(&mut db, &mut l).await;
                }
                match db.applied_migrations().await {
                    Ok(Some(v)) if MIGRATIONS.iter().all(|(m, _, _)| v.contains(m)) => {
                        l.ok("migrations", format!("{} applied", v.len()))
                    }
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
    // Never create the lock file here: `doctor` run as root would leave it
    // owned by root and lock the service user out.
    let lock = &cfg.lock_file;
    let writable = if lock.exists() {
        OpenOptions::new().append(true).open(lock).map(|_| ())
    } else {
        let dir = lock.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        let probe = dir.join(format!(".sigov-alerts-doctor-{}", std::process::id()));
        std::fs::File::create(&probe).and_then(|_| std::fs::remove_file(&probe))
    };
    match writable {
        Ok(()) => l.ok("lock file", format!("{} writable", lock.display())),
        Err(e) => l.fail("lock file", &Error::Config(format!("{}: {e}", lock.display()))),
    }
    (l.out, l.exit)
}
