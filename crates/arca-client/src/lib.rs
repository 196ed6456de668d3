//! arca-client: a typed client of the MLflow REST API as Arca (or any `mlflow server`) serves
//! it: the model registry, the runs a version's lineage points at, the `mlflow-artifacts` file
//! proxy, and Arca's own artifact manifest. [`HttpRegistry`] is the HTTP flavor of
//! [`arca_core::registry::ModelRegistry`].
//!
//! Credentials are read as the `mlflow` client reads them ([`Credentials::from_env`]), so a shell
//! set up for `mlflow` works unchanged. Requests are sent once: the registry calls the CLI makes
//! are not all idempotent, and a user waiting on a terminal is better served by a clear error
//! than by minutes of silent back-off.

mod artifacts;
mod auth;
mod flavor;
mod history;
mod registry;
mod tracking;
pub mod wire;

pub use artifacts::{ArtifactEntry, ManifestEntry};
pub use auth::Credentials;
pub use flavor::HttpRegistry;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// An error answer from the server, or no answer at all.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an MLflow error (`error_code` and `message`).
    #[error("{message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    /// No connection could be made, or it broke before an answer arrived.
    #[error("cannot reach the registry at {base}: {detail}")]
    Unreachable { base: String, detail: String },
    /// The answer was not what the API promises.
    #[error("unexpected answer from {url}: {detail}")]
    Protocol { url: String, detail: String },
}

impl ClientError {
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, ClientError::Api { code, .. } if code == "RESOURCE_DOES_NOT_EXIST")
    }

    /// The server has no such endpoint (a plain MLflow server asked for an Arca endpoint).
    pub fn is_missing_endpoint(&self) -> bool {
        match self {
            ClientError::Api { status, code, .. } => {
                (*status == 404 || *status == 405)
                    && (code == "ENDPOINT_NOT_FOUND" || code == "NOT_FOUND" || code.is_empty())
            }
            _ => false,
        }
    }
}

/// A client of one server. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    credentials: Credentials,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client of the server at `base` (`http://host:port`, optionally with a path prefix),
    /// with credentials and TLS settings from the `MLFLOW_TRACKING_*` environment.
    pub fn from_env(base: &str) -> Result<Client, ClientError> {
        Client::new(base, Credentials::from_env())
    }

    pub fn new(base: &str, credentials: Credentials) -> Result<Client, ClientError> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::Protocol {
                url: base,
                detail: "the tracking URI must start with http:// or https://".into(),
            });
        }
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("arca/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            // Per read, not per request: a large upload or download may take longer than this
            // in total, but the server never goes this long without sending a byte.
            .read_timeout(Duration::from_secs(120));
        if env_flag("MLFLOW_TRACKING_INSECURE_TLS") {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        if let Ok(path) = std::env::var("MLFLOW_TRACKING_SERVER_CERT_PATH")
            && !path.is_empty()
        {
            let pem = std::fs::read(&path).map_err(|e| ClientError::Protocol {
                url: base.clone(),
                detail: format!("reading MLFLOW_TRACKING_SERVER_CERT_PATH={path}: {e}"),
            })?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ClientError::Protocol {
                    url: base.clone(),
                    detail: format!(
                        "MLFLOW_TRACKING_SERVER_CERT_PATH={path} holds no PEM certificate: {e}"
                    ),
                })?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().map_err(|e| ClientError::Protocol {
            url: base.clone(),
            detail: format!("setting up the HTTP client: {e}"),
        })?;
        Ok(Client {
            base,
            http,
            credentials,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let builder = self.http.request(method, format!("{}{path}", self.base));
        self.credentials.apply(builder)
    }

    /// Sends a request and returns the response if it is a success, the decoded MLflow error
    /// otherwise.
    async fn send(&self, builder: RequestBuilder) -> Result<Response, ClientError> {
        let response = builder.send().await.map_err(|e| self.transport(e))?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(self.error_from(response).await)
    }

    async fn error_from(&self, response: Response) -> ClientError {
        let status = response.status();
        let url = response.url().to_string();
        let body = response.text().await.unwrap_or_default();
        #[derive(serde::Deserialize)]
        struct ErrorBody {
            error_code: Option<String>,
            message: Option<String>,
        }
        match serde_json::from_str::<ErrorBody>(&body) {
            Ok(ErrorBody {
                error_code: Some(code),
                message,
            }) => ClientError::Api {
                status: status.as_u16(),
                code,
                message: message.unwrap_or_else(|| format!("HTTP {status} from {url}")),
            },
            _ => ClientError::Api {
                status: status.as_u16(),
                code: fallback_code(status).to_owned(),
                message: format!("HTTP {status} from {url}{}", snippet(&body)),
            },
        }
    }

    fn transport(&self, err: reqwest::Error) -> ClientError {
        // reqwest's own message repeats the URL; the innermost cause says what went wrong
        // ("Connection refused", "dns error", "operation timed out").
        let mut detail = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            detail = cause.to_string();
            source = cause.source();
        }
        if err.is_timeout() {
            detail = format!("timed out ({detail})");
        }
        ClientError::Unreachable {
            base: self.base.clone(),
            detail,
        }
    }

    async fn json<T: DeserializeOwned>(&self, response: Response) -> Result<T, ClientError> {
        let url = response.url().to_string();
        let bytes = response.bytes().await.map_err(|e| self.transport(e))?;
        // MLflow answers an empty message with `{}`, an empty body or `200 OK`.
        let bytes: &[u8] = if bytes.is_empty() || bytes.starts_with(b"200 OK") {
            b"{}"
        } else {
            &bytes
        };
        serde_json::from_slice(bytes).map_err(|e| ClientError::Protocol {
            url,
            detail: format!("{e}{}", snippet(&String::from_utf8_lossy(bytes))),
        })
    }

    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, ClientError> {
        let response = self
            .send(self.request(Method::GET, path).query(query))
            .await?;
        self.json(response).await
    }

    pub(crate) async fn call_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, ClientError> {
        let response = self.send(self.request(method, path).json(body)).await?;
        self.json(response).await
    }
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// MLflow's mapping for an error answer without a JSON body.
fn fallback_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "BAD_REQUEST",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "ENDPOINT_NOT_FOUND",
        429 => "REQUEST_LIMIT_EXCEEDED",
        503 => "TEMPORARILY_UNAVAILABLE",
        _ => "INTERNAL_ERROR",
    }
}

/// The start of a body, for an error message; empty for HTML pages, which only add noise.
fn snippet(body: &str) -> String {
    let body = body.trim();
    if body.is_empty() || body.starts_with('<') {
        return String::new();
    }
    let short: String = body.chars().take(200).collect();
    format!(": {short}")
}
