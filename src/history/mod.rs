//! `history` and `status`: what ran when, how long, what it created and
//! sent, and what is still owed, read from our tables (they replace Flower).
//!
//! - `runs`: `history`, the latest runs with their checks;
//! - `status`: `status`, the health of the checks and of the outbox;
//! - `time`: stored UTC times in the business time zone (also for `outbox`).

mod runs;
mod status;
pub mod time;

pub use runs::{CheckEntry, RunEntry, STATUS_LEGEND, Tally, history, history_text};
pub use status::{CheckStatus, REJECTIONS_SHOWN, Rejection, Status, status, status_text};
pub use time::{local, text};
