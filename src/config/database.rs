//! The database target: `database_url` parsed and checked (scheme, host,
//! database name, the query parameters sqlx understands, the files they
//! name), the TLS mode a remote host gets by default, and how `doctor` and
//! `config` describe it.

use std::fmt;
use std::str::FromStr;

use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};

use super::is_loopback;

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

/// Parses and validates the database URL. A remote host gets
/// `ssl-mode=verify_identity` unless the URL sets its own; a loopback host
/// or a socket `preferred`. `password` (from `database_password_file`)
/// replaces any password in the URL.
pub(super) fn parse_database(url: &str, password: Option<&str>) -> Result<DbTarget, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
