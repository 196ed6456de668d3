//! The `arca` binary. `arca server` starts the registry with MLflow-compatible flags.

mod server;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "arca",
    version,
    about = "A fast, MLflow-compatible model registry"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the registry server (a drop-in for `mlflow server`).
    Server(server::ServerArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Server(args) => server::run(args).await,
    }
}
