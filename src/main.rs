//! Entry point: parse, set up logging, run, exit with the run's code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = sigov_alerts::cli::Cli::parse();
    sigov_alerts::init_tracing(&cli);
    ExitCode::from(sigov_alerts::run(cli))
}
