//! E-mail alerts: outbox rows written in the transaction of the change they announce, each
//! with a `mail.send` job (`crate::jobs`) that `crate::mail` runs after commit. One mail per (update, recipient), with a
//! stable Message-ID; all mails of one incident to one person share a thread root.
//!
//! Links in the bodies start with [`BASE`], replaced by the public URL when the mail is sent,
//! so a row's content does not depend on which instance wrote it.

use crate::customers::subscriptions::{matches, readable};
use crate::customers::visibility;
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::AppError;
use crate::publishing::feeds::xml_escape;
use cirhub_shared::customer::{IncidentSummary, StreamEvent, Subscription};
use cirhub_shared::{Channel, DeliveryMode, EventKind, Role};
use diesel::prelude::*;
use std::collections::{HashMap, HashSet};

/// Placeholder for the public base URL in stored mail bodies.
pub const BASE: &str = "{{base_url}}";

/// Right-hand side of Message-IDs.
pub const MSGID_DOMAIN: &str = "cirhub.mail";

const UNSUBSCRIBE: &str = "unsubscribe";

/// The token of a one-click unsubscribe link: names the subscription and the person, and
/// carries a MAC so nobody can unsubscribe someone else.
pub fn unsubscribe_token(
    conn: &mut DbConn,
    subscription_id: &str,
    user_id: &str,
) -> Result<String, AppError> {
    super::links::sign(conn, UNSUBSCRIBE, &[subscription_id, user_id])
}

/// Checks an unsubscribe token; returns (subscription id, user id).
pub fn check_unsubscribe_token(
    conn: &mut DbConn,
    token: &str,
) -> Result<(String, String), AppError> {
    match super::links::verify(conn, UNSUBSCRIBE, token, 2)?.as_deref() {
        Some([sub, user]) => Ok((sub.clone(), user.clone())),
        _ => Err(AppError::NotFound("unsubscribe link")),
    }
}

/// People who should hear of an event by e-mail, each with the subscription that matched.
/// Subscriptions are read first: most events match none, and then no user is loaded.
fn recipients(
    conn: &mut DbConn,
    ev: &StreamEvent,
    orgs: &[String],
) -> Result<Vec<(UserRow, Subscription)>, AppError> {
    let rows: Vec<SubscriptionRow> = subscriptions::table
        .filter(subscriptions::organisation_id.eq_any(orgs))
        .filter(subscriptions::channels.like("%\"email\"%"))
        .order((subscriptions::created_at.asc(), subscriptions::id.asc()))
        .select(SubscriptionRow::as_select())
        .load(conn)?;
    let mut subs: Vec<(String, Subscription)> = Vec::new();
    for row in &rows {
        // A filter that cannot be read matches nothing (and is logged), never everything.
        let Some(sub) = readable(row) else {
            continue;
        };
        if sub.channels.contains(&Channel::Email) && matches(&sub, ev) {
            subs.push((row.organisation_id.clone(), sub));
        }
    }
    if subs.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&String> = subs.iter().map(|(_, s)| &s.id).collect();
    let optouts: HashSet<(String, String)> = subscription_optouts::table
        .filter(subscription_optouts::subscription_id.eq_any(&ids))
        .select((
            subscription_optouts::subscription_id,
            subscription_optouts::user_id,
        ))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let sub_orgs: Vec<&String> = subs.iter().map(|(o, _)| o).collect();
    let users: Vec<UserRow> = users::table
        .filter(users::organisation_id.eq_any(sub_orgs))
        .filter(users::deleted_at.is_null())
        .order(users::email.asc())
        .select(UserRow::as_select())
        .load(conn)?;
    let mut out = Vec::new();
    for u in users {
        let role: Role = parse_stored(&u.role, "role")?;
        let hit = subs.iter().find(|(org, s)| {
            *org == u.organisation_id
                && (s.user_id.as_deref() == Some(u.id.as_str()) || s.role == Some(role))
                && !optouts.contains(&(s.id.clone(), u.id.clone()))
        });
        if let Some((_, s)) = hit {
            let s = s.clone();
            out.push((u, s));
        }
    }
    Ok(out)
}

/// The customer's resource names for a component, by component id.
fn resource_names(
    conn: &mut DbConn,
    org: &str,
    component_ids: &[String],
) -> Result<HashMap<String, Vec<String>>, AppError> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for (component, name) in resource_mappings::table
        .filter(resource_mappings::customer_id.eq(org))
        .filter(resource_mappings::component_id.eq_any(component_ids))
        .order(resource_mappings::name.asc())
        .select((resource_mappings::component_id, resource_mappings::name))
        .load::<(String, String)>(conn)?
    {
        out.entry(component).or_default().push(name);
    }
    Ok(out)
}

struct Composed {
    subject: String,
    text: String,
    html: String,
}

fn compose(
    i: &IncidentSummary,
    names: &HashMap<String, Vec<String>>,
    driver: Option<String>,
    unsubscribe: &str,
) -> Composed {
    let status = i.status.as_str().replace('_', " ");
    let subject = format!(
        "[{}] {} — {} ({})",
        i.provider_name, i.title, status, i.priority
    );
    let affected: Vec<String> = i
        .components
        .iter()
        .map(|c| {
            let place = match &c.region_code {
                Some(r) => format!("{} / {}", c.service_name, r),
                None => c.service_name.clone(),
            };
            match names.get(&c.id) {
                Some(n) => format!("{} ({place})", n.join(", ")),
                None => place,
            }
        })
        .collect();
    let body = i
        .latest_update
        .as_ref()
        .map(|u| u.body.clone())
        .unwrap_or_default();
    let link = format!("{BASE}/console/dashboard/{}", i.id);
    let unsub = format!("{BASE}/unsubscribe/{unsubscribe}");
    let mut text = format!(
        "{} — {}\nStatus: {status} · Priority {} · Impact {}\n",
        i.provider_name, i.title, i.priority, i.impact
    );
    if !affected.is_empty() {
        text.push_str(&format!("Affects: {}\n", affected.join("; ")));
    }
    if let Some(d) = &driver {
        text.push_str(&format!("Who drives the response: {d}\n"));
    }
    text.push_str(&format!(
        "\n{body}\n\nDetails: {link}\n\n--\nUnsubscribe from these alerts: {unsub}\n"
    ));
    let e = xml_escape;
    let mut html = format!(
        "<!doctype html><html><body><h2>{} — {}</h2><p><strong>Status:</strong> {} · \
         <strong>Priority</strong> {} · <strong>Impact</strong> {}</p>",
        e(&i.provider_name),
        e(&i.title),
        e(&status),
        i.priority,
        i.impact
    );
    if !affected.is_empty() {
        html.push_str(&format!(
            "<p><strong>Affects:</strong> {}</p>",
            e(&affected.join("; "))
        ));
    }
    if let Some(d) = &driver {
        html.push_str(&format!(
            "<p><strong>Who drives the response:</strong> {}</p>",
            e(d)
        ));
    }
    html.push_str(&format!(
        "<p style=\"white-space:pre-wrap\">{}</p><p><a href=\"{link}\">Details</a></p>\
         <hr><p><small><a href=\"{unsub}\">Unsubscribe from these alerts</a></small></p></body></html>",
        e(&body)
    ));
    Composed {
        subject,
        text,
        html,
    }
}

/// Kind of the job that sends one outbox mail; its key is the mail's id.
pub const MAIL_SEND: &str = "mail.send";

/// Writes an outbox row and its sending job in the caller's transaction: the mail leaves
/// (through `crate::mail`, run by `crate::jobs`) only if the change that wrote it commits.
/// Returns the outbox id.
pub fn queue_mail(conn: &mut DbConn, mail: MailContent) -> Result<String, AppError> {
    let now = now_ms();
    let id = new_id();
    diesel::insert_into(mail_outbox::table)
        .values(&MailRow::pending(id.clone(), mail, now))
        .execute(conn)?;
    crate::jobs::enqueue(
        conn,
        &crate::jobs::NewJob {
            kind: MAIL_SEND,
            key: &id,
            payload: serde_json::json!({}),
            due_at: now,
            max_attempts: None,
        },
    )?;
    Ok(id)
}

/// Gives every pending outbox mail without a `mail.send` job one (at start: mail queued by an
/// instance of a version before the job runner, while this one's migration ran); returns
/// how many. Upgrades stop every instance first, so this is normally none.
pub fn adopt_pending(conn: &mut DbConn) -> Result<usize, AppError> {
    use crate::db::schema::jobs;
    let orphans: Vec<(String, i64)> = mail_outbox::table
        .filter(mail_outbox::status.eq("pending"))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            jobs::table
                .filter(jobs::kind.eq(MAIL_SEND))
                .filter(jobs::key.eq(mail_outbox::id)),
        )))
        .select((mail_outbox::id, mail_outbox::next_attempt_at))
        .load(conn)?;
    for (id, due_at) in &orphans {
        crate::jobs::enqueue(
            conn,
            &crate::jobs::NewJob {
                kind: MAIL_SEND,
                key: id,
                payload: serde_json::json!({}),
                due_at: *due_at,
                max_attempts: None,
            },
        )?;
    }
    Ok(orphans.len())
}

/// Writes the outbox rows (and digest items) for an incident event.
pub fn enqueue(conn: &mut DbConn, ev: &StreamEvent, audience: &[String]) -> Result<(), AppError> {
    let Some(i) = &ev.incident else {
        return Ok(());
    };
    if !matches!(
        ev.kind,
        EventKind::IncidentCreated
            | EventKind::IncidentUpdated
            | EventKind::IncidentResolved
            | EventKind::MaintenanceScheduled
            | EventKind::MaintenanceUpdated
    ) {
        return Ok(());
    }
    let mut orgs = audience.to_vec();
    orgs.push(ev.provider_id.clone());
    let component_ids: Vec<String> = i.components.iter().map(|c| c.id.clone()).collect();
    let links: HashMap<String, visibility::Link> = visibility::customers_of(conn, &ev.provider_id)?
        .into_iter()
        .map(|l| (l.rel.customer_id.clone(), l))
        .collect();
    let first = matches!(
        ev.kind,
        EventKind::IncidentCreated | EventKind::MaintenanceScheduled
    );
    let update_key = i
        .latest_update
        .as_ref()
        .map(|u| u.id.clone())
        .unwrap_or_else(|| format!("v{}", i.version));
    let now = now_ms();
    // The mail names the stored version it summarises.
    let version_hash = crate::audit::versions::hash_of(conn, "incident", &i.id, i.version)?;
    let mut seen = HashSet::new();
    for (user, sub) in recipients(conn, ev, &orgs)? {
        if !seen.insert(user.id.clone()) {
            continue;
        }
        if sub.mode == DeliveryMode::Digest {
            diesel::insert_into(digest_items::table)
                .values((
                    digest_items::id.eq(new_id()),
                    digest_items::user_id.eq(&user.id),
                    digest_items::subscription_id.eq(&sub.id),
                    digest_items::event_seq.eq(ev.seq),
                    digest_items::created_at.eq(now),
                ))
                .execute(conn)?;
            continue;
        }
        let names = resource_names(conn, &user.organisation_id, &component_ids)?;
        let driver = links.get(&user.organisation_id).map(|l| {
            let d = l.model.driver(i.layer);
            format!(
                "{} ({} service, {} layer)",
                driver_words(d),
                l.model,
                i.layer
            )
        });
        let token = unsubscribe_token(conn, &sub.id, &user.id)?;
        let mail = compose(i, &names, driver, &token);
        let thread = format!("<incident.{}.{}@{MSGID_DOMAIN}>", i.id, user.id);
        let message_id = if first {
            thread.clone()
        } else {
            format!("<update.{update_key}.{}@{MSGID_DOMAIN}>", user.id)
        };
        queue_mail(
            conn,
            MailContent {
                message_id,
                organisation_id: user.organisation_id.clone(),
                user_id: Some(user.id.clone()),
                recipient: user.email.clone(),
                subject: mail.subject,
                body_text: mail.text,
                body_html: mail.html,
                thread_id: (!first).then_some(thread),
                unsubscribe_url: Some(format!("{BASE}/unsubscribe/{token}")),
                object_type: "incident".into(),
                object_id: i.id.clone(),
                object_version: Some(i.version),
                object_hash: Some(version_hash.clone()),
            },
        )?;
    }
    Ok(())
}

/// Plain words for a driver.
pub fn driver_words(d: cirhub_shared::Driver) -> &'static str {
    match d {
        cirhub_shared::Driver::Csp => "the provider (CSP)",
        cirhub_shared::Driver::Csc => "the customer (CSC)",
        cirhub_shared::Driver::Joint => "provider and customer jointly",
    }
}

/// Bundles each digest subscriber's waiting events into one mail; returns mails written.
pub fn compose_digests(conn: &mut DbConn) -> Result<usize, AppError> {
    let items: Vec<(String, String, String, i64)> = digest_items::table
        .order((digest_items::user_id.asc(), digest_items::event_seq.asc()))
        .select((
            digest_items::id,
            digest_items::user_id,
            digest_items::subscription_id,
            digest_items::event_seq,
        ))
        .load(conn)?;
    let mut by_user: Vec<(String, String, Vec<i64>, Vec<String>)> = Vec::new();
    for (id, user, sub, seq) in items {
        match by_user.last_mut() {
            Some(last) if last.0 == user => {
                last.2.push(seq);
                last.3.push(id);
            }
            _ => by_user.push((user, sub, vec![seq], vec![id])),
        }
    }
    let mut written = 0;
    for (user_id, sub_id, seqs, ids) in by_user {
        let user: Option<UserRow> = users::table
            .find(&user_id)
            .filter(users::deleted_at.is_null())
            .select(UserRow::as_select())
            .first(conn)
            .optional()?;
        diesel::delete(digest_items::table.filter(digest_items::id.eq_any(&ids))).execute(conn)?;
        let Some(user) = user else { continue };
        let payloads: Vec<String> = events::table
            .filter(events::seq.eq_any(&seqs))
            .order(events::seq.asc())
            .select(events::payload)
            .load(conn)?;
        let mut lines = Vec::new();
        for p in payloads {
            let Ok(ev) = serde_json::from_str::<StreamEvent>(&p) else {
                continue;
            };
            if let Some(i) = ev.incident {
                lines.push(format!(
                    "- [{}] {} — {} ({}, {})",
                    i.provider_name,
                    i.title,
                    i.status,
                    i.priority,
                    ev.at.format("%Y-%m-%d %H:%M UTC")
                ));
            }
        }
        if lines.is_empty() {
            continue;
        }
        let token = unsubscribe_token(conn, &sub_id, &user.id)?;
        let unsub = format!("{BASE}/unsubscribe/{token}");
        let text = format!(
            "Your cirhub digest: {} change(s).\n\n{}\n\nDashboard: {BASE}/console/dashboard\n\n--\nUnsubscribe: {unsub}\n",
            lines.len(),
            lines.join("\n")
        );
        let html = format!(
            "<!doctype html><html><body><h2>Your cirhub digest</h2><ul>{}</ul><p><a href=\"{BASE}/console/dashboard\">Dashboard</a></p><hr><p><small><a href=\"{unsub}\">Unsubscribe</a></small></p></body></html>",
            lines.iter().map(|l| format!("<li>{}</li>", xml_escape(l.trim_start_matches("- ")))).collect::<String>()
        );
        let last = seqs.last().copied().unwrap_or_default();
        queue_mail(
            conn,
            MailContent {
                message_id: format!("<digest.{last}.{}@{MSGID_DOMAIN}>", user.id),
                organisation_id: user.organisation_id.clone(),
                user_id: Some(user.id.clone()),
                recipient: user.email.clone(),
                subject: format!("cirhub digest: {} change(s)", lines.len()),
                body_text: text,
                body_html: html,
                thread_id: None,
                unsubscribe_url: Some(unsub),
                object_type: "digest".into(),
                object_id: format!("{}..{}", seqs[0], last),
                object_version: None,
                object_hash: None,
            },
        )?;
        written += 1;
    }
    Ok(written)
}
