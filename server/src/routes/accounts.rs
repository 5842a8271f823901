//! Login, sessions, users and API tokens.

use crate::auth::{password, Caller};
use crate::error::AppError;
use crate::extract::{ApiJson, Pagination};
use crate::identity::accounts as svc;
use crate::identity::{api_tokens, sessions};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use cirhub_shared::api::*;
use cirhub_shared::Role;

type State = web::Data<AppState>;

fn tokens(
    state: &AppState,
    user: &crate::db::rows::UserRow,
    sid: &str,
    refresh: String,
    me: Me,
) -> Result<TokenPair, AppError> {
    Ok(TokenPair {
        access_token: state.jwt.issue(&user.id, sid, &user.organisation_id)?,
        token_type: "Bearer".into(),
        expires_in: state.jwt.ttl_secs,
        refresh_token: refresh,
        me,
    })
}

fn me_for(conn: &mut crate::db::DbConn, user: &crate::db::rows::UserRow) -> Result<Me, AppError> {
    let caller = Caller {
        org_id: user.organisation_id.clone(),
        role: crate::db::rows::parse_stored(&user.role, "role")?,
        actor: crate::auth::Actor::User {
            id: user.id.clone(),
            name: user.name.clone(),
        },
        session_id: None,
    };
    svc::me(conn, &caller)
}

/// The client's address: the TCP peer, unless the peer is a trusted proxy, in which case the
/// nearest address in `X-Forwarded-For` that is not itself a trusted proxy.
fn client_ip(req: &HttpRequest, trusted: &[std::net::IpAddr]) -> String {
    let peer = req.peer_addr().map(|a| a.ip());
    if !peer.is_some_and(|p| trusted.contains(&p)) {
        return peer.map(|p| p.to_string()).unwrap_or_default();
    }
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse::<std::net::IpAddr>().ok())
        .collect::<Vec<_>>();
    forwarded
        .into_iter()
        .rev()
        .find(|a| !trusted.contains(a))
        .or(peer)
        .map(|a| a.to_string())
        .unwrap_or_default()
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenPair), (status = 401, body = cirhub_shared::Problem), (status = 429, body = cirhub_shared::Problem)))]
/// Logs in with e-mail and password. Rate-limited per e-mail and per client address.
pub async fn login(
    state: State,
    req: HttpRequest,
    body: ApiJson<LoginRequest>,
) -> Result<HttpResponse, AppError> {
    let input = body.0;
    let email = input.email.trim().to_lowercase();
    if email.is_empty() || input.password.is_empty() {
        return Err(AppError::field(
            if email.is_empty() {
                "email"
            } else {
                "password"
            },
            "must not be empty",
        ));
    }
    let ip = client_ip(&req, &state.config.trusted_proxies);
    let max = state.config.login_max_failures;
    let e = email.clone();
    // The attempt is counted and reserved before the password is checked; a success clears it.
    state
        .exec
        .run(move |c| sessions::reserve_attempt(c, &e, &ip, max))
        .await?;
    let user = state
        .db
        .read(move |c| svc::user_by_email(c, &email))
        .await?;
    let ok = web::block(move || {
        let ok = password::verify(
            &input.password,
            user.as_ref()
                .map(|u| u.password_hash.as_str())
                .unwrap_or(password::dummy_hash()),
        );
        user.filter(|_| ok)
    })
    .await
    .map_err(anyhow::Error::from)?;
    let Some(user) = ok else {
        return Err(AppError::Unauthorized(
            "The e-mail or password is wrong.".into(),
        ));
    };
    let ttl = state.config.refresh_ttl_secs;
    let u = user.clone();
    let (sid, refresh, me) = state
        .exec
        .run(move |c| {
            let (sid, refresh) = sessions::open_session(c, &u, ttl)?;
            Ok((sid, refresh, me_for(c, &u)?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(tokens(&state, &user, &sid, refresh, me)?))
}

#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenPair), (status = 401, body = cirhub_shared::Problem)))]
/// Exchanges a refresh token for new tokens; the old refresh token stops working.
pub async fn refresh(
    state: State,
    body: ApiJson<RefreshRequest>,
) -> Result<HttpResponse, AppError> {
    let rotated = state
        .exec
        .run(
            move |c| match sessions::rotate_session(c, &body.0.refresh_token)? {
                sessions::Refresh::Rotated(user, sid, refresh) => {
                    let me = me_for(c, &user)?;
                    Ok(Some((*user, sid, refresh, me)))
                }
                // The session is ended in this transaction; the 401 follows its commit.
                sessions::Refresh::Reused => Ok(None),
            },
        )
        .await?;
    let Some((user, sid, refresh, me)) = rotated else {
        return Err(AppError::Unauthorized(
            "The refresh token was already used, so the session has ended; log in again.".into(),
        ));
    };
    Ok(HttpResponse::Ok().json(tokens(&state, &user, &sid, refresh, me)?))
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)), security(("bearer" = [])))]
/// Ends the session: its access and refresh tokens are rejected from now on.
pub async fn logout(state: State, caller: Caller) -> Result<HttpResponse, AppError> {
    state
        .exec
        .run(move |c| sessions::logout(c, &caller))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = Me)), security(("bearer" = [])))]
/// The caller's user, organisation and effective role.
pub async fn me(state: State, caller: Caller) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(state.db.read(move |c| svc::me(c, &caller)).await?))
}

#[utoipa::path(patch, path = "/api/v1/me", tag = "auth", operation_id = "patch_me", request_body = PatchMe,
    responses((status = 200, body = Me), (status = 403, body = cirhub_shared::Problem), (status = 422, body = cirhub_shared::Problem)), security(("bearer" = [])))]
/// The calling person's settings: `time_zone` (IANA name, or null for the browser's).
pub async fn patch_me(
    state: State,
    caller: Caller,
    body: ApiJson<PatchMe>,
) -> Result<HttpResponse, AppError> {
    let out = state
        .exec
        .run(move |c| svc::set_time_zone(c, &caller, &body.0))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(crate::paging::Pagination),
    responses((status = 200, body = Paged<User>)), security(("bearer" = [])))]
/// Users of the caller's organisation.
pub async fn list_users(
    state: State,
    caller: Caller,
    page: web::Query<Pagination>,
) -> Result<HttpResponse, AppError> {
    let page = page.into_inner().validate()?;
    Ok(HttpResponse::Ok().json(
        state
            .db
            .read(move |c| svc::list_users(c, &caller, page))
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", responses((status = 200, body = User), (status = 404, body = cirhub_shared::Problem)), security(("bearer" = [])))]
pub async fn get_user(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(
        state
            .db
            .read(move |c| svc::get_user(c, &caller, &id))
            .await?,
    ))
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", request_body = UpdateUser, responses((status = 200, body = User)), security(("bearer" = [])))]
/// Changes a user's name, role or password (admin). A new password ends the user's sessions,
/// except the caller's own when they change their own password.
pub async fn update_user(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    body: ApiJson<UpdateUser>,
) -> Result<HttpResponse, AppError> {
    caller.require(Role::Admin)?;
    let input = body.0;
    let hash = match input.password.clone() {
        Some(pw) => {
            svc::validate_password("password", &pw)?;
            Some(
                web::block(move || password::hash(&pw))
                    .await
                    .map_err(anyhow::Error::from)??,
            )
        }
        None => None,
    };
    let user = state
        .exec
        .run(move |c| svc::update_user(c, &caller, &id, &input, hash))
        .await?;
    Ok(HttpResponse::Ok().json(user))
}

#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users", responses((status = 204)), security(("bearer" = [])))]
pub async fn delete_user(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    caller.require(Role::Admin)?;
    state
        .exec
        .run(move |c| svc::delete_user(c, &caller, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/api-tokens", tag = "api-tokens", params(crate::paging::Pagination),
    responses((status = 200, body = Paged<ApiToken>)), security(("bearer" = [])))]
pub async fn list_tokens(
    state: State,
    caller: Caller,
    page: web::Query<Pagination>,
) -> Result<HttpResponse, AppError> {
    caller.require(Role::Admin)?;
    let page = page.into_inner().validate()?;
    Ok(HttpResponse::Ok().json(
        state
            .db
            .read(move |c| api_tokens::list_tokens(c, &caller, page))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/api-tokens", tag = "api-tokens", request_body = CreateApiToken,
    responses((status = 201, body = CreatedApiToken)), security(("bearer" = [])))]
/// Mints an API token (admin); the secret is in this response only.
pub async fn create_token(
    state: State,
    caller: Caller,
    body: ApiJson<CreateApiToken>,
) -> Result<HttpResponse, AppError> {
    caller.require(Role::Admin)?;
    Ok(HttpResponse::Created().json(
        state
            .exec
            .run(move |c| api_tokens::create_token(c, &caller, &body.0))
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/api-tokens/{id}", tag = "api-tokens", responses((status = 204)), security(("bearer" = [])))]
/// Revokes an API token at once.
pub async fn revoke_token(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    caller.require(Role::Admin)?;
    state
        .exec
        .run(move |c| api_tokens::revoke_token(c, &caller, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
