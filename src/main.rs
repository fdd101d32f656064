//! The `danerollover` binary: parse the command line, run the command, render the outcome.
//! Everything else lives in the library (see `lib.rs` for the map).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = danerollover::cli::Cli::parse();
    match danerollover::commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("danerollover: {}", danerollover::error::render(&err));
            ExitCode::from(err.exit_code())
        }
    }
}
