//! `MetadataStore::open` on a database that is not Arca's: refused before any write. (The real
//! MLflow schema, made by `mlflow db upgrade`, is tested end to end in the arca crate's CLI
//! tests; here another application's table stands for any foreign schema.)

use arca_store::{ForeignDatabase, MetadataStore, StoreUri};
use sqlx::{Connection, Row};

fn refusal(result: anyhow::Result<MetadataStore>) -> ForeignDatabase {
    match result {
        Ok(_) => panic!("a foreign database was opened"),
        Err(e) => e
            .downcast_ref::<ForeignDatabase>()
            .unwrap_or_else(|| panic!("not a ForeignDatabase refusal: {e:#}"))
            .clone(),
    }
}

/// Every file in `dir` with its bytes.
fn files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn a_sqlite_file_with_another_applications_tables_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    sqlx::query("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("INSERT INTO notes (body) VALUES ('keep me')")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let before = files(dir.path());

    let refused = refusal(MetadataStore::open(&StoreUri::sqlite(&path)).await);
    assert_eq!(refused.tables, ["notes"]);
    assert!(!refused.is_mlflow());
    let message = refused.to_string();
    assert!(
        message.contains("another application's tables"),
        "{message}"
    );
    assert!(message.contains("notes"), "{message}");
    assert!(
        files(dir.path()) == before,
        "the file changed or gained a -wal"
    );
}

#[tokio::test]
async fn an_alembic_version_table_is_named_as_mlflow_with_the_way_to_copy_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mlflow.db");
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    for sql in [
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)",
        "CREATE TABLE registered_models (name VARCHAR(256) PRIMARY KEY)",
    ] {
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();
    let before = files(dir.path());

    let refused = refusal(MetadataStore::open(&StoreUri::sqlite(&path)).await);
    assert!(refused.is_mlflow());
    let message = refused.to_string();
    assert!(message.contains("is an MLflow database"), "{message}");
    assert!(message.contains("arca copy --from http://"), "{message}");
    assert!(files(dir.path()) == before);
}

#[tokio::test]
async fn an_empty_file_and_arcas_own_database_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("arca.db");
    std::fs::write(&path, b"").unwrap();
    let registry = MetadataStore::open(&StoreUri::sqlite(&path)).await.unwrap();
    registry.close().await;
    // Reopening finds Arca's own schema.
    let registry = MetadataStore::open(&StoreUri::sqlite(&path)).await.unwrap();
    registry.close().await;
}

/// The tables of the database's current schema, with their row counts.
async fn tables(url: &str) -> Vec<(String, i64)> {
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let names: Vec<String> = sqlx::query(
        "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
         WHERE table_schema = current_schema() ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect();
    let mut out = Vec::new();
    for name in names {
        // The name comes from the catalog just read.
        let count: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM \"{name}\""
        )))
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get(0);
        out.push((name, count));
    }
    conn.close().await.unwrap();
    out
}

#[tokio::test]
#[ignore = "needs ARCA_TEST_PG_URL (a PostgreSQL server): run ./scripts/test.sh"]
async fn a_postgres_schema_with_another_applications_tables_is_refused_untouched() {
    let Some(url) = arca_store::testing::fresh_postgres_database().await else {
        return;
    };
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    for sql in [
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)",
        "INSERT INTO alembic_version VALUES ('abc123')",
        "CREATE TABLE experiments (experiment_id SERIAL PRIMARY KEY)",
    ] {
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();
    let before = tables(&url).await;

    let refused = refusal(MetadataStore::open(&StoreUri::parse(&url).unwrap()).await);
    assert_eq!(refused.tables, ["alembic_version", "experiments"]);
    assert!(refused.is_mlflow());
    assert_eq!(
        tables(&url).await,
        before,
        "no _sqlx_migrations, nothing else"
    );
}
