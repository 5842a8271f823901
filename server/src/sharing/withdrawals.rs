//! What an agreement's steps mean for the objects shared under it. When an agreement is
//! suspended, terminated, amended or reaches its end, every party organisation that received
//! an object shared under it and may no longer see it gets a revocation notice: an
//! `indicator.revoked` frame per object, naming the agreement and the cause, and one mail to
//! its admins and analysts listing what was withdrawn. When an agreement comes into force or
//! is resumed, the parties it now lets objects reach get `indicator.shared` frames.
//!
//! Each step queues an `agreement.review` job in the transaction that makes it (an end by
//! the clock is queued, due at that end, when the version comes into force), so the review
//! is durable, runs once per step on one instance, and the policy it asks is the one in force
//! when it runs. A review is one transaction: all of its notices are sent or none.

use super::notices::{
    frame, mail_person, mail_red, named_people, notice, person, staff, Letter, RedNotice,
};
use super::objects::STIX;
use super::reads::{org_caller, shares_of, Reader};
use super::terms::{stored_terms, AGREEMENT};
use crate::audit::versions;
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::delivery::notify::{BASE, MSGID_DOMAIN};
use crate::error::AppError;
use crate::jobs::store::{enqueue, NewJob};

use crate::publishing::feeds::xml_escape;
use cirhub_shared::api::Recipient;
use cirhub_shared::sharing::{Tlp, Withdrawal, WithdrawalCause};
use cirhub_shared::EventKind;
use diesel::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub const REVIEW: &str = "agreement.review";

/// Objects a mail lists by name; the rest are counted (the console lists them all).
const MAIL_LISTS: usize = 50;

/// The step a review follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// A version came into force (the first, or an amendment).
    InForce,
    Resumed,
    Suspended,
    Terminated,
    /// The version in force reached its `effective_until`.
    Expired,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Payload {
    agreement_id: String,
    step: Step,
    /// The version in force when the step was taken (for the cause of an amendment).
    version: i32,
}

/// Queues the review of `step`, taken at `at` (its due time; an end by the clock is due
/// then), in the caller's transaction.
pub(super) fn queue(
    conn: &mut DbConn,
    agreement_id: &str,
    step: Step,
    version: i32,
    at: i64,
) -> Result<(), AppError> {
    let label = serde_json::to_value(step).map_err(anyhow::Error::from)?;
    let key = format!(
        "{agreement_id}.{}.{version}.{at}",
        label.as_str().unwrap_or("step")
    );
    let payload = serde_json::to_value(Payload {
        agreement_id: agreement_id.to_owned(),
        step,
        version,
    })
    .map_err(anyhow::Error::from)?;
    enqueue(
        conn,
        &NewJob {
            kind: REVIEW,
            key: &key,
            payload,
            due_at: at,
            max_attempts: None,
        },
    )?;
    Ok(())
}

/// Runs one `agreement.review` job (its payload and key as queued), in the caller's
/// transaction.
pub fn run_review(
    conn: &mut DbConn,
    payload: &serde_json::Value,
    key: &str,
) -> Result<(), AppError> {
    let p: Payload = serde_json::from_value(payload.clone())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("review payload: {e}")))?;
    review(conn, &p, key)
}

/// Every organisation each object in `keys` was disclosed to, by any channel.
pub(super) fn received_by(
    conn: &mut DbConn,
    keys: &[String],
) -> Result<HashMap<String, BTreeSet<String>>, AppError> {
    let rows: Vec<(String, Option<String>, Option<String>)> = disclosures::table
        .filter(disclosures::object_type.eq(STIX))
        .filter(disclosures::object_id.eq_any(keys))
        .select((
            disclosures::object_id,
            disclosures::organisation_id,
            disclosures::recipients,
        ))
        .load(conn)?;
    let mut out: HashMap<String, BTreeSet<String>> = HashMap::new();
    for (key, org, recipients) in rows {
        let set = out.entry(key).or_default();
        set.extend(org);
        if let Some(r) = recipients {
            let list: Vec<Recipient> = serde_json::from_str(&r).unwrap_or_default();
            set.extend(list.into_iter().map(|r| r.organisation_id));
        }
    }
    Ok(out)
}

fn review(conn: &mut DbConn, p: &Payload, job_key: &str) -> Result<(), AppError> {
    let Some(row) = agreements::table
        .find(&p.agreement_id)
        .select(AgreementRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(());
    };
    // What the step may have taken away, and whether it gives back what it took before
    // (a resumption, a first version in force) or only what is new (an amendment).
    let cause = match p.step {
        Step::InForce if p.version > 1 => Some(WithdrawalCause::Amended),
        Step::InForce | Step::Resumed => None,
        Step::Suspended => Some(WithdrawalCause::Suspended),
        Step::Terminated => Some(WithdrawalCause::Terminated),
        Step::Expired => Some(WithdrawalCause::Expired),
    };
    let now = now_ms();
    let gives = matches!(p.step, Step::InForce | Step::Resumed);
    // Those told it was withdrawn hear it is back; others only of what they never had.
    let announce_all = p.step == Step::Resumed;
    // Every organisation that was ever a party knows the agreement and may be told about it.
    let parties: BTreeSet<String> = agreement_parties::table
        .filter(agreement_parties::agreement_id.eq(&row.id))
        .select(agreement_parties::organisation_id)
        .distinct()
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let keys: Vec<String> = stix_shares::table
        .filter(stix_shares::agreement_id.eq(&row.id))
        .order(stix_shares::object_id.asc())
        .select(stix_shares::object_id)
        .load(conn)?;
    let mut readers: BTreeMap<String, Reader> = BTreeMap::new();
    let mut parties_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // Per (organisation, agreement it is told of), what it was told was withdrawn.
    let mut withdrawn: BTreeMap<(String, String), Vec<StixObjectRow>> = BTreeMap::new();
    for chunk in keys.chunks(500) {
        let objects: Vec<StixObjectRow> = stix_objects::table
            .filter(stix_objects::key.eq_any(chunk))
            .order(stix_objects::key.asc())
            .select(StixObjectRow::as_select())
            .load(conn)?;
        let received = received_by(conn, chunk)?;
        for object in objects {
            if object.revoked {
                continue;
            }
            // TLP:RED never went organisation-wide: its named persons are told, by mail.
            if object.tlp == Tlp::Red.as_str() {
                let had = received.get(&object.key);
                review_red(
                    conn,
                    &row,
                    &object,
                    had,
                    cause,
                    gives,
                    announce_all,
                    job_key,
                )?;
                continue;
            }
            let shares = shares_of(conn, &object.key)?;
            // Who may have gained or lost it, and the agreement each knows it by: the parties
            // of this one, and those of agreements a recipient passed it on under.
            let mut candidates: BTreeMap<String, String> = parties
                .iter()
                .map(|o| (o.clone(), row.id.clone()))
                .collect();
            for s in shares
                .iter()
                .filter(|s| s.via.is_some() && s.agreement != row.id)
            {
                if !parties_of.contains_key(&s.agreement) {
                    let list = agreement_parties::table
                        .filter(agreement_parties::agreement_id.eq(&s.agreement))
                        .select(agreement_parties::organisation_id)
                        .distinct()
                        .load::<String>(conn)?;
                    parties_of.insert(s.agreement.clone(), list);
                }
                for org in &parties_of[&s.agreement] {
                    candidates
                        .entry(org.clone())
                        .or_insert_with(|| s.agreement.clone());
                }
            }
            let had = received.get(&object.key);
            let mut withdraw: BTreeMap<String, Vec<String>> = BTreeMap::new();
            let mut share = Vec::new();
            for (org, known_by) in candidates {
                if org == object.owner_id {
                    continue;
                }
                if !readers.contains_key(&org) {
                    let r = Reader::org_wide(conn, &org_caller(&org))?;
                    readers.insert(org.clone(), r);
                }
                let allowed = readers[&org]
                    .decide(conn, &org_caller(&org), &object, &shares)?
                    .allowed;
                let had = had.is_some_and(|r| r.contains(&org));
                match (allowed, had) {
                    (false, true) if cause.is_some() => {
                        withdraw.entry(known_by).or_default().push(org)
                    }
                    (true, false) if gives => share.push(org),
                    (true, true) if announce_all => share.push(org),
                    _ => {}
                }
            }
            if withdraw.is_empty() && share.is_empty() {
                continue;
            }
            let hash = versions::hash_of(conn, STIX, &object.key, object.version)?;
            if let Some(cause) = cause {
                for (agreement_id, audience) in withdraw {
                    let mut n = notice(&object, &hash)?;
                    n.withdrawn = Some(Withdrawal {
                        cause: if agreement_id == row.id {
                            cause
                        } else {
                            WithdrawalCause::Upstream
                        },
                        agreement_id: agreement_id.clone(),
                    });
                    frame(
                        conn,
                        &object,
                        EventKind::IndicatorRevoked,
                        n,
                        now,
                        &audience,
                    )?;
                    for org in audience {
                        withdrawn
                            .entry((org, agreement_id.clone()))
                            .or_default()
                            .push(object.clone());
                    }
                }
            }
            if !share.is_empty() {
                let n = notice(&object, &hash)?;
                frame(conn, &object, EventKind::IndicatorShared, n, now, &share)?;
            }
        }
    }
    if let Some(cause) = cause {
        let mut by_agreement: BTreeMap<String, BTreeMap<String, Vec<StixObjectRow>>> =
            BTreeMap::new();
        for ((org, agreement_id), objects) in withdrawn {
            by_agreement
                .entry(agreement_id)
                .or_default()
                .insert(org, objects);
        }
        for (agreement_id, groups) in by_agreement {
            let cause = if agreement_id == row.id {
                cause
            } else {
                WithdrawalCause::Upstream
            };
            mail_withdrawal(conn, &agreement_id, cause, &groups, job_key)?;
        }
    }
    Ok(())
}

/// The review of a TLP:RED object for the persons it names, each decided on their own
/// channels: one who received it and may no longer see it is told it was withdrawn; one it
/// reaches again (or for the first time) is told it is shared. `had`: the organisations
/// that received it.
#[allow(clippy::too_many_arguments)]
fn review_red(
    conn: &mut DbConn,
    agreement: &AgreementRow,
    object: &StixObjectRow,
    had: Option<&BTreeSet<String>>,
    cause: Option<WithdrawalCause>,
    gives: bool,
    announce_all: bool,
    job_key: &str,
) -> Result<(), AppError> {
    let people = named_people(conn, object)?;
    if people.is_empty() {
        return Ok(());
    }
    let shares = shares_of(conn, &object.key)?;
    let hash = versions::hash_of(conn, STIX, &object.key, object.version)?;
    let stamp = job_key.rsplit('.').next().unwrap_or("0");
    let version = agreement
        .in_force_version
        .unwrap_or(agreement.latest_version);
    let title = stored_terms(conn, &agreement.id, version)?.title;
    for user in people {
        let caller = person(&user);
        let allowed = Reader::new(conn, &caller)?
            .decide(conn, &caller, object, &shares)?
            .allowed;
        // Told already: it was disclosed to their organisation, or a mail about it to
        // them is queued or sent (a notice of its storing may not have left yet).
        let mailed: i64 = mail_outbox::table
            .filter(mail_outbox::object_type.eq(STIX))
            .filter(mail_outbox::object_id.eq(&object.key))
            .filter(mail_outbox::user_id.eq(&user.id))
            .count()
            .get_result(conn)?;
        let had = mailed > 0 || had.is_some_and(|h| h.contains(&user.organisation_id));
        let notice = match (allowed, had, cause) {
            (false, true, Some(cause)) => RedNotice::Withdrawn(format!(
                "The sharing agreement \u{201c}{title}\u{201d} it was shared with you under \
                     is {cause}: it no longer lets you hold it."
            )),
            (true, false, _) if gives => RedNotice::Shared,
            (true, true, _) if announce_all => RedNotice::Shared,
            _ => continue,
        };
        let tag = match &notice {
            RedNotice::Withdrawn(_) => format!("withdrawn.{stamp}"),
            _ => format!("shared.{stamp}"),
        };
        mail_red(conn, object, &hash, &user, &notice, &tag)?;
    }
    Ok(())
}

/// One mail per admin and analyst of each organisation told, listing what was withdrawn;
/// its disclosure names the agreement version whose step caused it.
fn mail_withdrawal(
    conn: &mut DbConn,
    agreement_id: &str,
    cause: WithdrawalCause,
    withdrawn: &BTreeMap<String, Vec<StixObjectRow>>,
    job_key: &str,
) -> Result<(), AppError> {
    let Some(agreement) = agreements::table
        .find(agreement_id)
        .select(AgreementRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(());
    };
    let version = agreement
        .in_force_version
        .unwrap_or(agreement.latest_version);
    let title = stored_terms(conn, &agreement.id, version)?.title;
    let hash = versions::hash_of(conn, AGREEMENT, &agreement.id, version)?;
    let why = if cause == WithdrawalCause::Upstream {
        format!(
            "The objects below were passed on to your organisation under the sharing agreement \
             \u{201c}{title}\u{201d}; the terms they came under no longer let them go on."
        )
    } else {
        format!(
            "The sharing agreement \u{201c}{title}\u{201d} is {cause}: it no longer lets your \
             organisation hold the objects below."
        )
    };
    let orgs: Vec<String> = withdrawn.keys().cloned().collect();
    let stamp = job_key.rsplit('.').next().unwrap_or("0");
    let link = format!("{BASE}/console/agreements");
    for user in staff(conn, &orgs)? {
        let objects = &withdrawn[&user.organisation_id];
        let listed: Vec<String> = objects
            .iter()
            .take(MAIL_LISTS)
            .map(|o| format!("{} {} (version {})", o.stix_type, o.stix_id, o.version))
            .collect();
        let more = objects.len().saturating_sub(MAIL_LISTS);
        let more_text = if more > 0 {
            format!("\n... and {more} more: see the console.\n")
        } else {
            String::new()
        };
        let subject = format!(
            "Withdrawn: {} object(s) shared under \u{201c}{title}\u{201d} ({cause})",
            objects.len()
        );
        let text = format!(
            "{why} Remove them from your detection and blocking.\n\n{}\n{more_text}\n\
             Agreements: {link}\n",
            listed.join("\n")
        );
        let items: String = objects
            .iter()
            .take(MAIL_LISTS)
            .map(|o| {
                format!(
                    "<li>{} {} (version {})</li>",
                    xml_escape(&o.stix_type),
                    xml_escape(&o.stix_id),
                    o.version
                )
            })
            .collect();
        let html = format!(
            "<!doctype html><html><body><h2>Objects withdrawn</h2><p>{} Remove them from your \
             detection and blocking.</p><ul>{items}</ul>{}<p><a href=\"{link}\">Agreements</a>\
             </p></body></html>",
            xml_escape(&why),
            if more > 0 {
                format!("<p>... and {more} more: see the console.</p>")
            } else {
                String::new()
            }
        );
        mail_person(
            conn,
            &user,
            format!(
                "<withdrawn.{}.{cause}.{stamp}.{}@{MSGID_DOMAIN}>",
                agreement.id, user.id
            ),
            Letter {
                subject,
                text,
                html,
            },
            (AGREEMENT, &agreement.id, version, &hash),
        )?;
    }
    Ok(())
}
