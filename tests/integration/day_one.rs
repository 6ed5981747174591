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
use std::process::{Command, Stdio};

use crate::common::{Ran, Sigov, SmtpSink, TestDb, is_root, relay_down};
use crate::project_deadlines::{AT, scenario, scenario_and_sink};

/// `run-all` at [`AT`], for real.
const RUN_ALL: [&str; 4] = ["run-all", "--at", AT, "--replay"];

/// The binary as user `nobody`, group `nogroup`, no other group, in a
/// cron-like environment: only PATH, stdin null, no terminal, cwd `/`.
fn as_nobody(args: &[&str]) -> Sigov {
    Sigov::new(args)
        .via(&["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .env("PATH", "/usr/bin:/bin")
        .dir(Path::new("/"))
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
    let mut chown = Command::new("chown");
    chown.arg("nobody:nogroup").arg(path);
    Ran::tool(chown);
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
        as_nobody(&["doctor"])
            .opt("--database-url", &db.url)
            .smtp(sink.url())
            .opt("--lock-file", &lock)
            .opt("--metrics-file", metrics)
            .opt("--log-file", log)
    };
    let failing = |metrics: &Path, log: &Path| {
        let before = tree(r);
        let ran = doctor(metrics, log).expect(78);
        assert_eq!(tree(r), before, "doctor created or removed nothing");
        assert!(ran.stderr.is_empty(), "{ran:?}");
        let text = ran.stdout;
        // Every item is printed, the failing ones too.
        assert_eq!(text.lines().count(), 10, "{text}");
        for ok in ["config", "database", "app tables", "app columns", "privileges", "migrations", "smtp", "lock file"] {
            assert!(item(&text, ok).starts_with("ok    "), "{text}");
        }
        text
    };

    let metrics = r.join("metrics/sigov_alerts.prom");
    let log = r.join("log/sigov-alerts.log");
    let text = failing(&metrics, &log);
    let dir = r.join("metrics").display().to_string();
    let (m, l) = (metrics.display(), log.display());
    let says = [
        format!(
            "FAIL  metrics file: {m}: directory {dir} is not writable by nobody (Permission denied (os error 13)); \
             fix: setfacl -m u:nobody:rwx {dir} (package acl)"
        ),
        format!(
            "FAIL  log file: {l}: not writable by nobody (Permission denied (os error 13)); fix: chown nobody: {l}"
        ),
    ];
    assert_eq!([item(&text, "metrics file"), item(&text, "log file")], says, "{text}");

    // A metrics directory that does not exist; a log file that does not
    // exist, in a directory the service user cannot write.
    let metrics = r.join("node-exporter/sigov_alerts.prom");
    let log = r.join("log/new.log");
    let text = failing(&metrics, &log);
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
        let mut cmd = Command::new(words[0]);
        cmd.args(&words[1..]);
        Ran::tool(cmd);
    }
    let text = doctor(&metrics, &log).expect(0).stdout;
    assert!(item(&text, "metrics file").starts_with(&format!("ok    metrics file: {dir} writable by nobody")));
}

#[test]
fn metrics_file_unwritable_after_the_work_is_a_warning_and_exit_74() {
    let (mut db, sink) = scenario_and_sink();
    // The day-one case: the directory of the metrics file does not exist.
    let metrics = db.dir.path().join("node-exporter/sigov_alerts.prom");
    let with_metrics = |db: &TestDb, args: &[&str]| db.sigov(args).opt("--metrics-file", &metrics);
    let ran = with_metrics(&db, &RUN_ALL).smtp(sink.url()).expect(74);
    assert!(ran.stdout.is_empty(), "{ran:?}");
    assert_eq!(
        ran.stderr,
        format!(
            "sigov-alerts: warning: writing metrics to {}: No such file or directory (os error 2)\n",
            metrics.display()
        )
    );
    // The work was done: rows recorded, e-mails sent, runs ok.
    work_done(&mut db, &sink);
    assert_eq!(db.count("SELECT COUNT(*) FROM sigov_alerts_runs WHERE status <> 'ok'"), 0);

    // `deliver` writes the metrics too: the same warning, the same code.
    let ran = with_metrics(&db, &["deliver"]).smtp(sink.url()).expect(74);
    assert!(ran.stderr.starts_with("sigov-alerts: warning: writing metrics to "), "{ran:?}");

    // 74 shows only when nothing else failed: mail left queued (75) wins,
    // and the warning still names the file.
    let mut db = TestDb::new();
    scenario(&mut db);
    with_metrics(&db, &RUN_ALL).smtp(relay_down()).expect(75).assert_stderr(&[
        &format!("sigov-alerts: warning: writing metrics to {}: ", metrics.display()),
        "sigov-alerts: error: delivering e-mails: ",
    ]);
}

/// The scenario's run-all did its work: 9 rows, 8 e-mails.
fn work_done(db: &mut TestDb, sink: &SmtpSink) {
    assert_eq!(db.alerts(), 9);
    assert_eq!(sink.count(), 8);
}

#[test]
fn log_file_that_cannot_be_opened_warns_once_runs_anyway_and_exits_74() {
    let (mut db, sink) = scenario_and_sink();
    // A directory where the file should be: no user can open it.
    let log = db.dir.path().join("sigov-alerts.log");
    std::fs::create_dir(&log).unwrap();
    let with_log = |db: &TestDb, args: &[&str]| db.sigov(args).opt("--log-file", &log).smtp(sink.url());
    let ran = with_log(&db, &RUN_ALL).expect(74);
    assert_eq!(
        ran.stderr,
        format!(
            "sigov-alerts: warning: opening the log file {}: Is a directory (os error 21); logging to stderr only\n",
            log.display()
        )
    );
    work_done(&mut db, &sink);
    // Stderr logging still works.
    let ran = with_log(&db, &["-v", "run-all", "--at", AT, "--replay"]).expect(74);
    assert_eq!(ran.stderr.matches("sigov-alerts: warning:").count(), 1, "{ran:?}");
    ran.assert_stderr(&["run finished"]);
    // Read-only commands and dry runs never open the log file; doctor
    // reports it as a failing item (78) and warns about nothing.
    with_log(&db, &["run-all", "--dry-run", "--at", AT]).expect(0);
    with_log(&db, &["history"]).expect(0);
    let ran = with_log(&db, &["doctor"]).expect(78);
    assert!(ran.stderr.is_empty(), "{ran:?}");
    assert!(item(&ran.stdout, "log file").starts_with(&format!("FAIL  log file: {}: ", log.display())));
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
        let mut install = Command::new("install");
        install.args(&args);
        Ran::tool(install);
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
    let (mut db, sink) = scenario_and_sink();
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
    as_nobody(&["doctor"]).config(config).expect(0);

    // The crontab line, as the service user.
    as_nobody(&RUN_ALL).config(config).expect(0).assert_quiet();
    work_done(&mut db, &sink);

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
    let (db, sink) = scenario_and_sink();
    let log = db.dir.path().join("sigov-alerts.log");

    // Quiet, as a cron line might be: nothing on stderr, info in the file.
    let logged = |flag: &str| db.sigov(&RUN_ALL).opt("--log-file", &log).args(&[flag]).smtp(sink.url()).expect(0);
    logged("-q").assert_quiet();
    let quiet = std::fs::read_to_string(&log).unwrap();
    assert_eq!(quiet.lines().filter(|l| l.contains(" check evaluated ")).count(), 5, "{quiet}");
    assert_eq!(quiet.lines().filter(|l| l.contains(" check finished ")).count(), 5, "{quiet}");
    assert_eq!(quiet.lines().filter(|l| l.contains(" run finished ")).count(), 1, "{quiet}");

    // Stderr at debug, the file at info: neither loses a line.
    let err = logged("-vv").stderr;
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
    let ran = db.sigov(&["-v", "run-all", "--at", AT, "--replay"]).config(&cfg).smtp(sink.url()).expect(0);
    assert!(ran.stderr.contains("run finished"), "stderr keeps -v");
    assert_eq!(std::fs::read_to_string(&log).unwrap().len(), before, "nothing at warn");

    // From a terminal, colours on: stderr has ANSI escapes, the file none.
    let run = db.sigov(&["-v", "--color", "always", "run-all", "--at", AT, "--replay"]);
    let line = run.smtp(sink.url()).opt("--log-file", &log).shell_line();
    let mut script = Command::new("script");
    script
        .args(["-qec", &line, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::null());
    let terminal = Ran::tool(script).stdout;
    assert!(terminal.contains("\u{1b}[") && terminal.contains("check finished"), "{terminal}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.len() > before);
    assert!(!text.contains("\u{1b}["), "no ANSI in the log file:\n{text}");
    assert!(text[before..].contains("check{check=\"project_deadlines\"}"), "span fields in the file: {text}");
}
