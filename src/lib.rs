//! sigov-alerts: the SI-Gouvernance alert checks as one cron-driven binary.
//! `run` dispatches a parsed command line and returns the exit code.

pub mod app;
pub mod checks;
pub mod cli;
pub mod config;
pub mod config_cmd;
pub mod crontab;
pub mod db;
pub mod delivery;
pub mod docs;
pub mod doctor;
pub mod error;
pub mod history;
pub mod ledger;
pub mod lock;
pub mod metrics;
pub mod notify;
pub mod outbox;
pub mod pyfmt;
pub mod report;
pub mod runs;
pub mod signals;

use std::io::IsTerminal;
use std::path::Path;

use cli::{Cli, Color, Command, Format, LogFormat};
use config::Config;
use error::{Error, Result};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Parses a tracing filter (the syntax of `SIGOV_ALERTS_LOG`).
pub fn parse_log_filter(spec: &str) -> std::result::Result<EnvFilter, String> {
    EnvFilter::builder().parse(spec).map_err(|e| format!("{spec:?} is not a tracing filter ({e})"))
}

/// The filter `SIGOV_ALERTS_LOG` holds (`None` when unset or empty); a
/// configuration error naming the variable when it does not parse.
pub fn log_filter_env() -> Result<Option<String>> {
    let name = config::LOG_ENV;
    let bad = |why: String| Error::Config(format!("configuration: {name}: {why} (from environment variable {name})"));
    match std::env::var(name) {
        Ok(s) if s.trim().is_empty() => Ok(None),
        Ok(s) => parse_log_filter(&s).map(|_| Some(s)).map_err(bad),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(bad("not valid UTF-8".into())),
    }
}

/// Sets up tracing on stderr (and the log file) as the flags ask.
pub fn init_tracing(cli: &Cli, log_file: Option<&Path>) -> Result<()> {
    let g = &cli.global;
    let level = match (g.quiet, g.verbose) {
        (true, _) => "error",
        (_, 0) => "warn",
        (_, 1) => "info",
        (_, 2) => "debug",
        _ => "trace",
    };
    let spec = log_filter_env()?;
    let filter = || match &spec {
        // Parsed once already: cannot fail.
        Some(s) => EnvFilter::builder().parse_lossy(s),
        None => EnvFilter::new(format!("warn,sigov_alerts={level}")),
    };
    let ansi = match g.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stderr().is_terminal(),
    };
    let json = g.log_format == LogFormat::Json;
    let stderr_layer = {
        let l = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_target(false);
        if json { l.json().with_current_span(true).with_span_list(true).boxed() } else { l.with_ansi(ansi).boxed() }
    };
    let file_layer = match log_file {
        None => None,
        Some(path) => {
            // Opened anew by every run, appending: rotation is a plain logrotate rule.
            let file =
                std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(|e| {
                    Error::Config(format!("configuration: log_file: cannot open {}: {e}", path.display()))
                })?;
            let file = std::sync::Mutex::new(file);
            let l = tracing_subscriber::fmt::layer().with_writer(file).with_target(false).with_ansi(false);
            Some(if json { l.json().with_current_span(true).with_span_list(true).boxed() } else { l.boxed() })
        }
    };
    let _ = tracing_subscriber::registry()
        .with(stderr_layer.with_filter(filter()))
        .with(file_layer.map(|l| l.with_filter(filter())))
        .try_init();
    Ok(())
}

/// Writes to stdout; a closed pipe (`| head`) is not an error worth a panic.
pub fn out(s: &str) {
    use std::io::Write;
    let _ = std::io::stdout().write_all(s.as_bytes());
}

/// Writes one `sigov-alerts: error:` line to stderr, ignoring a closed pipe.
pub fn err_line(s: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "sigov-alerts: error: {s}");
}

pub(crate) fn print_json<T: serde::Serialize>(v: &T) {
    out(&format!("{}\n", serde_json::to_string_pretty(v).unwrap_or_default()));
}

async fn dispatch(cli: &Cli) -> Result<u8> {
    // Commands that need no configuration.
    match &cli.command {
        Command::Completions(a) => {
            use std::io::Write;
            let _ = std::io::stdout().write_all(&docs::completion(a.shell));
            return Ok(0);
        }
        Command::GenerateMan { dir } => {
            docs::write_man(dir).map_err(|e| Error::Io(format!("writing man pages to {}: {e}", dir.display())))?;
            return Ok(0);
        }
        Command::Config(a) => return config_cmd::run(&cli.global, a.format),
        _ => {}
    }
    let cfg = Config::load(&cli.global)?;
    init_tracing(cli, cfg.log_file.as_deref())?;
    signals::listen();
    let verbose = cli.global.verbose > 0;
    let show_progress = !cli.global.quiet && cli.global.log_format == LogFormat::Text;
    let (check_list, args, name): (Vec<checks::Check>, _, &str) = match &cli.command {
        Command::Completions(_) | Command::GenerateMan { .. } | Command::Config(_) => return Ok(0),
        Command::Migrate => {
            let done = app::migrate(&cfg).await?;
            tracing::info!(applied = ?done, "migrations");
            return Ok(0);
        }
        Command::Doctor => {
            let (lines, code) = doctor::doctor(&cfg).await;
            out(&lines);
            return Ok(code);
        }
        Command::Crontab(a) => {
            out(&crontab::lines(&cfg, cli.global.config.as_deref(), a.staggered));
            return Ok(0);
        }
        Command::History(a) => {
            let mut db = db::Db::connect(cfg.database()?).await?;
            let rows = history::history(&mut db, a.limit).await;
            db.close().await;
            let rows = rows?;
            match a.format {
                Format::Json => print_json(&rows),
                Format::Text => out(&history::history_text(&rows)),
            }
            return Ok(0);
        }
        Command::Status(a) => {
            let mut db = db::Db::connect(cfg.database()?).await?;
            let s = history::status(&mut db, a.stale_after, a.stuck_after).await;
            db.close().await;
            let s = s?;
            match a.format {
                Format::Json => print_json(&s),
                Format::Text => out(&history::status_text(&s)),
            }
            return Ok(if s.healthy { 0 } else { 1 });
        }
        Command::Deliver(a) => {
            let pb = app::progress(show_progress);
            let (d, code) = app::deliver_queued(&cfg, &pb, a.now).await?;
            match a.format {
                Format::Json => print_json(&d),
                Format::Text if verbose => out(&d.to_text()),
                Format::Text => {}
            }
            if let Some(line) = d.error_line() {
                err_line(&line);
            }
            if signals::interrupted() {
                err_line(&Error::Interrupted.to_string());
            }
            return Ok(code);
        }
        Command::RunAll(a) => (checks::Check::ALL.to_vec(), a, "run-all"),
        Command::CheckProjectDeadlines(a) => (vec![checks::Check::ProjectDeadlines], a, "check-project-deadlines"),
        Command::CheckStageDelays(a) => (vec![checks::Check::StageDelays], a, "check-stage-delays"),
        Command::CheckTaskDeadlines(a) => (vec![checks::Check::TaskDeadlines], a, "check-task-deadlines"),
        Command::CheckBudget(a) => (vec![checks::Check::Budget], a, "check-budget"),
        Command::CheckContractExpiration(a) => {
            (vec![checks::Check::ContractExpiration], a, "check-contract-expiration")
        }
    };
    let pb = app::progress(show_progress && !args.dry_run);
    let report = app::run_checks(&cfg, name, &check_list, args, &pb).await?;
    report::print_report(&report, args, verbose);
    for c in report.checks.iter().filter(|c| c.error.is_some()) {
        err_line(&format!("{}: {}", c.check.command_name(), c.error.as_deref().unwrap_or_default()));
    }
    if let Some(line) = report.delivery.as_ref().and_then(|d| d.error_line()) {
        err_line(&line);
    }
    if report.interrupted {
        err_line(&Error::Interrupted.to_string());
    }
    Ok(report.exit_code)
}

/// Runs the command line; prints any error once on stderr; returns the exit code.
pub fn run(cli: Cli) -> u8 {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            err_line(&format!("starting the runtime: {e}"));
            return error::code::SOFTWARE;
        }
    };
    match rt.block_on(dispatch(&cli)) {
        Ok(code) => code,
        Err(e) => {
            err_line(&e.to_string());
            e.exit_code()
        }
    }
}
