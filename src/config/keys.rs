//! The key table: every key of the configuration file with its type, in
//! the order `sigov-alerts config` lists them. [`RawConfig`] (the file as
//! written) and [`KEYS`] are both generated from the one list below, so a
//! new key is added here once (and then resolved in `resolve.rs`).

use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

/// Declares [`RawConfig`] and [`KEYS`] from one list of `key: type`.
macro_rules! file_keys {
    ($($key:ident: $ty:ty,)*) => {
        /// The configuration file, as written. Every key is optional; each
        /// value keeps its position in the file, for error messages.
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct RawConfig {
            $(pub(super) $key: Option<Spanned<$ty>>,)*
        }

        /// Every key of the file, in the order of [`RawConfig`] (and of `config`'s output).
        pub const KEYS: &[&str] = &[$(stringify!($key),)*];
    };
}

file_keys! {
    database_url: String,
    database_password_file: PathBuf,
    smtp_url: String,
    smtp_password_file: PathBuf,
    smtp_ca_file: PathBuf,
    timezone: String,
    base_url: String,
    from: String,
    reply_to: String,
    lock_file: PathBuf,
    wait_lock: String,
    smtp_timeout: String,
    send_timeout: String,
    max_delivery_age: String,
    ledger_retention_days: u32,
    mail_mode: String,
    smtp_connections: u32,
    metrics_file: PathBuf,
    log_file: PathBuf,
    log_file_level: String,
    database_lock: bool,
    database_timeout: String,
    delivery_deadline: String,
    smtp_rate: u32,
    circuit_breaker: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_names_only_known_keys() {
        let text = include_str!("../../contrib/sigov-alerts.toml.example");
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
    fn unknown_key_is_an_error() {
        let err = toml::from_str::<RawConfig>("databse_url = 'x'").unwrap_err();
        assert!(err.message().contains("databse_url"));
    }
}
