//! Lifecycle milestones (occurrence, detection, acknowledgement, containment, recovery):
//! one recorded as it happens ("mark contained now") needs nothing more; one changed after
//! the fact — set already, or backdated — needs a reason and is kept with who made it,
//! because the response metrics are computed from these instants.

use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::{AppError, Check};
use crate::identity::Caller;
use cirhub_shared::api;
use cirhub_shared::metrics::MilestoneEdit;
use cirhub_shared::time::{from_millis, to_millis};
use diesel::prelude::*;

/// One milestone's change: (name, old, new).
pub type Edit = (&'static str, Option<i64>, i64);

/// How far from now a milestone set for the first time may be and still count as recorded
/// as it happens ("mark contained now"), not as an edit after the fact.
const NOW_MS: i64 = 5 * 60_000;

/// Whether a change rewrites history: a milestone that was set already, or one set for the
/// first time to an instant away from now (backdated).
pub fn is_edit(e: &Edit, now: i64) -> bool {
    e.1.is_some() || (e.2 - now).abs() > NOW_MS
}

/// Applies the milestones a patch gives to `row` and returns what changed. An edit (see
/// [`is_edit`]) needs a reason; the instants must keep their order (nothing before the
/// occurrence or the detection).
pub fn apply(
    row: &mut IncidentRow,
    input: &api::PatchIncident,
    now: i64,
) -> Result<Vec<Edit>, AppError> {
    let given = [
        ("occurred_at", input.occurred_at),
        ("detected_at", input.detected_at),
        ("acknowledged_at", input.acknowledged_at),
        ("contained_at", input.contained_at),
        ("recovered_at", input.recovered_at),
    ];
    let reason = input.reason.as_deref().map(str::trim).unwrap_or("");
    Check::new().max_len(reason, "reason", 2000).done()?;
    let mut edits = Vec::new();
    for (name, value) in given {
        let Some(t) = value else { continue };
        let new = to_millis(&t);
        let slot = slot(row, name);
        if *slot != Some(new) {
            edits.push((name, *slot, new));
            *slot = Some(new);
        }
    }
    if edits.is_empty() {
        return Ok(edits);
    }
    let mut check = Check::new();
    check.ensure(
        !reason.is_empty() || !edits.iter().any(|e| is_edit(e, now)),
        "reason",
        "say why the milestones change (a set milestone, or one set to a time other than now): the response metrics are computed from them, and the reason is kept with the edit",
    );
    if let (Some(o), Some(d)) = (row.occurred_at, row.detected_at) {
        check.ensure(o <= d, "detected_at", "must not be before occurred_at");
    }
    for name in ["acknowledged_at", "contained_at", "recovered_at"] {
        let at = *slot(row, name);
        if let (Some(at), Some(d)) = (at, row.detected_at) {
            check.ensure(at >= d, name, "must not be before detected_at");
        }
        if let (Some(at), Some(o)) = (at, row.occurred_at) {
            check.ensure(at >= o, name, "must not be before occurred_at");
        }
    }
    check.done()?;
    Ok(edits)
}

fn slot<'r>(row: &'r mut IncidentRow, name: &str) -> &'r mut Option<i64> {
    match name {
        "occurred_at" => &mut row.occurred_at,
        "detected_at" => &mut row.detected_at,
        "acknowledged_at" => &mut row.acknowledged_at,
        "contained_at" => &mut row.contained_at,
        _ => &mut row.recovered_at,
    }
}

/// Keeps the edits of a patch that produced `row`'s version, and returns the audit detail
/// naming them and the reason (`None` when no milestone changed).
pub fn record(
    conn: &mut DbConn,
    caller: &Caller,
    row: &IncidentRow,
    edits: &[Edit],
    reason: Option<&str>,
) -> Result<Option<serde_json::Value>, AppError> {
    if edits.is_empty() {
        return Ok(None);
    }
    let reason = reason.unwrap_or("").trim();
    let now = now_ms();
    let rows: Vec<MilestoneEditRow> = edits
        .iter()
        .filter(|e| is_edit(e, now))
        .map(|(name, old, new)| MilestoneEditRow {
            id: new_id(),
            incident_id: row.id.clone(),
            incident_version: row.version,
            milestone: (*name).into(),
            old_at: *old,
            new_at: *new,
            reason: reason.into(),
            actor_id: caller.actor.id().map(Into::into),
            actor_name: caller.actor.display_name().into(),
            at: now,
        })
        .collect();
    for r in &rows {
        diesel::insert_into(milestone_edits::table)
            .values(r)
            .execute(conn)?;
    }
    let changes: serde_json::Map<String, serde_json::Value> = edits
        .iter()
        .map(|(name, old, new)| {
            (
                (*name).to_string(),
                serde_json::json!({"old": old.map(from_millis), "new": from_millis(*new)}),
            )
        })
        .collect();
    Ok(Some(serde_json::json!({
        "milestones": changes,
        "reason": (!reason.is_empty()).then_some(reason),
    })))
}

/// Every milestone edit of one of the caller's incidents, oldest first (the provider's
/// record; a customer is answered 404).
pub fn list(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<Vec<MilestoneEdit>, AppError> {
    super::reads::incident_row(conn, &caller.org_id, id)?;
    let rows: Vec<MilestoneEditRow> = milestone_edits::table
        .filter(milestone_edits::incident_id.eq(id))
        .order((milestone_edits::at.asc(), milestone_edits::milestone.asc()))
        .select(MilestoneEditRow::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| MilestoneEdit {
            milestone: r.milestone,
            old_at: r.old_at.map(from_millis),
            new_at: from_millis(r.new_at),
            reason: r.reason,
            actor_id: r.actor_id,
            actor_name: r.actor_name,
            at: from_millis(r.at),
            incident_version: r.incident_version,
        })
        .collect())
}

/// How many edits each incident has had.
pub fn counts(
    conn: &mut DbConn,
    ids: &[String],
) -> Result<std::collections::HashMap<String, u32>, AppError> {
    let mut out = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(String, i64)> = milestone_edits::table
            .filter(milestone_edits::incident_id.eq_any(chunk))
            .group_by(milestone_edits::incident_id)
            .select((milestone_edits::incident_id, diesel::dsl::count_star()))
            .load(conn)?;
        out.extend(rows.into_iter().map(|(k, n)| (k, n as u32)));
    }
    Ok(out)
}
