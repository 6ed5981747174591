//! The file layer: the TOML configuration file read and parsed, each
//! value's span turned into its `FILE:LINE` [`Source`], and TOML errors
//! turned into one line naming the key (with a "did you mean" for an
//! unknown one) and `FILE:LINE:COL`.

use std::path::{Path, PathBuf};

use toml::Spanned;

use super::DEFAULT_CONFIG_FILE;
use super::keys::{KEYS, RawConfig};
use super::source::Source;
use crate::error::{Error, Result};

/// The configuration file, parsed, with its text for line numbers.
#[derive(Default)]
pub struct FileLayer {
    /// The file read, if any.
    pub(super) path: Option<PathBuf>,
    /// Its text, to turn spans into line numbers.
    text: String,
    /// Its keys.
    pub(super) raw: RawConfig,
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

    /// Where the value `s` of the file was written.
    pub(super) fn at<T>(&self, s: &Spanned<T>) -> Source {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
