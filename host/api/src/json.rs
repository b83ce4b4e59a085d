//! JSON request bodies: parse errors name the field and never reach the core,
//! nor does a string holding U+0000 (which no backend stores alike).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::error::ApiError;

/// A JSON body whose errors are problem+json with the field named.
pub(crate) struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        parse_json(&headers, &bytes).map(ApiJson)
    }
}

/// The raw request body, with problem+json errors (e.g. 413 over the limit).
pub(crate) struct RawBody(pub(crate) Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state).await.map(RawBody).map_err(body_error)
    }
}

/// Maps a body read failure (e.g. over the size limit) to a problem.
pub(crate) fn body_error(err: BytesRejection) -> ApiError {
    let status = err.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(status, "the request body is larger than the server accepts (max_request_bytes)")
    } else {
        ApiError::new(status, format!("could not read the request body: {err}"))
    }
}

/// Parses a JSON body, checking the content type.
pub(crate) fn parse_json<T: DeserializeOwned>(headers: &HeaderMap, bytes: &[u8]) -> Result<T, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let is_json = content_type.split(';').next().is_some_and(|m| {
        let m = m.trim().to_ascii_lowercase();
        m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
    });
    if !is_json {
        return Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "expected a JSON body with Content-Type: application/json"));
    }
    // A first pass finds syntax errors and strings the database cannot take;
    // the second reads the typed body with its field paths.
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|err| syntax_error(&err))?;
    if let Some(path) = nul_path(&value, "") {
        return Err(ApiError::field(if path.is_empty() { "body".to_string() } else { path }, NUL_MESSAGE));
    }
    // Every body of this API is an object; serde would also read a struct
    // from an array of its fields in order, which the document does not allow.
    if !value.is_object() {
        return Err(ApiError::field("body", "must be a JSON object"));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let message = inner.to_string();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::new(StatusCode::BAD_REQUEST, format!("malformed JSON: {message}"));
        }
        let field = field_of(&path, &message);
        ApiError::with_field(StatusCode::UNPROCESSABLE_ENTITY, field, strip_position(&message))
    })
}

/// What a field holding U+0000 is told.
pub(crate) const NUL_MESSAGE: &str = "must not contain the character U+0000";

fn syntax_error(err: &serde_json::Error) -> ApiError {
    let message = err.to_string();
    if err.is_syntax() || err.is_eof() {
        ApiError::new(StatusCode::BAD_REQUEST, format!("malformed JSON: {message}"))
    } else {
        ApiError::new(StatusCode::BAD_REQUEST, format!("unreadable JSON: {}", strip_position(&message)))
    }
}

/// The path (`article.body`, `attachments[0].filename`) of the first string
/// holding U+0000; a key holding it is named by its object.
fn nul_path(value: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(s) => s.contains('\0').then(|| path.to_string()),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| nul_path(v, &format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                return Some(path.to_string());
            }
            nul_path(v, &if path.is_empty() { k.clone() } else { format!("{path}.{k}") })
        }),
        _ => None,
    }
}

/// The field a serde message is about: the path, plus the missing or unknown key.
fn field_of(path: &str, message: &str) -> String {
    let base = if path == "." { "" } else { path };
    for marker in ["missing field `", "unknown field `"] {
        if let Some(rest) = message.strip_prefix(marker) {
            if let Some(name) = rest.split('`').next() {
                if marker.starts_with("missing") || !base.ends_with(name) {
                    return if base.is_empty() { name.to_string() } else { format!("{base}.{name}") };
                }
            }
        }
    }
    if base.is_empty() {
        "body".to_string()
    } else {
        base.to_string()
    }
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Deserializes an optional field that, when given, must not be `null`: the
/// document declares it not nullable, so `null` is a 422 naming the field
/// (leave the field out instead). Use with `#[serde(default)]`.
pub(crate) fn present<'de, D, T>(de: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    match Option::<T>::deserialize(de)? {
        Some(value) => Ok(Some(value)),
        None => Err(serde::de::Error::custom("must not be null; leave the field out instead")),
    }
}

/// Deserializes a field that may be absent (`None`), null (`Some(None)`) or set.
pub(crate) fn double_option<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        title: String,
        article: Inner,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        body: String,
    }

    fn json_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        h
    }

    fn field(body: &str) -> (StatusCode, String) {
        let err = parse_json::<Outer>(&json_headers(), body.as_bytes()).expect_err("must fail");
        let field = err.errors_for_test().first().cloned().unwrap_or_default();
        (err.status(), field)
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(field(r#"{"title": 1, "article": {"body": "x"}}"#), (StatusCode::UNPROCESSABLE_ENTITY, "title".into()));
        assert_eq!(field(r#"{"title": "t", "article": {}}"#), (StatusCode::UNPROCESSABLE_ENTITY, "article.body".into()));
        assert_eq!(field(r#"{"title": "t"}"#), (StatusCode::UNPROCESSABLE_ENTITY, "article".into()));
        assert_eq!(
            field(r#"{"title": "t", "article": {"body": "x", "bdy": 1}}"#),
            (StatusCode::UNPROCESSABLE_ENTITY, "article.bdy".into())
        );
        assert_eq!(field(r#"{"title": "#).0, StatusCode::BAD_REQUEST);
        // A struct is never read from an array of its fields, nor from null.
        assert_eq!(field(r#"["t", {"body": "x"}]"#), (StatusCode::UNPROCESSABLE_ENTITY, "body".into()));
        assert_eq!(field("null"), (StatusCode::UNPROCESSABLE_ENTITY, "body".into()));
    }

    #[test]
    fn a_nul_anywhere_is_refused_by_its_path() {
        assert_eq!(field(r#"{"title": "a\u0000b", "article": {"body": "x"}}"#), (StatusCode::UNPROCESSABLE_ENTITY, "title".into()));
        assert_eq!(field(r#"{"title": "t", "article": {"body": "\u0000"}}"#), (StatusCode::UNPROCESSABLE_ENTITY, "article.body".into()));
        assert_eq!(
            field(r#"{"title": "t", "article": {"body": "x", "tags": ["a", "\u0000"]}}"#),
            (StatusCode::UNPROCESSABLE_ENTITY, "article.tags[1]".into())
        );
        assert_eq!(field(r#"{"ti\u0000tle": "t"}"#), (StatusCode::UNPROCESSABLE_ENTITY, "body".into()));
        // An escaped backslash followed by u0000 is plain text, and fine.
        assert!(parse_json::<Outer>(&json_headers(), br#"{"title": "\\u0000", "article": {"body": "x"}}"#).is_ok());
    }
}
