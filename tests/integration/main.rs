//! The integration tests: one binary, real MariaDB, real SMTP over TCP.

mod all_checks;
mod cli;
mod common;
mod day_one;
mod delivery;
mod ops;
mod project_deadlines;
