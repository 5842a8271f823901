//! API tokens for machines: minted with a secret shown once, stored as its SHA-256, revoked
//! at once (open streams of the token close).

use crate::audit::{self, Event};
use crate::auth::{random_secret, sha256_hex, API_TOKEN_PREFIX};
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::{AppError, Check};
use crate::identity::credential_changes::{record as record_change, Change};
use crate::identity::Caller;
use crate::paging::Pagination;
use cirhub_shared::api::{self, Paged};
use cirhub_shared::time::from_millis;
use cirhub_shared::Role;
use diesel::prelude::*;

fn token_to_api(t: &ApiTokenRow) -> Result<api::ApiToken, AppError> {
    Ok(api::ApiToken {
        id: t.id.clone(),
        name: t.name.clone(),
        role: parse_stored(&t.role, "role")?,
        prefix: t.prefix.clone(),
        created_at: from_millis(t.created_at),
        last_used_at: t.last_used_at.map(from_millis),
        revoked_at: t.revoked_at.map(from_millis),
    })
}
/// Mints an API token; the secret is returned once and only its hash is kept.
pub fn create_token(
    conn: &mut DbConn,
    caller: &Caller,
    input: &api::CreateApiToken,
) -> Result<api::CreatedApiToken, AppError> {
    let mut check = Check::new();
    check.text(&input.name, "name", 100);
    check.ensure(
        caller.role.at_least(input.role) || (caller.role == Role::Admin),
        "role",
        "may not exceed your own role",
    );
    check.done()?;
    let secret = format!("{API_TOKEN_PREFIX}{}", random_secret());
    let row = ApiTokenRow {
        id: new_id(),
        organisation_id: caller.org_id.clone(),
        created_by: caller.user_id().map(str::to_owned),
        name: input.name.trim().into(),
        role: input.role.as_str().into(),
        prefix: secret[..API_TOKEN_PREFIX.len() + 6].to_string(),
        secret_hash: sha256_hex(secret.as_bytes()),
        created_at: now_ms(),
        last_used_at: None,
        revoked_at: None,
    };
    diesel::insert_into(api_tokens::table)
        .values(&row)
        .execute(conn)?;
    let token = token_to_api(&row)?;
    audit::append(
        conn,
        Event::change(
            &caller.actor,
            &caller.org_id,
            "api_token.create",
            "api_token",
            &row.id,
        )
        .version(None, &token)?,
    )?;
    Ok(api::CreatedApiToken { token, secret })
}

pub fn list_tokens(
    conn: &mut DbConn,
    caller: &Caller,
    page: Pagination,
) -> Result<Paged<api::ApiToken>, AppError> {
    let q = api_tokens::table.filter(api_tokens::organisation_id.eq(&caller.org_id));
    let total: i64 = q.count().get_result(conn)?;
    let rows: Vec<ApiTokenRow> = q
        .order(api_tokens::created_at.desc())
        .offset(page.offset())
        .limit(page.limit())
        .select(ApiTokenRow::as_select())
        .load(conn)?;
    let items = rows.iter().map(token_to_api).collect::<Result<_, _>>()?;
    Ok(crate::paging::paged(items, page, total))
}

pub fn revoke_token(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<(), AppError> {
    let n = diesel::update(
        api_tokens::table
            .find(id)
            .filter(api_tokens::organisation_id.eq(&caller.org_id))
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(now_ms()))
    .execute(conn)?;
    if n == 0 {
        return Err(AppError::NotFound("api token"));
    }
    record_change(conn, Change::ApiTokenRevoked { token_id: id })?;
    audit::append(
        conn,
        Event::change(
            &caller.actor,
            &caller.org_id,
            "api_token.revoke",
            "api_token",
            id,
        ),
    )?;
    Ok(())
}
