//! `arca history`, `arca history verify`, `arca aliases rollback`, `arca pull --as-of` and
//! `arca versions diff`: what a user types to find out who moved `@champion`, and to undo it.

use crate::support::{Arca, ArcaServer, MlflowServer, model_files, venv};
use serde_json::{Value, json};
use sqlx::Connection;

fn actions(events: &Value) -> Vec<(String, Option<i64>)> {
    events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["version"].as_i64(),
            )
        })
        .collect()
}

/// The time of `arca`'s newest event of `model`, once the clock has passed it.
fn settled(arca: &Arca, model: &str) -> i64 {
    let events = arca.json(&["history", model, "--limit", "1"]);
    let at = events[0]["at"].as_i64().unwrap();
    while arca_core::now_millis() <= at {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    at
}

#[test]
fn who_moved_an_alias_is_answered_and_undone_over_http() {
    let server = ArcaServer::start();
    let arca = Arca::new(&server.url);
    let work = tempfile::tempdir().unwrap();
    for seed in [1, 2] {
        let files = model_files(work.path(), seed);
        arca.json(&["versions", "register", "churn", files.to_str().unwrap()]);
    }
    arca.json(&["aliases", "set", "churn", "champion", "1"]);
    let before_move = settled(&arca, "churn");
    arca.json(&["aliases", "set", "churn", "champion", "2"]);

    let history = arca.json(&["history", "churn"]);
    assert_eq!(
        actions(&history),
        [
            ("set_alias".to_owned(), Some(2)),
            ("set_alias".to_owned(), Some(1)),
            ("create_version".to_owned(), Some(2)),
            ("create_version".to_owned(), Some(1)),
            ("create_model".to_owned(), None),
        ]
    );
    assert!(
        history[0]["actor"]
            .as_str()
            .unwrap()
            .ends_with("@ 127.0.0.1"),
        "{}",
        history[0]
    );
    assert_eq!(
        history[0]["before"],
        json!({"alias": "champion", "version": 1})
    );
    let table = arca.run(&["history", "churn", "--alias", "champion"]);
    table.ok();
    assert!(
        table.stdout.contains("@champion 1 -> 2"),
        "{}",
        table.stdout
    );
    assert_eq!(
        actions(&arca.json(&["history", "churn", "--version", "1"])),
        [
            ("set_alias".to_owned(), Some(1)),
            ("create_version".to_owned(), Some(1))
        ]
    );

    // What @champion was before it moved, pulled by time.
    let out = work.path().join("then");
    let pulled = arca.json(&[
        "pull",
        "models:/churn@champion",
        "--as-of",
        &before_move.to_string(),
        "--output",
        out.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(pulled["version"], 1, "{pulled}");
    assert_eq!(
        std::fs::read(out.join("MLmodel")).unwrap(),
        b"flavors: {}\nseed: 1\n"
    );

    let rolled = arca.json(&["aliases", "rollback", "churn", "champion"]);
    assert_eq!(rolled["version"], 1);
    let now = arca.json(&["versions", "get", "churn", "@champion"]);
    assert_eq!(now["version"], 1, "{now}");

    let diff = arca.json(&["versions", "diff", "churn", "1", "2"]);
    let changed: Vec<&str> = diff["files"]["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(changed, ["MLmodel", "data/weights.bin"], "{diff}");
    let table = arca.run(&["versions", "diff", "churn", "1", "2"]);
    table.ok();
    assert!(
        table.stdout.contains("data/weights.bin"),
        "{}",
        table.stdout
    );

    arca.run(&["history", "verify"]).fails(2, "--database");
    arca.run(&["history", "churn", "--since", "last week"])
        .fails(2, "invalid time");
    arca.run(&["aliases", "rollback", "churn", "nobody"])
        .fails(2, "no history");
}

#[test]
fn verify_finds_an_edited_or_removed_event_in_a_data_dir() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("store");
    let arca = Arca::new(dir.to_str().unwrap());
    let files = model_files(work.path(), 1);
    arca.json(&["versions", "register", "m", files.to_str().unwrap()]);
    arca.json(&["aliases", "set", "m", "champion", "1"]);
    arca.json(&["versions", "transition", "m", "1", "Production"]);
    let report = arca.json(&["history", "verify"]);
    assert_eq!(report["broken"], Value::Null, "{report}");
    let checked = report["checked"].as_i64().unwrap();
    assert!(checked >= 4, "{report}");

    let db = format!("sqlite://{}", dir.join("arca.db").display());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let tamper = |sql: &'static str| {
        runtime.block_on(async {
            sqlx::any::install_default_drivers();
            let mut conn = sqlx::AnyConnection::connect(&db).await.unwrap();
            sqlx::query(sql).execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
        })
    };
    tamper(
        "UPDATE registry_events SET after_state = '{\"alias\":\"champion\",\"version\":9}' \
         WHERE action = 'set_alias'",
    );
    Arca::bare()
        .run(&[
            "history",
            "verify",
            "--database",
            &format!("sqlite:///{}", dir.join("arca.db").display()),
        ])
        .fails(7, "was edited");
    tamper("DELETE FROM registry_events WHERE action = 'set_alias'");
    let run = arca.run(&["history", "verify"]);
    run.fails(7, "removed");
}

#[test]
#[ignore = "needs the mlflow venv (.venv): run ./scripts/test.sh"]
fn against_a_plain_mlflow_server_history_is_said_to_be_arca_only() {
    let Some(venv) = venv() else { return };
    let server = MlflowServer::start(&venv);
    let arca = Arca::new(&server.url);
    let work = tempfile::tempdir().unwrap();
    let files = model_files(work.path(), 1);
    arca.json(&["versions", "register", "m", files.to_str().unwrap()]);
    arca.json(&["aliases", "set", "m", "champion", "1"]);
    arca.run(&["history", "m"]).fails(1, "Arca features");
    arca.run(&["aliases", "rollback", "m", "champion"])
        .fails(1, "Arca features");
    arca.run(&["versions", "diff", "m", "1", "1"])
        .fails(1, "Arca features");
    let out = work.path().join("out");
    arca.run(&[
        "pull",
        "models:/m@champion",
        "--as-of",
        "2026-01-01",
        "--output",
        out.to_str().unwrap(),
    ])
    .fails(1, "Arca features");
}
