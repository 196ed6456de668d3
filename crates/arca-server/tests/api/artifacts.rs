//! The artifact proxy, server-info and the manifest, driven over HTTP.
//!
//! Behaviour tests run against a local artifact folder on SQLite and PostgreSQL, and against
//! the S3-compatible test server when `ARCA_TEST_S3_ENDPOINT` is set (skipped otherwise, failed
//! with `ARCA_REQUIRE_S3=1`; see `arca_artifacts::testing`).
//!
//! The traversal tests send raw request targets byte for byte, one test per class of trick
//! MLflow's CVEs used, and check three things: the answer is a 4xx, a sentinel file just outside
//! the artifact root is untouched, and no file appeared anywhere in the server's folder.

use crate::helpers::{Backend, TestApp, assert_error, pseudo_random, sha256_hex};
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

async fn manifest(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let resp = app
        .client
        .get(format!("{}/api/2.0/arca/artifacts/manifest", app.base))
        .query(&[("path", path)])
        .send()
        .await
        .unwrap();
    crate::helpers::read(resp).await
}

/// Every file under `dir`, relative, with its content.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                walk(&p, root, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Polls (no fixed sleep) until `check` holds, for work the server finishes after answering.
async fn eventually(mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "condition not reached in 10 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// ------------------------------------------------------------------ behaviour

async fn upload_download_round_trip_records_the_digest(app: TestApp) {
    let model = pseudo_random(3 * 1024 * 1024 + 7, 11);
    let (status, body) = app
        .put_artifact("0/models/m-1/artifacts/model.skops", model.clone())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, Value::Null, "an upload answers with an empty body");
    let text = b"scikit-learn==1.5\n".to_vec();
    let (status, _) = app
        .put_artifact("0/models/m-1/artifacts/requirements.txt", text.clone())
        .await;
    assert_eq!(status, StatusCode::OK);

    let resp = app
        .client
        .get(app.artifact_url("0/models/m-1/artifacts/requirements.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let header = |name: &str| resp.headers()[name].to_str().unwrap().to_owned();
    assert!(header("content-type").starts_with("text/plain"));
    assert_eq!(header("content-length"), text.len().to_string());
    assert_eq!(
        header("content-disposition"),
        "attachment; filename=\"requirements.txt\""
    );
    assert_eq!(resp.bytes().await.unwrap(), text);
    let (status, bytes) = app.get_artifact("0/models/m-1/artifacts/model.skops").await;
    assert_eq!(status, StatusCode::OK);
    assert!(bytes == model, "the model comes back byte for byte");

    let (status, body) = manifest(&app, "0/models/m-1/artifacts").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"files": [
            {"path": "model.skops", "size": model.len(), "sha256": sha256_hex(&model)},
            {"path": "requirements.txt", "size": text.len(), "sha256": sha256_hex(&text)},
        ]})
    );
    let (_, body) = manifest(&app, "0/models").await;
    assert_eq!(
        body["files"][0]["path"], "m-1/artifacts/model.skops",
        "{body}"
    );
    assert_eq!(manifest(&app, "0/models/nope").await.1, json!({}));
    let bad = manifest(&app, "0/../etc").await;
    assert_error(
        &bad,
        400,
        "INVALID_PARAMETER_VALUE",
        "Invalid artifact path",
    );
}

async fn listing_has_mlflow_shape(app: TestApp) {
    for (path, body) in [
        ("1/run/artifacts/MLmodel", &b"12345"[..]),
        ("1/run/artifacts/sub/x.txt", b"x"),
        ("1/run/artifacts/empty.txt", b""),
    ] {
        assert_eq!(
            app.put_artifact(path, body.to_vec()).await.0,
            StatusCode::OK
        );
    }
    let (status, body) = app.list_artifacts("1/run/artifacts").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"files": [
            {"path": "MLmodel", "is_dir": false, "file_size": 5},
            {"path": "empty.txt", "is_dir": false, "file_size": 0},
            {"path": "sub", "is_dir": true},
        ]})
    );
    assert_eq!(app.list_artifacts("1/run/artifacts/").await.1, body);
    assert_eq!(
        app.list_artifacts("").await.1,
        json!({"files": [{"path": "1", "is_dir": true}]})
    );
    assert_eq!(
        app.list_artifacts("1/nope").await,
        (StatusCode::OK, json!({}))
    );
    assert_eq!(
        app.list_artifacts("1/run/artifacts/MLmodel").await.1,
        json!({}),
        "listing a file gives {{}}, as MLflow does"
    );
    let resp = app
        .client
        .get(format!(
            "{}/ajax-api/2.0/mlflow-artifacts/artifacts?path=1/run/artifacts/sub",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        crate::helpers::read(resp).await.1,
        json!({"files": [{"path": "x.txt", "is_dir": false, "file_size": 1}]})
    );
}

async fn put_overwrites_the_file_and_its_digest(app: TestApp) {
    app.put_artifact("2/a.txt", b"first, longer version".to_vec())
        .await;
    app.put_artifact("2/a.txt", b"second".to_vec()).await;
    assert_eq!(app.get_artifact("2/a.txt").await.1, &b"second"[..]);
    assert_eq!(
        manifest(&app, "2").await.1,
        json!({"files": [{"path": "a.txt", "size": 6, "sha256": sha256_hex(b"second")}]})
    );
}

async fn delete_removes_files_directories_and_their_records(app: TestApp) {
    for path in ["3/keep.txt", "3/dir/a.txt", "3/dir/sub/b.txt", "3/dir2.txt"] {
        app.put_artifact(path, path.as_bytes().to_vec()).await;
    }
    assert_eq!(
        app.delete_artifact("3/keep.txt").await,
        (StatusCode::OK, json!({}))
    );
    assert_eq!(
        app.get_artifact("3/keep.txt").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.delete_artifact("3/dir").await.0, StatusCode::OK);
    assert_eq!(
        app.get_artifact("3/dir/sub/b.txt").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.list_artifacts("3").await.1,
        json!({"files": [{"path": "dir2.txt", "is_dir": false, "file_size": 10}]})
    );
    let (_, body) = manifest(&app, "3").await;
    assert_eq!(body["files"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["files"][0]["path"], "dir2.txt");
    assert_eq!(
        app.delete_artifact("3/never").await,
        (StatusCode::OK, json!({}))
    );
}

async fn missing_artifacts_are_404(app: TestApp) {
    let resp = app
        .client
        .get(app.artifact_url("nonexist/x"))
        .send()
        .await
        .unwrap();
    let got = crate::helpers::read(resp).await;
    assert_error(
        &got,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "No such artifact: 'nonexist/x'",
    );
}

/// The client sends half the body and then fails; then another disconnects mid-stream.
async fn an_interrupted_upload_leaves_nothing(app: TestApp) {
    for (name, sent) in [("small.bin", 100_000usize), ("large.bin", 20 * 1024 * 1024)] {
        let chunk = bytes::Bytes::from(pseudo_random(256 * 1024, 5));
        let chunks = sent / chunk.len() + 1;
        let announced = chunks * chunk.len() * 2;
        let body = futures::stream::iter(0..chunks + 1).map(move |i| {
            if i < chunks {
                Ok(chunk.clone())
            } else {
                Err(std::io::Error::other("the client gives up"))
            }
        });
        let result = app
            .client
            .put(app.artifact_url(&format!("4/{name}")))
            .header("content-length", announced.to_string())
            .body(reqwest::Body::wrap_stream(body))
            .send()
            .await;
        if let Ok(resp) = result {
            assert!(
                resp.status().is_client_error(),
                "a broken upload is never a success: {}",
                resp.status()
            );
        }
        assert_eq!(
            app.get_artifact(&format!("4/{name}")).await.0,
            StatusCode::NOT_FOUND
        );
    }

    let (mut tx, rx) = futures::channel::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(2);
    let request = app
        .client
        .put(app.artifact_url("4/dropped.bin"))
        .body(reqwest::Body::wrap_stream(rx))
        .send();
    let upload = tokio::spawn(request);
    for _ in 0..40 {
        use futures::SinkExt;
        tx.send(Ok(bytes::Bytes::from(vec![7u8; 256 * 1024])))
            .await
            .unwrap();
    }
    upload.abort();
    let _ = upload.await;
    drop(tx);

    assert_eq!(app.list_artifacts("4").await.1, json!({}));
    assert_eq!(app.list_artifacts("").await.1, json!({}));
    assert_eq!(manifest(&app, "4").await.1, json!({}));
    let root = app.artifact_root();
    if root.exists() {
        eventually(|| tree(&root).is_empty()).await;
    }
}

/// Many uploads of different contents race to one path, a few rounds: the file left must be one
/// of them, whole, and the recorded digest must be its own, so that it downloads (a download is
/// checked against the record, and would break off on a mismatch).
async fn racing_uploads_leave_one_whole_file_and_its_own_digest(app: TestApp) {
    const RACERS: u32 = 12;
    for round in 0..3u32 {
        let contents: Vec<Vec<u8>> = (0..RACERS)
            .map(|i| pseudo_random(256 * 1024 + (i as usize) * 4099, round * 100 + i))
            .collect();
        let uploads = contents.iter().map(|content| {
            let app = &app;
            async move { app.put_artifact("5/race/model.bin", content.clone()).await }
        });
        for (status, body) in futures::future::join_all(uploads).await {
            assert_eq!(status, StatusCode::OK, "{body}");
        }

        let (status, bytes) = app.get_artifact("5/race/model.bin").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            contents.iter().any(|c| c[..] == bytes[..]),
            "round {round}: the file is none of the uploads ({} bytes)",
            bytes.len()
        );
        let (_, body) = manifest(&app, "5/race").await;
        assert_eq!(
            body,
            json!({"files": [{
                "path": "model.bin",
                "size": bytes.len(),
                "sha256": sha256_hex(&bytes),
            }]}),
            "round {round}: the record must be the stored file's"
        );
    }
}

/// The manifest comes in pages that resume after the last path of the page before, and holds
/// only the files below the directory asked for.
async fn manifests_page_by_path(app: TestApp) {
    let names = [
        "a.bin",
        "b/c.bin",
        "b/d.bin",
        "e.bin",
        "f/g/h.bin",
        "i.bin",
        "j.bin",
    ];
    for (i, name) in names.iter().enumerate() {
        let (status, _) = app
            .put_artifact(&format!("6/run/{name}"), vec![i as u8; i + 1])
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    // Neighbours in byte order, outside the directory.
    for outside in ["6/run0", "6/run-x/a.bin", "6/ru"] {
        assert_eq!(
            app.put_artifact(outside, b"x".to_vec()).await.0,
            StatusCode::OK
        );
    }
    let page = |token: Option<String>| {
        let app = &app;
        async move {
            let mut query = vec![
                ("path", "6/run".to_owned()),
                ("max_results", "3".to_owned()),
            ];
            if let Some(token) = token {
                query.push(("page_token", token));
            }
            let resp = app
                .client
                .get(format!("{}/api/2.0/arca/artifacts/manifest", app.base))
                .query(&query)
                .send()
                .await
                .unwrap();
            crate::helpers::read(resp).await
        }
    };
    let mut seen = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let (status, body) = page(token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        pages += 1;
        let files = body["files"].as_array().unwrap();
        assert!(files.len() <= 3);
        for file in files {
            let i = names
                .iter()
                .position(|n| file["path"] == *n)
                .unwrap_or_else(|| panic!("{file} is not below 6/run"));
            assert_eq!(file["size"], i + 1);
            assert_eq!(file["sha256"], sha256_hex(&vec![i as u8; i + 1]));
            seen.push(names[i]);
        }
        match body.get("next_page_token") {
            Some(next) => token = Some(next.as_str().unwrap().to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, names, "every file once, in path order");
    assert_eq!(pages, 3);

    // A whole manifest by default; bad page sizes and tokens are the caller's mistake.
    assert_eq!(
        manifest(&app, "6/run").await.1["files"]
            .as_array()
            .unwrap()
            .len(),
        7
    );
    for (key, value, says) in [
        ("max_results", "0", "max_results"),
        ("max_results", "10001", "max_results"),
        ("page_token", "zz", "page token"),
        ("page_token", &hex_of("../etc/passwd"), "page token"),
    ] {
        let resp = app
            .client
            .get(format!("{}/api/2.0/arca/artifacts/manifest", app.base))
            .query(&[("path", "6/run"), (key, value)])
            .send()
            .await
            .unwrap();
        let got = crate::helpers::read(resp).await;
        assert_error(&got, 400, "INVALID_PARAMETER_VALUE", says);
    }
}

fn hex_of(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

crate::on_both_backends!(
    upload_download_round_trip_records_the_digest,
    listing_has_mlflow_shape,
    put_overwrites_the_file_and_its_digest,
    delete_removes_files_directories_and_their_records,
    missing_artifacts_are_404,
    an_interrupted_upload_leaves_nothing,
    racing_uploads_leave_one_whole_file_and_its_own_digest,
    manifests_page_by_path,
);

crate::on_s3!(
    upload_download_round_trip_records_the_digest,
    listing_has_mlflow_shape,
    put_overwrites_the_file_and_its_digest,
    delete_removes_files_directories_and_their_records,
    missing_artifacts_are_404,
    an_interrupted_upload_leaves_nothing,
    racing_uploads_leave_one_whole_file_and_its_own_digest,
    manifests_page_by_path,
);

#[tokio::test]
async fn server_info_offers_plain_proxied_transfers() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    for base in ["api", "ajax-api"] {
        let resp = app
            .client
            .get(format!("{}/{base}/3.0/mlflow/server-info", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(
            crate::helpers::read(resp).await,
            (
                StatusCode::OK,
                json!({
                    "store_type": "SqlStore",
                    "workspaces_enabled": false,
                    "multipart_uploads_enabled": false,
                    "multipart_downloads_enabled": false,
                    "artifact_serving_enabled": true,
                    "artifacts_presigned_only": false,
                })
            )
        );
    }
}

#[tokio::test]
async fn a_corrupted_file_is_never_delivered_whole() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let content = pseudo_random(5 * 1024 * 1024, 3);
    app.put_artifact("5/model.bin", content.clone()).await;
    let on_disk = app.artifact_root().join("5/model.bin");
    let mut tampered = content.clone();
    tampered[4 * 1024 * 1024] ^= 0xff;
    std::fs::write(&on_disk, &tampered).unwrap();

    let resp = app
        .client
        .get(app.artifact_url("5/model.bin"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.content_length(), Some(content.len() as u64));
    match resp.bytes().await {
        Err(_) => {}
        Ok(bytes) => panic!(
            "a tampered file must end in a broken transfer, got {} of {} bytes",
            bytes.len(),
            content.len()
        ),
    }
}

#[tokio::test]
async fn uploads_onto_a_directory_or_under_a_file_are_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.put_artifact("6/file.txt", b"f".to_vec()).await;
    app.put_artifact("6/dir/inner.txt", b"i".to_vec()).await;
    for path in ["6/file.txt/under", "6/dir"] {
        let got = app.put_artifact(path, b"x".to_vec()).await;
        assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "conflicts");
    }
}

#[tokio::test]
async fn names_with_spaces_plus_and_a_lone_percent_round_trip() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let name = "sp ace+plus%percent&amp=eq;semi ü.txt";
    let encoded = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
    assert_eq!(
        app.put_artifact(&format!("7/{encoded}"), b"odd".to_vec())
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        app.get_artifact(&format!("7/{encoded}")).await.1,
        &b"odd"[..]
    );
    assert_eq!(
        app.list_artifacts("7").await.1,
        json!({"files": [{"path": name, "is_dir": false, "file_size": 3}]})
    );
}

// ------------------------------------------------------------------ path traversal

const PROXY: &str = "/api/2.0/mlflow-artifacts/artifacts/";

/// A server with a sentinel file beside (outside) its artifact root.
async fn app_with_sentinel() -> (TestApp, BTreeMap<String, Vec<u8>>) {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    std::fs::write(app.dir.path().join("sentinel.txt"), b"untouched").unwrap();
    std::fs::create_dir_all(app.dir.path().join("outside")).unwrap();
    let before = outside_root(&app);
    (app, before)
}

/// The server's folder minus the artifact root and the database files, which change anyway.
fn outside_root(app: &TestApp) -> BTreeMap<String, Vec<u8>> {
    tree(app.dir.path())
        .into_iter()
        .filter(|(path, _)| !path.starts_with("artifacts/") && !path.starts_with("arca.db"))
        .collect()
}

/// PUT, GET and DELETE of each raw path are refused with a 4xx, and nothing moved on disk.
async fn assert_refused(suffixes: &[&str]) {
    let (app, before) = app_with_sentinel().await;
    let absolute = app.dir.path().join("sentinel.txt").display().to_string();
    for suffix in suffixes {
        let suffix = suffix.replace("{abs}", absolute.trim_start_matches('/'));
        let target = format!("{PROXY}{suffix}");
        for method in ["PUT", "GET", "DELETE"] {
            let (status, body) = app
                .raw_request(method, target.as_bytes(), b"escaped!")
                .await;
            let text = String::from_utf8_lossy(&body);
            assert!(
                (400..500).contains(&status),
                "{method} {target} -> {status} {text}"
            );
            assert!(!text.contains("untouched"), "{method} {target} leaked");
            if status == 400 && !text.is_empty() {
                let json: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(json["error_code"], "INVALID_PARAMETER_VALUE", "{target}");
            }
        }
    }
    assert_eq!(
        outside_root(&app),
        before,
        "a file outside the root changed"
    );
    assert!(
        tree(&app.artifact_root()).is_empty(),
        "nothing is written inside the root either"
    );
}

#[tokio::test]
async fn dot_dot_segments_are_refused() {
    assert_refused(&[
        "../sentinel.txt",
        "../../sentinel.txt",
        "a/b/../../../sentinel.txt",
        "a/../../outside/new.txt",
        "..",
        "./sentinel.txt",
    ])
    .await;
}

#[tokio::test]
async fn percent_encoded_traversal_is_refused() {
    assert_refused(&[
        "%2e%2e/sentinel.txt",
        "%2E%2E%2Fsentinel.txt",
        "a/%2e%2e/%2e%2e/sentinel.txt",
        "..%2fsentinel.txt",
        "%2e%2e%2f%2e%2e%2foutside%2fnew.txt",
    ])
    .await;
}

#[tokio::test]
async fn double_encoded_traversal_is_refused() {
    assert_refused(&[
        "%252e%252e/sentinel.txt",
        "%252E%252E%252Fsentinel.txt",
        "%25252e%25252e/%25252e%25252e/sentinel.txt",
        "a%252f..%252f..%252fsentinel.txt",
    ])
    .await;
}

#[tokio::test]
async fn backslashes_are_refused() {
    assert_refused(&[
        "..\\sentinel.txt",
        "..%5csentinel.txt",
        "..%5c..%5csentinel.txt",
        "a%5C..%5C..%5Csentinel.txt",
    ])
    .await;
}

#[tokio::test]
async fn nul_and_control_characters_are_refused() {
    assert_refused(&[
        "sentinel.txt%00.png",
        "sub%00/../../sentinel.txt",
        "a%0a/../../sentinel.txt",
        "a%0d%0aSet-Cookie:x",
        "%00",
    ])
    .await;
}

#[tokio::test]
async fn absolute_paths_are_refused() {
    assert_refused(&[
        "/{abs}",
        "%2F{abs}",
        "/etc/passwd",
        "//proc/self/environ",
        "%2Fproc%2Fself%2Fenviron",
        "C:/Windows/win.ini",
        "C:%5CWindows%5Cwin.ini",
    ])
    .await;
}

#[tokio::test]
async fn query_and_fragment_tricks_are_refused() {
    assert_refused(&[
        "a%3F/../../sentinel.txt",
        "x.txt%3F%2F..%2F..%2Fsentinel.txt",
        "a%23/../../sentinel.txt",
        "x.txt%23%2F..%2F..%2Fsentinel.txt",
        "a%FF%FE/x",
    ])
    .await;

    // A literal '?' starts the query string and a literal '#' the fragment, which HTTP never
    // treats as part of the path: the request is for `x.txt`, which lands inside the root and
    // nowhere else. Only their encoded forms can reach a path, and those are refused above.
    for separator in ["?", "#"] {
        let (app, before) = app_with_sentinel().await;
        let target = format!("{PROXY}x.txt{separator}/../../sentinel.txt");
        let (status, _) = app.raw_request("PUT", target.as_bytes(), b"inside").await;
        assert_eq!(status, 200, "{target}");
        assert_eq!(outside_root(&app), before);
        assert_eq!(
            tree(&app.artifact_root()),
            BTreeMap::from([("x.txt".to_owned(), b"inside".to_vec())])
        );
    }
}

#[tokio::test]
async fn traversal_in_list_and_manifest_paths_is_refused() {
    let (app, _) = app_with_sentinel().await;
    for path in [
        "..",
        "../",
        "../outside",
        "%2e%2e",
        "%252e%252e",
        "/etc",
        "//etc",
        "a/../..",
        "a\\..\\..",
        "a\0",
        "a?/../..",
    ] {
        let got = app.list_artifacts(path).await;
        assert_error(
            &got,
            400,
            "INVALID_PARAMETER_VALUE",
            "Invalid artifact path",
        );
        assert!(!got.1.to_string().contains("sentinel"));
        let got = manifest(&app, path).await;
        assert_error(
            &got,
            400,
            "INVALID_PARAMETER_VALUE",
            "Invalid artifact path",
        );
    }
}

#[tokio::test]
async fn user_set_uris_are_held_to_the_same_rule() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.create_model("guarded").await;
    for source in [
        "/etc/passwd",
        "//proc/self/environ",
        "file:///etc/passwd",
        "relative/model",
        "mlflow-artifacts:/0/../../etc",
        "mlflow-artifacts:/0/%2e%2e/%2e%2e/etc",
        "mlflow-artifacts:/0/%252e%252e/etc",
        "mlflow-artifacts:/0/a\\..\\b",
        "mlflow-artifacts:/0/a%00b",
        "mlflow-artifacts:/0/model?x=/../../etc",
        "mlflow-artifacts:/0/model#/../../etc",
        "runs:/0123456789abcdef0123456789abcdef/../../x",
        "s3://bucket/../other",
    ] {
        let got = app
            .post(
                "model-versions/create",
                json!({"name": "guarded", "source": source}),
            )
            .await;
        assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "Invalid URI");
    }
    app.create_version("guarded", "s3://bucket/models/churn")
        .await;
    // An mlflow-artifacts source must lie under the run it names (MLflow's rule).
    let got = app
        .post(
            "model-versions/create",
            json!({"name": "guarded", "source": "mlflow-artifacts:/0/models/m-1/artifacts"}),
        )
        .await;
    assert_error(
        &got,
        400,
        "INVALID_PARAMETER_VALUE",
        "run_id request parameter",
    );

    for location in ["/tmp/x", "file:///tmp/x", "mlflow-artifacts:/%2e%2e/x"] {
        let got = app
            .post(
                "experiments/create",
                json!({"name": format!("exp {location}"), "artifact_location": location}),
            )
            .await;
        assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "Invalid URI");
    }
}

// ------------------------------------------------------- verified downloads, hashed only once

/// `arca_artifact_downloads_checked_total` by check: (hashed, trusted).
async fn download_checks(app: &TestApp) -> (u64, u64) {
    let text = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |check: &str| -> u64 {
        let line = format!("arca_artifact_downloads_checked_total{{check=\"{check}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&line))
            .unwrap_or_else(|| panic!("no {line} in\n{text}"))
            .parse()
            .unwrap()
    };
    (value("hashed"), value("trusted"))
}

/// Waits out the clock tick of the file's last change: the server trusts a file's metadata only
/// once a later write could not carry the same timestamps (a filesystem whose timestamps are
/// whole milliseconds is taken to have a coarse clock).
async fn until_settled(file: &Path) {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(file).unwrap();
    let nanos = u32::try_from(meta.ctime_nsec()).unwrap();
    let margin = if nanos % 1_000_000 == 0 {
        Duration::from_millis(2100)
    } else {
        Duration::from_millis(50)
    };
    let changed =
        std::time::UNIX_EPOCH + Duration::new(u64::try_from(meta.ctime()).unwrap(), nanos) + margin;
    while std::time::SystemTime::now() < changed {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A download whose transfer must break short of its `Content-Length`.
async fn assert_refused_download(app: &TestApp, path: &str, len: usize) {
    let resp = app.client.get(app.artifact_url(path)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.content_length(), Some(len as u64));
    if let Ok(bytes) = resp.bytes().await {
        panic!(
            "a changed file must end in a broken transfer, got {} of {len} bytes",
            bytes.len()
        );
    }
}

#[tokio::test]
async fn an_unchanged_file_is_hashed_once_then_trusted_until_a_restart() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let content = pseudo_random(3 * 1024 * 1024 + 5, 21);
    app.put_artifact("7/model.bin", content.clone()).await;
    until_settled(&app.artifact_root().join("7/model.bin")).await;
    assert_eq!(download_checks(&app).await, (0, 0));

    let (status, got) = app.get_artifact("7/model.bin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(got == content, "the first download is whole");
    assert_eq!(download_checks(&app).await, (1, 0), "hashed the first time");
    for round in 1..=2 {
        let (status, got) = app.get_artifact("7/model.bin").await;
        assert_eq!(status, StatusCode::OK);
        assert!(got == content, "download {round} after the first is whole");
    }
    assert_eq!(
        download_checks(&app).await,
        (1, 2),
        "later downloads of the unchanged file are not hashed"
    );

    let app = app.restart().await;
    let (status, got) = app.get_artifact("7/model.bin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(got == content);
    assert_eq!(
        download_checks(&app).await,
        (1, 0),
        "a restarted server hashes the file again"
    );
    let (_, got) = app.get_artifact("7/model.bin").await;
    assert!(got == content);
    assert_eq!(download_checks(&app).await, (1, 1));
}

#[tokio::test]
async fn a_trusted_file_changed_behind_arcas_back_is_hashed_again_and_refused() {
    use std::io::{Seek, SeekFrom, Write};
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let content = pseudo_random(5 * 1024 * 1024, 22);
    app.put_artifact("8/model.bin", content.clone()).await;
    let on_disk = app.artifact_root().join("8/model.bin");
    until_settled(&on_disk).await;
    for _ in 0..2 {
        let (_, got) = app.get_artifact("8/model.bin").await;
        assert!(got == content);
    }
    assert_eq!(
        download_checks(&app).await,
        (1, 1),
        "trusted before the change"
    );

    // One byte flipped in place: same file, same size, and its modification time put back as
    // it was; only the change time, which no process can set, tells.
    let before = std::fs::metadata(&on_disk).unwrap().modified().unwrap();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(&on_disk)
        .unwrap();
    file.seek(SeekFrom::Start(2 * 1024 * 1024 + 3)).unwrap();
    file.write_all(&[content[2 * 1024 * 1024 + 3] ^ 0x01])
        .unwrap();
    file.set_modified(before).unwrap();
    drop(file);
    assert_eq!(
        std::fs::metadata(&on_disk).unwrap().len(),
        content.len() as u64
    );
    assert_eq!(
        std::fs::metadata(&on_disk).unwrap().modified().unwrap(),
        before
    );

    assert_refused_download(&app, "8/model.bin", content.len()).await;
    assert_eq!(
        download_checks(&app).await,
        (2, 1),
        "the changed file was hashed"
    );
    // Refused again, however long it has been: a failed check is never remembered.
    until_settled(&on_disk).await;
    assert_refused_download(&app, "8/model.bin", content.len()).await;
    assert_eq!(download_checks(&app).await, (3, 1));

    // Another file of the same size renamed over it: a new inode, hashed and refused too.
    let mut other = content.clone();
    other[0] ^= 0xff;
    let beside = app.artifact_root().join("8/other.tmp");
    std::fs::write(&beside, &other).unwrap();
    std::fs::rename(&beside, &on_disk).unwrap();
    assert_refused_download(&app, "8/model.bin", content.len()).await;
    assert_eq!(download_checks(&app).await, (4, 1));

    // The right bytes put back by hand are served again, hashed first.
    std::fs::write(&on_disk, &content).unwrap();
    until_settled(&on_disk).await;
    for _ in 0..2 {
        let (status, got) = app.get_artifact("8/model.bin").await;
        assert_eq!(status, StatusCode::OK);
        assert!(got == content);
    }
    assert_eq!(download_checks(&app).await, (5, 2));
}
