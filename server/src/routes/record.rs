//! A party's own record of an incident (5W intake, contacts, related incidents, next
//! steps) and its handler comments.

use crate::auth::Caller;
use crate::error::AppError;
use crate::extract::ApiJson;
use crate::incidents::record;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use cirhub_shared::record::*;
use cirhub_shared::Problem;

type State = web::Data<AppState>;

#[utoipa::path(get, path = "/api/v1/incidents/{id}/record", tag = "incidents", operation_id = "get_incident_record",
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, body = IncidentRecord), (status = 404, body = Problem)), security(("bearer" = [])))]
/// The caller's organisation's own record of an incident (version 0 before its first save).
pub async fn get(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let out = state.db.read(move |c| record::get(c, &caller, &id)).await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(put, path = "/api/v1/incidents/{id}/record", tag = "incidents", operation_id = "put_incident_record",
    params(("id" = String, Path, description = "Incident id")), request_body = RecordInput,
    responses((status = 200, body = IncidentRecord), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
/// Saves the caller's organisation's record whole as a new version (analyst or above);
/// `version` is the version the edit started from (absent for the first save), else 409.
/// Related incidents must be ones the caller can see.
pub async fn put(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    body: ApiJson<RecordInput>,
) -> Result<HttpResponse, AppError> {
    let out = state
        .exec
        .run(move |c| record::put(c, &caller, &id, &body.0))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/comments", tag = "incidents", operation_id = "list_comments",
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, body = Vec<Comment>), (status = 404, body = Problem)), security(("bearer" = [])))]
/// The caller's organisation's handler comments on an incident, oldest first (a customer's
/// dashboard notes are the same comments).
pub async fn comments(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let out = state
        .db
        .read(move |c| record::comments(c, &caller, &id))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// `POST /api/v1/incidents/{id}/comments`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentInput {
    pub body: String,
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/comments", tag = "incidents", operation_id = "add_comment",
    params(("id" = String, Path, description = "Incident id")), request_body = CommentInput,
    responses((status = 201, body = Comment), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
/// Adds a handler comment (analyst or above), seen only by the caller's organisation.
pub async fn comment(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    body: ApiJson<CommentInput>,
) -> Result<HttpResponse, AppError> {
    let out = state
        .exec
        .run(move |c| record::comment(c, &caller, &id, &body.0.body))
        .await?;
    Ok(HttpResponse::Created().json(out))
}
