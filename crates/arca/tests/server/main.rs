//! `arca server` as an operator runs it: a real process, its flags and defaults, start-up,
//! graceful and abrupt stops, and two processes sharing one PostgreSQL database.

mod webhooks;

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

mod hardening;

struct ServerProcess {
    child: Child,
    base: String,
    /// The server's log lines after the one that gave its address.
    log: std::sync::mpsc::Receiver<String>,
}

impl ServerProcess {
    /// Starts `arca server --port 0` and reads the bound address from its log.
    fn start(dir: &Path, extra: &[&str]) -> ServerProcess {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_arca"));
        cmd.args(["server", "--port", "0"]).args(extra);
        ServerProcess::spawn(cmd, dir)
    }

    /// Starts the server with `cmd` (the arca binary, or a shell or `runuser` that execs it).
    fn spawn(mut cmd: Command, dir: &Path) -> ServerProcess {
        let mut child = cmd
            .current_dir(dir)
            .env("ARCA_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("arca starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("server exited before it listened")
                .unwrap();
            if let Some(rest) = line.split("listening on ").nth(1) {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        // Keep draining the log so the server never blocks on a full pipe.
        let (tx, log) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        ServerProcess { child, base, log }
    }

    /// Waits until the log has a line containing `needle`, or fails after `within`.
    fn wait_for_log(&self, needle: &str, within: std::time::Duration) -> String {
        let deadline = std::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!("no log line with '{needle}' within {within:?}"),
            }
        }
    }

    fn signal(&self, signal: &str) {
        Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
    }

    fn api(&self, path: &str) -> String {
        format!("{}/api/2.0/mlflow/{path}", self.base)
    }

    fn stop(mut self, signal: &str) -> std::process::ExitStatus {
        Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        self.child.wait().unwrap()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn post(client: &reqwest::Client, url: String, body: Value) -> Value {
    let resp = client.post(url).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn starts_with_defaults_in_an_empty_folder_and_keeps_acknowledged_writes() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &[]);
    let client = reqwest::Client::new();
    let health = client
        .get(format!("{}/health", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.text().await.unwrap(), "OK");
    assert!(
        dir.path().join("arca-data/arca.db").exists(),
        "default store in ./arca-data"
    );
    assert!(dir.path().join("arca-data/artifacts").is_dir());

    post(
        &client,
        server.api("registered-models/create"),
        json!({"name": "m"}),
    )
    .await;
    // A graceful stop (SIGTERM) exits cleanly.
    let status = server.stop("-TERM");
    assert!(status.success(), "{status:?}");

    // An abrupt stop right after a 200 loses nothing either.
    let server = ServerProcess::start(dir.path(), &[]);
    post(
        &client,
        server.api("model-versions/create"),
        json!({"name": "m", "source": "s3://b/m"}),
    )
    .await;
    server.stop("-KILL");

    let server = ServerProcess::start(dir.path(), &[]);
    let resp = client
        .get(server.api("model-versions/get"))
        .query(&[("name", "m"), ("version", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

/// Writes committed together are acknowledged together: every 200 received before a `kill -9`
/// is on disk after it, whichever batch it was in, and the versions still run 1..N.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_acknowledged_before_a_kill_survive_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &[]);
    let client = reqwest::Client::new();
    post(
        &client,
        server.api("registered-models/create"),
        json!({"name": "m"}),
    )
    .await;

    let (acknowledged, mut answers) = tokio::sync::mpsc::unbounded_channel();
    for request in 0..200 {
        let (client, url, acknowledged) = (
            client.clone(),
            server.api("model-versions/create"),
            acknowledged.clone(),
        );
        tokio::spawn(async move {
            let body = json!({"name": "m", "source": format!("s3://b/m/{request}")});
            let Ok(resp) = client.post(url).json(&body).send().await else {
                return;
            };
            if resp.status() != 200 {
                return;
            }
            if let Ok(created) = resp.json::<Value>().await {
                let version = created["model_version"]["version"].as_str().unwrap();
                let _ = acknowledged.send((version.to_owned(), request));
            }
        });
    }
    drop(acknowledged);
    // Kill while most requests are still in flight.
    let mut kept = Vec::new();
    while kept.len() < 40 {
        kept.push(answers.recv().await.expect("40 writes were acknowledged"));
    }
    server.stop("-KILL");
    while let Ok(answer) = answers.try_recv() {
        kept.push(answer);
    }

    let server = ServerProcess::start(dir.path(), &[]);
    for (version, request) in &kept {
        let found = client
            .get(server.api("model-versions/get"))
            .query(&[("name", "m"), ("version", version.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(found.status(), 200, "version {version} was acknowledged");
        let found: Value = found.json().await.unwrap();
        assert_eq!(
            found["model_version"]["source"],
            format!("s3://b/m/{request}")
        );
    }
    let listed: Value = client
        .get(server.api("model-versions/search"))
        .query(&[("filter", "name = 'm'"), ("max_results", "1000")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut numbers: Vec<u64> = listed["model_versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|mv| mv["version"].as_str().unwrap().parse().unwrap())
        .collect();
    numbers.sort_unstable();
    let expected: Vec<u64> = (1..=numbers.len() as u64).collect();
    assert_eq!(numbers, expected);
    assert!(numbers.len() >= kept.len());
}

#[tokio::test]
async fn flags_come_from_arca_environment_variables_too() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("elsewhere.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_arca"))
        .args(["server", "--port", "0"])
        .current_dir(dir.path())
        .env(
            "ARCA_BACKEND_STORE_URI",
            format!("sqlite:///{}", db.display()),
        )
        .env("ARCA_ARTIFACTS_DESTINATION", dir.path().join("files"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(Ok(line)) = lines.next() {
        if line.contains("listening on") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(db.exists(), "the store named by ARCA_BACKEND_STORE_URI");
    assert!(dir.path().join("files").is_dir());
    assert!(!dir.path().join("arca-data/arca.db").exists());
}

#[test]
fn a_bad_store_uri_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_arca"))
        .args([
            "server",
            "--port",
            "0",
            "--backend-store-uri",
            "mysql://x/y",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Unsupported backend store URI"), "{stderr}");
}

#[tokio::test]
#[ignore = "needs ARCA_TEST_PG_URL (a PostgreSQL server): run ./scripts/test.sh"]
async fn two_processes_sharing_postgres_hand_out_each_version_once() {
    let Some(url) = arca_store::testing::fresh_postgres_database().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let uri = url.replacen("postgres://", "postgresql://", 1);
    let a = ServerProcess::start(dir.path(), &["--backend-store-uri", &uri]);
    let b = ServerProcess::start(dir.path(), &["--backend-store-uri", &uri]);
    let client = reqwest::Client::new();
    post(
        &client,
        a.api("registered-models/create"),
        json!({"name": "shared"}),
    )
    .await;
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let url = if i % 2 == 0 {
                a.api("model-versions/create")
            } else {
                b.api("model-versions/create")
            };
            let client = client.clone();
            tokio::spawn(async move {
                let body = post(
                    &client,
                    url,
                    json!({"name": "shared", "source": "s3://b/x"}),
                )
                .await;
                body["model_version"]["version"]
                    .as_str()
                    .unwrap()
                    .parse::<i64>()
                    .unwrap()
            })
        })
        .collect();
    let mut versions = Vec::new();
    for t in tasks {
        versions.push(t.await.unwrap());
    }
    versions.sort_unstable();
    assert_eq!(versions, (1..=50).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_static_prefix_moves_the_ui_and_the_api_below_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &["--static-prefix", "/mlflow/"]);
    assert!(
        server.base.ends_with("/mlflow"),
        "the log names the prefixed address: {}",
        server.base
    );
    let client = reqwest::Client::new();
    post(
        &client,
        server.api("registered-models/create"),
        json!({"name": "behind-a-proxy"}),
    )
    .await;

    let page = client
        .get(format!("{}/models", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("behind-a-proxy"), "{html}");
    assert!(
        html.contains(r#"href="/mlflow/models/behind-a-proxy""#),
        "links carry the prefix: {html}"
    );
    assert!(html.contains(r#"href="/mlflow/static/app."#), "{html}");

    // Nothing answers outside the prefix.
    let root = server.base.trim_end_matches("/mlflow");
    let outside = client
        .get(format!("{root}/api/2.0/mlflow/registered-models/search"))
        .send()
        .await
        .unwrap();
    assert_eq!(outside.status(), 404);
}

#[test]
fn a_static_prefix_must_be_a_path() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_arca"))
        .args(["server", "--port", "0", "--static-prefix", "mlflow"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("must start with '/'"), "{stderr}");
}
