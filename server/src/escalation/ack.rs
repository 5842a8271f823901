//! Acknowledging an escalation. The party acknowledges through the API or the console, a
//! person through a WebSocket frame, or through the signed single-use link of an escalation
//! mail: GET shows what the link would acknowledge and changes nothing (mail scanners
//! follow links), the first POST acknowledges as the person the mail was for, and any
//! later use is refused. An acknowledgement stops its party's escalation only.
//! Also here: "seen", a person opening their organisation's escalation of an incident.

use super::view::get;
use crate::db::rows::{now_ms, parse_stored};
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::AppError;
use crate::identity::{Actor, Caller};
use cirhub_shared::escalation::*;
use cirhub_shared::Role;
use diesel::prelude::*;

/// Purpose of the MAC of an acknowledge link.
const LINK: &str = "escalation-ack";

/// Stops the party's escalation of the incident (others go on). Returns whether one was
/// climbing.
pub fn acknowledge(
    conn: &mut DbConn,
    incident_id: &str,
    caller: &Caller,
    now: i64,
) -> Result<bool, AppError> {
    let n = diesel::update(
        escalations::table
            .filter(escalations::incident_id.eq(incident_id))
            .filter(escalations::organisation_id.eq(&caller.org_id))
            .filter(escalations::state.eq(EscalationState::Active.as_str())),
    )
    .set((
        escalations::state.eq(EscalationState::Acknowledged.as_str()),
        escalations::ended_at.eq(now),
        escalations::ended_by.eq(caller.actor.id()),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// The caller acknowledges for its organisation, through `via` (`api`, `mail_link`,
/// `websocket`); its escalation stops and the step is an audit entry (a customer's is its
/// acknowledgement of the incident, which its provider sees). 404 when its organisation has
/// no escalation of the incident; an ended one stays as it ended.
pub fn acknowledge_own(
    conn: &mut DbConn,
    caller: &Caller,
    incident_id: &str,
    via: &str,
) -> Result<Escalation, AppError> {
    let before = get(conn, caller, incident_id)?;
    let provider: String = incidents::table
        .find(incident_id)
        .select(incidents::provider_id)
        .first(conn)?;
    if provider != caller.org_id {
        // A customer's acknowledgement is the one its provider sees on the incident; it
        // stops the customer's escalation ([`acknowledge`]) as it is recorded. After an
        // un-acknowledgement it is on record already and stops nothing: the line below does.
        crate::customers::acknowledgements::acknowledge(
            conn,
            caller,
            incident_id,
            &Default::default(),
        )?;
    }
    if acknowledge(conn, incident_id, caller, now_ms())? {
        audit_step(
            conn,
            caller,
            incident_id,
            "escalation.acknowledge",
            &before,
            via,
        )?;
    }
    get(conn, caller, incident_id)
}

fn audit_step(
    conn: &mut DbConn,
    caller: &Caller,
    incident_id: &str,
    action: &str,
    before: &Escalation,
    via: &str,
) -> Result<(), AppError> {
    super::audit(
        conn,
        caller,
        action,
        incident_id,
        serde_json::json!({
            "escalation_id": before.id,
            "policy_version": before.policy_version,
            "notices": before.notices.len(),
            "via": via,
        }),
    )
}

/// Starts a new round of an escalation at global step `base`, now: active again, its first
/// step queued. With `only_from`, only an escalation in that state; answers whether it did.
fn new_round(
    conn: &mut DbConn,
    id: &str,
    base: usize,
    now: i64,
    only_from: Option<EscalationState>,
) -> Result<bool, AppError> {
    let mut q = diesel::update(escalations::table.find(id)).into_boxed();
    if let Some(state) = only_from {
        q = q.filter(escalations::state.eq(state.as_str()));
    }
    let n = q
        .set((
            escalations::state.eq(EscalationState::Active.as_str()),
            escalations::ended_at.eq(None::<i64>),
            escalations::ended_by.eq(None::<String>),
            escalations::step_base.eq(base as i32),
            escalations::started_at.eq(now),
        ))
        .execute(conn)?;
    if n == 1 {
        super::run::queue_step(conn, id, base, now)?;
    }
    Ok(n == 1)
}

/// Un-acknowledges the caller's organisation's escalation of an incident (analyst or
/// above): it climbs again from its first level, now, as a new round on the same policy
/// version (the earlier round's notices stay, under their step numbers). Only an
/// acknowledged escalation can be un-acknowledged (409 otherwise; a resolved incident's
/// escalations stay ended).
pub fn unacknowledge(
    conn: &mut DbConn,
    caller: &Caller,
    incident_id: &str,
    now: i64,
) -> Result<Escalation, AppError> {
    caller.require(Role::Analyst)?;
    let before = get(conn, caller, incident_id)?;
    if before.state != EscalationState::Acknowledged {
        return Err(AppError::Conflict(format!(
            "Only an acknowledged escalation can be un-acknowledged; this one is {}.",
            before.state
        )));
    }
    // Past every step the closed round could have queued (its plan and its end).
    let base = before.step_base + before.plan.len() + 1;
    if new_round(
        conn,
        &before.id,
        base,
        now,
        Some(EscalationState::Acknowledged),
    )? {
        audit_step(
            conn,
            caller,
            incident_id,
            "escalation.unacknowledge",
            &before,
            "api",
        )?;
    }
    get(conn, caller, incident_id)
}

/// Hands the caller's organisation's escalation of an incident to one of its people
/// (analyst or above): a new round starts now whose first level is that person alone (by
/// e-mail and WebSocket); if they do not acknowledge within the first level's wait, the
/// ladder climbs on from its second level as the policy says. An acknowledged or exhausted
/// escalation becomes active again: the new person has to take it. A resolved incident's
/// escalation has ended (409).
pub fn reassign(
    conn: &mut DbConn,
    caller: &Caller,
    incident_id: &str,
    input: &ReassignInput,
    now: i64,
) -> Result<Escalation, AppError> {
    caller.require(Role::Analyst)?;
    let before = get(conn, caller, incident_id)?;
    if before.state == EscalationState::Resolved {
        return Err(AppError::Conflict(
            "The incident is resolved: its escalations have ended.".into(),
        ));
    }
    let known = super::policy::Directory::load(conn, &caller.org_id)?
        .people
        .iter()
        .any(|p| p.id == input.user_id);
    if !known {
        return Err(AppError::field(
            "user_id",
            "no person of your organisation has this id (see the people of your policy's levels)",
        ));
    }
    let base = before.step_base + before.plan.len() + 1;
    diesel::update(escalations::table.find(&before.id))
        .set(escalations::assignee_id.eq(&input.user_id))
        .execute(conn)?;
    new_round(conn, &before.id, base, now, None)?;
    super::audit(
        conn,
        caller,
        "escalation.reassign",
        incident_id,
        serde_json::json!({
            "escalation_id": before.id,
            "from": before.assignee_id,
            "to": input.user_id,
            "round_from_step": base,
        }),
    )?;
    get(conn, caller, incident_id)
}

/// The token of the acknowledge link in the mail of step `step` to `user_id`.
pub fn link_token(
    conn: &mut DbConn,
    escalation_id: &str,
    step: usize,
    user_id: &str,
) -> Result<String, AppError> {
    crate::delivery::links::sign(conn, LINK, &[escalation_id, &step.to_string(), user_id])
}

/// An acknowledge link, resolved: the mail's notice and the person it was for.
pub struct Link {
    pub escalation_id: String,
    pub step: i32,
    pub incident_id: String,
    pub incident_title: String,
    pub priority: String,
    pub person: Caller,
    pub used_at: Option<i64>,
    pub state: EscalationState,
}

/// Resolves a link's token; 404 when it was tampered with, names no mail notice, or its
/// person is gone from the organisation.
pub fn link(conn: &mut DbConn, token: &str) -> Result<Link, AppError> {
    let bad = || AppError::NotFound("acknowledge link");
    let parts = crate::delivery::links::verify(conn, LINK, token, 3)?.ok_or_else(bad)?;
    let [escalation_id, step, user_id]: [String; 3] = parts.try_into().map_err(|_| bad())?;
    let step: i32 = step.parse().map_err(|_| bad())?;
    let notice: Option<(Option<i64>, String, String, String)> = escalation_notices::table
        .inner_join(escalations::table)
        .filter(escalation_notices::escalation_id.eq(&escalation_id))
        .filter(escalation_notices::step.eq(step))
        .filter(escalation_notices::user_id.eq(&user_id))
        .filter(escalation_notices::channel.eq(NotifyChannel::Email.as_str()))
        .select((
            escalation_notices::link_used_at,
            escalations::incident_id,
            escalations::organisation_id,
            escalations::state,
        ))
        .first(conn)
        .optional()?;
    let Some((used_at, incident_id, org, state)) = notice else {
        return Err(bad());
    };
    let person: Option<(String, String)> = users::table
        .find(&user_id)
        .filter(users::organisation_id.eq(&org))
        .filter(users::deleted_at.is_null())
        .select((users::name, users::role))
        .first(conn)
        .optional()?;
    let Some((name, role)) = person else {
        return Err(bad());
    };
    let (incident_title, priority): (String, String) = incidents::table
        .find(&incident_id)
        .select((incidents::title, incidents::priority))
        .first(conn)?;
    Ok(Link {
        escalation_id,
        step,
        incident_id,
        incident_title,
        priority,
        person: Caller {
            org_id: org,
            role: parse_stored(&role, "role")?,
            actor: Actor::User { id: user_id, name },
            session_id: None,
        },
        used_at,
        state: parse_stored(&state, "escalation state")?,
    })
}

/// Acts on a link: the first use acknowledges for the person's organisation (an analyst or
/// above; the escalation may have ended meanwhile, which the answer shows); a second use is
/// 410 Gone.
pub fn acknowledge_by_link(
    conn: &mut DbConn,
    token: &str,
    now: i64,
) -> Result<(Link, Escalation), AppError> {
    let link = link(conn, token)?;
    let gone = || {
        AppError::Gone(
            "This acknowledge link was already used; open the incident in the console to see \
             its escalation."
                .into(),
        )
    };
    if link.used_at.is_some() {
        return Err(gone());
    }
    link.person.require(Role::Analyst)?;
    let used = diesel::update(
        escalation_notices::table
            .filter(escalation_notices::escalation_id.eq(&link.escalation_id))
            .filter(escalation_notices::step.eq(link.step))
            .filter(escalation_notices::user_id.eq(link.person.user_id().unwrap_or_default()))
            .filter(escalation_notices::channel.eq(NotifyChannel::Email.as_str()))
            .filter(escalation_notices::link_used_at.is_null()),
    )
    .set(escalation_notices::link_used_at.eq(now))
    .execute(conn)?;
    if used != 1 {
        return Err(gone());
    }
    let esc = acknowledge_own(conn, &link.person, &link.incident_id, "mail_link")?;
    Ok((link, esc))
}

/// The caller opened its organisation's escalation of an incident: its notices to the
/// caller are seen from now (the first opening counts). 404 as for reading it.
pub fn seen(
    conn: &mut DbConn,
    caller: &Caller,
    incident_id: &str,
    now: i64,
) -> Result<Escalation, AppError> {
    let esc = get(conn, caller, incident_id)?;
    if let Some(user) = caller.user_id() {
        diesel::update(
            escalation_notices::table
                .filter(escalation_notices::escalation_id.eq(&esc.id))
                .filter(escalation_notices::user_id.eq(user))
                .filter(escalation_notices::seen_at.is_null()),
        )
        .set(escalation_notices::seen_at.eq(now))
        .execute(conn)?;
    }
    get(conn, caller, incident_id)
}

/// The connection of the person an escalation notice tells wrote its frame: handed off (the
/// first writing counts; a replay on another connection does not move it).
pub fn handed_off(conn: &mut DbConn, n: &EscalationNotice, now: i64) -> Result<(), AppError> {
    diesel::update(
        escalation_notices::table
            .find((
                &n.escalation_id,
                n.step as i32,
                &n.user_id,
                NotifyChannel::WebSocket.as_str(),
            ))
            .filter(escalation_notices::handed_off_at.is_null()),
    )
    .set(escalation_notices::handed_off_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// The caller's client confirms it has stream event `seq`: if it is an escalation notice to
/// the caller, the notice is delivered (and handed off, if its writing was not recorded);
/// any other event has nothing to record. 404 for an event that does not exist or is a
/// notice to someone else.
pub fn delivered(conn: &mut DbConn, caller: &Caller, seq: i64, now: i64) -> Result<(), AppError> {
    let event: Option<(String, String)> = events::table
        .find(seq)
        .select((events::kind, events::payload))
        .first(conn)
        .optional()?;
    let Some((kind, payload)) = event else {
        return Err(AppError::NotFound("stream event"));
    };
    if kind != cirhub_shared::EventKind::EscalationNotice.as_str() {
        return Ok(());
    }
    let notice = serde_json::from_str::<cirhub_shared::customer::StreamEvent>(&payload)
        .ok()
        .and_then(|e| e.escalation)
        .filter(|n| {
            n.organisation_id == caller.org_id && Some(n.user_id.as_str()) == caller.user_id()
        })
        .ok_or(AppError::NotFound("stream event"))?;
    handed_off(conn, &notice, now)?;
    diesel::update(
        escalation_notices::table
            .find((
                &notice.escalation_id,
                notice.step as i32,
                &notice.user_id,
                NotifyChannel::WebSocket.as_str(),
            ))
            .filter(escalation_notices::delivered_at.is_null()),
    )
    .set(escalation_notices::delivered_at.eq(now))
    .execute(conn)?;
    Ok(())
}
