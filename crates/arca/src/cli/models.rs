//! `arca models ...`: registered models.

use super::output::{self, Format};
use super::{CliResult, OutputArgs, RegistryArgs, key_value, require_yes, tags, target};
use arca_core::model::{ModelName, parse_description};
use arca_core::registry::{ModelQuery, ModelUpdate};
use clap::{Args, Subcommand};
use serde_json::json;

#[derive(Args)]
pub struct ModelsCommand {
    #[command(flatten)]
    pub(super) registry: RegistryArgs,
    #[command(flatten)]
    pub(super) output: OutputArgs,
    #[command(subcommand)]
    command: ModelsSubcommand,
}

#[derive(Subcommand)]
enum ModelsSubcommand {
    /// List registered models, by name.
    List {
        /// Only this name, or names matching a SQL LIKE pattern when it contains `%` (`churn-%`).
        #[arg(long)]
        name: Option<String>,
        /// Only models with this tag (repeatable; all must match).
        #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = key_value)]
        tags: Vec<(String, String)>,
        /// At most this many models.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Show a registered model.
    Get {
        /// The registered model.
        name: String,
    },
    /// Create a registered model.
    Create {
        /// The new model's name.
        name: String,
        /// A description of the model.
        #[arg(long, short = 'd')]
        description: Option<String>,
        /// A tag to set (repeatable).
        #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = key_value)]
        tags: Vec<(String, String)>,
    },
    /// Change a model's description or tags.
    Update {
        /// The registered model.
        name: String,
        /// A new description.
        #[arg(long, short = 'd')]
        description: Option<String>,
        /// A tag to set or replace (repeatable).
        #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = key_value)]
        tags: Vec<(String, String)>,
        /// A tag key to remove (repeatable).
        #[arg(long = "remove-tag", value_name = "KEY")]
        remove_tags: Vec<String>,
    },
    /// Rename a model; its versions, tags and aliases follow.
    Rename {
        /// The registered model.
        name: String,
        /// Its new name.
        new_name: String,
    },
    /// Delete a model with all its versions.
    Delete {
        /// The registered model.
        name: String,
        /// Confirm the deletion.
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

pub async fn run(cmd: ModelsCommand) -> CliResult {
    let writes = !matches!(
        cmd.command,
        ModelsSubcommand::List { .. } | ModelsSubcommand::Get { .. }
    );
    if let ModelsSubcommand::Delete { name, yes } = &cmd.command {
        require_yes(
            *yes,
            &format!("Deleting model '{name}' and all its versions"),
        )?;
    }
    let registry = target::open(&cmd.registry, writes).await?;
    let result = execute(registry.get(), cmd.command, cmd.output.format()).await;
    registry.close().await;
    result
}

async fn execute(
    r: &dyn arca_core::registry::ModelRegistry,
    command: ModelsSubcommand,
    format: Format,
) -> CliResult {
    let show = |model: &arca_core::model::RegisteredModel| match format {
        Format::Json => output::print_json(&output::model_json(model)),
        Format::Table => output::model_fields(model),
    };
    match command {
        ModelsSubcommand::List {
            name,
            tags: t,
            limit,
        } => {
            let query = ModelQuery {
                name,
                tags: tags(&t)?,
                limit,
            };
            let models = r.list_models(&query).await?;
            match format {
                Format::Json => output::print_json(&json!(
                    models.iter().map(output::model_json).collect::<Vec<_>>()
                )),
                Format::Table => output::models_table(&models),
            }
        }
        ModelsSubcommand::Get { name } => show(&r.get_model(&name).await?),
        ModelsSubcommand::Create {
            name,
            description,
            tags: t,
        } => {
            let name = ModelName::parse(&name)?;
            let description = description.as_deref().map(parse_description).transpose()?;
            let model = r
                .register_model(&name, description.as_deref(), &tags(&t)?)
                .await?;
            show(&model);
        }
        ModelsSubcommand::Update {
            name,
            description,
            tags: t,
            remove_tags,
        } => {
            let update = ModelUpdate {
                description: description.as_deref().map(parse_description).transpose()?,
                set_tags: tags(&t)?,
                remove_tags,
            };
            show(&r.update_model(&name, &update).await?);
        }
        ModelsSubcommand::Rename { name, new_name } => {
            let new_name = ModelName::parse(&new_name)?;
            show(&r.rename_model(&name, &new_name).await?);
        }
        ModelsSubcommand::Delete { name, .. } => {
            r.delete_model(&name).await?;
            match format {
                Format::Json => output::print_json(&json!({"deleted": {"name": name}})),
                Format::Table => println!("Deleted model {name}."),
            }
        }
    }
    Ok(())
}
