//! What every page needs: the URL prefix, the CSRF token, formatting helpers (`Ctx`), and the
//! error page that answers a failed page or action in plain words.

use super::security::CsrfToken;
use crate::AppState;
use crate::error::ApiError;
use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Redirect, Response};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Characters kept as they are in a path segment or query value; the rest are %-encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

pub(crate) fn encode(raw: &str) -> String {
    utf8_percent_encode(raw, COMPONENT).to_string()
}

/// The per-request context every template gets as `ctx`.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// `--static-prefix`, e.g. `/mlflow`, or empty.
    pub prefix: String,
    pub csrf: String,
    /// The top-level section, for the navigation's `aria-current`.
    pub section: &'static str,
    /// The signed-in user, with `--auth` (shared, so that a page's error stays small).
    pub viewer: Option<std::sync::Arc<Viewer>>,
}

/// Who is looking at a page, with `--auth`.
#[derive(Debug)]
pub struct Viewer {
    pub name: String,
    pub admin: bool,
    /// What lists show them (`None`: everything).
    pub scope: Option<arca_store::ReadScope>,
}

impl Ctx {
    /// A link to one of our pages: `path` starts with `/`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }

    pub fn asset(&self, file: &str) -> String {
        format!("{}/static/{}", self.prefix, super::assets::versioned(file))
    }

    pub fn model_url(&self, name: &str) -> String {
        format!("{}/models/{}", self.prefix, encode(name))
    }

    pub fn version_url(&self, name: &str, version: &impl std::fmt::Display) -> String {
        format!("{}/models/{}/versions/{version}", self.prefix, encode(name))
    }

    pub fn run_url(&self, run_id: &str) -> String {
        format!("{}/runs/{}", self.prefix, encode(run_id))
    }

    pub fn experiment_url(&self, id: &str) -> String {
        format!("{}/experiments/{}", self.prefix, encode(id))
    }

    pub fn time(&self, millis: &i64) -> String {
        format_time(*millis)
    }

    /// What lists show the viewer (`None`: everything).
    pub fn scope(&self) -> Option<&arca_store::ReadScope> {
        self.viewer.as_ref().and_then(|v| v.scope.as_ref())
    }

    pub fn with_section(mut self, section: &'static str) -> Ctx {
        self.section = section;
        self
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let csrf = parts
            .extensions
            .get::<CsrfToken>()
            .map(|t| t.value.clone())
            .unwrap_or_default();
        let caller = parts.extensions.get::<crate::auth::Caller>();
        Ok(Ctx {
            prefix: state.static_prefix.clone(),
            csrf,
            section: "",
            viewer: caller.map(|c| {
                std::sync::Arc::new(Viewer {
                    name: c.0.username.clone(),
                    admin: c.0.is_admin,
                    scope: crate::auth::read_scope(state, caller),
                })
            }),
        })
    }
}

/// `2026-11-30 19:37 UTC` from epoch milliseconds (UTC, so that every reader sees the same text;
/// the `<time>` element carries the exact instant for the script to localize).
pub fn format_time(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `YYYY-MM-DD` (a date input's value) to epoch milliseconds at 00:00 UTC.
pub fn parse_date(raw: &str) -> Option<i64> {
    let mut parts = raw.trim().splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Inverse of `civil_from_days`.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468) * 86_400_000)
}

/// Bytes as people read them: `512 B`, `1.5 KiB`, `3.2 MiB`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub ctx: Ctx,
    pub status: StatusCode,
    pub title: String,
    pub message: String,
}

impl ErrorPage {
    /// An error page for places without a request context (the security guard).
    pub fn plain(status: StatusCode, title: &str, message: String) -> ErrorPage {
        ErrorPage {
            ctx: Ctx {
                prefix: String::new(),
                csrf: String::new(),
                section: "",
                viewer: None,
            },
            status,
            title: title.to_owned(),
            message,
        }
    }
}

impl IntoResponse for ErrorPage {
    fn into_response(self) -> Response {
        let status = self.status;
        (status, render(&self)).into_response()
    }
}

/// Renders a template; a template that fails to render is a bug, logged and answered with 500.
pub fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "a page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page failed to render.",
            )
                .into_response()
        }
    }
}

/// A failed page or action: the store's error in plain words, on an HTML page.
pub struct UiError {
    ctx: Ctx,
    error: ApiError,
}

impl UiError {
    pub fn new(ctx: &Ctx, error: impl Into<ApiError>) -> UiError {
        UiError {
            ctx: ctx.clone(),
            error: error.into(),
        }
    }

    pub fn invalid(ctx: &Ctx, message: impl Into<String>) -> UiError {
        UiError::new(ctx, ApiError::invalid(message))
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let status = self.error.status();
        let title = match status {
            StatusCode::NOT_FOUND => "Not found",
            s if s.is_server_error() => "Something went wrong",
            _ => "That did not work",
        };
        ErrorPage {
            ctx: self.ctx,
            status,
            title: title.to_owned(),
            message: self.error.message().to_owned(),
        }
        .into_response()
    }
}

pub type UiResult<T = Response> = Result<T, UiError>;

/// `.on_page(&ctx)?`: a store or API error becomes the error page of this request.
pub trait OnPage<T> {
    fn on_page(self, ctx: &Ctx) -> UiResult<T>;
}

impl<T, E: Into<ApiError>> OnPage<T> for Result<T, E> {
    fn on_page(self, ctx: &Ctx) -> UiResult<T> {
        self.map_err(|e| UiError::new(ctx, e))
    }
}

/// Post/redirect/get: after a change, back to the page that shows it.
pub fn see_other(url: &str) -> Response {
    Redirect::to(url).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_formatted_in_utc() {
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_time(1_796_153_820_000), "2026-12-01 19:37 UTC");
        assert_eq!(format_time(951_782_400_000), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn dates_parse_back_to_midnight() {
        for millis in [0, 951_782_400_000, 1_796_083_200_000] {
            let text = format_time(millis);
            assert_eq!(parse_date(&text[..10]), Some(millis), "{text}");
        }
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("yesterday"), None);
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(format_size(512), "512 B");
        assert_eq!(format_size(1536), "1.5 KiB");
        assert_eq!(format_size(3 * 1024 * 1024), "3.0 MiB");
    }

    #[test]
    fn names_are_encoded_as_one_path_segment() {
        assert_eq!(encode("my model/x?y"), "my%20model%2Fx%3Fy");
    }
}
