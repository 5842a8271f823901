//! Stream events: written in the transaction of the change they announce, with the audience
//! the policy check allowed, and a sequence number assigned under the audit-chain lock so
//! that events commit in sequence order (a reader never sees seq N+1 before N).

use crate::customers::visibility;
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::AppError;
use crate::incidents::update_to_api;
use crate::publishing::status_view::{self, Reader};
use cirhub_shared::customer::{Acknowledgement, ComponentRef, IncidentSummary, StreamEvent};
use cirhub_shared::time::from_millis;
use cirhub_shared::{EventKind, IncidentKind, IncidentStatus, Visibility};
use diesel::prelude::*;

/// Components with their service names and region codes, in the given order.
pub fn component_refs(conn: &mut DbConn, ids: &[String]) -> Result<Vec<ComponentRef>, AppError> {
    let rows: Vec<(ComponentRow, String, Option<String>)> = components::table
        .inner_join(services::table)
        .left_join(regions::table)
        .filter(components::id.eq_any(ids))
        .select((
            ComponentRow::as_select(),
            services::name,
            regions::code.nullable(),
        ))
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for id in ids {
        if let Some((c, service, region)) = rows.iter().find(|(c, _, _)| &c.id == id) {
            out.push(ComponentRef {
                id: c.id.clone(),
                name: c.name.clone(),
                provider_id: c.provider_id.clone(),
                service_id: c.service_id.clone(),
                service_name: service.clone(),
                region_id: c.region_id.clone(),
                region_code: region.clone(),
                status: parse_stored(&c.status, "component status")?,
            });
        }
    }
    Ok(out)
}

/// The components an incident names.
pub fn incident_component_ids(conn: &mut DbConn, id: &str) -> Result<Vec<String>, AppError> {
    Ok(incident_components::table
        .filter(incident_components::incident_id.eq(id))
        .select(incident_components::component_id)
        .order(incident_components::component_id.asc())
        .load(conn)?)
}

/// What a stream event says about an incident.
pub fn summary(conn: &mut DbConn, row: &IncidentRow) -> Result<IncidentSummary, AppError> {
    let provider_name: String = organisations::table
        .find(&row.provider_id)
        .select(organisations::name)
        .first(conn)?;
    let ids = incident_component_ids(conn, &row.id)?;
    let latest: Option<UpdateRow> = incident_updates::table
        .filter(incident_updates::incident_id.eq(&row.id))
        .order((
            incident_updates::created_at.desc(),
            incident_updates::id.desc(),
        ))
        .select(UpdateRow::as_select())
        .first(conn)
        .optional()?;
    // Statuses as everyone this event reaches may know them (the provider alone: all).
    let reader = if row.visibility == Visibility::Internal.as_str() {
        Reader::Provider
    } else {
        Reader::Audience(row)
    };
    Ok(IncidentSummary {
        id: row.id.clone(),
        provider_id: row.provider_id.clone(),
        provider_name,
        kind: parse_stored(&row.kind, "kind")?,
        title: row.title.clone(),
        status: parse_stored(&row.status, "status")?,
        impact: parse_stored(&row.impact, "impact")?,
        priority: parse_stored(&row.priority, "priority")?,
        layer: parse_stored(&row.layer, "layer")?,
        visibility: parse_stored(&row.visibility, "visibility")?,
        version: row.version,
        components: status_view::refs(conn, &ids, reader)?,
        latest_update: latest.as_ref().map(update_to_api).transpose()?,
        updated_at: from_millis(row.updated_at),
    })
}

/// The event kind of an incident change.
pub fn incident_kind(row: &IncidentRow, created: bool) -> Result<EventKind, AppError> {
    let kind: IncidentKind = parse_stored(&row.kind, "kind")?;
    let status: IncidentStatus = parse_stored(&row.status, "status")?;
    Ok(match (kind, created) {
        (IncidentKind::Maintenance, true) => EventKind::MaintenanceScheduled,
        (IncidentKind::Maintenance, false) => EventKind::MaintenanceUpdated,
        (IncidentKind::Incident, true) => EventKind::IncidentCreated,
        (IncidentKind::Incident, false) if status.is_closed() => EventKind::IncidentResolved,
        (IncidentKind::Incident, false) => EventKind::IncidentUpdated,
    })
}

/// Appends an event; returns it with its sequence number. Call inside the change's
/// transaction, after the audit entry (whose lock it relies on).
pub fn append(
    conn: &mut DbConn,
    mut event: StreamEvent,
    object: (&str, &str, Option<i32>),
    provider_only: bool,
    audience: &[String],
) -> Result<StreamEvent, AppError> {
    crate::effects::note(|e| e.events = true);
    crate::audit::lock_chain(conn)?;
    let last: Option<i64> = events::table
        .select(diesel::dsl::max(events::seq))
        .first(conn)?;
    event.seq = last.unwrap_or(0) + 1;
    let payload = serde_json::to_string(&event).map_err(anyhow::Error::from)?;
    // A frame about a versioned record names the stored version it announces.
    let object_hash = match object {
        (crate::audit::versions::INCIDENT | crate::sharing::objects::STIX, id, Some(v)) => {
            Some(crate::audit::versions::hash_of(conn, object.0, id, v)?)
        }
        _ => None,
    };
    diesel::insert_into(events::table)
        .values(&EventRow {
            seq: event.seq,
            at: now_ms(),
            kind: event.kind.as_str().into(),
            provider_id: event.provider_id.clone(),
            object_type: object.0.into(),
            object_id: object.1.into(),
            object_version: object.2,
            provider_only,
            audience: serde_json::to_string(audience).map_err(anyhow::Error::from)?,
            payload,
            object_hash,
        })
        .execute(conn)?;
    Ok(event)
}

/// Records the event of an incident change and enqueues its mails.
pub fn incident_changed(
    conn: &mut DbConn,
    row: &IncidentRow,
    created: bool,
    announce: bool,
) -> Result<StreamEvent, AppError> {
    let audience = visibility::incident_audience(conn, row)?;
    let summary = summary(conn, row)?;
    let event = StreamEvent {
        seq: 0,
        kind: incident_kind(row, created)?,
        at: from_millis(row.updated_at),
        provider_id: row.provider_id.clone(),
        incident: Some(summary),
        component: None,
        acknowledgement: None,
        indicator: None,
        escalation: None,
        clock_alert: None,
    };
    let event = append(
        conn,
        event,
        ("incident", &row.id, Some(row.version)),
        audience.is_empty() && row.visibility == "internal",
        &audience,
    )?;
    if announce {
        crate::delivery::notify::enqueue(conn, &event, &audience)?;
    }
    Ok(event)
}

/// Records a component status change: for the provider and, when the change is direct or
/// made by a public incident, the customers the component touches; when a non-public
/// incident made it, that incident's audience only (see [`status_view`]).
pub fn component_changed(
    conn: &mut DbConn,
    row: &ComponentRow,
    incident_id: Option<&str>,
) -> Result<(), AppError> {
    let component = component_refs(conn, std::slice::from_ref(&row.id))?
        .pop()
        .ok_or(AppError::NotFound("component"))?;
    let made_by: Option<IncidentRow> = match incident_id {
        Some(id) => incidents::table
            .find(id)
            .select(IncidentRow::as_select())
            .first(conn)
            .optional()?,
        None => None,
    };
    let (audience, provider_only) =
        match made_by.filter(|i| i.visibility != Visibility::Public.as_str()) {
            Some(i) => {
                let audience = visibility::incident_audience(conn, &i)?;
                let alone = audience.is_empty() && i.visibility == Visibility::Internal.as_str();
                (audience, alone)
            }
            None => {
                let footprint = vec![(row.service_id.clone(), row.region_id.clone())];
                let mut audience: Vec<String> = visibility::customers_of(conn, &row.provider_id)?
                    .into_iter()
                    .filter(|l| l.touches(&footprint))
                    .map(|l| l.rel.customer_id)
                    .collect();
                audience.sort();
                (audience, false)
            }
        };
    let event = StreamEvent {
        seq: 0,
        kind: EventKind::ComponentStatus,
        at: from_millis(row.updated_at),
        provider_id: row.provider_id.clone(),
        incident: None,
        component: Some(component),
        acknowledgement: None,
        indicator: None,
        escalation: None,
        clock_alert: None,
    };
    append(
        conn,
        event,
        ("component", &row.id, None),
        provider_only,
        &audience,
    )?;
    Ok(())
}

/// Records a customer's acknowledgement: for the provider and that customer only.
pub fn acknowledged(
    conn: &mut DbConn,
    provider_id: &str,
    ack: &Acknowledgement,
) -> Result<(), AppError> {
    let event = StreamEvent {
        seq: 0,
        kind: EventKind::Acknowledged,
        at: ack.acknowledged_at,
        provider_id: provider_id.into(),
        incident: None,
        component: None,
        acknowledgement: Some(ack.clone()),
        indicator: None,
        escalation: None,
        clock_alert: None,
    };
    append(
        conn,
        event,
        ("incident", &ack.incident_id, Some(ack.incident_version)),
        false,
        std::slice::from_ref(&ack.customer_id),
    )?;
    Ok(())
}
