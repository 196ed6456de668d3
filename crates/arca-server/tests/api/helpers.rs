//! `spawn_app`: the real server on `127.0.0.1:0` with its own data, driven over HTTP.
//!
//! Every test runs on SQLite, and on PostgreSQL when `ARCA_TEST_PG_URL` names a server (the
//! README's test command starts one). Each PostgreSQL test gets a fresh database of its own.
//! With `ARCA_REQUIRE_PG=1` (as in CI) a missing PostgreSQL fails the test instead of skipping it.

use arca_server::{Application, Config};
use arca_store::StoreUri;
use reqwest::StatusCode;
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::oneshot;

/// The admin password of a server spawned with `spawn_with_auth`.
pub const ADMIN_PASSWORD: &str = "admin-pw-for-tests";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub store: StoreUri,
    pub dir: TempDir,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = match backend {
            Backend::Sqlite => StoreUri::sqlite(dir.path().join("arca.db")),
            Backend::Postgres => {
                StoreUri::parse(&arca_store::testing::fresh_postgres_database().await?).unwrap()
            }
        };
        Some(TestApp::spawn_with(store, dir).await)
    }

    pub async fn spawn_with(store: StoreUri, dir: TempDir) -> TestApp {
        TestApp::spawn_with_webhooks(store, dir, test_webhook_config()).await
    }

    /// A server whose webhooks are delivered with `webhooks` (the guard on, say).
    pub async fn spawn_with_webhooks(
        store: StoreUri,
        dir: TempDir,
        webhooks: arca_server::webhooks::deliver::WebhookConfig,
    ) -> TestApp {
        let artifacts = Artifacts::Local(dir.path().join("artifacts"));
        TestApp::spawn_full(store, dir, artifacts, webhooks, None).await
    }

    /// A server with `--auth`, whose admin is `admin` / [`ADMIN_PASSWORD`].
    pub async fn spawn_with_auth(
        backend: Backend,
        default_permission: arca_core::auth::Permission,
    ) -> Option<TestApp> {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = match backend {
            Backend::Sqlite => StoreUri::sqlite(dir.path().join("arca.db")),
            Backend::Postgres => {
                StoreUri::parse(&arca_store::testing::fresh_postgres_database().await?).unwrap()
            }
        };
        let artifacts = Artifacts::Local(dir.path().join("artifacts"));
        let auth = arca_server::auth::AuthConfig {
            default_permission,
            secure_cookies: false,
        };
        Some(TestApp::spawn_full(store, dir, artifacts, test_webhook_config(), Some(auth)).await)
    }

    async fn spawn_configured(store: StoreUri, dir: TempDir, artifacts: Artifacts) -> TestApp {
        TestApp::spawn_full(store, dir, artifacts, test_webhook_config(), None).await
    }

    async fn spawn_full(
        store: StoreUri,
        dir: TempDir,
        artifacts: Artifacts,
        webhooks: arca_server::webhooks::deliver::WebhookConfig,
        auth: Option<arca_server::auth::AuthConfig>,
    ) -> TestApp {
        let bootstrap_admin = auth
            .is_some()
            .then(|| ("admin".to_owned(), ADMIN_PASSWORD.to_owned()));
        let (artifacts_destination, artifacts_options) = match artifacts {
            Artifacts::Local(path) => (path.display().to_string(), Vec::new()),
            Artifacts::S3(s3) => (s3.uri, s3.options),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let app = Application::build(
            Config {
                store: store.clone(),
                artifacts_destination,
                artifacts_options,
                static_prefix: String::new(),
                webhooks,
                limits: arca_server::serve::Limits::default(),
                store_options: arca_store::StoreOptions::default(),
                auth,
                bootstrap_admin,
                verify_downloads: arca_artifacts::Verification::default(),
            },
            listener,
        )
        .await
        .expect("server builds");
        let base = format!("http://127.0.0.1:{}", app.port());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            app.run_until_stopped(async {
                let _ = stopped.await;
            })
            .await
            .expect("server runs");
        });
        TestApp {
            base,
            client: reqwest::Client::new(),
            store,
            dir,
            stop: Some(stop),
            server: Some(server),
        }
    }

    /// Stops the server gracefully and starts a new one on the same store and folder.
    pub async fn restart(mut self) -> TestApp {
        self.stop.take().unwrap().send(()).unwrap();
        self.server.take().unwrap().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let old_dir = std::mem::replace(&mut self.dir, dir);
        TestApp::spawn_with(self.store.clone(), old_dir).await
    }

    /// Stops the server and starts one on the same store and folder with other webhook settings.
    pub async fn restart_with_webhooks(
        mut self,
        webhooks: arca_server::webhooks::deliver::WebhookConfig,
    ) -> TestApp {
        self.stop.take().unwrap().send(()).unwrap();
        self.server.take().unwrap().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let old_dir = std::mem::replace(&mut self.dir, dir);
        TestApp::spawn_with_webhooks(self.store.clone(), old_dir, webhooks).await
    }

    pub fn url(&self, path: &str) -> String {
        format!(
            "{}/api/2.0/mlflow/{}",
            self.base,
            path.trim_start_matches('/')
        )
    }

    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> (StatusCode, Value) {
        let resp = self
            .client
            .get(self.url(path))
            .query(query)
            .send()
            .await
            .unwrap();
        read(resp).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let resp = self
            .client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        read(resp).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let resp = self
            .client
            .patch(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        read(resp).await
    }

    pub async fn delete(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let resp = self
            .client
            .delete(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        read(resp).await
    }

    /// Creates a model and asserts success.
    pub async fn create_model(&self, name: &str) -> Value {
        let (status, body) = self
            .post(
                "registered-models/create",
                serde_json::json!({ "name": name }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["registered_model"].clone()
    }

    /// Creates a version and returns its number.
    pub async fn create_version(&self, name: &str, source: &str) -> String {
        let (status, body) = self
            .post(
                "model-versions/create",
                serde_json::json!({ "name": name, "source": source }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["model_version"]["version"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub async fn read(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

/// Receivers in tests listen on 127.0.0.1 over plain HTTP, and retries come quickly.
pub fn test_webhook_config() -> arca_server::webhooks::deliver::WebhookConfig {
    arca_server::webhooks::deliver::WebhookConfig {
        guard: arca_server::webhooks::ssrf::Guard {
            allow_private: true,
            allowed_schemes: vec!["http".into(), "https".into()],
        },
        timeout: std::time::Duration::from_secs(5),
        max_attempts: 5,
        backoff_base: std::time::Duration::from_millis(100),
        backoff_max: std::time::Duration::from_secs(2),
        poll_interval: std::time::Duration::from_millis(50),
    }
}

/// Asserts an MLflow-style error: the status, the error_code and a fragment of the message.
#[track_caller]
pub fn assert_error(got: &(StatusCode, Value), status: u16, code: &str, fragment: &str) {
    let (got_status, body) = got;
    assert_eq!(got_status.as_u16(), status, "status of {body}");
    assert_eq!(body["error_code"], code, "error_code of {body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(fragment),
        "message {message:?} should contain {fragment:?}"
    );
}

/// Runs each listed test (an `async fn(TestApp)`) once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite)
                        .await
                        .unwrap();
                    super::$name(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                #[ignore = "needs ARCA_TEST_PG_URL (a PostgreSQL server): run ./scripts/test.sh"]
                async fn $name() {
                    if let Some(app) =
                        $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await
                    {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}

/// Runs each listed test (an `async fn(TestApp)`) on a server whose artifacts are in the
/// S3-compatible server the test command starts.
#[macro_export]
macro_rules! on_s3 {
    ($($name:ident),* $(,)?) => {
        mod s3 {
            $(
                #[tokio::test]
                #[ignore = "needs ARCA_TEST_S3_ENDPOINT (an S3-compatible server): run ./scripts/test.sh"]
                async fn $name() {
                    if let Some(app) = $crate::helpers::TestApp::spawn_with_s3_artifacts().await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(data))
}

/// Deterministic bytes that do not compress.
pub fn pseudo_random(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Where a test server keeps its artifacts.
pub enum Artifacts {
    Local(std::path::PathBuf),
    S3(arca_artifacts::testing::S3Destination),
}

impl TestApp {
    /// A server on SQLite whose artifacts live in a fresh prefix on the S3-compatible test
    /// server, or `None` (skipped, with the reason printed) when `ARCA_TEST_S3_ENDPOINT` is not
    /// set; see `arca_artifacts::testing` for the variables.
    pub async fn spawn_with_s3_artifacts() -> Option<TestApp> {
        let s3 = arca_artifacts::testing::s3_destination().await?;
        let dir = tempfile::tempdir().expect("temp dir");
        let store = StoreUri::sqlite(dir.path().join("arca.db"));
        Some(TestApp::spawn_configured(store, dir, Artifacts::S3(s3)).await)
    }

    /// The local artifact folder of a server started by `spawn`/`spawn_with`.
    pub fn artifact_root(&self) -> std::path::PathBuf {
        self.dir.path().join("artifacts")
    }

    pub fn artifact_url(&self, path: &str) -> String {
        format!("{}/api/2.0/mlflow-artifacts/artifacts/{path}", self.base)
    }

    /// PUTs `body` as the artifact at `path` (URL-encoded by the caller where needed).
    pub async fn put_artifact(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value) {
        let resp = self
            .client
            .put(self.artifact_url(path))
            .body(body)
            .send()
            .await
            .unwrap();
        read(resp).await
    }

    /// GETs the artifact at `path`: the status and the raw bytes.
    pub async fn get_artifact(&self, path: &str) -> (StatusCode, bytes::Bytes) {
        let resp = self
            .client
            .get(self.artifact_url(path))
            .send()
            .await
            .unwrap();
        (resp.status(), resp.bytes().await.unwrap())
    }

    pub async fn list_artifacts(&self, dir: &str) -> (StatusCode, Value) {
        let resp = self
            .client
            .get(format!("{}/api/2.0/mlflow-artifacts/artifacts", self.base))
            .query(&[("path", dir)])
            .send()
            .await
            .unwrap();
        read(resp).await
    }

    pub async fn delete_artifact(&self, path: &str) -> (StatusCode, Value) {
        let resp = self
            .client
            .delete(self.artifact_url(path))
            .send()
            .await
            .unwrap();
        read(resp).await
    }

    /// Sends `method target` byte for byte over a fresh connection (reqwest would normalize
    /// `..` and encoded characters away) and returns the status and body.
    pub async fn raw_request(&self, method: &str, target: &[u8], body: &[u8]) -> (u16, Vec<u8>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.base.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut request = Vec::new();
        request.extend_from_slice(method.as_bytes());
        request.push(b' ');
        request.extend_from_slice(target);
        request.extend_from_slice(
            format!(
                " HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        request.extend_from_slice(body);
        stream.write_all(&request).await.unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        let status = std::str::from_utf8(&response[9..12.min(response.len())])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body_start = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(response.len(), |i| i + 4);
        (status, response[body_start..].to_vec())
    }
}
