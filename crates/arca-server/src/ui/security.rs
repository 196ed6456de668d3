//! What every UI response carries and every UI state change must prove.
//!
//! - Responses: a Content-Security-Policy that allows only our own script and stylesheet (no
//!   inline script, no inline style, no framing), `nosniff`, and a same-origin referrer policy.
//! - The CSRF token: a random value in the `arca_csrf` cookie (`SameSite=Strict`, `HttpOnly`),
//!   copied by the page into each form's `_csrf` field (and a `<meta>` for the script). A POST
//!   must send both and they must match (double submit), and the browser's own `Sec-Fetch-Site`
//!   and `Origin` headers, when present, must say the request came from this site.

use axum::Form;
use axum::extract::{FromRequest, Request};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

pub(crate) const CSRF_COOKIE: &str = "arca_csrf";
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The request's CSRF token: the cookie's when it has a well-formed one, else a fresh one that
/// the response sets.
#[derive(Clone, Debug)]
pub(crate) struct CsrfToken {
    pub value: String,
    fresh: bool,
}

pub(crate) async fn guard(mut req: Request, next: Next) -> Response {
    let existing = cookie(req.headers(), CSRF_COOKIE).filter(|t| well_formed(t));
    let token = match existing {
        Some(value) => CsrfToken {
            value: value.to_owned(),
            fresh: false,
        },
        None => CsrfToken {
            value: uuid::Uuid::new_v4().simple().to_string(),
            fresh: true,
        },
    };
    if !is_safe(req.method()) {
        if let Err(why) = same_site(req.headers()) {
            return refuse(why);
        }
        // The form field is checked by the `CsrfForm` extractor of each handler (it needs the
        // body); a script sends the header instead, which is checked here.
        if let Some(sent) = req.headers().get(CSRF_HEADER) {
            if token.fresh || sent.as_bytes() != token.value.as_bytes() {
                return refuse("the page's security token is missing or out of date");
            }
        } else if token.fresh {
            return refuse("the page's security token is missing or out of date");
        }
    }
    let set_cookie = token.fresh.then(|| token.value.clone());
    req.extensions_mut().insert(token);
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let Some(value) = set_cookie {
        let cookie = format!("{CSRF_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict");
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            headers.append(header::SET_COOKIE, v);
        }
    }
    response
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn well_formed(token: &str) -> bool {
    token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A cross-site request is refused on the browser's word (`Sec-Fetch-Site`), or, from browsers
/// that do not send it, when `Origin` names another host than the one addressed.
pub(crate) fn same_site(headers: &HeaderMap) -> Result<(), &'static str> {
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.as_bytes() {
            b"same-origin" | b"none" => Ok(()),
            _ => Err("the request came from another site"),
        };
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
        if origin == "null" || origin_host != host {
            return Err("the request came from another site");
        }
    }
    Ok(())
}

fn refuse(why: &str) -> Response {
    let page = super::page::ErrorPage::plain(
        StatusCode::FORBIDDEN,
        "Request refused",
        format!(
            "This change was refused because {why}. Reload the page and try again; \
             changes can only be made from Arca's own pages."
        ),
    );
    page.into_response()
}

/// A form POSTed by one of our pages: its `_csrf` field has been checked against the cookie.
/// Field types of `T` must read from text (`String`, `Option<String>`), because the form is
/// read through `#[serde(flatten)]`.
pub(crate) struct CsrfForm<T>(pub T);

#[derive(serde::Deserialize)]
struct WithToken<T> {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    #[serde(flatten)]
    inner: T,
}

impl<T, S> FromRequest<S> for CsrfForm<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let token = req.extensions().get::<CsrfToken>().cloned();
        let Form(form) = Form::<WithToken<T>>::from_request(req, state)
            .await
            .map_err(|e| {
                super::page::ErrorPage::plain(
                    StatusCode::BAD_REQUEST,
                    "That did not work",
                    format!("The form could not be read: {}", e.body_text()),
                )
                .into_response()
            })?;
        match (token, form.csrf) {
            (Some(token), Some(sent)) if !token.fresh && sent == token.value => {
                Ok(CsrfForm(form.inner))
            }
            _ => Err(refuse(
                "the page's security token is missing or out of date",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn same_site_requests_pass_and_cross_site_ones_do_not() {
        assert!(same_site(&headers(&[("sec-fetch-site", "same-origin")])).is_ok());
        assert!(same_site(&headers(&[("sec-fetch-site", "cross-site")])).is_err());
        assert!(same_site(&headers(&[("sec-fetch-site", "same-site")])).is_err());
        assert!(
            same_site(&headers(&[
                ("origin", "http://127.0.0.1:5000"),
                ("host", "127.0.0.1:5000")
            ]))
            .is_ok()
        );
        assert!(
            same_site(&headers(&[
                ("origin", "http://evil.example"),
                ("host", "127.0.0.1:5000")
            ]))
            .is_err()
        );
        assert!(same_site(&headers(&[("origin", "null"), ("host", "a")])).is_err());
        assert!(same_site(&headers(&[])).is_ok());
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let h = headers(&[("cookie", "a=1; arca_csrf=abc; b=2")]);
        assert_eq!(cookie(&h, CSRF_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
