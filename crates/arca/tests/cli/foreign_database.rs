//! Arca never writes to a database that is not its own. An MLflow database made by the real
//! `mlflow db upgrade`, on SQLite and on PostgreSQL, is refused by `arca server` and by the CLI's
//! local flavor, with a message that names the way to move it (`arca copy`), and is left exactly
//! as it was: no `_sqlx_migrations`, no Arca table, no WAL switch.

use crate::support::{Arca, mlflow_env, venv};
use sqlx::{Connection, Row};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// How long a refusing `arca server` may take before the test calls it a hang.
const REFUSAL_LIMIT: Duration = Duration::from_secs(60);

fn mlflow_db_upgrade(venv: &Path, uri: &str) {
    let out = mlflow_env(&mut Command::new(venv.join("bin/mlflow")))
        .args(["db", "upgrade", uri])
        .output()
        .expect("mlflow runs");
    assert!(
        out.status.success(),
        "mlflow db upgrade {uri} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `arca server` on `uri` must exit on its own, refusing the MLflow database.
fn assert_server_refuses(uri: &str, data_dir: &Path) {
    let run = Arca::bare().run_within(
        &[
            "server",
            "--port",
            "0",
            "--data-dir",
            data_dir.to_str().unwrap(),
            "--backend-store-uri",
            uri,
        ],
        Some(REFUSAL_LIMIT),
    );
    assert_ne!(run.code, 0, "arca server started on an MLflow database");
    assert!(
        run.stderr.contains("is an MLflow database"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("alembic_version"), "{}", run.stderr);
    assert!(
        run.stderr.contains("arca copy --from http://"),
        "{}",
        run.stderr
    );
}

/// Every file in `dir` with its bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let bytes = std::fs::read(e.path()).unwrap_or_default();
            (e.file_name().to_string_lossy().into_owned(), bytes)
        })
        .collect();
    files.sort();
    files
}

#[test]
#[ignore = "needs the mlflow venv (.venv): run ./scripts/test.sh"]
fn an_mlflow_sqlite_database_is_refused_and_left_untouched() {
    let Some(venv) = venv() else { return };
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("mlflow");
    std::fs::create_dir(&dir).unwrap();
    let db = dir.join("mlflow.db");
    let uri = format!("sqlite:///{}", db.display());
    mlflow_db_upgrade(&venv, &uri);
    let before = files(&dir);
    assert_eq!(before.len(), 1, "mlflow db upgrade left only mlflow.db");

    assert_server_refuses(&uri, &work.path().join("arca-data"));
    assert!(
        files(&dir) == before,
        "arca server changed {}",
        dir.display()
    );

    let run = Arca::new(&uri).run(&["models", "list"]);
    assert_eq!(run.code, 2, "the user's mistake: {run:?}");
    assert!(
        run.stderr.contains("is an MLflow database"),
        "{}",
        run.stderr
    );
    assert!(
        files(&dir) == before,
        "arca models list changed {}",
        dir.display()
    );
}

/// The tables of every user schema in the database, each with its columns and row count, and
/// MLflow's schema revision.
async fn snapshot(url: &str) -> Vec<String> {
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let columns = sqlx::query(
        "SELECT CAST(table_schema AS TEXT), CAST(table_name AS TEXT), \
         CAST(column_name AS TEXT), CAST(data_type AS TEXT) FROM information_schema.columns \
         WHERE table_schema NOT IN ('pg_catalog', 'information_schema') \
         ORDER BY 1, 2, ordinal_position",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut lines = Vec::new();
    let mut tables = Vec::new();
    for row in &columns {
        let (schema, table): (String, String) = (row.get(0), row.get(1));
        let column: String = row.get(2);
        let data_type: String = row.get(3);
        lines.push(format!("{schema}.{table}.{column} {data_type}"));
        if tables.last() != Some(&(schema.clone(), table.clone())) {
            tables.push((schema, table));
        }
    }
    for (schema, table) in &tables {
        // Names come from the catalog just read, quoted as identifiers.
        let count: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM \"{schema}\".\"{table}\""
        )))
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get(0);
        lines.push(format!("{schema}.{table}: {count} rows"));
    }
    let revision: String = sqlx::query("SELECT version_num FROM alembic_version")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get(0);
    lines.push(format!("alembic revision {revision}"));
    conn.close().await.unwrap();
    lines
}

#[test]
#[ignore = "needs the mlflow venv and ARCA_TEST_PG_URL: run ./scripts/test.sh"]
fn an_mlflow_postgresql_schema_is_refused_and_left_untouched() {
    let Some(venv) = venv() else { return };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(url) = runtime.block_on(arca_store::testing::fresh_postgres_database()) else {
        return;
    };
    // The URI as an MLflow user writes it for psycopg2; Arca takes the same spelling.
    let uri = url.replacen("postgres://", "postgresql+psycopg2://", 1);
    mlflow_db_upgrade(&venv, &uri);
    let before = runtime.block_on(snapshot(&url));
    assert!(
        before
            .iter()
            .any(|l| l.starts_with("public.registered_models.")),
        "mlflow created its tables: {before:?}"
    );
    let work = tempfile::tempdir().unwrap();

    assert_server_refuses(&uri, &work.path().join("arca-data"));
    let after = runtime.block_on(snapshot(&url));
    assert_eq!(after, before, "arca server changed the MLflow schema");
    assert!(!after.iter().any(|l| l.contains("_sqlx_migrations")));

    let run = Arca::new(&uri).run(&["models", "list"]);
    assert_eq!(run.code, 2, "the user's mistake: {run:?}");
    assert!(
        run.stderr.contains("is an MLflow database"),
        "{}",
        run.stderr
    );
    assert_eq!(runtime.block_on(snapshot(&url)), before);
}
