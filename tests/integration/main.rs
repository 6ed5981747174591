//! The integration tests: one binary, real MariaDB, real SMTP over TCP.

mod all_checks;
mod cli;
mod common;
mod config;
mod delivery;
mod ops;
mod project_deadlines;
