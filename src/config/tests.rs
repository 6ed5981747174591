//! Unit tests of the merged configuration: the order of the layers for
//! every key, the password files, the errors and their sources, the ranges.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::merge::default_lock_file;
use super::transport::percent_decode;
use super::*;
use crate::cli::GlobalArgs;

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
type Row<'a> = (&'a str, Option<&'a str>, Vec<(&'a str, &'a str)>, Option<&'a str>, String, String);

/// key, flag value, environment variable and value, file value, default.
type Layers<'a> = (&'a str, &'a str, Option<(&'a str, &'a str)>, &'a str, &'a str);

/// Every key with a flag or an environment variable: flag > environment
/// (SIGOV_ALERTS_DATABASE_URL > DATABASE_URL) > file > default.
#[test]
fn every_flag_and_environment_key_follows_flag_env_file_default() {
    const DB: &str = "SIGOV_ALERTS_DATABASE_URL";
    const DJANGO: &str = "DATABASE_URL";
    let default_lock = default_lock_file(None).display().to_string();
    #[rustfmt::skip]
    let keys: &[Layers] = &[
        // key (its flag is --key-with-dashes), flag value, environment variable and value, file value, default
        ("database_url", "mysql://u@flag.example/app", Some((DB, "mysql://u@ours.example/app")), "mysql://u@file.example/app", "none"),
        ("smtp_url", "smtp://flag.example", Some(("SIGOV_ALERTS_SMTP_URL", "smtp://env.example")), "smtp://file.example", "none"),
        ("timezone", "Europe/Berlin", Some(("SIGOV_ALERTS_TIMEZONE", "America/New_York")), "UTC", "Europe/Paris"),
        ("base_url", "https://flag.example", Some(("SIGOV_ALERTS_BASE_URL", "https://env.example")), "https://file.example", "http://localhost:8000"),
        ("from", "Flag <flag@example.org>", Some(("SIGOV_ALERTS_FROM", "Env <env@example.org>")), "File <file@example.org>", DEFAULT_FROM),
        ("lock_file", "/tmp/flag.lock", Some(("SIGOV_ALERTS_LOCK_FILE", "/tmp/env.lock")), "/tmp/file.lock", &default_lock),
        ("wait_lock", "1m", None, "2m", "0s"),
        ("metrics_file", "/tmp/flag.prom", Some(("SIGOV_ALERTS_METRICS_FILE", "/tmp/env.prom")), "/tmp/file.prom", "none"),
        ("log_file", "/tmp/flag.log", Some(("SIGOV_ALERTS_LOG_FILE", "/tmp/env.log")), "/tmp/file.log", "none"),
    ];
    // Each key: its flag wins over its variable, which wins over the file,
    // which wins over the default.
    let mut table: Vec<Row> = Vec::new();
    for &(key, flag, env, file, default) in keys {
        let env: Vec<(&str, &str)> = env.into_iter().collect();
        let flag_label = format!("flag --{}", key.replace('_', "-"));
        table.push((key, Some(flag), env.clone(), Some(file), flag.into(), flag_label));
        if let Some(&(name, value)) = env.first() {
            table.push((key, None, env.clone(), Some(file), value.into(), format!("env {name}")));
        }
        table.push((key, None, vec![], Some(file), file.into(), "t.toml:2".into()));
        table.push((key, None, vec![], None, default.into(), "default".into()));
    }
    // Ours wins over the Django app's variable; an empty variable is unset.
    let (ours, django, file) =
        ("mysql://u@ours.example/app", "mysql://u@django.example/app", "mysql://u@file.example/app");
    table.push((
        "database_url",
        None,
        vec![(DB, ours), (DJANGO, django)],
        Some(file),
        ours.into(),
        format!("env {DB}"),
    ));
    table.push(("database_url", None, vec![(DJANGO, django)], Some(file), django.into(), format!("env {DJANGO}")));
    table.push(("database_url", None, vec![(DB, ""), (DJANGO, "")], Some(file), file.into(), "t.toml:2".into()));
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
        assert!(keys.iter().any(|k| k.0 == key), "{key}");
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
    // key, where the URL is (flag, env, file), URL, password file set, expected password
    let mut table: Vec<(&str, &str, String, bool, Option<&str>)> = Vec::new();
    // Both URLs follow one rule: with a password file, the password of a
    // flag or environment URL wins; a file URL's does not.
    for (key, url) in [("database_url", "mysql://u{pw}@db.example/app"), ("smtp_url", "smtp://u{pw}@mail.example")] {
        for (layer, own) in [("flag", "from-flag"), ("env", "from-env"), ("file", "from-url")] {
            let expected = if layer == "file" { "from-file" } else { own };
            table.push((key, layer, url.replace("{pw}", &format!(":{own}")), true, Some(expected)));
            table.push((key, layer, url.replace("{pw}", ""), true, Some("from-file")));
        }
    }
    #[rustfmt::skip]
    table.extend([
        ("database_url", "flag", "mysql://u:from-flag@db.example/app".into(), false, Some("from-flag")),
        ("database_url", "flag", "mysql://u@db.example/app".into(), false, None),
        ("smtp_url", "file", "smtp://u:from-url@mail.example".into(), false, Some("from-url")),
        ("smtp_url", "env", "SMTPS://u@mail.example".into(), true, Some("from-file")),
    ]);
    for (key, layer, url, with_file, expected) in &table {
        let row = format!("{key} in {layer}: {url}, password file {with_file}");
        let pw_key = if *key == "database_url" { "database_password_file" } else { "smtp_password_file" };
        let env_name = if *key == "database_url" { "SIGOV_ALERTS_DATABASE_URL" } else { "SIGOV_ALERTS_SMTP_URL" };
        let mut a = args();
        let mut env = vec![];
        let mut text = String::new();
        match *layer {
            "flag" => set_flag(&mut a, key, url),
            "env" => env.push((env_name, url.as_str())),
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
fn an_unknown_database_url_parameter_names_the_variable() {
    let e = err(&args(), &[("SIGOV_ALERTS_DATABASE_URL", "mysql://u@h/app?sslMode=disabled")], "");
    assert_eq!(
        e,
        "configuration: database_url: unknown parameter \"sslMode\": the spelling is ssl-mode \
         (from environment variable SIGOV_ALERTS_DATABASE_URL)"
    );
}

#[test]
fn log_file_level_defaults_to_info_and_names_the_key() {
    assert_eq!(merge(&args(), &[], "").1.unwrap().log_file_level, tracing::Level::INFO);
    assert_eq!(merge(&args(), &[], "log_file_level = \"debug\"").1.unwrap().log_file_level, tracing::Level::DEBUG);
    let e = err(&args(), &[], "log_file_level = \"loud\"");
    assert!(e.starts_with("configuration: log_file_level:"), "{e}");
}
