//! The command line (docs/design.md §1), clap derive only: the doc comments here
//! are `--help` and the man pages.

use std::path::PathBuf;

use chrono::{DateTime, FixedOffset};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::checks::Check;

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

/// Options of every check command.
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// The run instant, RFC 3339 (default: now); "today" derives from it
    #[arg(long, value_name = "INSTANT", value_parser = parse_instant)]
    pub at: Option<DateTime<FixedOffset>>,

    /// Write nothing, send nothing; show what a real run would do
    #[arg(long)]
    pub dry_run: bool,

    /// Allow a real run with --at: it writes rows dated at that instant and
    /// mails them now (to replay a missed run)
    #[arg(long)]
    pub replay: bool,

    /// Report format on stdout
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// The years an instant may fall in: the tables' DATETIME columns hold
/// 1000-01-01 to 9999-12-31 and the business day after it must exist; the
/// margin keeps every conversion safe.
pub const INSTANT_YEARS: std::ops::RangeInclusive<i32> = 1970..=9998;

impl RunArgs {
    /// Refuses, on purpose, what parses but must not run (exit 64): a real
    /// run at another instant without `--replay`, `--replay` without `--at`,
    /// an instant the tables cannot hold.
    pub fn refuse(&self) -> Result<(), crate::error::Error> {
        use chrono::Datelike;
        let refuse = |m: String| Err(crate::error::Error::Refused(m));
        match self.at {
            Some(at) if !INSTANT_YEARS.contains(&at.with_timezone(&chrono::Utc).year()) => refuse(format!(
                "--at {}: outside the instants the tables can hold (years {} to {})",
                at.to_rfc3339(),
                INSTANT_YEARS.start(),
                INSTANT_YEARS.end()
            )),
            Some(_) if !self.dry_run && !self.replay => refuse(
                "--at on a real run needs --replay: it writes rows dated at that instant and mails them now".into(),
            ),
            None if self.replay => refuse("--replay needs --at: the instant of the run to replay".into()),
            _ => Ok(()),
        }
    }
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

/// A check's subcommand: its name and help come from the check registry
/// ([`Check::spec`]), its options are [`RunArgs`].
#[derive(Debug, Clone)]
pub struct CheckCommand {
    /// The check.
    pub check: Check,
    /// Its options.
    pub args: RunArgs,
}

impl clap::FromArgMatches for CheckCommand {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let Some((name, sub)) = m.subcommand() else {
            return Err(clap::Error::new(clap::error::ErrorKind::MissingSubcommand));
        };
        let check =
            Check::from_command(name).ok_or_else(|| clap::Error::new(clap::error::ErrorKind::InvalidSubcommand))?;
        Ok(CheckCommand { check, args: RunArgs::from_arg_matches(sub)? })
    }

    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl Subcommand for CheckCommand {
    fn augment_subcommands(mut cmd: clap::Command) -> clap::Command {
        for c in Check::ALL {
            let sub = RunArgs::augment_args(clap::Command::new(c.command_name()));
            cmd = cmd.subcommand(sub.about(c.spec().about).long_about(None));
        }
        cmd
    }

    fn augment_subcommands_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_subcommands(cmd)
    }

    fn has_subcommand(name: &str) -> bool {
        Check::from_command(name).is_some()
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

/// Options of `outbox`: the listing, or one action.
#[derive(Debug, Args, Clone)]
pub struct OutboxArgs {
    #[command(subcommand)]
    pub action: Option<OutboxAction>,
    #[command(flatten)]
    pub list: OutboxListArgs,
}

/// Options of `outbox` (the list).
#[derive(Debug, Args, Clone)]
pub struct OutboxListArgs {
    /// Only e-mails in this state (repeatable) [default: queued, failed and abandoned]
    #[arg(long, value_enum, value_name = "STATE", action = clap::ArgAction::Append)]
    pub state: Vec<OutboxState>,
    /// Only e-mails of this check (command name or slug: check-budget or budget)
    #[arg(long, value_name = "NAME", value_parser = parse_check)]
    pub check: Option<crate::checks::Check>,
    /// Only e-mails to this address (case-insensitive)
    #[arg(long, value_name = "ADDR")]
    pub address: Option<String>,
    /// Show at most this many e-mails, oldest first (0: all); the summary counts them all [default: 100]
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,
    /// Output format [default: text]
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

impl OutboxListArgs {
    /// Whether any listing option was given (they do not go with `retry` or `discard`).
    pub fn any(&self) -> bool {
        !self.state.is_empty()
            || self.check.is_some()
            || self.address.is_some()
            || self.limit.is_some()
            || self.format.is_some()
    }
}

/// A ledger state `outbox --state` selects.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OutboxState {
    /// Waiting to be sent (again).
    Queued,
    /// Rejected permanently by the relay.
    Failed,
    /// Given up: too old, or its app row is gone.
    Abandoned,
    /// Cancelled by an operator.
    Discarded,
    /// Accepted by the relay.
    Sent,
    /// Never mailed: the recipient had no address.
    #[value(name = "no_email")]
    NoEmail,
    /// Never mailed: the address was not a valid mailbox.
    #[value(name = "bad_address")]
    BadAddress,
    /// Every state.
    All,
}

impl OutboxState {
    /// The ledger state, `None` for `all`.
    pub fn as_state(self) -> Option<&'static str> {
        use crate::outbox::DeliveryState as D;
        Some(
            match self {
                OutboxState::Queued => D::Queued,
                OutboxState::Failed => D::Failed,
                OutboxState::Abandoned => D::Abandoned,
                OutboxState::Discarded => D::Discarded,
                OutboxState::Sent => D::Sent,
                OutboxState::NoEmail => D::NoEmail,
                OutboxState::BadAddress => D::BadAddress,
                OutboxState::All => return None,
            }
            .as_str(),
        )
    }
}

/// What `outbox` does besides listing.
#[derive(Debug, Subcommand, Clone)]
pub enum OutboxAction {
    /// Queue e-mails again, to the address the app has now for each recipient
    ///
    /// Takes e-mails that failed, were abandoned or discarded, or were never
    /// mailed (no or bad address), and refreshes queued ones: each is queued
    /// again with no attempts, no retry time and its original Message-ID,
    /// addressed to the recipient's current address in the app. An e-mail
    /// whose recipient now has no valid address, is disabled or gone, whose
    /// app row is gone, that was already sent, or that a deliverer holds right
    /// now is skipped and said so. Selectors combine: an e-mail must match
    /// all of those given.
    #[command(group = clap::ArgGroup::new("select").required(true).multiple(true))]
    Retry(RetryArgs),
    /// Cancel queued e-mails: they are never sent (`retry` brings them back)
    ///
    /// Records who (--by, else $SUDO_USER, $USER, $LOGNAME, else the uid) and
    /// why. An e-mail a deliverer holds right now is skipped and said so.
    /// Selectors combine: an e-mail must match all of those given.
    #[command(group = clap::ArgGroup::new("select").required(true).multiple(true))]
    Discard(DiscardArgs),
}

/// Options of `outbox retry`.
#[derive(Debug, Args, Clone)]
pub struct RetryArgs {
    /// Ledger ids of the e-mails (as `outbox` shows them)
    #[arg(value_name = "ID", group = "select")]
    pub ids: Vec<u64>,
    /// Every e-mail rejected permanently (state failed)
    #[arg(long, group = "select")]
    pub failed: bool,
    /// Every e-mail that was addressed to this address (case-insensitive)
    #[arg(long, value_name = "ADDR", group = "select")]
    pub address: Option<String>,
    /// Who asks, for the log [default: $SUDO_USER, $USER, $LOGNAME, else the uid]
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
}

/// Options of `outbox discard`.
#[derive(Debug, Args, Clone)]
pub struct DiscardArgs {
    /// Ledger ids of the e-mails (as `outbox` shows them)
    #[arg(value_name = "ID", group = "select")]
    pub ids: Vec<u64>,
    /// Every queued e-mail of this check (command name or slug)
    #[arg(long, value_name = "NAME", value_parser = parse_check, group = "select")]
    pub check: Option<crate::checks::Check>,
    /// Every e-mail queued before the start of this day (YYYY-MM-DD) in the configured time zone
    #[arg(long, value_name = "DATE", value_parser = parse_date, group = "select")]
    pub before: Option<chrono::NaiveDate>,
    /// Why, recorded with each e-mail
    #[arg(long, value_name = "TEXT", default_value = "discarded by an operator")]
    pub reason: String,
    /// Who, recorded with each e-mail [default: $SUDO_USER, $USER, $LOGNAME, else the uid]
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
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

/// Parses a check given by command name (`check-budget`) or slug (`budget`).
pub fn parse_check(s: &str) -> Result<crate::checks::Check, String> {
    let norm = s.trim().to_ascii_lowercase().replace('-', "_");
    let slug = norm.strip_prefix("check_").unwrap_or(&norm);
    crate::checks::Check::from_slug(slug).ok_or_else(|| {
        let names: Vec<&str> = crate::checks::Check::ALL.iter().map(|c| c.command_name()).collect();
        format!("not a check; one of {}", names.join(", "))
    })
}

/// Parses a calendar day, `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|e| format!("not a date ({e}), e.g. 2026-03-16"))
}

/// Parses `--at`.
pub fn parse_instant(s: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(s.trim())
        .map_err(|e| format!("not an RFC 3339 instant ({e}), e.g. 2026-03-16T08:00:00+01:00"))
}
