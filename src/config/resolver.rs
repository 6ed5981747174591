//! The resolver: for each key, picks the value of the first layer that has
//! it (flag > environment > file, else the default), records it as an
//! [`Entry`] with its source and its verdict, and keeps the first error.
//! The rules of each key (flags, variables, defaults, ranges) are in
//! `merge.rs`; the URL keys with their password and CA files are here.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use lettre::message::Mailbox;
use toml::Spanned;

use super::DATABASE_URL_ENV;
use super::database::{DbTarget, parse_database};
use super::file::FileLayer;
use super::secret::{read_secret_file, redact_url, url_has_password};
use super::source::{Entry, Shown, Source, bad_from};
use super::transport::{Transport, parse_transport, read_ca_file};
use crate::cli::GlobalArgs;
use crate::error::Error;

/// The process environment (an empty variable counts as unset, see [`Resolver::env`]).
pub(super) fn process_env(name: &str) -> Option<String> {
    std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
}

pub(super) fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim()).map_err(|e| format!("{s:?} is not a duration ({e})"))
}

pub(super) fn parse_mailbox(s: &str) -> Result<Mailbox, String> {
    Mailbox::from_str(s.trim()).map_err(|e| format!("{s:?} is not a mailbox ({e})"))
}

pub(super) fn path_shown(p: &Path) -> Shown {
    Shown::Str(p.display().to_string())
}

/// A path key's check: an empty path is refused.
pub(super) fn non_empty(p: &Path) -> Result<(), String> {
    if p.as_os_str().is_empty() { Err("empty path: leave the key out".into()) } else { Ok(()) }
}

/// A URL key's value: a blank URL counts as unset.
fn non_blank(url: Option<(String, Source)>) -> Option<(String, Source)> {
    url.filter(|(u, _)| !u.trim().is_empty())
}

/// Whether a password file applies: the URL came from the file, or it
/// carries no password. A password written in a flag or environment URL
/// wins over the file's.
fn password_file_applies(url: &(String, Source)) -> bool {
    matches!(url.1, Source::File { .. }) || !url_has_password(&url.0)
}

/// What `read` makes of `file`, when it is set and applies.
fn read_if<T>(
    file: &Option<(PathBuf, Source)>,
    applies: bool,
    read: fn(&Path) -> Result<T, String>,
) -> Option<Result<T, String>> {
    file.as_ref().filter(|_| applies).map(|(p, _)| read(p))
}

/// The value a file read gave, if it succeeded.
fn read_value<T>(read: &Option<Result<T, String>>) -> Option<&T> {
    read.as_ref().and_then(|r| r.as_ref().ok())
}

/// Collects every key's value, source and validity.
pub(super) struct Resolver<'a> {
    /// The flags.
    pub(super) args: &'a GlobalArgs,
    env: &'a dyn Fn(&str) -> Option<String>,
    /// The configuration file.
    pub(super) file: &'a FileLayer,
    /// Every key recorded so far, in order.
    pub(super) entries: Vec<Entry>,
    /// The first invalid value.
    pub(super) error: Option<Error>,
}

impl<'a> Resolver<'a> {
    pub(super) fn new(args: &'a GlobalArgs, env: &'a dyn Fn(&str) -> Option<String>, file: &'a FileLayer) -> Self {
        Resolver { args, env, file, entries: Vec::new(), error: None }
    }

    /// The first of `names` set (and not empty) in the environment.
    fn env(&self, names: &[&'static str]) -> Option<(String, Source)> {
        names.iter().find_map(|n| (self.env)(n).filter(|v| !v.is_empty()).map(|v| (v, Source::Env(n))))
    }

    /// The file's value, with its line.
    pub(super) fn in_file<T: Clone>(&self, value: Option<&Spanned<T>>) -> Option<(T, Source)> {
        value.map(|s| (s.get_ref().clone(), self.file.at(s)))
    }

    /// Flag, else environment, else file.
    pub(super) fn pick<T: Clone + From<String>>(
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
    pub(super) fn record<T>(
        &mut self,
        key: &'static str,
        value: Shown,
        source: Source,
        result: Result<T, String>,
    ) -> Option<T> {
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
    pub(super) fn note(&mut self, note: impl Into<String>) {
        if let Some(e) = self.entries.last_mut() {
            e.note = Some(note.into());
        }
    }

    /// A string key with a default: shown as `show` writes it, valid as
    /// `parse` says.
    pub(super) fn string<T>(
        &mut self,
        key: &'static str,
        picked: Option<(String, Source)>,
        default: &str,
        show: impl FnOnce(&str) -> String,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let (s, source) = picked.unwrap_or_else(|| (default.into(), Source::Default));
        let result = parse(&s);
        self.record(key, Shown::Str(show(&s)), source, result)
    }

    /// A duration key with a default and a range.
    pub(super) fn duration(
        &mut self,
        key: &'static str,
        picked: Option<(String, Source)>,
        default: &str,
        check: impl FnOnce(Duration) -> Result<(), String>,
    ) -> Option<Duration> {
        let parse = |s: &str| parse_duration(s).and_then(|d| check(d).map(|()| d));
        self.string(key, picked, default, |s| s.trim().to_string(), parse)
    }

    /// A key taking one of a few words, each standing for a value.
    pub(super) fn choice<T: Copy>(
        &mut self,
        key: &'static str,
        picked: Option<(String, Source)>,
        default: &str,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let parse = |s: &str| match choices.iter().find(|(word, _)| *word == s.trim()) {
            Some((_, v)) => Ok(*v),
            None => {
                let words: Vec<&str> = choices.iter().map(|(word, _)| *word).collect();
                Err(format!("{:?} is not one of {}", s.trim(), words.join(", ")))
            }
        };
        self.string(key, picked, default, str::to_string, parse)
    }

    /// A number key with a default and a range.
    pub(super) fn number(
        &mut self,
        key: &'static str,
        picked: Option<(u32, Source)>,
        default: u32,
        check: impl FnOnce(u32) -> Result<(), String>,
    ) -> Option<u32> {
        let (n, source) = picked.unwrap_or((default, Source::Default));
        self.record(key, Shown::Int(n.into()), source, check(n).map(|()| n))
    }

    /// A key without a default: unset, or shown as `show` writes it and
    /// valid as `parse` says.
    pub(super) fn optional<V, T>(
        &mut self,
        key: &'static str,
        picked: Option<(V, Source)>,
        show: impl FnOnce(&V) -> Shown,
        parse: impl FnOnce(V) -> Result<T, String>,
    ) -> Option<T> {
        let Some((v, source)) = picked else {
            self.record(key, Shown::Unset, Source::Default, Ok(()));
            return None;
        };
        let shown = show(&v);
        self.record(key, shown, source, parse(v))
    }

    /// An optional path: unset is fine, an empty one is not.
    pub(super) fn optional_path(&mut self, key: &'static str, picked: Option<(PathBuf, Source)>) -> Option<PathBuf> {
        self.optional(key, picked, |p| path_shown(p), |p| non_empty(&p).map(|()| p))
    }

    /// A URL key, redacted; when valid, `note` remarks on what it parsed to.
    fn url<T>(
        &mut self,
        key: &'static str,
        url: Option<(String, Source)>,
        parse: impl FnOnce(&str) -> Result<T, String>,
        note: impl FnOnce(&T) -> String,
    ) -> Option<T> {
        let value = self.optional(key, url, |u| Shown::Str(redact_url(key, u)), |u| parse(u.trim()));
        if let Some(v) = &value {
            self.note(note(v));
        }
        value
    }

    /// A file a URL key reads (a password or CA file): unset, or its path,
    /// invalid when it was read and could not be used. Whether it is set.
    fn side_file<T>(
        &mut self,
        key: &'static str,
        file: Option<(PathBuf, Source)>,
        read: &Option<Result<T, String>>,
    ) -> bool {
        let set = file.is_some();
        let verdict = match read {
            Some(Err(why)) => Err(why.clone()),
            _ => Ok(()),
        };
        self.optional(key, file, |p| path_shown(p), |_| verdict);
        set
    }

    /// `database_url` and `database_password_file`.
    pub(super) fn database(&mut self) -> Option<DbTarget> {
        let raw = &self.file.raw;
        let flag = self.args.database_url.as_ref();
        let url = non_blank(self.pick("--database-url", flag, DATABASE_URL_ENV, raw.database_url.as_ref()));
        let pw_file = self.in_file(raw.database_password_file.as_ref());
        let applies = url.as_ref().is_some_and(password_file_applies);
        let password = read_if(&pw_file, applies, read_secret_file);
        let pw = read_value(&password).map(String::as_str);
        let target = self.url("database_url", url, |u| parse_database(u, pw), |t| format!("tls {}", t.describe_tls()));
        if self.side_file("database_password_file", pw_file, &password) && !applies {
            self.note(self.unused_password_note("database_url"));
        }
        target
    }

    /// `smtp_url`, `smtp_password_file` and `smtp_ca_file`.
    pub(super) fn transport(&mut self) -> Option<Transport> {
        let raw = &self.file.raw;
        let flag = self.args.smtp_url.as_ref();
        let url = non_blank(self.pick("--smtp-url", flag, &["SIGOV_ALERTS_SMTP_URL"], raw.smtp_url.as_ref()));
        let pw_file = self.in_file(raw.smtp_password_file.as_ref());
        let ca_file = self.in_file(raw.smtp_ca_file.as_ref());
        let is_smtp = url
            .as_ref()
            .and_then(|(u, _)| url::Url::parse(u.trim()).ok())
            .is_some_and(|u| matches!(u.scheme(), "smtp" | "smtps"));
        let applies = is_smtp && url.as_ref().is_some_and(password_file_applies);
        let password = read_if(&pw_file, applies, read_secret_file);
        let ca = read_if(&ca_file, is_smtp, read_ca_file);
        let (pw, pem) = (read_value(&password).cloned(), read_value(&ca).cloned());
        let transport = self.url("smtp_url", url, |u| parse_transport(u, pw, pem), Transport::describe);
        if self.side_file("smtp_password_file", pw_file, &password) && !applies {
            self.note(self.unused_smtp_file_note(is_smtp));
        }
        if self.side_file("smtp_ca_file", ca_file, &ca) && !is_smtp {
            self.note(self.unused_smtp_file_note(is_smtp));
        }
        transport
    }

    /// Why a password file is not used: no URL, or a URL with its own password.
    fn unused_password_note(&self, url_key: &str) -> String {
        match self.entries.iter().find(|e| e.key == url_key) {
            Some(Entry { value: Shown::Unset, .. }) | None => format!("not used: no {url_key}"),
            Some(e) => format!(
                "not used: the {url_key} from {} carries its own password",
                e.source.origin().unwrap_or_else(|| "the default".into())
            ),
        }
    }

    /// Why an SMTP password or CA file is not used: the transport is not
    /// SMTP, or as for any password file.
    fn unused_smtp_file_note(&self, is_smtp: bool) -> String {
        if !is_smtp && self.entries.iter().any(|e| e.key == "smtp_url" && e.value != Shown::Unset) {
            "not used: the transport is not SMTP".to_string()
        } else {
            self.unused_password_note("smtp_url")
        }
    }
}
