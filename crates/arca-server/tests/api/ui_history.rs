//! The model's timeline (`/models/{name}/history`), its "as of" view, and a version's history
//! on the version page, as a browser gets them.

use crate::helpers::TestApp;
use crate::ui_runs::{element, page};
use reqwest::StatusCode;
use serde_json::json;

crate::on_both_backends!(
    ui_history_shows_who_changed_what_newest_first,
    ui_history_as_of_shows_the_model_then,
    ui_history_bad_input_gets_a_clear_page,
    ui_history_compare_flags_breaking_signature_changes,
);

async fn promote(app: &TestApp, version: &str) {
    for (path, body) in [
        (
            "model-versions/transition-stage",
            json!({"name": "h", "version": version, "stage": "Production", "archive_existing_versions": true}),
        ),
        (
            "registered-models/alias",
            json!({"name": "h", "alias": "champion", "version": version}),
        ),
    ] {
        let (s, b) = app.post(path, body).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
}

/// The `at` of the model's newest event, once the clock has passed it.
async fn settled(app: &TestApp) -> i64 {
    let (_, body) = crate::helpers::read(
        app.client
            .get(format!("{}/api/2.0/arca/history", app.base))
            .query(&[("name", "h"), ("max_results", "1")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let at = body["events"][0]["at"].as_i64().unwrap();
    while arca_core::now_millis() <= at {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    at
}

async fn ui_history_shows_who_changed_what_newest_first(app: TestApp) {
    app.create_model("h").await;
    app.create_version("h", "s3://b/1").await;
    app.create_version("h", "s3://b/2").await;
    promote(&app, "1").await;
    promote(&app, "2").await;

    let (s, html, _) = page(&app, "/models/h/history").await;
    assert_eq!(s, StatusCode::OK);
    let timeline = element(&html, "table", "timeline");
    let set_alias = timeline
        .find("@champion from version 1 to 2")
        .expect(timeline);
    let first_alias = timeline.find("@champion to version 1").expect(timeline);
    assert!(set_alias < first_alias, "newest first");
    assert!(timeline.contains("Production → Archived"), "{timeline}");
    assert!(timeline.contains("None → Production"));
    assert!(timeline.contains("from s3://b/2"));

    let (_, html, _) = page(&app, "/models/h/history?action=set_alias").await;
    let timeline = element(&html, "table", "timeline");
    assert_eq!(
        timeline.matches("<tr>").count(),
        3,
        "header and two alias events"
    );

    // The version page lists its own changes, and links to all of them.
    let (s, html, _) = page(&app, "/models/h/versions/1").await;
    assert_eq!(s, StatusCode::OK);
    let history = element(&html, "section", "version-history");
    assert!(history.contains("Production → Archived"), "{history}");
    assert!(history.contains("None → Production"));
    assert!(
        !history.contains("from s3://b/2"),
        "only version 1's events"
    );
    assert!(history.contains("/models/h/history?version=1"));

    // The model page links to the timeline and asks for a time.
    let (_, html, _) = page(&app, "/models/h").await;
    assert!(html.contains("id=\"history-link\""));
    let form = element(&html, "form", "as-of-form");
    assert!(form.contains("name=\"as_of\""), "{form}");
}

async fn ui_history_as_of_shows_the_model_then(app: TestApp) {
    app.create_model("h").await;
    app.create_version("h", "s3://b/1").await;
    app.create_version("h", "s3://b/2").await;
    promote(&app, "1").await;
    let then = settled(&app).await;
    promote(&app, "2").await;

    let (s, html, _) = page(&app, &format!("/models/h/history?as_of={then}")).await;
    assert_eq!(s, StatusCode::OK);
    let snapshot = element(&html, "table", "as-of-result");
    let v1 = &snapshot[snapshot.find("version 1").unwrap()..];
    assert!(
        v1.contains("Production") && v1.contains("@champion"),
        "{snapshot}"
    );
    let v2 = &snapshot[snapshot.find("version 2").unwrap()..snapshot.find("version 1").unwrap()];
    assert!(
        v2.contains(">None<") && !v2.contains("@champion"),
        "{snapshot}"
    );

    let (_, html, _) = page(&app, "/models/h/history?as_of=2000-01-01").await;
    assert!(
        html.contains("h did not exist at 2000-01-01 00:00 UTC"),
        "{html}"
    );
}

async fn ui_history_bad_input_gets_a_clear_page(app: TestApp) {
    app.create_model("h").await;
    let (s, html, _) = page(&app, "/models/h/history?as_of=tuesday").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(html.contains("invalid time"), "{html}");
    let (s, _, _) = page(&app, "/models/h/history?action=drop").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, _) = page(&app, "/models/h/history?page_token=zzz").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, _) = page(&app, "/models/nope/history").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn ui_history_compare_flags_breaking_signature_changes(app: TestApp) {
    use crate::ui_runs::{MLMODEL, experiment_with_run, new_run, put_run_files};
    app.create_model("c").await;
    let (exp, run1) = experiment_with_run(&app, "e", "first").await;
    let run2 = new_run(&app, &exp, "second").await;
    let run3 = new_run(&app, &exp, "third").await;
    let renamed = MLMODEL.replace("\"age\"", "\"income\"");
    for (run, mlmodel) in [
        (&run1, MLMODEL),
        (&run2, MLMODEL),
        (&run3, renamed.as_str()),
    ] {
        put_run_files(&app, &exp, run, &[("model/MLmodel", mlmodel.as_bytes())]).await;
        let (s, b) = app
            .post(
                "model-versions/create",
                json!({"name": "c", "source": format!("runs:/{run}/model"), "run_id": run}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    let (s, html, _) = page(&app, "/models/c/compare?v=1&v=2").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        !html.contains("compare-breaking"),
        "same signature: nothing breaks"
    );
    let (_, html, _) = page(&app, "/models/c/compare?v=1&v=3").await;
    let notice = element(&html, "div", "compare-breaking");
    assert!(
        notice.contains("Version 3 breaks callers of version 1"),
        "{notice}"
    );
    assert!(
        notice.contains("input &#39;age&#39; (double) removed"),
        "{notice}"
    );
}
