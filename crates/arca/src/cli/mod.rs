//! The `arca` command line: `arca server`, and commands that manage models in any
//! MLflow-compatible registry through the `ModelRegistry` trait.
//!
//! Every registry command takes `--tracking-uri`: an `http(s)://` address (Arca or a plain
//! `mlflow server`) or an Arca store opened in-process (a data directory, `sqlite:///...`,
//! `postgresql://...`). Results go to standard output as a table that fits the terminal or as
//! JSON (`--output json`) whose shape is stable for scripts; progress bars and notes go to
//! standard error. A failure is one line on standard error and an exit code that says what kind
//! of failure it was (see [`Failure`]). These global flags may go before or after the command
//! ([`global`] explains how).

mod aliases;
mod copy;
mod global;
mod history;
mod models;
mod output;
mod pull;
mod target;
mod time;
mod transfer;
mod versions;
mod webhooks;

use crate::server::ServerArgs;
use arca_core::model::Tag;
use arca_core::registry::RegistryError;
use clap::{Args, Subcommand};
use output::Format;
use std::process::ExitCode;

pub use global::Cli;
pub use target::user_name;

#[derive(Subcommand)]
pub enum Command {
    /// Start the registry server (a drop-in for `mlflow server`).
    Server(ServerArgs),
    /// List, show, create, update, rename and delete registered models.
    Models(models::ModelsCommand),
    /// Register versions from files, list, show, update, move between stages, delete.
    Versions(versions::VersionsCommand),
    /// Point aliases such as `champion` at versions.
    Aliases(aliases::AliasesCommand),
    /// Download a version's files, e.g. `arca pull models:/churn@champion --output ./model`.
    Pull(pull::PullArgs),
    /// Who changed a model, and how (Arca only); `arca history verify` checks the log's chain.
    History(history::HistoryCommand),
    /// Copy models with their versions, metadata and files from one registry to another.
    Copy(copy::CopyArgs),
    /// Webhooks of a registry server: list, create, delete, test, and their deliveries.
    Webhooks(webhooks::WebhooksCommand),
    /// Users and API tokens of an Arca store: `arca admin create-user alice --admin`.
    Admin(crate::admin::AdminArgs),
    /// Print a shell completion script: `arca completions bash > /etc/bash_completion.d/arca`.
    Completions(CompletionsArgs),
}

/// Which registry a command talks to.
#[derive(Args, Clone, Debug)]
pub struct RegistryArgs {
    #[arg(long, global = true, value_name = "URI", help = global::TRACKING_URI_HELP,
        long_help = global::TRACKING_URI_LONG_HELP, help_heading = global::HEADING,
        display_order = 900)]
    pub tracking_uri: Option<String>,
    #[arg(long, global = true, value_name = "URI", help = global::ARTIFACTS_HELP,
        long_help = global::ARTIFACTS_LONG_HELP, help_heading = global::HEADING,
        display_order = 901)]
    pub artifacts_destination: Option<String>,
}

impl RegistryArgs {
    fn artifacts(&self) -> Option<String> {
        self.artifacts_destination
            .clone()
            .or_else(|| std::env::var("ARCA_ARTIFACTS_DESTINATION").ok())
            .filter(|v| !v.is_empty())
    }
}

#[derive(Args, Clone, Copy, Debug)]
pub struct OutputArgs {
    // Not defaulted here, so a value given before the command can tell it was not given after.
    #[arg(long, short = 'o', global = true, value_enum, value_name = "FORMAT",
        visible_alias = "format", help = global::OUTPUT_HELP, long_help = global::OUTPUT_LONG_HELP,
        hide_possible_values = true, help_heading = global::HEADING, display_order = 902)]
    pub output: Option<Format>,
}

impl OutputArgs {
    pub fn format(&self) -> Format {
        self.output.unwrap_or(Format::Table)
    }
}

#[derive(Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// A failed command: the exit code and the one line to print.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub const FAILURE: u8 = 1;
    pub const INVALID: u8 = 2;
    pub const NOT_FOUND: u8 = 3;
    pub const ALREADY_EXISTS: u8 = 4;
    pub const UNAVAILABLE: u8 = 5;
    pub const UNAUTHORIZED: u8 = 6;
    pub const INTEGRITY: u8 = 7;

    pub fn new(code: u8, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Failure {
        Failure::new(Failure::INVALID, message)
    }
}

impl From<RegistryError> for Failure {
    fn from(err: RegistryError) -> Failure {
        let code = match &err {
            RegistryError::NotFound(_) => Failure::NOT_FOUND,
            RegistryError::AlreadyExists(_) => Failure::ALREADY_EXISTS,
            RegistryError::Invalid(_) => Failure::INVALID,
            RegistryError::Unauthorized(_) => Failure::UNAUTHORIZED,
            RegistryError::Unavailable(_) => Failure::UNAVAILABLE,
            RegistryError::Integrity(_) => Failure::INTEGRITY,
            RegistryError::Unsupported(_) | RegistryError::Other(_) => Failure::FAILURE,
        };
        Failure::new(code, err.to_string())
    }
}

impl From<arca_core::Error> for Failure {
    fn from(err: arca_core::Error) -> Failure {
        RegistryError::from(err).into()
    }
}

impl From<anyhow::Error> for Failure {
    fn from(err: anyhow::Error) -> Failure {
        Failure::new(Failure::FAILURE, format!("{err:#}"))
    }
}

pub type CliResult<T = ()> = Result<T, Failure>;

/// Runs a registry command and turns its outcome into an exit code.
pub async fn run(command: Command) -> ExitCode {
    let result = match command {
        Command::Server(_) | Command::Admin(_) => unreachable!("main runs these itself"),
        Command::Models(cmd) => models::run(cmd).await,
        Command::Versions(cmd) => versions::run(cmd).await,
        Command::Aliases(cmd) => aliases::run(cmd).await,
        Command::Pull(args) => pull::run(args).await,
        Command::Copy(args) => copy::run(args).await,
        Command::Webhooks(cmd) => webhooks::run(cmd).await,
        Command::History(cmd) => history::run(cmd).await,
        Command::Completions(args) => {
            let mut cmd = global::completion_command();
            clap_complete::generate(args.shell, &mut cmd, "arca", &mut std::io::stdout());
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            // One line: a message that spans lines is joined, so scripts can grep it.
            let message = failure
                .message
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            eprintln!("error: {message}");
            ExitCode::from(failure.code)
        }
    }
}

/// `KEY=VALUE`, as `--tag` and `--param` take it.
pub fn key_value(raw: &str) -> Result<(String, String), String> {
    match raw.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got '{raw}'")),
    }
}

/// `KEY=NUMBER`, as `--metric` takes it.
pub fn key_number(raw: &str) -> Result<(String, f64), String> {
    let (key, value) = key_value(raw)?;
    let number = value
        .trim()
        .parse::<f64>()
        .map_err(|_| format!("expected KEY=NUMBER, got '{raw}'"))?;
    Ok((key, number))
}

/// Tags from `KEY=VALUE` pairs, checked as the registry checks them.
pub fn tags(pairs: &[(String, String)]) -> CliResult<Vec<Tag>> {
    pairs
        .iter()
        .map(|(k, v)| Tag::parse(k, v).map_err(Failure::from))
        .collect()
}

/// Destructive commands ask for `--yes` rather than prompting, so scripts never hang.
pub fn require_yes(yes: bool, what: &str) -> CliResult {
    if yes {
        Ok(())
    } else {
        Err(Failure::invalid(format!(
            "{what} cannot be undone; pass --yes to confirm."
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
        global::completion_command().debug_assert();
    }

    #[test]
    fn pairs_split_at_the_first_equals_sign() {
        assert_eq!(key_value("a=b=c").unwrap(), ("a".into(), "b=c".into()));
        assert_eq!(key_value("a=").unwrap(), ("a".into(), String::new()));
        assert!(key_value("=b").is_err());
        assert!(key_value("ab").is_err());
        assert_eq!(key_number("acc=0.5").unwrap(), ("acc".into(), 0.5));
        assert!(key_number("acc=high").is_err());
    }
}
