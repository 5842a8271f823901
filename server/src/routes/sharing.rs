//! Sharing agreements (propose, accept, amend, decline, suspend, resume, terminate, read:
//! reads for every role of a party, changes for its admin) and the STIX objects shared
//! under them.

use crate::auth::Caller;
use crate::error::AppError;
use crate::extract::{ApiJson, OptionalJson, Pagination};
use crate::sharing::{agreements, objects, onward, reads, receipts};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use cirhub_shared::api::Paged;
use cirhub_shared::sharing::*;
use cirhub_shared::{Problem, Role};

type State = web::Data<AppState>;

/// Runs an admin's change as one unit of work.
async fn change<F>(
    state: &AppState,
    caller: Caller,
    created: bool,
    f: F,
) -> Result<HttpResponse, AppError>
where
    F: FnOnce(&mut crate::db::DbConn, &Caller) -> Result<Agreement, AppError> + Send + 'static,
{
    caller.require(Role::Admin)?;
    let out = state.exec.run(move |c| f(c, &caller)).await?;
    Ok(if created {
        HttpResponse::Created().json(out)
    } else {
        HttpResponse::Ok().json(out)
    })
}

#[utoipa::path(get, path = "/api/v1/agreements", operation_id = "list_agreements", tag = "agreements",
    params(crate::paging::Pagination),
    responses((status = 200, body = Paged<Agreement>)), security(("bearer" = [])))]
/// The sharing agreements the caller's organisation is a party to, newest first.
pub async fn list(
    state: State,
    caller: Caller,
    page: web::Query<Pagination>,
) -> Result<HttpResponse, AppError> {
    let page = page.into_inner().validate()?;
    Ok(HttpResponse::Ok().json(
        state
            .db
            .read(move |c| agreements::list(c, &caller, page))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/agreements", operation_id = "propose_agreement", tag = "agreements", request_body = AgreementTermsInput,
    responses((status = 201, body = Agreement), (status = 422, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
/// An admin proposes an agreement its organisation is a party to (accepted by it as proposed);
/// it comes into force when every other party's admin accepted it.
pub async fn propose(
    state: State,
    caller: Caller,
    body: ApiJson<AgreementTermsInput>,
) -> Result<HttpResponse, AppError> {
    change(&state, caller, true, move |c, who| {
        agreements::propose(c, who, &body.0)
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/agreements/{id}", operation_id = "get_agreement", tag = "agreements",
    responses((status = 200, body = Agreement), (status = 404, body = Problem)), security(("bearer" = [])))]
/// One agreement the caller's organisation is a party to.
pub async fn get(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(
        state
            .db
            .read(move |c| agreements::get(c, &caller, &id))
            .await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/agreements/{id}/terms", operation_id = "amend_agreement", tag = "agreements", request_body = AgreementTermsInput,
    responses((status = 200, body = Agreement), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
/// Amends the terms: a new version that every party accepts again; the version in force
/// stays in force meanwhile. Either party of a bilateral agreement; a community's coordinator.
pub async fn amend(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    body: ApiJson<AgreementTermsInput>,
) -> Result<HttpResponse, AppError> {
    change(&state, caller, false, move |c, who| {
        agreements::amend(c, who, &id, &body.0)
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/agreements/{id}/accept", operation_id = "accept_agreement", tag = "agreements", request_body = AcceptAgreement,
    responses((status = 200, body = Agreement), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
/// A party's admin accepts the pending version, named by its number.
pub async fn accept(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    body: ApiJson<AcceptAgreement>,
) -> Result<HttpResponse, AppError> {
    change(&state, caller, false, move |c, who| {
        agreements::accept(c, who, &id, &body.0)
    })
    .await
}

/// A step with the optional `{"reason": ...}` body.
async fn step(
    state: &AppState,
    caller: Caller,
    id: web::Path<String>,
    body: OptionalJson<AgreementAction>,
    f: fn(&mut crate::db::DbConn, &Caller, &str, &AgreementAction) -> Result<Agreement, AppError>,
) -> Result<HttpResponse, AppError> {
    let input = body.0.unwrap_or_default();
    change(state, caller, false, move |c, who| f(c, who, &id, &input)).await
}

#[utoipa::path(post, path = "/api/v1/agreements/{id}/decline", operation_id = "decline_agreement", tag = "agreements", request_body = Option<AgreementAction>,
    responses((status = 200, body = Agreement), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
/// A party's admin declines the pending version; a declined first proposal ends the agreement.
pub async fn decline(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    body: OptionalJson<AgreementAction>,
) -> Result<HttpResponse, AppError> {
    step(&state, caller, id, body, agreements::decline).await
}

#[utoipa::path(post, path = "/api/v1/agreements/{id}/suspend", operation_id = "suspend_agreement", tag = "agreements", request_body = Option<AgreementAction>,
    responses((status = 200, body = Agreement), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
/// Suspends the agreement: nothing is shared under it from the next request on, until the
/// suspending party resumes it.
pub async fn suspend(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    body: OptionalJson<AgreementAction>,
) -> Result<HttpResponse, AppError> {
    step(&state, caller, id, body, agreements::suspend).await
}

#[utoipa::path(post, path = "/api/v1/agreements/{id}/resume", operation_id = "resume_agreement", tag = "agreements", request_body = Option<AgreementAction>,
    responses((status = 200, body = Agreement), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
/// The party that suspended the agreement resumes it.
pub async fn resume(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    body: OptionalJson<AgreementAction>,
) -> Result<HttpResponse, AppError> {
    step(&state, caller, id, body, agreements::resume).await
}

#[utoipa::path(post, path = "/api/v1/agreements/{id}/terminate", operation_id = "terminate_agreement", tag = "agreements", request_body = Option<AgreementAction>,
    responses((status = 200, body = Agreement), (status = 404, body = Problem)),
    security(("bearer" = [])))]
/// Ends the agreement for good.
pub async fn terminate(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    body: OptionalJson<AgreementAction>,
) -> Result<HttpResponse, AppError> {
    step(&state, caller, id, body, agreements::terminate).await
}

// ---------------------------------------------------------------- STIX objects

#[utoipa::path(get, path = "/api/v1/stix-objects", tag = "indicators", operation_id = "list_stix_objects",
    params(crate::paging::Pagination, reads::ListFilter),
    responses((status = 200, body = Paged<StixObject>)), security(("bearer" = [])))]
/// The STIX objects the caller may see: its organisation's own, and those others share
/// under an agreement that lets them reach it (each listed one of another organisation is
/// a disclosure), newest change first.
pub async fn list_objects(
    state: State,
    caller: Caller,
    page: web::Query<Pagination>,
    filter: web::Query<reads::ListFilter>,
) -> Result<HttpResponse, AppError> {
    let page = page.into_inner().validate()?;
    let filter = filter.into_inner();
    Ok(HttpResponse::Ok().json(
        state
            .journal
            .read(move |c| reads::list(c, &caller, &filter, page))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/stix-objects", tag = "indicators", operation_id = "put_stix_object",
    request_body = PutStixObject,
    responses((status = 201, body = StixObject), (status = 200, body = StixObject), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
/// Adds a STIX object of the caller's organisation (201), or a new version of one (same id,
/// later `modified`; `revoked: true` withdraws it), and shares it under the agreements named.
/// The same version sent again is a 200 that changes nothing but the shares. Analyst or above.
pub async fn put_object(
    state: State,
    caller: Caller,
    body: ApiJson<PutStixObject>,
) -> Result<HttpResponse, AppError> {
    caller.require(Role::Analyst)?;
    let (out, created) = state
        .exec
        .run(move |c| objects::put(c, &caller, &body.0))
        .await?;
    Ok(if created {
        HttpResponse::Created().json(out)
    } else {
        HttpResponse::Ok().json(out)
    })
}

#[utoipa::path(get, path = "/api/v1/stix-objects/{key}", tag = "indicators", operation_id = "get_stix_object",
    responses((status = 200, body = StixObject), (status = 404, body = Problem)), security(("bearer" = [])))]
/// One object: the caller's own, or another's that an agreement in force lets reach it
/// (a disclosure naming the version, the agreement and the decision); otherwise 404.
pub async fn get_object(
    state: State,
    caller: Caller,
    key: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(
        state
            .journal
            .read(move |c| reads::get(c, &caller, &key))
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/stix-objects/{key}/versions", tag = "indicators", operation_id = "list_stix_object_versions",
    responses((status = 200, body = Vec<StixVersion>), (status = 404, body = Problem)), security(("bearer" = [])))]
/// The versions of an object the caller may see: number, `modified`, revoked, hash.
pub async fn object_versions(
    state: State,
    caller: Caller,
    key: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(
        state
            .db
            .read(move |c| reads::versions_of(c, &caller, &key))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/stix-objects/{key}/shares", tag = "indicators", operation_id = "share_stix_object",
    request_body = ShareObject,
    responses((status = 200, body = StixObject), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
/// Shares an object of the caller's organisation under one more agreement in force.
pub async fn share_object(
    state: State,
    caller: Caller,
    key: web::Path<String>,
    body: ApiJson<ShareObject>,
) -> Result<HttpResponse, AppError> {
    caller.require(Role::Analyst)?;
    let out = state
        .exec
        .run(move |c| objects::share(c, &caller, &key, &body.0))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(delete, path = "/api/v1/stix-objects/{key}/shares/{agreement_id}", tag = "indicators", operation_id = "unshare_stix_object",
    responses((status = 200, body = StixObject), (status = 404, body = Problem)), security(("bearer" = [])))]
/// Stops sharing an object under an agreement: from the next request on, no exit serves it
/// under that agreement.
pub async fn unshare_object(
    state: State,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    caller.require(Role::Analyst)?;
    let (key, agreement) = path.into_inner();
    let out = state
        .exec
        .run(move |c| objects::unshare(c, &caller, &key, &agreement))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(post, path = "/api/v1/stix-objects/{key}/onward", tag = "indicators", operation_id = "pass_on_stix_object",
    request_body = ShareObject,
    responses((status = 200, body = StixObject), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
/// Passes an object the caller's organisation received from its owner on under one of its
/// own agreements in force (owner -> caller -> the agreement's parties). Refused (422) when the
/// terms it arrived under do not let it go on under that agreement, or its TLP does not.
pub async fn pass_on_object(
    state: State,
    caller: Caller,
    key: web::Path<String>,
    body: ApiJson<ShareObject>,
) -> Result<HttpResponse, AppError> {
    caller.require(Role::Analyst)?;
    let key = key.into_inner();
    let (who, which) = (caller.clone(), key.clone());
    state
        .exec
        .run(move |c| onward::pass_on(c, &who, &which, &body.0))
        .await?;
    // The object as the caller may now read it, disclosed as any read is.
    let out = state
        .journal
        .read(move |c| reads::get(c, &caller, &key))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(delete, path = "/api/v1/stix-objects/{key}/onward/{agreement_id}", tag = "indicators", operation_id = "stop_passing_on_stix_object",
    responses((status = 204), (status = 404, body = Problem)), security(("bearer" = [])))]
/// Stops passing an object on under an agreement: from the next request on it reaches
/// nobody that way.
pub async fn stop_passing_on(
    state: State,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    caller.require(Role::Analyst)?;
    let (key, agreement) = path.into_inner();
    state
        .exec
        .run(move |c| onward::stop_passing_on(c, &caller, &key, &agreement))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/stix-objects/{key}/receipts", tag = "indicators", operation_id = "list_stix_object_receipts",
    params(crate::paging::Pagination),
    responses((status = 200, body = Paged<Receipt>), (status = 404, body = Problem)), security(("bearer" = [])))]
/// Who received an object of the caller's organisation: every disclosure of it (recipient
/// organisation, agreement, version, channel, time), newest first.
pub async fn object_receipts(
    state: State,
    caller: Caller,
    key: web::Path<String>,
    page: web::Query<Pagination>,
) -> Result<HttpResponse, AppError> {
    let page = page.into_inner().validate()?;
    Ok(HttpResponse::Ok().json(
        state
            .db
            .read(move |c| receipts::of_object(c, &caller, &key, page))
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/stix-objects/received", tag = "indicators", operation_id = "list_received_stix_objects",
    params(crate::paging::Pagination),
    responses((status = 200, body = Paged<Receipt>)), security(("bearer" = [])))]
/// What the caller's organisation received from others, and under which agreement, newest
/// first.
pub async fn received(
    state: State,
    caller: Caller,
    page: web::Query<Pagination>,
) -> Result<HttpResponse, AppError> {
    let page = page.into_inner().validate()?;
    Ok(HttpResponse::Ok().json(
        state
            .db
            .read(move |c| receipts::received(c, &caller, page))
            .await?,
    ))
}
