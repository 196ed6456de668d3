//! Times a 1,000-model page of `search_logged_models`, each model with two tags, two params and
//! two metrics, on a fresh SQLite file, or with the argument `postgres` on a fresh database of
//! the server named by `ARCA_TEST_PG_URL`. A measurement, not a test:
//! `cargo run -p arca-store --example logged_model_page [postgres]`.

use arca_core::model::Tag;
use arca_core::search::{LoggedModelFilter, complete_logged_model_order};
use arca_core::tracking::{Metric, Param};
use arca_store::{MetadataStore, NewLoggedModel, NewRun, StoreUri};
use std::time::{Duration, Instant};

const MODELS: usize = 1_000;
const ROUNDS: usize = 5;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let uri = if std::env::args().nth(1).as_deref() == Some("postgres") {
        let url = arca_store::testing::fresh_postgres_database()
            .await
            .expect("ARCA_TEST_PG_URL names a PostgreSQL server");
        StoreUri::parse(&url)?
    } else {
        StoreUri::sqlite(dir.path().join("arca.db"))
    };
    let store = MetadataStore::open(&uri).await?;
    let run = store
        .create_run(&NewRun {
            experiment_id: "0".into(),
            user_id: "bench".into(),
            ..NewRun::default()
        })
        .await?;
    let run_id = run.info.run_id;
    let mut metrics = Vec::new();
    for i in 0..MODELS {
        let model = store
            .create_logged_model(&NewLoggedModel {
                experiment_id: "0".into(),
                name: Some(format!("model-{i}")),
                source_run_id: Some(run_id.clone()),
                params: (0..2)
                    .map(|p| Param {
                        key: format!("p{p}"),
                        value: i.to_string(),
                    })
                    .collect(),
                tags: (0..2)
                    .map(|t| Tag {
                        key: format!("t{t}"),
                        value: i.to_string(),
                    })
                    .collect(),
                ..NewLoggedModel::default()
            })
            .await?;
        for k in 0..2 {
            metrics.push(Metric {
                key: format!("m{k}-{i}"),
                value: i as f64,
                timestamp: 1,
                step: 0,
                model_id: Some(model.model_id.clone()),
                dataset_name: None,
                dataset_digest: None,
                run_id: None,
            });
        }
    }
    for chunk in metrics.chunks(500) {
        store.log_batch(&run_id, chunk, &[], &[]).await?;
    }

    let mut times = Vec::new();
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let page = store
            .search_logged_models(
                &["0".to_string()],
                &LoggedModelFilter::default(),
                // As the server does: the store needs a complete order (the default one here).
                &complete_logged_model_order(Vec::new()),
                MODELS as u64,
                None,
            )
            .await?;
        times.push(start.elapsed());
        assert_eq!(page.items.len(), MODELS);
        assert!(
            page.items
                .iter()
                .all(|m| m.tags.len() == 2 && m.params.len() == 2 && m.metrics.len() == 2)
        );
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{} page of {MODELS} logged models: median {:.1} ms, min {:.1} ms, max {:.1} ms ({ROUNDS} rounds)",
        match uri {
            StoreUri::Sqlite { .. } => "SQLite",
            StoreUri::Postgres { .. } => "PostgreSQL",
        },
        ms(times[ROUNDS / 2]),
        ms(times[0]),
        ms(times[ROUNDS - 1]),
    );
    store.close().await;
    Ok(())
}
