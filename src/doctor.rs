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
        self.exit = crate::app::merge_exit(self.exit, e.exit_code());
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
                if missing.is_empty() {
                    l.ok("app tables", format!("{} tables present", APP_TABLES.len()));
                } else {
                    l.fail("app tables", &Error::Config(format!("missing: {}", missing.join(", "))));
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
    match OpenOptions::new().create(true).append(true).open(&cfg.lock_file) {
        Ok(_) => l.ok("lock file", format!("{} writable", cfg.lock_file.display())),
        Err(e) => l.fail("lock file", &Error::Config(format!("{}: {e}", cfg.lock_file.display()))),
    }
    (l.out, l.exit)
}
