//! arca-server: the HTTP front of the registry. Handlers are thin: they parse a request into
//! arca-core types, call one `MetadataStore` method and render MLflow's JSON.
//!
//! `Application::build` binds nothing itself: it takes a listener, so tests bind `127.0.0.1:0`
//! and production binds the configured address through the same code path.

pub mod actor;
pub mod api;
pub mod auth;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod serve;
pub mod tracking_wire;
pub mod ui;
pub mod webhooks;
pub mod wire;

use crate::error::ApiError;
use anyhow::Context;
use arca_artifacts::ArtifactStore;
use arca_store::{MetadataStore, StoreUri};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{Method, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::future::Future;
use std::time::Instant;
use tokio::net::TcpListener;

/// Everything `arca server` needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    pub store: StoreUri,
    /// Where model files go: a folder, `file://`, `s3://bucket/prefix`, `gs://` or `az://`
    /// (see `arca_artifacts::ArtifactStore::from_uri`).
    pub artifacts_destination: String,
    /// `object_store` settings (`aws_endpoint`, `aws_access_key_id`, ...) that take precedence
    /// over the `AWS_*`/`GOOGLE_*`/`AZURE_*` environment; empty in the usual case.
    pub artifacts_options: Vec<(String, String)>,
    /// A path prefix for every route (`/mlflow`), for a reverse proxy that serves Arca below
    /// one; empty for none. As `mlflow server --static-prefix`.
    pub static_prefix: String,
    /// How webhooks are delivered, and which addresses they may reach.
    pub webhooks: webhooks::deliver::WebhookConfig,
    /// Connection limits and shutdown grace (`arca server`'s flags).
    pub limits: serve::Limits,
    /// How long the database may take before a request gets a 503.
    pub store_options: arca_store::StoreOptions,
    /// `Some` with `--auth`: every request but the public ones must authenticate.
    pub auth: Option<auth::AuthConfig>,
    /// Users to create at start when missing (`ARCA_ADMIN_USER`/`ARCA_ADMIN_PASSWORD`).
    pub bootstrap_admin: Option<(String, String)>,
    /// Whether a download of an unchanged local file is hashed again (`--verify-downloads`).
    pub verify_downloads: arca_artifacts::Verification,
}

#[derive(Clone)]
pub struct AppState {
    pub metadata: MetadataStore,
    pub artifacts: ArtifactStore,
    /// `Config::static_prefix`, for the links the UI writes.
    pub static_prefix: String,
    pub metrics: metrics::Metrics,
    pub webhooks: std::sync::Arc<webhooks::deliver::WebhookConfig>,
    /// The guarded client webhook tests go through (deliveries use their own).
    pub webhook_client: reqwest::Client,
    /// `None` without `--auth`.
    pub auth: Option<std::sync::Arc<auth::Auth>>,
}

impl axum::extract::FromRef<AppState> for metrics::Metrics {
    fn from_ref(state: &AppState) -> metrics::Metrics {
        state.metrics.clone()
    }
}

pub struct Application {
    listener: TcpListener,
    metadata: MetadataStore,
    router: Router,
    webhooks: webhooks::deliver::WebhookConfig,
    limits: serve::Limits,
}

impl Application {
    pub async fn build(config: Config, listener: TcpListener) -> anyhow::Result<Application> {
        let artifacts = ArtifactStore::from_uri_with_options(
            &config.artifacts_destination,
            &config.artifacts_options,
        )
        .with_context(|| {
            format!(
                "opening the artifact store {}",
                config.artifacts_destination
            )
        })?
        .with_verification(config.verify_downloads);
        let metadata = MetadataStore::open_with(&config.store, config.store_options).await?;
        if let Some((username, password)) = &config.bootstrap_admin {
            bootstrap_admin(&metadata, username, password).await?;
        }
        if config.auth.is_some() && metadata.count_admins().await? == 0 {
            anyhow::bail!(
                "--auth needs an admin, and the store has none: set ARCA_ADMIN_PASSWORD (and \
                 ARCA_ADMIN_USER, default `admin`) for the first start, or run \
                 `arca admin create-user <name> --admin`"
            );
        }
        let router = router(AppState {
            metadata: metadata.clone(),
            artifacts,
            static_prefix: config.static_prefix.clone(),
            metrics: metrics::Metrics::default(),
            webhook_client: config.webhooks.guard.client(config.webhooks.timeout),
            webhooks: std::sync::Arc::new(config.webhooks.clone()),
            auth: config.auth.clone().map(auth::Auth::new),
        });
        Ok(Application {
            listener,
            metadata,
            router,
            webhooks: config.webhooks,
            limits: config.limits,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Serves until `shutdown` resolves, lets in-flight requests finish (within
    /// `Limits::shutdown_grace`), then closes the store.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        // Stopping mid-attempt is safe: the attempt's lease runs out and it is made again.
        let dispatcher = tokio::spawn(webhooks::deliver::run(self.metadata.clone(), self.webhooks));
        serve::serve(self.listener, self.router, self.limits, shutdown).await;
        dispatcher.abort();
        let _ = dispatcher.await;
        self.metadata.close().await;
        Ok(())
    }
}

pub fn router(state: AppState) -> Router {
    let mlflow = api::mlflow_routes();
    let prefix = state.static_prefix.clone();
    let app = Router::new()
        .merge(ui::routes())
        .route("/health", get(|| async { "OK" }))
        .route("/ready", get(ready))
        .route("/version", get(|| async { env!("CARGO_PKG_VERSION") }))
        .route("/metrics", get(metrics::serve))
        .nest("/api/2.0/mlflow", mlflow.clone())
        .nest("/ajax-api/2.0/mlflow", mlflow)
        .merge(api::arca_routes())
        .merge(api::artifacts::artifact_routes())
        .merge(api::history::history_routes())
        .merge(auth::api::routes())
        .merge(auth::roles::routes())
        .fallback(endpoint_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Inside the guard, so that it sees the Identity the guard found.
        .layer(middleware::from_fn(actor::attribute_changes))
        // Innermost but one of the app's own layers, so that it sees the matched route; every
        // route and the fallback pass through it.
        .layer(middleware::from_fn_with_state(state.clone(), auth::guard))
        .layer(DefaultBodyLimit::max(extract::MAX_JSON_BODY))
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::record,
        ))
        .with_state(state);
    let app = if prefix.is_empty() {
        app
    } else {
        Router::new()
            .nest(&prefix, app)
            .fallback(auth::outside_prefix)
    };
    app.layer(middleware::from_fn(auth::require_guard))
        .layer(middleware::from_fn(log_request))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(on_panic))
}

/// Readiness, as opposed to `/health` (liveness: the process answers): whether the database
/// and the artifact store answer now. A load balancer sends traffic elsewhere while this is a
/// 503; the server itself recovers when they return, without a restart.
async fn ready(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<&'static str, ApiError> {
    let (database, artifacts) = tokio::join!(state.metadata.ping(), state.artifacts.ping());
    let mut down = Vec::new();
    if let Err(e) = database {
        tracing::warn!(error = %e, "readiness: the database is not answering");
        down.push("the metadata database");
    }
    if let Err(e) = artifacts {
        tracing::warn!(error = %e, "readiness: the artifact store is not answering");
        down.push("the artifact store");
    }
    if down.is_empty() {
        return Ok("OK");
    }
    Err(ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        arca_core::ErrorCode::TemporarilyUnavailable,
        format!("Not ready: {} not answering.", down.join(" and ")),
    ))
}

/// Creates the first admin from the environment when that user does not exist yet; an existing
/// user keeps the password it has (rotate it through the API).
async fn bootstrap_admin(
    metadata: &MetadataStore,
    username: &str,
    password: &str,
) -> anyhow::Result<()> {
    match metadata.get_user(username).await {
        Ok(_) => Ok(()),
        Err(arca_core::Error::NotFound(_)) => {
            if password.chars().count() < 12 {
                anyhow::bail!("ARCA_ADMIN_PASSWORD must be at least 12 characters");
            }
            let hash = auth::credentials::hash_password(password)?;
            metadata.create_user(username, &hash, true).await?;
            tracing::info!(username, "created the admin user");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

async fn endpoint_not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::endpoint_not_found(method.as_str(), uri.path())
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        arca_core::ErrorCode::BadRequest,
        format!(
            "Method {} is not allowed on {}.",
            method.as_str(),
            uri.path()
        ),
    )
}

fn on_panic(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        arca_core::ErrorCode::InternalError,
        "Internal error; the server log has the details.",
    )
    .into_response()
}

/// One log line per request: method, path, status and time taken.
async fn log_request(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    let status = response.status().as_u16();
    let micros = started.elapsed().as_micros() as u64;
    if status >= 500 {
        tracing::error!(%method, %path, status, micros, "request");
    } else {
        tracing::info!(%method, %path, status, micros, "request");
    }
    response
}
