//! The mail transport: `smtp_url` parsed into SMTP (host, port, TLS mode,
//! credentials, extra CA certificates) or a directory of `.eml` files, and
//! described without its secrets.

use std::fmt;
use std::path::{Path, PathBuf};

use super::is_loopback;
use super::secret::Secret;

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

/// Parses the mail transport URL. `password` (from `smtp_password_file`)
/// replaces any password in the URL.
pub(super) fn parse_transport(
    url: &str,
    password: Option<String>,
    ca_pem: Option<Vec<u8>>,
) -> Result<Transport, String> {
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

pub(super) fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

pub(super) fn read_ca_file(path: &Path) -> Result<Vec<u8>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
        return Err(format!("no PEM certificate in {}", path.display()));
    }
    Ok(pem)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
