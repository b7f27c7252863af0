//! The `tally` binary: the terminal application and its command-line tools.

use std::process::ExitCode;

fn main() -> ExitCode {
    match tally_app::cli::run(std::env::args_os()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("tally: {error:#}");
            ExitCode::FAILURE
        }
    }
}
