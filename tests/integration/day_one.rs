//! Day one on a fresh host: the README's install steps and the example
//! config give a silent run as the service user under cron; every path a
//! run writes is checked by `doctor` as that user, with the fix; an output
//! file that cannot be written after the work is done is a warning and
//! exit 74; the log file has its own level and never gets ANSI escapes.
//!
//! The service user is `nobody` (via util-linux `setpriv`), because the
//! tests run as root and a directory's mode does not stop root. Those tests
//! are skipped, saying so, when not run as root.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::{SmtpSink, TestDb, all_output};
use crate::project_deadlines::{AT, scenario};

const BIN: &str = env!("CARGO_BIN_EXE_sigov-alerts");

fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|r| r.split_whitespace().nth(1)) == Some("0")
}

/// The binary as user `nobody`, group `nogroup`, no other group, in a
/// cron-like environment: only PATH, stdin null, no terminal, cwd `/`.
fn as_nobody(args: &[&str]) -> Command {
    let mut c = Command::new("setpriv");
    c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", BIN])
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::null())
        .current_dir("/");
    c
}

/// A directory every user may traverse (a tempdir is 0700).
fn open_root() -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("sigov-day-one").tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn mkdir(path: &Path, mode: u32) {
    std::fs::create_dir_all(path).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn chown_nobody(path: &Path) {
    let out = Command::new("chown").arg("nobody:nogroup").arg(path).output().unwrap();
    assert!(out.status.success(), "{}", all_output(&out));
}

/// Every path under `dir`, for "created nothing" checks.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() && !p.is_symlink() {
                todo.push(p.clone());
            }
            out.push(p);
        }
    }
    out.sort();
    out
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The `doctor` line of `item`.
fn item<'a>(text: &'a str, item: &str) -> &'a str {
    text.lines().find(|l| l[6..].starts_with(&format!("{item}:"))).unwrap_or_else(|| panic!("{item}: {text}"))
}

#[test]
fn doctor_names_each_unwritable_path_and_its_fix_as_the_service_user() {
    if !is_root() {
        eprintln!("skipped: needs root to run the binary as another user");
        return;
    }
    let db = TestDb::new();
    let sink = SmtpSink::start();
    let root = open_root();
    let r = root.path();
    // The lock in a directory of the service user's own; the metrics
    // directory and the log file (as a manual run as root leaves it) owned by root.
    mkdir(&r.join("state"), 0o755);
    chown_nobody(&r.join("state"));
    mkdir(&r.join("metrics"), 0o755);
    mkdir(&r.join("log"), 0o755);
    std::fs::write(r.join("log/sigov-alerts.log"), "").unwrap();
    let lock = r.join("state/sigov-alerts.lock");
    let doctor = |metrics: &Path, log: &Path| {
        let before = tree(r);
        let out = as_nobody(&[
            "--database-url",
            &db.url,
            "--smtp-url",
            &sink.url(),
            "--lock-file",
            lock.to_str().unwrap(),
            "--metrics-file",
            metrics.to_str().unwrap(),
            "--log-file",
            log.to_str().unwrap(),
            "doctor",
        ])
        .output()
        .unwrap();
        assert_eq!(tree(r), before, "doctor created or removed nothing");
        assert_eq!(out.status.code(), Some(78), "{}", all_output(&out));
        assert!(out.stderr.is_empty(), "{}", all_output(&out));
        let text = stdout(&out);
        // Every item is printed, the failing ones too.
        assert_eq!(text.lines().count(), 10, "{text}");
        for ok in ["config", "database", "app tables", "app columns", "privileges", "migrations", "smtp", "lock file"] {
            assert!(item(&text, ok).starts_with("ok    "), "{text}");
        }
        text
    };

    let metrics = r.join("metrics/sigov_alerts.prom");
    let log = r.join("log/sigov-alerts.log");
    let text = doctor(&metrics, &log);
    let dir = r.join("metrics").display().to_string();
    assert_eq!(
        item(&text, "metrics file"),
        format!(
            "FAIL  metrics file: {}: directory {dir} is not writable by nobody (Permission denied (os error 13)); \
             fix: setfacl -m u:nobody:rwx {dir} (package acl)",
            metrics.display()
        ),
        "{text}"
    );
    assert_eq!(
        item(&text, "log file"),
        format!(
            "FAIL  log file: {}: not writable by nobody (Permission denied (os error 13)); fix: chown nobody: {}",
            log.display(),
            log.display()
        ),
        "{text}"
    );

    // A metrics directory that does not exist; a log file that does not
    // exist, in a directory the service user cannot write.
    let metrics = r.join("node-exporter/sigov_alerts.prom");
    let log = r.join("log/new.log");
    let text = doctor(&metrics, &log);
    let dir = r.join("node-exporter").display().to_string();
    assert_eq!(
        item(&text, "metrics file"),
        format!(
            "FAIL  metrics file: {}: directory {dir} does not exist; fix: install -d -o nobody -g nogroup -m 0755 {dir}",
            metrics.display()
        ),
        "{text}"
    );
    assert!(
        item(&text, "log file")
            .ends_with(&format!("; fix: install -m 0640 -o nobody -g nogroup /dev/null {}", log.display())),
        "{text}"
    );

    // Done as the lines say, doctor is satisfied and the run writes both.
    for fix in [
        format!("install -d -o nobody -g nogroup -m 0755 {dir}"),
        format!("install -m 0640 -o nobody -g nogroup /dev/null {}", log.display()),
    ] {
        let words: Vec<&str> = fix.split(' ').collect();
        let out = Command::new(words[0]).args(&words[1..]).output().unwrap();
        assert!(out.status.success(), "{fix}: {}", all_output(&out));
    }
    let out = as_nobody(&[
        "--database-url",
        &db.url,
        "--smtp-url",
        &sink.url(),
        "--lock-file",
        lock.to_str().unwrap(),
        "--metrics-file",
        metrics.to_str().unwrap(),
        "--log-file",
        log.to_str().unwrap(),
        "doctor",
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert!(item(&stdout(&out), "metrics file").starts_with(&format!("ok    metrics file: {dir} writable by nobody")));
}

#[test]
fn metrics_file_unwritable_after_the_work_is_a_warning_and_exit_74() {
    let mut db = TestDb::new();
    scenario(&mut db);
    let sink = SmtpSink::start();
    // The day-one case: the directory of the metrics file does not exist.
    let metrics = db.dir.path().join("node-exporter/sigov_alerts.prom");
    let out = db.run(&sink.url(), &["--metrics-file", metrics.to_str().unwrap(), "run-all", "--at", AT, "--replay"]);
    assert_eq!(out.status.code(), Some(74), "{}", all_output(&out));
    assert!(out.stdout.is_empty(), "{}", all_output(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "sigov-alerts: warning: writing metrics to {}: No such file or directory (os error 2)\n",
            metrics.display()
        )
    );
    // The work was done: rows recorded, e-mails sent, runs ok.
    assert_eq!(db.count("SELECT COUNT(*) FROM core_alerteprojet"), 9);
    assert_eq!(sink.count(), 8);
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_runs WHERE status <> 'ok'"), 0);

    // `deliver` writes the metrics too: the same warning, the same code.
    let out = db.run(&sink.url(), &["--metrics-file", metrics.to_str().unwrap(), "deliver"]);
    assert_eq!(out.status.code(), Some(74), "{}", all_output(&out));
    assert!(stderr(&out).starts_with("sigov-alerts: warning: writing metrics to "), "{}", all_output(&out));

    // 74 shows only when nothing else failed: mail left queued (75) wins,
    // and the warning still names the file.
    let mut db = TestDb::new();
    scenario(&mut db);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = db.run(
        &format!("smtp://127.0.0.1:{closed}?tls=none"),
        &["--metrics-file", metrics.to_str().unwrap(), "run-all", "--at", AT, "--replay"],
    );
    assert_eq!(out.status.code(), Some(75), "{}", all_output(&out));
    let err = stderr(&out);
    assert!(err.contains(&format!("sigov-alerts: warning: writing metrics to {}: ", metrics.display())), "{err}");
    assert!(err.contains("sigov-alerts: error: delivering e-mails: "), "{err}");
}

#[test]
fn log_file_that_cannot_be_opened_warns_once_runs_anyway_and_exits_74() {
    let mut db = TestDb::new();
    scenario(&mut db);
    let sink = SmtpSink::start();
    // A directory where the file should be: no user can open it.
    let log = db.dir.path().join("sigov-alerts.log");
    std::fs::create_dir(&log).unwrap();
    let out = db.run(&sink.url(), &["--log-file", log.to_str().unwrap(), "run-all", "--at", AT, "--replay"]);
    assert_eq!(out.status.code(), Some(74), "{}", all_output(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "sigov-alerts: warning: opening the log file {}: Is a directory (os error 21); logging to stderr only\n",
            log.display()
        )
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM core_alerteprojet"), 9);
    assert_eq!(sink.count(), 8);
    // Stderr logging still works.
    let out = db.run(&sink.url(), &["-v", "--log-file", log.to_str().unwrap(), "run-all", "--at", AT, "--replay"]);
    assert_eq!(out.status.code(), Some(74), "{}", all_output(&out));
    let err = stderr(&out);
    assert_eq!(err.matches("sigov-alerts: warning:").count(), 1, "{err}");
    assert!(err.contains("run finished"), "{err}");
    // Read-only commands and dry runs never open the log file; doctor
    // reports it as a failing item (78) and warns about nothing.
    let out = db.run(&sink.url(), &["--log-file", log.to_str().unwrap(), "run-all", "--dry-run", "--at", AT]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let out = db.run(&sink.url(), &["--log-file", log.to_str().unwrap(), "history"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let out = db.run(&sink.url(), &["--log-file", log.to_str().unwrap(), "doctor"]);
    assert_eq!(out.status.code(), Some(78), "{}", all_output(&out));
    assert!(out.stderr.is_empty(), "{}", all_output(&out));
    assert!(item(&stdout(&out), "log file").starts_with(&format!("FAIL  log file: {}: ", log.display())));
}

/// The host laid out by README.md's Install section: its `install` lines
/// that create directories or files (`-d`, `/dev/null`, the config), with
/// every absolute path under `root` and the service user `nobody`.
fn install_as_the_readme_says(root: &Path, config: &Path) -> Vec<String> {
    let readme = include_str!("../../README.md");
    let section = readme.split("\n## Install\n").nth(1).unwrap().split("\n## ").next().unwrap();
    let mut in_sh = false;
    let mut done = vec![];
    for line in section.lines() {
        if line.starts_with("```") {
            in_sh = !in_sh && line.trim() == "```sh";
            continue;
        }
        let cmd = line.split(" #").next().unwrap().trim();
        if !in_sh || !cmd.starts_with("install ") {
            continue;
        }
        let words: Vec<&str> = cmd.split_whitespace().collect();
        let example = "contrib/sigov-alerts.toml.example";
        if !words.iter().any(|w| *w == "-d" || *w == "/dev/null" || *w == example) {
            continue;
        }
        let mut args = vec![];
        for (i, w) in words.iter().enumerate().skip(1) {
            let prev = words[i - 1];
            args.push(match *w {
                "sigov-alerts" if prev == "-o" => "nobody".to_string(),
                "sigov-alerts" if prev == "-g" => "nogroup".to_string(),
                w if w == example => config.display().to_string(),
                w if w.starts_with('/') && w != "/dev/null" => root.join(&w[1..]).display().to_string(),
                w => w.to_string(),
            });
        }
        let out = Command::new("install").args(&args).output().unwrap();
        assert!(out.status.success(), "{cmd}: {}", all_output(&out));
        done.push(cmd.to_string());
    }
    done
}

/// contrib/sigov-alerts.toml.example for the test host: the test database
/// and SMTP sink, every absolute path under `root`.
fn example_config(root: &Path, db_url: &str, smtp_url: &str) -> String {
    let mut url = url::Url::parse(db_url).unwrap();
    let has_password = url.password().is_some();
    url.set_password(None).unwrap();
    let under = |v: &str| root.join(v.trim_matches('"').trim_start_matches('/')).display().to_string();
    include_str!("../../contrib/sigov-alerts.toml.example")
        .lines()
        .map(|line| match line.split_once(" = ") {
            Some(("database_url", _)) => format!("database_url = \"{url}\""),
            Some(("smtp_url", _)) => format!("smtp_url = \"{smtp_url}\""),
            // The sink offers no AUTH, so no SMTP password.
            Some(("smtp_password_file", _)) => format!("#{line}"),
            // The test server's user may have no password (an empty file is refused).
            Some(("database_password_file", _)) if !has_password => format!("#{line}"),
            // The default lock directory of the host, /run/lock, moved under root too.
            Some(("#lock_file", v)) => format!("lock_file = \"{}\"", under(v)),
            Some((key, v)) if !key.starts_with('#') && v.starts_with("\"/") => format!("{key} = \"{}\"", under(v)),
            _ => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_example_config_installed_as_the_readme_says_runs_silently_under_cron() {
    if !is_root() {
        eprintln!("skipped: needs root to run the binary as the service user");
        return;
    }
    let mut db = TestDb::new();
    scenario(&mut db);
    let sink = SmtpSink::start();
    let root = open_root();
    let r = root.path();
    // What a fresh Debian host has.
    for (dir, mode) in [("etc", 0o755), ("var/log", 0o755), ("var/lib", 0o755), ("run/lock", 0o1777)] {
        mkdir(&r.join(dir), mode);
    }
    let staged = db.dir.path().join("sigov-alerts.toml.example");
    std::fs::write(&staged, example_config(r, &db.url, &sink.url())).unwrap();
    let done = install_as_the_readme_says(r, &staged);
    assert!(done.len() >= 5, "the README's install lines: {done:#?}");
    // "Then write them with an editor": the database password.
    let password = url::Url::parse(&db.url).unwrap().password().unwrap_or("").to_string();
    if !password.is_empty() {
        std::fs::write(r.join("etc/sigov-alerts/database-password"), format!("{password}\n")).unwrap();
    }

    let config = r.join("etc/sigov-alerts.toml");
    let config = config.to_str().unwrap();
    let log = r.join("var/log/sigov-alerts.log");
    // Doctor as the service user agrees with the run that follows.
    let out = as_nobody(&["--config", config, "doctor"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));

    // The crontab line, as the service user.
    let out = as_nobody(&["--config", config, "run-all", "--at", AT, "--replay"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{}", all_output(&out));
    assert_eq!(db.count("SELECT COUNT(*) FROM core_alerteprojet"), 9);
    assert_eq!(sink.count(), 8);

    let text = std::fs::read_to_string(&log).unwrap();
    let finished: Vec<&str> = text.lines().filter(|l| l.contains(" check finished ")).collect();
    assert_eq!(finished.len(), 5, "{text}");
    let pd = finished.iter().find(|l| l.contains("check=\"project_deadlines\"")).unwrap();
    assert!(pd.contains(" INFO ") && pd.contains("rows=9") && pd.contains("sent=8") && pd.contains("queued=0"), "{pd}");
    let run: Vec<&str> = text.lines().filter(|l| l.contains(" run finished ")).collect();
    assert_eq!(run.len(), 1, "{text}");
    assert!(run[0].contains("command=\"run-all\"") && run[0].contains("exit_code=0"), "{}", run[0]);
    assert!(run[0].contains("rows=9") && run[0].contains("sent=8") && run[0].contains("duration_ms="), "{}", run[0]);
    assert!(!text.contains('\u{1b}'), "{text}");
}

#[test]
fn log_file_has_info_lines_on_a_quiet_run_and_no_ansi_from_a_terminal() {
    let mut db = TestDb::new();
    scenario(&mut db);
    let sink = SmtpSink::start();
    let log = db.dir.path().join("sigov-alerts.log");

    // Quiet, as a cron line might be: nothing on stderr, info in the file.
    let out = db.run(&sink.url(), &["-q", "--log-file", log.to_str().unwrap(), "run-all", "--at", AT, "--replay"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{}", all_output(&out));
    let quiet = std::fs::read_to_string(&log).unwrap();
    assert_eq!(quiet.lines().filter(|l| l.contains(" check evaluated ")).count(), 5, "{quiet}");
    assert_eq!(quiet.lines().filter(|l| l.contains(" check finished ")).count(), 5, "{quiet}");
    assert_eq!(quiet.lines().filter(|l| l.contains(" run finished ")).count(), 1, "{quiet}");

    // Stderr at debug, the file at info: neither loses a line.
    let out = db.run(&sink.url(), &["-vv", "--log-file", log.to_str().unwrap(), "run-all", "--at", AT, "--replay"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let err = stderr(&out);
    let file = std::fs::read_to_string(&log).unwrap();
    let file = &file[quiet.len()..];
    for text in [err.as_str(), file] {
        assert_eq!(text.lines().filter(|l| l.contains(" check evaluated ")).count(), 5, "{text}");
        assert_eq!(text.lines().filter(|l| l.contains(" delivery finished ")).count(), 1, "{text}");
        assert!(text.lines().filter(|l| l.contains(" check finished ")).all(|l| l.contains("run{")), "{text}");
    }
    assert!(!file.contains(" DEBUG "), "the file stays at info: {file}");

    // log_file_level = "warn": no info line, whatever -v says.
    let cfg = db.dir.path().join("warn.toml");
    std::fs::write(&cfg, format!("log_file = {:?}\nlog_file_level = \"warn\"\n", log.display().to_string())).unwrap();
    let before = std::fs::read_to_string(&log).unwrap().len();
    let out = db.run(&sink.url(), &["-v", "--config", cfg.to_str().unwrap(), "run-all", "--at", AT, "--replay"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert!(stderr(&out).contains("run finished"), "stderr keeps -v");
    assert_eq!(std::fs::read_to_string(&log).unwrap().len(), before, "nothing at warn");

    // From a terminal, colours on: stderr has ANSI escapes, the file none.
    let cmd = [
        BIN,
        "--database-url",
        &db.url,
        "--smtp-url",
        &sink.url(),
        "--lock-file",
        db.lock_file().to_str().unwrap(),
        "--log-file",
        log.to_str().unwrap(),
        "-v",
        "--color",
        "always",
        "run-all",
        "--at",
        AT,
        "--replay",
    ]
    .map(|a| format!("'{a}'"))
    .join(" ");
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let terminal = stdout(&out);
    assert!(terminal.contains("\u{1b}[") && terminal.contains("check finished"), "{terminal}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.len() > before);
    assert!(!text.contains("\u{1b}["), "no ANSI in the log file:\n{text}");
    assert!(text[before..].contains("check{check=\"project_deadlines\"}"), "span fields in the file: {text}");
}
