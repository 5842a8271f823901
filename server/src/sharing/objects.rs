//! STIX objects owned by organisations and shared under agreements. Each version is a
//! record version (`record_versions`, object type `stix`, keyed by the hub's object key);
//! `stix_objects` holds the newest version's facts, `stix_versions` every version in the
//! order it was added (the cursor TAXII pages by), `stix_shares` the agreements an object is
//! shared under. Every read by another organisation asks [`super::policy::decide`] with the terms
//! of exactly those agreements, and stages a disclosure naming the version, the agreement
//! and the decision.

use super::policy::Terms;
use super::reads::view;
use super::stix;
use super::terms;
use crate::audit::{versions, Event};
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::{AppError, Check};
use crate::identity::Caller;
use cirhub_shared::sharing::{self as s, AgreementState, Tlp};
use diesel::prelude::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Object type of STIX object versions (record versions, disclosures, audit entries).
pub const STIX: &str = "stix";

fn owned_row(conn: &mut DbConn, caller: &Caller, key: &str) -> Result<StixObjectRow, AppError> {
    stix_objects::table
        .find(key)
        .filter(stix_objects::owner_id.eq(&caller.org_id))
        .select(StixObjectRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound("STIX object"))
}

/// The agreement ids `share_under` names, each one in force with the caller as a party.
pub(super) fn agreements_to_share_under(
    conn: &mut DbConn,
    caller: &Caller,
    ids: &[String],
) -> Result<Vec<String>, AppError> {
    if ids.len() > 100 {
        return Err(AppError::field("share_under", "at most 100 agreements"));
    }
    let mine: BTreeMap<String, Terms> = terms::terms_for(conn, &caller.org_id)?
        .into_iter()
        .map(|t| (t.agreement_id.clone(), t))
        .collect();
    let now = now_ms();
    let mut out = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let ok = mine
            .get(id)
            .is_some_and(|t| t.state == AgreementState::Active && t.in_force(now));
        if !ok {
            return Err(AppError::field(
                format!("share_under[{i}]"),
                "no agreement in force that your organisation is a party to has this id",
            ));
        }
        if !out.contains(id) {
            out.push(id.clone());
        }
    }
    Ok(out)
}

pub(super) fn add_shares(
    conn: &mut DbConn,
    caller: &Caller,
    key: &str,
    agreement_ids: &[String],
) -> Result<(), AppError> {
    let now = now_ms();
    for a in agreement_ids {
        let exists: i64 = stix_shares::table.find((key, a)).count().get_result(conn)?;
        if exists > 0 {
            // The owner's own share replaces a recipient's passing on under it.
            diesel::update(stix_shares::table.find((key, a)))
                .set(stix_shares::via.eq(None::<String>))
                .execute(conn)?;
        } else {
            diesel::insert_into(stix_shares::table)
                .values((
                    stix_shares::object_id.eq(key),
                    stix_shares::agreement_id.eq(a),
                    stix_shares::shared_at.eq(now),
                    stix_shares::shared_by.eq(caller.actor.id()),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// What storing a checked object did.
pub(super) enum Stored {
    /// A new object (version 1) or a new version of one; the version's hash.
    Written {
        row: StixObjectRow,
        created: bool,
        hash: String,
    },
    /// The same version again: nothing written.
    Same(StixObjectRow),
}

/// Stores a checked object of `org`: a new object, or a new version of one it owns (same
/// STIX id, later `modified`); the same version sent again writes nothing. Writes the
/// object, its version and index entries; shares and audit are the caller's. Every refusal
/// (422, 409) comes before the first write: a TAXII envelope and an import rely on that to
/// go on with their other objects in the same transaction.
pub(super) fn store(
    conn: &mut DbConn,
    org: &str,
    checked: &stix::Checked,
) -> Result<Stored, AppError> {
    let existing: Option<StixObjectRow> = stix_objects::table
        .filter(stix_objects::owner_id.eq(org))
        .filter(stix_objects::stix_id.eq(&checked.id))
        .select(StixObjectRow::as_select())
        .first(conn)
        .optional()?;
    let now = now_ms();
    let body = Value::Object(checked.object.clone());
    let (row, created) = match existing {
        None => {
            let row = StixObjectRow {
                key: new_id(),
                stix_id: checked.id.clone(),
                owner_id: org.to_owned(),
                stix_type: checked.stix_type.clone(),
                category: checked.category.as_str().into(),
                tlp: checked.tlp.as_str().into(),
                version: 1,
                modified: checked.modified.clone(),
                revoked: checked.revoked,
                created_at: now,
                updated_at: now,
                named_recipients: None,
            };
            diesel::insert_into(stix_objects::table)
                .values(&row)
                .execute(conn)?;
            (row, true)
        }
        Some(mut row) => {
            let (stored, _) = versions::stored_or_fail(conn, STIX, &row.key, row.version)?;
            if versions::canonical(&body)? == stored {
                return Ok(Stored::Same(row));
            }
            if !checked.versioned() {
                return Err(AppError::Conflict(
                    "Cyber-observables are not versioned: this id already names other content."
                        .into(),
                ));
            }
            if checked.modified <= row.modified {
                return Err(AppError::field(
                    "object.modified",
                    format!(
                        "must be later than the newest version's ({}) for a new version",
                        row.modified.as_deref().unwrap_or("none")
                    ),
                ));
            }
            if checked.stix_type != row.stix_type {
                return Err(AppError::field(
                    "object.type",
                    "a new version keeps its type",
                ));
            }
            if row.revoked {
                return Err(AppError::Conflict(
                    "The object is revoked: a revoked object has no later versions.".into(),
                ));
            }
            row.version += 1;
            row.category = checked.category.as_str().into();
            row.tlp = checked.tlp.as_str().into();
            row.modified = checked.modified.clone();
            row.revoked = checked.revoked;
            row.updated_at = now;
            diesel::update(stix_objects::table.find(&row.key))
                .set(&row)
                .execute(conn)?;
            (row, false)
        }
    };
    let hash = versions::record(conn, STIX, &row.key, row.version, &body)?;
    diesel::insert_into(stix_versions::table)
        .values((
            stix_versions::object_key.eq(&row.key),
            stix_versions::version.eq(row.version),
            stix_versions::modified.eq(&row.modified),
            stix_versions::revoked.eq(row.revoked),
            stix_versions::added_at.eq(now),
        ))
        .execute(conn)?;
    super::lookup::index(conn, &row.key, &row.stix_type, &checked.object, !created)?;
    Ok(Stored::Written { row, created, hash })
}

/// How `org`'s object with a checked object's id compares with it, for imports.
pub(super) enum Held {
    /// Its newest version says the same apart from the timestamps (`created`, `modified`,
    /// `valid_from`): a file without timestamps (CSV, MISP) sent again names no new version.
    Same(String),
    /// Its newest version has the same `modified` but other content: the same version
    /// named twice; the first one stands.
    SameVersion,
}

/// Whether `org` holds an object with the checked object's id that an import should not
/// store again.
pub(super) fn held(
    conn: &mut DbConn,
    org: &str,
    checked: &stix::Checked,
) -> Result<Option<Held>, AppError> {
    let held: Option<(String, i32, Option<String>)> = stix_objects::table
        .filter(stix_objects::owner_id.eq(org))
        .filter(stix_objects::stix_id.eq(&checked.id))
        .select((
            stix_objects::key,
            stix_objects::version,
            stix_objects::modified,
        ))
        .first(conn)
        .optional()?;
    let Some((key, version, modified)) = held else {
        return Ok(None);
    };
    let (stored, _) = versions::stored_or_fail(conn, STIX, &key, version)?;
    let Ok(Value::Object(mut old)) = serde_json::from_str::<Value>(&stored) else {
        return Ok(None);
    };
    let mut new = checked.object.clone();
    for k in ["created", "modified", "valid_from"] {
        old.remove(k);
        new.remove(k);
    }
    Ok(if old == new {
        Some(Held::Same(key))
    } else if checked.versioned() && modified == checked.modified {
        Some(Held::SameVersion)
    } else {
        None
    })
}

/// Stores an object of the caller's organisation ([`store`]) and shares it under the
/// agreements named. Returns the object as its owner sees it and whether it was created.
pub fn put(
    conn: &mut DbConn,
    caller: &Caller,
    input: &s::PutStixObject,
) -> Result<(s::StixObject, bool), AppError> {
    let checked = stix::check(input.object.clone(), &caller.org_id, "object")?;
    let named = named_recipients(input, checked.tlp)?;
    let shares = agreements_to_share_under(conn, caller, &input.share_under)?;
    let (row, created, hash) = match store(conn, &caller.org_id, &checked)? {
        Stored::Same(mut row) => {
            add_shares(conn, caller, &row.key, &shares)?;
            if let Some(named) = named.filter(|n| *n != row.named_recipients) {
                row.named_recipients = named;
                save_recipients(conn, &row)?;
                crate::audit::append(
                    conn,
                    Event::change(
                        &caller.actor,
                        &caller.org_id,
                        "stix.recipients",
                        STIX,
                        &row.key,
                    )
                    .detail(serde_json::json!({ "named_recipients": row.named_recipients })),
                )?;
            }
            return Ok((view(conn, caller, &row, None)?, false));
        }
        Stored::Written { row, created, hash } => (row, created, hash),
    };
    let mut row = row;
    if let Some(named) = named {
        row.named_recipients = named;
        save_recipients(conn, &row)?;
    }
    add_shares(conn, caller, &row.key, &shares)?;
    super::notices::announce(conn, &row, &hash)?;
    let action = if created {
        "stix.create"
    } else if row.revoked {
        "stix.revoke"
    } else {
        "stix.version"
    };
    crate::audit::append(
        conn,
        Event::change(&caller.actor, &caller.org_id, action, STIX, &row.key)
            .snapshot(row.version, hash)
            .detail(
                serde_json::json!({ "stix_id": row.stix_id, "shared_under": shares,
                "named_recipients": row.named_recipients }),
            ),
    )?;
    Ok((view(conn, caller, &row, None)?, created))
}

/// The persons a TLP:RED object is to reach, checked: `Some(None)` clears the list, `None`
/// keeps it. Lower-case, sorted, each once.
fn named_recipients(
    input: &s::PutStixObject,
    tlp: Tlp,
) -> Result<Option<Option<String>>, AppError> {
    let Some(list) = &input.named_recipients else {
        return Ok(None);
    };
    let mut check = Check::new();
    check.ensure(
        list.is_empty() || tlp == Tlp::Red,
        "named_recipients",
        "only a TLP:RED object names its recipients: mark it TLP:RED or leave the list out",
    );
    check.ensure(list.len() <= 100, "named_recipients", "at most 100 persons");
    for (i, email) in list.iter().enumerate() {
        let field = format!("named_recipients[{i}]");
        let email = email.trim();
        check
            .ensure(
                email.contains('@') && email.len() <= 254 && !email.contains(char::is_whitespace),
                &field,
                "must be an e-mail address",
            )
            .chars(email, &field);
    }
    check.done()?;
    let set: BTreeSet<String> = list.iter().map(|e| e.trim().to_lowercase()).collect();
    if set.is_empty() {
        return Ok(Some(None));
    }
    let json = serde_json::to_string(&set).map_err(anyhow::Error::from)?;
    Ok(Some(Some(json)))
}

fn save_recipients(conn: &mut DbConn, row: &StixObjectRow) -> Result<(), AppError> {
    diesel::update(stix_objects::table.find(&row.key))
        .set(stix_objects::named_recipients.eq(&row.named_recipients))
        .execute(conn)?;
    Ok(())
}

/// Shares an object under one more agreement in force.
pub fn share(
    conn: &mut DbConn,
    caller: &Caller,
    key: &str,
    input: &s::ShareObject,
) -> Result<s::StixObject, AppError> {
    let row = owned_row(conn, caller, key)?;
    let ids = agreements_to_share_under(conn, caller, std::slice::from_ref(&input.agreement_id))
        .map_err(|_| {
            AppError::field(
                "agreement_id",
                "no agreement in force that your organisation is a party to has this id",
            )
        })?;
    add_shares(conn, caller, key, &ids)?;
    let hash = versions::hash_of(conn, STIX, key, row.version)?;
    super::notices::announce(conn, &row, &hash)?;
    crate::audit::append(
        conn,
        Event::change(&caller.actor, &caller.org_id, "stix.share", STIX, key)
            .detail(serde_json::json!({ "agreement_id": input.agreement_id })),
    )?;
    view(conn, caller, &row, None)
}

/// Stops sharing an object under an agreement: no exit serves it under that agreement from
/// the next request on.
pub fn unshare(
    conn: &mut DbConn,
    caller: &Caller,
    key: &str,
    agreement_id: &str,
) -> Result<s::StixObject, AppError> {
    let row = owned_row(conn, caller, key)?;
    let n = diesel::delete(stix_shares::table.find((key, agreement_id))).execute(conn)?;
    if n == 0 {
        return Err(AppError::NotFound("share"));
    }
    crate::audit::append(
        conn,
        Event::change(&caller.actor, &caller.org_id, "stix.unshare", STIX, key)
            .detail(serde_json::json!({ "agreement_id": agreement_id })),
    )?;
    view(conn, caller, &row, None)
}
