//! One error type for every HTTP answer that is not a success, rendered the way MLflow renders
//! errors: `{"error_code": ..., "message": ...}` with the HTTP status MLflow uses for that code.
//! A user's mistake is always a 4xx: the `mlflow` client retries 5xx answers for minutes.

use arca_core::{Error, ErrorCode};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    message: String,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error_code: &'a str,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidParameterValue,
            message,
        )
    }

    pub fn missing(field: &str) -> Self {
        ApiError::invalid(format!(
            "Missing value for required parameter '{field}'. See the API docs for more information \
             about request parameters."
        ))
    }

    pub fn endpoint_not_found(method: &str, path: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::EndpointNotFound,
            format!(
                "No API endpoint {method} {path}. See the MLflow REST API reference for the endpoints Arca serves."
            ),
        )
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidParameterValue
        | ErrorCode::ResourceAlreadyExists
        | ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
        ErrorCode::ResourceDoesNotExist | ErrorCode::EndpointNotFound => StatusCode::NOT_FOUND,
        ErrorCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::NotImplemented => StatusCode::NOT_IMPLEMENTED,
        ErrorCode::PermissionDenied => StatusCode::FORBIDDEN,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        let code = err.code();
        if let Error::Internal(detail) = &err {
            tracing::error!(error = ?detail, "request failed");
            return ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                code,
                "Internal error; the server log has the details.",
            );
        }
        if let Error::Unavailable(message) = &err {
            tracing::warn!(%message, "answering 503: a dependency is unavailable");
        }
        ApiError::new(status_of(code), code, err.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error_code: self.code.as_str(),
            message: &self.message,
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            // The mlflow client (urllib3) waits this long before its next try instead of its
            // own back-off, which starts at a fraction of a second and doubles.
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
