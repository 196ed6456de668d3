//! The event log over HTTP: every mutating endpoint writes exactly one event with the right
//! actor, before and after; history, as-of resolution, rollback and diff answer what a user
//! would check, and bad input gets MLflow's error shape.

use crate::helpers::{TestApp, assert_error, read};
use crate::ui_runs::{MLMODEL, experiment_with_run, log, new_run, put_run_files};
use reqwest::StatusCode;
use serde_json::{Value, json};

crate::on_both_backends!(
    every_mutating_endpoint_writes_one_event_with_its_before_and_after,
    history_is_filtered_and_paged_newest_first,
    resolve_as_of_follows_promotions_and_rollback_restores_an_alias,
    the_diff_shows_what_changed_between_two_versions,
    bad_history_input_gets_mlflow_errors,
);

const AGENT: &str = "arca-events-test/1.0";

fn arca(app: &TestApp, path: &str) -> String {
    format!("{}/api/2.0/arca/{path}", app.base)
}

/// Sends one request with a known User-Agent, as a client that names itself.
async fn send(app: &TestApp, method: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let url = if let Some(rest) = path.strip_prefix("arca/") {
        arca(app, rest)
    } else {
        app.url(path)
    };
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let resp = app
        .client
        .request(method, url)
        .header("User-Agent", AGENT)
        .json(&body)
        .send()
        .await
        .unwrap();
    read(resp).await
}

/// Every event, oldest first.
async fn all_events(app: &TestApp) -> Vec<Value> {
    let (s, body) = read(
        app.client
            .get(arca(app, "history"))
            .query(&[("max_results", "1000")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.get("next_page_token").is_none());
    let mut events = body["events"].as_array().cloned().unwrap_or_default();
    events.reverse();
    events
}

fn model(name: &str, description: &str, tags: Value) -> Value {
    json!({"name": name, "description": description, "tags": tags})
}

fn version(name: &str, n: i64, stage: &str, tags: Value, aliases: Value) -> Value {
    json!({"name": name, "version": n, "source": format!("s3://b/{n}"), "run_id": null,
        "description": null, "stage": stage, "tags": tags, "aliases": aliases})
}

/// A model `name` (description "d", tag team=a) with version 1 (tag k=v, alias champion) and
/// version 2.
async fn base(app: &TestApp, name: &str) {
    let steps = [
        (
            "POST",
            "registered-models/create",
            json!({"name": name, "description": "d", "tags": [{"key": "team", "value": "a"}]}),
        ),
        (
            "POST",
            "model-versions/create",
            json!({"name": name, "source": "s3://b/1", "tags": [{"key": "k", "value": "v"}]}),
        ),
        (
            "POST",
            "model-versions/create",
            json!({"name": name, "source": "s3://b/2"}),
        ),
        (
            "POST",
            "registered-models/alias",
            json!({"name": name, "alias": "champion", "version": "1"}),
        ),
    ];
    for (method, path, body) in steps {
        let (s, b) = send(app, method, path, body).await;
        assert_eq!(s, StatusCode::OK, "{path}: {b}");
    }
}

/// (model name, version, alias) an event is about.
type Target = (String, Option<i64>, Option<&'static str>);

struct Case {
    method: &'static str,
    path: &'static str,
    body: fn(&str) -> Value,
    action: &'static str,
    target: fn(&str) -> Target,
    before: fn(&str) -> Value,
    after: fn(&str) -> Value,
}

fn m(n: &str) -> Target {
    (n.to_owned(), None, None)
}

fn cases() -> Vec<Case> {
    let v1 = |n: &str| version(n, 1, "None", json!({"k": "v"}), json!(["champion"]));
    let v2 = |n: &str| version(n, 2, "None", json!({}), json!([]));
    vec![
        Case {
            method: "POST",
            path: "registered-models/create",
            body: |n| json!({"name": format!("{n}-new"), "description": "d", "tags": [{"key": "team", "value": "a"}]}),
            action: "create_model",
            target: |n| m(&format!("{n}-new")),
            before: |_| Value::Null,
            after: |n| model(&format!("{n}-new"), "d", json!({"team": "a"})),
        },
        Case {
            method: "POST",
            path: "registered-models/rename",
            body: |n| json!({"name": n, "new_name": format!("{n}-renamed")}),
            action: "rename_model",
            target: |n| m(&format!("{n}-renamed")),
            before: |n| model(n, "d", json!({"team": "a"})),
            after: |n| model(&format!("{n}-renamed"), "d", json!({"team": "a"})),
        },
        Case {
            method: "PATCH",
            path: "registered-models/update",
            body: |n| json!({"name": n, "description": "e"}),
            action: "update_model",
            target: m,
            before: |n| model(n, "d", json!({"team": "a"})),
            after: |n| model(n, "e", json!({"team": "a"})),
        },
        Case {
            method: "DELETE",
            path: "registered-models/delete",
            body: |n| json!({"name": n}),
            action: "delete_model",
            target: m,
            before: |n| model(n, "d", json!({"team": "a"})),
            after: |_| Value::Null,
        },
        Case {
            method: "POST",
            path: "registered-models/set-tag",
            body: |n| json!({"name": n, "key": "x", "value": "y"}),
            action: "set_model_tag",
            target: m,
            before: |n| model(n, "d", json!({"team": "a"})),
            after: |n| model(n, "d", json!({"team": "a", "x": "y"})),
        },
        Case {
            method: "DELETE",
            path: "registered-models/delete-tag",
            body: |n| json!({"name": n, "key": "team"}),
            action: "delete_model_tag",
            target: m,
            before: |n| model(n, "d", json!({"team": "a"})),
            after: |n| model(n, "d", json!({})),
        },
        Case {
            method: "POST",
            path: "registered-models/alias",
            body: |n| json!({"name": n, "alias": "champion", "version": "2"}),
            action: "set_alias",
            target: |n| (n.to_owned(), Some(2), Some("champion")),
            before: |_| json!({"alias": "champion", "version": 1}),
            after: |_| json!({"alias": "champion", "version": 2}),
        },
        Case {
            method: "DELETE",
            path: "registered-models/alias",
            body: |n| json!({"name": n, "alias": "champion"}),
            action: "delete_alias",
            target: |n| (n.to_owned(), Some(1), Some("champion")),
            before: |_| json!({"alias": "champion", "version": 1}),
            after: |_| Value::Null,
        },
        Case {
            method: "POST",
            path: "model-versions/create",
            body: |n| json!({"name": n, "source": "s3://b/3"}),
            action: "create_version",
            target: |n| (n.to_owned(), Some(3), None),
            before: |_| Value::Null,
            after: |n| version(n, 3, "None", json!({}), json!([])),
        },
        Case {
            method: "PATCH",
            path: "model-versions/update",
            body: |n| json!({"name": n, "version": "2", "description": "better"}),
            action: "update_version",
            target: |n| (n.to_owned(), Some(2), None),
            before: v2,
            after: |n| {
                let mut v = version(n, 2, "None", json!({}), json!([]));
                v["description"] = json!("better");
                v
            },
        },
        Case {
            method: "POST",
            path: "model-versions/transition-stage",
            body: |n| json!({"name": n, "version": "2", "stage": "Staging", "archive_existing_versions": false}),
            action: "transition_stage",
            target: |n| (n.to_owned(), Some(2), None),
            before: v2,
            after: |n| version(n, 2, "Staging", json!({}), json!([])),
        },
        Case {
            method: "DELETE",
            path: "model-versions/delete",
            body: |n| json!({"name": n, "version": "1"}),
            action: "delete_version",
            target: |n| (n.to_owned(), Some(1), None),
            before: v1,
            after: |_| Value::Null,
        },
        Case {
            method: "POST",
            path: "model-versions/set-tag",
            body: |n| json!({"name": n, "version": "2", "key": "x", "value": "y"}),
            action: "set_version_tag",
            target: |n| (n.to_owned(), Some(2), None),
            before: v2,
            after: |n| version(n, 2, "None", json!({"x": "y"}), json!([])),
        },
        Case {
            method: "DELETE",
            path: "model-versions/delete-tag",
            body: |n| json!({"name": n, "version": "1", "key": "k"}),
            action: "delete_version_tag",
            target: |n| (n.to_owned(), Some(1), None),
            before: v1,
            after: |n| version(n, 1, "None", json!({}), json!(["champion"])),
        },
        Case {
            method: "POST",
            path: "arca/aliases/rollback",
            body: |n| json!({"name": n, "alias": "champion"}),
            action: "set_alias",
            target: |n| (n.to_owned(), Some(1), Some("champion")),
            before: |_| json!({"alias": "champion", "version": 2}),
            after: |_| json!({"alias": "champion", "version": 1}),
        },
    ]
}

async fn every_mutating_endpoint_writes_one_event_with_its_before_and_after(app: TestApp) {
    for (i, case) in cases().into_iter().enumerate() {
        let name = format!("m{i}");
        base(&app, &name).await;
        if case.path == "arca/aliases/rollback" {
            let (s, b) = send(
                &app,
                "POST",
                "registered-models/alias",
                json!({"name": name, "alias": "champion", "version": "2"}),
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{b}");
        }
        let before_count = all_events(&app).await.len();
        let (s, b) = send(&app, case.method, case.path, (case.body)(&name)).await;
        assert_eq!(s, StatusCode::OK, "{} {}: {b}", case.method, case.path);
        let events = all_events(&app).await;
        assert_eq!(
            events.len(),
            before_count + 1,
            "{} {} writes exactly one event",
            case.method,
            case.path
        );
        let e = &events[before_count];
        let (model_name, version, alias) = (case.target)(&name);
        let what = format!("{} {}", case.method, case.path);
        assert_eq!(e["action"], case.action, "{what}");
        assert_eq!(e["model_name"], json!(model_name), "{what}");
        assert_eq!(e["version"], json!(version), "{what}");
        assert_eq!(e["alias"], json!(alias), "{what}");
        assert_eq!(e["before"], (case.before)(&name), "{what}: before");
        assert_eq!(e["after"], (case.after)(&name), "{what}: after");
        assert_eq!(e["actor"], json!(format!("{AGENT} @ 127.0.0.1")), "{what}");
        assert_eq!(e["hash"].as_str().map(str::len), Some(64), "{what}");
    }

    // A refused change writes nothing.
    let count = all_events(&app).await.len();
    let (s, _) = send(
        &app,
        "POST",
        "model-versions/transition-stage",
        json!({"name": "m2", "version": "9", "stage": "Staging"}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(all_events(&app).await.len(), count);

    // Archiving the versions already in a stage is one event per version moved.
    let (s, b) = send(
        &app,
        "POST",
        "model-versions/transition-stage",
        json!({"name": "m2", "version": "1", "stage": "Production"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = send(
        &app,
        "POST",
        "model-versions/transition-stage",
        json!({"name": "m2", "version": "2", "stage": "Production", "archive_existing_versions": true}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let events = all_events(&app).await;
    let last: Vec<(Value, Value)> = events[events.len() - 2..]
        .iter()
        .map(|e| (e["version"].clone(), e["after"]["stage"].clone()))
        .collect();
    assert_eq!(
        last,
        [
            (json!(2), json!("Production")),
            (json!(1), json!("Archived"))
        ]
    );

    let store = arca_store::MetadataStore::open(&app.store).await.unwrap();
    let report = store.verify_event_chain().await.unwrap();
    assert_eq!(report.broken, None);
    assert_eq!(report.checked as usize, events.len());
    store.close().await;
}

async fn history(app: &TestApp, query: &[(&str, &str)]) -> (StatusCode, Value) {
    read(
        app.client
            .get(arca(app, "history"))
            .query(query)
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn actions(body: &Value) -> Vec<(String, Option<i64>)> {
    body["events"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["version"].as_i64(),
            )
        })
        .collect()
}

async fn history_is_filtered_and_paged_newest_first(app: TestApp) {
    base(&app, "h").await;
    base(&app, "other").await;
    let (s, page1) = history(&app, &[("name", "h"), ("max_results", "3")]).await;
    assert_eq!(s, StatusCode::OK, "{page1}");
    assert_eq!(
        actions(&page1),
        [
            ("set_alias".to_owned(), Some(1)),
            ("create_version".to_owned(), Some(2)),
            ("create_version".to_owned(), Some(1)),
        ]
    );
    let token = page1["next_page_token"].as_str().unwrap();
    let (_, page2) = history(
        &app,
        &[("name", "h"), ("max_results", "3"), ("page_token", token)],
    )
    .await;
    assert_eq!(actions(&page2), [("create_model".to_owned(), None)]);
    assert!(page2.get("next_page_token").is_none());

    let (_, v1) = history(&app, &[("name", "h"), ("version", "1")]).await;
    assert_eq!(
        actions(&v1),
        [
            ("set_alias".to_owned(), Some(1)),
            ("create_version".to_owned(), Some(1))
        ]
    );
    let (_, champion) = history(&app, &[("name", "h"), ("alias", "champion")]).await;
    assert_eq!(actions(&champion), [("set_alias".to_owned(), Some(1))]);
    let (_, created) = history(&app, &[("action", "create_model")]).await;
    let names: Vec<&str> = created["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["model_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["other", "h"]);
    let actor = format!("{AGENT} @ 127.0.0.1");
    let (_, mine) = history(&app, &[("actor", &actor), ("name", "h")]).await;
    assert_eq!(mine["events"].as_array().unwrap().len(), 4);
    let (_, nobody) = history(&app, &[("actor", "someone else")]).await;
    assert_eq!(nobody, json!({}));

    let first_at = page2["events"][0]["at"].as_i64().unwrap();
    let (_, future) = history(&app, &[("since", &(first_at + 3_600_000).to_string())]).await;
    assert_eq!(future, json!({}));
    let (_, past) = history(&app, &[("until", "2000-01-01T00:00:00Z")]).await;
    assert_eq!(past, json!({}));
    let (_, window) = history(
        &app,
        &[
            ("name", "h"),
            ("since", "2000-01-01T00:00:00+01:00"),
            ("until", &(first_at + 3_600_000).to_string()),
        ],
    )
    .await;
    assert_eq!(window["events"].as_array().unwrap().len(), 4);
}

async fn resolve(app: &TestApp, uri: &str, as_of: &str) -> (StatusCode, Value) {
    read(
        app.client
            .get(arca(app, "resolve"))
            .query(&[("uri", uri), ("as_of", as_of)])
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// The time of the newest event, once the clock has moved past it: a change made after this
/// returns is stamped later.
async fn mark(app: &TestApp) -> String {
    let events = all_events(app).await;
    let at = events.last().unwrap()["at"].as_i64().unwrap();
    while arca_core::now_millis() <= at {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    at.to_string()
}

async fn resolve_as_of_follows_promotions_and_rollback_restores_an_alias(app: TestApp) {
    app.create_model("r").await;
    for _ in 0..3 {
        app.create_version("r", "s3://b/r").await;
    }
    let t0 = mark(&app).await;
    let promote = |v: &'static str| {
        let app = &app;
        async move {
            let (s, b) = app
                .post(
                    "model-versions/transition-stage",
                    json!({"name": "r", "version": v, "stage": "Production", "archive_existing_versions": true}),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{b}");
            let (s, b) = app
                .post(
                    "registered-models/alias",
                    json!({"name": "r", "alias": "champion", "version": v}),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{b}");
        }
    };
    promote("1").await;
    let t1 = mark(&app).await;
    promote("2").await;
    let t2 = mark(&app).await;
    promote("3").await;
    let t3 = mark(&app).await;

    let version = |body: Value| body["version"].as_str().map(str::to_owned);
    for (t, production) in [(&t1, "1"), (&t2, "2"), (&t3, "3")] {
        let (s, b) = resolve(&app, "models:/r/Production", t).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!(
            version(b),
            Some(production.to_owned()),
            "Production as of {t}"
        );
        let (_, b) = resolve(&app, "models:/r@champion", t).await;
        assert_eq!(
            version(b),
            Some(production.to_owned()),
            "@champion as of {t}"
        );
    }
    let (_, b) = resolve(&app, "models:/r/Archived", &t3).await;
    assert_eq!(version(b), Some("2".to_owned()));
    let (_, b) = resolve(&app, "models:/r/latest", &t0).await;
    assert_eq!(version(b), Some("3".to_owned()));
    let (_, b) = resolve(&app, "models:/r/2", &t0).await;
    assert_eq!(version(b), Some("2".to_owned()));
    let got = resolve(&app, "models:/r/Production", &t0).await;
    assert_error(&got, 404, "RESOURCE_DOES_NOT_EXIST", "Production");
    let got = resolve(&app, "models:/r@champion", &t0).await;
    assert_error(&got, 404, "RESOURCE_DOES_NOT_EXIST", "champion");
    // RFC 3339 names the same instant as epoch milliseconds.
    let (_, b) = resolve(&app, "models:/r@champion", "2999-01-01T00:00:00Z").await;
    assert_eq!(version(b), Some("3".to_owned()));

    // Rollback: @champion goes back to 2, and that is itself an event.
    let (s, b) = app
        .client
        .post(arca(&app, "aliases/rollback"))
        .json(&json!({"name": "r", "alias": "champion"}))
        .send()
        .await
        .map(|r| (r.status(), r))
        .unwrap();
    let (_, body) = read(b).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"name": "r", "alias": "champion", "version": "2"})
    );
    let (_, now) = app
        .get(
            "registered-models/alias",
            &[("name", "r"), ("alias", "champion")],
        )
        .await;
    assert_eq!(now["model_version"]["version"], "2");
    let last = all_events(&app).await.pop().unwrap();
    assert_eq!(
        (
            last["action"].clone(),
            last["before"]["version"].clone(),
            last["after"]["version"].clone()
        ),
        (json!("set_alias"), json!(3), json!(2))
    );
    // The past did not change.
    let (_, b) = resolve(&app, "models:/r@champion", &t3).await;
    assert_eq!(version(b), Some("3".to_owned()));
}

async fn the_diff_shows_what_changed_between_two_versions(app: TestApp) {
    app.create_model("d").await;
    let (exp, run1) = experiment_with_run(&app, "e", "first").await;
    let run2 = new_run(&app, &exp, "second").await;
    log(
        &app,
        &run1,
        &[("lr", "0.1"), ("depth", "4")],
        &[("accuracy", &[0.91])],
    )
    .await;
    log(
        &app,
        &run2,
        &[("lr", "0.1"), ("depth", "6"), ("seed", "7")],
        &[("accuracy", &[0.87])],
    )
    .await;
    // Version 2 drops the input "age" and adds a required "income"; its output type changes.
    let second = MLMODEL
        .replace("\"age\"", "\"income\"")
        .replace("\"long\"", "\"double\"");
    put_run_files(
        &app,
        &exp,
        &run1,
        &[
            ("model/MLmodel", MLMODEL.as_bytes()),
            ("model/conda.yaml", b"deps: [sklearn]"),
            ("model/model.pkl", b"weights one"),
            ("model/old.txt", b"gone"),
        ],
    )
    .await;
    put_run_files(
        &app,
        &exp,
        &run2,
        &[
            ("model/MLmodel", second.as_bytes()),
            ("model/conda.yaml", b"deps: [sklearn]"),
            ("model/model.pkl", b"weights two!"),
            ("model/new.txt", b"new"),
        ],
    )
    .await;
    for run in [&run1, &run2] {
        let (s, b) = app
            .post(
                "model-versions/create",
                json!({"name": "d", "source": format!("runs:/{run}/model"), "run_id": run}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    app.post(
        "registered-models/alias",
        json!({"name": "d", "alias": "champion", "version": "2"}),
    )
    .await;
    app.post(
        "model-versions/transition-stage",
        json!({"name": "d", "version": "1", "stage": "Production"}),
    )
    .await;

    let (s, diff) = read(
        app.client
            .get(arca(&app, "diff"))
            .query(&[("name", "d"), ("a", "1"), ("b", "2")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{diff}");
    assert_eq!(
        diff["params"],
        json!({"added": {"seed": "7"}, "changed": {"depth": {"a": "4", "b": "6"}}})
    );
    assert_eq!(
        diff["metrics"],
        json!({"changed": {"accuracy": {"a": 0.91, "b": 0.87}}})
    );
    let fields: Vec<&str> = diff["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["stage", "source", "run_id"]);
    assert_eq!(
        diff["fields"][0],
        json!({"field": "stage", "a": "Production", "b": "None"})
    );
    assert_eq!(diff["aliases"]["b"], json!(["champion"]));
    let files = &diff["files"];
    assert_eq!(files["added"][0]["path"], "new.txt");
    assert_eq!(files["added"][0]["size"], 3);
    assert_eq!(files["removed"][0]["path"], "old.txt");
    assert_eq!(files["changed"][0]["path"], "MLmodel");
    assert_eq!(files["changed"][1]["path"], "model.pkl");
    assert_eq!(files["changed"][1]["b"]["size"], 12);
    assert_eq!(
        files["changed"][1]["b"]["sha256"],
        json!(crate::helpers::sha256_hex(b"weights two!"))
    );
    assert_eq!(files["unchanged"], 1);
    assert_eq!(diff["signature"]["inputs"]["removed"][0]["name"], "age");
    assert_eq!(diff["signature"]["inputs"]["added"][0]["name"], "income");
    let breaking: Vec<&str> = diff["breaking"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap())
        .collect();
    assert!(
        breaking
            .iter()
            .any(|b| b.contains("input 'age' (double) removed")),
        "{breaking:?}"
    );
    assert!(
        breaking
            .iter()
            .any(|b| b.contains("new required input 'income'")),
        "{breaking:?}"
    );
    assert!(
        breaking
            .iter()
            .any(|b| b.contains("changed type from long to double")),
        "{breaking:?}"
    );

    // A version compared with itself: nothing differs and nothing breaks.
    let (_, same) = read(
        app.client
            .get(arca(&app, "diff"))
            .query(&[("name", "d"), ("a", "2"), ("b", "2")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(same["fields"], json!([]));
    assert_eq!(same["breaking"], json!([]));
    assert_eq!(same["files"]["changed"], json!([]));
}

async fn bad_history_input_gets_mlflow_errors(app: TestApp) {
    base(&app, "b").await;
    let get = |path: &'static str, query: Vec<(&'static str, &'static str)>| {
        let app = &app;
        async move {
            read(
                app.client
                    .get(arca(app, path))
                    .query(&query)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let invalid = |got: &(StatusCode, Value), fragment: &str| {
        assert_error(got, 400, "INVALID_PARAMETER_VALUE", fragment)
    };
    invalid(
        &get("history", vec![("action", "drop_table")]).await,
        "create_model",
    );
    invalid(
        &get("history", vec![("since", "yesterday")]).await,
        "RFC 3339",
    );
    invalid(
        &get("history", vec![("max_results", "0")]).await,
        "max_results",
    );
    invalid(
        &get("history", vec![("max_results", "100000")]).await,
        "max_results",
    );
    invalid(
        &get("history", vec![("page_token", "garbage")]).await,
        "page token",
    );
    invalid(&get("history", vec![("version", "1")]).await, "name");
    invalid(
        &get("history", vec![("name", "b"), ("version", "x")]).await,
        "version",
    );
    let (_, page) = get("history", vec![("name", "b"), ("max_results", "1")]).await;
    let token: &'static str = Box::leak(
        page["next_page_token"]
            .as_str()
            .unwrap()
            .to_owned()
            .into_boxed_str(),
    );
    invalid(
        &get(
            "history",
            vec![
                ("name", "other"),
                ("max_results", "1"),
                ("page_token", token),
            ],
        )
        .await,
        "different filter",
    );

    assert_error(
        &get("resolve", vec![("as_of", "0")]).await,
        400,
        "INVALID_PARAMETER_VALUE",
        "uri",
    );
    invalid(
        &get("resolve", vec![("uri", "models:/b@champion")]).await,
        "as_of",
    );
    invalid(
        &get(
            "resolve",
            vec![("uri", "models:/b@champion"), ("as_of", "soon")],
        )
        .await,
        "as_of",
    );
    invalid(
        &get("resolve", vec![("uri", "runs:/x"), ("as_of", "0")]).await,
        "model URI",
    );
    let got = get(
        "resolve",
        vec![("uri", "models:/nope/1"), ("as_of", "2999-01-01")],
    )
    .await;
    assert_error(&got, 404, "RESOURCE_DOES_NOT_EXIST", "nope");

    let got = get("diff", vec![("name", "b"), ("a", "1"), ("b", "9")]).await;
    assert_error(&got, 404, "RESOURCE_DOES_NOT_EXIST", "version=9");
    invalid(&get("diff", vec![("name", "b"), ("a", "1")]).await, "b");
    invalid(
        &get("diff", vec![("name", "b"), ("a", "one"), ("b", "2")]).await,
        "one",
    );

    let post = |body: Value| {
        let app = &app;
        async move {
            read(
                app.client
                    .post(arca(app, "aliases/rollback"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    invalid(
        &post(json!({"name": "b", "alias": "champion"})).await,
        "nothing to roll back",
    );
    invalid(
        &post(json!({"name": "b", "alias": "never"})).await,
        "no history",
    );
    invalid(&post(json!({"name": "b"})).await, "alias");
    let got = post(json!({"name": "nope", "alias": "champion"})).await;
    assert_error(&got, 404, "RESOURCE_DOES_NOT_EXIST", "nope");
}
