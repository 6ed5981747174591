//! Our own migrations (`migrations/*.sql`, embedded in the binary) and their
//! bookkeeping table `_sigov_alerts_migrations`: applying the missing ones,
//! and refusing (exit 78) a database whose applied migrations this binary
//! cannot vouch for: one whose recorded text differs from ours (checksum
//! mismatch), or one this binary does not know (a newer release's).
//!
//! Our own code, not sqlx's `Migrator`: since 0.1.0 the table has recorded
//! the SHA-256 of each migration's text, so checking those needs no change to
//! any install's table. sqlx's migrator keeps another shape (a SHA-384 BLOB,
//! a success flag, an execution time) that every install would have to be
//! converted to, waits for its lock without bound (`GET_LOCK(…, -1)`) where
//! every statement of ours is bounded by `database_timeout`, and reports
//! errors that would have to be mapped back onto our exit codes.

use super::{Db, Within};
use crate::error::{Error, Result};

/// The bookkeeping table of our migrations.
pub const MIGRATIONS_TABLE: &str = "_sigov_alerts_migrations";

/// Our migrations, in order: (version, description, SQL). A released
/// migration's text never changes: installs have recorded its checksum.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "create runs", include_str!("../../migrations/0001_create_runs.sql")),
    (2, "create deliveries", include_str!("../../migrations/0002_create_deliveries.sql")),
    (3, "claims and exit codes", include_str!("../../migrations/0003_claims_and_exit_codes.sql")),
    (4, "outbox claim order", include_str!("../../migrations/0004_outbox_order.sql")),
];

/// The error of a command that needs our tables before `migrate` ran.
pub fn not_migrated() -> Error {
    Error::Config("the tool's tables are missing or out of date: run `sigov-alerts migrate` first".into())
}

/// The checksum recorded for a migration: the lowercase hex SHA-256 of its
/// SQL text.
pub fn checksum(sql: &str) -> String {
    crate::ledger::sha256_hex(sql)
}

/// A migration recorded as applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub version: i64,
    /// As recorded when it was applied.
    pub checksum: String,
}

/// Checks the applied migrations against the binary's: the first one whose
/// text differs, or that the binary does not know, is refused (78).
pub fn verify(applied: &[Applied]) -> Result<()> {
    let newest = MIGRATIONS.last().map(|(v, _, _)| *v).unwrap_or_default();
    for a in applied {
        let Some((version, description, sql)) = MIGRATIONS.iter().find(|(v, _, _)| *v == a.version) else {
            let why = if a.version > newest {
                "a newer release of sigov-alerts migrated this database: install that release or a later one"
            } else {
                "the database was migrated by another build of sigov-alerts"
            };
            return Err(Error::Config(format!(
                "migration {} is recorded as applied but this version of sigov-alerts does not know it \
                 (it knows 1 to {newest}): {why}",
                a.version
            )));
        };
        let expected = checksum(sql);
        if !a.checksum.trim().eq_ignore_ascii_case(&expected) {
            return Err(Error::Config(format!(
                "migration {version} ({description}) applied to this database differs from this version's \
                 (recorded checksum {:.12}…, expected {expected:.12}…): the tool's tables were made by another \
                 build of sigov-alerts; refusing to use or change them",
                a.checksum.trim()
            )));
        }
    }
    Ok(())
}

impl Db {
    /// The migrations recorded as applied, by version, or `None` when the
    /// bookkeeping table does not exist.
    pub async fn applied_migrations(&mut self) -> Result<Option<Vec<Applied>>> {
        // language=MySQL
        match sqlx::query_as::<_, (i64, String)>(
            "SELECT version, checksum FROM _sigov_alerts_migrations ORDER BY version",
        )
        .fetch_all(self.conn())
        .bounded()
        .await
        {
            Ok(rows) => Ok(Some(rows.into_iter().map(|(version, checksum)| Applied { version, checksum }).collect())),
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42S02") => Ok(None),
            Err(e) => Err(Error::db("reading migrations", e)),
        }
    }

    /// The versions still to apply, once the applied ones are verified
    /// (a mismatch or an unknown version is an error, 78).
    pub async fn pending_migrations(&mut self) -> Result<Vec<i64>> {
        let applied = self.applied_migrations().await?.unwrap_or_default();
        verify(&applied)?;
        Ok(MIGRATIONS.iter().map(|(v, _, _)| *v).filter(|v| !applied.iter().any(|a| a.version == *v)).collect())
    }

    /// Whether every migration is applied (and every applied one verified).
    pub async fn is_migrated(&mut self) -> Result<bool> {
        Ok(self.pending_migrations().await?.is_empty())
    }

    /// Refuses to go on before every migration is applied, or when an
    /// applied one does not verify (exit 78).
    pub async fn require_migrated(&mut self) -> Result<()> {
        if self.is_migrated().await? { Ok(()) } else { Err(not_migrated()) }
    }

    /// Applies the missing migrations; returns the versions applied now.
    /// Refuses, changing nothing, when an applied one does not verify.
    pub async fn migrate(&mut self) -> Result<Vec<i64>> {
        // language=MySQL
        self.exec(
            "creating the migrations table",
            "CREATE TABLE IF NOT EXISTS _sigov_alerts_migrations (
               version BIGINT NOT NULL PRIMARY KEY,
               description VARCHAR(255) NOT NULL,
               checksum CHAR(64) NOT NULL,
               applied_at DATETIME(6) NOT NULL
             ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
        )
        .await?;
        let mut done = Vec::new();
        for version in self.pending_migrations().await? {
            let Some((_, description, sql)) = MIGRATIONS.iter().find(|(v, _, _)| *v == version) else { continue };
            let what = format!("applying migration {version} ({description})");
            sqlx::raw_sql(sqlx::AssertSqlSafe(*sql)).execute(self.conn()).within(&what).await?;
            // language=MySQL
            sqlx::query(
                "INSERT INTO _sigov_alerts_migrations (version, description, checksum, applied_at) VALUES (?, ?, ?, UTC_TIMESTAMP(6))",
            )
            .bind(version)
            .bind(description)
            .bind(checksum(sql))
            .execute(self.conn())
            .within(&what).await?;
            done.push(version);
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checksums installs recorded for the released migrations (as
    /// `sha256sum migrations/*.sql` prints them): a released migration
    /// never changes, or every install would refuse the new binary.
    const RELEASED: &[(i64, &str)] = &[
        (1, "afc75d96bb896753f9202c6d7ccd08e4cc9c0ff20eead161dca88e246f01acf0"),
        (2, "28242e738c86fb332fd91b586877f5540f9dc5183b58207a449cabb49762af74"),
        (3, "33287de1e850109ec487385a89943873c914768a840ca6d91400f4a06af4bde6"),
        (4, "0f63417f8004b4287f7196003644419f80b85fdd6621dcbbd93994a2fd294303"),
    ];

    fn applied(versions: &[i64]) -> Vec<Applied> {
        versions
            .iter()
            .map(|v| Applied {
                version: *v,
                checksum: checksum(MIGRATIONS.iter().find(|(m, _, _)| m == v).map(|(_, _, s)| *s).unwrap_or("")),
            })
            .collect()
    }

    #[test]
    fn released_migrations_keep_their_checksums() {
        for (version, sum) in RELEASED {
            let (_, _, sql) = MIGRATIONS.iter().find(|(v, _, _)| v == version).unwrap();
            assert_eq!(checksum(sql), *sum, "migration {version} changed after its release");
        }
        let versions: Vec<i64> = MIGRATIONS.iter().map(|(v, _, _)| *v).collect();
        assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
    }

    #[test]
    fn applied_migrations_that_match_verify() {
        verify(&[]).unwrap();
        verify(&applied(&[1, 2])).unwrap();
        verify(&applied(&[1, 2, 3, 4])).unwrap();
        let mut upper = applied(&[1]);
        upper[0].checksum = upper[0].checksum.to_uppercase();
        verify(&upper).unwrap();
    }

    #[test]
    fn a_changed_migration_is_refused_naming_it() {
        let mut a = applied(&[1, 2, 3]);
        a[1].checksum = "0".repeat(64);
        let e = verify(&a).unwrap_err();
        assert_eq!(e.exit_code(), 78);
        let m = e.to_string();
        assert!(m.starts_with("migration 2 (create deliveries) applied to this database differs"), "{m}");
        assert!(m.contains("recorded checksum 000000000000…, expected 28242e738c86…"), "{m}");
        assert!(!m.contains('\n'), "{m}");
    }

    #[test]
    fn an_unknown_migration_is_refused_naming_it() {
        let mut a = applied(&[1, 2, 3, 4]);
        a.push(Applied { version: 99, checksum: "ab".repeat(32) });
        let m = verify(&a).unwrap_err().to_string();
        assert!(m.starts_with("migration 99 is recorded as applied but this version of sigov-alerts does not know it"));
        assert!(m.contains("(it knows 1 to 4): a newer release"), "{m}");
        let m = verify(&[Applied { version: 0, checksum: String::new() }]).unwrap_err().to_string();
        assert!(m.contains("migration 0 ") && m.contains("another build"), "{m}");
    }
}
