//! Sharing agreements between organisations: proposed by one party's admin, in force once
//! every party's admin accepted, suspended, resumed, terminated, expired by their own end.
//!
//! Each version's terms are a versioned record (RFC 8785 snapshot in `record_versions`), so
//! a disclosure that names an agreement version names exactly the terms it relied on. An
//! amendment is a new pending version: the version in force stays in force until every party
//! of the new one accepted it. Which organisation is a party of which version is kept in
//! `agreement_parties`, the index every "is this mine?" question reads: an organisation that
//! is not a party of the version in force or the pending one gets 404.

use super::terms::{stored_terms, terms_view, validate, write_version, AGREEMENT};
use super::withdrawals::{self, Step};
use crate::audit::{self, versions, Event};
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::{AppError, Check};
use crate::identity::Caller;
use crate::paging::{paged, Pagination};
use cirhub_shared::api::Paged;
use cirhub_shared::sharing::{self as s, AgreementKind, AgreementState, PartyRole};
use cirhub_shared::time::from_millis;
use diesel::prelude::*;

/// The state a reader sees: an active agreement past its end reads as expired.
fn effective_state(row: &AgreementRow, now: i64) -> Result<AgreementState, AppError> {
    let stored: AgreementState = parse_stored(&row.state, "agreement state")?;
    Ok(match (stored, row.effective_until) {
        (AgreementState::Active, Some(until)) if now >= until => AgreementState::Expired,
        (state, _) => state,
    })
}

/// The versions whose parties may see an agreement: the one in force and the pending one;
/// for an agreement that never came into force, its last version (so a declined proposal
/// stays readable to those it was put to).
fn live_versions(row: &AgreementRow) -> Vec<i32> {
    match (row.in_force_version, row.pending_version) {
        (None, None) => vec![row.latest_version],
        (f, p) => f.into_iter().chain(p).collect(),
    }
}

/// The agreement if the caller's organisation is a party of one of its live versions (see
/// [`live_versions`]); otherwise 404, as for an id that does not exist.
fn party_row(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<AgreementRow, AppError> {
    let row: Option<AgreementRow> = agreements::table
        .find(id)
        .select(AgreementRow::as_select())
        .first(conn)
        .optional()?;
    let row = row.ok_or(AppError::NotFound("agreement"))?;
    let party: i64 = agreement_parties::table
        .filter(agreement_parties::agreement_id.eq(id))
        .filter(agreement_parties::organisation_id.eq(&caller.org_id))
        .filter(agreement_parties::version.eq_any(live_versions(&row)))
        .count()
        .get_result(conn)?;
    if party == 0 {
        return Err(AppError::NotFound("agreement"));
    }
    Ok(row)
}

/// The caller's role in a version, if a party.
fn role_in(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    version: i32,
) -> Result<Option<PartyRole>, AppError> {
    let role: Option<String> = agreement_parties::table
        .find((id, version, &caller.org_id))
        .select(agreement_parties::role)
        .first(conn)
        .optional()?;
    role.map(|r| parse_stored(&r, "party role")).transpose()
}

/// The API form of an agreement for one of its parties.
fn to_api(
    conn: &mut DbConn,
    caller: &Caller,
    row: &AgreementRow,
) -> Result<s::Agreement, AppError> {
    let in_force = row
        .in_force_version
        .map(|v| terms_view(conn, caller, &row.id, v))
        .transpose()?;
    let pending = row
        .pending_version
        .map(|v| terms_view(conn, caller, &row.id, v))
        .transpose()?;
    let version = row
        .pending_version
        .or(row.in_force_version)
        .unwrap_or(row.latest_version);
    let mut my_role = role_in(conn, caller, &row.id, version)?;
    if my_role.is_none() {
        if let Some(v) = row.in_force_version {
            my_role = role_in(conn, caller, &row.id, v)?;
        }
    }
    let suspended_by = match &row.suspended_by {
        Some(org) => organisations::table
            .find(org)
            .select(organisations::slug)
            .first::<String>(conn)
            .optional()?,
        None => None,
    };
    Ok(s::Agreement {
        id: row.id.clone(),
        state: effective_state(row, now_ms())?,
        my_role: my_role.ok_or(AppError::NotFound("agreement"))?,
        in_force,
        pending,
        suspended_by,
        created_at: from_millis(row.created_at),
        updated_at: from_millis(row.updated_at),
    })
}

/// Audits one step for every party of the version it concerns (each party's log shows what
/// happened to an agreement it is party to), naming that version and its hash.
fn record(
    conn: &mut DbConn,
    caller: &Caller,
    row: &AgreementRow,
    action: &str,
    version: i32,
    detail: serde_json::Value,
) -> Result<s::Agreement, AppError> {
    let hash = versions::hash_of(conn, AGREEMENT, &row.id, version)?;
    let parties: Vec<String> = agreement_parties::table
        .filter(agreement_parties::agreement_id.eq(&row.id))
        .filter(agreement_parties::version.eq(version))
        .order(agreement_parties::organisation_id.asc())
        .select(agreement_parties::organisation_id)
        .load(conn)?;
    let detail = serde_json::json!({ "by": caller.org_id, "step": detail });
    let events: Vec<Event<'_>> = parties
        .iter()
        .map(|org| {
            Event::change(&caller.actor, org, action, AGREEMENT, &row.id)
                .snapshot(version, hash.clone())
                .detail(detail.clone())
        })
        .collect();
    audit::append_many(conn, &events)?;
    to_api(conn, caller, row)
}

fn save(conn: &mut DbConn, row: &AgreementRow) -> Result<(), AppError> {
    diesel::update(agreements::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

fn admin_reason(input: &s::AgreementAction) -> Result<String, AppError> {
    Check::new().max_len(&input.reason, "reason", 2000).done()?;
    Ok(input.reason.trim().to_owned())
}

/// An admin proposes an agreement; its own organisation accepts by proposing.
pub fn propose(
    conn: &mut DbConn,
    caller: &Caller,
    input: &s::AgreementTermsInput,
) -> Result<s::Agreement, AppError> {
    let now = now_ms();
    let terms = validate(conn, caller, input, now)?;
    let row = AgreementRow {
        id: new_id(),
        kind: terms.kind.as_str().into(),
        state: AgreementState::Proposed.as_str().into(),
        in_force_version: None,
        pending_version: Some(1),
        latest_version: 1,
        effective_from: None,
        effective_until: None,
        suspended_by: None,
        proposed_by: caller.org_id.clone(),
        created_at: now,
        updated_at: now,
    };
    diesel::insert_into(agreements::table)
        .values(&row)
        .execute(conn)?;
    write_version(conn, caller, &row.id, 1, &terms, now)?;
    let out = record(
        conn,
        caller,
        &row,
        "agreement.propose",
        1,
        serde_json::json!({}),
    )?;
    settle(conn, caller, row, 1, now, out)
}

/// Puts a pending version in force once every party accepted it.
fn settle(
    conn: &mut DbConn,
    caller: &Caller,
    mut row: AgreementRow,
    version: i32,
    now: i64,
    out: s::Agreement,
) -> Result<s::Agreement, AppError> {
    let waiting: i64 = agreement_parties::table
        .filter(agreement_parties::agreement_id.eq(&row.id))
        .filter(agreement_parties::version.eq(version))
        .filter(agreement_parties::accepted_at.is_null())
        .count()
        .get_result(conn)?;
    if waiting > 0 {
        return Ok(out);
    }
    let terms = stored_terms(conn, &row.id, version)?;
    row.in_force_version = Some(version);
    row.pending_version = None;
    row.effective_from = Some(terms.effective_from);
    row.effective_until = terms.effective_until;
    if row.state == AgreementState::Proposed.as_str() {
        row.state = AgreementState::Active.as_str().into();
    }
    row.updated_at = now;
    save(conn, &row)?;
    withdrawals::queue(conn, &row.id, Step::InForce, version, now)?;
    if let Some(until) = terms.effective_until {
        withdrawals::queue(conn, &row.id, Step::Expired, version, until)?;
    }
    record(
        conn,
        caller,
        &row,
        "agreement.in_force",
        version,
        serde_json::json!({}),
    )
}

/// A party's admin accepts the pending version (named, so nobody accepts unseen terms).
pub fn accept(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    input: &s::AcceptAgreement,
) -> Result<s::Agreement, AppError> {
    let row = party_row(conn, caller, id)?;
    let Some(pending) = row.pending_version else {
        return Err(AppError::Conflict(
            "Nothing of this agreement waits for acceptance.".into(),
        ));
    };
    if input.version != pending {
        return Err(AppError::Conflict(format!(
            "Version {} is not the pending one; version {pending} is: read it, then accept it.",
            input.version
        )));
    }
    let mine: Option<AgreementPartyRow> = agreement_parties::table
        .find((id, pending, &caller.org_id))
        .select(AgreementPartyRow::as_select())
        .first(conn)
        .optional()?;
    let Some(mine) = mine else {
        return Err(AppError::Forbidden(
            "Your organisation is not a party of the pending version.".into(),
        ));
    };
    if mine.accepted_at.is_some() {
        return to_api(conn, caller, &row);
    }
    let now = now_ms();
    diesel::update(agreement_parties::table.find((id, pending, &caller.org_id)))
        .set((
            agreement_parties::accepted_at.eq(now),
            agreement_parties::accepted_by.eq(caller.actor.id()),
        ))
        .execute(conn)?;
    let out = record(
        conn,
        caller,
        &row,
        "agreement.accept",
        pending,
        serde_json::json!({}),
    )?;
    settle(conn, caller, row, pending, now, out)
}

/// Whether the caller may change the agreement as a whole: either party of a bilateral one,
/// the coordinator of a community.
fn may_steer(conn: &mut DbConn, caller: &Caller, row: &AgreementRow) -> Result<(), AppError> {
    let version = row
        .in_force_version
        .or(row.pending_version)
        .unwrap_or(row.latest_version);
    let role = role_in(conn, caller, &row.id, version)?;
    if row.kind == AgreementKind::Community.as_str() && role != Some(PartyRole::Coordinator) {
        return Err(AppError::Forbidden(
            "Only the coordinator changes, suspends or ends a community agreement.".into(),
        ));
    }
    if role.is_none() {
        return Err(AppError::Forbidden(
            "Your organisation is not a party of the terms in force.".into(),
        ));
    }
    Ok(())
}

fn ended(row: &AgreementRow) -> Result<(), AppError> {
    if row.state == AgreementState::Terminated.as_str() {
        return Err(AppError::Conflict("The agreement is terminated.".into()));
    }
    Ok(())
}

/// A new version of the terms, pending until every party accepted it (the version in force
/// stays in force meanwhile); it replaces any version still pending.
pub fn amend(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    input: &s::AgreementTermsInput,
) -> Result<s::Agreement, AppError> {
    let mut row = party_row(conn, caller, id)?;
    ended(&row)?;
    may_steer(conn, caller, &row)?;
    if input.kind.as_str() != row.kind {
        return Err(AppError::field(
            "kind",
            format!(
                "stays {}; propose a new agreement for another kind",
                row.kind
            ),
        ));
    }
    let now = now_ms();
    let terms = validate(conn, caller, input, now)?;
    let version = row.latest_version + 1;
    row.latest_version = version;
    row.pending_version = Some(version);
    row.updated_at = now;
    save(conn, &row)?;
    write_version(conn, caller, id, version, &terms, now)?;
    let out = record(
        conn,
        caller,
        &row,
        "agreement.amend",
        version,
        serde_json::json!({}),
    )?;
    settle(conn, caller, row, version, now, out)
}

/// A party of the pending version declines it; a first proposal declined ends the agreement.
pub fn decline(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    input: &s::AgreementAction,
) -> Result<s::Agreement, AppError> {
    let reason = admin_reason(input)?;
    let mut row = party_row(conn, caller, id)?;
    let Some(pending) = row.pending_version else {
        return Err(AppError::Conflict(
            "Nothing of this agreement waits for acceptance.".into(),
        ));
    };
    if role_in(conn, caller, id, pending)?.is_none() {
        return Err(AppError::Forbidden(
            "Your organisation is not a party of the pending version.".into(),
        ));
    }
    row.pending_version = None;
    if row.in_force_version.is_none() {
        row.state = AgreementState::Terminated.as_str().into();
    }
    row.updated_at = now_ms();
    save(conn, &row)?;
    let detail = serde_json::json!({ "reason": reason });
    record(conn, caller, &row, "agreement.decline", pending, detail)
}

/// Suspends the agreement in force: nothing is shared under it until the suspending party
/// resumes it.
pub fn suspend(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    input: &s::AgreementAction,
) -> Result<s::Agreement, AppError> {
    let reason = admin_reason(input)?;
    let row = party_row(conn, caller, id)?;
    ended(&row)?;
    may_steer(conn, caller, &row)?;
    let state = effective_state(&row, now_ms())?;
    if state != AgreementState::Active {
        return Err(AppError::Conflict(format!(
            "The agreement is {state}, not active."
        )));
    }
    let by = Some(caller.org_id.clone());
    transition(
        conn,
        caller,
        row,
        AgreementState::Suspended,
        by,
        "agreement.suspend",
        &reason,
    )
}

/// Moves the agreement to `state` and audits the step against the version in force (or,
/// before one is, the newest).
fn transition(
    conn: &mut DbConn,
    caller: &Caller,
    mut row: AgreementRow,
    state: AgreementState,
    suspended_by: Option<String>,
    action: &str,
    reason: &str,
) -> Result<s::Agreement, AppError> {
    let version = row
        .in_force_version
        .or(row.pending_version)
        .unwrap_or(row.latest_version);
    row.state = state.as_str().into();
    row.suspended_by = suspended_by;
    row.updated_at = now_ms();
    save(conn, &row)?;
    let step = match state {
        AgreementState::Suspended => Some(Step::Suspended),
        AgreementState::Terminated => Some(Step::Terminated),
        AgreementState::Active => Some(Step::Resumed),
        _ => None,
    };
    if let (Some(step), Some(in_force)) = (step, row.in_force_version) {
        withdrawals::queue(conn, &row.id, step, in_force, row.updated_at)?;
    }
    let detail = serde_json::json!({ "reason": reason });
    record(conn, caller, &row, action, version, detail)
}

/// The party that suspended the agreement resumes it.
pub fn resume(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    input: &s::AgreementAction,
) -> Result<s::Agreement, AppError> {
    let reason = admin_reason(input)?;
    let row = party_row(conn, caller, id)?;
    if row.state != AgreementState::Suspended.as_str() {
        return Err(AppError::Conflict("The agreement is not suspended.".into()));
    }
    if row.suspended_by.as_deref() != Some(caller.org_id.as_str()) {
        return Err(AppError::Forbidden(
            "Only the organisation that suspended the agreement resumes it.".into(),
        ));
    }
    transition(
        conn,
        caller,
        row,
        AgreementState::Active,
        None,
        "agreement.resume",
        &reason,
    )
}

/// Ends the agreement for good (any pending version with it).
pub fn terminate(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    input: &s::AgreementAction,
) -> Result<s::Agreement, AppError> {
    let reason = admin_reason(input)?;
    let mut row = party_row(conn, caller, id)?;
    if row.state == AgreementState::Terminated.as_str() {
        return to_api(conn, caller, &row);
    }
    may_steer(conn, caller, &row)?;
    row.pending_version = None;
    let state = AgreementState::Terminated;
    transition(
        conn,
        caller,
        row,
        state,
        None,
        "agreement.terminate",
        &reason,
    )
}

pub fn get(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<s::Agreement, AppError> {
    let row = party_row(conn, caller, id)?;
    to_api(conn, caller, &row)
}

/// The agreements the caller's organisation is a party to, newest first.
pub fn list(
    conn: &mut DbConn,
    caller: &Caller,
    page: Pagination,
) -> Result<Paged<s::Agreement>, AppError> {
    let ids = my_agreement_ids(conn, &caller.org_id)?;
    let total = ids.len() as i64;
    let rows: Vec<AgreementRow> = agreements::table
        .filter(agreements::id.eq_any(&ids))
        .order((agreements::created_at.desc(), agreements::id.desc()))
        .offset(page.offset())
        .limit(page.limit())
        .select(AgreementRow::as_select())
        .load(conn)?;
    let items = rows
        .iter()
        .map(|r| to_api(conn, caller, r))
        .collect::<Result<_, _>>()?;
    Ok(paged(items, page, total))
}

/// Ids of the agreements `org` is a party to, in one of their live versions.
pub(super) fn my_agreement_ids(conn: &mut DbConn, org: &str) -> Result<Vec<String>, AppError> {
    Ok(my_agreements(conn, org)?
        .into_iter()
        .map(|row| row.id)
        .collect())
}

/// The agreements `org` is a party to in a live version, by id; one statement of a fixed
/// shape (every decision of every exit starts here).
pub(super) fn my_agreements(conn: &mut DbConn, org: &str) -> Result<Vec<AgreementRow>, AppError> {
    let rows: Vec<(i32, AgreementRow)> = crate::on_concrete!(conn, |c| agreement_parties::table
        .inner_join(agreements::table)
        .filter(agreement_parties::organisation_id.eq(org))
        .select((agreement_parties::version, AgreementRow::as_select()))
        .load(c))?;
    let mut live: Vec<AgreementRow> = rows
        .into_iter()
        .filter(|(v, row)| live_versions(row).contains(v))
        .map(|(_, row)| row)
        .collect();
    live.sort_by(|a, b| a.id.cmp(&b.id));
    live.dedup_by(|a, b| a.id == b.id);
    Ok(live)
}
