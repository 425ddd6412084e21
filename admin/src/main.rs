//! `seatflow-admin`: the vendor's command line (the commands are in the library).

use std::process::ExitCode;

use clap::Parser as _;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match seatflow_admin::run(seatflow_admin::Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("seatflow-admin: {error:#}");
            ExitCode::FAILURE
        }
    }
}
