//! The store's own error type, so that every internal function can use a plain `?` on sqlx calls.
//!
//! `arca_core::Error` cannot implement `From<sqlx::Error>`: arca-core has no I/O dependencies,
//! and the orphan rule keeps that impl out of this crate. `StoreError` is the bridge. Inside the
//! crate it converts from both sqlx's and the domain's errors; at the public boundary
//! ([`crate::MetadataStore`]'s methods) it converts back into `arca_core::Error`, so no sqlx type
//! leaves the crate.

use arca_core::Error;

/// A domain error, or a database failure already wrapped as [`Error::Internal`].
#[derive(Debug)]
pub(crate) struct StoreError(Error);

pub(crate) type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// Whether this is a "not found", which some callers restate in their own words.
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self.0, Error::NotFound(_))
    }

    /// Whether the database failed (as opposed to a rule of the registry saying no): the
    /// connection it happened on may be broken or mid-answer.
    pub(crate) fn is_database_failure(&self) -> bool {
        matches!(self.0, Error::Internal(_) | Error::Unavailable(_))
    }

    /// The same error for one more caller (every request of a failed batch gets it). An internal
    /// error's cause chain cannot be cloned, so it is carried over as its text.
    pub(crate) fn restate(&self) -> StoreError {
        StoreError(match &self.0 {
            Error::InvalidParameter(m) => Error::InvalidParameter(m.clone()),
            Error::AlreadyExists(m) => Error::AlreadyExists(m.clone()),
            Error::BadRequest(m) => Error::BadRequest(m.clone()),
            Error::NotFound(m) => Error::NotFound(m.clone()),
            Error::Unavailable(m) => Error::Unavailable(m.clone()),
            Error::Internal(cause) => Error::Internal(anyhow::anyhow!("{cause:#}")),
        })
    }
}

impl StoreError {
    pub(crate) fn unavailable() -> StoreError {
        StoreError(Error::Unavailable(
            "The metadata database is unavailable or not answering; try again shortly.".into(),
        ))
    }
}

/// Whether `err` says the database cannot be reached right now (down, restarting, refusing
/// connections, the connection cut), as opposed to a failing statement: the first is worth a
/// retry, the second is not.
fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        // A closed pool is not listed: only the store's own `close` does that.
        sqlx::Error::PoolTimedOut
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        // PostgreSQL's SQLSTATE classes 08 (connection exception) and 57P (operator
        // intervention: shutting down, starting up), 53300 (too many connections); SQLite's
        // SQLITE_BUSY (5) once busy_timeout has run out.
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || code.starts_with("57P") || code == "53300" || code == "5"
        }),
        _ => false,
    }
}

impl From<sqlx::Error> for StoreError {
    /// A database failure is ours, never the caller's: the server logs the cause chain and
    /// answers INTERNAL_ERROR without it, or TEMPORARILY_UNAVAILABLE when the database is
    /// unreachable.
    fn from(err: sqlx::Error) -> Self {
        if is_unavailable(&err) {
            tracing::warn!(error = %err, "the database is unavailable");
            return StoreError::unavailable();
        }
        StoreError(Error::Internal(
            anyhow::Error::new(err).context("database error"),
        ))
    }
}

impl From<Error> for StoreError {
    fn from(err: Error) -> Self {
        StoreError(err)
    }
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        err.0
    }
}
