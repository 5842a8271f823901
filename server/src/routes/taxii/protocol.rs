//! The TAXII 2.1 protocol edge: its media type, its error message format, and the caller of
//! a request (HTTP Basic with a cirhub API token, or Bearer).

use crate::auth::caller::authenticate;
use crate::error::AppError;
use crate::identity::Caller;
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use base64::Engine;
use futures_util::future::LocalBoxFuture;
use serde_json::{json, Value};

/// The TAXII 2.1 media type.
pub const TAXII: &str = "application/taxii+json;version=2.1";

/// An error in the TAXII error message format (section 3.6.1).
#[derive(Debug)]
pub struct TaxiiError {
    status: StatusCode,
    title: String,
    description: String,
}

impl std::fmt::Display for TaxiiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.title, self.description)
    }
}

impl TaxiiError {
    pub fn new(status: StatusCode, title: &str, description: impl Into<String>) -> Self {
        TaxiiError {
            status,
            title: title.into(),
            description: description.into(),
        }
    }
    pub fn bad(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Bad request", description)
    }
}

impl From<AppError> for TaxiiError {
    fn from(e: AppError) -> Self {
        if let AppError::Internal(cause) = &e {
            tracing::error!(error = ?cause, "internal error");
        }
        let p = e.problem();
        let description = match &e {
            AppError::Validation(errors) => errors
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; "),
            _ => p.detail,
        };
        TaxiiError {
            status: e.status_code(),
            title: p.title,
            description,
        }
    }
}

impl ResponseError for TaxiiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }
    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        res.content_type(TAXII);
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"cirhub TAXII\""));
        }
        res.body(
            json!({
                "title": self.title,
                "description": self.description,
                "http_status": self.status.as_u16().to_string(),
            })
            .to_string(),
        )
    }
}

pub type Result<T> = std::result::Result<T, TaxiiError>;

/// The caller of a TAXII request: a Bearer token, or HTTP Basic with a cirhub API token.
pub struct TaxiiCaller(pub Caller);

impl FromRequest for TaxiiCaller {
    type Error = TaxiiError;
    type Future = LocalBoxFuture<'static, Result<Self>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let auth = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let accept = acceptable(req);
        Box::pin(async move {
            accept?;
            let state = state.ok_or_else(|| AppError::Internal(anyhow::anyhow!("no app state")))?;
            let unauthorized =
                |d: &str| TaxiiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", d);
            let auth = auth.ok_or_else(|| {
                unauthorized("Authenticate with HTTP Basic (a cirhub API token as the password) or a Bearer token.")
            })?;
            let token = if let Some(t) = auth.strip_prefix("Bearer ") {
                t.trim().to_owned()
            } else if let Some(b) = auth.strip_prefix("Basic ") {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(b.trim())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        unauthorized("The Basic credentials are not valid base64 of user:password.")
                    })?;
                let (user, password) = raw.split_once(':').unwrap_or((raw.as_str(), ""));
                if password.is_empty() { user } else { password }.to_owned()
            } else {
                return Err(unauthorized("Use HTTP Basic or Bearer authentication."));
            };
            if token.is_empty() || token.contains('\0') {
                return Err(unauthorized("The credential is empty or malformed."));
            }
            authenticate(&state, token)
                .await
                .map(TaxiiCaller)
                .map_err(|e| match e {
                    AppError::Unauthorized(d) => unauthorized(&d),
                    other => other.into(),
                })
        })
    }
}

/// 406 unless the client accepts TAXII 2.1 JSON (or anything).
fn acceptable(req: &HttpRequest) -> Result<()> {
    let Some(accept) = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(());
    };
    let ok = accept.split(',').any(|m| {
        let m = m.trim().to_ascii_lowercase().replace(' ', "");
        m.starts_with("*/*")
            || m.starts_with("application/*")
            || m == "application/taxii+json"
            || m.starts_with("application/taxii+json;version=2.1")
    });
    if ok {
        Ok(())
    } else {
        Err(TaxiiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "Not acceptable",
            format!("This server speaks {TAXII}."),
        ))
    }
}

pub fn taxii_json(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(TAXII)
        .body(body.to_string())
}
