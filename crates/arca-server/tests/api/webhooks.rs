//! Webhooks end to end: MLflow's webhook API, and deliveries to a real receiver listening on
//! 127.0.0.1 that checks signatures, sees the order of events, and answers as scripted.

use crate::helpers::{TestApp, assert_error, test_webhook_config};
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::response::IntoResponse;
use base64::Engine;
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub headers: HeaderMap,
    pub body: String,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

/// An answer the receiver gives: status and extra headers.
pub type Answer = (u16, Vec<(&'static str, String)>);

/// An HTTP receiver on 127.0.0.1: records every request and answers from a script (200 once
/// the script runs out).
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    got: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<Answer>>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        Receiver::with_answers(Vec::new()).await
    }

    pub async fn with_answers(answers: Vec<Answer>) -> Receiver {
        let got = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(answers)));
        let (g, s) = (got.clone(), script.clone());
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: String| {
            let (g, s) = (g.clone(), s.clone());
            async move {
                g.lock().unwrap().push(Received {
                    at: Instant::now(),
                    headers,
                    body,
                });
                let (status, extra) = s.lock().unwrap().pop_front().unwrap_or((200, vec![]));
                let mut response =
                    (AxumStatus::from_u16(status).unwrap(), "answered").into_response();
                for (name, value) in extra {
                    response.headers_mut().insert(name, value.parse().unwrap());
                }
                response
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://127.0.0.1:{}/hook",
            listener.local_addr().unwrap().port()
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, got, script }
    }

    pub fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    pub fn answer_always(&self, status: u16) {
        let mut s = self.script.lock().unwrap();
        s.clear();
        s.extend(std::iter::repeat_n((status, vec![]), 1000));
    }

    /// Waits until `n` requests arrived, or fails after `secs`.
    pub async fn wait_for(&self, n: usize, secs: u64) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "the receiver got {} of {n} requests in {secs} s: {got:?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Checks a delivery's signature as an MLflow receiver does.
pub fn verify(secret: &str, r: &Received) -> bool {
    let signed = format!(
        "{}.{}.{}",
        r.header("x-mlflow-delivery-id"),
        r.header("x-mlflow-timestamp"),
        r.body
    );
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(signed.as_bytes());
    let expected = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    r.header("x-mlflow-signature") == expected
}

pub async fn create_webhook(
    app: &TestApp,
    url: &str,
    events: &[(&str, &str)],
    secret: &str,
) -> String {
    let events: Vec<Value> = events
        .iter()
        .map(|(e, a)| json!({"entity": e, "action": a}))
        .collect();
    let (status, body) = app
        .post(
            "webhooks",
            json!({"name": "hook", "url": url, "events": events, "secret": secret}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["webhook"]["webhook_id"].as_str().unwrap().to_owned()
}

pub async fn deliveries(app: &TestApp, id: &str) -> Vec<Value> {
    let resp = app
        .client
        .get(format!(
            "{}/api/2.0/arca/webhooks/{id}/deliveries",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    body["deliveries"].as_array().cloned().unwrap_or_default()
}

/// Waits until every delivery of the webhook is settled (delivered or dead).
async fn wait_settled(app: &TestApp, id: &str, n: usize, secs: u64) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let got = deliveries(app, id).await;
        if got.len() >= n && got.iter().all(|d| d["state"] != "pending") {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "deliveries not settled: {got:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

crate::on_both_backends!(
    the_webhook_api_answers_as_mlflow_and_never_returns_the_secret,
    deliveries_are_signed_and_carry_mlflows_envelope,
    each_models_events_arrive_in_order_through_failures,
    a_receiver_failing_three_times_then_succeeding_gets_the_event_once,
    retry_after_is_honoured,
    a_delivery_is_dead_after_the_last_attempt_and_can_be_redelivered,
    stage_transitions_and_deletes_are_delivered_in_mlflows_style,
    redirects_are_not_followed,
    the_pull_feed_pages_through_events_after_a_cursor,
);

async fn the_webhook_api_answers_as_mlflow_and_never_returns_the_secret(app: TestApp) {
    let receiver = Receiver::start().await;
    let (status, created) = app
        .post(
            "webhooks",
            json!({
                "name": "deploy-hook", "url": receiver.url, "secret": "top-secret",
                "description": "tell CD",
                "events": [
                    {"entity": "MODEL_VERSION_TAG", "action": "SET"},
                    {"entity": "MODEL_VERSION_TAG", "action": "DELETED"},
                    {"entity": 1, "action": 1},
                ],
            }),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let hook = &created["webhook"];
    let id = hook["webhook_id"].as_str().unwrap();
    assert_eq!(hook["status"], "ACTIVE");
    assert_eq!(hook["description"], "tell CD");
    assert_eq!(
        hook["events"],
        json!([
            {"entity": "MODEL_VERSION_TAG", "action": "DELETED"},
            {"entity": "MODEL_VERSION_TAG", "action": "SET"},
            {"entity": "REGISTERED_MODEL", "action": "CREATED"},
        ])
    );
    assert!(!created.to_string().contains("top-secret"));

    let (status, got) = app.get(&format!("webhooks/{id}"), &[]).await;
    assert_eq!((status.as_u16(), &got["webhook"]), (200, hook));
    assert!(!got.to_string().contains("top-secret"));

    let (status, updated) = app
        .patch(
            &format!("webhooks/{id}"),
            json!({"status": "DISABLED", "name": "renamed", "events": []}),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["webhook"]["status"], "DISABLED");
    assert_eq!(updated["webhook"]["name"], "renamed");
    assert_eq!(
        updated["webhook"]["events"], hook["events"],
        "an empty list keeps them"
    );
    assert!(!updated.to_string().contains("top-secret"));

    // Listing pages newest first with MLflow's offset tokens.
    for i in 0..2 {
        let (status, _) = app
            .post(
                "webhooks",
                json!({"name": format!("h{i}"), "url": receiver.url,
                       "events": [{"entity": "MODEL_VERSION", "action": "CREATED"}]}),
            )
            .await;
        assert_eq!(status, 200);
    }
    let (_, page1) = app.get("webhooks", &[("max_results", "2")]).await;
    let names: Vec<_> = page1["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].clone())
        .collect();
    assert_eq!(names, [json!("h1"), json!("h0")]);
    let token = page1["next_page_token"].as_str().unwrap();
    let (_, page2) = app
        .get("webhooks", &[("max_results", "2"), ("page_token", token)])
        .await;
    assert_eq!(page2["webhooks"][0]["name"], "renamed");
    assert!(page2.get("next_page_token").is_none());

    // Bad input: MLflow's codes and statuses.
    assert_error(
        &app.post("webhooks", json!({"url": receiver.url, "events": []}))
            .await,
        400,
        "INVALID_PARAMETER_VALUE",
        "'name'",
    );
    assert_error(
        &app.post(
            "webhooks",
            json!({"name": "x", "url": receiver.url, "events": []}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
        "non-empty list",
    );
    assert_error(
        &app.post(
            "webhooks",
            json!({"name": "-x", "url": receiver.url,
            "events": [{"entity": "REGISTERED_MODEL", "action": "CREATED"}]}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
        "is invalid",
    );
    assert_error(
        &app.post(
            "webhooks",
            json!({"name": "x", "url": receiver.url,
            "events": [{"entity": "REGISTERED_MODEL", "action": "SET"}]}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
        "Valid actions are",
    );
    assert_error(
        &app.post(
            "webhooks",
            json!({"name": "x", "url": "ftp://8.8.8.8/",
            "events": [{"entity": "REGISTERED_MODEL", "action": "CREATED"}]}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
        "scheme",
    );
    assert_error(
        &app.get("webhooks", &[("max_results", "1001")]).await,
        400,
        "INVALID_PARAMETER_VALUE",
        "between 1 and 1000",
    );
    assert_error(
        &app.get("webhooks/nope", &[]).await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "nope",
    );
    assert_error(
        &app.patch("webhooks/nope", json!({"name": "y"})).await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "nope",
    );
    assert_error(
        &app.post("webhooks/nope/test", json!({})).await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "nope",
    );

    // The test endpoint posts MLflow's example payload once and reports the answer.
    let (status, tested) = app
        .post(
            &format!("webhooks/{id}/test"),
            json!({"event": {"entity": "MODEL_VERSION_TAG", "action": "SET"}}),
        )
        .await;
    assert_eq!(status, 200, "{tested}");
    assert_eq!(tested["result"]["success"], true, "{tested}");
    assert_eq!(tested["result"]["response_status"], 200);
    let got = receiver.wait_for(1, 10).await;
    assert!(verify("top-secret", &got[0]));
    assert_eq!(
        got[0].json()["data"],
        json!({"name": "example_model", "version": "1", "key": "example_key", "value": "example_value"})
    );

    let (status, body) = app.delete(&format!("webhooks/{id}"), json!({})).await;
    assert_eq!((status.as_u16(), body), (200, json!({})));
    assert_error(
        &app.get(&format!("webhooks/{id}"), &[]).await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        id,
    );
    assert_error(
        &app.delete(&format!("webhooks/{id}"), json!({})).await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        id,
    );
}

async fn deliveries_are_signed_and_carry_mlflows_envelope(app: TestApp) {
    let receiver = Receiver::start().await;
    create_webhook(
        &app,
        &receiver.url,
        &[
            ("REGISTERED_MODEL", "CREATED"),
            ("MODEL_VERSION", "CREATED"),
            ("MODEL_VERSION_TAG", "SET"),
            ("MODEL_VERSION_TAG", "DELETED"),
            ("MODEL_VERSION_ALIAS", "CREATED"),
            ("MODEL_VERSION_ALIAS", "DELETED"),
        ],
        "s3cr3t",
    )
    .await;
    app.create_model("churn").await;
    app.create_version("churn", "s3://bucket/churn/1").await;
    let ok = |r: (reqwest::StatusCode, Value)| assert_eq!(r.0, 200, "{}", r.1);
    ok(app
        .post(
            "model-versions/set-tag",
            json!({"name": "churn", "version": "1", "key": "k", "value": "v"}),
        )
        .await);
    ok(app
        .delete(
            "model-versions/delete-tag",
            json!({"name": "churn", "version": "1", "key": "k"}),
        )
        .await);
    ok(app
        .post(
            "registered-models/alias",
            json!({"name": "churn", "alias": "champion", "version": "1"}),
        )
        .await);
    ok(app
        .delete(
            "registered-models/alias",
            json!({"name": "churn", "alias": "champion"}),
        )
        .await);

    let got = receiver.wait_for(6, 20).await;
    let mut ids = std::collections::HashSet::new();
    for r in &got {
        assert!(verify("s3cr3t", r), "signature of {}", r.body);
        assert!(!verify("another secret", r));
        assert_eq!(r.header("content-type"), "application/json");
        let ts: u64 = r.header("x-mlflow-timestamp").parse().unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(now.abs_diff(ts) < 60, "timestamp {ts} is now");
        assert!(ids.insert(r.header("x-mlflow-delivery-id").to_owned()));
    }
    let events: Vec<(String, Value)> = got
        .iter()
        .map(|r| {
            let v = r.json();
            assert!(v["timestamp"].as_str().unwrap().ends_with("+00:00"));
            (
                format!(
                    "{}.{}",
                    v["entity"].as_str().unwrap(),
                    v["action"].as_str().unwrap()
                ),
                v["data"].clone(),
            )
        })
        .collect();
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "registered_model.created",
            "model_version.created",
            "model_version_tag.set",
            "model_version_tag.deleted",
            "model_version_alias.created",
            "model_version_alias.deleted",
        ]
    );
    assert_eq!(
        events[0].1,
        json!({"name": "churn", "tags": {}, "description": null})
    );
    let version = &events[1].1;
    assert_eq!(
        (
            &version["name"],
            &version["version"],
            &version["source"],
            &version["run_id"],
            &version["tags"]
        ),
        (
            &json!("churn"),
            &json!("1"),
            &json!("s3://bucket/churn/1"),
            &Value::Null,
            &json!({})
        )
    );
    assert_eq!(
        events[2].1,
        json!({"name": "churn", "version": "1", "key": "k", "value": "v"})
    );
    assert_eq!(
        events[3].1,
        json!({"name": "churn", "version": "1", "key": "k"})
    );
    assert_eq!(
        events[4].1,
        json!({"name": "churn", "alias": "champion", "version": "1"})
    );
    assert_eq!(events[5].1, json!({"name": "churn", "alias": "champion"}));
}

async fn each_models_events_arrive_in_order_through_failures(app: TestApp) {
    // Every third request fails, so retries interleave with new events.
    let answers = (0..60)
        .map(|i| (if i % 3 == 0 { 500 } else { 200 }, vec![]))
        .collect();
    let receiver = Receiver::with_answers(answers).await;
    let id = create_webhook(&app, &receiver.url, &[("MODEL_VERSION_TAG", "SET")], "s").await;
    for m in ["a", "b"] {
        app.create_model(m).await;
        app.create_version(m, "s3://b/x").await;
    }
    let writes =
        ["a", "b"].map(|m| {
            let app = &app;
            async move {
                for i in 0..10 {
                    let (status, _) = app
                    .post("model-versions/set-tag",
                        json!({"name": m, "version": "1", "key": format!("step{i}"), "value": "x"}))
                    .await;
                    assert_eq!(status, 200);
                }
            }
        });
    futures::future::join_all(writes).await;
    let settled = wait_settled(&app, &id, 20, 60).await;
    assert!(
        settled.iter().all(|d| d["state"] == "delivered"),
        "{settled:#?}"
    );
    for m in ["a", "b"] {
        let delivered: Vec<String> = receiver
            .received()
            .iter()
            .map(Received::json)
            .filter(|v| v["data"]["name"] == m)
            .map(|v| v["data"]["key"].as_str().unwrap_or_default().to_owned())
            .collect();
        // A failed attempt is repeated before the model's next event goes out.
        let mut firsts = delivered.clone();
        firsts.dedup();
        assert_eq!(
            firsts,
            (0..10).map(|i| format!("step{i}")).collect::<Vec<_>>(),
            "model {m}: {delivered:?}"
        );
    }
}

async fn a_receiver_failing_three_times_then_succeeding_gets_the_event_once(app: TestApp) {
    let receiver = Receiver::with_answers(vec![(500, vec![]), (500, vec![]), (500, vec![])]).await;
    let id = create_webhook(&app, &receiver.url, &[("REGISTERED_MODEL", "CREATED")], "s").await;
    app.create_model("flaky").await;
    let got = receiver.wait_for(4, 20).await;
    let settled = wait_settled(&app, &id, 1, 20).await;
    assert_eq!(settled.len(), 1);
    assert_eq!(settled[0]["state"], "delivered");
    assert_eq!(settled[0]["attempts"], 4);
    assert_eq!(settled[0]["last_status"], 200);
    // Every attempt is the same delivery: same id and same body, so a receiver can drop repeats.
    let first = &got[0];
    assert!(got.iter().all(|r| r.header("x-mlflow-delivery-id")
        == first.header("x-mlflow-delivery-id")
        && r.body == first.body));
    // Backoff doubles: 100, 200, 400 ms with the test settings.
    let gaps: Vec<Duration> = got.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(gaps[2] >= Duration::from_millis(350), "gaps {gaps:?}");
    assert!(gaps[2] > gaps[0], "gaps {gaps:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 4, "nothing after the success");
}

async fn retry_after_is_honoured(app: TestApp) {
    let receiver = Receiver::with_answers(vec![(503, vec![("Retry-After", "2".to_owned())])]).await;
    let id = create_webhook(&app, &receiver.url, &[("REGISTERED_MODEL", "CREATED")], "s").await;
    app.create_model("busy").await;
    let got = receiver.wait_for(2, 20).await;
    let gap = got[1].at - got[0].at;
    // Without Retry-After the test settings retry after 100 ms.
    assert!(gap >= Duration::from_millis(1900), "retried after {gap:?}");
    let settled = wait_settled(&app, &id, 1, 10).await;
    assert_eq!(settled[0]["state"], "delivered");
}

async fn a_delivery_is_dead_after_the_last_attempt_and_can_be_redelivered(app: TestApp) {
    let receiver = Receiver::start().await;
    receiver.answer_always(500);
    let id = create_webhook(&app, &receiver.url, &[("REGISTERED_MODEL", "CREATED")], "s").await;
    app.create_model("doomed").await;
    let settled = wait_settled(&app, &id, 1, 30).await;
    let max = test_webhook_config().max_attempts as usize;
    assert_eq!(settled[0]["state"], "dead");
    assert_eq!(settled[0]["attempts"], max);
    assert_eq!(settled[0]["last_status"], 500);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), max, "no attempt after the last");

    receiver.answer_always(200);
    let delivery_id = settled[0]["delivery_id"].as_str().unwrap();
    let resp = app
        .client
        .post(format!(
            "{}/api/2.0/arca/webhooks/{id}/deliveries/{delivery_id}/redeliver",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let got = receiver.wait_for(max + 1, 20).await;
    assert_eq!(got[max].body, got[0].body);
    let settled = wait_settled(&app, &id, 2, 20).await;
    assert_eq!(settled[0]["state"], "delivered", "{settled:#?}");
    let resp = app
        .client
        .post(format!(
            "{}/api/2.0/arca/webhooks/{id}/deliveries/nope/redeliver",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

async fn stage_transitions_and_deletes_are_delivered_in_mlflows_style(app: TestApp) {
    let receiver = Receiver::start().await;
    let id = create_webhook(
        &app,
        &receiver.url,
        &[
            ("MODEL_VERSION_STAGE", "SET"),
            ("MODEL_VERSION", "DELETED"),
            ("REGISTERED_MODEL", "DELETED"),
        ],
        "s",
    )
    .await;
    app.create_model("gone").await;
    app.create_version("gone", "s3://b/x").await;
    let (status, _) = app
        .post("model-versions/transition-stage",
            json!({"name": "gone", "version": "1", "stage": "Production", "archive_existing_versions": false}))
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .delete(
            "model-versions/delete",
            json!({"name": "gone", "version": "1"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .delete("registered-models/delete", json!({"name": "gone"}))
        .await;
    assert_eq!(status, 200);
    let got = receiver.wait_for(3, 20).await;
    let names: Vec<String> = got
        .iter()
        .map(|r| {
            let v = r.json();
            format!(
                "{}.{}",
                v["entity"].as_str().unwrap(),
                v["action"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            "model_version_stage.set",
            "model_version.deleted",
            "registered_model.deleted"
        ]
    );
    assert_eq!(
        got[0].json()["data"],
        json!({"name": "gone", "version": "1", "stage": "Production", "previous_stage": "None"})
    );
    assert_eq!(got[2].json()["data"], json!({"name": "gone"}));
    wait_settled(&app, &id, 3, 10).await;
}

async fn redirects_are_not_followed(app: TestApp) {
    let elsewhere = Receiver::start().await;
    let redirecting = Receiver::with_answers(
        (0..20)
            .map(|_| (307, vec![("Location", elsewhere.url.clone())]))
            .collect(),
    )
    .await;
    let id = create_webhook(
        &app,
        &redirecting.url,
        &[("REGISTERED_MODEL", "CREATED")],
        "s",
    )
    .await;
    let (status, tested) = app.post(&format!("webhooks/{id}/test"), json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(tested["result"]["success"], false, "{tested}");
    assert_eq!(tested["result"]["response_status"], 307);
    app.create_model("m").await;
    let settled = wait_settled(&app, &id, 1, 30).await;
    assert_eq!(settled[0]["state"], "dead");
    assert!(
        settled[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("redirect")
    );
    assert!(elsewhere.received().is_empty(), "the redirect was followed");
}

/// The settings of a server started without `--webhook-allow-private`.
fn guarded() -> arca_server::webhooks::deliver::WebhookConfig {
    let mut config = test_webhook_config();
    config.guard.allow_private = false;
    config
}

#[tokio::test]
async fn every_ssrf_class_is_refused_on_create_and_update_without_the_opt_in() {
    let dir = tempfile::tempdir().unwrap();
    let store = arca_store::StoreUri::sqlite(dir.path().join("arca.db"));
    let app = TestApp::spawn_with_webhooks(store, dir, guarded()).await;
    let receiver = Receiver::start().await;
    let port = receiver
        .url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let refused = [
        receiver.url.clone(),                             // loopback
        format!("http://localhost:{port}/hook"),          // a name resolving to 127.0.0.1
        format!("http://2130706433:{port}/hook"),         // decimal IPv4
        format!("http://0x7f000001:{port}/hook"),         // hex IPv4
        format!("http://0177.0.0.1:{port}/hook"),         // octal IPv4
        format!("http://[::ffff:127.0.0.1]:{port}/hook"), // IPv4-mapped IPv6
        "http://[::1]/".to_owned(),
        "http://10.1.2.3/".to_owned(), // private
        "http://192.168.0.10/".to_owned(),
        "http://100.64.0.1/".to_owned(), // CGNAT
        "http://169.254.169.254/latest/meta-data/".to_owned(), // cloud metadata
        "http://[fd00::1]/".to_owned(),  // IPv6 ULA
        "http://[fe80::1]/".to_owned(),  // IPv6 link-local
        "http://0.0.0.0/".to_owned(),
    ];
    for url in &refused {
        let got = app
            .post(
                "webhooks",
                json!({"name": "x", "url": url,
                "events": [{"entity": "REGISTERED_MODEL", "action": "CREATED"}]}),
            )
            .await;
        assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "non-public");
    }
    let (status, created) = app
        .post(
            "webhooks",
            json!({"name": "x", "url": "https://8.8.8.8/hook",
            "events": [{"entity": "REGISTERED_MODEL", "action": "CREATED"}]}),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let id = created["webhook"]["webhook_id"].as_str().unwrap();
    for url in &refused {
        let got = app
            .patch(&format!("webhooks/{id}"), json!({"url": url}))
            .await;
        assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "non-public");
    }
    assert!(receiver.received().is_empty());
}

/// A webhook stored while private addresses were allowed is refused once they are not: by the
/// test endpoint and at every delivery attempt, before anything is sent.
#[tokio::test]
async fn a_private_webhook_is_refused_on_test_and_at_delivery_without_the_opt_in() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let receiver = Receiver::start().await;
    let port = receiver
        .url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let mut ids = Vec::new();
    for url in [
        receiver.url.clone(),
        format!("http://localhost:{port}/hook"),
        format!("http://0x7f000001:{port}/hook"),
        format!("http://[::ffff:127.0.0.1]:{port}/hook"),
    ] {
        ids.push(create_webhook(&app, &url, &[("REGISTERED_MODEL", "CREATED")], "s").await);
    }
    let app = app.restart_with_webhooks(guarded()).await;
    for id in &ids {
        let (status, tested) = app.post(&format!("webhooks/{id}/test"), json!({})).await;
        assert_eq!(status, 200);
        assert_eq!(tested["result"]["success"], false);
        let message = tested["result"]["error_message"].as_str().unwrap();
        assert!(message.contains("non-public"), "{message}");
    }
    app.create_model("m").await;
    for id in &ids {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = deliveries(&app, id).await;
            if let Some(error) = got.first().and_then(|d| d["last_error"].as_str()) {
                assert!(error.contains("non-public"), "{error}");
                break;
            }
            assert!(Instant::now() < deadline, "no attempt recorded: {got:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert!(
        receiver.received().is_empty(),
        "a refused webhook reached the receiver"
    );
}

#[tokio::test]
async fn a_redirect_to_the_metadata_service_is_not_followed() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let receiver = Receiver::with_answers(vec![(
        302,
        vec![(
            "Location",
            "http://169.254.169.254/latest/meta-data/iam/".to_owned(),
        )],
    )])
    .await;
    let id = create_webhook(&app, &receiver.url, &[("REGISTERED_MODEL", "CREATED")], "s").await;
    let started = Instant::now();
    let (status, tested) = app.post(&format!("webhooks/{id}/test"), json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(tested["result"]["success"], false, "{tested}");
    assert_eq!(tested["result"]["response_status"], 302);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "no connection was tried"
    );
    assert_eq!(receiver.received().len(), 1);
}

/// Two servers on one PostgreSQL database, each with its own dispatcher: every event reaches
/// the receiver exactly once, whichever server planned or sent it.
#[tokio::test]
#[ignore = "needs ARCA_TEST_PG_URL (a PostgreSQL server): run ./scripts/test.sh"]
async fn two_replicas_on_one_postgres_deliver_each_event_once() {
    let Some(a) = TestApp::spawn(crate::helpers::Backend::Postgres).await else {
        return;
    };
    let b = TestApp::spawn_with(a.store.clone(), tempfile::tempdir().unwrap()).await;
    let receiver = Receiver::start().await;
    let id = create_webhook(&a, &receiver.url, &[("REGISTERED_MODEL", "CREATED")], "s").await;
    let creates = (0..40).map(|i| {
        let app = if i % 2 == 0 { &a } else { &b };
        async move { app.create_model(&format!("m{i}")).await }
    });
    futures::future::join_all(creates).await;
    let settled = wait_settled(&a, &id, 40, 60).await;
    assert_eq!(settled.len(), 40, "one delivery planned per event");
    // Give a duplicate the time to show up, if there were one.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut names: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| r.json()["data"]["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = (0..40).map(|i| format!("m{i}")).collect();
    expected.sort();
    assert_eq!(names, expected);
}

async fn the_pull_feed_pages_through_events_after_a_cursor(app: TestApp) {
    let feed = |after: String| {
        let app = &app;
        async move {
            let resp = app
                .client
                .get(format!("{}/api/2.0/arca/events", app.base))
                .query(&[("after", after.as_str()), ("max_results", "2")])
                .send()
                .await
                .unwrap();
            let status = resp.status();
            (status, resp.json::<Value>().await.unwrap())
        }
    };
    app.create_model("fed").await;
    app.create_version("fed", "s3://b/x").await;
    let (status, _) = app
        .post(
            "registered-models/alias",
            json!({"name": "fed", "alias": "prod", "version": "1"}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, page1) = feed("0".into()).await;
    let events = page1["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["action"], "create_model");
    assert_eq!(events[0]["webhook_event"], "registered_model.created");
    assert_eq!(events[1]["data"]["source"], "s3://b/x");
    let (_, page2) = feed(page1["next_cursor"].as_str().unwrap().to_owned()).await;
    let events = page2["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["webhook_event"], "model_version_alias.created");
    let cursor = page2["next_cursor"].as_str().unwrap().to_owned();
    let (_, page3) = feed(cursor.clone()).await;
    assert_eq!(page3, json!({"events": [], "next_cursor": cursor}));
    let (status, body) = feed("yesterday".into()).await;
    assert_eq!(status, 400);
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");
}
