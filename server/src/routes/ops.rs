//! Health, readiness, metrics, and the test clock.

use crate::error::AppError;
use crate::extract::ApiJson;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use diesel::connection::SimpleConnection;
use serde::Deserialize;

/// Liveness: the process answers.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// Readiness: the database answers.
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    state
        .db
        .read(|c| c.batch_execute("SELECT 1").map_err(AppError::from))
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"status": "ready"})))
}

/// Prometheus text exposition; the job queue's and the escalations' gauges are read from
/// their tables now.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    if let Err(e) = state.jobs.observe().await {
        tracing::warn!(error = %e, "cannot read the job queue for /metrics");
    }
    match state.db.read(crate::escalation::view::counts).await {
        Ok(counts) => {
            for (s, n) in counts {
                state
                    .metrics
                    .escalations
                    .with_label_values(&[s.as_str()])
                    .set(n);
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot count escalations for /metrics"),
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}

/// Unknown API paths answer a problem document, not an empty 404.
pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound("endpoint"))
}

/// The longest single step of the test clock: ten years.
pub const MAX_ADVANCE_SECS: i64 = 10 * 365 * 24 * 3600;

/// Body of `POST /api/v1/ops/clock`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdvanceClock {
    advance_secs: serde_json::Value,
}

/// Moves the job runner's clock forward and wakes it; registered only with
/// `CIRHUB_TEST_CLOCK=1`.
pub async fn advance_clock(
    state: web::Data<AppState>,
    body: ApiJson<AdvanceClock>,
) -> Result<HttpResponse, AppError> {
    let secs = body
        .0
        .advance_secs
        .as_i64()
        .filter(|s| (0..=MAX_ADVANCE_SECS).contains(s))
        .ok_or_else(|| {
            AppError::field(
                "advance_secs",
                format!("a whole number of seconds from 0 to {MAX_ADVANCE_SECS}"),
            )
        })?;
    let offset_ms = state.jobs.advance(secs * 1000);
    let now = cirhub_shared::time::from_millis(state.jobs.clock().now_ms());
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "now": now,
        "offset_secs": offset_ms / 1000,
    })))
}
