//! Webhook delivery across a `kill -9`: progress lives in the database, so a restarted server
//! sends what the killed one had not finished.

use super::{ServerProcess, post};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A bare HTTP receiver on 127.0.0.1. While `hang` is set it takes requests in (`seen`) but
/// never answers, so the sender is mid-delivery; otherwise it answers 200 and records the body
/// as delivered (`bodies`).
struct Receiver {
    url: String,
    seen: Arc<Mutex<usize>>,
    bodies: Arc<Mutex<Vec<Value>>>,
    hang: Arc<AtomicBool>,
}

impl Receiver {
    async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let hang = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(0));
        let (b, h, s) = (bodies.clone(), hang.clone(), seen.clone());
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let (b, h, s) = (b.clone(), h.clone(), s.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        let n = socket.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                            continue;
                        };
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map(|v| v.trim().parse().unwrap())
                            .unwrap_or(0);
                        if buf.len() < end + 4 + len {
                            continue;
                        }
                        let body: Value =
                            serde_json::from_slice(&buf[end + 4..end + 4 + len]).unwrap();
                        *s.lock().unwrap() += 1;
                        if h.load(Ordering::SeqCst) {
                            tokio::time::sleep(Duration::from_secs(120)).await;
                            return;
                        }
                        b.lock().unwrap().push(body);
                        let _ = socket
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                            .await;
                        return;
                    }
                });
            }
        });
        Receiver {
            url,
            seen,
            bodies,
            hang,
        }
    }

    fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().unwrap().clone()
    }

    async fn wait_until(&self, what: &str, secs: u64, done: impl Fn(&[Value]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !done(&self.bodies()) {
            assert!(
                Instant::now() < deadline,
                "{what}: got {:#?}",
                self.bodies()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

const WEBHOOK_FLAGS: [&str; 6] = [
    "--webhook-allow-private",
    "--webhook-allowed-schemes",
    "http",
    // A short timeout keeps the killed server's lease (timeout + 5 s) short.
    "--webhook-timeout",
    "2",
    "--webhook-backoff-ms=100",
];

#[tokio::test]
async fn a_kill_mid_delivery_loses_no_event() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start().await;
    receiver.hang.store(true, Ordering::SeqCst);
    let server = ServerProcess::start(dir.path(), &WEBHOOK_FLAGS);
    let client = reqwest::Client::new();
    post(
        &client,
        server.api("webhooks"),
        json!({"name": "cd", "url": receiver.url,
               "events": [{"entity": "REGISTERED_MODEL", "action": "CREATED"}]}),
    )
    .await;
    for name in ["m1", "m2", "m3"] {
        post(
            &client,
            server.api("registered-models/create"),
            json!({"name": name}),
        )
        .await;
    }
    // Wait until the server is waiting on the receiver with all three deliveries in flight.
    let deadline = Instant::now() + Duration::from_secs(20);
    while *receiver.seen.lock().unwrap() < 3 {
        assert!(Instant::now() < deadline, "three deliveries in flight");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(receiver.bodies().is_empty());
    server.stop("-9");
    receiver.hang.store(false, Ordering::SeqCst);

    let server = ServerProcess::start(dir.path(), &WEBHOOK_FLAGS);
    post(
        &client,
        server.api("registered-models/create"),
        json!({"name": "m4"}),
    )
    .await;
    receiver
        .wait_until("every model once the lease ran out", 40, |bodies| {
            ["m1", "m2", "m3", "m4"]
                .iter()
                .all(|m| bodies.iter().any(|b| b["data"]["name"] == *m))
        })
        .await;
    drop(server);
}

/// Runs `arca <args> --output json` against `base` and returns its JSON and exit code.
fn arca_json(base: &str, args: &[&str]) -> (Option<i32>, Value) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_arca"))
        .args(args)
        .args(["--output", "json", "--tracking-uri", base])
        .output()
        .expect("arca runs");
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), json)
}

#[tokio::test]
async fn the_cli_creates_lists_tests_and_deletes_webhooks_and_shows_deliveries() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start().await;
    let server = ServerProcess::start(dir.path(), &WEBHOOK_FLAGS);
    let base = server.base.clone();
    let url = receiver.url.clone();
    let b = base.clone();
    let (code, created) = tokio::task::spawn_blocking(move || {
        arca_json(
            &b,
            &[
                "webhooks",
                "create",
                "cd",
                &url,
                "--event",
                "registered_model.created",
                "--secret",
                "s",
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "{created}");
    let id = created["webhook_id"].as_str().unwrap().to_owned();
    assert!(
        !created.to_string().contains("\"s\""),
        "the secret is not shown"
    );

    let client = reqwest::Client::new();
    post(
        &client,
        server.api("registered-models/create"),
        json!({"name": "cli"}),
    )
    .await;
    receiver
        .wait_until("the delivery", 20, |b| {
            b.iter().any(|v| v["data"]["name"] == "cli")
        })
        .await;

    let (b, i) = (base.clone(), id.clone());
    let (list, tested, deliveries, deleted, gone) = tokio::task::spawn_blocking(move || {
        let list = arca_json(&b, &["webhooks", "list"]);
        let tested = arca_json(&b, &["webhooks", "test", &i]);
        // The delivery is settled shortly after the receiver answered.
        let deadline = Instant::now() + Duration::from_secs(20);
        let deliveries = loop {
            let d = arca_json(&b, &["webhooks", "deliveries", &i]);
            if d.1[0]["state"] == "delivered" || Instant::now() > deadline {
                break d;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let refused = arca_json(&b, &["webhooks", "delete", &i]);
        assert_eq!(refused.0, Some(2), "deleting asks for --yes");
        let deleted = arca_json(&b, &["webhooks", "delete", &i, "--yes"]);
        let gone = arca_json(&b, &["webhooks", "test", &i]);
        (list, tested, deliveries, deleted, gone)
    })
    .await
    .unwrap();
    assert_eq!(list.0, Some(0));
    assert_eq!(list.1[0]["webhook_id"], json!(id));
    assert_eq!(tested.0, Some(0), "{}", tested.1);
    assert_eq!(tested.1["success"], true);
    assert_eq!(deliveries.0, Some(0));
    assert_eq!(deliveries.1[0]["event"], "registered_model.created");
    assert_eq!(deliveries.1[0]["state"], "delivered");
    assert_eq!(deleted.0, Some(0));
    assert_eq!(gone.0, Some(3), "not found");
}
