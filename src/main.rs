//! Entry point: parse, run, exit with the run's code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    ExitCode::from(sigov_alerts::run(sigov_alerts::cli::Cli::parse()))
}
