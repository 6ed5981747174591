//! The integration tests: one binary, real MariaDB, real SMTP over TCP.

mod all_checks;
mod bad_data;
mod cli;
mod common;
mod completions;
mod config;
mod delivery;
mod galera;
mod ops;
mod project_deadlines;
