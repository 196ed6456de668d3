//! Malformed requests of every kind get a 4xx in MLflow's error format, never a 5xx.

use crate::helpers::{TestApp, assert_error, read};
use serde_json::json;

crate::on_both_backends!(
    malformed_requests_get_clear_4xx_errors,
    a_page_on_another_site_cannot_write_through_the_api,
);

async fn malformed_requests_get_clear_4xx_errors(app: TestApp) {
    let url = app.url("registered-models/create");
    let send = |body: Vec<u8>| {
        app.client
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let got = read(send(b"{\"name\": ".to_vec()).await.unwrap()).await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "JSON");
    let got = read(send(b"{\"name\": 5}".to_vec()).await.unwrap()).await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "invalid type");
    let got = read(send(b"{\"name\": \"\xff\xfe\"}".to_vec()).await.unwrap()).await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "");
    let got = read(send(b"[1, 2]".to_vec()).await.unwrap()).await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "");
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(17 * 1024 * 1024));
    let got = read(send(big.into_bytes()).await.unwrap()).await;
    assert_error(&got, 413, "INVALID_PARAMETER_VALUE", "limit");
    let got = app
        .post("registered-models/create", json!({"name": "x".repeat(300)}))
        .await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "256");

    // Invalid UTF-8 in a query string.
    let resp = app
        .client
        .get(format!("{}?name=%FF%FE", app.url("registered-models/get")))
        .send()
        .await
        .unwrap();
    assert_error(&read(resp).await, 400, "INVALID_PARAMETER_VALUE", "UTF-8");

    // Unknown routes and wrong methods answer in JSON too.
    let resp = app
        .client
        .get(app.url("no/such/endpoint"))
        .send()
        .await
        .unwrap();
    assert_error(
        &read(resp).await,
        404,
        "ENDPOINT_NOT_FOUND",
        "no/such/endpoint",
    );
    let resp = app
        .client
        .get(format!("{}/nothing-here", app.base))
        .send()
        .await
        .unwrap();
    assert_error(&read(resp).await, 404, "ENDPOINT_NOT_FOUND", "");
    let resp = app
        .client
        .put(app.url("registered-models/create"))
        .send()
        .await
        .unwrap();
    assert_error(&read(resp).await, 405, "BAD_REQUEST", "PUT");

    // Health answers plainly.
    let resp = app
        .client
        .get(format!("{}/health", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "OK");
}

/// A cross-site `<form enctype="text/plain">` can send a JSON-looking body; the browser marks
/// it with `Sec-Fetch-Site` and `Origin`, and such writes are refused. Clients that send neither
/// header (the mlflow client, curl) are not affected.
async fn a_page_on_another_site_cannot_write_through_the_api(app: TestApp) {
    let url = app.url("registered-models/create");
    let send = |headers: Vec<(&'static str, &'static str)>, name: &'static str| {
        let mut req = app
            .client
            .post(&url)
            .header("content-type", "text/plain")
            .body(format!(r#"{{"name": "{name}"}}"#));
        for (k, v) in headers {
            req = req.header(k, v);
        }
        req.send()
    };
    let resp = send(
        vec![
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://evil.example"),
        ],
        "from-evil",
    )
    .await
    .unwrap();
    let got = read(resp).await;
    assert_error(&got, 403, "PERMISSION_DENIED", "another site");
    let resp = send(vec![("origin", "http://evil.example")], "from-old-browser")
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let resp = app
        .client
        .put(app.artifact_url("0/x/evil.txt"))
        .header("sec-fetch-site", "cross-site")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403, "artifact writes too");

    let (status, _) = app
        .get("registered-models/get", &[("name", "from-evil")])
        .await;
    assert_eq!(status, 404, "nothing was created");
    // Same-origin pages (the UI's upload script) and plain clients still write.
    let resp = send(vec![("sec-fetch-site", "same-origin")], "from-ui")
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = send(vec![], "from-client").await.unwrap();
    assert_eq!(resp.status(), 200);
}
