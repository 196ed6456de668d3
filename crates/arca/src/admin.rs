//! `arca admin`: users, API tokens and roles, written straight into an Arca store (no server
//! needed), so the first admin of an `--auth` server, and the roles its users start with, can
//! be made before it starts. A running server's roles are managed over HTTP with MLflow's own
//! endpoints (`get_app_client("basic-auth", uri)`).

use anyhow::Context;
use arca_server::auth::credentials;
use arca_store::{DEFAULT_WORKSPACE, MetadataStore, StoreUri, TokenKind};
use clap::{Args, Subcommand};
use std::io::BufRead;
use std::path::PathBuf;

#[derive(Args)]
pub struct AdminArgs {
    #[command(subcommand)]
    command: AdminCommand,
    /// The store: sqlite:///relative.db, sqlite:////absolute.db or postgresql://...
    /// Default: sqlite in the data dir.
    #[arg(long, env = "ARCA_BACKEND_STORE_URI", global = true)]
    backend_store_uri: Option<String>,
    /// The server's data dir (where its default database is).
    #[arg(
        long,
        env = "ARCA_DATA_DIR",
        default_value = "./arca-data",
        global = true
    )]
    data_dir: PathBuf,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a user. The password is read from ARCA_ADMIN_PASSWORD when set, else from the
    /// first line of standard input (e.g. `printf '%s\n' "$PW" | arca admin create-user ...`).
    CreateUser {
        username: String,
        /// Make the user an admin (may do everything, manages users).
        #[arg(long)]
        admin: bool,
    },
    /// Create an API token for a user and print its secret (shown this once only). Use it as
    /// MLFLOW_TRACKING_TOKEN.
    CreateToken {
        username: String,
        /// What the token is for, shown in the token list.
        #[arg(long, default_value = "")]
        name: String,
        /// Days until the token expires; without it, it lasts until revoked.
        #[arg(long)]
        expires_in_days: Option<i64>,
    },
    /// Roles of the default workspace: named sets of grants, assigned to users (MLflow's RBAC).
    #[command(subcommand)]
    Roles(RolesCommand),
}

#[derive(Subcommand)]
enum RolesCommand {
    /// Create a role.
    Create {
        name: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// Give a role a permission on one resource or, with `*`, on every resource of the type.
    Grant {
        role: String,
        /// experiment, registered_model, prompt or workspace.
        resource_type: String,
        /// An experiment id or a model name, or `*`.
        resource_pattern: String,
        /// READ, USE, EDIT, MANAGE or DENY (USE or MANAGE on a workspace).
        permission: String,
    },
    /// Assign a role to a user.
    Assign { username: String, role: String },
    /// List the roles with their grants, one line each.
    List,
}

pub async fn run(args: AdminArgs) -> anyhow::Result<()> {
    let store = match &args.backend_store_uri {
        Some(uri) => StoreUri::parse(uri)?,
        None => {
            std::fs::create_dir_all(&args.data_dir)
                .with_context(|| format!("creating {}", args.data_dir.display()))?;
            StoreUri::sqlite(std::path::absolute(&args.data_dir)?.join("arca.db"))
        }
    };
    let metadata = MetadataStore::open(&store).await?;
    let result = match args.command {
        AdminCommand::CreateUser { username, admin } => {
            let password = match std::env::var("ARCA_ADMIN_PASSWORD") {
                Ok(p) if !p.is_empty() => p,
                _ => {
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            if password.chars().count() < 12 {
                anyhow::bail!(
                    "a password of at least 12 characters is needed: set ARCA_ADMIN_PASSWORD or \
                     pass it on standard input"
                );
            }
            let hash = credentials::hash_password(&password)?;
            let user = metadata.create_user(&username, &hash, admin).await?;
            println!(
                "created user {}{}",
                user.username,
                if user.is_admin { " (admin)" } else { "" }
            );
            Ok(())
        }
        AdminCommand::CreateToken {
            username,
            name,
            expires_in_days,
        } => {
            let user = metadata.get_user(&username).await?;
            let expiry = expires_in_days.map(|d| arca_core::now_millis() + d * 86_400_000);
            let secret = credentials::new_secret("arca_");
            metadata
                .create_token(
                    user.id,
                    TokenKind::Api,
                    &name,
                    &credentials::secret_sha256(&secret),
                    expiry,
                )
                .await?;
            println!("{secret}");
            Ok(())
        }
        AdminCommand::Roles(command) => roles(&metadata, command).await,
    };
    metadata.close().await;
    result
}

async fn roles(metadata: &MetadataStore, command: RolesCommand) -> anyhow::Result<()> {
    match command {
        RolesCommand::Create { name, description } => {
            let role = metadata
                .create_role(&name, DEFAULT_WORKSPACE, description.as_deref())
                .await?;
            println!("created role {} (id {})", role.name, role.id);
        }
        RolesCommand::Grant {
            role,
            resource_type,
            resource_pattern,
            permission,
        } => {
            arca_server::auth::roles::check_role_grant(
                &resource_type,
                &resource_pattern,
                &permission,
            )
            .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
            let role = metadata.get_role_by_name(&role).await?;
            metadata
                .add_role_permission(role.id, &resource_type, &resource_pattern, &permission)
                .await?;
            println!(
                "role {}: {permission} on {resource_type} {resource_pattern}",
                role.name
            );
        }
        RolesCommand::Assign { username, role } => {
            let user = metadata.get_user(&username).await?;
            let role = metadata.get_role_by_name(&role).await?;
            metadata.assign_role(user.id, role.id).await?;
            println!("assigned role {} to {}", role.name, user.username);
        }
        RolesCommand::List => {
            for role in metadata
                .list_roles(Some(&[DEFAULT_WORKSPACE.to_owned()]))
                .await?
            {
                let grants: Vec<String> = role
                    .permissions
                    .iter()
                    .map(|p| {
                        format!(
                            "{} {} {}",
                            p.permission, p.resource_type, p.resource_pattern
                        )
                    })
                    .collect();
                println!("{}\t{}", role.name, grants.join(", "));
            }
        }
    }
    Ok(())
}
