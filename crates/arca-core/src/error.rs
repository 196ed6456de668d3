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
    /// Something failed on our side (database down, bug). The message is logged, never shown.
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
            Error::Internal(_) => ErrorCode::InternalError,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
