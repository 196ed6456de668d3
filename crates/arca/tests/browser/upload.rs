//! "Upload a version": a folder and loose files chosen in the browser become versions whose files
//! `arca pull` brings back byte for byte; a mistake is told next to the form.

use crate::harness::Browser;
use crate::support::{Arca, model_files, read_tree};

#[tokio::test]
#[ignore = "needs chromium, chromium-driver and axe-core (.test-env): run ./scripts/test.sh"]
async fn a_folder_and_files_uploaded_in_the_browser_are_pulled_back_byte_identical() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let files = tempfile::tempdir().unwrap();
    let folder = model_files(files.path(), 7);

    // A whole folder, into a model that does not exist yet.
    browser.goto("/upload").await;
    browser.fill("#upload-model", "browser-upload").await;
    browser.choose_files("#upload-folder", &[&folder]).await;
    browser
        .fill("#upload-description", "Uploaded from **the browser**")
        .await;
    browser.click("#upload-submit").await;
    browser
        .wait_for_path("/models/browser-upload/versions/1")
        .await;

    let pulled = tempfile::tempdir().unwrap();
    let arca = Arca::new(&browser.base);
    arca.run(&[
        "pull",
        "models:/browser-upload/1",
        "--output",
        pulled.path().to_str().unwrap(),
    ])
    .ok();
    assert_eq!(read_tree(pulled.path()), read_tree(&folder));

    // Loose files, into the model that now exists, under another artifact path.
    let loose = [folder.join("MLmodel"), folder.join("data/weights.bin")];
    browser.goto("/upload?model=browser-upload").await;
    browser
        .choose_files("#upload-files", &[&loose[0], &loose[1]])
        .await;
    browser.fill("#upload-path", "weights").await;
    browser.click("#upload-submit").await;
    browser
        .wait_for_path("/models/browser-upload/versions/2")
        .await;

    let version = arca.json(&["versions", "get", "browser-upload", "2"]);
    let source = version["source"].as_str().unwrap_or_default().to_owned();
    assert!(source.ends_with("/weights"), "{version}");
    let pulled = tempfile::tempdir().unwrap();
    arca.run(&[
        "pull",
        "models:/browser-upload/2",
        "--output",
        pulled.path().to_str().unwrap(),
    ])
    .ok();
    let expected: Vec<(String, Vec<u8>)> = loose
        .iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(p).unwrap(),
            )
        })
        .collect();
    assert_eq!(read_tree(pulled.path()), expected);
    browser.close().await;
}

#[tokio::test]
#[ignore = "needs chromium, chromium-driver and axe-core (.test-env): run ./scripts/test.sh"]
async fn a_refused_upload_says_why_next_to_the_form_and_registers_nothing() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let files = tempfile::tempdir().unwrap();
    let folder = model_files(files.path(), 3);

    browser.goto("/upload").await;
    assert!(!browser.is_shown("#upload-needs-js").await);
    browser.fill("#upload-model", "team/churn").await;
    browser
        .choose_files("#upload-files", &[&folder.join("MLmodel")])
        .await;
    browser.click("#upload-submit").await;
    browser
        .wait_until("the upload's error", || async {
            browser.is_shown("#upload-error").await.then_some(())
        })
        .await;
    let error = browser.text_of("#upload-error").await;
    assert!(
        error.contains("Names cannot contain '/' or ':'")
            && error.contains("No version was registered"),
        "{error}"
    );
    assert_eq!(browser.location().await, "/upload");
    // The form stays usable: fix the name and send again.
    browser.fill("#upload-model", "churn").await;
    browser.fill("#upload-path", "bad\\path").await;
    browser.click("#upload-submit").await;
    browser
        .wait_until("the second error", || async {
            let text = browser.text_of("#upload-error").await;
            text.contains("backslash").then_some(text)
        })
        .await;
    let listed = Arca::new(&browser.base).json(&["versions", "list", "churn"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(0), "{listed}");
    browser.close().await;
}
