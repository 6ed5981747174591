//! The options of the check commands and `run-all` ([`RunArgs`]), the check
//! subcommands made from the check registry ([`CheckCommand`]), and the
//! parsers of the dates and instants they take.

use chrono::{DateTime, FixedOffset};
use clap::{Args, Subcommand};

use super::Format;
use crate::checks::Check;

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

/// Parses a calendar day, `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|e| format!("not a date ({e}), e.g. 2026-03-16"))
}

/// Parses `--at`.
pub fn parse_instant(s: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(s.trim())
        .map_err(|e| format!("not an RFC 3339 instant ({e}), e.g. 2026-03-16T08:00:00+01:00"))
}
