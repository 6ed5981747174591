//! The database connection and statement accounting (our own migrations
//! are in `migrate`).
//! One connection does all the work of a run (the lock has its own), so
//! every statement is counted in one place.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::mysql::{MySqlConnection, MySqlRow};
use sqlx::{Connection, Row};
use tracing::instrument;

use crate::checks::Person;
use crate::config::DbTarget;
use crate::error::{Error, Result};

pub mod migrate;
pub mod outbox;
pub mod outbox_admin;
pub mod read;
pub mod write;

pub use migrate::{MIGRATIONS, MIGRATIONS_TABLE, not_migrated};

/// How long closing a connection may take (the server cleans up anyway).
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a connection attempt may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// `database_timeout` in milliseconds: the bound on every statement.
static STATEMENT_TIMEOUT_MS: AtomicU64 = AtomicU64::new(300_000);

/// Sets the bound on every statement (`database_timeout`), once at start.
pub fn set_statement_timeout(timeout: Duration) {
    STATEMENT_TIMEOUT_MS.store(timeout.as_millis().max(1) as u64, Ordering::Relaxed);
}

fn statement_timeout() -> Duration {
    Duration::from_millis(STATEMENT_TIMEOUT_MS.load(Ordering::Relaxed))
}

/// A statement bounded by `database_timeout`: a server that stalls (or a
/// network that drops packets) ends the run with exit 75 instead of holding
/// both locks forever.
pub trait Within<T>: Future<Output = std::result::Result<T, sqlx::Error>> + Sized {
    /// Awaits the statement within the bound, its error classified as
    /// `Error::db(what, …)` does.
    fn within(self, what: &str) -> impl Future<Output = Result<T>> {
        async move { self.bounded().await.map_err(|e| Error::db(what, e)) }
    }

    /// Awaits the statement within the bound, keeping sqlx's error (for
    /// callers that look at it, e.g. to retry a conflict).
    fn bounded(self) -> impl Future<Output = std::result::Result<T, sqlx::Error>> {
        async move {
            let limit = statement_timeout();
            tokio::time::timeout(limit, self).await.unwrap_or_else(|_| {
                Err(sqlx::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "no answer from the database within {} (database_timeout)",
                        humantime::format_duration(limit)
                    ),
                )))
            })
        }
    }
}

impl<T, F: Future<Output = std::result::Result<T, sqlx::Error>>> Within<T> for F {}

pub use crate::schema::APP_COLUMNS;

/// A connection with a statement counter.
pub struct Db {
    conn: MySqlConnection,
    statements: u64,
    /// `@@max_allowed_packet`, to size batches.
    pub max_packet: usize,
}

/// Opens one connection to `target`.
pub async fn open(target: &DbTarget) -> Result<MySqlConnection> {
    // sqlx would log a slow statement with its whole text (168 KB for an IN
    // list, mailed by cron): statements are never logged.
    let options = sqlx::ConnectOptions::disable_statement_logging(target.options.clone());
    match tokio::time::timeout(CONNECT_TIMEOUT, MySqlConnection::connect_with(&options)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(match Error::db(&format!("connecting to {}", target.display), e) {
            Error::Db(m) | Error::Config(m) | Error::Lost(m) => Error::Unavailable(m),
            other => other,
        }),
        Err(_) => Err(Error::Unavailable(format!(
            "connecting to {}: no answer within {}s",
            target.display,
            CONNECT_TIMEOUT.as_secs()
        ))),
    }
}

impl Db {
    /// Connects and reads the server settings the writes depend on.
    #[instrument(skip_all)]
    pub async fn connect(target: &DbTarget) -> Result<Db> {
        let mut conn = open(target).await?;
        // language=MySQL
        let row = sqlx::query("SELECT CAST(@@max_allowed_packet AS UNSIGNED)")
            .fetch_one(&mut conn)
            .within("reading server settings")
            .await?;
        let packet: u64 = row.try_get(0).unwrap_or(4 << 20);
        Ok(Db { conn, statements: 0, max_packet: packet as usize })
    }

    /// The connection, counting one statement.
    pub fn conn(&mut self) -> &mut MySqlConnection {
        self.statements += 1;
        &mut self.conn
    }

    /// Statements executed so far on this connection (the connect-time
    /// settings read excluded).
    pub fn statements(&self) -> u64 {
        self.statements
    }

    /// Runs a statement without result rows.
    pub async fn exec(&mut self, what: &str, sql: &'static str) -> Result<()> {
        sqlx::query(sql).execute(self.conn()).within(what).await?;
        Ok(())
    }

    /// Closes the connection cleanly.
    pub async fn close(self) {
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, self.conn.close()).await;
    }
}

/// A `COUNT(*)` (BIGINT) or `SUM(condition)` (DECIMAL) column as a number.
pub fn count_col(row: &MySqlRow, i: usize) -> u64 {
    row.try_get::<i64, _>(i)
        .map(|v| v.max(0) as u64)
        .or_else(|_| row.try_get::<rust_decimal::Decimal, _>(i).map(|d| u64::try_from(d).unwrap_or_default()))
        .unwrap_or_default()
}

/// Decodes a user from columns `{p}id, {p}first_name, …`.
pub fn person(row: &MySqlRow, p: &str) -> std::result::Result<Person, sqlx::Error> {
    Ok(Person {
        id: row.try_get(format!("{p}id").as_str())?,
        first_name: row.try_get(format!("{p}first_name").as_str())?,
        last_name: row.try_get(format!("{p}last_name").as_str())?,
        email: row.try_get(format!("{p}email").as_str())?,
        is_active: row.try_get(format!("{p}is_active").as_str())?,
        statut_actif: row.try_get(format!("{p}statut_actif").as_str())?,
        is_superuser: row.try_get(format!("{p}is_superuser").as_str())?,
    })
}

/// The select list of a user aliased `u` with prefix `p`.
#[macro_export]
macro_rules! person_cols {
    ($u:literal, $p:literal) => {
        concat!(
            $u,
            ".id AS ",
            $p,
            "id, ",
            $u,
            ".first_name AS ",
            $p,
            "first_name, ",
            $u,
            ".last_name AS ",
            $p,
            "last_name, ",
            $u,
            ".email AS ",
            $p,
            "email, ",
            $u,
            ".is_active AS ",
            $p,
            "is_active, ",
            $u,
            ".statut_actif AS ",
            $p,
            "statut_actif, ",
            $u,
            ".is_superuser AS ",
            $p,
            "is_superuser"
        )
    };
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The text of every string literal of a Rust source file, one per line.
    fn literals(src: &str) -> String {
        let mut out = String::new();
        let mut chars = src.chars().peekable();
        let mut in_str = false;
        while let Some(c) = chars.next() {
            if in_str {
                match c {
                    '\\' => match chars.next() {
                        // A line continuation: the next line's indent is skipped.
                        Some('\n') => while chars.next_if(|c| c.is_whitespace()).is_some() {},
                        Some(e) => out.push(e),
                        None => {}
                    },
                    '"' => {
                        in_str = false;
                        out.push('\n');
                    }
                    _ => out.push(c),
                }
            } else if c == '"' {
                in_str = true;
            } else if c == '/' && chars.peek() == Some(&'/') {
                while chars.next().is_some_and(|c| c != '\n') {}
            }
        }
        out
    }

    /// The app tables an alias of the SQL in `read`, `write` and `outbox` stands for.
    fn alias(a: &str) -> Option<&'static [&'static str]> {
        Some(match a {
            "a" => &["core_affectation"],
            "c" | "u" | "r" => &["core_utilisateur"],
            "p" => &["core_projet"],
            "s" => &["core_statutprojet"],
            "e" => &["core_etapeprojet"],
            // The stage type in the stage query, the task in the task query.
            "t" => &["core_typeetape", "core_tacheetape"],
            "te" => &["core_typeetape"],
            "l" => &["core_lignebudget"],
            "k" => &["core_contratgarantie"],
            "ap" => &["core_alerteprojet"],
            "ne" => &["core_notificationetape"],
            // Our ledger, and the budget sums' derived table.
            "d" | "b" => &[],
            _ => return None,
        })
    }

    /// Every column named as `alias.column` or in an `INSERT INTO table (…)`
    /// list. (The unqualified columns of the app-row reads, `fetch_app_dedup`,
    /// are all in the INSERT lists of the same tables.)
    #[test]
    fn app_columns_list_every_column_the_sql_names() {
        let mut sql = String::new();
        for src in [include_str!("read.rs"), include_str!("write.rs"), include_str!("outbox.rs")] {
            sql.push_str(&literals(src));
        }
        sql.push_str(crate::person_cols!("u", ""));
        let listed = |t: &str, c: &str| APP_COLUMNS.iter().any(|(table, cols)| *table == t && cols.contains(&c));
        let mut used: BTreeSet<(&str, String)> = BTreeSet::new();
        let mut unknown = Vec::new();
        for token in sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')) {
            let Some((a, col)) = token.split_once('.') else { continue };
            if a.is_empty()
                || !a.chars().all(|c| c.is_ascii_lowercase())
                || !col.starts_with(|c: char| c.is_ascii_lowercase())
            {
                continue;
            }
            let Some(tables) = alias(a) else {
                unknown.push(token.to_string());
                continue;
            };
            if !tables.is_empty() && !tables.iter().any(|t| listed(t, col)) {
                unknown.push(format!("{token} ({})", tables.join(" or ")));
            }
            used.extend(tables.iter().map(|t| (*t, col.to_string())));
        }
        let mut rest = sql.as_str();
        while let Some(i) = rest.find("INSERT INTO core_") {
            rest = &rest[i + "INSERT INTO ".len()..];
            let table = rest.split_whitespace().next().unwrap();
            let list = &rest[rest.find('(').unwrap() + 1..rest.find(')').unwrap()];
            for col in list.split(',').map(str::trim) {
                if !listed(table, col) {
                    unknown.push(format!("{table}.{col}"));
                }
                used.insert((APP_COLUMNS.iter().find(|(t, _)| *t == table).unwrap().0, col.to_string()));
            }
        }
        assert!(unknown.is_empty(), "columns named in the SQL but not in APP_COLUMNS: {unknown:?}");
        assert!(used.len() > 50, "the scan found too little: {used:?}");
        let unused: Vec<String> = APP_COLUMNS
            .iter()
            .flat_map(|(t, cols)| cols.iter().map(move |c| (*t, *c)))
            .filter(|(t, c)| !used.contains(&(*t, c.to_string())))
            .map(|(t, c)| format!("{t}.{c}"))
            .collect();
        assert!(unused.is_empty(), "columns in APP_COLUMNS that no statement names: {unused:?}");
    }

    #[test]
    fn app_columns_cover_the_app_tables_doctor_checks() {
        let tables: Vec<&str> = APP_COLUMNS.iter().map(|(t, _)| *t).collect();
        assert_eq!(tables, crate::doctor::APP_TABLES);
    }
}
