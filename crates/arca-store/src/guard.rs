//! The check that keeps Arca out of databases that are not its own.
//!
//! `sqlite:///mlflow.db` is a common setting in an MLflow user's shell, and Arca's migrations
//! would add `_sqlx_migrations` and Arca's tables to whatever database they are pointed at before
//! failing on the first clash. So before anything is written, a database must be either empty or
//! Arca's (it has `_sqlx_migrations`); anything else is refused with what was found in it.
//! Whether the applied migrations are Arca's is sqlx's own check, made before it applies any.

use sqlx::{AnyConnection, Row};

/// MLflow's SQL store keeps its Alembic revision here; no Arca schema has it.
const MLFLOW_MARKER: &str = "alembic_version";
const ARCA_MARKER: &str = "_sqlx_migrations";

/// A database that holds another application's tables: opening it as Arca's is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignDatabase {
    /// The store URI with any password hidden.
    pub location: String,
    /// The tables found, sorted by name.
    pub tables: Vec<String>,
}

impl ForeignDatabase {
    /// Whether the tables are those of an MLflow tracking/registry database.
    pub fn is_mlflow(&self) -> bool {
        self.tables.iter().any(|t| t == MLFLOW_MARKER)
    }

    fn sample(&self) -> String {
        const SHOWN: usize = 5;
        let mut names: Vec<&str> = self.tables.iter().take(SHOWN).map(String::as_str).collect();
        if self.tables.len() > SHOWN {
            names.push("...");
        }
        names.join(", ")
    }
}

impl std::fmt::Display for ForeignDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let location = &self.location;
        let count = self.tables.len();
        let sample = self.sample();
        if self.is_mlflow() {
            write!(
                f,
                "{location} is an MLflow database, not an Arca store: it has MLflow's \
                 {MLFLOW_MARKER} table and {count} tables in all ({sample}). Arca opens only its \
                 own databases and has written nothing to this one. To move this MLflow registry \
                 into Arca, serve it with `mlflow server --backend-store-uri {location}` and copy \
                 it over the REST API: `arca copy --from http://<mlflow server> --to <Arca server \
                 URL, data directory or database URI>`."
            )
        } else {
            write!(
                f,
                "{location} holds another application's tables ({count}: {sample}) and no Arca \
                 schema. Arca opens only an empty database or its own, and has written nothing \
                 to this one; give it a database of its own (a new SQLite file, or a new \
                 PostgreSQL database or schema)."
            )
        }
    }
}

impl std::error::Error for ForeignDatabase {}

/// Looks at the tables of the schema Arca would migrate, writing nothing.
pub(crate) async fn refuse_foreign(
    conn: &mut AnyConnection,
    postgres: bool,
    location: &str,
) -> anyhow::Result<()> {
    let sql = if postgres {
        "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
         WHERE table_schema = current_schema()"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    };
    let mut tables = sqlx::query(sql)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| row.try_get::<String, _>(0))
        .collect::<Result<Vec<_>, _>>()?;
    if tables.is_empty() || tables.iter().any(|t| t == ARCA_MARKER) {
        return Ok(());
    }
    tables.sort();
    Err(ForeignDatabase {
        location: location.to_owned(),
        tables,
    }
    .into())
}
