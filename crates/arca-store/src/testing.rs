//! Test support shared by the crates' integration tests (feature `testing`): a fresh PostgreSQL
//! database per test on the server named by `ARCA_TEST_PG_URL`.
//!
//! Without that variable the caller skips its PostgreSQL variant and says why; with
//! `ARCA_REQUIRE_PG=1` (as in CI) a missing PostgreSQL is a failure instead.

use sqlx::Connection;
use std::sync::atomic::{AtomicU64, Ordering};

/// The URL of a new, uniquely named database, or `None` when no test PostgreSQL is configured.
pub async fn fresh_postgres_database() -> Option<String> {
    let admin_url = match std::env::var("ARCA_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            assert!(
                std::env::var("ARCA_REQUIRE_PG").as_deref() != Ok("1"),
                "ARCA_REQUIRE_PG=1 but ARCA_TEST_PG_URL is not set"
            );
            eprintln!(
                "skipped: ARCA_TEST_PG_URL is not set, so there is no PostgreSQL to test against"
            );
            return None;
        }
    };
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let name = format!(
        "arca_test_{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000_000,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    sqlx::any::install_default_drivers();
    let mut admin = sqlx::AnyConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("connecting to ARCA_TEST_PG_URL: {e}"));
    // The name is built above from digits and a fixed prefix, never from outside input.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("creating the test database {name}: {e}"));
    let (base, _) = admin_url.rsplit_once('/')?;
    Some(format!("{base}/{name}"))
}
