//! The one error type of the binary: each variant is a failure class with a
//! fixed exit code (docs/design.md §5), displayed as one line without secrets.

use std::fmt;

/// sysexits numbers used by the binary.
pub mod code {
    /// Everything due was recorded and delivered.
    pub const OK: u8 = 0;
    /// Usage error (clap).
    pub const USAGE: u8 = 2;
    /// A flag combination or value refused on purpose (`--at` on a real run
    /// without `--replay`, an instant the tables cannot hold).
    pub const REFUSED: u8 = 64;
    /// Some e-mails were rejected permanently.
    pub const DATAERR: u8 = 65;
    /// The database is unreachable.
    pub const UNAVAILABLE: u8 = 69;
    /// Internal error.
    pub const SOFTWARE: u8 = 70;
    /// The alerts were recorded and sent, but an output file (metrics, log)
    /// could not be written.
    pub const IOERR: u8 = 74;
    /// Temporary failure: lock held, or mail still queued.
    pub const TEMPFAIL: u8 = 75;
    /// A privilege is missing.
    pub const NOPERM: u8 = 77;
    /// Configuration error.
    pub const CONFIG: u8 = 78;
}

/// A failure that ends a command.
#[derive(Debug)]
pub enum Error {
    /// Bad configuration value, missing app tables, migrations not applied.
    Config(String),
    /// A flag combination or value refused on purpose.
    Refused(String),
    /// Another run holds the lock.
    LockHeld(String),
    /// The database cannot be reached.
    Unavailable(String),
    /// A statement failed on a reachable database.
    Db(String),
    /// A statement failed for a reason that passes (deadlock, lock wait
    /// timeout): the transaction can be tried again.
    DbTemporary(String),
    /// The database was lost or stalled mid-run: what was committed stays,
    /// the next run goes on (75).
    Lost(String),
    /// The database user lacks a privilege.
    Privilege(String),
    /// Mail could not be delivered; `transient` mail stays queued.
    Mail { transient: bool, message: String },
    /// A local file could not be read or written.
    Io(String),
    /// An output file (metrics, log) could not be written; the work itself
    /// was done. Reported as a warning, exit 74.
    Output(String),
    /// The run was interrupted by a signal.
    Interrupted,
    /// A bug.
    Internal(String),
}

impl Error {
    /// The process exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_) => code::CONFIG,
            Error::Refused(_) => code::REFUSED,
            Error::LockHeld(_) | Error::Interrupted | Error::DbTemporary(_) | Error::Lost(_) => code::TEMPFAIL,
            Error::Unavailable(_) => code::UNAVAILABLE,
            Error::Db(_) | Error::Internal(_) => code::SOFTWARE,
            Error::Privilege(_) => code::NOPERM,
            Error::Mail { transient: true, .. } => code::TEMPFAIL,
            Error::Mail { transient: false, .. } => code::DATAERR,
            Error::Io(_) => code::CONFIG,
            Error::Output(_) => code::IOERR,
        }
    }

    /// Wraps a database error met while doing `what`, classifying it.
    pub fn db(what: &str, err: sqlx::Error) -> Error {
        let why = one_line(&err.to_string());
        match &err {
            // A connection that breaks after it was made: the database was
            // lost mid-run (`db::open` reports a failed connect as 69).
            sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut => {
                Error::Lost(format!("{what}: {why}"))
            }
            sqlx::Error::Database(db) => {
                let code = db.code().unwrap_or_default();
                match code.as_ref() {
                    // Deadlock (1213), lock wait timeout (1205).
                    _ if is_conflict(&err) => Error::DbTemporary(format!("{what}: {why}")),
                    // Access denied on login / unknown database: nothing can be done.
                    "28000" | "42000" if why.contains("Access denied for user") => {
                        Error::Unavailable(format!("{what}: {why}"))
                    }
                    // Table/column privilege missing.
                    "42000" if why.contains("command denied") => Error::Privilege(format!("{what}: {why}")),
                    "42S02" => Error::Config(format!("{what}: {why}")),
                    // Unknown column: an app upgrade dropped or renamed one.
                    "42S22" => Error::Config(format!("{what}: {}", unknown_column(db.message()))),
                    _ => Error::Db(format!("{what}: {why}")),
                }
            }
            _ => Error::Db(format!("{what}: {why}")),
        }
    }
}

/// Merges exit codes: the most pressing class wins.
///
/// 74 (an output file could not be written) comes last, after 75: it means
/// the alerts themselves were recorded and sent, so it shows only when
/// nothing else went wrong (docs/design.md §5). Any other failure is more
/// urgent, and the warning line on stderr still names the file.
pub fn merge_exit(a: u8, b: u8) -> u8 {
    // A refusal (64) comes before anything is done, like a missing privilege
    // or a bad configuration: the operator must change the command line.
    const ORDER: [u8; 9] = [
        code::SOFTWARE,
        code::UNAVAILABLE,
        code::NOPERM,
        code::REFUSED,
        code::CONFIG,
        code::DATAERR,
        code::TEMPFAIL,
        code::IOERR,
        code::OK,
    ];
    let rank = |c: u8| ORDER.iter().position(|x| *x == c).unwrap_or(0);
    if rank(a) <= rank(b) { a } else { b }
}

/// Whether `err` is a deadlock, a lock wait timeout or a Galera
/// certification conflict (reported as a deadlock): worth one more try.
pub fn is_conflict(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            let code = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>().map(|e| e.number());
            matches!(code, Some(1213 | 1205))
        }
        _ => false,
    }
}

/// Explains MariaDB's "Unknown column 'p.client' in 'field list'": names
/// the app table when the column belongs to only one of those the checks use.
fn unknown_column(message: &str) -> String {
    let quoted = message.split('\'').nth(1).unwrap_or_default();
    let column = quoted.rsplit('.').next().unwrap_or_default();
    let tables: Vec<&str> =
        crate::schema::APP_COLUMNS.iter().filter(|(_, cols)| cols.contains(&column)).map(|(t, _)| *t).collect();
    let why = one_line(message);
    match tables.as_slice() {
        [] => format!(
            "{why}: the database schema does not match this version of sigov-alerts (see `sigov-alerts doctor`)"
        ),
        [table] => format!(
            "the app's schema changed: column {table}.{column} is missing ({why}); this version of sigov-alerts \
             needs it, `sigov-alerts doctor` lists every missing column"
        ),
        several => format!(
            "the app's schema changed: column {quoted} is missing ({why}; one of {}); this version of sigov-alerts \
             needs it, `sigov-alerts doctor` names the table",
            several.iter().map(|t| format!("{t}.{column}")).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Collapses a message to one line.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(m)
            | Error::Refused(m)
            | Error::LockHeld(m)
            | Error::Unavailable(m)
            | Error::Db(m)
            | Error::DbTemporary(m)
            | Error::Lost(m)
            | Error::Privilege(m)
            | Error::Io(m)
            | Error::Output(m)
            | Error::Internal(m) => f.write_str(m),
            Error::Mail { message, .. } => f.write_str(message),
            Error::Interrupted => f.write_str("interrupted by a signal; the run was marked interrupted"),
        }
    }
}

impl std::error::Error for Error {}

/// Result alias for the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_merge_by_severity() {
        assert_eq!(merge_exit(0, 75), 75);
        assert_eq!(merge_exit(75, 65), 65);
        assert_eq!(merge_exit(65, 78), 78);
        // A missing privilege also hides tables: it is the cause to report.
        assert_eq!(merge_exit(78, 77), 77);
        assert_eq!(merge_exit(69, 78), 69);
    }

    #[test]
    fn an_unknown_column_names_its_app_table_when_only_one_has_it() {
        let m = unknown_column("Unknown column 'p.client' in 'SELECT'");
        assert!(m.starts_with("the app's schema changed: column core_projet.client is missing"), "{m}");
        assert!(m.contains("Unknown column 'p.client'") && m.contains("sigov-alerts doctor"), "{m}");
        let m = unknown_column("Unknown column 'e.nom' in 'field list'");
        assert!(m.contains("column e.nom is missing") && m.contains("core_projet.nom, core_typeetape.nom"), "{m}");
        let m = unknown_column("Unknown column 'x.zzz' in 'where clause'");
        assert!(m.contains("does not match this version"), "{m}");
    }

    #[test]
    fn a_refusal_ranks_between_a_missing_privilege_and_a_bad_configuration() {
        assert_eq!(merge_exit(code::CONFIG, code::REFUSED), code::REFUSED);
        assert_eq!(merge_exit(code::REFUSED, code::NOPERM), code::NOPERM);
        assert_eq!(merge_exit(code::TEMPFAIL, code::REFUSED), code::REFUSED);
        assert_eq!(Error::Refused("x".into()).exit_code(), 64);
    }

    #[test]
    fn an_output_failure_shows_only_when_nothing_else_failed() {
        assert_eq!(Error::Output("writing metrics to x: denied".into()).exit_code(), 74);
        assert_eq!(merge_exit(code::OK, code::IOERR), 74);
        assert_eq!(merge_exit(code::IOERR, code::OK), 74);
        for worse in [code::TEMPFAIL, code::DATAERR, code::CONFIG, code::NOPERM, code::UNAVAILABLE, code::SOFTWARE] {
            assert_eq!(merge_exit(code::IOERR, worse), worse);
            assert_eq!(merge_exit(worse, code::IOERR), worse);
        }
    }
}
