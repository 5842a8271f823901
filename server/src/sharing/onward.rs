//! Passing on: an organisation that received an object from its owner shares it under one of
//! its own agreements (owner A -> B -> C). The object stays the owner's — one record, its
//! marking and versions as the owner makes them, so the origin's constraints travel with it
//! and no hop lowers them — and every read by C is decided along the whole path: A-B must
//! let B pass it on (none < clients < community; TLP:AMBER only to B's clients, AMBER+STRICT
//! and RED never), and B-C must cover it. The owner is never named to C. Only what came from
//! the owner may be passed on (one hop); the owner's receipts list every read by C.

use super::notices::announce_under;
use super::objects::{agreements_to_share_under, STIX};
use super::reads::{org_caller, readable, Reader, Share};
use crate::audit::{versions, Event};
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::AppError;
use crate::identity::Caller;
use cirhub_shared::sharing as s;
use diesel::prelude::*;

/// The recipient `caller` passes the object `key` on under `input.agreement_id`. (The
/// caller then reads the object through the disclosing read path.)
pub fn pass_on(
    conn: &mut DbConn,
    caller: &Caller,
    key: &str,
    input: &s::ShareObject,
) -> Result<(), AppError> {
    let (row, decision) = readable(conn, caller, key)?;
    let Some(decision) = decision else {
        return Err(AppError::Conflict(
            "Your organisation owns this object: share it with POST /api/v1/stix-objects/{key}/shares."
                .into(),
        ));
    };
    if decision.passed_on_by.is_some() {
        return Err(AppError::Conflict(
            "This object was passed on to your organisation; only what an organisation \
             received from the owner may be passed on."
                .into(),
        ));
    }
    let agreement =
        agreements_to_share_under(conn, caller, std::slice::from_ref(&input.agreement_id))
            .map_err(|_| {
                AppError::field(
                    "agreement_id",
                    "no agreement in force that your organisation is a party to has this id",
                )
            })?
            .remove(0);
    let share = Share {
        agreement: agreement.clone(),
        via: Some(caller.org_id.clone()),
    };
    // It must reach someone: a party of the agreement other than the owner and the caller
    // that the whole path lets it reach.
    let parties: Vec<String> = agreement_parties::table
        .inner_join(agreements::table.on(agreements::id.eq(agreement_parties::agreement_id)))
        .filter(agreement_parties::agreement_id.eq(&agreement))
        .filter(agreements::in_force_version.eq(agreement_parties::version.nullable()))
        .filter(agreement_parties::organisation_id.ne(&caller.org_id))
        .filter(agreement_parties::organisation_id.ne(&row.owner_id))
        .select(agreement_parties::organisation_id)
        .load(conn)?;
    let mut reaches = false;
    for org in parties {
        let reader = org_caller(&org);
        let d = Reader::org_wide(conn, &reader)?.decide(
            conn,
            &reader,
            &row,
            std::slice::from_ref(&share),
        )?;
        if d.allowed {
            reaches = true;
            break;
        }
    }
    if !reaches {
        return Err(AppError::field(
            "agreement_id",
            "the terms this object reached your organisation under do not let it go on under \
             this agreement (their onward sharing, its TLP or its category)",
        ));
    }
    let q = diesel::insert_into(stix_shares::table)
        .values((
            stix_shares::object_id.eq(key),
            stix_shares::agreement_id.eq(&agreement),
            stix_shares::shared_at.eq(now_ms()),
            stix_shares::shared_by.eq(caller.actor.id()),
            stix_shares::via.eq(&caller.org_id),
        ))
        .on_conflict_do_nothing();
    let added = match conn {
        DbConn::Sqlite(c) => q.execute(c)?,
        DbConn::Postgres(c) => q.execute(c)?,
    };
    if added == 1 {
        let hash = versions::hash_of(conn, STIX, key, row.version)?;
        announce_under(conn, &row, &hash, &agreement)?;
        // In the log of the one who passed it on, and of the owner (who learns by whom,
        // not under which of the other's agreements).
        crate::audit::append_many(
            conn,
            &[
                Event::change(&caller.actor, &caller.org_id, "stix.pass_on", STIX, key)
                    .detail(serde_json::json!({ "agreement_id": agreement })),
                Event::change(&caller.actor, &row.owner_id, "stix.passed_on", STIX, key)
                    .detail(serde_json::json!({ "by": caller.org_id })),
            ],
        )?;
    }
    Ok(())
}

/// The organisation that passed the object on under `agreement_id` stops doing so: from the
/// next request on it reaches nobody that way. (It may no longer read the object itself.)
pub fn stop_passing_on(
    conn: &mut DbConn,
    caller: &Caller,
    key: &str,
    agreement_id: &str,
) -> Result<(), AppError> {
    let n = diesel::delete(
        stix_shares::table
            .filter(stix_shares::object_id.eq(key))
            .filter(stix_shares::agreement_id.eq(agreement_id))
            .filter(stix_shares::via.eq(&caller.org_id)),
    )
    .execute(conn)?;
    if n == 0 {
        return Err(AppError::NotFound("share"));
    }
    crate::audit::append(
        conn,
        Event::change(
            &caller.actor,
            &caller.org_id,
            "stix.stop_passing_on",
            STIX,
            key,
        )
        .detail(serde_json::json!({ "agreement_id": agreement_id })),
    )?;
    Ok(())
}
