//! The webhooks pages: a webhook's delivery status as a person reads it, and redelivery from
//! the page.

use crate::helpers::TestApp;
use crate::webhooks::{Receiver, create_webhook, deliveries};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use std::time::{Duration, Instant};

crate::on_both_backends!(ui_webhooks_show_delivery_status_and_redeliver);

async fn ui_webhooks_show_delivery_status_and_redeliver(app: TestApp) {
    let receiver = Receiver::start().await;
    receiver.answer_always(500);
    let id = create_webhook(&app, &receiver.url, &[("REGISTERED_MODEL", "CREATED")], "s").await;
    app.create_model("churn").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let dead = loop {
        let got = deliveries(&app, &id).await;
        if got.first().is_some_and(|d| d["state"] == "dead") {
            break got[0].clone();
        }
        assert!(Instant::now() < deadline, "no dead delivery: {got:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = client
        .get(format!("{}/webhooks", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let token = resp
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("arca_csrf="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let list = resp.text().await.unwrap();
    assert!(list.contains(&receiver.url), "the list shows the URL");
    assert!(list.contains("1 failed"), "the list counts failures");
    assert!(!list.contains(">s<"), "no secret");

    let page = |client: reqwest::Client, url: String| async move {
        client.get(url).send().await.unwrap().text().await.unwrap()
    };
    let html = page(client.clone(), format!("{}/webhooks/{id}", app.base)).await;
    assert!(html.contains("Failed, gave up"));
    assert!(html.contains("registered_model.created"));
    assert!(html.contains("HTTP 500") || html.contains("answered 500"));

    receiver.answer_always(200);
    let delivery_id = dead["delivery_id"].as_str().unwrap();
    let resp = client
        .post(format!("{}/webhooks/{id}/redeliver", app.base))
        .header(COOKIE, format!("arca_csrf={token}"))
        .header("sec-fetch-site", "same-origin")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("_csrf={token}&delivery_id={delivery_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(
        resp.headers()[LOCATION]
            .to_str()
            .unwrap()
            .ends_with(&format!("/webhooks/{id}#deliveries"))
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let html = page(client.clone(), format!("{}/webhooks/{id}", app.base)).await;
        if html.contains(">Delivered<") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the redelivery never shows as delivered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let html = page(client.clone(), format!("{}/webhooks/nope", app.base)).await;
    assert!(html.contains("not found"), "{html}");
}
