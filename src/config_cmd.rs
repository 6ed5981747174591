//! `config`: the effective configuration, one line per key with its value
//! and where it came from (flag, environment variable, file line, default).
//! Secrets are shown as `****`; invalid values are shown and marked, and
//! the command then exits 78. It needs no database.

use serde::Serialize;
use serde_json::json;

use crate::cli::{Format, GlobalArgs};
use crate::config::{Config, Entry, LOG_ENV, Shown, Source};
use crate::error::{Result, code};

/// A value as written in the text output: strings quoted, `none` when unset.
fn value_text(v: &Shown) -> String {
    match v {
        Shown::Str(s) => serde_json::to_string(s).unwrap_or_default(),
        Shown::Int(n) => n.to_string(),
        Shown::Bool(b) => b.to_string(),
        Shown::Unset => "none".into(),
    }
}

/// `key = value  (source)`, then `# invalid: why` or a remark.
pub fn line(e: &Entry) -> String {
    let mut l = format!("{} = {}  ({})", e.key, value_text(&e.value), e.source.label());
    match (&e.invalid, &e.note) {
        (Some(why), _) => l.push_str(&format!("  # invalid: {why}")),
        (None, Some(note)) => l.push_str(&format!("  # {note}")),
        (None, None) => {}
    }
    l
}

/// One key in `--format json`.
#[derive(Serialize)]
struct KeyJson<'a> {
    key: &'a str,
    /// String, number, boolean, or null when unset.
    value: serde_json::Value,
    /// `flag`, `env`, `file` or `default`.
    source: &'static str,
    /// The flag, the variable, or `FILE:LINE`; null for a default.
    from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    valid: bool,
    invalid: Option<&'a str>,
    note: Option<&'a str>,
}

fn entry_json(e: &Entry) -> KeyJson<'_> {
    let (source, file, line) = match &e.source {
        Source::Flag(_) => ("flag", None, None),
        Source::Env(_) => ("env", None, None),
        Source::File { path, line } => ("file", Some(path.display().to_string()), Some(*line)),
        Source::Default => ("default", None, None),
    };
    let from = match &e.source {
        Source::Flag(f) => Some(f.to_string()),
        Source::Env(n) => Some(n.to_string()),
        Source::File { .. } => Some(e.source.label()),
        Source::Default => None,
    };
    KeyJson {
        key: e.key,
        value: match &e.value {
            Shown::Str(s) => json!(s),
            Shown::Int(n) => json!(n),
            Shown::Bool(b) => json!(b),
            Shown::Unset => serde_json::Value::Null,
        },
        source,
        from,
        file,
        line,
        valid: e.invalid.is_none(),
        invalid: e.invalid.as_deref(),
        note: e.note.as_deref(),
    }
}

/// The whole `--format json` document.
#[derive(Serialize)]
struct ConfigJson<'a> {
    /// The configuration file read, or null.
    file: Option<String>,
    /// False when any value is invalid (the command then exits 78).
    valid: bool,
    keys: Vec<KeyJson<'a>>,
}

/// Prints the configuration; 0 when every value is valid, 78 otherwise.
pub fn run(global: &GlobalArgs, format: Format) -> Result<u8> {
    let resolved = Config::resolve(global)?;
    let mut entries = resolved.entries;
    let error = resolved.config.err().or(crate::log_filter_env().err());
    // The log filter is an environment variable only, shown when set.
    if let Ok(spec) = std::env::var(LOG_ENV)
        && !spec.trim().is_empty()
    {
        let invalid = crate::parse_log_filter(&spec).err();
        entries.push(Entry {
            key: "log_filter",
            value: Shown::Str(spec),
            source: Source::Env(LOG_ENV),
            invalid,
            note: None,
        });
    }
    let file = resolved.file.as_ref().map(|p| p.display().to_string());
    match format {
        Format::Text => {
            let mut out = match &file {
                Some(f) => format!("# configuration file: {f}\n"),
                None => "# configuration file: none\n".to_string(),
            };
            for e in &entries {
                out.push_str(&line(e));
                out.push('\n');
            }
            crate::out(&out);
        }
        Format::Json => {
            let keys = entries.iter().map(entry_json).collect();
            crate::print_json(&ConfigJson { file, valid: error.is_none(), keys });
        }
    }
    match error {
        Some(e) => {
            crate::err_line(&e.to_string());
            Ok(code::CONFIG)
        }
        None => Ok(code::OK),
    }
}
