//! Incidents and scheduled maintenances: one table, one update timeline, one lifecycle.
//! Changes live here; reads (and their disclosures) in [`reads`].

use crate::audit::versions::INCIDENT;
use crate::audit::{self, Event};
use crate::catalogue::provider_org;
use crate::catalogue::{component_row, priority_policy, set_status};
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::{AppError, Check};
use crate::identity::Caller;
use cirhub_shared::api::{self, ComponentChange, ComponentStatusChange};
use cirhub_shared::time::to_millis;
use cirhub_shared::*;
use diesel::prelude::*;

pub mod history;
pub mod milestones;
mod reads;
pub mod record;
pub mod response_metrics;

pub use reads::{disclose, get, incident_row, list, to_api, update_to_api, ListFilter};

fn check_components(
    conn: &mut DbConn,
    provider: &str,
    field: &str,
    ids: &[&str],
) -> Result<Vec<ComponentRow>, AppError> {
    let mut rows = Vec::with_capacity(ids.len());
    let mut check = Check::new();
    for (i, id) in ids.iter().enumerate() {
        match component_row(conn, provider, id) {
            Ok(r) => rows.push(r),
            Err(AppError::NotFound(_)) => {
                check.ensure(
                    false,
                    &format!("{field}[{i}]"),
                    "no such component in your catalogue",
                );
            }
            Err(e) => return Err(e),
        }
    }
    check.done()?;
    Ok(rows)
}

/// Applies status changes, returning what changed (for the update's record).
fn apply_changes(
    conn: &mut DbConn,
    caller: &Caller,
    incident_id: &str,
    rows: &mut [ComponentRow],
    statuses: &[ComponentStatus],
) -> Result<Vec<ComponentChange>, AppError> {
    let mut changes = Vec::new();
    for (row, status) in rows.iter_mut().zip(statuses) {
        if let Some(c) = set_status(conn, &caller.actor, row, *status, Some(incident_id))? {
            changes.push(c);
        }
    }
    Ok(changes)
}

fn link_components(conn: &mut DbConn, incident_id: &str, ids: &[String]) -> Result<(), AppError> {
    for id in ids {
        let exists: i64 = incident_components::table
            .filter(incident_components::incident_id.eq(incident_id))
            .filter(incident_components::component_id.eq(id))
            .count()
            .get_result(conn)?;
        if exists == 0 {
            diesel::insert_into(incident_components::table)
                .values((
                    incident_components::incident_id.eq(incident_id),
                    incident_components::component_id.eq(id),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

fn insert_update(
    conn: &mut DbConn,
    caller: &Caller,
    incident_id: &str,
    status: IncidentStatus,
    body: &str,
    changes: &[ComponentChange],
    at: i64,
) -> Result<(), AppError> {
    diesel::insert_into(incident_updates::table)
        .values(&UpdateRow {
            id: new_id(),
            incident_id: incident_id.into(),
            status: status.as_str().into(),
            body: body.trim().into(),
            author_id: caller.actor.id().map(str::to_owned),
            author_name: caller.actor.display_name().into(),
            component_changes: serde_json::to_string(changes).map_err(anyhow::Error::from)?,
            created_at: at,
        })
        .execute(conn)?;
    Ok(())
}

/// Sets priority and due times from the provider's policy, counted from detection.
fn apply_policy(row: &mut IncidentRow, policy: &api::PriorityPolicy) -> Result<(), AppError> {
    let impact: Impact = parse_stored(&row.impact, "impact")?;
    let urgency: Urgency = parse_stored(&row.urgency, "urgency")?;
    let priority = policy.priority(impact, urgency);
    row.priority = priority.as_str().into();
    let target = policy.target(priority);
    let from = row.detected_at.unwrap_or(row.created_at);
    let due = |m: Option<u32>| m.map(|m| from + i64::from(m) * 60_000);
    row.response_due_at = target.and_then(|t| due(t.response_minutes));
    row.resolution_due_at = target.and_then(|t| due(t.resolution_minutes));
    Ok(())
}

/// Marks lifecycle timestamps that a status implies, once.
fn stamp_status(row: &mut IncidentRow, status: IncidentStatus, now: i64) {
    match status {
        IncidentStatus::Monitoring => {
            row.monitoring_at.get_or_insert(now);
        }
        IncidentStatus::Resolved | IncidentStatus::Postmortem | IncidentStatus::Completed => {
            row.resolved_at.get_or_insert(now);
        }
        _ => {}
    }
}

/// Records the change in the audit log and announces it (stream event; mails when
/// `announce`), all in the caller's transaction.
fn finish(
    conn: &mut DbConn,
    caller: &Caller,
    row: &IncidentRow,
    action: &str,
    announce: bool,
) -> Result<api::Incident, AppError> {
    finish_with(conn, caller, row, action, announce, None)
}

/// [`finish`] with the audit entry's detail (a milestone edit's reason).
fn finish_with(
    conn: &mut DbConn,
    caller: &Caller,
    row: &IncidentRow,
    action: &str,
    announce: bool,
    detail: Option<serde_json::Value>,
) -> Result<api::Incident, AppError> {
    let incident = to_api(conn, row)?;
    let hash = audit::versions::record(conn, INCIDENT, &row.id, row.version, &incident)?;
    let mut event = Event::change(&caller.actor, &caller.org_id, action, INCIDENT, &row.id)
        .snapshot(row.version, hash);
    event.detail = detail;
    audit::append(conn, event)?;
    crate::delivery::events::incident_changed(conn, row, row.version == 1, announce)?;
    crate::escalation::run::on_incident(conn, row, row.updated_at)?;
    Ok(incident)
}

/// Replaces the named audience: customers (by id or slug) with an active relationship.
fn set_audience(
    conn: &mut DbConn,
    provider: &str,
    incident_id: &str,
    visibility: Visibility,
    entries: &[String],
) -> Result<(), AppError> {
    if visibility != Visibility::Named {
        if !entries.is_empty() {
            return Err(AppError::field(
                "audience",
                "an audience applies only with visibility 'named'; leave it out or set visibility to named",
            ));
        }
    } else if entries.is_empty() {
        return Err(AppError::field(
            "audience",
            "name at least one customer (id or slug) for visibility 'named'",
        ));
    }
    let links = crate::customers::visibility::customers_of(conn, provider)?;
    let mut ids = Vec::new();
    let mut check = Check::new();
    for (i, e) in entries.iter().enumerate() {
        let slug_id: Option<String> = organisations::table
            .filter(organisations::slug.eq(e.trim()))
            .select(organisations::id)
            .first(conn)
            .optional()?;
        let id = slug_id.unwrap_or_else(|| e.trim().to_owned());
        let ok = links.iter().any(|l| l.rel.customer_id == id);
        check.ensure(
            ok,
            &format!("audience[{i}]"),
            "not a customer with an active relationship with you (give its id or slug)",
        );
        if ok && !ids.contains(&id) {
            ids.push(id);
        }
    }
    check.done()?;
    diesel::delete(
        incident_audiences::table.filter(incident_audiences::incident_id.eq(incident_id)),
    )
    .execute(conn)?;
    for id in ids {
        diesel::insert_into(incident_audiences::table)
            .values((
                incident_audiences::incident_id.eq(incident_id),
                incident_audiences::customer_id.eq(id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A new record at version 1 with no lifecycle timestamps; minor impact, low urgency, P5 and
/// unknown category until the caller sets them.
fn new_row(
    provider: &str,
    kind: IncidentKind,
    title: &str,
    status: IncidentStatus,
    visibility: Visibility,
    now: i64,
) -> IncidentRow {
    IncidentRow {
        id: new_id(),
        provider_id: provider.into(),
        kind: kind.as_str().into(),
        title: title.trim().into(),
        status: status.as_str().into(),
        impact: Impact::Minor.as_str().into(),
        urgency: Urgency::Low.as_str().into(),
        priority: Priority::P5.as_str().into(),
        category: Category::Unknown.as_str().into(),
        visibility: visibility.as_str().into(),
        version: 1,
        occurred_at: None,
        detected_at: None,
        acknowledged_at: None,
        contained_at: None,
        recovered_at: None,
        resolved_at: None,
        monitoring_at: None,
        scheduled_for: None,
        scheduled_until: None,
        response_due_at: None,
        resolution_due_at: None,
        created_at: now,
        updated_at: now,
        layer: Layer::Platform.as_str().into(),
        exercise: false,
    }
}

/// Opens an incident with its first update and the affected components' new statuses.
pub fn create(
    conn: &mut DbConn,
    caller: &Caller,
    input: &api::CreateIncident,
) -> Result<api::Incident, AppError> {
    let org = provider_org(conn, &caller.org_id)?;
    let status = input.status.unwrap_or(IncidentStatus::Investigating);
    Check::new()
        .text(&input.title, "title", 200)
        .text(&input.body, "body", 20_000)
        .ensure(
            status.valid_for(IncidentKind::Incident),
            "status",
            "must be investigating, identified, monitoring or resolved",
        )
        .done()?;
    let ids: Vec<&str> = input
        .components
        .iter()
        .map(|c| c.component_id.as_str())
        .collect();
    let mut comps = check_components(conn, &org.id, "components", &ids)?;
    let now = now_ms();
    let mut row = new_row(
        &org.id,
        IncidentKind::Incident,
        &input.title,
        status,
        input.visibility,
        now,
    );
    row.impact = input.impact.as_str().into();
    row.urgency = input.urgency.as_str().into();
    row.category = input.category.as_str().into();
    row.layer = input.layer.as_str().into();
    row.occurred_at = input.occurred_at.as_ref().map(to_millis);
    row.detected_at = Some(input.detected_at.as_ref().map(to_millis).unwrap_or(now));
    row.exercise = input.exercise;
    apply_policy(&mut row, &priority_policy(&org))?;
    stamp_status(&mut row, status, now);
    diesel::insert_into(incidents::table)
        .values(&row)
        .execute(conn)?;
    set_audience(conn, &org.id, &row.id, input.visibility, &input.audience)?;
    link_components(
        conn,
        &row.id,
        &comps.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
    )?;
    let statuses: Vec<ComponentStatus> = input.components.iter().map(|c| c.status).collect();
    let changes = apply_changes(conn, caller, &row.id, &mut comps, &statuses)?;
    insert_update(conn, caller, &row.id, status, &input.body, &changes, now)?;
    if let Some(intake) = &input.intake {
        let start = cirhub_shared::record::RecordInput {
            intake: intake.clone(),
            ..Default::default()
        };
        // A bad answer names its field as `intake.what` etc., and nothing is created.
        record::save(conn, caller, &row.id, &start)?;
    }
    finish(conn, caller, &row, "incident.create", true)
}

/// Schedules a maintenance.
pub fn create_maintenance(
    conn: &mut DbConn,
    caller: &Caller,
    input: &api::CreateMaintenance,
) -> Result<api::Incident, AppError> {
    let org = provider_org(conn, &caller.org_id)?;
    Check::new()
        .text(&input.title, "title", 200)
        .text(&input.body, "body", 20_000)
        .ensure(
            input.scheduled_until > input.scheduled_for,
            "scheduled_until",
            "must be after scheduled_for",
        )
        .done()?;
    let ids: Vec<&str> = input.component_ids.iter().map(String::as_str).collect();
    let comps = check_components(conn, &org.id, "component_ids", &ids)?;
    let now = now_ms();
    let mut row = new_row(
        &org.id,
        IncidentKind::Maintenance,
        &input.title,
        IncidentStatus::Scheduled,
        input.visibility,
        now,
    );
    row.scheduled_for = Some(to_millis(&input.scheduled_for));
    row.scheduled_until = Some(to_millis(&input.scheduled_until));
    diesel::insert_into(incidents::table)
        .values(&row)
        .execute(conn)?;
    set_audience(conn, &org.id, &row.id, input.visibility, &input.audience)?;
    link_components(
        conn,
        &row.id,
        &comps.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
    )?;
    insert_update(
        conn,
        caller,
        &row.id,
        IncidentStatus::Scheduled,
        &input.body,
        &[],
        now,
    )?;
    finish(conn, caller, &row, "maintenance.create", true)
}

/// Adds a timeline entry; moves status, component statuses, impact and urgency with it.
/// A maintenance going in progress puts its components under maintenance, and completing
/// it makes them operational again, unless the update names their statuses itself.
pub fn post_update(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    input: &api::PostUpdate,
) -> Result<api::Incident, AppError> {
    let org = provider_org(conn, &caller.org_id)?;
    let mut row = incident_row(conn, &org.id, id)?;
    let kind: IncidentKind = parse_stored(&row.kind, "kind")?;
    Check::new()
        .text(&input.body, "body", 20_000)
        .ensure(
            input.status.valid_for(kind),
            "status",
            match kind {
                IncidentKind::Incident => {
                    "must be investigating, identified, monitoring, resolved or postmortem"
                }
                IncidentKind::Maintenance => {
                    "must be scheduled, in_progress, verifying or completed"
                }
            },
        )
        .done()?;
    let mut changes_wanted: Vec<ComponentStatusChange> = input.components.clone();
    if kind == IncidentKind::Maintenance && input.components.is_empty() {
        let implied = match input.status {
            IncidentStatus::InProgress => Some(ComponentStatus::UnderMaintenance),
            IncidentStatus::Completed => Some(ComponentStatus::Operational),
            _ => None,
        };
        if let Some(status) = implied {
            let linked: Vec<String> = incident_components::table
                .filter(incident_components::incident_id.eq(id))
                .select(incident_components::component_id)
                .load(conn)?;
            changes_wanted = linked
                .into_iter()
                .map(|component_id| ComponentStatusChange {
                    component_id,
                    status,
                })
                .collect();
        }
    }
    let ids: Vec<&str> = changes_wanted
        .iter()
        .map(|c| c.component_id.as_str())
        .collect();
    let mut comps = check_components(conn, &org.id, "components", &ids)?;
    let now = now_ms();
    link_components(
        conn,
        id,
        &comps.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
    )?;
    let statuses: Vec<ComponentStatus> = changes_wanted.iter().map(|c| c.status).collect();
    let changes = apply_changes(conn, caller, id, &mut comps, &statuses)?;
    insert_update(conn, caller, id, input.status, &input.body, &changes, now)?;
    row.status = input.status.as_str().into();
    if let Some(i) = input.impact {
        row.impact = i.as_str().into();
    }
    if let Some(u) = input.urgency {
        row.urgency = u.as_str().into();
    }
    if kind == IncidentKind::Incident && (input.impact.is_some() || input.urgency.is_some()) {
        apply_policy(&mut row, &priority_policy(&org))?;
    }
    stamp_status(&mut row, input.status, now);
    row.version += 1;
    row.updated_at = now;
    diesel::update(incidents::table.find(id))
        .set(&row)
        .execute(conn)?;
    finish(conn, caller, &row, "incident.update", true)
}

/// Changes classification, visibility or lifecycle timestamps.
pub fn patch(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    input: &api::PatchIncident,
) -> Result<api::Incident, AppError> {
    let org = provider_org(conn, &caller.org_id)?;
    let mut row = incident_row(conn, &org.id, id)?;
    if let Some(t) = &input.title {
        Check::new().text(t, "title", 200).done()?;
        row.title = t.trim().into();
    }
    if let Some(v) = input.impact {
        row.impact = v.as_str().into();
    }
    if let Some(v) = input.urgency {
        row.urgency = v.as_str().into();
    }
    if let Some(v) = input.category {
        row.category = v.as_str().into();
    }
    if let Some(v) = input.layer {
        row.layer = v.as_str().into();
    }
    if input.visibility.is_some() || input.audience.is_some() {
        let v = input
            .visibility
            .unwrap_or(parse_stored(&row.visibility, "visibility")?);
        let entries = match &input.audience {
            Some(a) => a.clone(),
            None if v == Visibility::Named => {
                crate::customers::visibility::named_audience(conn, id)?
            }
            None => Vec::new(),
        };
        set_audience(conn, &org.id, id, v, &entries)?;
        row.visibility = v.as_str().into();
    }
    if let Some(x) = input.exercise {
        row.exercise = x;
    }
    let edits = milestones::apply(&mut row, input, now_ms())?;
    if parse_stored::<IncidentKind>(&row.kind, "kind")? == IncidentKind::Incident {
        apply_policy(&mut row, &priority_policy(&org))?;
    }
    row.version += 1;
    row.updated_at = now_ms();
    diesel::update(incidents::table.find(id))
        .set(&row)
        .execute(conn)?;
    let detail = milestones::record(conn, caller, &row, &edits, input.reason.as_deref())?;
    finish_with(conn, caller, &row, "incident.patch", false, detail)
}

/// Stores the current version of every incident written before versions were kept (run at
/// start, after migrations): its snapshot is taken from the row as it stands.
pub fn backfill_versions(conn: &mut DbConn) -> Result<usize, AppError> {
    let have = audit::versions::stored_keys(conn, INCIDENT)?;
    let rows: Vec<IncidentRow> = incidents::table
        .select(IncidentRow::as_select())
        .load(conn)?;
    let mut n = 0;
    for row in rows
        .iter()
        .filter(|r| !have.contains(&(r.id.clone(), r.version)))
    {
        let incident = to_api(conn, row)?;
        audit::versions::record(conn, INCIDENT, &row.id, row.version, &incident)?;
        n += 1;
    }
    Ok(n)
}
