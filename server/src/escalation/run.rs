//! Escalations in flight. When a provider opens an incident, the policy in force of each
//! party — the provider, and every customer that may see the incident — routes it (the
//! version is snapshotted onto that party's escalation: later edits never change it) and the
//! first step is queued as a job row (a customer that comes to see the incident after a
//! change starts its own then); each step, when due, tells the persons its level names
//! and queues the next one. An acknowledgement by the party, or the incident's resolution,
//! ends the escalation: a step that comes due afterwards tells nobody.
//!
//! Steps are `escalation.step` jobs keyed by (escalation, step), so queuing one twice queues
//! it once; a step that runs twice (its instance died between the work and settling the job)
//! tells nobody twice, because each notice is a row keyed by (escalation, step, person,
//! channel) and a mail is queued only with a notice that was new.
//!
//! Channels: e-mail (through the outbox and its `mail.send` job, with a single-use
//! acknowledge link) and WebSocket (an `escalation.notice` stream event that only the
//! person's own connections receive). The webhook channel is not delivered yet.

use super::policy::{self, Directory, POLICY};
use super::route::{self, Case};
use crate::audit::versions;
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::AppError;
use cirhub_shared::escalation::*;
use cirhub_shared::time::from_millis;
use cirhub_shared::{IncidentKind, IncidentStatus};
use diesel::prelude::*;

/// The channels a step delivers; the lint reports any other a policy names.
pub const DELIVERED: &[NotifyChannel] = &[NotifyChannel::Email, NotifyChannel::WebSocket];

/// Kind of the job that runs one step of an escalation.
pub const STEP: &str = "escalation.step";

/// What routing sees of an incident, from its provider's side (a customer's differs in
/// whether it is in scope).
fn case_of(conn: &mut DbConn, row: &IncidentRow) -> Result<Case, AppError> {
    let places: Vec<(String, Option<String>)> = incident_components::table
        .inner_join(components::table)
        .filter(incident_components::incident_id.eq(&row.id))
        .select((components::service_id, components::region_id))
        .load(conn)?;
    let mut services: Vec<String> = places.iter().map(|(s, _)| s.clone()).collect();
    let mut regions: Vec<String> = places.into_iter().filter_map(|(_, r)| r).collect();
    services.sort();
    services.dedup();
    regions.sort();
    regions.dedup();
    Ok(Case {
        priority: parse_stored(&row.priority, "priority")?,
        category: parse_stored(&row.category, "category")?,
        services,
        regions,
        visibility: parse_stored(&row.visibility, "visibility")?,
        in_scope: true,
    })
}

/// What routing sees of an incident from `org`'s side: a customer's case is in scope when
/// the incident touches what it contracted.
pub(super) fn case_for(conn: &mut DbConn, row: &IncidentRow, org: &str) -> Result<Case, AppError> {
    let case = case_of(conn, row)?;
    if org == row.provider_id {
        return Ok(case);
    }
    let footprint = crate::customers::visibility::incident_footprint(conn, &row.id)?;
    let in_scope = crate::customers::visibility::customers_of(conn, &row.provider_id)?
        .iter()
        .any(|link| link.rel.customer_id == org && link.touches(&footprint));
    Ok(Case { in_scope, ..case })
}

pub(super) fn queue_step(
    conn: &mut DbConn,
    id: &str,
    step: usize,
    due_at: i64,
) -> Result<(), AppError> {
    crate::jobs::enqueue(
        conn,
        &crate::jobs::NewJob {
            kind: STEP,
            key: &format!("{id}:{step}"),
            payload: serde_json::json!({"escalation_id": id, "step": step}),
            due_at,
            max_attempts: None,
        },
    )?;
    Ok(())
}

/// What an incident's change means for its escalations, in the change's transaction: a new
/// incident starts its provider's; a closed one ends every one still climbing.
pub fn on_incident(conn: &mut DbConn, row: &IncidentRow, now: i64) -> Result<(), AppError> {
    if row.kind != IncidentKind::Incident.as_str() {
        return Ok(());
    }
    let status: IncidentStatus = parse_stored(&row.status, "incident status")?;
    if status.is_closed() {
        diesel::update(
            escalations::table
                .filter(escalations::incident_id.eq(&row.id))
                .filter(escalations::state.eq(EscalationState::Active.as_str())),
        )
        .set((
            escalations::state.eq(EscalationState::Resolved.as_str()),
            escalations::ended_at.eq(now),
        ))
        .execute(conn)?;
        return Ok(());
    }
    let case = case_of(conn, row)?;
    if row.version == 1 {
        start_for(conn, row, &row.provider_id, &case, now)?;
    }
    // A customer that comes to see the incident later (a wider visibility or audience, a
    // new component in its scope) starts its own escalation then; one that had one keeps it.
    start_customers(conn, row, &case, now)
}

/// Starts the escalation of each customer that may see an incident and has none yet (its
/// own policy, "in scope" when the incident touches what it contracted).
fn start_customers(
    conn: &mut DbConn,
    row: &IncidentRow,
    case: &Case,
    now: i64,
) -> Result<(), AppError> {
    let visibility = case.visibility;
    if visibility == cirhub_shared::Visibility::Internal {
        return Ok(());
    }
    let footprint = crate::customers::visibility::incident_footprint(conn, &row.id)?;
    let named = crate::customers::visibility::named_audience(conn, &row.id)?;
    for link in crate::customers::visibility::customers_of(conn, &row.provider_id)? {
        if link.sees(visibility, &footprint, &named) {
            let theirs = Case {
                in_scope: link.touches(&footprint),
                ..case.clone()
            };
            start_for(conn, row, &link.rel.customer_id, &theirs, now)?;
        }
    }
    Ok(())
}

/// Starts one party's escalation of an incident, if its policy routes the case anywhere.
fn start_for(
    conn: &mut DbConn,
    row: &IncidentRow,
    org: &str,
    case: &Case,
    now: i64,
) -> Result<(), AppError> {
    let (version, stored) = policy::in_force(conn, org)?;
    if version == 0 {
        return Ok(());
    }
    let business = route::in_business_hours(&stored, from_millis(now));
    // A case no rule routes is a gap the policy's lint reports; a rule without levels
    // routes to nobody on purpose.
    let Some(rule) = route::route(&stored, case, business) else {
        return Ok(());
    };
    if stored.rules[rule].levels.is_empty() {
        return Ok(());
    }
    let id = new_id();
    let hash = versions::hash_of(conn, POLICY, org, version)?;
    let q = diesel::insert_into(escalations::table)
        .values((
            escalations::id.eq(&id),
            escalations::incident_id.eq(&row.id),
            escalations::organisation_id.eq(org),
            escalations::policy_version.eq(version),
            escalations::policy_hash.eq(&hash),
            escalations::rule_index.eq(rule as i32),
            escalations::state.eq(EscalationState::Active.as_str()),
            escalations::started_at.eq(now),
        ))
        .on_conflict_do_nothing();
    let n = crate::on_concrete!(conn, |c| q.execute(c))?;
    if n == 1 {
        queue_step(conn, &id, 0, now)?;
    }
    Ok(())
}

pub(super) type EscalationTuple = (
    String,
    String,
    String,
    i32,
    String,
    i32,
    String,
    i64,
    Option<i64>,
    Option<String>,
);

/// The global number of the current round's first step (0 until an un-acknowledgement).
pub(super) fn step_base(conn: &mut DbConn, id: &str) -> Result<usize, AppError> {
    let base: i32 = escalations::table
        .find(id)
        .select(escalations::step_base)
        .first(conn)?;
    Ok(base as usize)
}

pub(super) fn load(conn: &mut DbConn, id: &str) -> Result<Option<EscalationTuple>, AppError> {
    Ok(escalations::table
        .find(id)
        .select((
            escalations::id,
            escalations::incident_id,
            escalations::organisation_id,
            escalations::policy_version,
            escalations::policy_hash,
            escalations::rule_index,
            escalations::state,
            escalations::started_at,
            escalations::ended_at,
            escalations::ended_by,
        ))
        .first(conn)
        .optional()?)
}

/// The snapshotted rule of an escalation and its plan from its start; with an `assignee`
/// (a reassignment), the first level is that person alone, by e-mail and WebSocket.
pub(super) fn plan(
    conn: &mut DbConn,
    org: &str,
    version: i32,
    rule: i32,
    started_at: i64,
    incident_id: &str,
    assignee: Option<&str>,
) -> Result<(Rule, Vec<Step>, Option<i64>), AppError> {
    let stored = policy::stored(conn, org, version)?;
    let rule = stored.rules.get(rule as usize).cloned().ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!(
            "escalation rule {rule} of {org} v{version} missing"
        ))
    })?;
    let dir = Directory::load(conn, org)?.with_contacts(conn, org, incident_id)?;
    let (mut steps, exhausted) = route::timeline(&rule, &dir, from_millis(started_at));
    if let Some(p) = assignee.and_then(|id| dir.people.iter().find(|p| p.id == id)) {
        let to = Recipient {
            user_id: p.id.clone(),
            name: p.name.clone(),
            email: p.email.clone(),
            via: "assignee".into(),
            channels: vec![NotifyChannel::Email, NotifyChannel::WebSocket],
        };
        for s in steps.iter_mut().filter(|s| s.level == 1) {
            s.recipients = vec![to.clone()];
        }
    }
    Ok((rule, steps, exhausted.map(|t| t.timestamp_millis())))
}

/// The person an escalation was reassigned to, if any.
pub(super) fn assignee(conn: &mut DbConn, id: &str) -> Result<Option<String>, AppError> {
    Ok(escalations::table
        .find(id)
        .select(escalations::assignee_id)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}

/// What a step did: how long after its due time it ran, and the channel of each notice it
/// wrote (none when the step ran before, or the escalation had ended).
#[derive(Debug, Default)]
pub struct Fired {
    pub late_ms: i64,
    pub notices: Vec<NotifyChannel>,
}

/// Runs step `step` of an escalation at `now` (the job runner's clock): tells the persons of
/// the step's level through their channels and queues the next step, or marks the
/// escalation exhausted past its last one. A step of an escalation that ended tells nobody.
pub fn fire(conn: &mut DbConn, id: &str, step: usize, now: i64) -> Result<Fired, AppError> {
    let Some((_, incident_id, org, version, _, rule, state, mut started_at, _, _)) =
        load(conn, id)?
    else {
        return Ok(Fired::default());
    };
    if state != EscalationState::Active.as_str() {
        return Ok(Fired::default());
    }
    // Steps are numbered across rounds: an un-acknowledgement starts the ladder again at
    // `step_base`, and a step of a round it closed tells nobody.
    let base = step_base(conn, id)?;
    if step < base {
        return Ok(Fired::default());
    }
    let k = step - base;
    // The ladder's times run from its first step, on the runner's clock (the one a test
    // server may move forward); the change that started it only queued that step.
    if k == 0 {
        diesel::update(escalations::table.find(id))
            .set(escalations::started_at.eq(now))
            .execute(conn)?;
        started_at = now;
    }
    let assigned = assignee(conn, id)?;
    let (_, steps, exhausted) = plan(
        conn,
        &org,
        version,
        rule,
        started_at,
        &incident_id,
        assigned.as_deref(),
    )?;
    let Some(s) = steps.get(k) else {
        diesel::update(
            escalations::table
                .find(id)
                .filter(escalations::state.eq(state)),
        )
        .set((
            escalations::state.eq(EscalationState::Exhausted.as_str()),
            escalations::ended_at.eq(now),
        ))
        .execute(conn)?;
        return Ok(Fired::default());
    };
    let incident: IncidentRow = incidents::table
        .find(&incident_id)
        .select(IncidentRow::as_select())
        .first(conn)?;
    let incident_hash = versions::hash_of(
        conn,
        crate::audit::versions::INCIDENT,
        &incident_id,
        incident.version,
    )?;
    let due = s.at.timestamp_millis();
    let mut fired = Fired {
        late_ms: now - due,
        notices: Vec::new(),
    };
    for r in &s.recipients {
        for channel in &r.channels {
            if !DELIVERED.contains(channel) {
                continue;
            }
            let q = diesel::insert_into(escalation_notices::table)
                .values((
                    escalation_notices::escalation_id.eq(id),
                    escalation_notices::step.eq(step as i32),
                    escalation_notices::user_id.eq(&r.user_id),
                    escalation_notices::channel.eq(channel.as_str()),
                    escalation_notices::level.eq(s.level as i32),
                    escalation_notices::attempt.eq(s.attempt as i32),
                    escalation_notices::pass.eq(s.pass as i32),
                    escalation_notices::due_at.eq(due),
                    escalation_notices::queued_at.eq(now),
                ))
                .on_conflict_do_nothing();
            if crate::on_concrete!(conn, |c| q.execute(c))? == 1 {
                fired.notices.push(*channel);
                let key = (id, step as i32, r.user_id.as_str(), channel.as_str());
                match channel {
                    NotifyChannel::Email => {
                        // An incident contact has no account to acknowledge with.
                        let token = match r.user_id.starts_with(policy::CONTACT) {
                            true => None,
                            false => Some(super::ack::link_token(conn, id, step, &r.user_id)?),
                        };
                        let outbox = crate::delivery::notify::queue_mail(
                            conn,
                            mail(&incident, &incident_hash, id, s, &org, r, token.as_deref()),
                        )?;
                        diesel::update(escalation_notices::table.find(key))
                            .set(escalation_notices::outbox_id.eq(outbox))
                            .execute(conn)?;
                    }
                    NotifyChannel::WebSocket => frame(conn, &incident, id, step, s, &org, r)?,
                    NotifyChannel::Webhook => {}
                }
            }
        }
    }
    match (steps.get(k + 1), exhausted) {
        (Some(next), _) => queue_step(conn, id, step + 1, next.at.timestamp_millis())?,
        (None, Some(end)) => queue_step(conn, id, step + 1, end)?,
        (None, None) => {}
    }
    Ok(fired)
}

/// The WebSocket notice of a step to one person: a stream event only their connections
/// admit, naming the incident version it discloses.
fn frame(
    conn: &mut DbConn,
    i: &IncidentRow,
    escalation: &str,
    step: usize,
    s: &Step,
    org: &str,
    r: &Recipient,
) -> Result<(), AppError> {
    let event = cirhub_shared::customer::StreamEvent {
        seq: 0,
        kind: cirhub_shared::EventKind::EscalationNotice,
        at: s.at,
        provider_id: i.provider_id.clone(),
        incident: None,
        component: None,
        acknowledgement: None,
        indicator: None,
        clock_alert: None,
        escalation: Some(EscalationNotice {
            escalation_id: escalation.to_owned(),
            organisation_id: org.to_owned(),
            incident_id: i.id.clone(),
            incident_version: i.version,
            title: i.title.clone(),
            priority: parse_stored(&i.priority, "priority")?,
            user_id: r.user_id.clone(),
            step,
            level: s.level,
            attempt: s.attempt,
            pass: s.pass,
            due_at: s.at,
        }),
    };
    crate::delivery::events::append(
        conn,
        event,
        ("incident", &i.id, Some(i.version)),
        false,
        &[org.to_owned()],
    )?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn mail(
    i: &IncidentRow,
    hash: &str,
    escalation: &str,
    s: &Step,
    org: &str,
    r: &Recipient,
    token: Option<&str>,
) -> MailContent {
    use crate::delivery::notify::{BASE, MSGID_DOMAIN};
    let link = format!("{BASE}/console/incidents/{}", i.id);
    let subject = format!(
        "[{}] Escalation, level {}: {}",
        i.priority, s.level, i.title
    );
    let (text, html) = match token {
        // An incident contact (no account): told, nothing to acknowledge.
        None => {
            let role = r
                .via
                .strip_prefix(policy::CONTACT)
                .unwrap_or("contact")
                .replace('_', " ");
            let body = format!(
                "You are named as the {role} for this incident, which nobody has acknowledged yet \
                 (level {}, pass {}). Its handlers are told separately; this notice needs no reply.",
                s.level, s.pass
            );
            (
                format!("{subject}\n\n{body}\n"),
                format!(
                    "<p>{}</p><p>{}</p>",
                    html_escape(&subject),
                    html_escape(&body)
                ),
            )
        }
        Some(token) => {
            let ack = format!("{BASE}/ack/{token}");
            (
                format!(
                    "{subject}\n\nNobody has acknowledged this incident yet (notice {} at level {}, pass {}).\n\
                     Acknowledge it (single use): {ack}\n\
                     See the incident and who else was told: {link}\n",
                    s.attempt, s.level, s.pass
                ),
                format!(
                    "<p>{}</p><p>Nobody has acknowledged this incident yet (notice {} at level {}, pass {}).</p>\
                     <p><a href=\"{ack}\">Acknowledge it</a> (the link works once)</p>\
                     <p><a href=\"{link}\">See the incident and who else was told</a></p>",
                    html_escape(&subject),
                    s.attempt,
                    s.level,
                    s.pass
                ),
            )
        }
    };
    MailContent {
        message_id: format!(
            "<escalation.{escalation}.{}.{}@{MSGID_DOMAIN}>",
            s.at.timestamp_millis(),
            msgid_part(&r.user_id)
        ),
        organisation_id: org.to_owned(),
        user_id: Some(r.user_id.clone()).filter(|u| !u.starts_with(policy::CONTACT)),
        recipient: r.email.clone(),
        subject,
        body_text: text,
        body_html: html,
        thread_id: None,
        unsubscribe_url: None,
        object_type: "incident".into(),
        object_id: i.id.clone(),
        object_version: Some(i.version),
        object_hash: Some(hash.to_owned()),
    }
}

/// A recipient's id as a Message-ID may hold it (a contact's is its address: hashed).
pub(super) fn msgid_part(id: &str) -> String {
    match id.strip_prefix(policy::CONTACT) {
        Some(email) => format!("c{}", &crate::auth::sha256_hex(email.as_bytes())[..24]),
        None => id.to_owned(),
    }
}

pub(super) fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
