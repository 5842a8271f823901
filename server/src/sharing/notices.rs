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
use cirhub_shared::customer::StreamEvent;
use cirhub_shared::sharing::{IndicatorNotice, Tlp};
use cirhub_shared::time::from_millis;
use cirhub_shared::{EventKind, Role};
use diesel::prelude::*;
use std::collections::{BTreeSet, HashMap};

/// The organisations other than the owner that an object, shared under the agreements it
/// is shared under, may reach now (organisation-wide, as the stream is); with `only`, the
/// parties of that one agreement.
fn entitled(
    conn: &mut DbConn,
    row: &StixObjectRow,
    only: Option<&str>,
) -> Result<BTreeSet<String>, AppError> {
    let shared = super::reads::shares_of(conn, &row.key)?;
    let ids: Vec<&String> = shared
        .iter()
        .map(|s| &s.agreement)
        .filter(|a| only.is_none_or(|o| o == a.as_str()))
        .collect();
    let parties: BTreeSet<String> = agreement_parties::table
        .filter(agreement_parties::agreement_id.eq_any(ids))
        .filter(agreement_parties::organisation_id.ne(&row.owner_id))
        .select(agreement_parties::organisation_id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let mut out = BTreeSet::new();
    for org in parties {
        let reader = super::reads::org_caller(&org);
        if Reader::org_wide(conn, &reader)?
            .decide(conn, &reader, row, &shared)?
            .allowed
        {
            out.insert(org);
        }
    }
    Ok(out)
}

/// Every organisation other than the owner that any version of the object was disclosed to.
fn received(conn: &mut DbConn, row: &StixObjectRow) -> Result<BTreeSet<String>, AppError> {
    let mut out = super::withdrawals::received_by(conn, std::slice::from_ref(&row.key))?
        .remove(&row.key)
        .unwrap_or_default();
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

/// A mail's subject and bodies.
pub(super) struct Letter {
    pub(super) subject: String,
    pub(super) text: String,
    pub(super) html: String,
}

/// Queues a mail to one user about one stored version, `(object type, id, version, hash)`,
/// which its delivery discloses.
pub(super) fn mail_person(
    conn: &mut DbConn,
    user: &UserRow,
    message_id: String,
    letter: Letter,
    object: (&str, &str, i32, &str),
) -> Result<(), AppError> {
    queue_mail(
        conn,
        MailContent {
            message_id,
            organisation_id: user.organisation_id.clone(),
            user_id: Some(user.id.clone()),
            recipient: user.email.clone(),
            subject: letter.subject,
            body_text: letter.text,
            body_html: letter.html,
            thread_id: None,
            unsubscribe_url: None,
            object_type: object.0.into(),
            object_id: object.1.into(),
            object_version: Some(object.2),
            object_hash: Some(object.3.into()),
        },
    )?;
    Ok(())
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

/// Announces the new objects of an import batch, all shared under the same agreements: the
/// audience is worked out once per (TLP, category), not once per object.
pub(super) fn announce_imported(
    conn: &mut DbConn,
    rows: &[(StixObjectRow, String)],
) -> Result<(), AppError> {
    let mut audiences: HashMap<(String, String), Vec<String>> = HashMap::new();
    for (row, hash) in rows {
        if row.revoked || row.tlp == Tlp::Red.as_str() {
            announce(conn, row, hash)?;
            continue;
        }
        let group = (row.tlp.clone(), row.category.clone());
        if !audiences.contains_key(&group) {
            let audience = entitled(conn, row, None)?.into_iter().collect();
            audiences.insert(group.clone(), audience);
        }
        let audience = &audiences[&group];
        if !audience.is_empty() {
            let n = notice(row, hash)?;
            frame(
                conn,
                row,
                EventKind::IndicatorShared,
                n,
                row.updated_at,
                audience,
            )?;
        }
    }
    Ok(())
}

/// Announces an object passed on under `agreement` to that agreement's parties it reaches.
pub(super) fn announce_under(
    conn: &mut DbConn,
    row: &StixObjectRow,
    hash: &str,
    agreement: &str,
) -> Result<(), AppError> {
    let audience: Vec<String> = entitled(conn, row, Some(agreement))?.into_iter().collect();
    if audience.is_empty() || row.revoked {
        return Ok(());
    }
    let n = notice(row, hash)?;
    frame(
        conn,
        row,
        EventKind::IndicatorShared,
        n,
        now_ms(),
        &audience,
    )
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
        escalation: None,
        clock_alert: None,
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
    if row.tlp == Tlp::Red.as_str() {
        return mail_named(conn, row, hash);
    }
    let audience: Vec<String> = if row.revoked {
        let mut all = received(conn, row)?;
        all.extend(entitled(conn, row, None)?);
        all.into_iter().collect()
    } else {
        entitled(conn, row, None)?.into_iter().collect()
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

/// What a named person of a TLP:RED object is told.
pub(super) enum RedNotice {
    /// It reaches them now (stored, changed, or back after an agreement resumed).
    Shared,
    /// Its source revoked it.
    Revoked,
    /// The agreement it came under no longer lets them hold it; the text says why.
    Withdrawn(String),
}

/// The persons outside its owner that a TLP:RED object names, who have an account.
pub(super) fn named_people(
    conn: &mut DbConn,
    row: &StixObjectRow,
) -> Result<Vec<UserRow>, AppError> {
    let named = super::reads::named_recipients(row)?;
    if named.is_empty() {
        return Ok(Vec::new());
    }
    Ok(users::table
        .filter(users::email.eq_any(&named))
        .filter(users::deleted_at.is_null())
        .filter(users::organisation_id.ne(&row.owner_id))
        .order(users::email.asc())
        .select(UserRow::as_select())
        .load(conn)?)
}

/// The principal of a named person, for a decision on their own channels.
pub(super) fn person(user: &UserRow) -> Caller {
    Caller {
        org_id: user.organisation_id.clone(),
        role: Role::Viewer,
        actor: Actor::User {
            id: user.id.clone(),
            name: user.name.clone(),
        },
        session_id: None,
    }
}

/// TLP:RED reaches named persons only, so its notices are mails to them: to each named
/// person the policy lets it reach when it is shared or changed, and to each named person of
/// an organisation that received it when it is revoked. Nothing goes on the stream.
fn mail_named(conn: &mut DbConn, row: &StixObjectRow, hash: &str) -> Result<(), AppError> {
    let people = named_people(conn, row)?;
    if people.is_empty() {
        return Ok(());
    }
    let shared = super::reads::shares_of(conn, &row.key)?;
    let had = if row.revoked {
        received(conn, row)?
    } else {
        BTreeSet::new()
    };
    for user in people {
        let told = if row.revoked {
            had.contains(&user.organisation_id)
        } else {
            let caller = person(&user);
            Reader::new(conn, &caller)?
                .decide(conn, &caller, row, &shared)?
                .allowed
        };
        if !told {
            continue;
        }
        let (notice, tag) = if row.revoked {
            (RedNotice::Revoked, "revoked")
        } else {
            (RedNotice::Shared, "shared")
        };
        mail_red(conn, row, hash, &user, &notice, tag)?;
    }
    Ok(())
}

/// One mail to one named person of a TLP:RED object; `tag` makes its message id unique
/// among the notices of that version to that person.
pub(super) fn mail_red(
    conn: &mut DbConn,
    row: &StixObjectRow,
    hash: &str,
    user: &UserRow,
    notice: &RedNotice,
    tag: &str,
) -> Result<(), AppError> {
    let link = format!("{BASE}/console/indicators/{}", row.key);
    let (subject, lead) = match notice {
        RedNotice::Revoked => (
            format!("Revoked: TLP:RED {} {}", row.stix_type, row.stix_id),
            "A TLP:RED object you were named to receive has been revoked by its source."
                .to_string(),
        ),
        RedNotice::Shared => (
            format!("TLP:RED for you: {} {}", row.stix_type, row.stix_id),
            "A TLP:RED object names you as one of its recipients. TLP:RED is for you \
             only: do not pass it on, not even within your organisation."
                .to_string(),
        ),
        RedNotice::Withdrawn(why) => (
            format!("Withdrawn: TLP:RED {} {}", row.stix_type, row.stix_id),
            format!("{why} Remove it from your detection and blocking."),
        ),
    };
    let text = format!(
        "{lead}\n\nObject: {} {}\nVersion: {} (SHA-256 {hash})\n\nRead it: {link}\n",
        row.stix_type, row.stix_id, row.version
    );
    let html = format!(
        "<!doctype html><html><body><p>{}</p><ul><li>Object: {} {}</li><li>Version: {} \
         (SHA-256 {hash})</li></ul><p><a href=\"{link}\">Read it</a></p></body></html>",
        xml_escape(&lead),
        xml_escape(&row.stix_type),
        xml_escape(&row.stix_id),
        row.version
    );
    mail_person(
        conn,
        user,
        format!(
            "<red.{}.{}.{}.{tag}@{MSGID_DOMAIN}>",
            row.key, row.version, user.id
        ),
        Letter {
            subject,
            text,
            html,
        },
        (STIX, &row.key, row.version, hash),
    )
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
        mail_person(
            conn,
            &user,
            format!(
                "<revoked.{}.{}.{}@{MSGID_DOMAIN}>",
                row.key, row.version, user.id
            ),
            Letter {
                subject: subject.clone(),
                text: text.clone(),
                html: html.clone(),
            },
            (STIX, &row.key, row.version, hash),
        )?;
    }
    Ok(())
}
