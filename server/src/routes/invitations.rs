//! Adding a person: invitations (admin API) and the page their link opens (public, the token
//! is the credential). A `GET` of the link only shows the form, since mail scanners follow
//! links; the form's `POST` accepts.

use crate::auth::{password, Caller};
use crate::error::AppError;
use crate::extract::{ApiJson, Pagination};
use crate::identity::invitations as svc;
use crate::publishing::feeds::xml_escape;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use cirhub_shared::api::*;
use cirhub_shared::Role;

type State = web::Data<AppState>;

/// The largest acceptance form read (a name and a password fit many times over).
const FORM_LIMIT: usize = 16 * 1024;

#[utoipa::path(post, path = "/api/v1/invitations", tag = "users", operation_id = "create_invitation", request_body = CreateInvitation,
    responses((status = 201, body = Invitation), (status = 422, body = cirhub_shared::Problem)), security(("bearer" = [])))]
/// Invites an address to join the caller's organisation with a role (admin). The address is
/// mailed a single-use link that expires; the answer is the same whether or not the address
/// already has an account anywhere.
pub async fn create(
    state: State,
    caller: Caller,
    body: ApiJson<CreateInvitation>,
) -> Result<HttpResponse, AppError> {
    caller.require(Role::Admin)?;
    let out = state
        .exec
        .run(move |c| svc::create(c, &caller, &body.0))
        .await?;
    Ok(HttpResponse::Created().json(out))
}

#[utoipa::path(get, path = "/api/v1/invitations", tag = "users", operation_id = "list_invitations", params(crate::paging::Pagination),
    responses((status = 200, body = Paged<Invitation>)), security(("bearer" = [])))]
/// The organisation's invitations that can still be accepted (admin).
pub async fn list(
    state: State,
    caller: Caller,
    page: web::Query<Pagination>,
) -> Result<HttpResponse, AppError> {
    caller.require(Role::Admin)?;
    let page = page.into_inner().validate()?;
    Ok(HttpResponse::Ok().json(state.db.read(move |c| svc::list(c, &caller, page)).await?))
}

#[utoipa::path(delete, path = "/api/v1/invitations/{id}", tag = "users", operation_id = "revoke_invitation",
    responses((status = 204), (status = 404, body = cirhub_shared::Problem)), security(("bearer" = [])))]
/// Withdraws a pending invitation (admin); its link stops working.
pub async fn revoke(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    caller.require(Role::Admin)?;
    state
        .exec
        .run(move |c| svc::revoke(c, &caller, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

fn page(title: &str, body: &str, status: actix_web::http::StatusCode) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        // The token is in the URL: keep it out of caches and other sites' logs.
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title></head>\
             <body><h1>{t}</h1>{body}</body></html>",
            t = xml_escape(title)
        ))
}

/// `GET /invitations/{token}`: the acceptance form. Changes nothing.
pub async fn form(state: State, token: web::Path<String>) -> Result<HttpResponse, AppError> {
    let t = token.clone();
    let (inv, org) = state.db.read(move |c| svc::find_pending(c, &t)).await?;
    let body = format!(
        "<p>You are invited to join <strong>{org}</strong> as {role} ({email}).</p>\
         <form method=\"post\" action=\"/invitations/{token}\">\
         <p><label>Your name <input name=\"name\" required maxlength=\"200\"></label></p>\
         <p><label>Password (at least 12 characters) <input name=\"password\" type=\"password\" required minlength=\"12\"></label></p>\
         <p><button type=\"submit\">Join</button></p></form>",
        org = xml_escape(&org.name),
        role = xml_escape(&inv.role),
        email = xml_escape(&inv.email),
        token = xml_escape(&token),
    );
    Ok(page("Invitation", &body, actix_web::http::StatusCode::OK))
}

/// Reads an `application/x-www-form-urlencoded` body of at most [`FORM_LIMIT`] bytes.
async fn read_form(req: &HttpRequest, payload: web::Payload) -> Result<AcceptInvitation, AppError> {
    let form = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return Err(AppError::UnsupportedMediaType);
    }
    let declared = crate::extract::declared_length(req);
    let body = crate::extract::read_body(payload.into_inner(), FORM_LIMIT, declared).await?;
    let field = |name: &str| {
        url::form_urlencoded::parse(&body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(AcceptInvitation {
        name: field("name"),
        password: field("password"),
    })
}

/// `POST /invitations/{token}` with the form's `name` and `password`: creates the account in
/// the inviting organisation. The link then stops working.
pub async fn accept(
    state: State,
    req: HttpRequest,
    token: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let input = read_form(&req, payload).await?;
    svc::validate_accept(&input)?;
    // Refuse a dead link before spending the password hash on it.
    let t = token.clone();
    state.db.read(move |c| svc::find_pending(c, &t)).await?;
    let pw = input.password.clone();
    let hash = web::block(move || password::hash(&pw))
        .await
        .map_err(anyhow::Error::from)??;
    let user = state
        .exec
        .run(move |c| svc::accept(c, &token, &input, hash))
        .await?;
    let body = format!(
        "<p>Welcome, {}. Your account is ready: <a href=\"/console\">log in</a> with {}.</p>",
        xml_escape(&user.name),
        xml_escape(&user.email)
    );
    Ok(page("Joined", &body, actix_web::http::StatusCode::CREATED))
}
