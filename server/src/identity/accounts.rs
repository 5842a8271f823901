//! Organisations, users, sessions (login, refresh, logout) and API tokens.

use crate::audit::{self, Event};
use crate::auth::{password, random_secret, sha256_hex, API_TOKEN_PREFIX};
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::{AppError, Check};
use crate::identity::credential_changes::{record as record_change, Change};
use crate::identity::{Actor, Caller};
use crate::paging::Pagination;
use cirhub_shared::api::{self, Paged};
use cirhub_shared::time::from_millis;
use cirhub_shared::Role;
use diesel::prelude::*;

/// Window over which failed logins are counted.
pub const LOGIN_WINDOW_MS: i64 = 15 * 60 * 1000;

pub fn org_to_api(o: &OrgRow) -> api::Organisation {
    api::Organisation {
        id: o.id.clone(),
        slug: o.slug.clone(),
        name: o.name.clone(),
        is_provider: o.is_provider,
        is_customer: o.is_customer,
        created_at: from_millis(o.created_at),
    }
}

pub fn user_to_api(u: &UserRow) -> Result<api::User, AppError> {
    Ok(api::User {
        id: u.id.clone(),
        organisation_id: u.organisation_id.clone(),
        email: u.email.clone(),
        name: u.name.clone(),
        role: parse_stored(&u.role, "role")?,
        created_at: from_millis(u.created_at),
    })
}

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

/// Checks a slug: lowercase letters, digits and dashes, 1-64 characters.
pub fn valid_slug(slug: &str) -> bool {
    (1..=64).contains(&slug.len())
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !slug.starts_with('-')
}

/// Creates an organisation (CLI and demo seed).
pub fn create_org(
    conn: &mut DbConn,
    actor: &Actor,
    slug: &str,
    name: &str,
    is_provider: bool,
    is_customer: bool,
) -> Result<OrgRow, AppError> {
    Check::new()
        .ensure(
            valid_slug(slug),
            "slug",
            "use 1-64 lowercase letters, digits and dashes",
        )
        .text(name, "name", 200)
        .done()?;
    let now = now_ms();
    let row = OrgRow {
        id: new_id(),
        slug: slug.into(),
        name: name.trim().into(),
        is_provider,
        is_customer,
        priority_policy: None,
        created_at: now,
        updated_at: now,
    };
    diesel::insert_into(organisations::table)
        .values(&row)
        .execute(conn)?;
    audit::append(
        conn,
        Event::change(
            actor,
            &row.id,
            "organisation.create",
            "organisation",
            &row.id,
        )
        .version(Some(1), &org_to_api(&row))?,
    )?;
    Ok(row)
}

/// Finds an organisation by slug or id.
pub fn find_org(conn: &mut DbConn, key: &str) -> Result<OrgRow, AppError> {
    organisations::table
        .filter(organisations::slug.eq(key).or(organisations::id.eq(key)))
        .select(OrgRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound("organisation"))
}

/// Password rules: at least 12 characters, at most 1024 bytes.
pub fn check_password(check: &mut Check, field: &str, password: &str) {
    check.ensure(
        password.chars().count() >= password::MIN_LEN,
        field,
        "must be at least 12 characters",
    );
    check.ensure(password.len() <= 1024, field, "must be at most 1024 bytes");
}

/// Creates a user in `org_id`. `password_hash` is computed by the caller, off the lock.
pub fn create_user(
    conn: &mut DbConn,
    actor: &Actor,
    org_id: &str,
    input: &api::CreateUser,
    password_hash: String,
) -> Result<api::User, AppError> {
    validate_identity(input)?;
    let email = input.email.trim().to_lowercase();
    let taken: i64 = users::table
        .filter(users::email.eq(&email))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(AppError::field(
            "email",
            "is already used by another account",
        ));
    }
    let row = UserRow {
        id: new_id(),
        organisation_id: org_id.into(),
        email,
        name: input.name.trim().into(),
        role: input.role.as_str().into(),
        password_hash,
        created_at: now_ms(),
        deleted_at: None,
    };
    diesel::insert_into(users::table)
        .values(&row)
        .execute(conn)?;
    let user = user_to_api(&row)?;
    audit::append(
        conn,
        Event::change(actor, org_id, "user.create", "user", &row.id).version(None, &user)?,
    )?;
    Ok(user)
}

/// Field checks for a new user (before the slow password hash is computed).
pub fn validate_new_user(input: &api::CreateUser) -> Result<(), AppError> {
    let mut check = identity_checks(input);
    check_password(&mut check, "password", &input.password);
    check.done()
}

fn identity_checks(input: &api::CreateUser) -> Check {
    let mut check = Check::new();
    check_email(&mut check, &input.email);
    check.text(&input.name, "name", 200);
    check
}

/// An e-mail address field (surrounding blanks are trimmed before it is stored).
pub fn check_email(check: &mut Check, email: &str) {
    let email = email.trim();
    check
        .ensure(
            email.contains('@') && email.len() <= 254 && !email.contains(char::is_whitespace),
            "email",
            "must be an e-mail address",
        )
        .chars(email, "email");
}

fn validate_identity(input: &api::CreateUser) -> Result<(), AppError> {
    identity_checks(input).done()
}

fn user_in_org(conn: &mut DbConn, org_id: &str, id: &str) -> Result<UserRow, AppError> {
    users::table
        .find(id)
        .filter(users::organisation_id.eq(org_id))
        .filter(users::deleted_at.is_null())
        .select(UserRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound("user"))
}

pub fn get_user(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<api::User, AppError> {
    user_to_api(&user_in_org(conn, &caller.org_id, id)?)
}

pub fn list_users(
    conn: &mut DbConn,
    caller: &Caller,
    page: Pagination,
) -> Result<Paged<api::User>, AppError> {
    let q = users::table
        .filter(users::organisation_id.eq(&caller.org_id))
        .filter(users::deleted_at.is_null());
    let total: i64 = q.count().get_result(conn)?;
    let rows: Vec<UserRow> = q
        .order(users::created_at.asc())
        .offset(page.offset())
        .limit(page.limit())
        .select(UserRow::as_select())
        .load(conn)?;
    let items = rows.iter().map(user_to_api).collect::<Result<_, _>>()?;
    Ok(crate::paging::paged(items, page, total))
}

/// Changes name, role or password; a password change ends every session of the user.
pub fn update_user(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    input: &api::UpdateUser,
    password_hash: Option<String>,
) -> Result<api::User, AppError> {
    let mut row = user_in_org(conn, &caller.org_id, id)?;
    if let Some(name) = &input.name {
        Check::new().text(name, "name", 200).done()?;
        row.name = name.trim().into();
    }
    if let Some(role) = input.role {
        if caller.user_id() == Some(id) && role != Role::Admin {
            return Err(AppError::field(
                "role",
                "you cannot lower your own role; ask another admin",
            ));
        }
        if row.role != role.as_str() {
            record_change(conn, Change::RoleChanged { user_id: id })?;
        }
        row.role = role.as_str().into();
    }
    diesel::update(users::table.find(id))
        .set((users::name.eq(&row.name), users::role.eq(&row.role)))
        .execute(conn)?;
    if let Some(hash) = password_hash {
        let own = caller.user_id() == Some(id);
        let keep = caller.session_id.as_deref().filter(|_| own);
        set_password(conn, id, &hash, keep)?;
    }
    let user = user_to_api(&row)?;
    audit::append(
        conn,
        Event::change(&caller.actor, &caller.org_id, "user.update", "user", id)
            .version(None, &user)?
            .detail(serde_json::json!({"password_changed": input.password.is_some()})),
    )?;
    Ok(user)
}

/// Validates a password field of an update.
pub fn validate_password(field: &str, password: &str) -> Result<(), AppError> {
    let mut check = Check::new();
    check_password(&mut check, field, password);
    check.done()
}

/// Stores a new password hash and revokes the user's sessions, except `keep`: the session of
/// a person changing their own password stays, every other one (a thief's too) ends.
pub fn set_password(
    conn: &mut DbConn,
    user_id: &str,
    hash: &str,
    keep: Option<&str>,
) -> Result<(), AppError> {
    diesel::update(users::table.find(user_id))
        .set(users::password_hash.eq(hash))
        .execute(conn)?;
    diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::id.ne(keep.unwrap_or("")))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(now_ms()))
    .execute(conn)?;
    record_change(
        conn,
        Change::PasswordChanged {
            user_id,
            kept: keep,
        },
    )?;
    Ok(())
}

/// Soft-deletes a user and ends its sessions.
pub fn delete_user(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<(), AppError> {
    user_in_org(conn, &caller.org_id, id)?;
    if caller.user_id() == Some(id) {
        return Err(AppError::Conflict(
            "You cannot delete your own account.".into(),
        ));
    }
    let now = now_ms();
    diesel::update(users::table.find(id))
        .set(users::deleted_at.eq(now))
        .execute(conn)?;
    diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(now))
    .execute(conn)?;
    record_change(conn, Change::UserDeleted { user_id: id })?;
    audit::append(
        conn,
        Event::change(&caller.actor, &caller.org_id, "user.delete", "user", id),
    )?;
    Ok(())
}

/// Counts the attempts for this e-mail and this client address within the window and, if
/// both are under their limits (`max` per e-mail, `4 * max` per address), records this one;
/// otherwise refuses with 429. Call inside a write transaction, before the password check:
/// counting and reserving are one step under one lock (SQLite's single writer; on PostgreSQL a
/// transaction-scoped advisory lock), so a burst of concurrent logins cannot all read a count
/// under the limit. One lock for all addresses keeps the per-address count exact too; the
/// locked step is two index counts and an insert, the slow password check runs after it.
/// A successful login clears the e-mail's attempts ([`open_session`]).
pub fn reserve_attempt(conn: &mut DbConn, email: &str, ip: &str, max: i64) -> Result<(), AppError> {
    if matches!(conn, DbConn::Postgres(_)) {
        diesel::sql_query("SELECT pg_advisory_xact_lock(7305002)").execute(conn)?;
    }
    let since = now_ms() - LOGIN_WINDOW_MS;
    let by_email: i64 = login_attempts::table
        .filter(login_attempts::email.eq(email))
        .filter(login_attempts::at.gt(since))
        .count()
        .get_result(conn)?;
    let by_ip: i64 = login_attempts::table
        .filter(login_attempts::ip.eq(ip))
        .filter(login_attempts::at.gt(since))
        .count()
        .get_result(conn)?;
    if by_email >= max || by_ip >= max * 4 {
        return Err(AppError::TooManyRequests {
            retry_after_secs: (LOGIN_WINDOW_MS / 1000) as u64,
            detail: "Too many failed logins; wait 15 minutes and try again.".into(),
        });
    }
    diesel::insert_into(login_attempts::table)
        .values((
            login_attempts::id.eq(new_id()),
            login_attempts::email.eq(email),
            login_attempts::ip.eq(ip),
            login_attempts::at.eq(now_ms()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn user_by_email(conn: &mut DbConn, email: &str) -> Result<Option<UserRow>, AppError> {
    Ok(users::table
        .filter(users::email.eq(email))
        .filter(users::deleted_at.is_null())
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

/// Opens a session for a verified user; returns (session id, refresh token).
pub fn open_session(
    conn: &mut DbConn,
    user: &UserRow,
    ttl_secs: u64,
) -> Result<(String, String), AppError> {
    let refresh = random_secret();
    let now = now_ms();
    let row = SessionRow {
        id: new_id(),
        user_id: user.id.clone(),
        refresh_hash: sha256_hex(refresh.as_bytes()),
        created_at: now,
        expires_at: now + ttl_secs as i64 * 1000,
        revoked_at: None,
    };
    diesel::insert_into(sessions::table)
        .values(&row)
        .execute(conn)?;
    diesel::delete(login_attempts::table.filter(login_attempts::email.eq(&user.email)))
        .execute(conn)?;
    let actor = Actor::User {
        id: user.id.clone(),
        name: user.name.clone(),
    };
    audit::append(
        conn,
        Event::change(
            &actor,
            &user.organisation_id,
            "session.login",
            "session",
            &row.id,
        ),
    )?;
    Ok((row.id, refresh))
}

/// Outcome of presenting a refresh token.
pub enum Refresh {
    /// The token was current: the user, the session id and the next refresh token.
    Rotated(Box<UserRow>, String, String),
    /// The token had already been exchanged: its session family was ended (commit, then 401).
    Reused,
}

fn invalid_refresh() -> AppError {
    AppError::Unauthorized("The refresh token is invalid or expired; log in again.".into())
}

/// Exchanges a refresh token for a new one (rotation); the old one stops working. A token
/// that was already exchanged means two parties hold the session (a copy was taken): the
/// session it rotated into (the same session id, every later rotation included) is ended and
/// the theft recorded, as the OAuth security BCP (RFC 9700, 4.14.2) advises.
pub fn rotate_session(conn: &mut DbConn, refresh: &str) -> Result<Refresh, AppError> {
    let hash = sha256_hex(refresh.as_bytes());
    let current: Option<SessionRow> = sessions::table
        .filter(sessions::refresh_hash.eq(&hash))
        .select(SessionRow::as_select())
        .first(conn)
        .optional()?;
    let Some(session) = current else {
        let family: Option<String> = used_refresh_tokens::table
            .find(&hash)
            .select(used_refresh_tokens::session_id)
            .first(conn)
            .optional()?;
        return match family {
            Some(sid) => end_reused_session(conn, &sid).map(|()| Refresh::Reused),
            None => Err(invalid_refresh()),
        };
    };
    if session.revoked_at.is_some() || session.expires_at <= now_ms() {
        return Err(invalid_refresh());
    }
    let user: UserRow = users::table
        .find(&session.user_id)
        .filter(users::deleted_at.is_null())
        .select(UserRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::Unauthorized("The user no longer exists.".into()))?;
    let next = random_secret();
    diesel::insert_into(used_refresh_tokens::table)
        .values((
            used_refresh_tokens::refresh_hash.eq(&hash),
            used_refresh_tokens::session_id.eq(&session.id),
            used_refresh_tokens::used_at.eq(now_ms()),
        ))
        .execute(conn)?;
    diesel::update(sessions::table.find(&session.id))
        .set(sessions::refresh_hash.eq(sha256_hex(next.as_bytes())))
        .execute(conn)?;
    Ok(Refresh::Rotated(Box::new(user), session.id, next))
}

/// Ends the session a reused refresh token belongs to and records it (once: a session that
/// has already ended is left as it is).
fn end_reused_session(conn: &mut DbConn, sid: &str) -> Result<(), AppError> {
    let ended = diesel::update(
        sessions::table
            .find(sid)
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(now_ms()))
    .execute(conn)?;
    if ended == 0 {
        return Ok(());
    }
    let user_id: String = sessions::table
        .find(sid)
        .select(sessions::user_id)
        .first(conn)?;
    let user: UserRow = users::table
        .find(&user_id)
        .select(UserRow::as_select())
        .first(conn)?;
    let actor = Actor::User {
        id: user.id.clone(),
        name: user.name.clone(),
    };
    audit::append(
        conn,
        Event::change(
            &actor,
            &user.organisation_id,
            "session.refresh_reuse",
            "session",
            sid,
        )
        .detail(serde_json::json!({"ended": "session family"})),
    )?;
    crate::identity::credential_changes::record(
        conn,
        crate::identity::credential_changes::Change::RefreshReused {
            user_id: &user.id,
            session_id: sid,
        },
    )?;
    Ok(())
}

/// Ends a session: its access tokens and refresh token stop working at once.
pub fn logout(conn: &mut DbConn, caller: &Caller) -> Result<(), AppError> {
    if let Some(sid) = &caller.session_id {
        diesel::update(sessions::table.find(sid))
            .set(sessions::revoked_at.eq(now_ms()))
            .execute(conn)?;
        record_change(
            conn,
            Change::Logout {
                user_id: caller.actor.id().unwrap_or_default(),
                session_id: sid,
            },
        )?;
        audit::append(
            conn,
            Event::change(
                &caller.actor,
                &caller.org_id,
                "session.logout",
                "session",
                sid,
            ),
        )?;
    }
    Ok(())
}

pub fn me(conn: &mut DbConn, caller: &Caller) -> Result<api::Me, AppError> {
    let org: OrgRow = organisations::table
        .find(&caller.org_id)
        .select(OrgRow::as_select())
        .first(conn)?;
    let user = match caller.user_id() {
        Some(id) => Some(user_to_api(&user_in_org(conn, &caller.org_id, id)?)?),
        None => None,
    };
    Ok(api::Me {
        user,
        organisation: org_to_api(&org),
        role: caller.role,
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

/// The JWT signing secret kept in the database when none is configured, so every instance
/// sharing the database signs and verifies alike.
pub fn jwt_secret(conn: &mut DbConn) -> Result<String, AppError> {
    let existing: Option<String> = settings::table
        .find("jwt_secret")
        .select(settings::value)
        .first(conn)
        .optional()?;
    if let Some(s) = existing {
        return Ok(s);
    }
    let fresh = random_secret();
    diesel::insert_into(settings::table)
        .values((settings::key.eq("jwt_secret"), settings::value.eq(&fresh)))
        .execute(conn)?;
    Ok(fresh)
}
