//! The options of `outbox`: the listing, `retry` and `discard`.

use clap::{Args, Subcommand, ValueEnum};

use super::{Format, parse_date};

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

/// Parses a check given by command name (`check-budget`) or slug (`budget`).
pub fn parse_check(s: &str) -> Result<crate::checks::Check, String> {
    let norm = s.trim().to_ascii_lowercase().replace('-', "_");
    let slug = norm.strip_prefix("check_").unwrap_or(&norm);
    crate::checks::Check::from_slug(slug).ok_or_else(|| {
        let names: Vec<&str> = crate::checks::Check::ALL.iter().map(|c| c.command_name()).collect();
        format!("not a check; one of {}", names.join(", "))
    })
}
