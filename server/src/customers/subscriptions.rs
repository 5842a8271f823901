//! Alert subscriptions, per user or per role within an organisation, and the matching of
//! events against them (the stream and the mail outbox both use [`matches`]).

use crate::audit::{self, Event};
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::{AppError, Check};
use crate::identity::Caller;
use crate::paging::paged;
use crate::paging::Pagination;
use cirhub_shared::api::Paged;
use cirhub_shared::customer::{StreamEvent, Subscription, SubscriptionInput};
use cirhub_shared::time::from_millis;
use cirhub_shared::{Channel, Role};
use diesel::prelude::*;

/// A stored filter list. One that does not read back is an error, never "no filter": an
/// empty list matches everything, so reading damage as empty would fail open.
fn json_list<T: serde::de::DeserializeOwned>(s: &str, what: &str) -> Result<Vec<T>, AppError> {
    serde_json::from_str(s)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored subscription {what} {s:?}: {e}")))
}

/// The API form of a stored subscription; an error when any part of it cannot be read.
pub fn to_api(r: &SubscriptionRow) -> Result<Subscription, AppError> {
    Ok(Subscription {
        id: r.id.clone(),
        name: r.name.clone(),
        user_id: r.user_id.clone(),
        role: r
            .role
            .as_deref()
            .map(|x| parse_stored(x, "role"))
            .transpose()?,
        provider_ids: json_list(&r.provider_ids, "provider_ids")?,
        service_ids: json_list(&r.service_ids, "service_ids")?,
        region_ids: json_list(&r.region_ids, "region_ids")?,
        min_priority: parse_stored(&r.min_priority, "priority")?,
        channels: json_list(&r.channels, "channels")?,
        mode: parse_stored(&r.mode, "mode")?,
        created_at: from_millis(r.created_at),
        updated_at: from_millis(r.updated_at),
    })
}

/// Whether an event falls inside a subscription's filters (empty lists match everything).
pub fn matches(s: &Subscription, ev: &StreamEvent) -> bool {
    if !s.provider_ids.is_empty() && !s.provider_ids.contains(&ev.provider_id) {
        return false;
    }
    let comps = match (&ev.incident, &ev.component) {
        (Some(i), _) => i.components.as_slice(),
        (None, Some(c)) => std::slice::from_ref(c),
        _ => &[],
    };
    if !s.service_ids.is_empty()
        && !comps.is_empty()
        && !comps.iter().any(|c| s.service_ids.contains(&c.service_id))
    {
        return false;
    }
    if !s.region_ids.is_empty()
        && !comps.is_empty()
        && !comps.iter().any(|c| {
            c.region_id
                .as_ref()
                .is_none_or(|r| s.region_ids.contains(r))
        })
    {
        return false;
    }
    ev.incident
        .as_ref()
        .is_none_or(|i| i.priority <= s.min_priority)
}

/// A stored subscription as the matchers read it: `None` (logged) when it cannot be read,
/// so that it matches nothing instead of everything.
pub fn readable(row: &SubscriptionRow) -> Option<Subscription> {
    match to_api(row) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::error!(subscription = %row.id, error = %e,
                "unreadable subscription filter: it matches nothing until it is saved again");
            None
        }
    }
}

/// What narrows one person's live stream: `None` when they have no WebSocket subscription
/// (own or their role's), else the WebSocket subscriptions that apply to them. A subscription
/// that cannot be read, and might be a WebSocket one, narrows the stream without adding to
/// it (it matches nothing). Opt-outs are left aside: an opt-out is made by a mail's
/// unsubscribe link and ends only the mail of a role-wide subscription.
pub fn live_filter(
    conn: &mut DbConn,
    org_id: &str,
    user_id: Option<&str>,
    role: Role,
) -> Result<Option<Vec<Subscription>>, AppError> {
    let rows: Vec<SubscriptionRow> = subscriptions::table
        .filter(subscriptions::organisation_id.eq(org_id))
        .filter(
            subscriptions::user_id
                .eq(user_id.unwrap_or("-"))
                .or(subscriptions::role.eq(role.as_str())),
        )
        .select(SubscriptionRow::as_select())
        .load(conn)?;
    let mut narrowed = false;
    let mut out = Vec::new();
    for row in &rows {
        let live = json_list::<Channel>(&row.channels, "channels")
            .map_or(true, |c| c.contains(&Channel::WebSocket));
        if !live {
            continue;
        }
        narrowed = true;
        out.extend(readable(row));
    }
    Ok(narrowed.then_some(out))
}

fn check(conn: &mut DbConn, caller: &Caller, input: &SubscriptionInput) -> Result<(), AppError> {
    let mut c = Check::new();
    c.text(&input.name, "name", 200);
    c.ensure(
        !input.channels.is_empty(),
        "channels",
        "name at least one channel: websocket or email",
    );
    for (i, ch) in input.channels.iter().enumerate() {
        c.ensure(
            matches!(ch, Channel::WebSocket | Channel::Email),
            &format!("channels[{i}]"),
            "must be websocket or email",
        );
    }
    for (field, list) in [
        ("provider_ids", &input.provider_ids),
        ("service_ids", &input.service_ids),
        ("region_ids", &input.region_ids),
    ] {
        c.ensure(list.len() <= 200, field, "at most 200 entries");
    }
    c.done()?;
    if input.role.is_some() {
        caller.require(Role::Admin).map_err(|_| {
            AppError::field(
                "role",
                "only an admin subscribes a whole role; leave it out for yourself",
            )
        })?;
    } else if caller.user_id().is_none() {
        return Err(AppError::field(
            "role",
            "an API token has no inbox: subscribe a role instead",
        ));
    }
    // Providers, services and regions must be ones the organisation can see.
    let visible: Vec<String> = relationships::table
        .filter(relationships::customer_id.eq(&caller.org_id))
        .filter(relationships::status.eq("active"))
        .select(relationships::provider_id)
        .load(conn)?;
    let mut providers = visible;
    providers.push(caller.org_id.clone());
    let mut c = Check::new();
    for (i, p) in input.provider_ids.iter().enumerate() {
        c.ensure(
            providers.contains(p),
            &format!("provider_ids[{i}]"),
            "not one of your providers",
        );
    }
    for (i, s) in input.service_ids.iter().enumerate() {
        let n: i64 = services::table
            .find(s)
            .filter(services::provider_id.eq_any(&providers))
            .count()
            .get_result(conn)?;
        c.ensure(
            n == 1,
            &format!("service_ids[{i}]"),
            "not a service of your providers",
        );
    }
    for (i, r) in input.region_ids.iter().enumerate() {
        let n: i64 = regions::table
            .find(r)
            .filter(regions::provider_id.eq_any(&providers))
            .count()
            .get_result(conn)?;
        c.ensure(
            n == 1,
            &format!("region_ids[{i}]"),
            "not a region of your providers",
        );
    }
    c.done()
}

fn js<T: serde::Serialize>(v: &T) -> Result<String, AppError> {
    serde_json::to_string(v).map_err(|e| AppError::Internal(e.into()))
}

fn fill(row: &mut SubscriptionRow, input: &SubscriptionInput) -> Result<(), AppError> {
    row.name = input.name.trim().into();
    row.provider_ids = js(&input.provider_ids)?;
    row.service_ids = js(&input.service_ids)?;
    row.region_ids = js(&input.region_ids)?;
    row.channels = js(&input.channels)?;
    row.min_priority = input.min_priority.as_str().into();
    row.mode = input.mode.as_str().into();
    Ok(())
}

fn record(
    conn: &mut DbConn,
    caller: &Caller,
    row: &SubscriptionRow,
    action: &str,
) -> Result<Subscription, AppError> {
    // Read back with the strict reader: a filter that would not read back is refused here,
    // when it is saved, rather than found unreadable when events are matched.
    let out = to_api(row)?;
    audit::append(
        conn,
        Event::change(
            &caller.actor,
            &caller.org_id,
            action,
            "subscription",
            &row.id,
        )
        .version(None, &out)?,
    )?;
    Ok(out)
}

pub fn create(
    conn: &mut DbConn,
    caller: &Caller,
    input: &SubscriptionInput,
) -> Result<Subscription, AppError> {
    check(conn, caller, input)?;
    let now = now_ms();
    let mut row = SubscriptionRow {
        id: new_id(),
        organisation_id: caller.org_id.clone(),
        user_id: if input.role.is_some() {
            None
        } else {
            caller.user_id().map(str::to_owned)
        },
        role: input.role.map(|r| r.as_str().to_owned()),
        name: String::new(),
        provider_ids: String::new(),
        service_ids: String::new(),
        region_ids: String::new(),
        min_priority: String::new(),
        channels: String::new(),
        mode: String::new(),
        created_at: now,
        updated_at: now,
    };
    fill(&mut row, input)?;
    diesel::insert_into(subscriptions::table)
        .values(&row)
        .execute(conn)?;
    record(conn, caller, &row, "subscription.create")
}

/// A subscription the caller may manage: their own, or (admin) any of the organisation's.
fn own_row(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<SubscriptionRow, AppError> {
    let row: Option<SubscriptionRow> = subscriptions::table
        .find(id)
        .filter(subscriptions::organisation_id.eq(&caller.org_id))
        .select(SubscriptionRow::as_select())
        .first(conn)
        .optional()?;
    row.filter(|r| caller.role == Role::Admin || r.user_id.as_deref() == caller.user_id())
        .ok_or(AppError::NotFound("subscription"))
}

pub fn get(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<Subscription, AppError> {
    to_api(&own_row(conn, caller, id)?)
}

pub fn replace(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    input: &SubscriptionInput,
) -> Result<Subscription, AppError> {
    let mut row = own_row(conn, caller, id)?;
    check(conn, caller, input)?;
    if input.role.map(|r| r.as_str().to_owned()) != row.role {
        return Err(AppError::field(
            "role",
            "cannot change between a personal and a role-wide subscription; create a new one",
        ));
    }
    fill(&mut row, input)?;
    row.updated_at = now_ms();
    diesel::update(subscriptions::table.find(id))
        .set(&row)
        .execute(conn)?;
    record(conn, caller, &row, "subscription.update")
}

pub fn delete(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<(), AppError> {
    let row = own_row(conn, caller, id)?;
    remove(conn, &row)?;
    audit::append(
        conn,
        Event::change(
            &caller.actor,
            &caller.org_id,
            "subscription.delete",
            "subscription",
            id,
        ),
    )?;
    Ok(())
}

fn remove(conn: &mut DbConn, row: &SubscriptionRow) -> Result<(), AppError> {
    diesel::delete(
        subscription_optouts::table.filter(subscription_optouts::subscription_id.eq(&row.id)),
    )
    .execute(conn)?;
    diesel::delete(subscriptions::table.find(&row.id)).execute(conn)?;
    Ok(())
}

/// The caller's own subscriptions and those of their role (admins: all of the organisation).
pub fn list(
    conn: &mut DbConn,
    caller: &Caller,
    page: Pagination,
) -> Result<Paged<Subscription>, AppError> {
    let build = || {
        let mut q = subscriptions::table
            .filter(subscriptions::organisation_id.eq(&caller.org_id))
            .into_boxed();
        if caller.role != Role::Admin {
            q = q.filter(
                subscriptions::user_id
                    .eq(caller.user_id().unwrap_or("-").to_owned())
                    .or(subscriptions::role.eq(caller.role.as_str())),
            );
        }
        q
    };
    let total: i64 = build().count().get_result(conn)?;
    let rows: Vec<SubscriptionRow> = build()
        .order((subscriptions::created_at.desc(), subscriptions::id.desc()))
        .offset(page.offset())
        .limit(page.limit())
        .select(SubscriptionRow::as_select())
        .load(conn)?;
    let items = rows.iter().map(to_api).collect::<Result<_, _>>()?;
    Ok(paged(items, page, total))
}

/// One-click unsubscribe (from a mail link, without logging in) ends mail only: a personal
/// subscription loses its e-mail channel (and ends when that was its only one), a role-wide
/// one gets an opt-out of its mail for this user. Its WebSocket channel stays, so leaving
/// the mail never changes what the person's live stream carries. Idempotent.
pub fn unsubscribe(
    conn: &mut DbConn,
    subscription_id: &str,
    user_id: &str,
) -> Result<String, AppError> {
    let row: Option<SubscriptionRow> = subscriptions::table
        .find(subscription_id)
        .select(SubscriptionRow::as_select())
        .first(conn)
        .optional()?;
    let Some(mut row) = row else {
        return Ok("You are unsubscribed.".into());
    };
    let actor = crate::identity::Actor::User {
        id: user_id.into(),
        name: "unsubscribe link".into(),
    };
    let mut event = Event::change(
        &actor,
        &row.organisation_id,
        "subscription.unsubscribe",
        "subscription",
        subscription_id,
    );
    if row.user_id.as_deref() == Some(user_id) {
        // An unreadable subscription already sends no mail; it is left for its owner to fix.
        let Ok(channels) = json_list::<Channel>(&row.channels, "channels") else {
            return Ok("You are unsubscribed.".into());
        };
        if !channels.contains(&Channel::Email) {
            return Ok(format!(
                "You are unsubscribed from \u{201c}{}\u{201d}.",
                row.name
            ));
        }
        let rest: Vec<Channel> = channels
            .into_iter()
            .filter(|c| *c != Channel::Email)
            .collect();
        if rest.is_empty() {
            remove(conn, &row)?;
        } else {
            row.channels = js(&rest)?;
            row.updated_at = now_ms();
            diesel::update(subscriptions::table.find(&row.id))
                .set(&row)
                .execute(conn)?;
            event = event.version(None, &to_api(&row)?)?;
        }
    } else {
        let exists: i64 = subscription_optouts::table
            .filter(subscription_optouts::subscription_id.eq(&row.id))
            .filter(subscription_optouts::user_id.eq(user_id))
            .count()
            .get_result(conn)?;
        if exists == 0 {
            diesel::insert_into(subscription_optouts::table)
                .values((
                    subscription_optouts::subscription_id.eq(&row.id),
                    subscription_optouts::user_id.eq(user_id),
                    subscription_optouts::at.eq(now_ms()),
                ))
                .execute(conn)?;
        }
    }
    audit::append(conn, event)?;
    Ok(format!(
        "You are unsubscribed from \u{201c}{}\u{201d}.",
        row.name
    ))
}
