//! Regulatory and contractual clocks on an incident: the regimes' templates, a party's
//! decisions (who decided what, when, why), its clocks with their deadlines, and filings.

use crate::auth::Caller;
use crate::error::AppError;
use crate::escalation::{clocks, deadlines};
use crate::extract::ApiJson;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use cirhub_shared::clocks::*;
use cirhub_shared::Problem;

type State = web::Data<AppState>;

#[utoipa::path(get, path = "/api/v1/clock-templates", tag = "clocks", operation_id = "list_clock_templates",
    responses((status = 200, body = Vec<Template>)), security(("bearer" = [])))]
/// The regimes' clocks as shipped: each deadline, how it is counted and what its report
/// must contain.
pub async fn templates(_caller: Caller) -> HttpResponse {
    HttpResponse::Ok().json(clocks::templates())
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/clocks", tag = "clocks", operation_id = "get_clocks",
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, body = Clocks), (status = 404, body = Problem)), security(("bearer" = [])))]
/// The caller's organisation's decisions and clocks on an incident, each deadline with its
/// due time, warnings (at half and 80 % of its time) and state.
pub async fn list(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let now = crate::db::rows::now_ms();
    let out = state
        .db
        .read(move |c| deadlines::list(c, &caller, &id, now))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/decisions", tag = "clocks", operation_id = "record_decision",
    params(("id" = String, Path, description = "Incident id")), request_body = DecisionInput,
    responses((status = 200, body = Clocks), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
/// Records a decision that starts clocks (analyst or above): its kind, when (default now,
/// never in the future) and why. One of each kind per organisation and incident.
pub async fn decide(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    body: ApiJson<DecisionInput>,
) -> Result<HttpResponse, AppError> {
    let now = crate::db::rows::now_ms();
    let out = state
        .exec
        .run(move |c| deadlines::decide(c, &caller, &id, &body.0, now))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/clocks", tag = "clocks", operation_id = "start_clock",
    params(("id" = String, Path, description = "Incident id")), request_body = ClockInput,
    responses((status = 200, body = Clocks), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
/// Starts a regime's clock for the caller's organisation (analyst or above), in a time zone
/// and with extra holidays; one per regime and incident.
pub async fn start(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    body: ApiJson<ClockInput>,
) -> Result<HttpResponse, AppError> {
    let now = crate::db::rows::now_ms();
    let out = state
        .exec
        .run(move |c| deadlines::start(c, &caller, &id, &body.0, now))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/clocks/{clock}/deadlines/{key}/filing", tag = "clocks", operation_id = "file_deadline",
    params(("id" = String, Path, description = "Incident id"), ("clock" = String, Path, description = "Clock id"),
           ("key" = String, Path, description = "Deadline key, e.g. early_warning")),
    request_body = FilingInput,
    responses((status = 200, body = Clocks), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
/// Records that a deadline's report was filed (analyst or above): when (default now), the
/// reference, and — filed after the due time — the reason it is late (required).
pub async fn file(
    state: State,
    caller: Caller,
    path: web::Path<(String, String, String)>,
    body: ApiJson<FilingInput>,
) -> Result<HttpResponse, AppError> {
    let now = crate::db::rows::now_ms();
    let (id, clock, key) = path.into_inner();
    let out = state
        .exec
        .run(move |c| deadlines::file(c, &caller, &id, &clock, &key, &body.0, now))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}
