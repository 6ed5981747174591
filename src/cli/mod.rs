//! The command line (docs/design.md §1), clap derive only: the doc comments here
//! are `--help` and the man pages.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod outbox;
mod run;

pub use outbox::*;
pub use run::*;

/// SI-Gouvernance alerts: project deadlines, stage delays, overdue tasks,
/// budget overruns and maintenance-contract expiry, as one cron-driven binary.
///
/// Each check reads the app's database, writes the app's in-app alert rows,
/// records them in its own ledger and e-mails the recipients. Runs are
/// idempotent: a second run, a crash, a retry or two hosts at once never send
/// the same alert twice.
#[derive(Debug, Parser)]
#[command(name = "sigov-alerts", version, max_term_width = 100)]
#[command(after_long_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The exit codes, shown after `--help`.
pub const EXIT_CODES: &str = "\
Exit codes:
  0   everything due was recorded and every e-mail owed is delivered
  2   usage error
  64  refused on purpose: --at on a real run without --replay, or an instant out of range
  65  some e-mails were rejected permanently (recorded, not retried)
  69  the database is unreachable: nothing was done
  70  internal error
  74  alerts recorded and sent, but the metrics or log file could not be written
  75  temporary: lock held elsewhere, or e-mails still queued for retry
  77  the database user lacks a privilege the run needs
  78  configuration error: bad value, missing app tables or columns, migrations not applied";

/// Options shared by every command.
// The configuration flags read no environment through clap: config.rs reads
// the variables named in their help itself, so that it knows (and `config`
// shows) whether a value came from a flag or from the environment.
#[derive(Debug, Args, Default)]
pub struct GlobalArgs {
    /// TOML configuration file [default: /etc/sigov-alerts.toml if it exists]
    #[arg(long, global = true, env = "SIGOV_ALERTS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Database URL, mysql://user@host:3306/db?ssl-mode=... [env: SIGOV_ALERTS_DATABASE_URL, else DATABASE_URL]
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,

    /// Mail transport: smtp://host:port, smtps://host, or file:///dir (writes .eml files) [env: SIGOV_ALERTS_SMTP_URL]
    #[arg(long, global = true, value_name = "URL")]
    pub smtp_url: Option<String>,

    /// Time zone of the business day [default: Europe/Paris] [env: SIGOV_ALERTS_TIMEZONE]
    #[arg(long, global = true, value_name = "TZ")]
    pub timezone: Option<String>,

    /// Base URL of the web app, for links in e-mails [default: http://localhost:8000] [env: SIGOV_ALERTS_BASE_URL]
    #[arg(long, global = true, value_name = "URL")]
    pub base_url: Option<String>,

    /// Sender of the e-mails [default: SI-Gouvernance <noreply@si-gouvernance.com>] [env: SIGOV_ALERTS_FROM]
    #[arg(long, global = true, value_name = "ADDRESS")]
    pub from: Option<String>,

    /// Lock file guarding one host [default: /run/lock/sigov-alerts.<host>-<port>-<database>.lock] [env: SIGOV_ALERTS_LOCK_FILE]
    #[arg(long, global = true, value_name = "PATH")]
    pub lock_file: Option<PathBuf>,

    /// Wait this long for a held lock instead of exiting 75 (e.g. 30s; at most 1day) [default: 0s]
    #[arg(long, global = true, value_name = "DURATION")]
    pub wait_lock: Option<String>,

    /// Write node_exporter textfile metrics here at the end of every run [env: SIGOV_ALERTS_METRICS_FILE]
    #[arg(long, global = true, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,

    /// Also append log lines to this file (opened anew by every run) [env: SIGOV_ALERTS_LOG_FILE]
    #[arg(long, global = true, value_name = "PATH")]
    pub log_file: Option<PathBuf>,

    /// More output on stderr (-v summary, -vv debug)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only errors on stderr
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Log line format on stderr
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Colours in log lines
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

/// Log line formats.
#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Colour choice.
#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum Color {
    /// Colours only on a terminal.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Report formats.
#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum Format {
    /// Readable text.
    #[default]
    Text,
    /// Stable JSON, for CI and scripts.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// One check: one subcommand per entry of the check registry.
    #[command(flatten)]
    Check(CheckCommand),
    /// Run every check in order, then deliver; one report, one exit code
    RunAll(RunArgs),
    /// Create or upgrade the tool's own tables (idempotent)
    Migrate,
    /// Check configuration, database, tables, privileges, migrations, SMTP and lock path
    Doctor,
    /// Print the effective configuration: each key, its value and where it came from; secrets as ****
    ///
    /// One line per key, `key = value  (source)`, the source being `flag --NAME`, `env NAME`,
    /// `FILE:LINE` or `default`. Passwords are shown as ****. An invalid value is still printed,
    /// marked `# invalid: why`, and the command then exits 78. Connects to nothing.
    Config(ConfigArgs),
    /// Send the e-mails still queued (retries) without running any check
    Deliver(DeliverArgs),
    /// Past runs from the ledger: when, how long, rows and e-mails
    History(HistoryArgs),
    /// Last run and last success per check, queued and failed e-mail; exits 1 when unhealthy
    Status(StatusArgs),
    /// Queued, failed and abandoned e-mails; queue them again after a fix, or discard them
    ///
    /// Lists e-mails of the ledger, oldest queued first: by default those
    /// still owed or given up (queued, failed, abandoned), with their
    /// subject, attempts, last reply and next attempt. Times are in the
    /// configured time zone, with its offset. The ids shown are what
    /// `outbox retry` and `outbox discard` take.
    #[command(disable_help_subcommand = true)]
    Outbox(OutboxArgs),
    /// Print ready-to-paste crontab lines for this install
    Crontab(CrontabArgs),
    /// Print a shell completion script
    Completions(CompletionsArgs),
    /// Write the man pages into a directory (for packagers)
    #[command(hide = true)]
    GenerateMan {
        /// Output directory
        dir: PathBuf,
    },
}

impl Command {
    /// The options of a check command or `run-all`.
    pub fn run_args(&self) -> Option<&RunArgs> {
        match self {
            Command::Check(CheckCommand { args: a, .. }) | Command::RunAll(a) => Some(a),
            _ => None,
        }
    }
}

/// Options of `deliver`.
#[derive(Debug, Args, Clone)]
pub struct DeliverArgs {
    /// Send everything queued now, whatever its next attempt time (after an outage)
    #[arg(long)]
    pub now: bool,
    /// Report format on stdout (text only with -v)
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Options of `config`.
#[derive(Debug, Args, Clone)]
pub struct ConfigArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Options of `history`.
#[derive(Debug, Args, Clone)]
pub struct HistoryArgs {
    /// How many runs to show (a run is one command: all its checks)
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Options of `status`.
#[derive(Debug, Args, Clone)]
pub struct StatusArgs {
    /// Unhealthy when a check's last success is older than this
    #[arg(long, default_value = "26h", value_parser = humantime::parse_duration)]
    pub stale_after: std::time::Duration,
    /// Unhealthy when an e-mail has been queued longer than this
    #[arg(long, default_value = "6h", value_parser = humantime::parse_duration)]
    pub stuck_after: std::time::Duration,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Options of `crontab`.
#[derive(Debug, Args, Clone)]
pub struct CrontabArgs {
    /// One line per check at minutes 0, 5, 10, 15, 20 every 4 hours (the old schedule)
    #[arg(long, conflicts_with = "run_all")]
    pub staggered: bool,
    /// One `run-all` line every 4 hours (the default)
    #[arg(long)]
    pub run_all: bool,
}

/// Options of `completions`.
#[derive(Debug, Args, Clone)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
