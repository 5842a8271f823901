//! The record of credential changes that end live connections (logout, password change, user
//! deletion, role change, API-token revocation). Each change that ends or alters a credential
//! calls [`record`] inside its own transaction.
//!
//! Why a durable, sequence-numbered record rather than re-checking each connection's
//! credential on a timer: re-checking costs one query per open connection per tick, so it
//! grows with the number of clients, and a tick short enough to close within a second would
//! load the database with thousands of clients. A row written in the same transaction as the
//! change cannot be lost or seen before the change commits, and every instance sharing the
//! database reads only the rows after the last one it saw (one indexed query per tick,
//! whatever the number of connections), then closes the few connections the rows name. The
//! sequence number is taken under the audit-chain lock, which each of these transactions
//! holds for its audit entry anyway, so rows commit in sequence order and a reader never
//! skips one (as for `events`).

use crate::db::schema::credential_changes;
use crate::db::DbConn;
use crate::error::AppError;
use diesel::prelude::*;

/// One stored change.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = credential_changes)]
pub struct CredentialChangeRow {
    pub seq: i64,
    pub at: i64,
    /// See [`Change::kind`].
    pub kind: String,
    pub user_id: Option<String>,
    /// The session that ended (`logout`).
    pub session_id: Option<String>,
    /// The session that stays when the others end (`password_changed` by its own user).
    pub kept_session_id: Option<String>,
    pub api_token_id: Option<String>,
}

/// What changed.
#[derive(Debug, Clone, Copy)]
pub enum Change<'a> {
    /// One session of a user ended.
    Logout {
        user_id: &'a str,
        session_id: &'a str,
    },
    /// Every session of the user ends, except `kept` (the session that changed its own
    /// password).
    PasswordChanged {
        user_id: &'a str,
        kept: Option<&'a str>,
    },
    /// A rotated refresh token came back: the session it rotated into is treated as stolen
    /// and ends.
    RefreshReused {
        user_id: &'a str,
        session_id: &'a str,
    },
    UserDeleted {
        user_id: &'a str,
    },
    RoleChanged {
        user_id: &'a str,
    },
    ApiTokenRevoked {
        token_id: &'a str,
    },
}

impl Change<'_> {
    /// The stored `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::Logout { .. } => "logout",
            Change::RefreshReused { .. } => "refresh_reused",
            Change::PasswordChanged { .. } => "password_changed",
            Change::UserDeleted { .. } => "user_deleted",
            Change::RoleChanged { .. } => "role_changed",
            Change::ApiTokenRevoked { .. } => "api_token_revoked",
        }
    }
}

/// Records a change; call inside the transaction that makes it.
pub fn record(conn: &mut DbConn, change: Change<'_>) -> Result<(), AppError> {
    crate::effects::note(|e| e.credentials = true);
    crate::audit::lock_chain(conn)?;
    let seq = newest(conn)? + 1;
    let (mut user_id, mut session_id, mut kept_session_id, mut api_token_id) =
        (None, None, None, None);
    match change {
        Change::Logout {
            user_id: u,
            session_id: s,
        }
        | Change::RefreshReused {
            user_id: u,
            session_id: s,
        } => (user_id, session_id) = (Some(u), Some(s)),
        Change::PasswordChanged { user_id: u, kept } => {
            (user_id, kept_session_id) = (Some(u), kept)
        }
        Change::UserDeleted { user_id: u } | Change::RoleChanged { user_id: u } => {
            user_id = Some(u)
        }
        Change::ApiTokenRevoked { token_id } => api_token_id = Some(token_id),
    }
    diesel::insert_into(credential_changes::table)
        .values(&CredentialChangeRow {
            seq,
            at: crate::db::rows::now_ms(),
            kind: change.kind().into(),
            user_id: user_id.map(str::to_owned),
            session_id: session_id.map(str::to_owned),
            kept_session_id: kept_session_id.map(str::to_owned),
            api_token_id: api_token_id.map(str::to_owned),
        })
        .execute(conn)?;
    Ok(())
}

/// The newest change's sequence number (0 when there is none).
pub fn newest(conn: &mut DbConn) -> QueryResult<i64> {
    Ok(credential_changes::table
        .select(diesel::dsl::max(credential_changes::seq))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0))
}

/// Changes after `seq`, in order.
pub fn since(conn: &mut DbConn, seq: i64, limit: i64) -> QueryResult<Vec<CredentialChangeRow>> {
    credential_changes::table
        .filter(credential_changes::seq.gt(seq))
        .order(credential_changes::seq.asc())
        .limit(limit)
        .select(CredentialChangeRow::as_select())
        .load(conn)
}

/// Changes after `seq` that concern one user or API token, in order.
pub fn since_for(
    conn: &mut DbConn,
    seq: i64,
    principal: &str,
) -> QueryResult<Vec<CredentialChangeRow>> {
    credential_changes::table
        .filter(credential_changes::seq.gt(seq))
        .filter(
            credential_changes::user_id
                .eq(principal)
                .or(credential_changes::api_token_id.eq(principal)),
        )
        .order(credential_changes::seq.asc())
        .select(CredentialChangeRow::as_select())
        .load(conn)
}
