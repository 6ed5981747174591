//! Configuration: flag > environment > TOML file > default, validated up
//! front into a [`Config`]. Every value remembers where it came from
//! ([`Source`]): an error names the flag, the environment variable or the
//! file line, and `sigov-alerts config` shows each key with its source.
//! Secrets live in [`Secret`], whose `Debug` never shows them.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono_tz::Tz;
use lettre::message::Mailbox;
use serde::Deserialize;
use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
use toml::Spanned;

use crate::cli::GlobalArgs;
use crate::error::{Error, Result};

/// Default configuration file, read when it exists and no `--config` is given.
pub const DEFAULT_CONFIG_FILE: &str = "/etc/sigov-alerts.toml";
/// Default sender, as the app's `DEFAULT_FROM_EMAIL`.
pub const DEFAULT_FROM: &str = "SI-Gouvernance <noreply@si-gouvernance.com>";
/// The environment variables of `database_url`, in order: ours, then the
/// Django app's own.
pub const DATABASE_URL_ENV: &[&str] = &["SIGOV_ALERTS_DATABASE_URL", "DATABASE_URL"];
/// The environment variable holding a tracing filter.
pub const LOG_ENV: &str = "SIGOV_ALERTS_LOG";

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

/// The configuration file, as written. Every key is optional; each value
/// keeps its position in the file, for error messages.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    database_url: Option<Spanned<String>>,
    database_password_file: Option<Spanned<PathBuf>>,
    smtp_url: Option<Spanned<String>>,
    smtp_password_file: Option<Spanned<PathBuf>>,
    smtp_ca_file: Option<Spanned<PathBuf>>,
    timezone: Option<Spanned<String>>,
    base_url: Option<Spanned<String>>,
    from: Option<Spanned<String>>,
    reply_to: Option<Spanned<String>>,
    lock_file: Option<Spanned<PathBuf>>,
    wait_lock: Option<Spanned<String>>,
    smtp_timeout: Option<Spanned<String>>,
    send_timeout: Option<Spanned<String>>,
    max_delivery_age: Option<Spanned<String>>,
    ledger_retention_days: Option<Spanned<u32>>,
    mail_mode: Option<Spanned<String>>,
    smtp_connections: Option<Spanned<u32>>,
    metrics_file: Option<Spanned<PathBuf>>,
    log_file: Option<Spanned<PathBuf>>,
    log_file_level: Option<Spanned<String>>,
    database_lock: Option<Spanned<bool>>,
    database_timeout: Option<Spanned<String>>,
    delivery_deadline: Option<Spanned<String>>,
    smtp_rate: Option<Spanned<u32>>,
    circuit_breaker: Option<Spanned<u32>>,
}

/// Every key of the file, in the order of [`RawConfig`] (and of `config`'s output).
pub const KEYS: &[&str] = &[
    "database_url",
    "database_password_file",
    "smtp_url",
    "smtp_password_file",
    "smtp_ca_file",
    "timezone",
    "base_url",
    "from",
    "reply_to",
    "lock_file",
    "wait_lock",
    "smtp_timeout",
    "send_timeout",
    "max_delivery_age",
    "ledger_retention_days",
    "mail_mode",
    "smtp_connections",
    "metrics_file",
    "log_file",
    "log_file_level",
    "database_lock",
    "database_timeout",
    "delivery_deadline",
    "smtp_rate",
    "circuit_breaker",
];

/// Keys whose URL carries a secret beyond a password (a ping URL's path is
/// its token): shown as scheme and host only.
const SECRET_PATH_KEYS: &[&str] = &["ping_url"];

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

impl DbTarget {
    /// The TLS mode of the connection and what it checks, for `doctor` and
    /// `config`, e.g. `verify_identity (certificate and host name checked; the
    /// default for a remote host)`.
    pub fn describe_tls(&self) -> String {
        let local = self.options.get_socket().is_some() || is_loopback(self.options.get_host());
        let (name, what) = match self.options.get_ssl_mode() {
            MySqlSslMode::Disabled => ("disabled", "plain text"),
            MySqlSslMode::Preferred => ("preferred", "TLS when the server offers it, else plain text"),
            MySqlSslMode::Required => ("required", "encrypted, certificate not checked"),
            MySqlSslMode::VerifyCa => ("verify_ca", "certificate checked, host name not"),
            MySqlSslMode::VerifyIdentity => ("verify_identity", "certificate and host name checked"),
        };
        let default = match self.options.get_ssl_mode() {
            MySqlSslMode::Preferred if local => "; the default for a loopback host or a socket",
            MySqlSslMode::VerifyIdentity if !local => "; the default for a remote host",
            _ => "",
        };
        format!("{name} ({what}{default})")
    }
}

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag, e.g. `--timezone`.
    Flag(&'static str),
    /// An environment variable.
    Env(&'static str),
    /// A key of the configuration file, at this line (1-based).
    File {
        /// The file.
        path: PathBuf,
        /// The line of the value.
        line: usize,
    },
    /// The built-in default.
    Default,
}

impl Source {
    /// As `config` shows it: `flag --x`, `env NAME`, `FILE:LINE` or `default`.
    pub fn label(&self) -> String {
        match self {
            Source::Flag(f) => format!("flag {f}"),
            Source::Env(n) => format!("env {n}"),
            Source::File { path, line } => format!("{}:{line}", path.display()),
            Source::Default => "default".into(),
        }
    }

    /// As errors name it: `--x`, `environment variable NAME` or `FILE:LINE`.
    pub fn origin(&self) -> Option<String> {
        match self {
            Source::Flag(f) => Some(f.to_string()),
            Source::Env(n) => Some(format!("environment variable {n}")),
            Source::File { .. } => Some(self.label()),
            Source::Default => None,
        }
    }
}

/// A value as `config` shows it, secrets already redacted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shown {
    /// A string (a URL, a path, a duration as written...).
    Str(String),
    /// A number.
    Int(u64),
    /// A boolean.
    Bool(bool),
    /// No value and no default.
    Unset,
}

/// One key of the effective configuration.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The file key.
    pub key: &'static str,
    /// The value, redacted.
    pub value: Shown,
    /// Where it came from.
    pub source: Source,
    /// Why the value is refused, when it is.
    pub invalid: Option<String>,
    /// A remark: the TLS mode a URL implies, a password file not used...
    pub note: Option<String>,
}

/// The configuration as resolved from every layer.
pub struct Resolved {
    /// The configuration file read, if any.
    pub file: Option<PathBuf>,
    /// Every key in order, with value and source, valid or not.
    pub entries: Vec<Entry>,
    /// The validated configuration, or the first invalid value.
    pub config: Result<Config>,
}

fn bad(key: &str, why: impl fmt::Display) -> Error {
    Error::Config(format!("configuration: {key}: {why}"))
}

/// A configuration error naming the key, the reason and where the value came from.
fn bad_from(key: &str, why: &str, source: &Source) -> Error {
    match source.origin() {
        Some(origin) => bad(key, format!("{why} (from {origin})")),
        None => bad(key, why),
    }
}

fn read_secret_file(path: &Path) -> Result<String, String> {
    let s = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let s = s.lines().next().unwrap_or("").trim_end_matches('\r').to_string();
    if s.is_empty() {
        return Err(format!("{} holds no password on its first line", path.display()));
    }
    Ok(s)
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim()).map_err(|e| format!("{s:?} is not a duration ({e})"))
}

fn parse_mailbox(s: &str) -> Result<Mailbox, String> {
    Mailbox::from_str(s.trim()).map_err(|e| format!("{s:?} is not a mailbox ({e})"))
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().map(|ip| ip.is_loopback()).unwrap_or(false)
}

/// The URL query parameters sqlx's MySQL options understand (sqlx-mysql
/// 0.9 `options/parse.rs`), aliases included; anything else would be
/// silently ignored by sqlx, so it is refused here.
const DATABASE_PARAMS: &[&str] = &[
    "ssl-mode",
    "sslmode",
    "ssl-ca",
    "sslca",
    "ssl-cert",
    "sslcert",
    "ssl-key",
    "sslkey",
    "statement-cache-capacity",
    "socket",
    "charset",
    "collation",
    "timezone",
    "time-zone",
];

/// The documented spelling of each parameter, for "did you mean".
const DATABASE_PARAMS_CANONICAL: &[&str] = &[
    "ssl-mode",
    "ssl-ca",
    "ssl-cert",
    "ssl-key",
    "socket",
    "charset",
    "collation",
    "timezone",
    "statement-cache-capacity",
];

fn squash(s: &str) -> String {
    s.chars().filter(|c| *c != '-' && *c != '_').flat_map(char::to_lowercase).collect()
}

fn unknown_database_param(k: &str) -> String {
    match DATABASE_PARAMS_CANONICAL.iter().find(|c| squash(c) == squash(k)) {
        Some(right) => format!("unknown parameter {k:?}: the spelling is {right}"),
        None => format!("unknown parameter {k:?} (known: {})", DATABASE_PARAMS_CANONICAL.join(", ")),
    }
}

/// The password a URL carries, if it parses and has one.
fn url_has_password(url: &str) -> bool {
    url::Url::parse(url.trim()).map(|u| u.password().is_some()).unwrap_or(false)
}

/// A URL for display: the password (and for [`SECRET_PATH_KEYS`] the path
/// and query) replaced with `****`, even when the URL does not parse.
pub fn redact_url(key: &str, url: &str) -> String {
    let url = url.trim();
    if SECRET_PATH_KEYS.contains(&key) {
        return match url::Url::parse(url) {
            Ok(u) => format!("{}://{}/****", u.scheme(), u.host_str().unwrap_or("")),
            Err(_) => "****".into(),
        };
    }
    // Whatever sits between "user:" and the last "@" before the query goes,
    // whether the URL parses or not (an unencoded "/" in a password must not
    // cut it short); the rest is shown as written.
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return if url.contains('@') { "****".into() } else { url.to_string() };
    };
    let rest = &url[start..];
    let head = &rest[..rest.find(['?', '#']).unwrap_or(rest.len())];
    match (head.rfind('@'), head.find(':')) {
        (Some(at), Some(colon)) if colon < at => {
            format!("{}{}:****{}", &url[..start], &head[..colon], &rest[at..])
        }
        _ => url.to_string(),
    }
}

/// Parses and validates the database URL. A remote host gets
/// `ssl-mode=verify_identity` unless the URL sets its own; a loopback host
/// or a socket `preferred`. `password` (from `database_password_file`)
/// replaces any password in the URL.
fn parse_database(url: &str, password: Option<&str>) -> Result<DbTarget, String> {
    let mut parsed = url::Url::parse(url).map_err(|e| format!("not a URL ({e})"))?;
    if parsed.scheme() != "mysql" && parsed.scheme() != "mariadb" {
        return Err(format!("scheme must be mysql://, not {}://", parsed.scheme()));
    }
    if parsed.scheme() == "mariadb" {
        let rest = parsed.as_str()["mariadb".len()..].to_string();
        parsed = url::Url::parse(&format!("mysql{rest}")).map_err(|e| e.to_string())?;
    }
    if let Some(pw) = password {
        parsed.set_password(Some(pw)).map_err(|_| "cannot carry a password".to_string())?;
    }
    let host = parsed.host_str().unwrap_or("").to_string();
    if host.is_empty() {
        return Err("no host".into());
    }
    let database = parsed.path().trim_start_matches('/').to_string();
    if database.is_empty() {
        return Err("no database name in the path (mysql://user@host/DATABASE)".into());
    }
    let mut has_ssl_mode = false;
    let mut has_socket = false;
    let (mut cert, mut key) = (false, false);
    for (k, v) in parsed.query_pairs() {
        if !DATABASE_PARAMS.contains(&k.as_ref()) {
            return Err(unknown_database_param(&k));
        }
        match k.as_ref() {
            "ssl-mode" | "sslmode" => {
                MySqlSslMode::from_str(&v).map_err(|_| {
                    format!("{k}={v} is not one of disabled, preferred, required, verify_ca, verify_identity")
                })?;
                has_ssl_mode = true;
            }
            "socket" => has_socket = true,
            "ssl-cert" | "sslcert" => cert = true,
            "ssl-key" | "sslkey" => key = true,
            _ => {}
        }
        if matches!(k.as_ref(), "ssl-ca" | "sslca" | "ssl-cert" | "sslcert" | "ssl-key" | "sslkey" | "socket")
            && !v.starts_with("-----BEGIN")
            && let Err(e) = std::fs::metadata(v.as_ref())
        {
            return Err(format!("{k}: cannot read {v}: {e}"));
        }
    }
    if cert != key {
        return Err("ssl-cert and ssl-key go together (a client certificate and its key)".into());
    }
    let mut options = MySqlConnectOptions::from_str(parsed.as_str())
        .map_err(|e| crate::error::one_line(&e.to_string()).replace(parsed.password().unwrap_or("\u{0}"), "****"))?;
    if !has_ssl_mode {
        // sqlx's PREFERRED silently falls back to plain text, REQUIRED does
        // not check the certificate: a remote server is verified unless the
        // URL says otherwise.
        options = options.ssl_mode(if has_socket || is_loopback(&host) {
            MySqlSslMode::Preferred
        } else {
            MySqlSslMode::VerifyIdentity
        });
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

/// Parses the mail transport URL. `password` (from `smtp_password_file`)
/// replaces any password in the URL.
fn parse_transport(url: &str, password: Option<String>, ca_pem: Option<Vec<u8>>) -> Result<Transport, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("not a URL ({e})"))?;
    match parsed.scheme() {
        "file" => {
            let path = parsed.to_file_path().map_err(|_| "file:// needs an absolute directory path".to_string())?;
            Ok(Transport::File(path))
        }
        scheme @ ("smtp" | "smtps") => {
            let host = parsed.host_str().filter(|h| !h.is_empty()).ok_or_else(|| "no host".to_string())?;
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
                        return Err(format!("tls={other} is not one of none, opportunistic, required"));
                    }
                    (other, _) => return Err(format!("unknown parameter {other:?} (known: tls)")),
                }
            }
            let port = parsed.port().unwrap_or(if scheme == "smtps" { 465 } else { 587 });
            let user = (!parsed.username().is_empty()).then(|| percent_decode(parsed.username()));
            let password =
                password.map(Secret::new).or_else(|| parsed.password().map(|p| Secret::new(percent_decode(p))));
            if password.is_some() && user.is_none() {
                return Err("a password needs a user name".into());
            }
            Ok(Transport::Smtp { host, port, tls, user, password, ca_pem })
        }
        other => Err(format!("scheme must be smtp://, smtps:// or file://, not {other}://")),
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

fn read_ca_file(path: &Path) -> Result<Vec<u8>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
        return Err(format!("no PEM certificate in {}", path.display()));
    }
    Ok(pem)
}

/// The configuration file, parsed, with its text for line numbers.
#[derive(Default)]
pub struct FileLayer {
    path: Option<PathBuf>,
    text: String,
    raw: RawConfig,
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

/// The key assigned on line `line` (`key = ...`), if any.
fn key_on_line(text: &str, line: usize) -> Option<&str> {
    let l = text.lines().nth(line.checked_sub(1)?)?;
    let (k, _) = l.split_once('=')?;
    let k = k.trim();
    (!k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')).then_some(k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push((prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

impl FileLayer {
    /// Parses `text`, read from `path`. Errors give `FILE:LINE:COL`.
    pub fn parse(path: &Path, text: String) -> Result<FileLayer> {
        match toml::from_str::<RawConfig>(&text) {
            Ok(raw) => Ok(FileLayer { path: Some(path.to_path_buf()), text, raw }),
            Err(e) => Err(toml_error(path, &text, &e)),
        }
    }

    /// Reads the file named by `--config`, else the default file when it
    /// exists, else nothing.
    pub fn load(config: Option<&Path>) -> Result<FileLayer> {
        let path = match config {
            Some(p) => p,
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => Path::new(DEFAULT_CONFIG_FILE),
            None => return Ok(FileLayer::default()),
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("configuration: cannot read {}: {e}", path.display())))?;
        FileLayer::parse(path, text)
    }

    fn at<T>(&self, s: &Spanned<T>) -> Source {
        Source::File { path: self.path.clone().unwrap_or_default(), line: line_col(&self.text, s.span().start).0 }
    }
}

/// One line for a TOML error: `configuration: KEY: why (FILE:LINE:COL)`
/// when the line assigns a key, else `configuration: FILE:LINE:COL: why`.
fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> Error {
    let why = crate::error::one_line(e.message());
    let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
    let at = format!("{}:{line}:{col}", path.display());
    if let Some(rest) = why.strip_prefix("unknown field `")
        && let Some(key) = rest.split('`').next()
    {
        let hint = KEYS
            .iter()
            .map(|k| (edit_distance(k, key), k))
            .filter(|(d, _)| *d <= 3)
            .min()
            .map(|(_, k)| format!(" (did you mean {k}?)"))
            .unwrap_or_default();
        return Error::Config(format!("configuration: {key}: unknown key{hint} (from {at})"));
    }
    match key_on_line(text, line) {
        Some(key) => Error::Config(format!("configuration: {key}: {why} (from {at})")),
        None => Error::Config(format!("configuration: {at}: {why}")),
    }
}

/// The process environment (an empty variable counts as unset, see [`Resolver::env`]).
fn process_env(name: &str) -> Option<String> {
    std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
}

/// Collects every key's value, source and validity.
struct Resolver<'a> {
    args: &'a GlobalArgs,
    env: &'a dyn Fn(&str) -> Option<String>,
    file: &'a FileLayer,
    entries: Vec<Entry>,
    error: Option<Error>,
}

fn path_shown(p: &Path) -> Shown {
    Shown::Str(p.display().to_string())
}

impl Resolver<'_> {
    /// The first of `names` set (and not empty) in the environment.
    fn env(&self, names: &[&'static str]) -> Option<(String, Source)> {
        names.iter().find_map(|n| (self.env)(n).filter(|v| !v.is_empty()).map(|v| (v, Source::Env(n))))
    }

    fn in_file<T: Clone>(&self, value: Option<&Spanned<T>>) -> Option<(T, Source)> {
        value.map(|s| (s.get_ref().clone(), self.file.at(s)))
    }

    /// Flag, else environment, else file.
    fn pick<T: Clone + From<String>>(
        &self,
        flag: &'static str,
        flag_value: Option<&T>,
        envs: &[&'static str],
        file: Option<&Spanned<T>>,
    ) -> Option<(T, Source)> {
        if let Some(v) = flag_value {
            return Some((v.clone(), Source::Flag(flag)));
        }
        if let Some((v, s)) = self.env(envs) {
            return Some((T::from(v), s));
        }
        self.in_file(file)
    }

    /// Records a key; an error is kept (the first one is the result's).
    fn record<T>(&mut self, key: &'static str, value: Shown, source: Source, result: Result<T, String>) -> Option<T> {
        let (value_ok, invalid) = match result {
            Ok(v) => (Some(v), None),
            Err(why) => {
                if self.error.is_none() {
                    self.error = Some(bad_from(key, &why, &source));
                }
                (None, Some(why))
            }
        };
        self.entries.push(Entry { key, value, source, invalid, note: None });
        value_ok
    }

    /// A remark on the key recorded last.
    fn note(&mut self, note: impl Into<String>) {
        if let Some(e) = self.entries.last_mut() {
            e.note = Some(note.into());
        }
    }

    fn duration(
        &mut self,
        key: &'static str,
        picked: Option<(String, Source)>,
        default: &str,
        check: impl FnOnce(Duration) -> Result<(), String>,
    ) -> Option<Duration> {
        let (s, source) = picked.unwrap_or_else(|| (default.into(), Source::Default));
        let result = parse_duration(&s).and_then(|d| check(d).map(|()| d));
        self.record(key, Shown::Str(s.trim().to_string()), source, result)
    }

    fn number(
        &mut self,
        key: &'static str,
        picked: Option<(u32, Source)>,
        default: u32,
        check: impl FnOnce(u32) -> Result<(), String>,
    ) -> Option<u32> {
        let (n, source) = picked.unwrap_or((default, Source::Default));
        self.record(key, Shown::Int(n.into()), source, check(n).map(|()| n))
    }

    /// An optional path: unset is fine, an empty one is not.
    fn optional_path(&mut self, key: &'static str, picked: Option<(PathBuf, Source)>) -> Option<PathBuf> {
        match picked {
            None => {
                self.record(key, Shown::Unset, Source::Default, Ok(()));
                None
            }
            Some((p, source)) => {
                let result =
                    if p.as_os_str().is_empty() { Err("empty path: leave the key out".into()) } else { Ok(()) };
                self.record(key, path_shown(&p), source, result).map(|()| p)
            }
        }
    }

    /// Whether a password file applies: the URL came from the file, or it
    /// carries no password. A password written in a flag or environment
    /// URL wins over the file's.
    fn password_file_applies(url: &(String, Source)) -> bool {
        matches!(url.1, Source::File { .. }) || !url_has_password(&url.0)
    }

    fn database(&mut self) -> Option<DbTarget> {
        let raw = &self.file.raw;
        let url = self
            .pick("--database-url", self.args.database_url.as_ref(), DATABASE_URL_ENV, raw.database_url.as_ref())
            .filter(|(u, _)| !u.trim().is_empty());
        let pw_file = self.in_file(raw.database_password_file.as_ref());
        let applies = url.as_ref().is_some_and(Self::password_file_applies);
        let password = match (&pw_file, applies) {
            (Some((p, _)), true) => Some(read_secret_file(p)),
            _ => None,
        };
        let target = match url {
            None => {
                self.record("database_url", Shown::Unset, Source::Default, Ok(()));
                None
            }
            Some((url, source)) => {
                let pw = password.as_ref().and_then(|p| p.as_ref().ok()).map(String::as_str);
                let target = parse_database(url.trim(), pw);
                let shown = Shown::Str(redact_url("database_url", &url));
                let target = self.record("database_url", shown, source, target);
                if let Some(t) = &target {
                    self.note(format!("tls {}", t.describe_tls()));
                }
                target
            }
        };
        match pw_file {
            None => {
                self.record("database_password_file", Shown::Unset, Source::Default, Ok(()));
            }
            Some((p, source)) => {
                let result = password.map(|r| r.map(|_| ())).unwrap_or(Ok(()));
                self.record("database_password_file", path_shown(&p), source, result);
                if !applies {
                    self.note(self.unused_password_note("database_url"));
                }
            }
        }
        target
    }

    fn unused_password_note(&self, url_key: &str) -> String {
        match self.entries.iter().find(|e| e.key == url_key) {
            Some(Entry { value: Shown::Unset, .. }) | None => format!("not used: no {url_key}"),
            Some(e) => format!(
                "not used: the {url_key} from {} carries its own password",
                e.source.origin().unwrap_or_else(|| "the default".into())
            ),
        }
    }

    fn transport(&mut self) -> Option<Transport> {
        let raw = &self.file.raw;
        let url = self
            .pick("--smtp-url", self.args.smtp_url.as_ref(), &["SIGOV_ALERTS_SMTP_URL"], raw.smtp_url.as_ref())
            .filter(|(u, _)| !u.trim().is_empty());
        let pw_file = self.in_file(raw.smtp_password_file.as_ref());
        let ca_file = self.in_file(raw.smtp_ca_file.as_ref());
        let is_smtp = url
            .as_ref()
            .and_then(|(u, _)| url::Url::parse(u.trim()).ok())
            .is_some_and(|u| matches!(u.scheme(), "smtp" | "smtps"));
        let applies = is_smtp && url.as_ref().is_some_and(Self::password_file_applies);
        let password = match (&pw_file, applies) {
            (Some((p, _)), true) => Some(read_secret_file(p)),
            _ => None,
        };
        let ca = match (&ca_file, is_smtp) {
            (Some((p, _)), true) => Some(read_ca_file(p)),
            _ => None,
        };
        let transport = match url {
            None => {
                self.record("smtp_url", Shown::Unset, Source::Default, Ok(()));
                None
            }
            Some((url, source)) => {
                let pw = password.as_ref().and_then(|p| p.as_ref().ok()).cloned();
                let pem = ca.as_ref().and_then(|c| c.as_ref().ok()).cloned();
                let t = parse_transport(url.trim(), pw, pem);
                let shown = Shown::Str(redact_url("smtp_url", &url));
                let t = self.record("smtp_url", shown, source, t);
                if let Some(t) = &t {
                    self.note(t.describe());
                }
                t
            }
        };
        match pw_file {
            None => {
                self.record("smtp_password_file", Shown::Unset, Source::Default, Ok(()));
            }
            Some((p, source)) => {
                let result = password.map(|r| r.map(|_| ())).unwrap_or(Ok(()));
                self.record("smtp_password_file", path_shown(&p), source, result);
                if !applies {
                    let note =
                        if !is_smtp && self.entries.iter().any(|e| e.key == "smtp_url" && e.value != Shown::Unset) {
                            "not used: the transport is not SMTP".to_string()
                        } else {
                            self.unused_password_note("smtp_url")
                        };
                    self.note(note);
                }
            }
        }
        match ca_file {
            None => {
                self.record("smtp_ca_file", Shown::Unset, Source::Default, Ok(()));
            }
            Some((p, source)) => {
                let result = ca.map(|r| r.map(|_| ())).unwrap_or(Ok(()));
                self.record("smtp_ca_file", path_shown(&p), source, result);
                if !is_smtp {
                    let unset = self.entries.iter().any(|e| e.key == "smtp_url" && e.value == Shown::Unset);
                    self.note(if unset { "not used: no smtp_url" } else { "not used: the transport is not SMTP" });
                }
            }
        }
        transport
    }
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
        let (entries, config) = Config::merge(args, &file, &process_env);
        Ok(Resolved { file: file.path.clone(), entries, config })
    }

    /// Merges flags (`args`), environment (`env`) and file over the defaults.
    pub fn merge(
        args: &GlobalArgs,
        file: &FileLayer,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> (Vec<Entry>, Result<Config>) {
        let raw = &file.raw;
        let mut r = Resolver { args, env, file, entries: Vec::new(), error: None };
        let database = r.database();
        let transport = r.transport();

        let picked = r.pick("--timezone", args.timezone.as_ref(), &["SIGOV_ALERTS_TIMEZONE"], raw.timezone.as_ref());
        let (tz, source) = picked.unwrap_or_else(|| ("Europe/Paris".into(), Source::Default));
        let parsed = Tz::from_str(tz.trim()).map_err(|_| format!("{tz:?} is not an IANA time zone name"));
        let timezone = r.record("timezone", Shown::Str(tz.clone()), source, parsed).unwrap_or(Tz::Europe__Paris);

        let picked = r.pick("--base-url", args.base_url.as_ref(), &["SIGOV_ALERTS_BASE_URL"], raw.base_url.as_ref());
        let (url, source) = picked.unwrap_or_else(|| ("http://localhost:8000".into(), Source::Default));
        let parsed = url::Url::parse(url.trim()).map_err(|e| format!("not a URL ({e})")).and_then(|u| {
            if matches!(u.scheme(), "http" | "https") {
                Ok(u.as_str().trim_end_matches('/').to_string())
            } else {
                Err("must be an http:// or https:// URL".to_string())
            }
        });
        let base_url =
            r.record("base_url", Shown::Str(redact_url("base_url", &url)), source, parsed).unwrap_or_default();

        let picked = r.pick("--from", args.from.as_ref(), &["SIGOV_ALERTS_FROM"], raw.from.as_ref());
        let (from, source) = picked.unwrap_or_else(|| (DEFAULT_FROM.into(), Source::Default));
        let from = r.record("from", Shown::Str(from.clone()), source, parse_mailbox(&from));

        let reply_to = match r.in_file(raw.reply_to.as_ref()) {
            None => r.record("reply_to", Shown::Unset, Source::Default, Ok(None)),
            Some((s, source)) => r.record("reply_to", Shown::Str(s.clone()), source, parse_mailbox(&s).map(Some)),
        }
        .flatten();

        let picked =
            r.pick("--lock-file", args.lock_file.as_ref(), &["SIGOV_ALERTS_LOCK_FILE"], raw.lock_file.as_ref());
        let (lock_file, source) = picked
            .unwrap_or_else(|| (default_lock_file(database.as_ref().map(|d| d.identity.as_str())), Source::Default));
        let empty = if lock_file.as_os_str().is_empty() { Err("empty path: leave the key out".into()) } else { Ok(()) };
        r.record("lock_file", path_shown(&lock_file), source, empty);

        let picked = r.pick("--wait-lock", args.wait_lock.as_ref(), &[], raw.wait_lock.as_ref());
        let wait_lock = r.duration("wait_lock", picked, "0s", |d| {
            if d > Duration::from_secs(86_400) {
                Err("must be at most 1day (a run waiting longer only piles up behind the next ones)".into())
            } else {
                Ok(())
            }
        });
        let at_least_1s = |d: Duration| {
            if d < Duration::from_secs(1) { Err("must be at least 1s".to_string()) } else { Ok(()) }
        };
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
        let ledger_retention_days = r.number("ledger_retention_days", picked, 90, |n| {
            if n == 0 { Err("must be at least 1".into()) } else { Ok(()) }
        });
        let mail_mode = match r.in_file(raw.mail_mode.as_ref()) {
            None => r.record("mail_mode", Shown::Str("per_alert".into()), Source::Default, Ok(MailMode::PerAlert)),
            Some((s, source)) => {
                let mode = match s.trim() {
                    "per_alert" => Ok(MailMode::PerAlert),
                    "digest" => Ok(MailMode::Digest),
                    other => Err(format!("{other:?} is not one of per_alert, digest")),
                };
                r.record("mail_mode", Shown::Str(s.clone()), source, mode)
            }
        };
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
        let log_file_level = match r.in_file(raw.log_file_level.as_ref()) {
            None => r.record("log_file_level", Shown::Str("info".into()), Source::Default, Ok(tracing::Level::INFO)),
            Some((s, source)) => {
                let level = match s.trim() {
                    "error" => Ok(tracing::Level::ERROR),
                    "warn" => Ok(tracing::Level::WARN),
                    "info" => Ok(tracing::Level::INFO),
                    "debug" => Ok(tracing::Level::DEBUG),
                    "trace" => Ok(tracing::Level::TRACE),
                    other => Err(format!("{other:?} is not one of error, warn, info, debug, trace")),
                };
                r.record("log_file_level", Shown::Str(s.clone()), source, level)
            }
        };
        let (database_lock, source) = r.in_file(raw.database_lock.as_ref()).unwrap_or((true, Source::Default));
        r.record("database_lock", Shown::Bool(database_lock), source, Ok(()));
        let picked = r.in_file(raw.database_timeout.as_ref());
        let database_timeout = r.duration("database_timeout", picked, "5m", at_least_1s);
        let picked = r.in_file(raw.delivery_deadline.as_ref());
        let delivery_deadline = r.duration("delivery_deadline", picked, "10m", at_least_1s);
        let smtp_rate = match r.in_file(raw.smtp_rate.as_ref()) {
            None => {
                r.record("smtp_rate", Shown::Unset, Source::Default, Ok(()));
                r.note("no limit");
                None
            }
            Some((n, source)) => {
                let result = if n == 0 {
                    Err("must be at least 1 message per minute (leave it unset for no limit)".into())
                } else {
                    Ok(n)
                };
                r.record("smtp_rate", Shown::Int(n.into()), source, result)
            }
        };
        let picked = r.in_file(raw.circuit_breaker.as_ref());
        let circuit_breaker =
            r.number("circuit_breaker", picked, 5, |n| if n == 0 { Err("must be at least 1".into()) } else { Ok(()) });

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
    use std::collections::HashMap;

    use super::*;

    fn args() -> GlobalArgs {
        GlobalArgs::default()
    }

    fn file(text: &str) -> FileLayer {
        FileLayer::parse(Path::new("t.toml"), text.to_string()).unwrap()
    }

    /// Merges `args`, the environment `env` and the file `text`.
    fn merge(args: &GlobalArgs, env: &[(&str, &str)], text: &str) -> (Vec<Entry>, Result<Config>) {
        let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::merge(args, &file(text), &|k| env.get(k).cloned())
    }

    fn err(args: &GlobalArgs, env: &[(&str, &str)], text: &str) -> String {
        let (_, c) = merge(args, env, text);
        let e = c.unwrap_err();
        assert_eq!(e.exit_code(), 78);
        let e = e.to_string();
        assert_eq!(e.lines().count(), 1, "{e}");
        e
    }

    fn entry<'a>(entries: &'a [Entry], key: &str) -> &'a Entry {
        entries.iter().find(|e| e.key == key).unwrap_or_else(|| panic!("no entry {key}"))
    }

    fn shown(e: &Entry) -> String {
        match &e.value {
            Shown::Str(s) => s.clone(),
            Shown::Int(n) => n.to_string(),
            Shown::Bool(b) => b.to_string(),
            Shown::Unset => "none".into(),
        }
    }

    fn set_flag(a: &mut GlobalArgs, key: &str, v: &str) {
        match key {
            "database_url" => a.database_url = Some(v.into()),
            "smtp_url" => a.smtp_url = Some(v.into()),
            "timezone" => a.timezone = Some(v.into()),
            "base_url" => a.base_url = Some(v.into()),
            "from" => a.from = Some(v.into()),
            "lock_file" => a.lock_file = Some(v.into()),
            "wait_lock" => a.wait_lock = Some(v.into()),
            "metrics_file" => a.metrics_file = Some(v.into()),
            "log_file" => a.log_file = Some(v.into()),
            other => panic!("{other} has no flag"),
        }
    }

    /// The value the validated configuration holds for `key`, as a string
    /// the shown value contains.
    fn effective(c: &Config, key: &str) -> String {
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string()).unwrap_or("none".into());
        match key {
            "database_url" => c.database.as_ref().map(|d| d.options.get_host().to_string()).unwrap_or("none".into()),
            "smtp_url" => match &c.transport {
                Some(Transport::Smtp { host, .. }) => host.clone(),
                Some(Transport::File(p)) => p.display().to_string(),
                None => "none".into(),
            },
            "timezone" => c.timezone.name().to_string(),
            "base_url" => c.base_url.clone(),
            "from" => c.from.to_string(),
            "lock_file" => c.lock_file.display().to_string(),
            "wait_lock" => humantime::format_duration(c.wait_lock).to_string(),
            "metrics_file" => path(&c.metrics_file),
            "log_file" => path(&c.log_file),
            other => panic!("{other}"),
        }
    }

    /// key, flag, environment, file, expected value, expected source.
    type Row<'a> = (&'a str, Option<&'a str>, Vec<(&'a str, &'a str)>, Option<&'a str>, &'a str, &'a str);

    /// Every key with a flag or an environment variable: flag > environment
    /// (SIGOV_ALERTS_DATABASE_URL > DATABASE_URL) > file > default.
    #[test]
    fn every_flag_and_environment_key_follows_flag_env_file_default() {
        const DB: &str = "SIGOV_ALERTS_DATABASE_URL";
        const DJANGO: &str = "DATABASE_URL";
        let default_lock = default_lock_file(None).display().to_string();
        #[rustfmt::skip]
        let table: Vec<Row> = vec![
            // key, flag, environment, file, expected value, expected source
            ("database_url", Some("mysql://u@flag.example/app"), vec![(DB, "mysql://u@ours.example/app"), (DJANGO, "mysql://u@django.example/app")], Some("mysql://u@file.example/app"), "mysql://u@flag.example/app", "flag --database-url"),
            ("database_url", None, vec![(DB, "mysql://u@ours.example/app"), (DJANGO, "mysql://u@django.example/app")], Some("mysql://u@file.example/app"), "mysql://u@ours.example/app", "env SIGOV_ALERTS_DATABASE_URL"),
            ("database_url", None, vec![(DJANGO, "mysql://u@django.example/app")], Some("mysql://u@file.example/app"), "mysql://u@django.example/app", "env DATABASE_URL"),
            ("database_url", None, vec![(DB, ""), (DJANGO, "")], Some("mysql://u@file.example/app"), "mysql://u@file.example/app", "t.toml:2"),
            ("database_url", None, vec![], None, "none", "default"),
            ("smtp_url", Some("smtp://flag.example"), vec![("SIGOV_ALERTS_SMTP_URL", "smtp://env.example")], Some("smtp://file.example"), "smtp://flag.example", "flag --smtp-url"),
            ("smtp_url", None, vec![("SIGOV_ALERTS_SMTP_URL", "smtp://env.example")], Some("smtp://file.example"), "smtp://env.example", "env SIGOV_ALERTS_SMTP_URL"),
            ("smtp_url", None, vec![], Some("smtp://file.example"), "smtp://file.example", "t.toml:2"),
            ("smtp_url", None, vec![], None, "none", "default"),
            ("timezone", Some("Europe/Berlin"), vec![("SIGOV_ALERTS_TIMEZONE", "America/New_York")], Some("UTC"), "Europe/Berlin", "flag --timezone"),
            ("timezone", None, vec![("SIGOV_ALERTS_TIMEZONE", "America/New_York")], Some("UTC"), "America/New_York", "env SIGOV_ALERTS_TIMEZONE"),
            ("timezone", None, vec![], Some("UTC"), "UTC", "t.toml:2"),
            ("timezone", None, vec![], None, "Europe/Paris", "default"),
            ("base_url", Some("https://flag.example"), vec![("SIGOV_ALERTS_BASE_URL", "https://env.example")], Some("https://file.example"), "https://flag.example", "flag --base-url"),
            ("base_url", None, vec![("SIGOV_ALERTS_BASE_URL", "https://env.example")], Some("https://file.example"), "https://env.example", "env SIGOV_ALERTS_BASE_URL"),
            ("base_url", None, vec![], Some("https://file.example"), "https://file.example", "t.toml:2"),
            ("base_url", None, vec![], None, "http://localhost:8000", "default"),
            ("from", Some("Flag <flag@example.org>"), vec![("SIGOV_ALERTS_FROM", "Env <env@example.org>")], Some("File <file@example.org>"), "Flag <flag@example.org>", "flag --from"),
            ("from", None, vec![("SIGOV_ALERTS_FROM", "Env <env@example.org>")], Some("File <file@example.org>"), "Env <env@example.org>", "env SIGOV_ALERTS_FROM"),
            ("from", None, vec![], Some("File <file@example.org>"), "File <file@example.org>", "t.toml:2"),
            ("from", None, vec![], None, DEFAULT_FROM, "default"),
            ("lock_file", Some("/tmp/flag.lock"), vec![("SIGOV_ALERTS_LOCK_FILE", "/tmp/env.lock")], Some("/tmp/file.lock"), "/tmp/flag.lock", "flag --lock-file"),
            ("lock_file", None, vec![("SIGOV_ALERTS_LOCK_FILE", "/tmp/env.lock")], Some("/tmp/file.lock"), "/tmp/env.lock", "env SIGOV_ALERTS_LOCK_FILE"),
            ("lock_file", None, vec![], Some("/tmp/file.lock"), "/tmp/file.lock", "t.toml:2"),
            ("lock_file", None, vec![], None, &default_lock, "default"),
            ("wait_lock", Some("1m"), vec![], Some("2m"), "1m", "flag --wait-lock"),
            ("wait_lock", None, vec![], Some("2m"), "2m", "t.toml:2"),
            ("wait_lock", None, vec![], None, "0s", "default"),
            ("metrics_file", Some("/tmp/flag.prom"), vec![("SIGOV_ALERTS_METRICS_FILE", "/tmp/env.prom")], Some("/tmp/file.prom"), "/tmp/flag.prom", "flag --metrics-file"),
            ("metrics_file", None, vec![("SIGOV_ALERTS_METRICS_FILE", "/tmp/env.prom")], Some("/tmp/file.prom"), "/tmp/env.prom", "env SIGOV_ALERTS_METRICS_FILE"),
            ("metrics_file", None, vec![], Some("/tmp/file.prom"), "/tmp/file.prom", "t.toml:2"),
            ("metrics_file", None, vec![], None, "none", "default"),
            ("log_file", Some("/tmp/flag.log"), vec![("SIGOV_ALERTS_LOG_FILE", "/tmp/env.log")], Some("/tmp/file.log"), "/tmp/flag.log", "flag --log-file"),
            ("log_file", None, vec![("SIGOV_ALERTS_LOG_FILE", "/tmp/env.log")], Some("/tmp/file.log"), "/tmp/env.log", "env SIGOV_ALERTS_LOG_FILE"),
            ("log_file", None, vec![], Some("/tmp/file.log"), "/tmp/file.log", "t.toml:2"),
            ("log_file", None, vec![], None, "none", "default"),
        ];
        for (key, flag, env, file_value, value, source) in &table {
            let row = format!("{key} flag={flag:?} env={env:?} file={file_value:?}");
            let mut a = args();
            if let Some(v) = flag {
                set_flag(&mut a, key, v);
            }
            let text = match file_value {
                Some(v) => format!("# line 1\n{key} = {v:?}\n"),
                None => String::new(),
            };
            let (entries, config) = merge(&a, env, &text);
            let e = entry(&entries, key);
            assert_eq!(shown(e), *value, "{row}");
            assert_eq!(e.source.label(), *source, "{row}");
            assert_eq!(e.invalid, None, "{row}");
            let config = config.unwrap_or_else(|e| panic!("{row}: {e}"));
            let effective = effective(&config, key);
            assert!(value.contains(&effective), "{row}: effective {effective}");
        }
        // Every key with a flag or an environment variable has rows.
        for key in ["database_url", "smtp_url", "timezone", "base_url", "from", "lock_file", "wait_lock"] {
            assert!(table.iter().any(|r| r.0 == key && r.1.is_some()), "{key}");
        }
    }

    /// The password of the database (or SMTP) URL a merge ends up with.
    fn passwords(c: &Config) -> (Option<String>, Option<String>) {
        use sqlx::ConnectOptions;
        let db = c.database.as_ref().and_then(|d| d.options.to_url_lossy().password().map(percent_decode));
        let smtp = match &c.transport {
            Some(Transport::Smtp { password, .. }) => password.as_ref().map(|p| p.expose().to_string()),
            _ => None,
        };
        (db, smtp)
    }

    /// A password file applies when the URL came from the file or carries
    /// no password; a password written in a flag or environment URL wins.
    #[test]
    fn a_password_file_yields_to_a_password_in_a_flag_or_environment_url() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "from-file\n").unwrap();
        let pw = pw.display().to_string();
        #[rustfmt::skip]
        let table: Vec<(&str, &str, &str, bool, Option<&str>)> = vec![
            // key, where the URL is (flag, env, file), URL, password file set, expected password
            ("database_url", "flag", "mysql://u:from-flag@db.example/app", true, Some("from-flag")),
            ("database_url", "env", "mysql://u:from-env@db.example/app", true, Some("from-env")),
            ("database_url", "file", "mysql://u:from-url@db.example/app", true, Some("from-file")),
            ("database_url", "flag", "mysql://u@db.example/app", true, Some("from-file")),
            ("database_url", "env", "mysql://u@db.example/app", true, Some("from-file")),
            ("database_url", "file", "mysql://u@db.example/app", true, Some("from-file")),
            ("database_url", "flag", "mysql://u:from-flag@db.example/app", false, Some("from-flag")),
            ("database_url", "flag", "mysql://u@db.example/app", false, None),
            ("smtp_url", "flag", "smtp://u:from-flag@mail.example", true, Some("from-flag")),
            ("smtp_url", "env", "smtp://u:from-env@mail.example", true, Some("from-env")),
            ("smtp_url", "file", "smtp://u:from-url@mail.example", true, Some("from-file")),
            ("smtp_url", "flag", "smtp://u@mail.example", true, Some("from-file")),
            ("smtp_url", "env", "smtp://u@mail.example", true, Some("from-file")),
            ("smtp_url", "file", "smtp://u@mail.example", true, Some("from-file")),
            ("smtp_url", "file", "smtp://u:from-url@mail.example", false, Some("from-url")),
            ("smtp_url", "env", "SMTPS://u@mail.example", true, Some("from-file")),
        ];
        for (key, layer, url, with_file, expected) in &table {
            let row = format!("{key} in {layer}: {url}, password file {with_file}");
            let pw_key = if *key == "database_url" { "database_password_file" } else { "smtp_password_file" };
            let env_name = if *key == "database_url" { "SIGOV_ALERTS_DATABASE_URL" } else { "SIGOV_ALERTS_SMTP_URL" };
            let mut a = args();
            let mut env = vec![];
            let mut text = String::new();
            match *layer {
                "flag" => set_flag(&mut a, key, url),
                "env" => env.push((env_name, *url)),
                _ => text.push_str(&format!("{key} = {url:?}\n")),
            }
            if *with_file {
                text.push_str(&format!("{pw_key} = {pw:?}\n"));
            }
            let (entries, config) = merge(&a, &env, &text);
            let config = config.unwrap_or_else(|e| panic!("{row}: {e}"));
            let (db, smtp) = passwords(&config);
            let got = if *key == "database_url" { db } else { smtp };
            assert_eq!(got.as_deref(), *expected, "{row}");
            // `config` tells when the file is not used, and never shows a password.
            let e = entry(&entries, pw_key);
            let unused = *with_file && expected.is_some_and(|p| p != "from-file");
            assert_eq!(e.note.as_deref().is_some_and(|n| n.starts_with("not used")), unused, "{row}: {e:?}");
            for e in &entries {
                assert!(!shown(e).contains("from-"), "{row}: {e:?}");
            }
        }
    }

    #[test]
    fn errors_name_the_flag_the_variable_or_the_file_line() {
        let mut a = args();
        a.timezone = Some("Mars/Olympus".into());
        assert_eq!(
            err(&a, &[], ""),
            "configuration: timezone: \"Mars/Olympus\" is not an IANA time zone name (from --timezone)"
        );
        let e = err(&args(), &[("SIGOV_ALERTS_TIMEZONE", "Mars/Olympus")], "");
        assert!(e.ends_with("(from environment variable SIGOV_ALERTS_TIMEZONE)"), "{e}");
        let e = err(&args(), &[], "\n\ntimezone = \"Mars/Olympus\"\n");
        assert!(e.starts_with("configuration: timezone: ") && e.ends_with("(from t.toml:3)"), "{e}");
        let e = err(&args(), &[("DATABASE_URL", "postgres://u@h/x")], "");
        assert!(e.starts_with("configuration: database_url: scheme must be mysql://"), "{e}");
        assert!(e.ends_with("(from environment variable DATABASE_URL)"), "{e}");
        let e = err(&args(), &[], "database_url = \"mysql://u@h/x\"\ndatabase_password_file = \"/nonexistent/pw\"\n");
        assert!(e.starts_with("configuration: database_password_file: cannot read /nonexistent/pw"), "{e}");
        assert!(e.ends_with("(from t.toml:2)"), "{e}");
    }

    #[test]
    fn ranges_are_checked_and_say_why() {
        #[rustfmt::skip]
        let table: &[(&str, Option<&str>)] = &[
            // file line, expected reason (None: accepted)
            ("max_delivery_age = \"0s\"", Some("must be at least 1h (a shorter age abandons e-mail at its first temporary failure)")),
            ("max_delivery_age = \"59m\"", Some("must be at least 1h")),
            ("max_delivery_age = \"1h\"", None),
            ("send_timeout = \"0s\"", Some("must be at least 1s")),
            ("send_timeout = \"500ms\"", Some("must be at least 1s")),
            ("send_timeout = \"1s\"", None),
            ("smtp_timeout = \"0s\"", Some("must be at least 1s")),
            ("smtp_timeout = \"1s\"", None),
            ("wait_lock = \"2days\"", Some("must be at most 1day")),
            ("wait_lock = \"1day\"", None),
            ("metrics_file = \"\"", Some("empty path: leave the key out")),
            ("log_file = \"\"", Some("empty path: leave the key out")),
            ("lock_file = \"\"", Some("empty path: leave the key out")),
            ("database_timeout = \"0s\"", Some("must be at least 1s")),
            ("delivery_deadline = \"999ms\"", Some("must be at least 1s")),
            ("smtp_rate = 0", Some("must be at least 1 message per minute")),
            ("smtp_rate = 1", None),
            ("circuit_breaker = 0", Some("must be at least 1")),
            ("ledger_retention_days = 0", Some("must be at least 1")),
            ("smtp_connections = 17", Some("17 is not between 1 and 16")),
            ("smtp_connections = 16", None),
            ("mail_mode = \"weekly\"", Some("\"weekly\" is not one of per_alert, digest")),
            ("wait_lock = \"soon\"", Some("\"soon\" is not a duration")),
        ];
        for (line, why) in table {
            let key = line.split(' ').next().unwrap();
            let (entries, config) = merge(&args(), &[], &format!("{line}\n"));
            match why {
                None => {
                    config.unwrap_or_else(|e| panic!("{line}: {e}"));
                }
                Some(why) => {
                    let e = config.unwrap_err().to_string();
                    assert!(e.starts_with(&format!("configuration: {key}: {why}")), "{line}: {e}");
                    assert!(e.ends_with("(from t.toml:1)"), "{line}: {e}");
                    assert!(entry(&entries, key).invalid.as_deref().unwrap().starts_with(why), "{line}");
                }
            }
        }
        let mut a = args();
        a.log_file = Some(PathBuf::new());
        assert_eq!(err(&a, &[], ""), "configuration: log_file: empty path: leave the key out (from --log-file)");
    }

    #[test]
    fn every_invalid_value_is_listed_not_only_the_first() {
        let (entries, config) = merge(&args(), &[], "timezone = \"Mars\"\nsmtp_rate = 0\n");
        assert!(config.unwrap_err().to_string().starts_with("configuration: timezone:"));
        let invalid: Vec<_> = entries.iter().filter(|e| e.invalid.is_some()).map(|e| e.key).collect();
        assert_eq!(invalid, ["timezone", "smtp_rate"]);
        let keys: Vec<_> = entries.iter().map(|e| e.key).collect();
        assert_eq!(keys, KEYS);
    }

    #[test]
    fn database_password_never_in_errors_or_debug() {
        let (entries, c) = merge(&args(), &[], "database_url = \"mysql://u:hunter2@db.example/x\"\n");
        assert!(!format!("{:?}", c.unwrap()).contains("hunter2"));
        assert_eq!(shown(entry(&entries, "database_url")), "mysql://u:****@db.example/x");
        for url in [
            "mysql://u:hunter2@db.example/x?ssl-mode=bogus",
            "mysql://u:hunter2@db.example/x?statement-cache-capacity=many",
            "mysql://u:hunter2@db.example/x?ssl_mode=disabled",
            "mysql://u:hunter2@db.example:99999/x",
        ] {
            let (entries, c) = merge(&args(), &[("DATABASE_URL", url)], "");
            let err = c.unwrap_err().to_string();
            assert!(!err.contains("hunter2"), "{err}");
            let e = entry(&entries, "database_url");
            assert!(!shown(e).contains("hunter2") && !e.invalid.as_ref().unwrap().contains("hunter2"), "{e:?}");
        }
    }

    #[test]
    fn redact_url_hides_passwords_even_when_unparseable() {
        assert_eq!(redact_url("database_url", "mysql://u:p%40ss@h:3306/db?x=1"), "mysql://u:****@h:3306/db?x=1");
        assert_eq!(redact_url("smtp_url", "smtp://mail.example"), "smtp://mail.example");
        assert_eq!(redact_url("database_url", "mysql://u:pw@h:99999/db"), "mysql://u:****@h:99999/db");
        assert_eq!(redact_url("database_url", "mysql://u:p@w@h/db"), "mysql://u:****@h/db");
        assert_eq!(redact_url("database_url", "mysql://u:p/w@h/db"), "mysql://u:****@h/db");
        assert_eq!(redact_url("database_url", "mysql://u@[::1]:3306/db"), "mysql://u@[::1]:3306/db");
        assert_eq!(redact_url("ping_url", "https://hc-ping.com/0f1e2d3c-uuid"), "https://hc-ping.com/****");
        assert!(!redact_url("ping_url", "not a url with token").contains("token"));
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
        let mode = |url: &str| format!("{:?}", parse_database(url, None).unwrap().options.get_ssl_mode());
        assert_eq!(mode("mysql://u@db.example.org/app"), "VerifyIdentity");
        assert_eq!(mode("mysql://u@10.0.0.5/app"), "VerifyIdentity");
        assert_eq!(mode("mysql://u@127.0.0.1/app"), "Preferred");
        assert_eq!(mode("mysql://u@localhost/app"), "Preferred");
        assert_eq!(mode("mysql://u@[::1]/app"), "Preferred");
        assert_eq!(mode("mysql://u@db.example.org/app?socket=/"), "Preferred");
        assert_eq!(mode("mysql://u@db.example.org/app?ssl-mode=required"), "Required");
        assert_eq!(mode("mysql://u@db.example.org/app?ssl-mode=disabled"), "Disabled");
        assert_eq!(mode("mysql://u@db.example.org/app?ssl-mode=VERIFY_CA"), "VerifyCa");
        assert_eq!(mode("mysql://u@db.example.org/app?sslmode=preferred"), "Preferred");
        let t = parse_database("mysql://u@db.example.org/app", None).unwrap();
        assert_eq!(
            t.describe_tls(),
            "verify_identity (certificate and host name checked; the default for a remote host)"
        );
        let t = parse_database("mysql://u@db.example.org/app?ssl-mode=required", None).unwrap();
        assert_eq!(t.describe_tls(), "required (encrypted, certificate not checked)");
    }

    #[test]
    fn database_url_parameters_are_the_ones_sqlx_understands() {
        for k in DATABASE_PARAMS {
            let v = match *k {
                "ssl-mode" | "sslmode" => "required",
                "statement-cache-capacity" => "10",
                "ssl-ca" | "sslca" | "ssl-cert" | "sslcert" | "ssl-key" | "sslkey" | "socket" => "/",
                _ => "utf8mb4",
            };
            let extra = match *k {
                "ssl-cert" | "sslcert" => "&ssl-key=/",
                "ssl-key" | "sslkey" => "&ssl-cert=/",
                _ => "",
            };
            parse_database(&format!("mysql://u@db.example/app?{k}={v}{extra}"), None)
                .unwrap_or_else(|e| panic!("{k}: {e}"));
        }
        let why = |url: &str| parse_database(url, None).unwrap_err();
        assert_eq!(
            why("mysql://u@h/app?ssl_mode=disabled"),
            "unknown parameter \"ssl_mode\": the spelling is ssl-mode"
        );
        assert_eq!(why("mysql://u@h/app?sslMode=disabled"), "unknown parameter \"sslMode\": the spelling is ssl-mode");
        assert_eq!(why("mysql://u@h/app?ssl_ca=/x"), "unknown parameter \"ssl_ca\": the spelling is ssl-ca");
        assert!(
            why("mysql://u@h/app?connect_timeout=5")
                .starts_with("unknown parameter \"connect_timeout\" (known: ssl-mode,")
        );
        assert!(why("mysql://u@h/app?ssl-mode=strict").starts_with("ssl-mode=strict is not one of disabled,"));
        assert!(
            why("mysql://u@h/app?ssl-ca=/nonexistent/ca.pem").starts_with("ssl-ca: cannot read /nonexistent/ca.pem")
        );
        assert!(why("mysql://u@h/app?ssl-cert=/").starts_with("ssl-cert and ssl-key go together"));
        let e = err(&args(), &[("SIGOV_ALERTS_DATABASE_URL", "mysql://u@h/app?sslMode=disabled")], "");
        assert_eq!(
            e,
            "configuration: database_url: unknown parameter \"sslMode\": the spelling is ssl-mode \
             (from environment variable SIGOV_ALERTS_DATABASE_URL)"
        );
    }

    #[test]
    fn toml_errors_give_file_line_and_column() {
        let e = |text: &str| FileLayer::parse(Path::new("t.toml"), text.into()).err().unwrap().to_string();
        let syntax = e("timezone = \"UTC\"\n[oops\n");
        assert!(syntax.starts_with("configuration: t.toml:2:"), "{syntax}");
        assert_eq!(syntax.lines().count(), 1);
        let value = e("timezone = \"UTC\"\nbase_url = https://x\n");
        assert!(value.starts_with("configuration: base_url: ") && value.ends_with("(from t.toml:2:12)"), "{value}");
        let typed = e("\nsmtp_connections = \"4\"\n");
        assert!(typed.starts_with("configuration: smtp_connections: invalid type"), "{typed}");
        assert!(typed.ends_with("(from t.toml:2:20)"), "{typed}");
        let unknown = e("timezone = \"UTC\"\ndatabse_url = \"x\"\n");
        assert_eq!(unknown, "configuration: databse_url: unknown key (did you mean database_url?) (from t.toml:2:1)");
        assert_eq!(line_col("a\néé = x", 7), (2, 4));
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
        // Every key is in the example.
        for k in KEYS {
            assert!(all.lines().any(|l| l.starts_with(&format!("{k} ="))), "{k} missing from the example");
        }
    }

    #[test]
    fn log_file_level_defaults_to_info_and_names_the_key() {
        assert_eq!(merge(&args(), &[], "").1.unwrap().log_file_level, tracing::Level::INFO);
        assert_eq!(merge(&args(), &[], "log_file_level = \"debug\"").1.unwrap().log_file_level, tracing::Level::DEBUG);
        let e = err(&args(), &[], "log_file_level = \"loud\"");
        assert!(e.starts_with("configuration: log_file_level:"), "{e}");
    }

    #[test]
    fn unknown_key_is_an_error() {
        let err = toml::from_str::<RawConfig>("databse_url = 'x'").unwrap_err();
        assert!(err.message().contains("databse_url"));
    }
}
