//! The model page (`/models/{name}`) as a browser gets it: what it shows, how its filters and
//! pages narrow the versions table, and what its forms change in the store.

use crate::helpers::TestApp;
use arca_core::model::{ModelName, NewModelVersion};
use arca_store::MetadataStore;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use serde_json::json;

crate::on_both_backends!(
    ui_model_page_shows_what_a_user_sees,
    ui_model_filters_narrow_the_versions_table,
    ui_model_versions_are_paged_on_the_server,
    ui_model_every_page_is_reached_both_ways_with_filters,
    ui_model_forms_change_the_model,
    ui_model_rename_and_delete_act_on_the_store,
    ui_model_changes_from_another_site_are_refused,
    ui_model_user_text_is_escaped,
    ui_model_bad_filters_and_unknown_models_get_clear_errors,
);

const FORM: &str = "application/x-www-form-urlencoded";

/// An HTML form's body, as a browser encodes it.
fn form_body(fields: &[(&str, &str)]) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, NON_ALPHANUMERIC),
                utf8_percent_encode(v, NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

const RUN: &str = "0123456789abcdef0123456789abcdef";

/// A browser session: the CSRF cookie the server handed out and the token the page carries.
struct Browser {
    client: reqwest::Client,
    token: String,
}

impl Browser {
    async fn open(app: &TestApp) -> Browser {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let resp = client
            .get(format!("{}/models", app.base))
            .send()
            .await
            .unwrap();
        let cookie = resp
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("arca_csrf="))
            .expect("the first page sets the CSRF cookie");
        let token = cookie.split(';').next().unwrap().to_owned();
        Browser { client, token }
    }

    async fn page(&self, app: &TestApp, path_and_query: &str) -> (StatusCode, String) {
        let resp = self
            .client
            .get(format!("{}{path_and_query}", app.base))
            .header(COOKIE, format!("arca_csrf={}", self.token))
            .send()
            .await
            .unwrap();
        (resp.status(), resp.text().await.unwrap())
    }

    /// Submits a form as the page does (cookie, `_csrf` field, same-origin), and returns the
    /// status and the redirect target.
    async fn submit(
        &self,
        app: &TestApp,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let mut form: Vec<(&str, &str)> = vec![("_csrf", &self.token)];
        form.extend_from_slice(fields);
        let resp = self
            .client
            .post(format!("{}{path}", app.base))
            .header(COOKIE, format!("arca_csrf={}", self.token))
            .header("sec-fetch-site", "same-origin")
            .header(CONTENT_TYPE, FORM)
            .body(form_body(&form))
            .send()
            .await
            .unwrap();
        let location = resp
            .headers()
            .get(LOCATION)
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let status = resp.status();
        let body = resp.text().await.unwrap();
        (status, if location.is_empty() { body } else { location })
    }
}

/// The version numbers in the versions table, top to bottom.
fn listed_versions(html: &str) -> Vec<i64> {
    html.split("id=\"pick-")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].parse().unwrap())
        .collect()
}

/// The text of the element with `id`, up to the end of its first line of markup.
fn element<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in the page"));
    let rest = &html[start..];
    &rest[..rest.find('\n').unwrap_or(rest.len())]
}

async fn version_with_run(app: &TestApp, model: &str, description: &str) -> String {
    let (status, body) = app
        .post(
            "model-versions/create",
            json!({"name": model, "source": format!("runs:/{RUN}/model"), "run_id": RUN,
                   "description": description}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["model_version"]["version"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn ui_model_page_shows_what_a_user_sees(app: TestApp) {
    app.create_model("churn").await;
    app.patch(
        "registered-models/update",
        json!({"name": "churn", "description": "# Churn\n\nPredicts **who leaves**."}),
    )
    .await;
    app.post(
        "registered-models/set-tag",
        json!({"name": "churn", "key": "team", "value": "risk"}),
    )
    .await;
    version_with_run(&app, "churn", "Trained on March data\nsecond line").await;
    app.create_version("churn", "s3://bucket/churn/2").await;
    // A version registered by a known user, as the CLI's local flavor records it.
    let store = MetadataStore::open(&app.store).await.unwrap();
    store
        .create_model_version(
            &ModelName::parse("churn").unwrap(),
            &NewModelVersion {
                source: "s3://bucket/churn/3".into(),
                user_id: Some("alice".into()),
                ..NewModelVersion::default()
            },
        )
        .await
        .unwrap();
    store.close().await;
    app.post(
        "model-versions/transition-stage",
        json!({"name": "churn", "version": "1", "stage": "Production", "archive_existing_versions": false}),
    )
    .await;
    app.post(
        "registered-models/alias",
        json!({"name": "churn", "alias": "champion", "version": "1"}),
    )
    .await;

    let browser = Browser::open(&app).await;
    let (status, html) = browser.page(&app, "/models/churn").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<h1 id=\"model-name\">churn</h1>"), "{html}");
    assert!(
        html.contains("<h1>Churn</h1>"),
        "the description is rendered Markdown: {html}"
    );
    assert!(html.contains("<strong>who leaves</strong>"));
    assert!(element(&html, "version-count").contains("3 versions"));
    assert!(html.contains("<span class=\"tag\">team=risk</span>"));
    assert!(html.contains("href=\"/models/churn/versions/1\">@champion</a>"));
    assert!(element(&html, "latest").contains("Production: v1"));
    assert!(element(&html, "latest").contains("None: v3"));
    assert_eq!(listed_versions(&html), [3, 2, 1], "newest first");
    // The row of version 1: its first description line, its run, its alias and its stage.
    let row1 = &html[html.find("id=\"pick-1\"").unwrap()..];
    let row1 = &row1[..row1.find("</tr>").unwrap()];
    assert!(row1.contains("Trained on March data"), "{row1}");
    assert!(!row1.contains("second line"), "{row1}");
    assert!(row1.contains(&format!("href=\"/runs/{RUN}\"")), "{row1}");
    assert!(row1.contains("@champion"), "{row1}");
    assert!(row1.contains(">Production<"), "{row1}");
    let row3 = &html[html.find("id=\"pick-3\"").unwrap()..];
    assert!(row3[..row3.find("</tr>").unwrap()].contains(">alice<"));
    // Compare and chart lead to their pages; the delete button says what goes with the model.
    assert!(
        html.contains("<form id=\"compare-form\" method=\"get\" action=\"/models/churn/compare\">")
    );
    assert!(html.contains("form=\"compare-form\" name=\"v\" value=\"3\""));
    assert!(html.contains("id=\"compare-selected\""));
    assert!(html.contains("href=\"/models/churn/chart\""));
    assert!(element(&html, "delete-model").contains("its 3 versions? This cannot be undone."));
    assert!(html.contains(&format!("name=\"_csrf\" value=\"{}\"", browser.token)));
}

async fn ui_model_filters_narrow_the_versions_table(app: TestApp) {
    app.create_model("m").await;
    for _ in 0..6 {
        app.create_version("m", "s3://bucket/m").await;
    }
    for version in ["2", "5"] {
        app.post(
            "model-versions/transition-stage",
            json!({"name": "m", "version": version, "stage": "Staging", "archive_existing_versions": false}),
        )
        .await;
    }
    app.post(
        "model-versions/set-tag",
        json!({"name": "m", "version": "3", "key": "data", "value": "march"}),
    )
    .await;
    app.post(
        "model-versions/set-tag",
        json!({"name": "m", "version": "5", "key": "data", "value": "april"}),
    )
    .await;
    app.post(
        "registered-models/alias",
        json!({"name": "m", "alias": "challenger", "version": "4"}),
    )
    .await;
    let browser = Browser::open(&app).await;
    let listed = async |query: &str| {
        let (status, html) = browser.page(&app, &format!("/models/m?{query}")).await;
        assert_eq!(status, 200, "{query}: {html}");
        listed_versions(&html)
    };
    assert_eq!(listed("").await, [6, 5, 4, 3, 2, 1]);
    assert_eq!(listed("stage=Staging").await, [5, 2]);
    assert_eq!(listed("stage=staging&order=oldest").await, [2, 5]);
    assert_eq!(listed("alias=challenger").await, [4]);
    assert_eq!(listed("tag=data").await, [5, 3]);
    assert_eq!(listed("tag=data%3Dmarch").await, [3]);
    assert_eq!(listed("tag=data&stage=Staging").await, [5]);
    assert_eq!(listed("order=oldest").await, [1, 2, 3, 4, 5, 6]);
    assert_eq!(listed("tag=nothing").await, Vec::<i64>::new());
    // Dates are whole days in UTC: today's versions are in a range that ends today, and not in
    // one that starts tomorrow.
    let today = &utc_day(0);
    let tomorrow = &utc_day(1);
    assert_eq!(listed(&format!("from={today}&to={today}")).await.len(), 6);
    assert_eq!(listed(&format!("from={tomorrow}")).await, Vec::<i64>::new());
    assert_eq!(listed("to=2000-01-01").await, Vec::<i64>::new());

    let (_, html) = browser.page(&app, "/models/m?stage=Staging&tag=data").await;
    assert_eq!(listed_versions(&html), [5]);
    assert!(
        html.contains("<option value=\"Staging\" selected>"),
        "the filter is kept"
    );
    assert!(html.contains("id=\"f-tag\" name=\"tag\" value=\"data\""));
    assert!(html.contains("id=\"clear-filters\""));
    let (_, html) = browser.page(&app, "/models/m?tag=nothing").await;
    assert!(html.contains("No version matches these filters."));
}

/// `YYYY-MM-DD` of today + `offset` days in UTC, as a date input would send it.
fn utc_day(offset: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // Days to a civil date (the same proleptic Gregorian arithmetic the page uses).
    let z = now.div_euclid(86_400) + offset + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The target of the link marked `rel` (`next`, `prev`) or with `id`, as a browser follows it.
fn link(html: &str, marker: &str) -> Option<String> {
    let at = html.find(marker)?;
    let tag_start = html[..at].rfind('<').unwrap();
    let tag = &html[tag_start..at];
    let href = &tag[tag.find("href=\"").unwrap() + 6..];
    Some(
        href[..href.find('"').unwrap()]
            .replace("&#38;", "&")
            .replace("&amp;", "&"),
    )
}

/// Every version of a view, following "Next" from its first page, and again following
/// "Previous" from its "Last" page (put back in the table's order); no page is empty.
async fn walk(browser: &Browser, app: &TestApp, view: &str) -> (Vec<i64>, Vec<i64>) {
    let mut forwards = Vec::new();
    let mut url = Some(view.to_owned());
    let mut last = None;
    while let Some(at) = url {
        let (status, html) = browser.page(app, &at).await;
        assert_eq!(status, 200, "{at}: {html}");
        let shown = listed_versions(&html);
        assert!((1..=25).contains(&shown.len()), "{at}: {shown:?}");
        forwards.extend(shown);
        last = last.or_else(|| link(&html, "id=\"versions-last\""));
        url = link(&html, "rel=\"next\"");
    }
    let mut pages = Vec::new();
    let mut url = last.or(Some(view.to_owned()));
    while let Some(at) = url {
        let (_, html) = browser.page(app, &at).await;
        let shown = listed_versions(&html);
        assert!((1..=25).contains(&shown.len()), "{at}: {shown:?}");
        pages.push(shown);
        url = link(&html, "rel=\"prev\"");
    }
    (forwards, pages.into_iter().rev().flatten().collect())
}

async fn ui_model_versions_are_paged_on_the_server(app: TestApp) {
    app.create_model("big").await;
    for _ in 0..27 {
        app.create_version("big", "s3://bucket/big").await;
    }
    app.post(
        "model-versions/transition-stage",
        json!({"name": "big", "version": "1", "stage": "Archived", "archive_existing_versions": false}),
    )
    .await;
    let browser = Browser::open(&app).await;
    let (_, first) = browser.page(&app, "/models/big").await;
    assert_eq!(listed_versions(&first), (3..=27).rev().collect::<Vec<_>>());
    assert!(
        element(&first, "versions-summary").contains("Versions 27 to 3 of 27 versions"),
        "{first}"
    );
    assert_eq!(
        link(&first, "rel=\"next\"").as_deref(),
        Some("/models/big?after=3")
    );
    assert_eq!(
        link(&first, "id=\"versions-last\"").as_deref(),
        Some("/models/big?last=1")
    );
    assert_eq!(link(&first, "rel=\"prev\""), None);
    assert_eq!(link(&first, "id=\"versions-first\""), None);

    let (_, second) = browser.page(&app, "/models/big?after=3").await;
    assert_eq!(listed_versions(&second), [2, 1]);
    assert_eq!(
        link(&second, "rel=\"prev\"").as_deref(),
        Some("/models/big?before=2")
    );
    assert_eq!(
        link(&second, "id=\"versions-first\"").as_deref(),
        Some("/models/big")
    );
    assert_eq!(link(&second, "rel=\"next\""), None);
    // The last page is a full page, read from the end; its "Previous" shows what is left.
    let (_, last) = browser.page(&app, "/models/big?last=1").await;
    assert_eq!(listed_versions(&last), (1..=25).rev().collect::<Vec<_>>());
    assert_eq!(link(&last, "rel=\"next\""), None);
    let (_, back) = browser.page(&app, "/models/big?before=25").await;
    assert_eq!(listed_versions(&back), [27, 26]);
    assert_eq!(link(&back, "rel=\"prev\""), None);
    assert_eq!(
        link(&back, "rel=\"next\"").as_deref(),
        Some("/models/big?after=26")
    );

    // The links keep the filters and the order.
    let (_, oldest) = browser.page(&app, "/models/big?order=oldest").await;
    assert_eq!(listed_versions(&oldest)[..3], [1, 2, 3]);
    assert!(
        oldest.contains("href=\"/models/big?order=oldest&#38;after=25\""),
        "{oldest}"
    );
    let (_, oldest2) = browser
        .page(&app, "/models/big?order=oldest&after=25")
        .await;
    assert_eq!(listed_versions(&oldest2), [26, 27]);
    let (_, archived) = browser.page(&app, "/models/big?stage=Archived").await;
    assert_eq!(listed_versions(&archived), [1]);
    assert!(
        !archived.contains("id=\"versions-pager\""),
        "one page needs no pager"
    );
    // A page past the end says so and leads back.
    let (status, empty) = browser.page(&app, "/models/big?after=1").await;
    assert_eq!(status, 200);
    assert!(
        empty.contains("There are no versions on this page."),
        "{empty}"
    );
    assert_eq!(
        link(&empty, "id=\"versions-first\"").as_deref(),
        Some("/models/big")
    );
}

/// Which version numbers a view of the table selects.
type Selects = fn(i64) -> bool;

async fn ui_model_every_page_is_reached_both_ways_with_filters(app: TestApp) {
    // 55 versions: the odd ones in Staging, all but every fifth tagged data=<n % 3>.
    app.create_model("m").await;
    for n in 1..=55 {
        app.create_version("m", "s3://bucket/m").await;
        if n % 2 == 1 {
            app.post(
                "model-versions/transition-stage",
                json!({"name": "m", "version": n.to_string(), "stage": "Staging",
                       "archive_existing_versions": false}),
            )
            .await;
        }
        if n % 5 != 0 {
            app.post(
                "model-versions/set-tag",
                json!({"name": "m", "version": n.to_string(), "key": "data",
                       "value": (n % 3).to_string()}),
            )
            .await;
        }
    }
    let browser = Browser::open(&app).await;
    let today = utc_day(0);
    let views: [(String, Selects); 6] = [
        (String::new(), |_| true),
        ("stage=Staging".into(), |n| n % 2 == 1),
        ("tag=data".into(), |n| n % 5 != 0),
        ("tag=data%3D1".into(), |n| n % 5 != 0 && n % 3 == 1),
        ("tag=data&stage=Staging".into(), |n| {
            n % 5 != 0 && n % 2 == 1
        }),
        (format!("from={today}&to={today}"), |_| true),
    ];
    for (query, keep) in &views {
        for order in ["", "oldest"] {
            let mut expected: Vec<i64> = (1..=55).rev().filter(|n| keep(*n)).collect();
            if order == "oldest" {
                expected.reverse();
            }
            let sep = if query.is_empty() { "" } else { "&" };
            let view = format!("/models/m?{query}{sep}order={order}");
            let (forwards, backwards) = walk(&browser, &app, &view).await;
            if query.starts_with("from=") {
                // Listed by creation time: versions made in one millisecond may swap places,
                // but every one is there once.
                let (mut seen, mut want) = (forwards.clone(), expected.clone());
                seen.sort_unstable();
                want.sort_unstable();
                assert_eq!(seen, want, "{view}");
            } else {
                assert_eq!(forwards, expected, "{view}");
            }
            assert_eq!(
                backwards, forwards,
                "{view}, walked back from the last page"
            );
        }
    }
}

async fn ui_model_forms_change_the_model(app: TestApp) {
    app.create_model("m").await;
    app.create_version("m", "s3://bucket/m").await;
    app.post(
        "registered-models/alias",
        json!({"name": "m", "alias": "champion", "version": "1"}),
    )
    .await;
    let browser = Browser::open(&app).await;

    let (status, to) = browser
        .submit(
            &app,
            "/models/m/description",
            &[("description", "Line one\r\n\r\n*new*")],
        )
        .await;
    assert_eq!((status, to.as_str()), (StatusCode::SEE_OTHER, "/models/m"));
    let model = app.get("registered-models/get", &[("name", "m")]).await.1;
    assert_eq!(
        model["registered_model"]["description"],
        "Line one\n\n*new*"
    );
    let (_, html) = browser.page(&app, "/models/m").await;
    assert!(html.contains("<em>new</em>"));
    assert!(
        html.contains(">Line one\n\n*new*</textarea>"),
        "the form holds the text to edit"
    );

    let (status, _) = browser
        .submit(
            &app,
            "/models/m/tags",
            &[("key", "team"), ("value", "risk")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    browser
        .submit(&app, "/models/m/tags", &[("key", "team"), ("value", "ops")])
        .await;
    let model = app.get("registered-models/get", &[("name", "m")]).await.1;
    assert_eq!(
        model["registered_model"]["tags"],
        json!([{"key": "team", "value": "ops"}])
    );
    browser
        .submit(&app, "/models/m/tags/delete", &[("key", "team")])
        .await;
    let model = app.get("registered-models/get", &[("name", "m")]).await.1;
    assert!(
        model["registered_model"]
            .get("tags")
            .is_none_or(|t| t == &json!([])),
        "{model}"
    );

    let model = app.get("registered-models/get", &[("name", "m")]).await.1;
    assert_eq!(
        model["registered_model"]["aliases"],
        json!([{"alias": "champion", "version": "1"}])
    );
    let (status, _) = browser
        .submit(&app, "/models/m/aliases/delete", &[("alias", "champion")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let model = app.get("registered-models/get", &[("name", "m")]).await.1;
    assert!(
        model["registered_model"]
            .get("aliases")
            .is_none_or(|a| a == &json!([])),
        "{model}"
    );

    // A bad tag key is a clear error, not a 5xx, and nothing changes.
    let (status, body) = browser
        .submit(&app, "/models/m/tags", &[("key", ""), ("value", "x")])
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("That did not work"), "{body}");
}

async fn ui_model_rename_and_delete_act_on_the_store(app: TestApp) {
    app.create_model("old name").await;
    app.create_version("old name", "s3://bucket/x").await;
    app.create_model("taken").await;
    let browser = Browser::open(&app).await;

    let (status, to) = browser
        .submit(
            &app,
            "/models/old%20name/rename",
            &[("new_name", "new name")],
        )
        .await;
    assert_eq!(
        (status, to.as_str()),
        (StatusCode::SEE_OTHER, "/models/new%20name")
    );
    assert_eq!(
        app.get("registered-models/get", &[("name", "old name")])
            .await
            .0,
        404
    );
    let (status, html) = browser.page(&app, &to).await;
    assert_eq!(status, 200);
    assert_eq!(
        listed_versions(&html),
        [1],
        "the versions moved with the model"
    );

    let (status, body) = browser
        .submit(&app, "/models/new%20name/rename", &[("new_name", "taken")])
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("already exists"), "{body}");

    let (status, to) = browser.submit(&app, "/models/new%20name/delete", &[]).await;
    assert_eq!((status, to.as_str()), (StatusCode::SEE_OTHER, "/models"));
    assert_eq!(
        app.get("registered-models/get", &[("name", "new name")])
            .await
            .0,
        404
    );
    let (status, _) = browser.page(&app, "/models/new%20name").await;
    assert_eq!(status, 404);
}

async fn ui_model_changes_from_another_site_are_refused(app: TestApp) {
    app.create_model("m").await;
    app.post(
        "registered-models/set-tag",
        json!({"name": "m", "key": "keep", "value": "me"}),
    )
    .await;
    let browser = Browser::open(&app).await;
    let url = format!("{}/models/m/description", app.base);
    let cookie = format!("arca_csrf={}", browser.token);

    // No token in the form.
    let resp = browser
        .client
        .post(&url)
        .header(COOKIE, &cookie)
        .header(CONTENT_TYPE, FORM)
        .body(form_body(&[("description", "hacked")]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    // The right token, but the browser says the form came from another site.
    let resp = browser
        .client
        .post(&url)
        .header(COOKIE, &cookie)
        .header("sec-fetch-site", "cross-site")
        .header(CONTENT_TYPE, FORM)
        .body(form_body(&[
            ("_csrf", browser.token.as_str()),
            ("description", "hacked"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let resp = browser
        .client
        .post(format!("{}/models/m/delete", app.base))
        .header(COOKIE, &cookie)
        .header("sec-fetch-site", "cross-site")
        .header(CONTENT_TYPE, FORM)
        .body(form_body(&[("_csrf", browser.token.as_str())]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert!(resp.text().await.unwrap().contains("another site"));

    let model = app.get("registered-models/get", &[("name", "m")]).await;
    assert_eq!(model.0, 200, "the model is still there");
    assert!(
        model.1["registered_model"]
            .get("description")
            .is_none_or(|d| d != "hacked")
    );
    assert_eq!(
        model.1["registered_model"]["tags"],
        json!([{"key": "keep", "value": "me"}])
    );
}

async fn ui_model_user_text_is_escaped(app: TestApp) {
    let name = "x <i>&\"y\"";
    app.create_model(name).await;
    app.patch(
        "registered-models/update",
        json!({"name": name, "description": "<script>alert(1)</script>\n\n[a](javascript:alert(2))"}),
    )
    .await;
    app.post(
        "registered-models/set-tag",
        json!({"name": name, "key": "k", "value": "<b>bold</b>"}),
    )
    .await;
    let (_, body) = app
        .post(
            "model-versions/create",
            json!({"name": name, "source": "s3://b/x", "description": "<img src=x onerror=alert(3)>",
                   "tags": [{"key": "t", "value": "\"><script>alert(4)</script>"}]}),
        )
        .await;
    assert_eq!(body["model_version"]["version"], "1", "{body}");
    let browser = Browser::open(&app).await;
    let (status, html) = browser.page(&app, "/models/x%20%3Ci%3E%26%22y%22").await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("x &#60;i&#62;&#38;&#34;y&#34;")
            || html.contains("x &lt;i&gt;&amp;&quot;y&quot;"),
        "{html}"
    );
    assert!(!html.contains("<i>&"), "the name is not markup");
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("<img src=x"), "{html}");
    assert!(!html.contains("<b>bold"), "{html}");
    // The raw text stays in the edit box, as text; no link or attribute carries the script URL.
    assert!(!html.contains("href=\"javascript:"), "{html}");
    assert!(html.contains("<a href=\"#\">a</a>"), "{html}");
    // Links carry the name %-encoded as one path segment.
    assert!(
        html.contains("/models/x%20%3Ci%3E%26%22y%22/versions/1"),
        "{html}"
    );
}

async fn ui_model_bad_filters_and_unknown_models_get_clear_errors(app: TestApp) {
    app.create_model("m").await;
    let browser = Browser::open(&app).await;
    let (status, html) = browser.page(&app, "/models/m?stage=Live").await;
    assert_eq!(status, 400);
    assert!(
        html.contains("&#39;Live&#39; is not a stage") || html.contains("'Live' is not a stage"),
        "{html}"
    );
    let (status, html) = browser.page(&app, "/models/m?from=yesterday").await;
    assert_eq!(status, 400);
    assert!(html.contains("YYYY-MM-DD"), "{html}");
    let (status, html) = browser.page(&app, "/models/m?after=0x10").await;
    assert_eq!(status, 400);
    assert!(html.contains("is not a version number"), "{html}");
    let (status, html) = browser.page(&app, "/models/nope").await;
    assert_eq!(status, 404);
    assert!(html.contains("nope"), "{html}");
    let (status, _) = browser.submit(&app, "/models/nope/delete", &[]).await;
    assert_eq!(status, 404);
}
