//! Sessions: the login limiter, opening a session, refresh-token rotation (reuse ends the
//! session family), logout, and the JWT signing secret.

use crate::audit::{self, Event};
use crate::auth::{random_secret, sha256_hex};
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::AppError;
use crate::identity::credential_changes::{record as record_change, Change};
use crate::identity::{Actor, Caller};
use diesel::prelude::*;

/// Window over which failed logins are counted.
pub const LOGIN_WINDOW_MS: i64 = 15 * 60 * 1000;

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
        diesel::sql_query(format!(
            "SELECT pg_advisory_xact_lock({})",
            crate::db::locks::LOGIN_ATTEMPTS
        ))
        .execute(conn)?;
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

/// Recurring job that forgets what sessions no longer need.
pub const PRUNE: &str = "identity.prune";

/// How long a credential change is kept: instances read them forward within a second, and
/// one that starts begins at the newest, so a day is ample.
const KEEP_CREDENTIAL_CHANGES_MS: i64 = 24 * 3600 * 1000;

/// Deletes login attempts outside the counting window, records of used refresh tokens that
/// would have expired anyway (a second use of one is refused as expired), and old credential
/// changes; returns how many rows went.
pub fn prune(conn: &mut DbConn, now: i64, refresh_ttl_ms: i64) -> Result<usize, AppError> {
    let attempts =
        diesel::delete(login_attempts::table.filter(login_attempts::at.lt(now - LOGIN_WINDOW_MS)))
            .execute(conn)?;
    let used = diesel::delete(
        used_refresh_tokens::table.filter(used_refresh_tokens::used_at.lt(now - refresh_ttl_ms)),
    )
    .execute(conn)?;
    // The newest change stays whatever its age: the next one is numbered after it, and
    // instances read forward from the number they saw last.
    let newest = crate::identity::credential_changes::newest(conn)?;
    let changes = diesel::delete(
        credential_changes::table
            .filter(credential_changes::at.lt(now - KEEP_CREDENTIAL_CHANGES_MS))
            .filter(credential_changes::seq.lt(newest)),
    )
    .execute(conn)?;
    Ok(attempts + used + changes)
}

/// The hourly [`prune`] job.
pub fn prune_kind(db: crate::db::Db, refresh_ttl_ms: i64) -> crate::jobs::Kind {
    crate::jobs::Kind::recurring_write(
        PRUNE,
        std::time::Duration::from_secs(3600),
        db,
        move |c, now| prune(c, now, refresh_ttl_ms),
    )
}
