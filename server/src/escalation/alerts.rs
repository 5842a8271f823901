//! Deadline alerts through the escalation matrix. Whenever a party's decisions, clocks or
//! filings change, each of its unfiled deadlines gets a `clock.alert` job at half and at 80 %
//! of its time and at its due time (of the alerts whose time has already passed, only the
//! most pressing is sent, at once). When one comes due it reads the clock again: a deadline
//! filed since, or moved by a later decision or filing, tells nobody (the move queued its own
//! alerts). Who is told is the party's escalation ladder for the incident — the rule its
//! escalation snapshotted, else the one its policy in force routes the incident to: at half
//! the first level, at 80 % the first two, when missed every level — through each person's
//! channels (e-mail, WebSocket); with no ladder at all, the party's admins by e-mail, since a
//! legal deadline must reach someone.
//!
//! Each alert is a row keyed by (clock, deadline, alert, the instant it was for, person,
//! channel): a job that runs twice tells nobody twice.

use super::clocks as rules;
use super::deadlines::{anchors, columns, filings, setup, ClockRow};
use super::policy::{self, Directory};
use super::route;
use super::run::{self, DELIVERED};
use crate::audit::versions;
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::AppError;
use cirhub_shared::clocks::{AlertKind, AlertSent, ClockAlert, Deadline, Regime};
use cirhub_shared::escalation::{DeliveryState, NotifyChannel, Recipient};
use cirhub_shared::time::from_millis;
use cirhub_shared::Role;
use diesel::prelude::*;
use std::collections::HashMap;

/// Kind of the job that sends one alert of one deadline.
pub const ALERT: &str = "clock.alert";

/// How many levels of the ladder an alert tells.
fn levels(kind: AlertKind) -> usize {
    match kind {
        AlertKind::Half => 1,
        AlertKind::Eighty => 2,
        AlertKind::Missed => usize::MAX,
    }
}

/// A deadline's alerts and the instants they are for, in order.
fn points(d: &Deadline) -> Vec<(AlertKind, i64)> {
    let mut out = Vec::new();
    if let [half, eighty] = d.warn_at[..] {
        out.push((AlertKind::Half, half.timestamp_millis()));
        out.push((AlertKind::Eighty, eighty.timestamp_millis()));
    }
    if let Some(due) = d.due_at {
        out.push((AlertKind::Missed, due.timestamp_millis()));
    }
    out
}

/// Queues the alerts of every unfiled deadline of `org`'s clocks on an incident, as they
/// stand at `now` (in the transaction that changed them).
pub fn schedule(conn: &mut DbConn, org: &str, incident_id: &str, now: i64) -> Result<(), AppError> {
    let incident: IncidentRow = incidents::table
        .find(incident_id)
        .select(IncidentRow::as_select())
        .first(conn)?;
    let anchors = anchors(conn, org, &incident)?;
    let rows: Vec<ClockRow> = clocks::table
        .filter(clocks::incident_id.eq(incident_id))
        .filter(clocks::organisation_id.eq(org))
        .select(columns())
        .load(conn)?;
    for row in rows {
        let (defs, place) = setup(&row, &incident)?;
        let filings = filings(conn, &row, &incident)?;
        for d in rules::evaluate(&defs, &place, &anchors, &filings, from_millis(now)) {
            if d.filed_at.is_some() {
                continue;
            }
            let (past, ahead): (Vec<_>, Vec<_>) =
                points(&d).into_iter().partition(|(_, at)| *at <= now);
            for (kind, at) in past.last().copied().into_iter().chain(ahead) {
                crate::jobs::enqueue(
                    conn,
                    &crate::jobs::NewJob {
                        kind: ALERT,
                        key: &format!("{}:{}:{}:{at}", row.0, d.key, kind.as_str()),
                        payload: serde_json::json!({
                            "clock_id": row.0, "deadline_key": d.key,
                            "kind": kind, "instant": at,
                        }),
                        due_at: at.max(now),
                        max_attempts: None,
                    },
                )?;
            }
        }
    }
    Ok(())
}

/// Sends one alert at `now` (the job runner's clock); answers how many notices it wrote.
pub fn fire(
    conn: &mut DbConn,
    clock_id: &str,
    deadline_key: &str,
    kind: AlertKind,
    instant: i64,
    now: i64,
) -> Result<usize, AppError> {
    let found: Option<(ClockRow, String, String)> = clocks::table
        .find(clock_id)
        .select((columns(), clocks::incident_id, clocks::organisation_id))
        .first(conn)
        .optional()?;
    let Some((row, incident_id, org)) = found else {
        return Ok(0);
    };
    let incident: IncidentRow = incidents::table
        .find(&incident_id)
        .select(IncidentRow::as_select())
        .first(conn)?;
    let anchors = anchors(conn, &org, &incident)?;
    let (defs, place) = setup(&row, &incident)?;
    let filings = filings(conn, &row, &incident)?;
    let Some(d) = rules::evaluate(&defs, &place, &anchors, &filings, from_millis(now))
        .into_iter()
        .find(|d| d.key == deadline_key)
    else {
        return Ok(0);
    };
    if d.filed_at.is_some() || !points(&d).contains(&(kind, instant)) {
        return Ok(0);
    }
    let Some(due) = d.due_at else { return Ok(0) };
    // A warning that comes due after the deadline itself: the missed alert says more.
    if kind != AlertKind::Missed && now >= due.timestamp_millis() {
        return Ok(0);
    }
    let hash = versions::hash_of(conn, versions::INCIDENT, &incident.id, incident.version)?;
    let regime: Regime = parse_stored(&row.1, "regime")?;
    let zone: chrono_tz::Tz = row.2.parse().unwrap_or(chrono_tz::UTC);
    let mut sent = 0;
    for r in recipients(conn, &org, &incident, levels(kind), now)? {
        for channel in r.channels.iter().filter(|c| DELIVERED.contains(c)) {
            let q = diesel::insert_into(clock_alerts::table)
                .values((
                    clock_alerts::clock_id.eq(clock_id),
                    clock_alerts::deadline_key.eq(deadline_key),
                    clock_alerts::kind.eq(kind.as_str()),
                    clock_alerts::instant.eq(instant),
                    clock_alerts::user_id.eq(&r.user_id),
                    clock_alerts::channel.eq(channel.as_str()),
                    clock_alerts::queued_at.eq(now),
                ))
                .on_conflict_do_nothing();
            if crate::on_concrete!(conn, |c| q.execute(c))? != 1 {
                continue;
            }
            sent += 1;
            let alert = ClockAlert {
                clock_id: clock_id.to_owned(),
                organisation_id: org.clone(),
                incident_id: incident.id.clone(),
                incident_version: incident.version,
                title: incident.title.clone(),
                regime,
                deadline_key: deadline_key.to_owned(),
                deadline_name: d.name.clone(),
                kind,
                due_at: due,
                user_id: r.user_id.clone(),
            };
            match channel {
                NotifyChannel::Email => {
                    let key = (
                        clock_id,
                        deadline_key,
                        kind.as_str(),
                        instant,
                        r.user_id.as_str(),
                        channel.as_str(),
                    );
                    let theirs = zone_of(conn, &r.user_id, zone)?;
                    let outbox = crate::delivery::notify::queue_mail(
                        conn,
                        mail(&alert, &r, &hash, instant, theirs),
                    )?;
                    diesel::update(clock_alerts::table.find(key))
                        .set(clock_alerts::outbox_id.eq(outbox))
                        .execute(conn)?;
                }
                NotifyChannel::WebSocket => frame(conn, &incident, alert, now)?,
                NotifyChannel::Webhook => {}
            }
        }
    }
    Ok(sent)
}

/// The persons the first `max_level` levels of the party's ladder name (first pass), each
/// with the channels the policy gives them; the party's admins by e-mail when there is no
/// ladder.
fn recipients(
    conn: &mut DbConn,
    org: &str,
    incident: &IncidentRow,
    max_level: usize,
    now: i64,
) -> Result<Vec<Recipient>, AppError> {
    let escalation: Option<(i32, i32, i64, Option<String>)> = escalations::table
        .filter(escalations::incident_id.eq(&incident.id))
        .filter(escalations::organisation_id.eq(org))
        .select((
            escalations::policy_version,
            escalations::rule_index,
            escalations::started_at,
            escalations::assignee_id,
        ))
        .first(conn)
        .optional()?;
    let steps = match escalation {
        Some((version, rule, started, assigned)) => {
            run::plan(
                conn,
                org,
                version,
                rule,
                started,
                &incident.id,
                assigned.as_deref(),
            )?
            .1
        }
        None => {
            let (version, stored) = policy::in_force(conn, org)?;
            let case = run::case_for(conn, incident, org)?;
            let business = route::in_business_hours(&stored, from_millis(now));
            match route::route(&stored, &case, business).filter(|_| version > 0) {
                Some(rule) => {
                    let dir = Directory::load(conn, org)?.with_contacts(conn, org, &incident.id)?;
                    route::timeline(&stored.rules[rule], &dir, from_millis(now)).0
                }
                None => Vec::new(),
            }
        }
    };
    let mut people: Vec<Recipient> = Vec::new();
    for s in steps.iter().filter(|s| s.pass == 1 && s.level <= max_level) {
        for r in &s.recipients {
            match people.iter_mut().find(|p| p.user_id == r.user_id) {
                Some(p) => {
                    for c in &r.channels {
                        if !p.channels.contains(c) {
                            p.channels.push(*c);
                        }
                    }
                }
                None => people.push(r.clone()),
            }
        }
    }
    if people
        .iter()
        .any(|p| p.channels.iter().any(|c| DELIVERED.contains(c)))
    {
        return Ok(people);
    }
    let admins: Vec<(String, String, String)> = users::table
        .filter(users::organisation_id.eq(org))
        .filter(users::deleted_at.is_null())
        .filter(users::role.eq(Role::Admin.as_str()))
        .order(users::email.asc())
        .select((users::id, users::name, users::email))
        .load(conn)?;
    Ok(admins
        .into_iter()
        .map(|(user_id, name, email)| Recipient {
            user_id,
            name,
            email,
            via: "role:admin".into(),
            channels: vec![NotifyChannel::Email],
        })
        .collect())
}

/// The WebSocket alert to one person: a stream event only their connections admit.
fn frame(conn: &mut DbConn, i: &IncidentRow, alert: ClockAlert, now: i64) -> Result<(), AppError> {
    let org = alert.organisation_id.clone();
    let event = cirhub_shared::customer::StreamEvent {
        seq: 0,
        kind: cirhub_shared::EventKind::ClockAlert,
        at: from_millis(now),
        provider_id: i.provider_id.clone(),
        incident: None,
        component: None,
        acknowledgement: None,
        indicator: None,
        escalation: None,
        clock_alert: Some(alert),
    };
    crate::delivery::events::append(
        conn,
        event,
        ("incident", &i.id, Some(i.version)),
        false,
        &[org],
    )?;
    Ok(())
}

fn mail(
    a: &ClockAlert,
    r: &Recipient,
    hash: &str,
    instant: i64,
    zone: chrono_tz::Tz,
) -> MailContent {
    use crate::delivery::notify::{BASE, MSGID_DOMAIN};
    let link = format!("{BASE}/console/incidents/{}", a.incident_id);
    let due = a.due_at.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z");
    let (head, line) = match a.kind {
        AlertKind::Half => ("Deadline at half time", format!("is due {due}")),
        AlertKind::Eighty => ("Deadline at 80 %", format!("is due {due}")),
        AlertKind::Missed => ("Deadline missed", format!("was due {due} and is not filed")),
    };
    // Short enough for one header line: the deadline's name is in the body.
    let subject = format!(
        "[{} {}] {head}: {}",
        short(a.regime),
        a.deadline_key,
        a.title
    );
    let text = format!(
        "{subject}\n\n{} {line}.\nFile it, or record why it is late: {link}\n",
        a.deadline_name
    );
    let html = format!(
        "<p>{}</p><p>{} {}.</p><p><a href=\"{link}\">File it, or record why it is late</a></p>",
        super::run::html_escape(&subject),
        super::run::html_escape(&a.deadline_name),
        super::run::html_escape(&line),
    );
    MailContent {
        message_id: format!(
            "<clock.{}.{}.{}.{instant}.{}@{MSGID_DOMAIN}>",
            a.clock_id,
            a.deadline_key,
            a.kind.as_str(),
            run::msgid_part(&r.user_id)
        ),
        organisation_id: a.organisation_id.clone(),
        user_id: Some(r.user_id.clone()).filter(|u| !u.starts_with(super::policy::CONTACT)),
        recipient: r.email.clone(),
        subject,
        body_text: text,
        body_html: html,
        thread_id: None,
        unsubscribe_url: None,
        object_type: "incident".into(),
        object_id: a.incident_id.clone(),
        object_version: Some(a.incident_version),
        object_hash: Some(hash.to_owned()),
    }
}

/// The zone a person reads times in: their chosen one, else the clock's.
fn zone_of(
    conn: &mut DbConn,
    user_id: &str,
    clock: chrono_tz::Tz,
) -> Result<chrono_tz::Tz, AppError> {
    let chosen: Option<Option<String>> = users::table
        .find(user_id)
        .select(users::time_zone)
        .first(conn)
        .optional()?;
    Ok(chosen
        .flatten()
        .and_then(|z| z.parse().ok())
        .unwrap_or(clock))
}

/// The regime as a subject line names it.
fn short(r: Regime) -> &'static str {
    match r {
        Regime::GdprArt33 => "GDPR Art. 33",
        Regime::GdprProcessor => "GDPR Art. 33(2)",
        Regime::Nis2Art23 => "NIS2 Art. 23",
        Regime::Dora => "DORA",
        Regime::Sec8k105 => "SEC 8-K 1.05",
        Regime::Appi => "APPI",
        Regime::ProviderTargets => "Target",
    }
}

/// Records that a `clock.alert` frame was written to its person's connection.
pub fn handed_off(conn: &mut DbConn, a: &ClockAlert, now: i64) -> Result<(), AppError> {
    diesel::update(
        clock_alerts::table
            .filter(clock_alerts::clock_id.eq(&a.clock_id))
            .filter(clock_alerts::deadline_key.eq(&a.deadline_key))
            .filter(clock_alerts::kind.eq(a.kind.as_str()))
            .filter(clock_alerts::user_id.eq(&a.user_id))
            .filter(clock_alerts::channel.eq(NotifyChannel::WebSocket.as_str()))
            .filter(clock_alerts::handed_off_at.is_null()),
    )
    .set(clock_alerts::handed_off_at.eq(now))
    .execute(conn)?;
    Ok(())
}

type SentRow = (
    String,
    String,
    String,
    Option<String>,
    i64,
    String,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

/// The alerts sent for each deadline of a clock, by deadline key, oldest first, each with
/// how far it got: a mail is handed off when its outbox row was sent, a frame when it was
/// written to the person's connection.
pub fn sent(
    conn: &mut DbConn,
    clock_id: &str,
) -> Result<HashMap<String, Vec<AlertSent>>, AppError> {
    let rows: Vec<SentRow> = clock_alerts::table
        .left_join(users::table.on(users::id.eq(clock_alerts::user_id)))
        .left_join(mail_outbox::table.on(mail_outbox::id.nullable().eq(clock_alerts::outbox_id)))
        .filter(clock_alerts::clock_id.eq(clock_id))
        .order((
            clock_alerts::queued_at.asc(),
            clock_alerts::user_id.asc(),
            clock_alerts::channel.asc(),
        ))
        .select((
            clock_alerts::deadline_key,
            clock_alerts::kind,
            clock_alerts::user_id,
            users::name.nullable(),
            clock_alerts::queued_at,
            clock_alerts::channel,
            clock_alerts::handed_off_at,
            mail_outbox::status.nullable(),
            mail_outbox::sent_at.nullable(),
        ))
        .load(conn)?;
    let mut out: HashMap<String, Vec<AlertSent>> = HashMap::new();
    for (key, kind, user_id, user_name, at, channel, written, mail, sent) in rows {
        let handed = written.or(sent);
        let state = match (handed, mail.as_deref()) {
            (Some(_), _) => DeliveryState::HandedOff,
            (None, Some("failed")) => DeliveryState::Failed,
            _ => DeliveryState::Queued,
        };
        out.entry(key).or_default().push(AlertSent {
            kind: parse_stored(&kind, "alert kind")?,
            // An incident contact has no account: its address names it.
            user_name: user_name.unwrap_or_else(|| {
                user_id
                    .strip_prefix(super::policy::CONTACT)
                    .unwrap_or_default()
                    .to_owned()
            }),
            user_id,
            channel,
            queued_at: from_millis(at),
            state,
            handed_off_at: handed.map(from_millis),
        });
    }
    Ok(out)
}
