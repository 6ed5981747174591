//! Where each value came from and how `sigov-alerts config` shows it:
//! [`Source`] (flag, environment variable, file line, default), [`Shown`]
//! (the value, secrets already redacted), one [`Entry`] per key, the whole
//! [`Resolved`] picture, and the configuration errors that name the source.

use std::fmt;
use std::path::PathBuf;

use super::Config;
use crate::error::{Error, Result};

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

/// A configuration error: `configuration: KEY: why`.
pub(super) fn bad(key: &str, why: impl fmt::Display) -> Error {
    Error::Config(format!("configuration: {key}: {why}"))
}

/// A configuration error naming the key, the reason and where the value came from.
pub(super) fn bad_from(key: &str, why: &str, source: &Source) -> Error {
    match source.origin() {
        Some(origin) => bad(key, format!("{why} (from {origin})")),
        None => bad(key, why),
    }
}
