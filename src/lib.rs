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
pub mod outbox_cmd;
pub mod pyfmt;
pub mod report;
pub mod runs;
pub mod schema;
pub mod signals;
mod stored;

use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use cli::{Cli, Color, Command, Format, LogFormat};
use config::Config;
use error::{Error, Result};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::{DefaultFields, Writer};
use tracing_subscriber::layer::{Context, Filter, SubscriberExt};
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

/// Target of the events meant for the log file only: the `sigov-alerts:
/// error:` and `warning:` lines, which stderr already shows as plain lines.
const FILE_ONLY: &str = "sigov_alerts::log_file";

/// The log file's field formatter. tracing-subscriber caches a span's
/// formatted fields in the span, keyed by the formatter's type: with a type
/// of its own the file layer formats span fields itself, never reusing the
/// stderr layer's (which carry ANSI escapes on a terminal).
struct FileFields(DefaultFields);

impl<'w> FormatFields<'w> for FileFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'w>, fields: R) -> std::fmt::Result {
        self.0.format_fields(writer, fields)
    }
}

/// A per-layer filter that never lets a callsite be cached as "always
/// enabled", so `enabled` runs before every span and event. tracing-subscriber
/// passes each per-layer decision from `enabled` to the layer through a
/// thread-local; a bare `enabled` check with no event after it (sqlx checks
/// `log_enabled!` after every statement) leaves a stale "disabled" there, and
/// the next always-enabled span or event is then silently dropped by both
/// layers whenever their levels differ (tokio-rs/tracing#2519).
struct Fresh<F>(F);

impl<S, F: Filter<S>> Filter<S> for Fresh<F> {
    fn enabled(&self, meta: &Metadata<'_>, cx: &Context<'_, S>) -> bool {
        self.0.enabled(meta, cx)
    }
    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if self.0.callsite_enabled(meta).is_never() { Interest::never() } else { Interest::sometimes() }
    }
    fn event_enabled(&self, event: &Event<'_>, cx: &Context<'_, S>) -> bool {
        self.0.event_enabled(event, cx)
    }
    fn max_level_hint(&self) -> Option<LevelFilter> {
        self.0.max_level_hint()
    }
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, cx: Context<'_, S>) {
        self.0.on_new_span(attrs, id, cx)
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, cx: Context<'_, S>) {
        self.0.on_record(id, values, cx)
    }
    fn on_enter(&self, id: &Id, cx: Context<'_, S>) {
        self.0.on_enter(id, cx)
    }
    fn on_exit(&self, id: &Id, cx: Context<'_, S>) {
        self.0.on_exit(id, cx)
    }
    fn on_close(&self, id: Id, cx: Context<'_, S>) {
        self.0.on_close(id, cx)
    }
}

/// Sets up tracing on stderr as the flags ask, and on `log_file` (path and
/// level) when given. The file has its own level, whatever `-v`, `-q` and
/// `SIGOV_ALERTS_LOG` say, and never gets ANSI escapes. A log file that
/// cannot be opened is not fatal: logging goes to stderr only, and the
/// returned message says why.
pub fn init_tracing(cli: &Cli, log_file: Option<(&Path, tracing::Level)>) -> Option<String> {
    let g = &cli.global;
    let level = match (g.quiet, g.verbose) {
        (true, _) => "error",
        (_, 0) => "warn",
        (_, 1) => "info",
        (_, 2) => "debug",
        _ => "trace",
    };
    let spec = log_filter_env().ok().flatten();
    let filter = match &spec {
        // `execute` refuses a filter that does not parse: this cannot fail.
        Some(s) => EnvFilter::builder().parse_lossy(s),
        None => EnvFilter::new(format!("warn,sigov_alerts={level}")),
    }
    .add_directive(format!("{FILE_ONLY}=off").parse().expect("a valid directive"));
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
    let mut problem = None;
    let file_layer = log_file.and_then(|(path, level)| {
        // Opened anew by every run, appending: rotation is a plain logrotate rule.
        let file = match std::fs::OpenOptions::new().create(true).append(true).open(path) {
            Ok(f) => f,
            Err(e) => {
                problem = Some(format!("opening the log file {}: {e}; logging to stderr only", path.display()));
                return None;
            }
        };
        let file = std::sync::Mutex::new(file);
        let l = tracing_subscriber::fmt::layer().with_writer(file).with_target(false).with_ansi(false);
        let l = if json {
            l.json().with_current_span(true).with_span_list(true).boxed()
        } else {
            l.fmt_fields(FileFields(DefaultFields::new())).boxed()
        };
        let filter = Targets::new().with_default(LevelFilter::WARN).with_target("sigov_alerts", level);
        Some(l.with_filter(Fresh(filter)))
    });
    let _ = tracing_subscriber::registry().with(stderr_layer.with_filter(Fresh(filter))).with(file_layer).try_init();
    problem
}

/// Writes to stdout; a closed pipe (`| head`) is not an error worth a panic.
pub fn out(s: &str) {
    use std::io::Write;
    let _ = std::io::stdout().write_all(s.as_bytes());
}

/// Writes one `sigov-alerts: error:` line to stderr, ignoring a closed pipe;
/// the log file gets it too.
pub fn err_line(s: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "sigov-alerts: error: {s}");
    tracing::error!(target: FILE_ONLY, "{s}");
}

/// Writes one `sigov-alerts: warning:` line to stderr, whatever `-q` says;
/// the log file gets it too.
pub fn warn_line(s: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "sigov-alerts: warning: {s}");
    tracing::warn!(target: FILE_ONLY, "{s}");
}

static OUTPUT_FAILED: AtomicBool = AtomicBool::new(false);

/// An output file (metrics, log) could not be written although the work
/// was done: one warning line naming it, and exit 74 at the end unless a
/// worse code applies.
pub fn output_failed(why: &str) {
    OUTPUT_FAILED.store(true, Ordering::SeqCst);
    warn_line(why);
}

pub(crate) fn print_json<T: serde::Serialize>(v: &T) {
    out(&format!("{}\n", serde_json::to_string_pretty(v).unwrap_or_default()));
}

/// The commands that do the work, by name: they append to the log file
/// and end with a run line there. The others only read (`doctor`, `status`,
/// `history`, `crontab`; dry runs write nothing either), so a monitoring
/// job or a preview run as another user never creates or needs the log file.
fn work_command(c: &Command) -> Option<&'static str> {
    let dry = |a: &cli::RunArgs| a.dry_run;
    Some(match c {
        Command::RunAll(a) if !dry(a) => "run-all",
        Command::Check(c) if !dry(&c.args) => c.check.command_name(),
        Command::Deliver(_) => "deliver",
        Command::Migrate => "migrate",
        _ => return None,
    })
}

/// An info event with `fields`, then the counts `n` (rows, skipped, sent,
/// queued, failed), then `message`: the run and check lines of the log.
macro_rules! counts_event {
    ([$($field:tt)*], $n:expr, $message:literal) => {
        tracing::info!(
            $($field)*,
            rows = $n.rows,
            skipped = $n.skipped,
            sent = $n.sent,
            queued = $n.queued,
            failed = $n.failed,
            $message
        )
    };
}

/// What a command did, for its run line.
#[derive(Default)]
struct Summary {
    /// The run's span (run id, command), when the run got one.
    span: Option<tracing::Span>,
    /// Rows and e-mails of the whole run.
    totals: Option<runs::Counts>,
}

/// Runs the command; prints its error, if any, once on stderr (and in the
/// log file); logs one line for the run; returns the exit code.
async fn dispatch(cli: &Cli) -> u8 {
    let started = Instant::now();
    let mut summary = Summary::default();
    let result = execute(cli, &mut summary).await;
    let code = match result {
        Ok(code) if OUTPUT_FAILED.load(Ordering::SeqCst) => error::merge_exit(code, error::code::IOERR),
        Ok(code) => code,
        Err(e) => {
            err_line(&e.to_string());
            e.exit_code()
        }
    };
    if let Some(command) = work_command(&cli.command) {
        let duration_ms = started.elapsed().as_millis() as u64;
        let span = summary.span.unwrap_or_else(tracing::Span::none);
        span.in_scope(|| match summary.totals {
            Some(t) => counts_event!([command, exit_code = code, duration_ms], t, "run finished"),
            None => tracing::info!(command, exit_code = code, duration_ms, "run finished"),
        });
    }
    code
}

async fn execute(cli: &Cli, summary: &mut Summary) -> Result<u8> {
    if let Some(args) = cli.command.run_args() {
        args.refuse()?;
    }
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
    db::set_statement_timeout(cfg.database_timeout);
    log_filter_env()?;
    let work = work_command(&cli.command);
    let log_file = cfg.log_file.as_deref().filter(|_| work.is_some()).map(|p| (p, cfg.log_file_level));
    if let Some(why) = init_tracing(cli, log_file) {
        output_failed(&why);
    }
    signals::listen();
    let verbose = cli.global.verbose > 0;
    let show_progress = !cli.global.quiet && cli.global.log_format == LogFormat::Text;
    let (check_list, args): (Vec<checks::Check>, _) = match &cli.command {
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
            let mut db = connect_migrated(&cfg).await?;
            let runs = history::history(&mut db, a.limit, cfg.timezone).await;
            db.close().await;
            let runs = runs?;
            match a.format {
                Format::Json => print_json(&runs),
                Format::Text => out(&history::history_text(&runs, cfg.timezone)),
            }
            return Ok(0);
        }
        Command::Status(a) => {
            let mut db = connect_migrated(&cfg).await?;
            let s = history::status(&mut db, a.stale_after, a.stuck_after, cfg.timezone).await;
            db.close().await;
            let s = s?;
            match a.format {
                Format::Json => print_json(&s),
                Format::Text => out(&history::status_text(&s, cfg.timezone)),
            }
            return Ok(if s.healthy { 0 } else { 1 });
        }
        Command::Outbox(a) => return outbox_cmd::run(&cfg, a, cli.global.quiet).await,
        Command::Deliver(a) => {
            let pb = report::progress(show_progress);
            let (d, code) = app::deliver_queued(&cfg, &pb, a.now).await?;
            summary.totals = Some(runs::Counts {
                sent: d.sent,
                queued: d.queued,
                failed: d.failed + d.abandoned,
                ..Default::default()
            });
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
        Command::RunAll(a) => (checks::Check::ALL.to_vec(), a),
        Command::Check(c) => (vec![c.check], &c.args),
    };
    let name = match &cli.command {
        Command::RunAll(_) => "run-all",
        _ => check_list[0].command_name(),
    };
    let pb = report::progress(show_progress && !args.dry_run);
    let report = app::run_checks(&cfg, name, &check_list, args, &pb).await?;
    if !report.dry_run {
        log_checks(&report, summary);
    }
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

/// Connects for a report on our tables, refusing before `migrate` (78).
async fn connect_migrated(cfg: &Config) -> Result<db::Db> {
    let mut db = db::Db::connect(cfg.database()?).await?;
    match db.require_migrated().await {
        Ok(()) => Ok(db),
        Err(e) => {
            db.close().await;
            Err(e)
        }
    }
}

/// One info line per check with its counts after delivery, in the run's
/// span; the run's totals for its run line.
fn log_checks(report: &report::RunReport, summary: &mut Summary) {
    let span = tracing::info_span!("run", run_id = tracing::field::Empty, command = report.command.as_str());
    if let Some(id) = &report.run_id {
        span.record("run_id", id.as_str());
    }
    let mut t = runs::Counts::default();
    for c in &report.checks {
        let n = &c.counts;
        tracing::info_span!(parent: &span, "check", check = c.check.slug())
            .in_scope(|| counts_event!([status = c.status.as_str()], n, "check finished"));
        t.rows += n.rows;
        t.skipped += n.skipped;
        t.sent += n.sent;
        t.queued += n.queued;
        t.failed += n.failed;
    }
    summary.span = Some(span);
    summary.totals = Some(t);
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
    rt.block_on(dispatch(&cli))
}
