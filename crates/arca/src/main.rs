//! The `arca` binary: `arca server` runs the registry; the other commands (`cli`) manage models
//! in any MLflow-compatible registry, over HTTP or in an Arca store opened directly (`local`).

mod admin;
mod cli;
mod local;
mod server;

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.command {
        // The server reports a failure as it always has: `Error: ` and the cause chain, code 1.
        cli::Command::Server(args) => match server::run(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("Error: {err:?}");
                ExitCode::FAILURE
            }
        },
        cli::Command::Admin(args) => match admin::run(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: {err:#}");
                ExitCode::FAILURE
            }
        },
        command => cli::run(command).await,
    }
}
