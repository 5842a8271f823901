//! The `Caller` extractor: the one place that turns a bearer credential into a tenant and a
//! role (the principal itself is a plain type, [`crate::identity::Caller`]). Every
//! tenant-scoped handler takes a `Caller`, and every query takes its org id.

use super::{sha256_hex, API_TOKEN_PREFIX};
use crate::db::rows::{now_ms, parse_stored, ApiTokenRow, SessionRow, UserRow};
use crate::db::schema::{api_tokens, sessions, users};
use crate::error::AppError;
use crate::identity::{Actor, Caller};
use crate::state::AppState;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use diesel::prelude::*;
use futures_util::future::LocalBoxFuture;

fn unauthorized(detail: &str) -> AppError {
    AppError::Unauthorized(detail.to_string())
}

impl FromRequest for Caller {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let req = req.clone();
        let header = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::Internal(anyhow::anyhow!("no app state")))?;
            let header = header.ok_or_else(|| {
                unauthorized("Send an Authorization: Bearer header with an access or API token.")
            })?;
            let token = header
                .strip_prefix("Bearer ")
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| unauthorized("The Authorization header must be 'Bearer <token>'."))?
                .to_owned();
            let caller = authenticate(&state, token).await?;
            req.extensions_mut().insert(crate::access_log::Principal {
                tenant_id: caller.org_id.clone(),
                actor: caller.actor.id().unwrap_or("system").to_string(),
            });
            Ok(caller)
        })
    }
}

/// Resolves a bearer token, checking the database every time so that revocation, role
/// changes and deleted users take effect at once (nothing is cached: on SQLite the lookup is
/// an indexed point read on the request's own thread, [`crate::db::Db::read_point`]).
pub async fn authenticate(state: &AppState, token: String) -> Result<Caller, AppError> {
    if token.starts_with(API_TOKEN_PREFIX) {
        let hash = sha256_hex(token.as_bytes());
        let row = state
            .db
            .read_point(move |conn| {
                let row: Option<ApiTokenRow> = crate::on_concrete!(conn, |c| api_tokens::table
                    .filter(api_tokens::secret_hash.eq(&hash))
                    .filter(api_tokens::revoked_at.is_null())
                    .select(ApiTokenRow::as_select())
                    .first(c)
                    .optional())?;
                row.ok_or_else(|| unauthorized("The API token is unknown or revoked."))
            })
            .await?;
        // last_used_at is kept to the minute: a write per request would serialise machines.
        let now = now_ms();
        if row.last_used_at.is_none_or(|t| now - t > 60_000) {
            let id = row.id.clone();
            state
                .db
                .write(move |conn| {
                    diesel::update(api_tokens::table.find(&id))
                        .set(api_tokens::last_used_at.eq(now))
                        .execute(conn)?;
                    Ok(())
                })
                .await?;
        }
        return Ok(Caller {
            org_id: row.organisation_id,
            role: parse_stored(&row.role, "role")?,
            actor: Actor::ApiToken {
                id: row.id,
                name: row.name,
            },
            session_id: None,
        });
    }
    let claims = state.jwt.verify(&token)?;
    state
        .db
        .read_point(move |conn| {
            let session: Option<SessionRow> = sessions::table
                .find(&claims.sid)
                .select(SessionRow::as_select())
                .first(conn)
                .optional()?;
            let live = session.as_ref().is_some_and(|s| {
                s.revoked_at.is_none() && s.expires_at > now_ms() && s.user_id == claims.sub
            });
            if !live {
                return Err(unauthorized("The session has ended; log in again."));
            }
            let user: Option<UserRow> = users::table
                .find(&claims.sub)
                .filter(users::deleted_at.is_null())
                .select(UserRow::as_select())
                .first(conn)
                .optional()?;
            let user = user.ok_or_else(|| unauthorized("The user no longer exists."))?;
            Ok(Caller {
                org_id: user.organisation_id,
                role: parse_stored(&user.role, "role")?,
                actor: Actor::User {
                    id: user.id,
                    name: user.name,
                },
                session_id: Some(claims.sid),
            })
        })
        .await
}
