//! Notices of shared objects, written in the transaction that stores the version they
//! announce. A new or changed object goes out on the stream (`indicator.shared`) to every
//! organisation the policy lets it reach now; a revoked one (`indicator.revoked`) to every
//! organisation that received any version of it — by any channel, under any agreement, even
//! one no longer in force — on the stream and by mail to its admins and analysts. A notice
//! names the object and the version, never the source. Each frame and mail is a disclosure
//! of that version in the journal, so the owner's receipts show who was told.

use super::objects::STIX;
use super::reads::Reader;
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::delivery::notify::{queue_mail, BASE, MSGID_DOMAIN};
use crate::error::AppError;
use crate::identity::{Actor, Caller};
use crate::publishing::feeds::xml_escape;
use cirhub_shared::api::Recipient;
use cirhub_shared::customer::StreamEvent;
use cirhub_shared::sharing::IndicatorNotice;
use cirhub_shared::time::from_millis;
use cirhub_shared::{EventKind, Role};
use diesel::prelude::*;
use std::collections::BTreeSet;

/// The organisations other than the owner that an object, shared under the agreements it
/// is shared under, may reach now (organisation-wide, as the stream is).
fn entitled(conn: &mut DbConn, row: &StixObjectRow) -> Result<BTreeSet<String>, AppError> {
    let shared = super::reads::shares_of(conn, &row.key)?;
    let parties: BTreeSet<String> = agreement_parties::table
        .filter(agreement_parties::agreement_id.eq_any(&shared))
        .filter(agreement_parties::organisation_id.ne(&row.owner_id))
        .select(agreement_parties::organisation_id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let mut out = BTreeSet::new();
    for org in parties {
        let reader = Caller {
            org_id: org.clone(),
            role: Role::Viewer,
            actor: Actor::System,
            session_id: None,
        };
        if Reader::new(conn, &reader)?
            .decide(&reader, row, &shared)?
            .allowed
        {
            out.insert(org);
        }
    }
    Ok(out)
}

/// Every organisation other than the owner that any version of the object was disclosed to.
fn received(conn: &mut DbConn, row: &StixObjectRow) -> Result<BTreeSet<String>, AppError> {
    let rows: Vec<(Option<String>, Option<String>)> = disclosures::table
        .filter(disclosures::object_type.eq(STIX))
        .filter(disclosures::object_id.eq(&row.key))
        .select((disclosures::organisation_id, disclosures::recipients))
        .load(conn)?;
    let mut out = BTreeSet::new();
    for (org, recipients) in rows {
        out.extend(org);
        if let Some(r) = recipients {
            let list: Vec<Recipient> = serde_json::from_str(&r).unwrap_or_default();
            out.extend(list.into_iter().map(|r| r.organisation_id));
        }
    }
    out.retain(|o| *o != row.owner_id && !o.is_empty());
    Ok(out)
}

/// The notice of a stored version whose SHA-256 is `hash`.
pub(super) fn notice(row: &StixObjectRow, hash: &str) -> Result<IndicatorNotice, AppError> {
    Ok(IndicatorNotice {
        key: row.key.clone(),
        stix_id: row.stix_id.clone(),
        stix_type: row.stix_type.clone(),
        tlp: parse_stored(&row.tlp, "TLP")?,
        version: row.version,
        revoked: row.revoked,
        hash: hash.to_owned(),
        withdrawn: None,
    })
}

/// The admins and analysts of `orgs`, who are mailed what is revoked or withdrawn.
pub(super) fn staff(conn: &mut DbConn, orgs: &[String]) -> Result<Vec<UserRow>, AppError> {
    Ok(users::table
        .filter(users::organisation_id.eq_any(orgs))
        .filter(users::deleted_at.is_null())
        .filter(users::role.eq_any([Role::Admin.as_str(), Role::Analyst.as_str()]))
        .order(users::email.asc())
        .select(UserRow::as_select())
        .load(conn)?)
}

/// Appends one stream frame about `row`'s newest version, at `at`, for `audience`.
pub(super) fn frame(
    conn: &mut DbConn,
    row: &StixObjectRow,
    kind: EventKind,
    notice: IndicatorNotice,
    at: i64,
    audience: &[String],
) -> Result<(), AppError> {
    let event = StreamEvent {
        seq: 0,
        kind,
        at: from_millis(at),
        provider_id: String::new(),
        incident: None,
        component: None,
        acknowledgement: None,
        indicator: Some(notice),
    };
    crate::delivery::events::append(
        conn,
        event,
        (STIX, &row.key, Some(row.version)),
        false,
        audience,
    )?;
    Ok(())
}

/// Announces a stored version of an object (see the module documentation).
pub fn announce(conn: &mut DbConn, row: &StixObjectRow, hash: &str) -> Result<(), AppError> {
    let audience: Vec<String> = if row.revoked {
        let mut all = received(conn, row)?;
        all.extend(entitled(conn, row)?);
        all.into_iter().collect()
    } else {
        entitled(conn, row)?.into_iter().collect()
    };
    if audience.is_empty() {
        return Ok(());
    }
    let kind = if row.revoked {
        EventKind::IndicatorRevoked
    } else {
        EventKind::IndicatorShared
    };
    frame(
        conn,
        row,
        kind,
        notice(row, hash)?,
        row.updated_at,
        &audience,
    )?;
    if row.revoked {
        mail_revocation(conn, row, hash, &audience)?;
    }
    Ok(())
}

/// Mails a revocation to the admins and analysts of every organisation in `orgs`.
fn mail_revocation(
    conn: &mut DbConn,
    row: &StixObjectRow,
    hash: &str,
    orgs: &[String],
) -> Result<(), AppError> {
    let people = staff(conn, orgs)?;
    let link = format!("{BASE}/console/indicators/{}", row.key);
    let subject = format!("Revoked: {} {}", row.stix_type, row.stix_id);
    let text = format!(
        "An indicator your organisation received through cirhub has been revoked by its source.\n\n\
         Object: {} {}\nVersion: {} (SHA-256 {hash})\nTLP: {}\n\n\
         Remove it from your detection and blocking: {link}\n",
        row.stix_type,
        row.stix_id,
        row.version,
        row.tlp.to_uppercase()
    );
    let html = format!(
        "<!doctype html><html><body><h2>Indicator revoked</h2><p>An indicator your organisation \
         received through cirhub has been revoked by its source.</p><ul><li>Object: {} {}</li>\
         <li>Version: {} (SHA-256 {hash})</li><li>TLP: {}</li></ul><p><a href=\"{link}\">Remove \
         it from your detection and blocking</a></p></body></html>",
        xml_escape(&row.stix_type),
        xml_escape(&row.stix_id),
        row.version,
        xml_escape(&row.tlp.to_uppercase())
    );
    for user in people {
        queue_mail(
            conn,
            MailContent {
                message_id: format!(
                    "<revoked.{}.{}.{}@{MSGID_DOMAIN}>",
                    row.key, row.version, user.id
                ),
                organisation_id: user.organisation_id.clone(),
                user_id: Some(user.id.clone()),
                recipient: user.email.clone(),
                subject: subject.clone(),
                body_text: text.clone(),
                body_html: html.clone(),
                thread_id: None,
                unsubscribe_url: None,
                object_type: STIX.into(),
                object_id: row.key.clone(),
                object_version: Some(row.version),
                object_hash: Some(hash.to_owned()),
            },
        )?;
    }
    Ok(())
}
