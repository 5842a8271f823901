//! Which component status each reader may know. A status change made by an incident belongs
//! to that incident's audience; a change made directly in the catalogue is public. The
//! provider's console knows every change; the public page (Statuspage documents, uptime,
//! feeds) knows direct changes and those of public incidents; a customer also knows the
//! changes of the incidents the policy check lets it see; the readers of an event about one
//! incident know the public changes and that incident's own. Each reader is shown the newest
//! change it may know of, from the status history (`component_status_events`), so a record
//! that later turns public brings its changes with it.

use crate::customers::visibility;
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::AppError;
use cirhub_shared::customer::ComponentRef;
use cirhub_shared::{ComponentStatus, Visibility};
use diesel::prelude::*;
use std::collections::HashMap;

/// Who reads a component's status.
#[derive(Clone, Copy)]
pub enum Reader<'a> {
    /// The provider itself: every change.
    Provider,
    /// Anyone: direct changes and those of public incidents.
    Public,
    /// A customer organisation (by id): also the changes of incidents it may see.
    Customer(&'a str),
    /// Everyone an event about this incident reaches: public changes and its own.
    Audience(&'a IncidentRow),
}

/// A status as a reader knows it, and when it was set.
pub struct Known {
    pub status: ComponentStatus,
    pub at: i64,
}

/// Whether `reader` may know the changes made by incident `id` (decisions cached per id).
fn may_know(
    conn: &mut DbConn,
    decided: &mut HashMap<String, bool>,
    id: &str,
    reader: Reader<'_>,
) -> Result<bool, AppError> {
    if let Some(d) = decided.get(id) {
        return Ok(*d);
    }
    let row: Option<IncidentRow> = incidents::table
        .find(id)
        .select(IncidentRow::as_select())
        .first(conn)
        .optional()?;
    let ok = match row {
        None => false,
        Some(r) if r.visibility == Visibility::Public.as_str() => true,
        Some(r) => match reader {
            Reader::Provider => true,
            Reader::Public => false,
            Reader::Customer(c) => visibility::customer_sees(conn, c, &r)?.is_some(),
            Reader::Audience(i) => i.id == r.id,
        },
    };
    decided.insert(id.to_owned(), ok);
    Ok(ok)
}

/// For each of `ids` whose newest status change `reader` may not know, the newest one it
/// may (operational since the start when it may know none). Components missing from the
/// answer read as stored.
pub fn known(
    conn: &mut DbConn,
    ids: &[String],
    reader: Reader<'_>,
) -> Result<HashMap<String, Known>, AppError> {
    let mut out = HashMap::new();
    if matches!(reader, Reader::Provider) || ids.is_empty() {
        return Ok(out);
    }
    // Only components that a non-public incident ever changed can read differently; the
    // decision is made once per such incident, so a component with thousands of changes by
    // one internal incident costs two indexed reads, not a walk through its history.
    let hidden = incidents::table
        .filter(incidents::visibility.ne(Visibility::Public.as_str()))
        .select(incidents::id.nullable());
    let touched: Vec<(String, Option<String>)> = component_status_events::table
        .filter(component_status_events::component_id.eq_any(ids))
        .filter(component_status_events::incident_id.eq_any(hidden))
        .select((
            component_status_events::component_id,
            component_status_events::incident_id,
        ))
        .distinct()
        .load(conn)?;
    let mut decided = HashMap::new();
    let mut unknown: Vec<String> = Vec::new();
    let mut components: Vec<String> = Vec::new();
    for (component, incident) in touched {
        if let Some(i) = incident {
            if !may_know(conn, &mut decided, &i, reader)? && !unknown.contains(&i) {
                unknown.push(i);
            }
        }
        if !components.contains(&component) {
            components.push(component);
        }
    }
    if unknown.is_empty() {
        return Ok(out);
    }
    let newest = (
        component_status_events::at.desc(),
        component_status_events::id.desc(),
    );
    for id in components {
        let latest: Option<Option<String>> = component_status_events::table
            .filter(component_status_events::component_id.eq(&id))
            .order(newest)
            .select(component_status_events::incident_id)
            .first(conn)
            .optional()?;
        if !latest.flatten().is_some_and(|i| unknown.contains(&i)) {
            continue; // the newest change is known: the stored status stands
        }
        let known_change: Option<(String, i64)> = component_status_events::table
            .filter(component_status_events::component_id.eq(&id))
            .filter(
                component_status_events::incident_id
                    .is_null()
                    .or(component_status_events::incident_id.ne_all(&unknown)),
            )
            .order(newest)
            .select((component_status_events::status, component_status_events::at))
            .first(conn)
            .optional()?;
        let (status, at) =
            known_change.unwrap_or((ComponentStatus::Operational.as_str().to_owned(), 0));
        out.insert(
            id,
            Known {
                status: parse_stored(&status, "component status")?,
                at,
            },
        );
    }
    Ok(out)
}

/// Component rows as `reader` may know them (status and the time it was set).
pub fn apply(
    conn: &mut DbConn,
    rows: &mut [ComponentRow],
    reader: Reader<'_>,
) -> Result<(), AppError> {
    let ids: Vec<String> = rows.iter().map(|c| c.id.clone()).collect();
    let known = known(conn, &ids, reader)?;
    for c in rows.iter_mut() {
        if let Some(k) = known.get(&c.id) {
            c.status = k.status.as_str().into();
            c.updated_at = k.at.max(c.created_at);
        }
    }
    Ok(())
}

/// [`crate::delivery::events::component_refs`] as `reader` may know them.
pub fn refs(
    conn: &mut DbConn,
    ids: &[String],
    reader: Reader<'_>,
) -> Result<Vec<ComponentRef>, AppError> {
    let mut refs = crate::delivery::events::component_refs(conn, ids)?;
    let known = known(conn, ids, reader)?;
    for r in &mut refs {
        if let Some(k) = known.get(&r.id) {
            r.status = k.status;
        }
    }
    Ok(refs)
}
