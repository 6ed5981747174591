//! The integration tests: one binary, real MariaDB, real SMTP over TCP.

mod all_checks;
mod bad_data;
mod cli;
mod common;
mod completions;
mod config;
mod day_one;
mod delivery;
mod faults;
mod galera;
mod history;
mod migrate;
mod ops;
mod outbox;
mod project_deadlines;
mod secrets;
