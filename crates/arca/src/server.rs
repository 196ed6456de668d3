//! `arca server`: the registry server with `mlflow server`'s flags.

use anyhow::Context;
use arca_server::serve::Limits;
use arca_server::webhooks::deliver::WebhookConfig;
use arca_server::webhooks::ssrf::Guard;
use arca_server::{Application, Config};
use arca_store::{StoreOptions, StoreUri};
use clap::Args;
use std::path::PathBuf;
use std::time::{Duration, Instant};
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
    /// Let webhooks reach loopback, private, link-local and other non-public addresses
    /// (a receiver on this machine or the internal network). Off by default: see the README.
    #[arg(long, env = "ARCA_WEBHOOK_ALLOW_PRIVATE")]
    webhook_allow_private: bool,
    /// URL schemes a webhook may use, comma-separated (as MLflow's
    /// MLFLOW_WEBHOOK_ALLOWED_SCHEMES).
    #[arg(
        long,
        env = "ARCA_WEBHOOK_ALLOWED_SCHEMES",
        default_value = "https",
        value_delimiter = ','
    )]
    webhook_allowed_schemes: Vec<String>,
    /// Seconds a receiver has to answer one delivery attempt.
    #[arg(long, env = "ARCA_WEBHOOK_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    webhook_timeout: u64,
    /// Attempts before a delivery is given up as dead.
    #[arg(long, env = "ARCA_WEBHOOK_MAX_ATTEMPTS", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=100))]
    webhook_max_attempts: u32,
    /// Milliseconds to wait after a first failed attempt; the wait doubles after each failure
    /// (at most an hour) unless the receiver sends Retry-After.
    #[arg(long, env = "ARCA_WEBHOOK_BACKOFF_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    webhook_backoff_ms: u64,
    /// Seconds a client has to send a request's head (request line and headers), counted from
    /// its first byte, and from the connection's opening for the first request.
    #[arg(long, env = "ARCA_HEADER_READ_TIMEOUT", default_value_t = 10.0, value_parser = parse_seconds)]
    header_read_timeout: f64,
    /// Seconds a kept-alive connection may stay open with no request.
    #[arg(long, env = "ARCA_IDLE_TIMEOUT", default_value_t = 60.0, value_parser = parse_seconds)]
    idle_timeout: f64,
    /// Seconds a request body (an upload) may go without a byte before it is dropped, with
    /// nothing stored.
    #[arg(long, env = "ARCA_BODY_READ_TIMEOUT", default_value_t = 30.0, value_parser = parse_seconds)]
    body_read_timeout: f64,
    /// Bytes a second a request body must average once --body-read-timeout has passed; 0 for
    /// no minimum.
    #[arg(long, env = "ARCA_BODY_MIN_RATE", default_value_t = 1024)]
    body_min_rate: u64,
    /// Connections open at once. Past it a new connection closes the oldest one with no
    /// request in flight, or gets a 503 when all are busy. Lowered at start to fit the open-file
    /// limit (raised to its hard limit first), less an eighth for the database and files.
    #[arg(long, env = "ARCA_MAX_CONNECTIONS", default_value_t = 10_000)]
    max_connections: usize,
    /// Seconds in-flight requests may run after SIGTERM or Ctrl-C before they are cut.
    #[arg(long, env = "ARCA_SHUTDOWN_GRACE", default_value_t = 30.0, value_parser = parse_seconds)]
    shutdown_grace: f64,
    /// Seconds a request waits for PostgreSQL (a connection, then its work) before it is
    /// answered 503 TEMPORARILY_UNAVAILABLE, which the mlflow client retries.
    #[arg(long, env = "ARCA_STORE_TIMEOUT", default_value_t = 10.0, value_parser = parse_seconds)]
    store_timeout: f64,
    /// HTTP/2 (h2c): streams open at once on one connection.
    #[arg(long, env = "ARCA_H2_MAX_CONCURRENT_STREAMS", default_value_t = 100)]
    h2_max_concurrent_streams: u32,
    /// HTTP/2 (h2c): the largest header list a request may send, in bytes.
    #[arg(long, env = "ARCA_H2_MAX_HEADER_LIST_SIZE", default_value_t = 65_536)]
    h2_max_header_list_size: u32,
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
    /// How a download is checked against the SHA-256 recorded at upload: `changed` hashes a
    /// local file on its first download after start and again only once its metadata shows a
    /// change; `always` hashes every download (also catching corruption that bypasses the
    /// filesystem). Files in S3, GCS or Azure are always hashed.
    #[arg(long, env = "ARCA_VERIFY_DOWNLOADS", default_value = "changed", value_parser = parse_verification)]
    verify_downloads: arca_artifacts::Verification,
}

fn parse_verification(raw: &str) -> Result<arca_artifacts::Verification, String> {
    match raw {
        "always" => Ok(arca_artifacts::Verification::Always),
        "changed" => Ok(arca_artifacts::Verification::Changed),
        _ => Err(format!("'{raw}' is neither `always` nor `changed`")),
    }
}

fn parse_seconds(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(s),
        _ => Err(format!(
            "'{raw}' is not a number of seconds between 0 and 86400 (e.g. 0.5 or 30)"
        )),
    }
}

/// Raises the soft limit on open files to the hard limit: the default soft limit (often 1024)
/// is far below what a server with thousands of connections needs, and the hard limit is ours to
/// take. Returns the soft limit now in force.
#[cfg(unix)]
fn raise_open_file_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let wanted = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) == 0 {
                limit.rlim_cur = limit.rlim_max;
            }
        }
    }
    Some(limit.rlim_cur)
}

#[cfg(not(unix))]
fn raise_open_file_limit() -> Option<u64> {
    None
}

/// `--max-connections`, lowered so that connections alone cannot use up the open-file limit:
/// an eighth of it (at least 64) stays for the database pool, files being read or written and
/// connections to the object store.
fn connection_cap(wanted: usize, open_files: Option<u64>) -> usize {
    let Some(open_files) = open_files else {
        return wanted;
    };
    let reserve = (open_files / 8).max(64);
    let fits = usize::try_from(open_files.saturating_sub(reserve)).unwrap_or(usize::MAX);
    wanted.min(fits).max(1)
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
    let open_files = raise_open_file_limit();
    let max_connections = connection_cap(args.max_connections, open_files);
    if max_connections < args.max_connections {
        tracing::info!(
            open_files,
            max_connections,
            "fewer connections than --max-connections fit the open-file limit"
        );
    }
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
            webhooks: WebhookConfig {
                guard: Guard {
                    allow_private: args.webhook_allow_private,
                    allowed_schemes: args
                        .webhook_allowed_schemes
                        .iter()
                        .map(|s| s.trim().to_ascii_lowercase())
                        .filter(|s| !s.is_empty())
                        .collect(),
                },
                timeout: Duration::from_secs(args.webhook_timeout),
                max_attempts: args.webhook_max_attempts,
                backoff_base: Duration::from_millis(args.webhook_backoff_ms),
                ..WebhookConfig::default()
            },
            limits: Limits {
                header_read_timeout: Duration::from_secs_f64(args.header_read_timeout),
                idle_timeout: Duration::from_secs_f64(args.idle_timeout),
                body_read_timeout: Duration::from_secs_f64(args.body_read_timeout),
                body_min_rate: args.body_min_rate,
                max_connections,
                shutdown_grace: Duration::from_secs_f64(args.shutdown_grace),
                h2_max_concurrent_streams: args.h2_max_concurrent_streams,
                h2_max_header_list_size: args.h2_max_header_list_size,
            },
            store_options: StoreOptions {
                timeout: Duration::from_secs_f64(args.store_timeout),
            },
            auth,
            bootstrap_admin,
            verify_downloads: args.verify_downloads,
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
