//! Configuration: flag > environment > TOML file > default, validated up
//! front into a [`Config`]. Secrets live in [`Secret`], whose `Debug` and
//! `Display` never show them.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono_tz::Tz;
use lettre::message::Mailbox;
use serde::Deserialize;
use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};

use crate::cli::GlobalArgs;
use crate::error::{Error, Result};

/// Default configuration file, read when it exists and no `--config` is given.
pub const DEFAULT_CONFIG_FILE: &str = "/etc/sigov-alerts.toml";
/// Default sender, as the app's `DEFAULT_FROM_EMAIL`.
pub const DEFAULT_FROM: &str = "SI-Gouvernance <noreply@si-gouvernance.com>";

/// A secret string: never printed.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The value, for the one call site that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

/// The configuration file, as written. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    database_url: Option<String>,
    database_password_file: Option<PathBuf>,
    smtp_url: Option<String>,
    smtp_password_file: Option<PathBuf>,
    smtp_ca_file: Option<PathBuf>,
    timezone: Option<String>,
    base_url: Option<String>,
    from: Option<String>,
    reply_to: Option<String>,
    lock_file: Option<PathBuf>,
    wait_lock: Option<String>,
    smtp_timeout: Option<String>,
    send_timeout: Option<String>,
    max_delivery_age: Option<String>,
    ledger_retention_days: Option<u32>,
    mail_mode: Option<String>,
    smtp_connections: Option<u32>,
    metrics_file: Option<PathBuf>,
    log_file: Option<PathBuf>,
    database_lock: Option<bool>,
    database_timeout: Option<String>,
    delivery_deadline: Option<String>,
    smtp_rate: Option<u32>,
    circuit_breaker: Option<u32>,
}

/// How e-mails leave.
#[derive(Clone)]
pub enum Transport {
    /// SMTP with the given security.
    Smtp {
        /// Host name or address.
        host: String,
        /// TCP port.
        port: u16,
        /// TLS mode.
        tls: TlsMode,
        /// User name, when the server wants AUTH.
        user: Option<String>,
        /// Password.
        password: Option<Secret>,
        /// Extra trusted CA certificates (PEM), e.g. an internal CA.
        ca_pem: Option<Vec<u8>>,
    },
    /// Writes `.eml` files into a directory (demos, previews).
    File(PathBuf),
}

/// SMTP transport security.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain text, written explicitly (`tls=none`).
    None,
    /// STARTTLS when offered (loopback only by default).
    Opportunistic,
    /// STARTTLS required.
    Required,
    /// Implicit TLS (`smtps://`).
    Wrapper,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Transport {
    /// A description without secrets, for logs and `doctor`.
    pub fn describe(&self) -> String {
        match self {
            Transport::Smtp { host, port, tls, user, .. } => {
                let user = user.as_deref().map(|u| format!("{u}@")).unwrap_or_default();
                format!("smtp {user}{host}:{port} (tls {tls:?})")
            }
            Transport::File(dir) => format!("file {}", dir.display()),
        }
    }
}

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

/// The database to connect to.
#[derive(Clone)]
pub struct DbTarget {
    /// sqlx options (contain the password).
    pub options: MySqlConnectOptions,
    /// Database name, for the lock name.
    pub database: String,
    /// `user@host:port/db`, without password.
    pub display: String,
    /// `host-port-db`, safe in a file name: the default lock file is per database.
    pub identity: String,
}

impl fmt::Debug for DbTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

fn bad(key: &str, why: impl fmt::Display) -> Error {
    Error::Config(format!("configuration: {key}: {why}"))
}

fn read_secret_file(key: &str, path: &Path) -> Result<String> {
    let s = std::fs::read_to_string(path).map_err(|e| bad(key, format!("cannot read {}: {e}", path.display())))?;
    Ok(s.trim_end_matches(['\n', '\r']).to_string())
}

fn parse_duration(key: &str, s: &str) -> Result<Duration> {
    humantime::parse_duration(s.trim()).map_err(|e| bad(key, format!("{s:?} is not a duration ({e})")))
}

fn parse_mailbox(key: &str, s: &str) -> Result<Mailbox> {
    Mailbox::from_str(s.trim()).map_err(|e| bad(key, format!("{s:?} is not a mailbox ({e})")))
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().map(|ip| ip.is_loopback()).unwrap_or(false)
}

/// Parses and validates the database URL; a remote host requires TLS
/// unless the URL says otherwise.
fn parse_database(url: &str, password_file: Option<&Path>) -> Result<DbTarget> {
    const KEY: &str = "database_url";
    let mut parsed = url::Url::parse(url).map_err(|e| bad(KEY, format!("not a URL ({e})")))?;
    if parsed.scheme() != "mysql" && parsed.scheme() != "mariadb" {
        return Err(bad(KEY, format!("scheme must be mysql://, not {}://", parsed.scheme())));
    }
    if parsed.scheme() == "mariadb" {
        let rest = parsed.as_str()["mariadb".len()..].to_string();
        parsed = url::Url::parse(&format!("mysql{rest}")).map_err(|e| bad(KEY, e))?;
    }
    if let Some(file) = password_file {
        let pw = read_secret_file("database_password_file", file)?;
        parsed.set_password(Some(&pw)).map_err(|_| bad(KEY, "cannot carry a password"))?;
    }
    let host = parsed.host_str().unwrap_or("").to_string();
    if host.is_empty() {
        return Err(bad(KEY, "no host"));
    }
    let database = parsed.path().trim_start_matches('/').to_string();
    if database.is_empty() {
        return Err(bad(KEY, "no database name in the path (mysql://user@host/DATABASE)"));
    }
    let has_ssl_mode = parsed.query_pairs().any(|(k, _)| k == "ssl-mode" || k == "sslmode");
    let mut options = MySqlConnectOptions::from_str(parsed.as_str()).map_err(|e| {
        bad(KEY, crate::error::one_line(&e.to_string()).replace(parsed.password().unwrap_or("\u{0}"), "****"))
    })?;
    if !has_ssl_mode {
        // sqlx's PREFERRED silently falls back to plain text: require TLS
        // for any non-loopback server unless the URL says otherwise.
        options = options.ssl_mode(if is_loopback(&host) { MySqlSslMode::Preferred } else { MySqlSslMode::Required });
    }
    let user = parsed.username();
    let port = parsed.port().unwrap_or(3306);
    let identity: String = format!("{host}-{port}-{database}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' { c } else { '_' })
        .take(120)
        .collect();
    Ok(DbTarget { options, database: database.clone(), display: format!("{user}@{host}:{port}/{database}"), identity })
}

/// Parses the mail transport URL.
fn parse_transport(url: &str, password_file: Option<&Path>, ca_file: Option<&Path>) -> Result<Transport> {
    const KEY: &str = "smtp_url";
    let parsed = url::Url::parse(url).map_err(|e| bad(KEY, format!("not a URL ({e})")))?;
    match parsed.scheme() {
        "file" => {
            let path = parsed.to_file_path().map_err(|_| bad(KEY, "file:// needs an absolute directory path"))?;
            Ok(Transport::File(path))
        }
        scheme @ ("smtp" | "smtps") => {
            let host = parsed.host_str().filter(|h| !h.is_empty()).ok_or_else(|| bad(KEY, "no host"))?;
            let host = host.trim_matches(['[', ']']).to_string();
            let mut tls = if scheme == "smtps" {
                TlsMode::Wrapper
            } else if is_loopback(&host) {
                TlsMode::Opportunistic
            } else {
                TlsMode::Required
            };
            for (k, v) in parsed.query_pairs() {
                match (k.as_ref(), v.as_ref()) {
                    ("tls", "none") if scheme == "smtp" => tls = TlsMode::None,
                    ("tls", "opportunistic") if scheme == "smtp" => tls = TlsMode::Opportunistic,
                    ("tls", "required") if scheme == "smtp" => tls = TlsMode::Required,
                    ("tls", other) => {
                        return Err(bad(KEY, format!("tls={other} is not one of none, opportunistic, required")));
                    }
                    (other, _) => return Err(bad(KEY, format!("unknown parameter {other:?}"))),
                }
            }
            let port = parsed.port().unwrap_or(if scheme == "smtps" { 465 } else { 587 });
            let user = (!parsed.username().is_empty()).then(|| {
                url::form_urlencoded::parse(parsed.username().as_bytes())
                    .map(|(k, _)| k.into_owned())
                    .next()
                    .unwrap_or_default()
            });
            let mut password = parsed.password().map(|p| Secret::new(percent_decode(p)));
            if let Some(file) = password_file {
                password = Some(Secret::new(read_secret_file("smtp_password_file", file)?));
            }
            if password.is_some() && user.is_none() {
                return Err(bad(KEY, "a password needs a user name"));
            }
            let ca_pem = ca_file
                .map(|f| std::fs::read(f).map_err(|e| bad("smtp_ca_file", format!("cannot read {}: {e}", f.display()))))
                .transpose()?;
            if let Some(pem) = &ca_pem
                && !String::from_utf8_lossy(pem).contains("-----BEGIN CERTIFICATE-----")
            {
                return Err(bad("smtp_ca_file", "no PEM certificate in the file"));
            }
            Ok(Transport::Smtp { host, port, tls, user, password, ca_pem })
        }
        other => Err(bad(KEY, format!("scheme must be smtp://, smtps:// or file://, not {other}://"))),
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

impl Config {
    /// Loads the file named by `--config` (or the default file if present),
    /// merges flags and environment over it, and validates every value.
    pub fn load(args: &GlobalArgs) -> Result<Config> {
        let raw = match &args.config {
            Some(path) => read_file(path)?,
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => read_file(Path::new(DEFAULT_CONFIG_FILE))?,
            None => RawConfig::default(),
        };
        Config::merge(args, raw)
    }

    fn merge(args: &GlobalArgs, raw: RawConfig) -> Result<Config> {
        let database = match args.database_url.clone().or(raw.database_url) {
            Some(url) if !url.trim().is_empty() => {
                Some(parse_database(url.trim(), raw.database_password_file.as_deref())?)
            }
            _ => None,
        };
        let transport = match args.smtp_url.clone().or(raw.smtp_url) {
            Some(url) if !url.trim().is_empty() => {
                Some(parse_transport(url.trim(), raw.smtp_password_file.as_deref(), raw.smtp_ca_file.as_deref())?)
            }
            _ => None,
        };
        let tz_name = args.timezone.clone().or(raw.timezone).unwrap_or_else(|| "Europe/Paris".into());
        let timezone = Tz::from_str(tz_name.trim())
            .map_err(|_| bad("timezone", format!("{tz_name:?} is not an IANA time zone name")))?;
        let base_url = args.base_url.clone().or(raw.base_url).unwrap_or_else(|| "http://localhost:8000".into());
        let parsed_base = url::Url::parse(base_url.trim()).map_err(|e| bad("base_url", format!("not a URL ({e})")))?;
        if !matches!(parsed_base.scheme(), "http" | "https") {
            return Err(bad("base_url", "must be an http:// or https:// URL"));
        }
        let base_url = parsed_base.as_str().trim_end_matches('/').to_string();
        let from = parse_mailbox("from", &args.from.clone().or(raw.from).unwrap_or_else(|| DEFAULT_FROM.into()))?;
        let reply_to = raw.reply_to.as_deref().map(|s| parse_mailbox("reply_to", s)).transpose()?;
        let lock_file = args
            .lock_file
            .clone()
            .or(raw.lock_file)
            .unwrap_or_else(|| default_lock_file(database.as_ref().map(|d| d.identity.as_str())));
        let wait_lock =
            parse_duration("wait_lock", args.wait_lock.as_deref().or(raw.wait_lock.as_deref()).unwrap_or("0s"))?;
        let smtp_timeout = parse_duration("smtp_timeout", raw.smtp_timeout.as_deref().unwrap_or("10s"))?;
        let send_timeout = parse_duration("send_timeout", raw.send_timeout.as_deref().unwrap_or("30s"))?;
        let max_delivery_age = parse_duration("max_delivery_age", raw.max_delivery_age.as_deref().unwrap_or("3days"))?;
        if smtp_timeout.is_zero() {
            return Err(bad("smtp_timeout", "must be more than 0"));
        }
        if send_timeout.is_zero() {
            return Err(bad("send_timeout", "must be more than 0"));
        }
        let ledger_retention_days = raw.ledger_retention_days.unwrap_or(90);
        if ledger_retention_days == 0 {
            return Err(bad("ledger_retention_days", "must be at least 1"));
        }
        let mail_mode = match raw.mail_mode.as_deref().map(str::trim) {
            None | Some("per_alert") => MailMode::PerAlert,
            Some("digest") => MailMode::Digest,
            Some(other) => return Err(bad("mail_mode", format!("{other:?} is not one of per_alert, digest"))),
        };
        let smtp_connections = raw.smtp_connections.unwrap_or(1);
        if !(1..=16).contains(&smtp_connections) {
            return Err(bad("smtp_connections", format!("{smtp_connections} is not between 1 and 16")));
        }
        let database_lock = raw.database_lock.unwrap_or(true);
        let database_timeout = parse_duration("database_timeout", raw.database_timeout.as_deref().unwrap_or("5m"))?;
        if database_timeout < Duration::from_secs(1) {
            return Err(bad("database_timeout", "must be at least 1s"));
        }
        let delivery_deadline = parse_duration("delivery_deadline", raw.delivery_deadline.as_deref().unwrap_or("10m"))?;
        if delivery_deadline < Duration::from_secs(1) {
            return Err(bad("delivery_deadline", "must be at least 1s"));
        }
        let smtp_rate = match raw.smtp_rate {
            Some(0) => {
                return Err(bad("smtp_rate", "must be at least 1 message per minute (leave it unset for no limit)"));
            }
            r => r,
        };
        let circuit_breaker = raw.circuit_breaker.unwrap_or(5);
        if circuit_breaker == 0 {
            return Err(bad("circuit_breaker", "must be at least 1"));
        }
        Ok(Config {
            database_lock,
            database_timeout,
            delivery_deadline,
            smtp_rate,
            circuit_breaker,
            mail_mode,
            smtp_connections,
            metrics_file: args.metrics_file.clone().or(raw.metrics_file),
            log_file: args.log_file.clone().or(raw.log_file),
            database,
            transport,
            timezone,
            base_url,
            from,
            reply_to,
            lock_file,
            wait_lock,
            smtp_timeout,
            send_timeout,
            max_delivery_age,
            ledger_retention_days,
        })
    }

    /// The database target, or a configuration error when none is set.
    pub fn database(&self) -> Result<&DbTarget> {
        self.database.as_ref().ok_or_else(|| {
            bad("database_url", "not set (use --database-url, DATABASE_URL or database_url in the config file)")
        })
    }

    /// The mail transport, or a configuration error when none is set.
    pub fn transport(&self) -> Result<&Transport> {
        self.transport.as_ref().ok_or_else(|| {
            bad("smtp_url", "not set (use --smtp-url, SIGOV_ALERTS_SMTP_URL or smtp_url in the config file)")
        })
    }
}

fn read_file(path: &Path) -> Result<RawConfig> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Config(format!("configuration: cannot read {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| {
        Error::Config(format!("configuration: {}: {}", path.display(), crate::error::one_line(e.message())))
    })
}

/// The default lock file: one per database (`sigov-alerts.<host>-<port>-<db>.lock`),
/// so runs against two databases on one host neither block each other nor
/// share anything.
fn default_lock_file(database: Option<&str>) -> PathBuf {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> GlobalArgs {
        GlobalArgs::default()
    }

    #[test]
    fn bad_timezone_names_the_key() {
        let raw = RawConfig { timezone: Some("Mars/Olympus".into()), ..Default::default() };
        let err = Config::merge(&args(), raw).unwrap_err();
        assert_eq!(err.exit_code(), 78);
        assert!(err.to_string().starts_with("configuration: timezone:"), "{err}");
    }

    #[test]
    fn flag_beats_file() {
        let raw = RawConfig { timezone: Some("UTC".into()), ..Default::default() };
        let mut a = args();
        a.timezone = Some("Europe/Berlin".into());
        assert_eq!(Config::merge(&a, raw).unwrap().timezone, chrono_tz::Europe::Berlin);
    }

    #[test]
    fn database_password_never_in_errors_or_debug() {
        let raw = RawConfig { database_url: Some("mysql://u:hunter2@db.example/x".into()), ..Default::default() };
        let c = Config::merge(&args(), raw).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
        let raw = RawConfig {
            database_url: Some("mysql://u:hunter2@db.example/x?ssl-mode=bogus".into()),
            ..Default::default()
        };
        let err = Config::merge(&args(), raw).unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn remote_smtp_requires_tls_loopback_is_opportunistic() {
        let t = parse_transport("smtp://mail.example.com", None, None).unwrap();
        assert!(matches!(t, Transport::Smtp { tls: TlsMode::Required, port: 587, .. }));
        let t = parse_transport("smtp://127.0.0.1:2525", None, None).unwrap();
        assert!(matches!(t, Transport::Smtp { tls: TlsMode::Opportunistic, .. }));
        let t = parse_transport("smtp://mail.example.com?tls=none", None, None).unwrap();
        assert!(matches!(t, Transport::Smtp { tls: TlsMode::None, .. }));
        let t = parse_transport("smtp://u:p%40ss@mail.example.com", None, None).unwrap();
        let Transport::Smtp { password, .. } = &t else { panic!() };
        assert_eq!(password.as_ref().unwrap().expose(), "p@ss");
        assert!(!format!("{t:?}").contains("p@ss"));
    }

    #[test]
    fn remote_database_requires_tls_unless_the_url_says_otherwise() {
        let mode = |url: &str| {
            let t = parse_database(url, None).unwrap();
            let debug = format!("{:?}", t.options);
            debug.split("ssl_mode: ").nth(1).unwrap().split(',').next().unwrap().to_string()
        };
        assert_eq!(mode("mysql://u@db.example.org/app"), "Required");
        assert_eq!(mode("mysql://u@127.0.0.1/app"), "Preferred");
        assert_eq!(mode("mysql://u@localhost/app"), "Preferred");
        assert_eq!(mode("mysql://u@db.example.org/app?ssl-mode=disabled"), "Disabled");
        assert_eq!(mode("mysql://u@db.example.org/app?ssl-mode=verify_identity"), "VerifyIdentity");
    }

    #[test]
    fn the_example_config_names_only_known_keys() {
        let text = include_str!("../contrib/sigov-alerts.toml.example");
        toml::from_str::<RawConfig>(text).unwrap();
        // With every commented-out key enabled too.
        let all: String = text
            .lines()
            .map(|l| match l.strip_prefix('#') {
                Some(rest)
                    if rest.split('=').next().is_some_and(|k| {
                        !k.trim().is_empty() && k.trim().chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    }) && rest.contains('=') =>
                {
                    rest
                }
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n");
        let raw: RawConfig = toml::from_str(&all).unwrap();
        assert!(raw.smtp_ca_file.is_some() && raw.database_url.is_some());
    }

    #[test]
    fn unknown_key_is_an_error() {
        let err = toml::from_str::<RawConfig>("databse_url = 'x'").unwrap_err();
        assert!(err.message().contains("databse_url"));
    }
}
