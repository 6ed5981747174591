//! Configuration: flag > environment > TOML file > default, validated up
//! front into a [`Config`]. Every value remembers where it came from
//! ([`Source`]): an error names the flag, the environment variable or the
//! file line, and `sigov-alerts config` shows each key with its source.
//! Secrets live in [`Secret`], whose `Debug` never shows them.
//!
//! This module owns the validated [`Config`] and its defaults' constants;
//! the parts are:
//! - `keys`: the key table (every file key and its type);
//! - `file`: the TOML file, its line numbers and its errors;
//! - `source`: where a value came from and how `config` shows it;
//! - `resolver`: picking each key from the layers and recording it;
//! - `merge`: the rule (flag, variable, default, range) of every key;
//! - `database`, `transport`: the two URLs parsed and checked;
//! - `secret`: secrets, password files, redaction.

use std::path::PathBuf;
use std::time::Duration;

use chrono_tz::Tz;
use lettre::message::Mailbox;

use crate::cli::GlobalArgs;
use crate::error::Result;

mod database;
mod file;
mod keys;
mod merge;
mod resolver;
mod secret;
mod source;
#[cfg(test)]
mod tests;
mod transport;

pub use database::DbTarget;
pub use file::FileLayer;
pub use keys::{KEYS, RawConfig};
pub use secret::{Secret, redact_url};
pub use source::{Entry, Resolved, Shown, Source};
pub use transport::{TlsMode, Transport};

use source::bad;

/// Default configuration file, read when it exists and no `--config` is given.
pub const DEFAULT_CONFIG_FILE: &str = "/etc/sigov-alerts.toml";
/// Default sender, as the app's `DEFAULT_FROM_EMAIL`.
pub const DEFAULT_FROM: &str = "SI-Gouvernance <noreply@si-gouvernance.com>";
/// The environment variables of `database_url`, in order: ours, then the
/// Django app's own.
pub const DATABASE_URL_ENV: &[&str] = &["SIGOV_ALERTS_DATABASE_URL", "DATABASE_URL"];
/// The environment variable holding a tracing filter.
pub const LOG_ENV: &str = "SIGOV_ALERTS_LOG";

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Connection options (holds the password; never Debug-printed in logs).
    database: Option<DbTarget>,
    /// Mail transport; `None` when not configured (checks then fail at delivery).
    pub transport: Option<Transport>,
    /// Business time zone.
    pub timezone: Tz,
    /// Web app base URL, without trailing slash.
    pub base_url: String,
    /// Sender.
    pub from: Mailbox,
    /// Reply-To, when set.
    pub reply_to: Option<Mailbox>,
    /// Lock file path.
    pub lock_file: PathBuf,
    /// How long to wait for a held lock.
    pub wait_lock: Duration,
    /// SMTP connect and command timeout.
    pub smtp_timeout: Duration,
    /// Whole-message send timeout.
    pub send_timeout: Duration,
    /// Give up on queued mail older than this.
    pub max_delivery_age: Duration,
    /// Prune ledger rows older than this many days.
    pub ledger_retention_days: u32,
    /// One e-mail per alert, or one digest per recipient per run.
    pub mail_mode: MailMode,
    /// SMTP connections used at once (1: a killed run repeats at most one e-mail).
    pub smtp_connections: u32,
    /// node_exporter textfile to write at the end of every run.
    pub metrics_file: Option<PathBuf>,
    /// File the log lines are appended to.
    pub log_file: Option<PathBuf>,
    /// Level of the log file, whatever `-v`/`-q` and `SIGOV_ALERTS_LOG` say.
    pub log_file_level: tracing::Level,
    /// Serialise runs with `GET_LOCK` (off for Galera clusters and proxies
    /// where it is per node: outbox claims still keep deliverers apart).
    pub database_lock: bool,
    /// Bound on every database statement.
    pub database_timeout: Duration,
    /// Bound on a run's delivery phase (and the least lifetime of a claim).
    pub delivery_deadline: Duration,
    /// Messages per minute at most (`None`: unlimited).
    pub smtp_rate: Option<u32>,
    /// Consecutive temporary failures after which delivery stops.
    pub circuit_breaker: u32,
}

/// How alerts are grouped into e-mails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailMode {
    /// One e-mail per alert row (the app's behaviour).
    PerAlert,
    /// One e-mail per recipient per run listing all their new alerts.
    Digest,
}

/// Whether `host` is the local host (`localhost` or a loopback address).
fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().map(|ip| ip.is_loopback()).unwrap_or(false)
}

impl Config {
    /// Loads the file named by `--config` (or the default file if present),
    /// merges the environment and flags over it, and validates every value.
    pub fn load(args: &GlobalArgs) -> Result<Config> {
        Config::resolve(args)?.config
    }

    /// Every key with its value and source, and the validated configuration
    /// (for `sigov-alerts config`). Fails only when the file cannot be read
    /// or parsed.
    pub fn resolve(args: &GlobalArgs) -> Result<Resolved> {
        let file = FileLayer::load(args.config.as_deref())?;
        let (entries, config) = Config::merge(args, &file, &resolver::process_env);
        Ok(Resolved { file: file.path.clone(), entries, config })
    }

    /// The database target, or a configuration error when none is set.
    pub fn database(&self) -> Result<&DbTarget> {
        self.database.as_ref().ok_or_else(|| {
            bad(
                "database_url",
                "not set (use --database-url, SIGOV_ALERTS_DATABASE_URL, DATABASE_URL or database_url in the config file)",
            )
        })
    }

    /// The mail transport, or a configuration error when none is set.
    pub fn transport(&self) -> Result<&Transport> {
        self.transport.as_ref().ok_or_else(|| {
            bad("smtp_url", "not set (use --smtp-url, SIGOV_ALERTS_SMTP_URL or smtp_url in the config file)")
        })
    }
}
