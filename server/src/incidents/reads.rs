//! Reading incidents and maintenances: their API form with components and timeline, one
//! or a filtered page of a provider's; every read of a non-public one by a caller is staged
//! as a disclosure naming the stored version shown.

use crate::audit::versions::INCIDENT;
use crate::audit::{self, Event};
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::AppError;
use crate::identity::Caller;
use crate::paging::paged;
use crate::paging::Pagination;
use cirhub_shared::api::{self, Paged};
use cirhub_shared::time::from_millis;
use cirhub_shared::*;
use diesel::prelude::*;

/// Filters of the incident list.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ListFilter {
    pub kind: Option<IncidentKind>,
    /// Only those not yet resolved / completed.
    pub open: Option<bool>,
    pub visibility: Option<Visibility>,
}

/// Builds the API form of an incident with its components and timeline (newest first).
pub fn to_api(conn: &mut DbConn, row: &IncidentRow) -> Result<api::Incident, AppError> {
    let component_ids: Vec<String> = incident_components::table
        .filter(incident_components::incident_id.eq(&row.id))
        .select(incident_components::component_id)
        .order(incident_components::component_id.asc())
        .load(conn)?;
    let updates: Vec<UpdateRow> = incident_updates::table
        .filter(incident_updates::incident_id.eq(&row.id))
        .order((
            incident_updates::created_at.desc(),
            incident_updates::id.desc(),
        ))
        .select(UpdateRow::as_select())
        .load(conn)?;
    let updates = updates
        .iter()
        .map(update_to_api)
        .collect::<Result<_, _>>()?;
    Ok(api::Incident {
        id: row.id.clone(),
        provider_id: row.provider_id.clone(),
        kind: parse_stored(&row.kind, "kind")?,
        title: row.title.clone(),
        status: parse_stored(&row.status, "status")?,
        impact: parse_stored(&row.impact, "impact")?,
        urgency: parse_stored(&row.urgency, "urgency")?,
        priority: parse_stored(&row.priority, "priority")?,
        category: parse_stored(&row.category, "category")?,
        visibility: parse_stored(&row.visibility, "visibility")?,
        layer: parse_stored(&row.layer, "layer")?,
        audience: crate::customers::visibility::named_audience(conn, &row.id)?,
        component_ids,
        version: row.version,
        occurred_at: row.occurred_at.map(from_millis),
        detected_at: row.detected_at.map(from_millis),
        acknowledged_at: row.acknowledged_at.map(from_millis),
        contained_at: row.contained_at.map(from_millis),
        recovered_at: row.recovered_at.map(from_millis),
        resolved_at: row.resolved_at.map(from_millis),
        monitoring_at: row.monitoring_at.map(from_millis),
        scheduled_for: row.scheduled_for.map(from_millis),
        scheduled_until: row.scheduled_until.map(from_millis),
        response_due_at: row.response_due_at.map(from_millis),
        resolution_due_at: row.resolution_due_at.map(from_millis),
        created_at: from_millis(row.created_at),
        updated_at: from_millis(row.updated_at),
        exercise: row.exercise,
        updates,
    })
}

pub fn update_to_api(u: &UpdateRow) -> Result<api::IncidentUpdate, AppError> {
    Ok(api::IncidentUpdate {
        id: u.id.clone(),
        incident_id: u.incident_id.clone(),
        status: parse_stored(&u.status, "status")?,
        body: u.body.clone(),
        author_id: u.author_id.clone(),
        author_name: u.author_name.clone(),
        component_changes: serde_json::from_str(&u.component_changes).unwrap_or_default(),
        created_at: from_millis(u.created_at),
    })
}

pub fn incident_row(conn: &mut DbConn, provider: &str, id: &str) -> Result<IncidentRow, AppError> {
    incidents::table
        .find(id)
        .filter(incidents::provider_id.eq(provider))
        .select(IncidentRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound("incident"))
}

/// Records that `caller` was shown this version of a non-public incident (staged in the
/// disclosure journal; the handler's [`crate::audit::Journal::read`] commits it first).
pub fn disclose(
    conn: &mut DbConn,
    caller: &Caller,
    incidents: &[api::Incident],
    channel: Channel,
) -> Result<(), AppError> {
    let shown: Vec<&api::Incident> = incidents
        .iter()
        .filter(|i| i.visibility != Visibility::Public)
        .collect();
    let keys: Vec<(&str, i32)> = shown.iter().map(|i| (i.id.as_str(), i.version)).collect();
    let hashes = audit::versions::hashes(conn, INCIDENT, &keys)?;
    let events: Vec<Event<'_>> = shown
        .iter()
        .map(|i| {
            Event::disclosure(
                &caller.actor,
                &caller.org_id,
                INCIDENT,
                &i.id,
                Some(i.version),
                hashes.get(&(i.id.clone(), i.version)).cloned(),
                channel,
            )
        })
        .collect();
    audit::journal::stage(&events, false)?;
    Ok(())
}

/// The current version of one incident as stored: its canonical bytes (RFC 8785) are the
/// body of the answer, so the hash its disclosure names is the hash of exactly what was sent.
pub struct Snapshot {
    pub body: String,
    pub version: i32,
    pub hash: String,
}

/// One incident of the caller's organisation, served from its stored snapshot: two point
/// reads (the current version, its snapshot) instead of rebuilding it from five queries.
pub fn get(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<Snapshot, AppError> {
    let (version, visibility): (i32, String) = crate::on_concrete!(conn, |c| incidents::table
        .find(id)
        .filter(incidents::provider_id.eq(&caller.org_id))
        .select((incidents::version, incidents::visibility))
        .first(c)
        .optional())?
    .ok_or(AppError::NotFound("incident"))?;
    let (body, hash) = audit::versions::stored_or_fail(conn, INCIDENT, id, version)?;
    if visibility != Visibility::Public.as_str() {
        let event = Event::disclosure(
            &caller.actor,
            &caller.org_id,
            INCIDENT,
            id,
            Some(version),
            Some(hash.clone()),
            Channel::Http,
        );
        audit::journal::stage(&[event], false)?;
    }
    Ok(Snapshot {
        body,
        version,
        hash,
    })
}

pub fn list(
    conn: &mut DbConn,
    caller: &Caller,
    filter: &ListFilter,
    page: Pagination,
) -> Result<Paged<api::Incident>, AppError> {
    let build = || {
        let mut q = incidents::table
            .filter(incidents::provider_id.eq(&caller.org_id))
            .into_boxed();
        if let Some(kind) = filter.kind {
            q = q.filter(incidents::kind.eq(kind.as_str()));
        }
        if let Some(v) = filter.visibility {
            q = q.filter(incidents::visibility.eq(v.as_str()));
        }
        match filter.open {
            Some(true) => {
                q = q.filter(incidents::status.ne_all(["resolved", "postmortem", "completed"]))
            }
            Some(false) => {
                q = q.filter(incidents::status.eq_any(["resolved", "postmortem", "completed"]))
            }
            None => {}
        }
        q
    };
    let total: i64 = build().count().get_result(conn)?;
    let rows: Vec<IncidentRow> = build()
        .order((incidents::created_at.desc(), incidents::id.desc()))
        .offset(page.offset())
        .limit(page.limit())
        .select(IncidentRow::as_select())
        .load(conn)?;
    let items = rows
        .iter()
        .map(|r| to_api(conn, r))
        .collect::<Result<Vec<_>, _>>()?;
    disclose(conn, caller, &items, Channel::Http)?;
    Ok(paged(items, page, total))
}
