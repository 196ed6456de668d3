//! `GET /metrics` as Prometheus scrapes it.

use crate::helpers::TestApp;

crate::on_both_backends!(requests_artifacts_and_pools_are_counted);

async fn requests_artifacts_and_pools_are_counted(app: TestApp) {
    app.create_model("m1").await;
    app.create_model("m2").await;
    let (status, _) = app.get("registered-models/get", &[("name", "nope")]).await;
    assert_eq!(status, 404);
    let body = vec![7u8; 3000];
    let (status, _) = app.put_artifact("0/run/a.bin", body.clone()).await;
    assert_eq!(status, 200);
    let (status, got) = app.get_artifact("0/run/a.bin").await;
    assert_eq!((status.as_u16(), got.len()), (200, 3000));

    let resp = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = resp.text().await.unwrap();
    let value = |line_start: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(line_start))
            .unwrap_or_else(|| panic!("no line {line_start} in\n{text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(
        value(
            r#"arca_http_requests_total{method="POST",route="/api/2.0/mlflow/registered-models/create",status="200"}"#
        ),
        2.0
    );
    assert_eq!(
        value(
            r#"arca_http_requests_total{method="GET",route="/api/2.0/mlflow/registered-models/get",status="404"}"#
        ),
        1.0
    );
    assert_eq!(
        value(
            r#"arca_http_request_duration_seconds_count{method="POST",route="/api/2.0/mlflow/registered-models/create"}"#
        ),
        2.0
    );
    assert_eq!(
        value(
            r#"arca_http_request_duration_seconds_bucket{method="POST",route="/api/2.0/mlflow/registered-models/create",le="+Inf"}"#
        ),
        2.0
    );
    assert!(
        !text.contains("route=\"/api/2.0/mlflow/registered-models/get?"),
        "routes are templates, not concrete URLs"
    );
    assert_eq!(
        value(r#"arca_artifact_bytes_total{direction="in"}"#),
        3000.0
    );
    assert_eq!(
        value(r#"arca_artifact_bytes_total{direction="out"}"#),
        3000.0
    );
    assert!(text.contains("arca_db_pool_connections{pool="), "{text}");
    assert!(value("arca_uptime_seconds") >= 0.0);
    let writes = value("arca_writes_total");
    // Two models at least (on PostgreSQL the artifact record commits in its own locked
    // transaction, outside the counted writes).
    assert!(writes >= 2.0, "{text}");
    assert!(value("arca_write_batches_total") >= 1.0);
    assert!(value("arca_write_batches_total") <= writes);
    assert!(value("arca_write_batch_largest") >= 1.0);
}
