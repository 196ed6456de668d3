//! Multipart uploads through presigned part URLs and presigned downloads, as the `mlflow` client
//! drives them: `mpu/create`, a PUT of each part straight to the bucket, `mpu/complete` (or
//! `mpu/abort`), and `presigned/` for a ranged download from the bucket.
//!
//! On a local folder the server answers exactly as `mlflow server` does there (501 with the
//! message the client falls back on). The S3 tests run against the S3-compatible test server
//! when `ARCA_TEST_S3_ENDPOINT` is set (skipped otherwise, failed with `ARCA_REQUIRE_S3=1`).

use crate::helpers::{Backend, TestApp, assert_error, pseudo_random, read, sha256_hex};
use reqwest::StatusCode;
use serde_json::{Value, json};

const MIB: usize = 1024 * 1024;
/// S3's smallest part but the last.
const PART: usize = 5 * MIB;

impl TestApp {
    async fn mpu(&self, action: &str, dir: &str, body: Value) -> (StatusCode, Value) {
        let resp = self
            .client
            .post(format!(
                "{}/api/2.0/mlflow-artifacts/mpu/{action}/{dir}",
                self.base
            ))
            .json(&body)
            .send()
            .await
            .unwrap();
        read(resp).await
    }

    async fn presigned(&self, base: &str, path: &str) -> (StatusCode, Value) {
        let resp = self
            .client
            .get(format!(
                "{}/{base}/2.0/mlflow-artifacts/presigned/{path}",
                self.base
            ))
            .send()
            .await
            .unwrap();
        read(resp).await
    }

    async fn server_info(&self) -> Value {
        let resp = self
            .client
            .get(format!("{}/api/3.0/mlflow/server-info", self.base))
            .send()
            .await
            .unwrap();
        read(resp).await.1
    }

    async fn manifest_of(&self, path: &str) -> Value {
        let resp = self
            .client
            .get(format!("{}/api/2.0/arca/artifacts/manifest", self.base))
            .query(&[("path", path)])
            .send()
            .await
            .unwrap();
        read(resp).await.1
    }

    /// Uploads `content` as the client does: `mpu/create`, then each `PART`-sized slice PUT
    /// to its presigned URL. Returns the upload id and the parts for `mpu/complete`.
    async fn upload_parts(&self, dir: &str, local_file: &str, content: &[u8]) -> (String, Value) {
        let chunks: Vec<&[u8]> = content.chunks(PART).collect();
        let (status, created) = self
            .mpu(
                "create",
                dir,
                json!({"path": local_file, "num_parts": chunks.len()}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{created}");
        let credentials = created["credentials"].as_array().unwrap();
        assert_eq!(credentials.len(), chunks.len(), "{created}");
        let mut parts = Vec::new();
        for (credential, chunk) in credentials.iter().zip(chunks) {
            let url = credential["url"].as_str().unwrap();
            assert!(
                !url.contains(&self.base),
                "part URLs point at the bucket, not at the server: {url}"
            );
            let resp = reqwest::Client::new()
                .put(url)
                .body(chunk.to_vec())
                .send()
                .await
                .unwrap();
            assert!(resp.status().is_success(), "part upload: {resp:?}");
            let etag = resp.headers()["etag"].to_str().unwrap().to_owned();
            parts.push(json!({
                "part_number": credential["part_number"],
                "etag": etag,
                "url": url,
            }));
        }
        let upload_id = created["upload_id"].as_str().unwrap().to_owned();
        (upload_id, Value::Array(parts))
    }
}

// ------------------------------------------------------------------ local folder

#[tokio::test]
async fn a_local_folder_answers_like_mlflow_so_the_client_falls_back() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let info = app.server_info().await;
    assert_eq!(info["multipart_uploads_enabled"], false, "{info}");
    assert_eq!(info["multipart_downloads_enabled"], false, "{info}");

    let unsupported = "Multipart upload is not supported for the current artifact repository";
    let dir = "0/run/artifacts";
    let create = json!({"path": "/tmp/big.bin", "num_parts": 2});
    let complete = json!({"path": "/tmp/big.bin", "upload_id": "u",
                          "parts": [{"part_number": 1, "etag": "e"}]});
    let abort = json!({"path": "/tmp/big.bin", "upload_id": "u"});
    for (action, body) in [
        ("create", &create),
        ("complete", &complete),
        ("abort", &abort),
    ] {
        let got = app.mpu(action, dir, body.clone()).await;
        assert_error(&got, 501, "NOT_IMPLEMENTED", unsupported);
        assert!(got.1["message"].as_str().unwrap().starts_with(unsupported));
    }
    let resp = app
        .client
        .post(format!(
            "{}/ajax-api/2.0/mlflow-artifacts/mpu/create/{dir}",
            app.base
        ))
        .json(&create)
        .send()
        .await
        .unwrap();
    assert_error(&read(resp).await, 501, "NOT_IMPLEMENTED", unsupported);

    for base in ["api", "ajax-api"] {
        let got = app.presigned(base, "0/run/artifacts/x.bin").await;
        assert_error(
            &got,
            501,
            "NOT_IMPLEMENTED",
            "Multipart download is not supported for the current artifact repository",
        );
    }
    assert!(
        !app.artifact_root().join("0").exists(),
        "nothing was written"
    );
}

#[tokio::test]
async fn malformed_requests_are_refused_before_the_store_is_asked() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let dir = "0/run/artifacts";
    let missing_path = app.mpu("create", dir, json!({"num_parts": 1})).await;
    assert_error(
        &missing_path,
        400,
        "INVALID_PARAMETER_VALUE",
        "Missing value for required parameter 'path'",
    );
    let missing_parts = app
        .mpu(
            "complete",
            dir,
            json!({"path": "/tmp/big.bin", "upload_id": "u"}),
        )
        .await;
    assert_error(
        &missing_parts,
        400,
        "INVALID_PARAMETER_VALUE",
        "Missing value for required parameter 'parts'",
    );
    let no_name = app
        .mpu("create", dir, json!({"path": "/tmp/", "num_parts": 1}))
        .await;
    assert_error(&no_name, 400, "INVALID_PARAMETER_VALUE", "must name a file");
    let dots = app
        .mpu("create", dir, json!({"path": "/tmp/..", "num_parts": 1}))
        .await;
    assert_error(
        &dots,
        400,
        "INVALID_PARAMETER_VALUE",
        "Invalid artifact path",
    );
    // Sent byte for byte: reqwest would resolve the encoded dots itself.
    for target in ["%2e%2e/x", "a/%252e%252e/x", "a%5cb", "a/../../x"] {
        let body = br#"{"path": "big.bin", "num_parts": 1}"#;
        for (method, route, body) in [
            ("POST", "mpu/create", &body[..]),
            ("POST", "mpu/abort", &body[..]),
            ("GET", "presigned", &b""[..]),
        ] {
            let request = format!("/api/2.0/mlflow-artifacts/{route}/{target}");
            let (status, answer) = app.raw_request(method, request.as_bytes(), body).await;
            let answer: Value = serde_json::from_slice(&answer).unwrap_or_default();
            assert!(
                status == 400 || (status == 404 && target.contains("/../")),
                "{method} {request}: {status} {answer}"
            );
            if status == 400 {
                assert_eq!(answer["error_code"], "INVALID_PARAMETER_VALUE", "{answer}");
            }
        }
    }
    assert!(!app.artifact_root().join("x").exists());
}

// ------------------------------------------------------------------ S3

async fn a_large_file_goes_straight_to_the_bucket_and_is_recorded(app: TestApp) {
    let info = app.server_info().await;
    assert_eq!(info["multipart_uploads_enabled"], true, "{info}");
    assert_eq!(info["multipart_downloads_enabled"], true, "{info}");

    // An older, smaller file at the same path: its record must not survive the overwrite.
    let dir = "0/run/artifacts/model";
    let (status, _) = app
        .put_artifact(&format!("{dir}/weights.bin"), b"old".to_vec())
        .await;
    assert_eq!(status, StatusCode::OK);

    let content = pseudo_random(2 * PART + 12_345, 7);
    let (upload_id, parts) = app
        .upload_parts(dir, "/home/me/out/weights.bin", &content)
        .await;
    let (status, body) = app
        .mpu(
            "complete",
            dir,
            json!({"path": "/home/me/out/weights.bin", "upload_id": upload_id, "parts": parts}),
        )
        .await;
    assert_eq!((status, &body), (StatusCode::OK, &json!({})));

    assert_eq!(
        app.manifest_of(dir).await,
        json!({"files": [
            {"path": "weights.bin", "size": content.len(), "sha256": sha256_hex(&content)},
        ]})
    );
    let (status, through_server) = app.get_artifact(&format!("{dir}/weights.bin")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        through_server == content,
        "the proxy serves the assembled file, checked against its new record"
    );

    let (status, presigned) = app.presigned("api", &format!("{dir}/weights.bin")).await;
    assert_eq!(status, StatusCode::OK, "{presigned}");
    assert_eq!(presigned["file_size"], content.len());
    assert_eq!(presigned["headers"], json!({}));
    let url = presigned["url"].as_str().unwrap();
    assert!(!url.contains(&app.base), "{url}");
    let resp = reqwest::Client::new()
        .get(url)
        .header("Range", format!("bytes={}-{}", PART - 10, PART + 9))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        resp.bytes().await.unwrap(),
        &content[PART - 10..PART + 10],
        "a chunk, as the client downloads in parallel"
    );
    let resp = reqwest::Client::new().get(url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.bytes().await.unwrap() == content);
}

async fn an_aborted_upload_leaves_nothing(app: TestApp) {
    let dir = "1/run/artifacts";
    let content = pseudo_random(PART + 10, 9);
    let (upload_id, _parts) = app.upload_parts(dir, "big.bin", &content).await;
    let (status, body) = app
        .mpu(
            "abort",
            dir,
            json!({"path": "big.bin", "upload_id": upload_id}),
        )
        .await;
    assert_eq!((status, &body), (StatusCode::OK, &json!({})));
    assert_eq!(app.list_artifacts(dir).await, (StatusCode::OK, json!({})));
    assert_eq!(app.manifest_of(dir).await, json!({}));
    let missing = app.presigned("api", &format!("{dir}/big.bin")).await;
    assert_error(&missing, 404, "RESOURCE_DOES_NOT_EXIST", "No such artifact");
    let directory = app.presigned("ajax-api", "1/run").await;
    assert_error(
        &directory,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "No such artifact",
    );
}

async fn bad_completions_are_the_callers_mistake(app: TestApp) {
    let dir = "2/run/artifacts";
    for num_parts in [json!(0), json!(10_001)] {
        let got = app
            .mpu(
                "create",
                dir,
                json!({"path": "x.bin", "num_parts": num_parts}),
            )
            .await;
        assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "num_parts");
    }
    let got = app
        .mpu("create", dir, json!({"path": "x.bin", "num_parts": "many"}))
        .await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "many");

    let (status, _) = app
        .put_artifact(&format!("{dir}/x.bin"), b"old".to_vec())
        .await;
    assert_eq!(status, StatusCode::OK);
    let content = pseudo_random(PART + 10, 5);
    let (upload_id, parts) = app.upload_parts(dir, "x.bin", &content).await;
    let complete = |body: Value| app.mpu("complete", dir, body);
    let got = complete(json!({"path": "x.bin", "parts": parts})).await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "'upload_id'");
    let gap = json!([parts[0], {"part_number": 3, "etag": parts[1]["etag"]}]);
    let got = complete(json!({"path": "x.bin", "upload_id": upload_id, "parts": gap})).await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "part numbers");
    // A wrong ETag is not tried: s3s-fs assembles the parts it has without comparing them.
    for unknown in ["no-such-upload", "00000000-0000-4000-8000-000000000000"] {
        let got = complete(json!({"path": "x.bin", "upload_id": unknown, "parts": parts})).await;
        assert!(got.0.is_client_error(), "{unknown}: {got:?}");
        let got = app
            .mpu("abort", dir, json!({"path": "x.bin", "upload_id": unknown}))
            .await;
        assert!(got.0.is_client_error(), "{unknown}: {got:?}");
    }
    // Refused completions leave the old file, still checked against its record.
    assert_eq!(
        app.manifest_of(dir).await["files"][0]["sha256"],
        sha256_hex(b"old")
    );
    assert_eq!(
        app.get_artifact(&format!("{dir}/x.bin")).await,
        (StatusCode::OK, bytes::Bytes::from_static(b"old"))
    );

    // The upload is still there to be completed properly.
    let got = complete(json!({"path": "x.bin", "upload_id": upload_id, "parts": parts})).await;
    assert_eq!(got, (StatusCode::OK, json!({})));
    assert_eq!(
        app.manifest_of(dir).await["files"][0]["sha256"],
        sha256_hex(&content)
    );
}

crate::on_s3!(
    a_large_file_goes_straight_to_the_bucket_and_is_recorded,
    an_aborted_upload_leaves_nothing,
    bad_completions_are_the_callers_mistake,
);
