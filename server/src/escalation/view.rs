//! What a party sees of its escalation of an incident: the policy version it runs on, the
//! rule that routed it, its plan, and each notice with how far it got (queued, handed off,
//! delivered, seen, acknowledged, or failed).

use super::run::{load, plan, step_base};
use crate::db::rows::parse_stored;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::AppError;
use crate::identity::Caller;
use cirhub_shared::escalation::*;
use cirhub_shared::time::from_millis;
use diesel::prelude::*;
use std::collections::HashMap;

/// The caller's organisation's escalation of an incident (404 when it has none: another
/// organisation's escalation does not exist for it).
pub fn get(conn: &mut DbConn, caller: &Caller, incident_id: &str) -> Result<Escalation, AppError> {
    let id: Option<String> = escalations::table
        .filter(escalations::incident_id.eq(incident_id))
        .filter(escalations::organisation_id.eq(&caller.org_id))
        .select(escalations::id)
        .first(conn)
        .optional()?;
    let Some((id, incident_id, org, version, hash, rule, state, started_at, ended_at, ended_by)) =
        (match id {
            Some(id) => load(conn, &id)?,
            None => None,
        })
    else {
        return Err(AppError::NotFound("escalation"));
    };
    let assignee_id = super::run::assignee(conn, &id)?;
    let (rule_body, steps, _) = plan(
        conn,
        &org,
        version,
        rule,
        started_at,
        &incident_id,
        assignee_id.as_deref(),
    )?;
    let assignee_name = match &assignee_id {
        Some(u) => users::table
            .find(u)
            .select(users::name)
            .first::<String>(conn)
            .optional()?,
        None => None,
    };
    let state: EscalationState = parse_stored(&state, "escalation state")?;
    let acknowledged_at = (state == EscalationState::Acknowledged)
        .then_some(ended_at)
        .flatten();
    let notices = notices(conn, &id, acknowledged_at)?;
    let step_base = step_base(conn, &id)?;
    Ok(Escalation {
        id,
        incident_id,
        organisation_id: org,
        policy_version: version,
        policy_hash: hash,
        rule: rule as usize,
        rule_name: rule_body.name,
        state,
        started_at: from_millis(started_at),
        ended_at: ended_at.map(from_millis),
        ended_by,
        step_base,
        plan: steps,
        notices,
        assignee_id,
        assignee_name,
    })
}

type NoticeTuple = (
    i32,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

/// The notices of an escalation in step order, each with its furthest state. A mail is
/// handed off when its outbox row was sent; the acknowledgement counts for the notices
/// queued before it.
fn notices(
    conn: &mut DbConn,
    escalation_id: &str,
    acknowledged_at: Option<i64>,
) -> Result<Vec<Notice>, AppError> {
    let rows: Vec<NoticeTuple> = escalation_notices::table
        .left_join(
            mail_outbox::table.on(mail_outbox::id.nullable().eq(escalation_notices::outbox_id)),
        )
        .filter(escalation_notices::escalation_id.eq(escalation_id))
        .order((
            escalation_notices::step.asc(),
            escalation_notices::user_id.asc(),
            escalation_notices::channel.asc(),
        ))
        .select((
            escalation_notices::step,
            escalation_notices::user_id,
            escalation_notices::channel,
            escalation_notices::due_at,
            escalation_notices::queued_at,
            escalation_notices::handed_off_at,
            escalation_notices::delivered_at,
            escalation_notices::seen_at,
            mail_outbox::status.nullable(),
            mail_outbox::sent_at.nullable(),
        ))
        .load(conn)?;
    let mut ids: Vec<&String> = rows.iter().map(|r| &r.1).collect();
    ids.sort();
    ids.dedup();
    let names: HashMap<String, String> = users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let mut out = Vec::with_capacity(rows.len());
    for (step, user_id, channel, due, queued, handed, delivered, seen, mail, sent) in rows {
        let handed = handed.or(sent);
        let acked = acknowledged_at.filter(|a| *a >= queued);
        let state = if acked.is_some() {
            DeliveryState::Acknowledged
        } else if seen.is_some() {
            DeliveryState::Seen
        } else if delivered.is_some() {
            DeliveryState::Delivered
        } else if handed.is_some() {
            DeliveryState::HandedOff
        } else if mail.as_deref() == Some("failed") {
            DeliveryState::Failed
        } else {
            DeliveryState::Queued
        };
        out.push(Notice {
            step: step as usize,
            // An incident contact has no account: its address names it.
            user_name: names.get(&user_id).cloned().unwrap_or_else(|| {
                user_id
                    .strip_prefix(super::policy::CONTACT)
                    .unwrap_or_default()
                    .to_owned()
            }),
            user_id,
            channel: parse_stored(&channel, "channel")?,
            due_at: from_millis(due),
            queued_at: from_millis(queued),
            state,
            handed_off_at: handed.map(from_millis),
            delivered_at: delivered.map(from_millis),
            seen_at: seen.map(from_millis),
            acknowledged_at: acked.map(from_millis),
        });
    }
    Ok(out)
}

/// How many escalations are in each state, every state named (for `/metrics`).
pub fn counts(conn: &mut DbConn) -> Result<Vec<(EscalationState, i64)>, AppError> {
    let rows: Vec<(String, i64)> = escalations::table
        .group_by(escalations::state)
        .select((escalations::state, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(EscalationState::ALL
        .iter()
        .map(|s| {
            let n = rows
                .iter()
                .find(|(r, _)| r == s.as_str())
                .map_or(0, |r| r.1);
            (*s, n)
        })
        .collect())
}
