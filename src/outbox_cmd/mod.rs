//! `outbox`: the outbox made visible and steerable. Lists e-mails of the
//! ledger with their app row's subject, times in the business time zone;
//! `retry` queues e-mails again to each recipient's current address;
//! `discard` cancels queued ones, recording who and why. Each action is one
//! transaction: the selected rows locked (`SELECT … FOR UPDATE`), one
//! set-based UPDATE, the report. No run lock: outbox claims keep deliverers
//! and operators apart.
//!
//! - `list`: the listing, as a table or JSON;
//! - `actions`: `retry` and `discard`, and who acts.

use chrono_tz::Tz;

use crate::cli::{OutboxAction, OutboxArgs};
use crate::config::Config;
use crate::db::Db;
use crate::error::Result;

mod actions;
mod list;

pub use actions::{discard, operator, retry};
pub use list::{Entry, list, list_text};

use crate::outbox::DeliveryState as S;

/// The states `outbox` lists by default.
pub const DEFAULT_STATES: [&str; 3] = [S::Queued.as_str(), S::Failed.as_str(), S::Abandoned.as_str()];

/// The states `retry` takes (`queued` ones are refreshed).
pub const RETRYABLE: [&str; 6] = [
    S::Queued.as_str(),
    S::Failed.as_str(),
    S::Abandoned.as_str(),
    S::Discarded.as_str(),
    S::BadAddress.as_str(),
    S::NoEmail.as_str(),
];

/// `s` for a count other than one: `1 e-mail`, `2 e-mails`.
fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Connects and checks that our migrations are applied.
pub async fn connect(cfg: &Config) -> Result<Db> {
    let mut db = Db::connect(cfg.database()?).await?;
    if !db.is_migrated().await? {
        db.close().await;
        return Err(crate::db::not_migrated());
    }
    Ok(db)
}

/// `outbox` and its actions; returns the exit code.
pub async fn run(cfg: &Config, args: &OutboxArgs, quiet: bool) -> Result<u8> {
    if args.action.is_some() && args.list.any() {
        // A usage error, reported (exit 2) as clap reports its own.
        <crate::cli::Cli as clap::CommandFactory>::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                "--state, --check, --address, --limit and --format list the outbox; they do not go with `retry` or `discard`",
            )
            .exit();
    }
    let mut db = connect(cfg).await?;
    let tz = cfg.timezone;
    let result = match &args.action {
        None => list(&mut db, tz, &args.list).await,
        Some(action) => in_transaction(&mut db, tz, action, quiet).await,
    };
    db.close().await;
    crate::out(&result?);
    Ok(0)
}

/// One transaction: the selected rows locked, one UPDATE, the report;
/// committed when the action succeeds, else rolled back.
async fn in_transaction(db: &mut Db, tz: Tz, action: &OutboxAction, quiet: bool) -> Result<String> {
    db.exec("starting a transaction", "START TRANSACTION").await?;
    let done = match action {
        OutboxAction::Retry(a) => retry(db, tz, a, quiet).await,
        OutboxAction::Discard(a) => discard(db, tz, a, quiet).await,
    };
    match done {
        Ok(report) => db.exec("committing", "COMMIT").await.map(|()| report),
        Err(e) => {
            let _ = db.exec("rolling back", "ROLLBACK").await;
            Err(e)
        }
    }
}
