//! The rule of every key: its flag and environment variable (when it has
//! them), its default and its range, applied in the order of the key table,
//! and the validated [`Config`] built from them.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono_tz::Tz;

use super::file::FileLayer;
use super::resolver::{Resolver, non_empty, parse_mailbox, path_shown};
use super::secret::redact_url;
use super::source::{Entry, Shown, Source};
use super::{Config, DEFAULT_FROM, MailMode};
use crate::cli::GlobalArgs;
use crate::error::{Error, Result};

/// The default lock file: one per database (`sigov-alerts.<host>-<port>-<db>.lock`),
/// so runs against two databases on one host neither block each other nor
/// share anything.
pub(super) fn default_lock_file(database: Option<&str>) -> PathBuf {
    let name = match database {
        Some(id) => format!("sigov-alerts.{id}.lock"),
        None => "sigov-alerts.lock".to_string(),
    };
    if Path::new("/run/lock").is_dir() {
        PathBuf::from("/run/lock").join(name)
    } else if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR") {
        PathBuf::from(dir).join(name)
    } else {
        std::env::temp_dir().join(name)
    }
}

fn at_least_1s(d: Duration) -> Result<(), String> {
    if d < Duration::from_secs(1) { Err("must be at least 1s".to_string()) } else { Ok(()) }
}

fn at_least_1(n: u32) -> Result<(), String> {
    if n == 0 { Err("must be at least 1".into()) } else { Ok(()) }
}

/// `base_url`: an http(s) URL, kept without its trailing slash.
fn parse_base_url(url: &str) -> Result<String, String> {
    let u = url::Url::parse(url.trim()).map_err(|e| format!("not a URL ({e})"))?;
    if matches!(u.scheme(), "http" | "https") {
        Ok(u.as_str().trim_end_matches('/').to_string())
    } else {
        Err("must be an http:// or https:// URL".to_string())
    }
}

impl Config {
    /// Merges flags (`args`), environment (`env`) and file over the defaults.
    pub fn merge(
        args: &GlobalArgs,
        file: &FileLayer,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> (Vec<Entry>, Result<Config>) {
        let raw = &file.raw;
        let mut r = Resolver::new(args, env, file);
        let database = r.database();
        let transport = r.transport();

        let picked = r.pick("--timezone", args.timezone.as_ref(), &["SIGOV_ALERTS_TIMEZONE"], raw.timezone.as_ref());
        let parse_tz = |tz: &str| Tz::from_str(tz.trim()).map_err(|_| format!("{tz:?} is not an IANA time zone name"));
        let timezone =
            r.string("timezone", picked, "Europe/Paris", str::to_string, parse_tz).unwrap_or(Tz::Europe__Paris);

        let picked = r.pick("--base-url", args.base_url.as_ref(), &["SIGOV_ALERTS_BASE_URL"], raw.base_url.as_ref());
        let show = |url: &str| redact_url("base_url", url);
        let base_url = r.string("base_url", picked, "http://localhost:8000", show, parse_base_url).unwrap_or_default();

        let picked = r.pick("--from", args.from.as_ref(), &["SIGOV_ALERTS_FROM"], raw.from.as_ref());
        let from = r.string("from", picked, DEFAULT_FROM, str::to_string, parse_mailbox);

        let picked = r.in_file(raw.reply_to.as_ref());
        let reply_to = r.optional("reply_to", picked, |s| Shown::Str(s.clone()), |s| parse_mailbox(&s));

        let picked =
            r.pick("--lock-file", args.lock_file.as_ref(), &["SIGOV_ALERTS_LOCK_FILE"], raw.lock_file.as_ref());
        let (lock_file, source) = picked
            .unwrap_or_else(|| (default_lock_file(database.as_ref().map(|d| d.identity.as_str())), Source::Default));
        r.record("lock_file", path_shown(&lock_file), source, non_empty(&lock_file));

        let picked = r.pick("--wait-lock", args.wait_lock.as_ref(), &[], raw.wait_lock.as_ref());
        let wait_lock = r.duration("wait_lock", picked, "0s", |d| {
            if d > Duration::from_secs(86_400) {
                Err("must be at most 1day (a run waiting longer only piles up behind the next ones)".into())
            } else {
                Ok(())
            }
        });
        let picked = r.in_file(raw.smtp_timeout.as_ref());
        let smtp_timeout = r.duration("smtp_timeout", picked, "10s", at_least_1s);
        let picked = r.in_file(raw.send_timeout.as_ref());
        let send_timeout = r.duration("send_timeout", picked, "30s", at_least_1s);
        let picked = r.in_file(raw.max_delivery_age.as_ref());
        let max_delivery_age = r.duration("max_delivery_age", picked, "3days", |d| {
            if d < Duration::from_secs(3600) {
                Err("must be at least 1h (a shorter age abandons e-mail at its first temporary failure)".into())
            } else {
                Ok(())
            }
        });
        let picked = r.in_file(raw.ledger_retention_days.as_ref());
        let ledger_retention_days = r.number("ledger_retention_days", picked, 90, at_least_1);
        let picked = r.in_file(raw.mail_mode.as_ref());
        let modes = [("per_alert", MailMode::PerAlert), ("digest", MailMode::Digest)];
        let mail_mode = r.choice("mail_mode", picked, "per_alert", &modes);
        let picked = r.in_file(raw.smtp_connections.as_ref());
        let smtp_connections = r.number("smtp_connections", picked, 1, |n| {
            if (1..=16).contains(&n) { Ok(()) } else { Err(format!("{n} is not between 1 and 16")) }
        });
        let picked = r.pick(
            "--metrics-file",
            args.metrics_file.as_ref(),
            &["SIGOV_ALERTS_METRICS_FILE"],
            raw.metrics_file.as_ref(),
        );
        let metrics_file = r.optional_path("metrics_file", picked);
        let picked = r.pick("--log-file", args.log_file.as_ref(), &["SIGOV_ALERTS_LOG_FILE"], raw.log_file.as_ref());
        let log_file = r.optional_path("log_file", picked);
        let picked = r.in_file(raw.log_file_level.as_ref());
        let levels = [
            ("error", tracing::Level::ERROR),
            ("warn", tracing::Level::WARN),
            ("info", tracing::Level::INFO),
            ("debug", tracing::Level::DEBUG),
            ("trace", tracing::Level::TRACE),
        ];
        let log_file_level = r.choice("log_file_level", picked, "info", &levels);
        let (database_lock, source) = r.in_file(raw.database_lock.as_ref()).unwrap_or((true, Source::Default));
        r.record("database_lock", Shown::Bool(database_lock), source, Ok(()));
        let picked = r.in_file(raw.database_timeout.as_ref());
        let database_timeout = r.duration("database_timeout", picked, "5m", at_least_1s);
        let picked = r.in_file(raw.delivery_deadline.as_ref());
        let delivery_deadline = r.duration("delivery_deadline", picked, "10m", at_least_1s);
        let picked = r.in_file(raw.smtp_rate.as_ref());
        let no_limit = picked.is_none();
        let smtp_rate = r.optional(
            "smtp_rate",
            picked,
            |n| Shown::Int((*n).into()),
            |n| {
                if n == 0 {
                    Err("must be at least 1 message per minute (leave it unset for no limit)".into())
                } else {
                    Ok(n)
                }
            },
        );
        if no_limit {
            r.note("no limit");
        }
        let picked = r.in_file(raw.circuit_breaker.as_ref());
        let circuit_breaker = r.number("circuit_breaker", picked, 5, at_least_1);

        let config = match (r.error.take(), from, mail_mode) {
            (Some(e), _, _) => Err(e),
            (None, Some(from), Some(mail_mode)) => Ok(Config {
                database,
                transport,
                timezone,
                base_url,
                from,
                reply_to,
                lock_file,
                wait_lock: wait_lock.unwrap_or_default(),
                smtp_timeout: smtp_timeout.unwrap_or_default(),
                send_timeout: send_timeout.unwrap_or_default(),
                max_delivery_age: max_delivery_age.unwrap_or_default(),
                ledger_retention_days: ledger_retention_days.unwrap_or_default(),
                mail_mode,
                smtp_connections: smtp_connections.unwrap_or_default(),
                metrics_file,
                log_file,
                log_file_level: log_file_level.unwrap_or(tracing::Level::INFO),
                database_lock,
                database_timeout: database_timeout.unwrap_or_default(),
                delivery_deadline: delivery_deadline.unwrap_or_default(),
                smtp_rate,
                circuit_breaker: circuit_breaker.unwrap_or_default(),
            }),
            (None, _, _) => Err(Error::Internal("configuration: a value without a verdict".into())),
        };
        (r.entries, config)
    }
}
