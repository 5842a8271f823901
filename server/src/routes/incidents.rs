//! Incidents and maintenances. Reading needs any role (and is recorded as a disclosure for
//! non-public ones); opening and updating needs operator or above.

use super::catalogue::publish;
use crate::auth::Caller;
use crate::error::AppError;
use crate::extract::{ApiJson, Pagination};
use crate::incidents::{self as svc, ListFilter};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use cirhub_shared::api::*;

type State = web::Data<AppState>;

#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", operation_id = "list_incidents",
    params(crate::paging::Pagination,
           ("kind" = Option<cirhub_shared::IncidentKind>, Query), ("open" = Option<bool>, Query),
           ("visibility" = Option<cirhub_shared::Visibility>, Query)),
    responses((status = 200, body = Paged<Incident>)), security(("bearer" = [])))]
/// The provider's incidents and maintenances, newest first.
pub async fn list(
    state: State,
    caller: Caller,
    page: web::Query<Pagination>,
    filter: web::Query<ListFilter>,
) -> Result<HttpResponse, AppError> {
    let page = page.into_inner().validate()?;
    let filter = filter.into_inner();
    Ok(HttpResponse::Ok().json(
        state
            .journal
            .read(move |c| svc::list(c, &caller, &filter, page))
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents",
    responses((status = 200, body = Incident), (status = 404, body = cirhub_shared::Problem)), security(("bearer" = [])))]
/// One incident or maintenance: the stored snapshot of its current version, with that
/// snapshot's SHA-256 as the entity tag (the hash its disclosure names).
pub async fn get(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let shown = state
        .journal
        .read_point(move |c| svc::get(c, &caller, &id))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .insert_header((actix_web::http::header::ETAG, format!("\"{}\"", shown.hash)))
        .body(shown.body))
}

#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents", request_body = CreateIncident,
    responses((status = 201, body = Incident), (status = 422, body = cirhub_shared::Problem)), security(("bearer" = [])))]
/// Opens an incident; priority and due times follow from the provider's policy.
pub async fn create(
    state: State,
    caller: Caller,
    body: ApiJson<CreateIncident>,
) -> Result<HttpResponse, AppError> {
    publish(&state, caller, true, move |c, who| {
        svc::create(c, who, &body.0)
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/maintenances", tag = "incidents", request_body = CreateMaintenance,
    responses((status = 201, body = Incident), (status = 422, body = cirhub_shared::Problem)), security(("bearer" = [])))]
/// Schedules a maintenance.
pub async fn create_maintenance(
    state: State,
    caller: Caller,
    body: ApiJson<CreateMaintenance>,
) -> Result<HttpResponse, AppError> {
    publish(&state, caller, true, move |c, who| {
        svc::create_maintenance(c, who, &body.0)
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/updates", tag = "incidents", request_body = PostUpdate,
    responses((status = 201, body = Incident), (status = 404, body = cirhub_shared::Problem), (status = 422, body = cirhub_shared::Problem)), security(("bearer" = [])))]
/// Posts a timeline update, optionally changing component statuses.
pub async fn post_update(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    body: ApiJson<PostUpdate>,
) -> Result<HttpResponse, AppError> {
    publish(&state, caller, true, move |c, who| {
        svc::post_update(c, who, &id, &body.0)
    })
    .await
}

#[utoipa::path(patch, path = "/api/v1/incidents/{id}", tag = "incidents", request_body = PatchIncident,
    responses((status = 200, body = Incident), (status = 404, body = cirhub_shared::Problem)), security(("bearer" = [])))]
/// Changes classification, visibility or lifecycle timestamps.
pub async fn patch(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    body: ApiJson<PatchIncident>,
) -> Result<HttpResponse, AppError> {
    publish(&state, caller, false, move |c, who| {
        svc::patch(c, who, &id, &body.0)
    })
    .await
}
