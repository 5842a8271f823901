//! Invitations: how a person joins an organisation over HTTP. An admin names an address and a
//! role; the address is mailed a single-use link that expires; whoever holds it chooses a name
//! and a password. The admin's answer is the same whether or not the address has an account
//! anywhere (a direct "create user" would tell any tenant who is registered elsewhere); only
//! the holder of the link learns, when accepting, that the address cannot be used.

use crate::audit::{self, object_hash, Event};
use crate::auth::{random_secret, sha256_hex};
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::delivery::notify;
use crate::delivery::notify::{BASE, MSGID_DOMAIN};
use crate::error::{AppError, Check};
use crate::identity::accounts;
use crate::identity::{Actor, Caller};
use crate::paging::Pagination;
use crate::publishing::feeds::xml_escape;
use cirhub_shared::api::{self, Paged};
use cirhub_shared::time::from_millis;
use diesel::prelude::*;

/// How long a link works: long enough for a week away, short enough that an old mail found
/// in a forwarded thread is no longer a way in.
pub const TTL_MS: i64 = 7 * 24 * 3600 * 1000;

fn to_api(r: &InvitationRow) -> Result<api::Invitation, AppError> {
    Ok(api::Invitation {
        id: r.id.clone(),
        organisation_id: r.organisation_id.clone(),
        email: r.email.clone(),
        role: parse_stored(&r.role, "role")?,
        invited_by: r.invited_by.clone(),
        created_at: from_millis(r.created_at),
        expires_at: from_millis(r.expires_at),
    })
}

/// Field checks of a new invitation.
pub fn validate(input: &api::CreateInvitation) -> Result<(), AppError> {
    let mut check = Check::new();
    accounts::check_email(&mut check, &input.email);
    check.done()
}

/// Records an invitation and its mail (one transaction: the mail leaves after commit). The
/// address is not looked up: the answer must not depend on it.
pub fn create(
    conn: &mut DbConn,
    caller: &Caller,
    input: &api::CreateInvitation,
) -> Result<api::Invitation, AppError> {
    validate(input)?;
    let org: OrgRow = organisations::table
        .find(&caller.org_id)
        .select(OrgRow::as_select())
        .first(conn)?;
    let token = random_secret();
    let now = now_ms();
    let row = InvitationRow {
        id: new_id(),
        organisation_id: org.id.clone(),
        email: input.email.trim().to_lowercase(),
        role: input.role.as_str().into(),
        token_hash: sha256_hex(token.as_bytes()),
        invited_by: caller.user_id().map(str::to_owned),
        created_at: now,
        expires_at: now + TTL_MS,
        accepted_at: None,
        revoked_at: None,
        user_id: None,
    };
    diesel::insert_into(invitations::table)
        .values(&row)
        .execute(conn)?;
    let invitation = to_api(&row)?;
    let hash = object_hash(&invitation)?;
    queue_mail(conn, &row, &org, &token, &hash)?;
    audit::append(
        conn,
        Event::change(
            &caller.actor,
            &caller.org_id,
            "invitation.create",
            "invitation",
            &row.id,
        )
        .version(None, &invitation)?,
    )?;
    Ok(invitation)
}

fn queue_mail(
    conn: &mut DbConn,
    row: &InvitationRow,
    org: &OrgRow,
    token: &str,
    hash: &str,
) -> Result<(), AppError> {
    let link = format!("{BASE}/invitations/{token}");
    let until = from_millis(row.expires_at).format("%Y-%m-%d %H:%M UTC");
    let text = format!(
        "You are invited to join {org} on cirhub as {role}.\n\n\
         To accept, open this link and choose your name and password:\n{link}\n\n\
         The link works once, until {until}. If you did not expect this invitation, ignore it.\n",
        org = org.name,
        role = row.role,
    );
    let html = format!(
        "<!doctype html><html><body><p>You are invited to join <strong>{org}</strong> on cirhub as {role}.</p>\
         <p><a href=\"{link}\">Accept the invitation</a> and choose your name and password.</p>\
         <p><small>The link works once, until {until}. If you did not expect this invitation, ignore it.</small></p></body></html>",
        org = xml_escape(&org.name),
        role = xml_escape(&row.role),
    );
    notify::queue_mail(
        conn,
        MailContent {
            message_id: format!("<invitation.{}@{MSGID_DOMAIN}>", row.id),
            organisation_id: org.id.clone(),
            user_id: None,
            recipient: row.email.clone(),
            subject: format!("You are invited to join {} on cirhub", org.name),
            body_text: text,
            body_html: html,
            thread_id: None,
            unsubscribe_url: None,
            object_type: "invitation".into(),
            object_id: row.id.clone(),
            object_version: None,
            object_hash: Some(hash.into()),
        },
    )?;
    Ok(())
}

/// The organisation's invitations that can still be accepted, newest first.
pub fn list(
    conn: &mut DbConn,
    caller: &Caller,
    page: Pagination,
) -> Result<Paged<api::Invitation>, AppError> {
    let now = now_ms();
    let q = || {
        invitations::table
            .filter(invitations::organisation_id.eq(&caller.org_id))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::revoked_at.is_null())
            .filter(invitations::expires_at.gt(now))
    };
    let total: i64 = q().count().get_result(conn)?;
    let rows: Vec<InvitationRow> = q()
        .order(invitations::created_at.desc())
        .offset(page.offset())
        .limit(page.limit())
        .select(InvitationRow::as_select())
        .load(conn)?;
    let items = rows.iter().map(to_api).collect::<Result<_, _>>()?;
    Ok(crate::paging::paged(items, page, total))
}

/// Withdraws a pending invitation of the caller's organisation; its link stops working.
pub fn revoke(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<(), AppError> {
    let n = diesel::update(
        invitations::table
            .find(id)
            .filter(invitations::organisation_id.eq(&caller.org_id))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::revoked_at.is_null()),
    )
    .set(invitations::revoked_at.eq(now_ms()))
    .execute(conn)?;
    if n == 0 {
        return Err(AppError::NotFound("invitation"));
    }
    audit::append(
        conn,
        Event::change(
            &caller.actor,
            &caller.org_id,
            "invitation.revoke",
            "invitation",
            id,
        ),
    )?;
    Ok(())
}

/// The invitation a link's token names, with its organisation, if it can still be accepted.
/// Used, revoked, expired and unknown tokens all answer the same 404.
pub fn find_pending(conn: &mut DbConn, token: &str) -> Result<(InvitationRow, OrgRow), AppError> {
    let row: InvitationRow = invitations::table
        .filter(invitations::token_hash.eq(sha256_hex(token.as_bytes())))
        .filter(invitations::accepted_at.is_null())
        .filter(invitations::revoked_at.is_null())
        .filter(invitations::expires_at.gt(now_ms()))
        .select(InvitationRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound("invitation"))?;
    let org: OrgRow = organisations::table
        .find(&row.organisation_id)
        .select(OrgRow::as_select())
        .first(conn)?;
    Ok((row, org))
}

/// Field checks of an acceptance (before the slow password hash is computed).
pub fn validate_accept(input: &api::AcceptInvitation) -> Result<(), AppError> {
    let mut check = Check::new();
    check.text(&input.name, "name", 200);
    accounts::check_password(&mut check, "password", &input.password);
    check.done()
}

/// Accepts: creates the user in the inviting organisation and closes the invitation. When the
/// address already has an account, the holder of the link is told so, and the invitation
/// stays as it was: the admin's list must not change on it either.
pub fn accept(
    conn: &mut DbConn,
    token: &str,
    input: &api::AcceptInvitation,
    password_hash: String,
) -> Result<api::User, AppError> {
    validate_accept(input)?;
    let (row, _) = find_pending(conn, token)?;
    let taken: i64 = users::table
        .filter(users::email.eq(&row.email))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(AppError::Conflict(
            "This invitation cannot be used: its address already has an account. Log in with \
             that account, or ask the person who invited you to invite another address."
                .into(),
        ));
    }
    let new_user = api::CreateUser {
        email: row.email.clone(),
        name: input.name.clone(),
        role: parse_stored(&row.role, "role")?,
        password: String::new(),
    };
    let user = accounts::create_user(
        conn,
        &Actor::System,
        &row.organisation_id,
        &new_user,
        password_hash,
    )?;
    diesel::update(invitations::table.find(&row.id))
        .set((
            invitations::accepted_at.eq(now_ms()),
            invitations::user_id.eq(&user.id),
        ))
        .execute(conn)?;
    let actor = Actor::User {
        id: user.id.clone(),
        name: user.name.clone(),
    };
    audit::append(
        conn,
        Event::change(
            &actor,
            &row.organisation_id,
            "invitation.accept",
            "invitation",
            &row.id,
        )
        .detail(serde_json::json!({"user_id": user.id})),
    )?;
    Ok(user)
}
