//! The organisation's escalation policy: read (every member), save a new version (admin),
//! read an earlier version, and simulate a case against the version in force or a draft.

use crate::auth::Caller;
use crate::error::AppError;
use crate::escalation::{policy, route};
use crate::extract::ApiJson;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use cirhub_shared::escalation::*;
use cirhub_shared::{Problem, Role};

type State = web::Data<AppState>;

#[utoipa::path(get, path = "/api/v1/escalation-policy", tag = "escalation", operation_id = "get_escalation_policy",
    responses((status = 200, body = EscalationPolicy)), security(("bearer" = [])))]
/// The caller's organisation's escalation policy in force (version 0, no rules, before the
/// first save), with its lint: gaps, unreachable rules and levels, targets that reach nobody.
pub async fn get(state: State, caller: Caller) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(state.db.read(move |c| policy::get(c, &caller)).await?))
}

#[utoipa::path(put, path = "/api/v1/escalation-policy", tag = "escalation", operation_id = "put_escalation_policy",
    request_body = PolicyInput,
    responses((status = 200, body = EscalationPolicy), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
/// Saves the policy as a new version (admin). `version` must be the version the edit
/// started from (absent for the first save), otherwise 409. Answers with the lint of the
/// saved version; findings do not prevent saving.
pub async fn put(
    state: State,
    caller: Caller,
    body: ApiJson<PolicyInput>,
) -> Result<HttpResponse, AppError> {
    caller.require(Role::Admin)?;
    let out = state
        .exec
        .run(move |c| policy::put(c, &caller, &body.0))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(get, path = "/api/v1/escalation-policy/versions/{version}", tag = "escalation", operation_id = "get_escalation_policy_version",
    params(("version" = i32, Path, description = "A saved version, from 1")),
    responses((status = 200, body = EscalationPolicy), (status = 404, body = Problem)), security(("bearer" = [])))]
/// One saved version of the caller's organisation's policy, with its lint as of today.
pub async fn version(
    state: State,
    caller: Caller,
    v: web::Path<i32>,
) -> Result<HttpResponse, AppError> {
    let v = v.into_inner();
    Ok(HttpResponse::Ok().json(
        state
            .db
            .read(move |c| policy::version(c, &caller, v))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/escalation-policy/lint", tag = "escalation", operation_id = "lint_escalation_policy",
    request_body = PolicyInput,
    responses((status = 200, body = Vec<Finding>), (status = 422, body = Problem)), security(("bearer" = [])))]
/// The lint of a draft, validated as a save would be, without saving it (the editor's
/// findings as one types).
pub async fn lint(
    state: State,
    caller: Caller,
    body: ApiJson<PolicyInput>,
) -> Result<HttpResponse, AppError> {
    let out = state
        .db
        .read(move |c| {
            let (draft, dir) = policy::draft(c, &caller, &body.0)?;
            Ok(crate::escalation::lint::lint(&draft, &dir))
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(post, path = "/api/v1/escalation-policy/simulate", tag = "escalation", operation_id = "simulate_escalation",
    request_body = SimulateRequest,
    responses((status = 200, body = Simulation), (status = 422, body = Problem)), security(("bearer" = [])))]
/// Who is told of a case, when and how, if nobody acknowledges: the rule that routes it
/// and the timeline of its ladder, under the policy in force or the draft sent along.
pub async fn simulate(
    state: State,
    caller: Caller,
    body: ApiJson<SimulateRequest>,
) -> Result<HttpResponse, AppError> {
    let req = body.0;
    if let Some(at) = req.at {
        use chrono::Datelike;
        if !(1970..=9999).contains(&at.year()) {
            return Err(AppError::field(
                "at",
                "must be a time between the years 1970 and 9999",
            ));
        }
    }
    let out = state
        .db
        .read(move |c| {
            let (version, stored) = match &req.policy {
                Some(draft) => (None, policy::draft(c, &caller, draft)?.0),
                None => {
                    let (v, p) = policy::in_force(c, &caller.org_id)?;
                    (Some(v), p)
                }
            };
            let dir = policy::Directory::load(c, &caller.org_id)?;
            let case = route::Case {
                priority: req.priority,
                category: req.category,
                services: req.service_id.into_iter().collect(),
                regions: req.region_id.into_iter().collect(),
                visibility: req.visibility,
                in_scope: req.in_scope,
            };
            let start = req.at.unwrap_or_else(chrono::Utc::now);
            Ok(route::simulate(&stored, version, &dir, &case, start))
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/escalation", tag = "escalation", operation_id = "get_escalation",
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, body = Escalation), (status = 404, body = Problem)), security(("bearer" = [])))]
/// The caller's organisation's escalation of an incident: the policy version it runs on,
/// the rule that routed it, its plan and the notices sent so far.
pub async fn escalation(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let out = state
        .db
        .read(move |c| crate::escalation::view::get(c, &caller, &id))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/escalation/acknowledge", tag = "escalation", operation_id = "acknowledge_escalation",
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, body = Escalation), (status = 404, body = Problem)), security(("bearer" = [])))]
/// Acknowledges the incident for the caller's organisation (analyst or above): its
/// escalation stops; other parties' go on. A customer's is the acknowledgement its provider
/// sees (as `POST /dashboard/incidents/{id}/ack`).
pub async fn acknowledge(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    caller.require(Role::Analyst)?;
    let out = state
        .exec
        .run(move |c| crate::escalation::ack::acknowledge_own(c, &caller, &id, "api"))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/escalation/unacknowledge", tag = "escalation", operation_id = "unacknowledge_escalation",
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, body = Escalation), (status = 404, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
/// Un-acknowledges the caller's organisation's escalation (analyst or above): it climbs
/// again from its first level, now. 409 unless it is acknowledged.
pub async fn unacknowledge(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let now = state.jobs.clock().now_ms();
    let out = state
        .exec
        .run(move |c| crate::escalation::ack::unacknowledge(c, &caller, &id, now))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/escalation/reassign", tag = "escalation", operation_id = "reassign_escalation",
    params(("id" = String, Path, description = "Incident id")), request_body = ReassignInput,
    responses((status = 200, body = Escalation), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
/// Hands the caller's organisation's escalation to one of its people (analyst or above): a
/// new round starts now whose first level is that person alone; unacknowledged, the ladder
/// climbs on from its second level. 409 once the incident is resolved.
pub async fn reassign(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    body: ApiJson<ReassignInput>,
) -> Result<HttpResponse, AppError> {
    let now = state.jobs.clock().now_ms();
    let out = state
        .exec
        .run(move |c| crate::escalation::ack::reassign(c, &caller, &id, &body.0, now))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/escalation/seen", tag = "escalation", operation_id = "see_escalation",
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, body = Escalation), (status = 404, body = Problem)), security(("bearer" = [])))]
/// The caller has opened its organisation's escalation of the incident: its notices to the
/// caller become `seen` (the console calls this when it shows them). Answers the escalation.
pub async fn seen(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let now = crate::db::rows::now_ms();
    let out = state
        .exec
        .run(move |c| crate::escalation::ack::seen(c, &caller, &id, now))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

fn page(status: actix_web::http::StatusCode, title: &str, body: &str) -> HttpResponse {
    use crate::publishing::feeds::xml_escape;
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\
             <body><h1>{}</h1>{body}</body></html>",
            xml_escape(title),
            xml_escape(title)
        ))
}

/// An error as a page for the person who followed the link.
fn error_page(e: &AppError) -> HttpResponse {
    use actix_web::ResponseError;
    let p = e.problem();
    page(
        e.status_code(),
        &p.title,
        &format!("<p>{}</p>", crate::publishing::feeds::xml_escape(&p.detail)),
    )
}

/// `GET /ack/{token}`: what the escalation mail's link would acknowledge, with one button.
/// Changes nothing (mail scanners follow GET links). 404 for a tampered token.
pub async fn ack_page(state: State, token: web::Path<String>) -> HttpResponse {
    use crate::publishing::feeds::xml_escape;
    let t = token.clone();
    let link = match state
        .db
        .read(move |c| crate::escalation::ack::link(c, &t))
        .await
    {
        Ok(l) => l,
        Err(e) => return error_page(&e),
    };
    let about = format!(
        "<p>[{}] {}</p>",
        xml_escape(&link.priority),
        xml_escape(&link.incident_title)
    );
    if link.used_at.is_some() {
        return error_page(&AppError::Gone(
            "This acknowledge link was already used; open the incident in the console to see its escalation.".into(),
        ));
    }
    let body = if link.state == EscalationState::Active {
        format!(
            "{about}<p>Acknowledge this incident for your organisation as {}? Its escalation stops.</p>\
             <form method=\"post\" action=\"/ack/{}\"><button type=\"submit\">Acknowledge</button></form>",
            xml_escape(link.person.actor.display_name()),
            xml_escape(&token)
        )
    } else {
        format!(
            "{about}<p>This escalation is no longer climbing ({}).</p>",
            link.state
        )
    };
    page(
        actix_web::http::StatusCode::OK,
        "Acknowledge incident",
        &body,
    )
}

/// `POST /ack/{token}`: acknowledges once, as the person the mail was for; a second use
/// is 410 Gone, a tampered token 404.
pub async fn ack(state: State, token: web::Path<String>) -> HttpResponse {
    use crate::publishing::feeds::xml_escape;
    let now = crate::db::rows::now_ms();
    let t = token.into_inner();
    match state
        .exec
        .run(move |c| crate::escalation::ack::acknowledge_by_link(c, &t, now))
        .await
    {
        Ok((link, esc)) => {
            let by_link = esc.ended_by.as_deref() == link.person.user_id()
                && esc.state == EscalationState::Acknowledged;
            let said = if by_link {
                "Acknowledged: your organisation's escalation of this incident has stopped."
                    .to_string()
            } else {
                format!("This escalation had already ended ({}).", esc.state)
            };
            page(
                actix_web::http::StatusCode::OK,
                "Acknowledged",
                &format!(
                    "<p>[{}] {}</p><p id=\"outcome\">{}</p>",
                    xml_escape(&link.priority),
                    xml_escape(&link.incident_title),
                    xml_escape(&said)
                ),
            )
        }
        Err(e) => error_page(&e),
    }
}
