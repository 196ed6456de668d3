//! `arca server`: the registry server with `mlflow server`'s flags.

use anyhow::Context;
use arca_server::{Application, Config};
use arca_store::StoreUri;
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;
use tracing_subscriber::EnvFilter;

#[derive(Args)]
pub struct ServerArgs {
    /// Address to listen on.
    #[arg(long, env = "ARCA_HOST", default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on (0 picks a free port).
    #[arg(long, env = "ARCA_PORT", default_value_t = 5000)]
    port: u16,
    /// Metadata store: sqlite:///relative.db, sqlite:////absolute.db or
    /// postgresql://user[:password]@host:port/db. Default: sqlite in the data dir.
    #[arg(long, env = "ARCA_BACKEND_STORE_URI")]
    backend_store_uri: Option<String>,
    /// Where model files are stored: a folder, file:///path, s3://bucket/prefix, gs://bucket/prefix
    /// or az://container/prefix. Object-store credentials and endpoints come from the usual
    /// AWS_* (AWS_ENDPOINT_URL for an S3-compatible server), GOOGLE_* and AZURE_* variables.
    /// Default: <data dir>/artifacts.
    #[arg(long, env = "ARCA_ARTIFACTS_DESTINATION")]
    artifacts_destination: Option<String>,
    /// Folder for the default database and artifacts; created on first start.
    #[arg(long, env = "ARCA_DATA_DIR", default_value = "./arca-data")]
    data_dir: PathBuf,
    /// Serve everything (UI and API) below this path, e.g. /mlflow, for a reverse proxy that
    /// forwards that path to Arca. As `mlflow server --static-prefix`.
    #[arg(long, env = "ARCA_STATIC_PREFIX", value_parser = parse_static_prefix)]
    static_prefix: Option<String>,
    /// Require users to authenticate (Basic, Bearer token or a UI session) and check their
    /// permissions on every route. Needs an admin: ARCA_ADMIN_PASSWORD at first start, or
    /// `arca admin create-user <name> --admin`.
    #[arg(long, env = "ARCA_AUTH", conflicts_with = "no_auth")]
    auth: bool,
    /// Serve without authentication on an address other than loopback (anyone who can reach it
    /// can change or delete every model). Without --auth or this flag, only 127.0.0.1/::1 are
    /// allowed.
    #[arg(long, env = "ARCA_NO_AUTH")]
    no_auth: bool,
    /// With --auth: what a user may do on an experiment or model without a grant of their own
    /// (NO_PERMISSIONS, READ, USE, EDIT or MANAGE), as MLflow's default_permission.
    #[arg(long, env = "ARCA_DEFAULT_PERMISSION", default_value = "READ")]
    default_permission: String,
    /// The first admin's name, created at start with ARCA_ADMIN_PASSWORD when missing.
    #[arg(long, env = "ARCA_ADMIN_USER", default_value = "admin")]
    admin_user: String,
    /// Mark the UI's session cookie Secure (set this when clients reach Arca over HTTPS, e.g.
    /// behind a TLS-terminating proxy).
    #[arg(long, env = "ARCA_SECURE_COOKIES")]
    secure_cookies: bool,
}

/// Whether binding `host` exposes the server beyond this machine.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn parse_static_prefix(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim_end_matches('/');
    if !trimmed.starts_with('/') || trimmed.len() < 2 {
        return Err(format!(
            "'{raw}' is not a path prefix: it must start with '/', as in /mlflow"
        ));
    }
    if trimmed.contains(['?', '#', ' ']) || trimmed.contains("//") {
        return Err(format!(
            "'{raw}' is not a plain path prefix such as /mlflow"
        ));
    }
    Ok(trimmed.to_owned())
}

pub async fn run(args: ServerArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("ARCA_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating the data dir {}", args.data_dir.display()))?;
    let data_dir = std::path::absolute(&args.data_dir)?;
    let store = match &args.backend_store_uri {
        Some(uri) => StoreUri::parse(uri)?,
        None => StoreUri::sqlite(data_dir.join("arca.db")),
    };
    let artifacts_destination = match &args.artifacts_destination {
        Some(dest) => dest.clone(),
        None => data_dir.join("artifacts").display().to_string(),
    };
    let auth = if args.auth {
        Some(arca_server::auth::AuthConfig {
            default_permission: arca_core::auth::Permission::parse(&args.default_permission)?,
            secure_cookies: args.secure_cookies,
        })
    } else {
        None
    };
    if auth.is_none() && !is_loopback(&args.host) {
        if !args.no_auth {
            anyhow::bail!(
                "refusing to serve {} without authentication: anyone who can reach it could \
                 change or delete every model. Start with --auth (see `arca admin create-user`), \
                 or pass --no-auth to serve it open anyway.",
                args.host
            );
        }
        tracing::warn!(
            host = %args.host,
            "serving WITHOUT authentication on a non-loopback address (--no-auth): anyone who \
             can reach it can change or delete every model"
        );
    }
    let bootstrap_admin = std::env::var("ARCA_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
        .map(|p| (args.admin_user.clone(), p));
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
        .await
        .with_context(|| format!("binding {}:{}", args.host, args.port))?;
    let addr = listener.local_addr()?;
    let app = Application::build(
        Config {
            store: store.clone(),
            artifacts_destination: artifacts_destination.clone(),
            artifacts_options: Vec::new(),
            static_prefix: args.static_prefix.clone().unwrap_or_default(),
            auth,
            bootstrap_admin,
        },
        listener,
    )
    .await?;
    tracing::info!(
        %addr,
        store = %store.redacted(),
        artifacts = %artifacts_destination,
        startup_ms = started.elapsed().as_millis() as u64,
        auth = args.auth,
        "arca server listening on http://{addr}{}",
        args.static_prefix.as_deref().unwrap_or("")
    );
    app.run_until_stopped(shutdown_signal()).await?;
    tracing::info!("arca server stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
