//! The customer side: relationships, the customer dashboard, resource mappings, layouts,
//! subscriptions, feed tokens, the provider's receipts, and one-click unsubscribe.

use crate::auth::Caller;
use crate::customers::dashboard::DashboardFilter;
use crate::customers::feed_tokens;
use crate::customers::relationships;
use crate::customers::subscriptions;
use crate::customers::{acknowledgements, dashboard, mappings};
use crate::error::AppError;
use crate::extract::{ApiJson, OptionalJson, Pagination};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use cirhub_shared::api::Paged;
use cirhub_shared::customer::*;
use cirhub_shared::{Problem, Role};

type State = web::Data<AppState>;

/// Runs a change for a caller of at least `role` as one unit of work; its effects (cached
/// documents that depend on the organisation, the stream, the mailer) follow the commit.
async fn change<T, F>(
    state: &AppState,
    caller: Caller,
    role: Role,
    created: bool,
    f: F,
) -> Result<HttpResponse, AppError>
where
    T: serde::Serialize + Send + 'static,
    F: FnOnce(&mut crate::db::DbConn, &Caller) -> Result<T, AppError> + Send + 'static,
{
    caller.require(role)?;
    let out = state.exec.run(move |c| f(c, &caller)).await?;
    Ok(if created {
        HttpResponse::Created().json(out)
    } else {
        HttpResponse::Ok().json(out)
    })
}

/// A read whose disclosures are committed before the response leaves.
async fn disclosing<T, F>(state: &AppState, caller: Caller, f: F) -> Result<HttpResponse, AppError>
where
    T: serde::Serialize + Send + 'static,
    F: FnOnce(&mut crate::db::DbConn, &Caller) -> Result<T, AppError> + Send + 'static,
{
    Ok(HttpResponse::Ok().json(state.journal.read(move |c| f(c, &caller)).await?))
}

// ---------------------------------------------------------------- relationships

#[utoipa::path(get, path = "/api/v1/relationships", tag = "relationships",
    params(crate::paging::Pagination),
    responses((status = 200, body = Paged<Relationship>)), security(("bearer" = [])))]
/// Relationships the caller's organisation is a party to (as provider or customer).
pub async fn list_relationships(
    state: State,
    caller: Caller,
    page: web::Query<Pagination>,
) -> Result<HttpResponse, AppError> {
    let page = page.into_inner().validate()?;
    Ok(HttpResponse::Ok().json(
        state
            .db
            .read(move |c| relationships::list(c, &caller, page))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/relationships", tag = "relationships", request_body = InviteCustomer,
    responses((status = 201, body = Relationship), (status = 422, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
/// A provider's admin invites a customer organisation (by slug).
pub async fn invite(
    state: State,
    caller: Caller,
    body: ApiJson<InviteCustomer>,
) -> Result<HttpResponse, AppError> {
    change(&state, caller, Role::Admin, true, move |c, who| {
        relationships::invite(c, who, &body.0)
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/relationships/{id}", tag = "relationships",
    responses((status = 200, body = Relationship), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get_relationship(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(
        state
            .db
            .read(move |c| relationships::get(c, &caller, &id))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/relationships/{id}/accept", tag = "relationships",
    responses((status = 200, body = Relationship), (status = 404, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
/// The invited customer's admin accepts.
pub async fn accept(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    change(&state, caller, Role::Admin, false, move |c, who| {
        relationships::accept(c, who, &id)
    })
    .await
}

#[utoipa::path(put, path = "/api/v1/relationships/{id}/scopes", tag = "relationships", request_body = SetScopes,
    responses((status = 200, body = Relationship), (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
/// The provider's admin sets the contracted services x regions (and the service model).
pub async fn set_scopes(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    body: ApiJson<SetScopes>,
) -> Result<HttpResponse, AppError> {
    change(&state, caller, Role::Admin, false, move |c, who| {
        relationships::set_scopes(c, who, &id, &body.0)
    })
    .await
}

#[utoipa::path(delete, path = "/api/v1/relationships/{id}", tag = "relationships",
    responses((status = 200, body = Relationship), (status = 404, body = Problem)), security(("bearer" = [])))]
/// Either party's admin ends the relationship (or declines the invitation).
pub async fn end(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    change(&state, caller, Role::Admin, false, move |c, who| {
        relationships::end(c, who, &id)
    })
    .await
}

// ---------------------------------------------------------------- dashboard

#[utoipa::path(get, path = "/api/v1/dashboard/incidents", tag = "dashboard",
    params(crate::paging::Pagination, ("open" = Option<bool>, Query),
           ("kind" = Option<cirhub_shared::IncidentKind>, Query), ("provider_id" = Option<String>, Query),
           ("min_priority" = Option<cirhub_shared::Priority>, Query)),
    responses((status = 200, body = Paged<CustomerIncident>)), security(("bearer" = [])))]
/// Incidents and maintenances of all the customer's providers that touch what it contracted.
pub async fn dashboard_list(
    state: State,
    caller: Caller,
    page: web::Query<Pagination>,
    filter: web::Query<DashboardFilter>,
) -> Result<HttpResponse, AppError> {
    let page = page.into_inner().validate()?;
    let filter = filter.into_inner();
    disclosing(&state, caller, move |c, who| {
        dashboard::list(c, who, &filter, page)
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/dashboard/incidents/{id}", tag = "dashboard",
    responses((status = 200, body = CustomerIncident), (status = 404, body = Problem)), security(("bearer" = [])))]
/// One incident with the provider's timeline, the customer's notes and acknowledgement.
pub async fn dashboard_get(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    disclosing(&state, caller, move |c, who| dashboard::get(c, who, &id)).await
}

#[utoipa::path(post, path = "/api/v1/dashboard/incidents/{id}/ack", tag = "dashboard", request_body = Option<AckRequest>,
    responses((status = 200, body = CustomerIncident), (status = 404, body = Problem)), security(("bearer" = [])))]
/// Acknowledges the incident for the organisation (first acknowledgement counts). The body
/// is optional (no body: the current version); a body that is sent must be valid.
pub async fn acknowledge(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    body: OptionalJson<AckRequest>,
) -> Result<HttpResponse, AppError> {
    let input = body.0.unwrap_or_default();
    change(&state, caller, Role::Analyst, false, move |c, who| {
        acknowledgements::acknowledge(c, who, &id, &input)
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/dashboard/incidents/{id}/notes", tag = "dashboard", request_body = CreateNote,
    responses((status = 201, body = Note), (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
/// Adds a private note, visible to the customer's organisation only.
pub async fn add_note(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    body: ApiJson<CreateNote>,
) -> Result<HttpResponse, AppError> {
    change(&state, caller, Role::Analyst, true, move |c, who| {
        acknowledgements::add_note(c, who, &id, &body.0)
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/dashboard/components", tag = "dashboard",
    responses((status = 200, body = Vec<ComponentRef>)), security(("bearer" = [])))]
/// The components of the customer's providers that its relationships cover.
pub async fn dashboard_components(state: State, caller: Caller) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(
        state
            .db
            .read(move |c| dashboard::components(c, &caller))
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/receipts", tag = "incidents",
    responses((status = 200, body = Vec<Receipt>), (status = 404, body = Problem)), security(("bearer" = [])))]
/// For the provider: per customer, whether the incident reached it and who acknowledged.
pub async fn receipts(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(
        state
            .db
            .read(move |c| acknowledgements::receipts(c, &caller, &id))
            .await?,
    ))
}

// ---------------------------------------------------------------- mappings and layout

#[utoipa::path(get, path = "/api/v1/resource-mappings", tag = "dashboard",
    params(crate::paging::Pagination),
    responses((status = 200, body = Paged<ResourceMapping>)), security(("bearer" = [])))]
pub async fn list_mappings(
    state: State,
    caller: Caller,
    page: web::Query<Pagination>,
) -> Result<HttpResponse, AppError> {
    let page = page.into_inner().validate()?;
    Ok(HttpResponse::Ok().json(
        state
            .db
            .read(move |c| mappings::list_mappings(c, &caller, page))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/resource-mappings", tag = "dashboard", request_body = CreateMapping,
    responses((status = 201, body = ResourceMapping), (status = 422, body = Problem)), security(("bearer" = [])))]
/// Maps one of the customer's resource names onto a provider component.
pub async fn create_mapping(
    state: State,
    caller: Caller,
    body: ApiJson<CreateMapping>,
) -> Result<HttpResponse, AppError> {
    change(&state, caller, Role::Analyst, true, move |c, who| {
        mappings::create_mapping(c, who, &body.0)
    })
    .await
}

#[utoipa::path(delete, path = "/api/v1/resource-mappings/{id}", tag = "dashboard",
    responses((status = 204), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn delete_mapping(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    caller.require(Role::Analyst)?;
    state
        .exec
        .run(move |c| mappings::delete_mapping(c, &caller, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/me/layout", tag = "dashboard",
    responses((status = 200, body = Layout)), security(("bearer" = [])))]
/// The caller's dashboard layout.
pub async fn get_layout(state: State, caller: Caller) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(
        state
            .db
            .read(move |c| dashboard::get_layout(c, &caller))
            .await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/me/layout", tag = "dashboard", request_body = Layout,
    responses((status = 200, body = Layout), (status = 422, body = Problem)), security(("bearer" = [])))]
/// Saves the caller's dashboard layout.
pub async fn put_layout(
    state: State,
    caller: Caller,
    body: ApiJson<Layout>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(
        state
            .exec
            .run(move |c| dashboard::put_layout(c, &caller, &body.0))
            .await?,
    ))
}

// ---------------------------------------------------------------- subscriptions

#[utoipa::path(get, path = "/api/v1/subscriptions", tag = "subscriptions",
    params(crate::paging::Pagination),
    responses((status = 200, body = Paged<Subscription>)), security(("bearer" = [])))]
/// The caller's subscriptions and their role's (admins: all of the organisation).
pub async fn list_subscriptions(
    state: State,
    caller: Caller,
    page: web::Query<Pagination>,
) -> Result<HttpResponse, AppError> {
    let page = page.into_inner().validate()?;
    Ok(HttpResponse::Ok().json(
        state
            .db
            .read(move |c| subscriptions::list(c, &caller, page))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/subscriptions", tag = "subscriptions", request_body = SubscriptionInput,
    responses((status = 201, body = Subscription), (status = 422, body = Problem)), security(("bearer" = [])))]
/// Subscribes the caller (or, for an admin naming a role, every user with that role).
pub async fn create_subscription(
    state: State,
    caller: Caller,
    body: ApiJson<SubscriptionInput>,
) -> Result<HttpResponse, AppError> {
    change(&state, caller, Role::Viewer, true, move |c, who| {
        subscriptions::create(c, who, &body.0)
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/subscriptions/{id}", tag = "subscriptions",
    responses((status = 200, body = Subscription), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get_subscription(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(
        state
            .db
            .read(move |c| subscriptions::get(c, &caller, &id))
            .await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/subscriptions/{id}", tag = "subscriptions", request_body = SubscriptionInput,
    responses((status = 200, body = Subscription), (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn replace_subscription(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    body: ApiJson<SubscriptionInput>,
) -> Result<HttpResponse, AppError> {
    change(&state, caller, Role::Viewer, false, move |c, who| {
        subscriptions::replace(c, who, &id, &body.0)
    })
    .await
}

#[utoipa::path(delete, path = "/api/v1/subscriptions/{id}", tag = "subscriptions",
    responses((status = 204), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn delete_subscription(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    state
        .exec
        .run(move |c| subscriptions::delete(c, &caller, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /unsubscribe/{token}`: a page with one button (mail scanners follow GET links, so
/// GET changes nothing); `POST` does it (also RFC 8058 one-click from the mail client).
pub async fn unsubscribe_page(
    state: State,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let t = token.clone();
    state
        .db
        .read(move |c| crate::delivery::notify::check_unsubscribe_token(c, &t))
        .await?;
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Unsubscribe</title></head>\
         <body><h1>Unsubscribe</h1><p>Stop these cirhub alerts?</p>\
         <form method=\"post\" action=\"/unsubscribe/{}\"><button type=\"submit\">Unsubscribe</button></form></body></html>",
        crate::publishing::feeds::xml_escape(&token)
    );
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html))
}

/// `POST /unsubscribe/{token}`.
pub async fn unsubscribe(state: State, token: web::Path<String>) -> Result<HttpResponse, AppError> {
    let message = state
        .exec
        .run(move |c| {
            let (sub, user) = crate::delivery::notify::check_unsubscribe_token(c, &token)?;
            subscriptions::unsubscribe(c, &sub, &user)
        })
        .await?;
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Unsubscribed</title></head>\
         <body><h1>Unsubscribed</h1><p>{}</p></body></html>",
        crate::publishing::feeds::xml_escape(&message)
    );
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html))
}

// ---------------------------------------------------------------- feed tokens

#[utoipa::path(get, path = "/api/v1/feed-tokens", tag = "feeds",
    params(crate::paging::Pagination),
    responses((status = 200, body = Paged<FeedToken>)), security(("bearer" = [])))]
pub async fn list_feed_tokens(
    state: State,
    caller: Caller,
    page: web::Query<Pagination>,
) -> Result<HttpResponse, AppError> {
    let page = page.into_inner().validate()?;
    Ok(HttpResponse::Ok().json(
        state
            .db
            .read(move |c| feed_tokens::list(c, &caller, page))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/feed-tokens", tag = "feeds", request_body = CreateFeedToken,
    responses((status = 201, body = CreatedFeedToken), (status = 422, body = Problem)), security(("bearer" = [])))]
/// Mints a personal feed token: Statuspage v2 documents and Atom, filtered to the customer.
pub async fn create_feed_token(
    state: State,
    caller: Caller,
    body: ApiJson<CreateFeedToken>,
) -> Result<HttpResponse, AppError> {
    let base = state.config.public_url.clone();
    change(&state, caller, Role::Analyst, true, move |c, who| {
        feed_tokens::create(c, who, &body.0, &base)
    })
    .await
}

#[utoipa::path(delete, path = "/api/v1/feed-tokens/{id}", tag = "feeds",
    responses((status = 204), (status = 404, body = Problem)), security(("bearer" = [])))]
/// Revokes a feed token; its URLs answer 401 from now on.
pub async fn revoke_feed_token(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    // The token check is never cached; its documents go with the commit, to free the memory.
    state
        .exec
        .run(move |c| feed_tokens::revoke(c, &caller, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
