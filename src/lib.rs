//! sigov-alerts: the SI-Gouvernance alert checks as one cron-driven binary.
//! `run` dispatches a parsed command line and returns the exit code.

pub mod app;
pub mod checks;
pub mod cli;
pub mod config;
pub mod db;
pub mod doctor;
pub mod error;
pub mod ledger;
pub mod lock;
pub mod notify;
pub mod pyfmt;
pub mod report;

use std::io::IsTerminal;

use cli::{Cli, Color, Command, LogFormat};
use config::Config;
use error::{Error, Result};

/// Sets up tracing on stderr as the flags ask.
pub fn init_tracing(cli: &Cli) {
    let g = &cli.global;
    let level = match (g.quiet, g.verbose) {
        (true, _) => "error",
        (_, 0) => "warn",
        (_, 1) => "info",
        (_, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SIGOV_ALERTS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("warn,sigov_alerts={level}")));
    let ansi = match g.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false);
    let _ = match g.log_format {
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(true).try_init(),
        LogFormat::Text => builder.with_ansi(ansi).try_init(),
    };
}

async fn dispatch(cli: &Cli) -> Result<u8> {
    let cfg = Config::load(&cli.global)?;
    let verbose = cli.global.verbose > 0;
    let (check_list, args, name): (Vec<checks::Check>, _, &str) = match &cli.command {
        Command::Migrate => {
            let done = app::migrate(&cfg).await?;
            if verbose {
                eprintln!("migrations applied now: {done:?}");
            }
            return Ok(0);
        }
        Command::Doctor => {
            let (lines, code) = doctor::doctor(&cfg).await;
            print!("{lines}");
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
    let report = app::run_checks(&cfg, name, &check_list, args).await?;
    app::print_report(&report, args, verbose);
    if report.exit_code != 0 && !args.dry_run {
        for c in report.checks.iter().filter(|c| c.error.is_some()) {
            eprintln!("sigov-alerts: error: {}: {}", c.check.command_name(), c.error.as_deref().unwrap_or_default());
        }
        if let Some(d) = &report.delivery
            && d.queued + d.failed + d.abandoned > 0
        {
            eprintln!(
                "sigov-alerts: error: delivering e-mails: {} sent, {} queued for retry, {} rejected, {} abandoned{}",
                d.sent,
                d.queued,
                d.failed,
                d.abandoned,
                d.failures.first().map(|f| format!(" (first: {})", f.reply)).unwrap_or_default()
            );
        }
    }
    Ok(report.exit_code)
}

/// Runs the command line; prints any error once on stderr; returns the exit code.
pub fn run(cli: Cli) -> u8 {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sigov-alerts: error: starting the runtime: {e}");
            return error::code::SOFTWARE;
        }
    };
    match rt.block_on(dispatch(&cli)) {
        Ok(code) => code,
        Err(e) => {
            let e: Error = e;
            eprintln!("sigov-alerts: error: {e}");
            e.exit_code()
        }
    }
}
