//! `arca aliases ...`: named pointers (`champion`, `staging`) at model versions.

use super::output::{self, Format, Table};
use super::versions::parse_version;
use super::{CliResult, OutputArgs, RegistryArgs, target};
use arca_core::model::{AliasName, VersionNumber};
use clap::{Args, Subcommand};
use serde_json::json;

#[derive(Args)]
pub struct AliasesCommand {
    #[command(flatten)]
    pub(super) registry: RegistryArgs,
    #[command(flatten)]
    pub(super) output: OutputArgs,
    #[command(subcommand)]
    command: AliasesSubcommand,
}

#[derive(Subcommand)]
enum AliasesSubcommand {
    /// List a model's aliases.
    List {
        /// The registered model.
        model: String,
    },
    /// Point an alias at a version (moving it if it pointed elsewhere).
    Set {
        /// The registered model.
        model: String,
        /// The alias: letters, digits, '_' and '-' (not `latest`, not `v<number>`).
        alias: String,
        /// The version number it points at.
        #[arg(value_parser = parse_version)]
        version: VersionNumber,
    },
    /// Move an alias back to the version it pointed at before its last change (Arca only; the
    /// rollback is itself recorded in the history).
    Rollback {
        /// The registered model.
        model: String,
        /// The alias to move back.
        alias: String,
    },
    /// Remove an alias; the version stays.
    Delete {
        /// The registered model.
        model: String,
        /// The alias to remove.
        alias: String,
    },
}

pub async fn run(cmd: AliasesCommand) -> CliResult {
    let writes = !matches!(cmd.command, AliasesSubcommand::List { .. });
    let format = cmd.output.format();
    let registry = target::open(&cmd.registry, writes).await?;
    let r = registry.get();
    let result = async {
        match cmd.command {
            AliasesSubcommand::List { model } => {
                let model = r.get_model(&model).await?;
                match format {
                    Format::Json => {
                        output::print_json(&output::model_json(&model)["aliases"].clone())
                    }
                    Format::Table => {
                        let mut table = Table::new(&["ALIAS", "VERSION"]);
                        for a in &model.aliases {
                            table.row(vec![a.alias.clone(), a.version.to_string()]);
                        }
                        table.print();
                    }
                }
            }
            AliasesSubcommand::Set {
                model,
                alias,
                version,
            } => {
                let alias = AliasName::parse(&alias)?;
                r.set_alias(&model, &alias, version).await?;
                match format {
                    Format::Json => output::print_json(
                        &json!({"name": model, "alias": alias.as_str(), "version": version.get()}),
                    ),
                    Format::Table => {
                        println!("{model}@{} -> version {version}", alias.as_str())
                    }
                }
            }
            AliasesSubcommand::Rollback { model, alias } => {
                let version = super::history::rollback_alias(&registry, &model, &alias).await?;
                match format {
                    Format::Json => output::print_json(
                        &json!({"name": model, "alias": alias, "version": version}),
                    ),
                    Format::Table => println!("{model}@{alias} -> version {version} (rolled back)"),
                }
            }
            AliasesSubcommand::Delete { model, alias } => {
                r.delete_alias(&model, &alias).await?;
                match format {
                    Format::Json => {
                        output::print_json(&json!({"deleted": {"name": model, "alias": alias}}))
                    }
                    Format::Table => println!("Deleted alias {model}@{alias}."),
                }
            }
        }
        Ok(())
    }
    .await;
    registry.close().await;
    result
}
