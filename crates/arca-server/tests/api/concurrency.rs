//! Version numbers under concurrent creation: gap-free and duplicate-free.

use crate::helpers::TestApp;
use serde_json::json;

crate::on_both_backends!(fifty_concurrent_creates_yield_versions_one_to_fifty);

async fn fifty_concurrent_creates_yield_versions_one_to_fifty(app: TestApp) {
    app.create_model("race").await;
    let url = app.url("model-versions/create");
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let client = app.client.clone();
            let url = url.clone();
            tokio::spawn(async move {
                let resp = client
                    .post(&url)
                    .json(&json!({"name": "race", "source": format!("s3://b/{i}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 200);
                let body: serde_json::Value = resp.json().await.unwrap();
                body["model_version"]["version"]
                    .as_str()
                    .unwrap()
                    .parse::<i64>()
                    .unwrap()
            })
        })
        .collect();
    let mut versions = Vec::new();
    for task in tasks {
        versions.push(task.await.unwrap());
    }
    versions.sort_unstable();
    assert_eq!(versions, (1..=50).collect::<Vec<_>>());
}
