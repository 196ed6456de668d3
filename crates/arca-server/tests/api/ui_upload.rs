//! "Upload a version" (/upload): the form a person sees, the script it loads, and the API calls
//! that script makes, in its order, registering a version whose files have recorded digests.
//! The real browser walk (file inputs, progress, the redirect) is in crates/arca/tests/browser.

use crate::helpers::{TestApp, pseudo_random, sha256_hex};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn page(app: &TestApp, path: &str) -> (StatusCode, String) {
    let resp = app
        .client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    (resp.status(), resp.text().await.unwrap())
}

/// The `src` of the page's `<script>` that loads `file` (served under a content-hashed name).
fn script_src(html: &str, file: &str) -> Option<String> {
    let stem = file.trim_end_matches(".js");
    html.split("<script ")
        .filter_map(|tag| tag.split("src=\"").nth(1)?.split('"').next())
        .find(|src| src.contains(&format!("/static/{stem}.")))
        .map(str::to_owned)
}

async fn the_form_suggests_existing_models_and_says_it_needs_javascript(app: TestApp) {
    app.create_model("churn").await;
    app.create_model("fraud <detector>").await;
    let (status, html) = page(&app, "/upload").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<h1>Upload a version</h1>"), "{html}");
    assert!(html.contains("<option value=\"churn\">"), "{html}");
    // User text is escaped in the suggestions.
    assert!(
        html.contains("<option value=\"fraud &#60;detector&#62;\">"),
        "{html}"
    );
    assert!(
        html.contains("Uploading needs a browser with JavaScript turned on"),
        "{html}"
    );
    for (id, label) in [
        ("upload-model", "Registered model"),
        ("upload-files", "Files"),
        ("upload-folder", "Or a whole folder"),
        ("upload-path", "Artifact path"),
        ("upload-description", "Description (optional, Markdown)"),
    ] {
        assert!(
            html.contains(&format!("<label for=\"{id}\">{label}</label>")),
            "no label {label:?} for #{id}"
        );
    }
    assert!(html.contains("type=\"file\" multiple"), "{html}");
    assert!(html.contains("webkitdirectory"), "{html}");
    assert!(
        html.contains("id=\"upload-path\" name=\"artifact_path\" value=\"model\""),
        "{html}"
    );
    assert!(html.contains("aria-current=\"page\">Upload a version</a>"));
}

async fn a_model_named_in_the_link_is_filled_in(app: TestApp) {
    let (status, html) = page(&app, "/upload?model=%20risk%22score%20").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(
            "id=\"upload-model\" name=\"model\" list=\"upload-models\" value=\"risk&#34;score\""
        ),
        "{html}"
    );
}

async fn the_upload_script_is_served_and_loaded_only_on_the_upload_page(app: TestApp) {
    let (_, upload) = page(&app, "/upload").await;
    let src = script_src(&upload, "upload.js").expect("the upload page loads upload.js");
    let resp = app
        .client
        .get(format!("{}{src}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    let body = resp.text().await.unwrap();
    assert!(body.contains("mlflow-artifacts/artifacts"), "{body}");

    let (_, models) = page(&app, "/models").await;
    assert!(script_src(&models, "app.js").is_some());
    assert_eq!(script_src(&models, "upload.js"), None);
}

/// The script's steps, made here with the same requests: the server side of an upload.
async fn the_scripts_calls_register_a_version_whose_files_have_digests(app: TestApp) {
    let (status, body) = app
        .get("registered-models/get", &[("name", "uploaded")])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error_code"], "RESOURCE_DOES_NOT_EXIST");
    app.create_model("uploaded").await;

    let (status, body) = app
        .post(
            "runs/create",
            json!({"experiment_id": "0", "start_time": 1,
                   "tags": [{"key": "mlflow.source.name", "value": "Arca web UI upload"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let run_id = body["run"]["info"]["run_id"].as_str().unwrap().to_owned();
    let uri = body["run"]["info"]["artifact_uri"].as_str().unwrap();
    // The script uploads through the proxy only to an `mlflow-artifacts:` root.
    let root = uri
        .strip_prefix("mlflow-artifacts:")
        .unwrap_or_else(|| panic!("the run's files are not in the store: {uri}"))
        .trim_matches('/')
        .to_owned();

    let weights = pseudo_random(70_000, 9);
    let files: [(&str, &str, &[u8]); 2] = [
        ("MLmodel", "MLmodel", b"flavors: {}\n"),
        ("data/my%20weights.bin", "data/my weights.bin", &weights),
    ];
    for (encoded, _, bytes) in files {
        let (status, body) = app
            .put_artifact(&format!("{root}/model/{encoded}"), bytes.to_vec())
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, body) = app
        .post(
            "runs/update",
            json!({"run_id": run_id, "status": "FINISHED", "end_time": 2}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .post(
            "model-versions/create",
            json!({"name": "uploaded", "source": format!("runs:/{run_id}/model"),
                   "run_id": run_id, "description": "from the browser"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["model_version"]["version"], "1");

    let resp = app
        .client
        .get(format!("{}/api/2.0/arca/artifacts/manifest", app.base))
        .query(&[("name", "uploaded"), ("version", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let manifest: Value = resp.json().await.unwrap();
    let mut listed: Vec<(String, String)> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["sha256"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    listed.sort();
    let mut expected: Vec<(String, String)> = files
        .iter()
        .map(|(_, path, bytes)| (path.to_string(), sha256_hex(bytes)))
        .collect();
    expected.sort();
    assert_eq!(listed, expected);
}

crate::on_both_backends!(
    the_form_suggests_existing_models_and_says_it_needs_javascript,
    a_model_named_in_the_link_is_filled_in,
    the_upload_script_is_served_and_loaded_only_on_the_upload_page,
    the_scripts_calls_register_a_version_whose_files_have_digests,
);
