//! Request extractors that turn bad input into problem details naming the field.

use crate::error::AppError;
use crate::state::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

/// A JSON body, size-limited, whose deserialisation errors name the offending field.
pub struct ApiJson<T>(pub T);

/// An optional JSON body: no body (zero bytes) or `null` is `None`, as the OpenAPI
/// document of an `Option<T>` body says; a body that is present must be JSON and parse,
/// with the same errors as [`ApiJson`]. (`Option<ApiJson<T>>` would turn every failure, a
/// malformed or oversized body included, into "no body".)
pub struct OptionalJson<T>(pub Option<T>);

/// What the headers say about a body, read before the body itself.
struct BodyHeaders {
    limit: usize,
    json: bool,
    declared: Option<usize>,
}

impl BodyHeaders {
    fn of(req: &HttpRequest) -> Self {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.config.max_body_bytes)
            .unwrap_or(256 * 1024);
        let json = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| ct.starts_with("application/json") || ct.contains("+json"))
            .unwrap_or(false);
        BodyHeaders {
            limit,
            json,
            declared: declared_length(req),
        }
    }

    /// Reads the whole body, refusing it as soon as it exceeds the limit.
    async fn read(&self, payload: Payload) -> Result<web::BytesMut, AppError> {
        read_body(payload, self.limit, self.declared).await
    }
}

/// The body length the request declares (`Content-Length`), if any.
pub fn declared_length(req: &HttpRequest) -> Option<usize> {
    req.headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
}

/// Reads a whole request body of at most `limit` bytes: refused at once when its declared
/// length is larger, and as soon as what arrives exceeds it.
pub async fn read_body(
    mut payload: Payload,
    limit: usize,
    declared: Option<usize>,
) -> Result<web::BytesMut, AppError> {
    if declared.is_some_and(|n| n > limit) {
        return Err(AppError::PayloadTooLarge(limit));
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| AppError::BadRequest {
            code: "bad_body",
            detail: format!("The request body could not be read: {e}"),
        })?;
        if body.len() + chunk.len() > limit {
            return Err(AppError::PayloadTooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reads and parses a JSON body; an empty body is `None`. A body is refused on its media
/// type before it is read, unless it may be absent (an empty body needs no media type).
fn json_body<T: DeserializeOwned + 'static>(
    req: &HttpRequest,
    payload: &mut Payload,
    optional: bool,
) -> LocalBoxFuture<'static, Result<Option<T>, AppError>> {
    let headers = BodyHeaders::of(req);
    let payload = payload.take();
    Box::pin(async move {
        if !headers.json && !optional {
            return Err(AppError::UnsupportedMediaType);
        }
        let body = headers.read(payload).await?;
        if body.is_empty() {
            return Ok(None);
        }
        if !headers.json {
            return Err(AppError::UnsupportedMediaType);
        }
        parse_json(&body).map(Some)
    })
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = json_body(req, payload, false);
        Box::pin(async move {
            body.await?
                .map(ApiJson)
                .ok_or_else(|| AppError::BadRequest {
                    code: "malformed_json",
                    detail: "The request needs a JSON body.".into(),
                })
        })
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJson<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = json_body::<Option<T>>(req, payload, true);
        Box::pin(async move { body.await.map(|v| OptionalJson(v.flatten())) })
    }
}

/// Deserialises `body`, mapping syntax errors (text after the document included) to 400 and
/// data errors to 422 with the path; a NUL anywhere in a string is a 422 naming its path.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return malformed(&inner);
        }
        let message = inner.to_string();
        // serde reports a missing field at its parent's path; name the field itself.
        let field = match message
            .strip_prefix("missing field `")
            .and_then(|m| m.split('`').next())
        {
            Some(name) if path == "." || path.is_empty() => name.to_string(),
            Some(name) => format!("{path}.{name}"),
            None if path == "." => "body".to_string(),
            None => path,
        };
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_string();
        AppError::field(field, message)
    })?;
    // Without this, `{...} trailing` or two documents in a row would pass as the first.
    de.end().map_err(|e| malformed(&e))?;
    reject_nul_in_json(body)?;
    Ok(value)
}

fn malformed(err: &serde_json::Error) -> AppError {
    AppError::BadRequest {
        code: "malformed_json",
        detail: format!("The body is not valid JSON: {err}"),
    }
}

/// PostgreSQL cannot store NUL in text, and no text of ours needs it: refuse it in any
/// string or key, whatever the field, before it reaches a query. In valid JSON a NUL can
/// only be written as the escape `\u0000`, so documents without it skip the walk.
fn reject_nul_in_json(body: &[u8]) -> Result<(), AppError> {
    if !body.windows(6).any(|w| w == b"\\u0000") {
        return Ok(());
    }
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| malformed(&e))?;
    match nul_path(&value, String::new()) {
        Some(path) => Err(AppError::field(
            if path.is_empty() { "body".into() } else { path },
            "must not contain the NUL character (U+0000)",
        )),
        None => Ok(()),
    }
}

/// The path of the first string or key holding a NUL, written as serde_path_to_error
/// writes paths (`components[0].component_id`).
fn nul_path(value: &serde_json::Value, path: String) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(s) if s.contains('\0') => Some(path),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_path(v, format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let key = k.replace('\0', "\\u0000");
            let here = if path.is_empty() {
                key
            } else {
                format!("{path}.{key}")
            };
            if k.contains('\0') {
                Some(here)
            } else {
                nul_path(v, here)
            }
        }),
        _ => None,
    }
}

pub use crate::paging::Pagination;

/// Maps query-string errors (`?page=abc`) to a 400 problem naming the parameter.
pub fn query_error(
    err: actix_web::error::QueryPayloadError,
    _req: &HttpRequest,
) -> actix_web::Error {
    AppError::BadRequest {
        code: "invalid_query",
        detail: format!("A query parameter is invalid: {err}. Check its type and allowed values."),
    }
    .into()
}

/// Maps path errors to a 404 problem (a malformed id cannot name an existing object).
pub fn path_error(_err: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    AppError::NotFound("object").into()
}

/// Refuses a URL that decodes to a NUL character before any handler sees it (PostgreSQL
/// cannot store or compare NUL in text): in the path a 404, as any malformed id; in the
/// query a 400 naming the parameter. Header values cannot hold a NUL (HTTP forbids it).
pub async fn reject_nul(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    match nul_in_url(req.uri().path(), req.query_string()) {
        Some(err) => Ok(req.error_response(err).map_into_right_body()),
        None => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body),
    }
}

/// The error for a NUL in `path` (raw, percent-encoded) or `query`, if there is one.
fn nul_in_url(path: &str, query: &str) -> Option<AppError> {
    // A request line cannot carry a raw NUL byte; `%00` is the only way to write one.
    if path.contains("%00") {
        return Some(AppError::NotFound("object"));
    }
    if !query.contains("%00") {
        return None;
    }
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        .map(|(k, _)| AppError::BadRequest {
            code: "invalid_query",
            detail: format!(
                "The query parameter '{}' contains a NUL character (%00); remove it.",
                k.replace('\0', "%00")
            ),
        })
}
