//! Organisations and the people in them (users: roles, passwords, deletion), and `me`.

use crate::audit::{self, Event};
use crate::auth::password;
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
        time_zone: u.time_zone.clone(),
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
        time_zone: None,
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

/// Sets (or, with `None`, clears) the calling person's time zone: an IANA name.
pub fn set_time_zone(
    conn: &mut DbConn,
    caller: &Caller,
    input: &api::PatchMe,
) -> Result<api::Me, AppError> {
    let Some(id) = caller.user_id() else {
        return Err(AppError::Forbidden(
            "Only a person has settings; an API token has none.".into(),
        ));
    };
    let zone = input.time_zone.as_deref().map(str::trim);
    if let Some(z) = zone {
        if z.parse::<chrono_tz::Tz>().is_err() {
            return Err(AppError::field(
                "time_zone",
                "an IANA time zone such as Europe/Berlin or Asia/Tokyo, or null for the browser's",
            ));
        }
    }
    user_in_org(conn, &caller.org_id, id)?;
    diesel::update(users::table.find(id))
        .set(users::time_zone.eq(zone))
        .execute(conn)?;
    audit::append(
        conn,
        Event::change(&caller.actor, &caller.org_id, "user.settings", "user", id)
            .detail(serde_json::json!({"time_zone": zone})),
    )?;
    me(conn, caller)
}

pub fn user_by_email(conn: &mut DbConn, email: &str) -> Result<Option<UserRow>, AppError> {
    Ok(users::table
        .filter(users::email.eq(email))
        .filter(users::deleted_at.is_null())
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}
