//! Secrets: [`Secret`], whose `Debug` never shows it, the password files
//! (`database_password_file`, `smtp_password_file`) and the redaction of
//! URLs for display (`config`, errors, logs).

use std::fmt;
use std::path::Path;

/// Keys whose URL carries a secret beyond a password (a ping URL's path is
/// its token): shown as scheme and host only.
const SECRET_PATH_KEYS: &[&str] = &["ping_url"];

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

/// The password on the first line of a password file.
pub(super) fn read_secret_file(path: &Path) -> Result<String, String> {
    let s = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let s = s.lines().next().unwrap_or("").trim_end_matches('\r').to_string();
    if s.is_empty() {
        return Err(format!("{} holds no password on its first line", path.display()));
    }
    Ok(s)
}

/// Whether a URL carries a password (false when it does not parse).
pub(super) fn url_has_password(url: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
