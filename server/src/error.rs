//! The HTTP error type and its RFC 9457 rendering.
//!
//! Policy: models and services return `AppError`; diesel errors are mapped here, in one
//! place; causes of 5xx go to the log, never to the client. A client never learns whether
//! another tenant's object exists: such lookups answer the same 404 as a missing id.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use cirhub_shared::{FieldError, Problem};

/// Every error a request can end in.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("validation failed: {0:?}")]
    Validation(Vec<FieldError>),
    #[error("{detail}")]
    BadRequest { code: &'static str, detail: String },
    #[error("unauthenticated: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("conflict: {0}")]
    Conflict(String),
    /// A single-use thing already used (410).
    #[error("gone: {0}")]
    Gone(String),
    #[error("too many requests")]
    TooManyRequests {
        retry_after_secs: u64,
        detail: String,
    },
    #[error("payload too large")]
    PayloadTooLarge(usize),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// The reason an input was refused (a 422 or a 409), for answers that report each
    /// refused item and go on with the others; None for any other error.
    pub fn refusal(&self) -> Option<String> {
        match self {
            AppError::Validation(errors) => Some(
                errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            AppError::Conflict(message) => Some(message.clone()),
            _ => None,
        }
    }

    /// A 422 for one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    /// The problem document sent to the client.
    pub fn problem(&self) -> Problem {
        let status = self.status_code().as_u16();
        match self {
            AppError::NotFound(what) => Problem::new(
                status,
                "not_found",
                "Not found",
                format!("No {what} with that id exists for your organisation."),
            ),
            AppError::Validation(errors) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                let mut p = Problem::new(
                    status,
                    "validation_failed",
                    "Invalid request",
                    format!(
                        "Fix these fields and send the request again: {}.",
                        fields.join(", ")
                    ),
                );
                p.errors = errors.clone();
                p
            }
            AppError::BadRequest { code, detail } => {
                Problem::new(status, code, "Bad request", detail.clone())
            }
            AppError::Unauthorized(detail) => Problem::new(
                status,
                "unauthenticated",
                "Authentication required",
                detail.clone(),
            ),
            AppError::Forbidden(detail) => {
                Problem::new(status, "forbidden", "Not allowed", detail.clone())
            }
            AppError::Conflict(detail) => {
                Problem::new(status, "conflict", "Conflict", detail.clone())
            }
            AppError::Gone(detail) => Problem::new(status, "gone", "Already used", detail.clone()),
            AppError::TooManyRequests { detail, .. } => {
                Problem::new(status, "rate_limited", "Too many requests", detail.clone())
            }
            AppError::PayloadTooLarge(limit) => Problem::new(
                status,
                "payload_too_large",
                "Request body too large",
                format!("The request body may be at most {limit} bytes."),
            ),
            AppError::UnsupportedMediaType => Problem::new(
                status,
                "unsupported_media_type",
                "Unsupported media type",
                "Send the body as JSON with Content-Type: application/json.",
            ),
            AppError::Unavailable(detail) => {
                Problem::new(status, "unavailable", "Service unavailable", detail.clone())
            }
            AppError::Internal(_) => Problem::new(
                status,
                "internal",
                "Internal error",
                "Something failed on the server; it has been logged. Try again later.",
            ),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Gone(_) => StatusCode::GONE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(e) = self {
            tracing::error!(error = ?e, "internal error");
        }
        let mut res = HttpResponse::build(self.status_code());
        res.content_type("application/problem+json");
        match self {
            AppError::Unauthorized(_) => {
                res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            AppError::TooManyRequests {
                retry_after_secs, ..
            } => {
                res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            _ => {}
        }
        res.json(self.problem())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => AppError::NotFound("record"),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                tracing::info!(detail = info.message(), "unique violation");
                AppError::Conflict("An object with the same unique name already exists.".into())
            }
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        tracing::error!(error = %e, "database pool");
        AppError::Unavailable("The database is not reachable right now; try again shortly.".into())
    }
}

/// Collects field errors so a request is rejected once with every problem named.
#[derive(Default)]
pub struct Check(Vec<FieldError>);

impl Check {
    pub fn new() -> Self {
        Check(Vec::new())
    }
    /// Records a problem with `field` unless `ok`.
    pub fn ensure(&mut self, ok: bool, field: &str, message: &str) -> &mut Self {
        if !ok {
            self.0.push(FieldError {
                field: field.into(),
                message: message.into(),
            });
        }
        self
    }
    /// A required, trimmed text of at most `max` characters with something visible in it:
    /// a name of zero-width characters is as blank as one of spaces.
    pub fn text(&mut self, value: &str, field: &str, max: usize) -> &mut Self {
        self.ensure(
            !crate::text::is_blank(value),
            field,
            "must not be empty (spaces and invisible characters do not count)",
        );
        self.max_len(value.trim(), field, max)
    }

    /// An optional text of at most `max` characters. Every free text a client sends (names,
    /// titles, bodies, descriptions) passes here, directly or through [`Check::text`], so
    /// this is the one place its characters are checked.
    pub fn max_len(&mut self, value: &str, field: &str, max: usize) -> &mut Self {
        let ok = value.chars().count() <= max;
        self.ensure(ok, field, &format!("must be at most {max} characters"));
        self.chars(value, field)
    }

    /// Refuses characters XML 1.0 forbids (control characters other than tab, line feed
    /// and carriage return; U+FFFE; U+FFFF): stored, they would break the Atom and RSS
    /// feeds and the pages that show them.
    pub fn chars(&mut self, value: &str, field: &str) -> &mut Self {
        match crate::text::forbidden_char(value) {
            Some(c) => self.ensure(
                false,
                field,
                &format!(
                    "must not contain the character U+{:04X}; remove control and non-characters",
                    c as u32
                ),
            ),
            None => self,
        }
    }

    /// Fails with 422 if anything was recorded.
    pub fn done(&mut self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(std::mem::take(&mut self.0)))
        }
    }
}
