//! The integration tests: one binary, real MariaDB, real SMTP over TCP.

mod all_checks;
mod cli;
mod common;
mod delivery;
mod history;
mod ops;
mod project_deadlines;
