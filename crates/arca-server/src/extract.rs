//! Reading MLflow request messages. The `mlflow` client sends GET fields as query parameters
//! (repeated fields as repeated keys, int64 and bools as text) and everything else as a JSON body,
//! DELETE included. `Mlflow<T>` accepts both, and every way a request can be malformed (bad JSON,
//! wrong types, invalid UTF-8, a body over the limit) comes back as an MLflow-style 4xx.

use crate::error::ApiError;
use arca_core::ErrorCode;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{Method, StatusCode, header};
use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde_json::{Map, Value};

/// The largest JSON request body accepted. MLflow's largest messages (log-batch with 1000
/// metrics) are well under a megabyte.
pub const MAX_JSON_BODY: usize = 16 * 1024 * 1024;

pub trait RequestMessage: DeserializeOwned {
    /// The proto's repeated fields: in a query string each occurrence is one element.
    const REPEATED: &'static [&'static str] = &[];
}

pub struct Mlflow<T>(pub T);

impl<S: Send + Sync, T: RequestMessage> FromRequest<S> for Mlflow<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if req.method() == Method::GET {
            let value = query_to_json(req.uri().query().unwrap_or(""), T::REPEATED)?;
            return serde_json::from_value(snake_case_keys(value))
                .map(Mlflow)
                .map_err(|e| ApiError::invalid(format!("Invalid request parameters: {e}")));
        }
        let has_content_type = req.headers().contains_key(header::CONTENT_TYPE);
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    ErrorCode::InvalidParameterValue,
                    format!(
                        "Request body is larger than the {} MiB limit for API requests.",
                        MAX_JSON_BODY / (1024 * 1024)
                    ),
                )
            } else {
                ApiError::invalid(format!("Could not read the request body: {rejection}"))
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return serde_json::from_value(Value::Object(Map::new()))
                .map(Mlflow)
                .map_err(|e| ApiError::invalid(format!("Invalid request body: {e}")));
        }
        if !has_content_type {
            // As MLflow: a body whose type is not said is not read.
            return Err(ApiError::invalid(
                "Bad Request. Content-Type header is missing.",
            ));
        }
        let value: Value = serde_json::from_slice(&quote_non_finite(&bytes))
            .map_err(|e| ApiError::invalid(format!("Invalid JSON in request body: {e}")))?;
        serde_json::from_value(snake_case_keys(value))
            .map(Mlflow)
            .map_err(|e| ApiError::invalid(format!("Invalid JSON in request body: {e}")))
    }
}

/// The fields of an MLflow message as `Mlflow<T>` reads them (query string for GET, else the
/// JSON body, names in snake_case), for the permission check: it must see the same experiment,
/// run or model the handler will act on, so it uses the same reader.
pub(crate) fn message_fields(
    method: &Method,
    query: &str,
    has_content_type: bool,
    body: &[u8],
) -> Result<Value, ApiError> {
    if method == Method::GET || method == Method::HEAD {
        // Repeated so that every experiment of a search is checked, not only the first, and
        // every workspace a role listing asks for.
        return Ok(snake_case_keys(query_to_json(
            query,
            &["experiment_ids", "workspace"],
        )?));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    if !has_content_type {
        return Err(ApiError::invalid(
            "Bad Request. Content-Type header is missing.",
        ));
    }
    let value: Value = serde_json::from_slice(&quote_non_finite(body))
        .map_err(|e| ApiError::invalid(format!("Invalid JSON in request body: {e}")))?;
    match value {
        Value::Object(_) => Ok(snake_case_keys(value)),
        _ => Err(ApiError::invalid(
            "Invalid JSON in request body: it must be an object.",
        )),
    }
}

/// The fields of an HTML form body, as axum's `Form` reads them (the first of a repeated name).
pub(crate) fn form_fields(body: &[u8]) -> Result<Value, ApiError> {
    let text =
        std::str::from_utf8(body).map_err(|_| ApiError::invalid("The form is not valid UTF-8."))?;
    query_to_json(text, &[])
}

/// Protobuf's JSON reader, which MLflow uses, takes a field by its lowerCamelCase JSON name as
/// well as by its proto name (`runId` for `run_id`); the request structs know the proto names.
fn snake_case_keys(value: Value) -> Value {
    let Value::Object(map) = value else {
        return value;
    };
    let mut out = Map::with_capacity(map.len());
    for (key, v) in map {
        if key.bytes().any(|b| b.is_ascii_uppercase()) {
            let mut snake = String::with_capacity(key.len() + 4);
            for c in key.chars() {
                if c.is_ascii_uppercase() {
                    snake.push('_');
                    snake.push(c.to_ascii_lowercase());
                } else {
                    snake.push(c);
                }
            }
            out.entry(snake).or_insert(v);
        } else {
            out.insert(key, v);
        }
    }
    Value::Object(out)
}

/// Python's `json` writes NaN and infinities as bare `NaN`, `Infinity` and `-Infinity`, which
/// are not JSON; the `mlflow` client sends them that way for metric values. Outside string
/// literals they become the strings proto3 JSON uses for the same values.
fn quote_non_finite(body: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let mentions = |word: &[u8]| body.windows(word.len()).any(|w| w == word);
    if !mentions(b"NaN") && !mentions(b"Infinity") {
        return std::borrow::Cow::Borrowed(body);
    }
    let mut out = Vec::with_capacity(body.len() + 16);
    let (mut i, mut in_string, mut escaped) = (0, false, false);
    while i < body.len() {
        let b = body[i];
        if in_string {
            out.push(b);
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        let rest = &body[i..];
        if let Some(word) = [&b"-Infinity"[..], b"Infinity", b"NaN"]
            .into_iter()
            .find(|w| rest.starts_with(w))
        {
            out.push(b'"');
            out.extend_from_slice(word);
            out.push(b'"');
            i += word.len();
            continue;
        }
        if b == b'"' {
            in_string = true;
        }
        out.push(b);
        i += 1;
    }
    std::borrow::Cow::Owned(out)
}

/// `a=1&b=x&b=y` → `{"a": "1", "b": ["x", "y"]}` when `b` is repeated. A scalar field given
/// twice keeps its first value, as Flask's `request.args.get` does.
fn query_to_json(query: &str, repeated: &[&str]) -> Result<Value, ApiError> {
    let mut map = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode_component(key)?;
        let value = decode_component(value)?;
        if repeated.contains(&key.as_str()) {
            match map.entry(key).or_insert_with(|| Value::Array(Vec::new())) {
                Value::Array(items) => items.push(Value::String(value)),
                _ => unreachable!("repeated fields are always arrays"),
            }
        } else {
            map.entry(key).or_insert(Value::String(value));
        }
    }
    Ok(Value::Object(map))
}

fn decode_component(raw: &str) -> Result<String, ApiError> {
    let spaced = raw.replace('+', " ");
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(&spaced).collect();
    String::from_utf8(bytes).map_err(|_| {
        ApiError::invalid("Query parameters must be valid UTF-8 after percent-decoding.")
    })
}

/// An int64 proto field: a JSON number, or the same number as text (query strings, proto3 JSON).
pub fn opt_int64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Int {
        Num(i64),
        Text(String),
        Null(()),
    }
    match Option::<Int>::deserialize(d)? {
        None | Some(Int::Null(())) => Ok(None),
        Some(Int::Num(n)) => Ok(Some(n)),
        Some(Int::Text(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom(format!("expected an integer, got \"{s}\""))),
    }
}

/// A bool proto field: `true`/`false`, or the same as text in any case.
pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Text(String),
        Null(()),
    }
    match Option::<Flag>::deserialize(d)? {
        None | Some(Flag::Null(())) => Ok(None),
        Some(Flag::Bool(b)) => Ok(Some(b)),
        Some(Flag::Text(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Flag::Text(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(Flag::Text(s)) => Err(D::Error::custom(format!(
            "expected true or false, got \"{s}\""
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_become_messages() {
        let v = query_to_json(
            "name=ch%20urn&stages=A&stages=B+C&max_results=5",
            &["stages"],
        )
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"name": "ch urn", "stages": ["A", "B C"], "max_results": "5"})
        );
        assert!(query_to_json("name=%FF", &[]).is_err());
    }

    #[test]
    fn bare_non_finite_numbers_become_strings_outside_string_literals() {
        let body = br#"{"value": NaN, "b": -Infinity, "c": Infinity, "s": "NaN \" Infinity"}"#;
        let fixed = quote_non_finite(body);
        let v: Value = serde_json::from_slice(&fixed).unwrap();
        assert_eq!(v["value"], "NaN");
        assert_eq!(v["b"], "-Infinity");
        assert_eq!(v["c"], "Infinity");
        assert_eq!(v["s"], "NaN \" Infinity");
    }
}
