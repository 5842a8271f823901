//! Request extractors that turn bad input into problem details naming the field.

use crate::error::AppError;
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// A JSON body, size-limited, whose deserialisation errors name the offending field.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
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
        let declared = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !json {
                return Err(AppError::UnsupportedMediaType);
            }
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
            parse_json(&body).map(ApiJson)
        })
    }
}

/// Deserialises `body`, mapping syntax errors to 400 and data errors to 422 with the path.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return AppError::BadRequest {
                code: "malformed_json",
                detail: format!("The body is not valid JSON: {inner}"),
            };
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
    })
}

/// `?page=&per_page=` on every list; the OpenAPI document states the bounds `validate` checks.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Pagination {
    /// Page number, from 1.
    #[serde(default = "one")]
    #[param(minimum = 1, default = 1)]
    pub page: u32,
    /// Items per page, 1 to 100.
    #[serde(default = "fifty")]
    #[param(minimum = 1, maximum = 100, default = 50)]
    pub per_page: u32,
}

fn one() -> u32 {
    1
}
fn fifty() -> u32 {
    50
}

impl Pagination {
    /// Largest page size accepted.
    pub const MAX: u32 = 100;

    /// Checks the bounds.
    pub fn validate(self) -> Result<Self, AppError> {
        if self.page == 0 {
            return Err(AppError::field("page", "must be 1 or more"));
        }
        if self.per_page == 0 || self.per_page > Self::MAX {
            return Err(AppError::field("per_page", "must be between 1 and 100"));
        }
        Ok(self)
    }

    pub fn offset(self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }

    pub fn limit(self) -> i64 {
        i64::from(self.per_page)
    }
}

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
