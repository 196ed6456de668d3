//! The registry's error type. Every variant maps onto one of MLflow's `error_code`s, because that
//! code, not the HTTP status, is what the `mlflow` client reads to decide "not found" or "already
//! exists". The HTTP status lives with the server; this crate only knows the code.

use std::fmt;

/// MLflow `databricks.ErrorCode` names that Arca emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidParameterValue,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
    EndpointNotFound,
    BadRequest,
    InternalError,
    /// What MLflow answers when its artifact store cannot do what was asked (multipart uploads
    /// and presigned downloads on a local folder); the client falls back on it.
    NotImplemented,
    /// The caller may not do this (403).
    PermissionDenied,
    /// A dependency (the database, the object store) is down or too slow for now (503); the
    /// `mlflow` client retries it with back-off, so a short outage costs a delay, not an error.
    TemporarilyUnavailable,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidParameterValue => "INVALID_PARAMETER_VALUE",
            ErrorCode::ResourceAlreadyExists => "RESOURCE_ALREADY_EXISTS",
            ErrorCode::ResourceDoesNotExist => "RESOURCE_DOES_NOT_EXIST",
            ErrorCode::EndpointNotFound => "ENDPOINT_NOT_FOUND",
            ErrorCode::BadRequest => "BAD_REQUEST",
            ErrorCode::InternalError => "INTERNAL_ERROR",
            ErrorCode::NotImplemented => "NOT_IMPLEMENTED",
            ErrorCode::PermissionDenied => "PERMISSION_DENIED",
            ErrorCode::TemporarilyUnavailable => "TEMPORARILY_UNAVAILABLE",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller sent something malformed or not allowed; the message says what and what is accepted.
    #[error("{0}")]
    InvalidParameter(String),
    #[error("{0}")]
    AlreadyExists(String),
    /// A request MLflow answers with BAD_REQUEST (rather than INVALID_PARAMETER_VALUE).
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    /// A dependency is unreachable or too slow; worth retrying. The message names which one,
    /// never its address or credentials.
    #[error("{0}")]
    Unavailable(String),
    /// Something failed on our side (a bug, a broken disk). The message is logged, never shown.
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl Error {
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidParameter(msg.into())
    }

    pub fn not_found(msg: impl Into<String>) -> Self {
        Error::NotFound(msg.into())
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidParameter(_) => ErrorCode::InvalidParameterValue,
            Error::AlreadyExists(_) => ErrorCode::ResourceAlreadyExists,
            Error::BadRequest(_) => ErrorCode::BadRequest,
            Error::NotFound(_) => ErrorCode::ResourceDoesNotExist,
            Error::Unavailable(_) => ErrorCode::TemporarilyUnavailable,
            Error::Internal(_) => ErrorCode::InternalError,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
