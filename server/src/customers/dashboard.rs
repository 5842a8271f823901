//! The customer's view across all its providers: incidents and maintenances that the policy
//! check lets it see, in its own resource names, with acknowledgements and private notes;
//! the components it follows and each person's layout.

use crate::audit::{self, Event};
use crate::customers::visibility::{self, coverage, seen_by, Link};
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::{DbConn, MultiBackend};
use crate::error::{AppError, Check};
use crate::identity::Caller;
use crate::incidents::update_to_api;
use crate::paging::paged;
use crate::paging::Pagination;
use crate::publishing::status_view::{self, Reader};
use cirhub_shared::api::Paged;
use cirhub_shared::customer::*;
use cirhub_shared::time::from_millis;
use cirhub_shared::{Channel, IncidentKind, Priority};
use diesel::prelude::*;
use std::collections::HashMap;

/// Filters of the customer's incident list.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct DashboardFilter {
    /// Only open ones (default), only closed ones (`false`).
    pub open: Option<bool>,
    pub kind: Option<IncidentKind>,
    pub provider_id: Option<String>,
    /// Hide anything less pressing than this.
    pub min_priority: Option<Priority>,
}

/// The component ids of many incidents at once.
fn component_ids(
    conn: &mut DbConn,
    ids: &[String],
) -> Result<HashMap<String, Vec<String>>, AppError> {
    let mut comps: HashMap<String, Vec<String>> = HashMap::new();
    for (i, c) in incident_components::table
        .filter(incident_components::incident_id.eq_any(ids))
        .order(incident_components::component_id.asc())
        .select((
            incident_components::incident_id,
            incident_components::component_id,
        ))
        .load::<(String, String)>(conn)?
    {
        comps.entry(i).or_default().push(c);
    }
    Ok(comps)
}

pub(crate) fn ack_to_api(a: &AckRow) -> Acknowledgement {
    Acknowledgement {
        incident_id: a.incident_id.clone(),
        customer_id: a.customer_id.clone(),
        user_id: a.user_id.clone(),
        user_name: a.user_name.clone(),
        incident_version: a.incident_version,
        acknowledged_at: from_millis(a.acknowledged_at),
    }
}

/// The customer's resource names per component id.
pub fn names_by_component(
    conn: &mut DbConn,
    customer: &str,
) -> Result<HashMap<String, Vec<String>>, AppError> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for (c, n) in resource_mappings::table
        .filter(resource_mappings::customer_id.eq(customer))
        .order(resource_mappings::name.asc())
        .select((resource_mappings::component_id, resource_mappings::name))
        .load::<(String, String)>(conn)?
    {
        out.entry(c).or_default().push(n);
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn build(
    conn: &mut DbConn,
    customer: &str,
    link: &Link,
    provider_name: &str,
    row: &IncidentRow,
    component_ids: &[String],
    names: &HashMap<String, Vec<String>>,
    detail: bool,
) -> Result<CustomerIncident, AppError> {
    let updates: Vec<UpdateRow> = {
        let q = incident_updates::table
            .filter(incident_updates::incident_id.eq(&row.id))
            .order((
                incident_updates::created_at.desc(),
                incident_updates::id.desc(),
            ))
            .select(UpdateRow::as_select());
        if detail {
            q.load(conn)?
        } else {
            q.limit(1).load(conn)?
        }
    };
    let ack: Option<AckRow> = incident_acks::table
        .filter(incident_acks::incident_id.eq(&row.id))
        .filter(incident_acks::customer_id.eq(customer))
        .select(AckRow::as_select())
        .first(conn)
        .optional()?;
    let notes: Vec<NoteRow> = if detail {
        incident_notes::table
            .filter(incident_notes::incident_id.eq(&row.id))
            .filter(incident_notes::customer_id.eq(customer))
            .order((incident_notes::created_at.desc(), incident_notes::id.desc()))
            .select(NoteRow::as_select())
            .load(conn)?
    } else {
        Vec::new()
    };
    let components = status_view::refs(conn, component_ids, Reader::Customer(customer))?;
    let mut affected: Vec<String> = components
        .iter()
        .flat_map(|c| names.get(&c.id).cloned().unwrap_or_default())
        .collect();
    affected.sort();
    affected.dedup();
    let layer = parse_stored(&row.layer, "layer")?;
    Ok(CustomerIncident {
        id: row.id.clone(),
        provider_id: row.provider_id.clone(),
        provider_name: provider_name.into(),
        kind: parse_stored(&row.kind, "kind")?,
        title: row.title.clone(),
        status: parse_stored(&row.status, "status")?,
        impact: parse_stored(&row.impact, "impact")?,
        priority: parse_stored(&row.priority, "priority")?,
        category: parse_stored(&row.category, "category")?,
        layer,
        visibility: parse_stored(&row.visibility, "visibility")?,
        version: row.version,
        components,
        affected_resources: affected,
        driver: link.model.driver(layer),
        service_model: link.model,
        scheduled_for: row.scheduled_for.map(from_millis),
        scheduled_until: row.scheduled_until.map(from_millis),
        created_at: from_millis(row.created_at),
        updated_at: from_millis(row.updated_at),
        resolved_at: row.resolved_at.map(from_millis),
        updates: updates
            .iter()
            .map(update_to_api)
            .collect::<Result<_, _>>()?,
        acknowledgement: ack.as_ref().map(ack_to_api),
        notes: notes
            .into_iter()
            .map(|n| Note {
                id: n.id,
                incident_id: n.incident_id,
                author_name: n.author_name,
                body: n.body,
                created_at: from_millis(n.created_at),
            })
            .collect(),
    })
}

/// Records that the caller was shown these incidents (the disclosure journal, committed before
/// the response leaves) and marks them reached in the same commit.
fn disclose(
    conn: &mut DbConn,
    caller: &Caller,
    items: &[CustomerIncident],
    channel: Channel,
) -> Result<(), AppError> {
    let keys: Vec<(&str, i32)> = items.iter().map(|i| (i.id.as_str(), i.version)).collect();
    let hashes = audit::versions::hashes(conn, audit::versions::INCIDENT, &keys)?;
    let events: Vec<Event<'_>> = items
        .iter()
        .map(|i| {
            Event::disclosure(
                &caller.actor,
                &caller.org_id,
                "incident",
                &i.id,
                Some(i.version),
                hashes.get(&(i.id.clone(), i.version)).cloned(),
                channel,
            )
        })
        .collect();
    audit::journal::stage(&events, true)
}

fn provider_names(conn: &mut DbConn, links: &[Link]) -> Result<HashMap<String, String>, AppError> {
    let ids: Vec<&String> = links.iter().map(|l| &l.rel.provider_id).collect();
    Ok(organisations::table
        .filter(organisations::id.eq_any(ids))
        .select((organisations::id, organisations::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

/// Records the customer may see that pass `filter`, as a query to count, order and page.
fn visible_query<'a>(
    customer: &str,
    links: &[(Link, Vec<String>)],
    filter: &DashboardFilter,
) -> incidents::BoxedQuery<'a, MultiBackend> {
    let closed = ["resolved", "postmortem", "completed"];
    let mut q = incidents::table
        .filter(seen_by(customer, links))
        .into_boxed();
    if let Some(k) = filter.kind {
        q = q.filter(incidents::kind.eq(k.as_str()));
    }
    match filter.open {
        Some(false) => q = q.filter(incidents::status.eq_any(closed)),
        Some(true) => q = q.filter(incidents::status.ne_all(closed)),
        None => {}
    }
    if let Some(p) = filter.min_priority {
        let wanted: Vec<&str> = Priority::ALL
            .iter()
            .filter(|x| **x <= p)
            .map(|x| x.as_str())
            .collect();
        q = q.filter(incidents::priority.eq_any(wanted));
    }
    q
}

/// Pairs rows with their relationship and component ids.
fn with_components(
    conn: &mut DbConn,
    links: &[(Link, Vec<String>)],
    rows: Vec<IncidentRow>,
) -> Result<Vec<(Link, IncidentRow, Vec<String>)>, AppError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let comps = component_ids(conn, &ids)?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let (link, _) = links
                .iter()
                .find(|(l, _)| l.rel.provider_id == row.provider_id)?;
            let c = comps.get(&row.id).cloned().unwrap_or_default();
            Some((link.clone(), row, c))
        })
        .collect())
}

/// What a personal feed carries, newest first: every open record the customer may see and
/// the latest `closed_per_kind` closed incidents and maintenances (counted after the policy
/// check, so that records of other customers never crowd them out).
pub fn feed_rows(
    conn: &mut DbConn,
    customer: &str,
    closed_per_kind: i64,
) -> Result<Vec<(Link, IncidentRow, Vec<String>)>, AppError> {
    let links = coverage(conn, customer, None)?;
    let order = (incidents::created_at.desc(), incidents::id.desc());
    let open = DashboardFilter {
        open: Some(true),
        ..Default::default()
    };
    let mut rows: Vec<IncidentRow> = visible_query(customer, &links, &open)
        .order(order)
        .select(IncidentRow::as_select())
        .load(conn)?;
    for kind in [IncidentKind::Incident, IncidentKind::Maintenance] {
        let closed = DashboardFilter {
            open: Some(false),
            kind: Some(kind),
            ..Default::default()
        };
        rows.extend(
            visible_query(customer, &links, &closed)
                .order(order)
                .limit(closed_per_kind)
                .select(IncidentRow::as_select())
                .load(conn)?,
        );
    }
    rows.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    with_components(conn, &links, rows)
}

/// The customer's incidents, filtered by the policy check and `filter` in the database,
/// then paged; `total` counts every visible one.
pub fn list(
    conn: &mut DbConn,
    caller: &Caller,
    filter: &DashboardFilter,
    page: Pagination,
) -> Result<Paged<CustomerIncident>, AppError> {
    let links = coverage(conn, &caller.org_id, filter.provider_id.as_deref())?;
    let total: i64 = visible_query(&caller.org_id, &links, filter)
        .count()
        .get_result(conn)?;
    let rows: Vec<IncidentRow> = visible_query(&caller.org_id, &links, filter)
        .order((incidents::created_at.desc(), incidents::id.desc()))
        .offset(page.offset())
        .limit(page.limit())
        .select(IncidentRow::as_select())
        .load(conn)?;
    let page_rows = with_components(conn, &links, rows)?;
    let all_links: Vec<Link> = links.iter().map(|(l, _)| l.clone()).collect();
    let pnames = provider_names(conn, &all_links)?;
    let names = names_by_component(conn, &caller.org_id)?;
    let mut items = Vec::new();
    for (link, row, comps) in &page_rows {
        let pname = pnames.get(&row.provider_id).cloned().unwrap_or_default();
        items.push(build(
            conn,
            &caller.org_id,
            link,
            &pname,
            row,
            comps,
            &names,
            false,
        )?);
    }
    disclose(conn, caller, &items, Channel::Http)?;
    Ok(paged(items, page, total))
}

/// An incident the customer may see, or 404 (as for one that does not exist).
pub(crate) fn visible_one(
    conn: &mut DbConn,
    customer: &str,
    id: &str,
) -> Result<(Link, IncidentRow), AppError> {
    let row: Option<IncidentRow> = incidents::table
        .find(id)
        .select(IncidentRow::as_select())
        .first(conn)
        .optional()?;
    let row = row.ok_or(AppError::NotFound("incident"))?;
    let link =
        visibility::customer_sees(conn, customer, &row)?.ok_or(AppError::NotFound("incident"))?;
    Ok((link, row))
}

pub(crate) fn detail(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
) -> Result<CustomerIncident, AppError> {
    let (link, row) = visible_one(conn, &caller.org_id, id)?;
    let pnames = provider_names(conn, std::slice::from_ref(&link))?;
    let names = names_by_component(conn, &caller.org_id)?;
    let comps = crate::delivery::events::incident_component_ids(conn, id)?;
    let pname = pnames.get(&row.provider_id).cloned().unwrap_or_default();
    build(
        conn,
        &caller.org_id,
        &link,
        &pname,
        &row,
        &comps,
        &names,
        true,
    )
}

pub fn get(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<CustomerIncident, AppError> {
    let out = detail(conn, caller, id)?;
    disclose(conn, caller, std::slice::from_ref(&out), Channel::Http)?;
    Ok(out)
}

/// The components of the customer's providers that its relationships cover.
pub fn components(conn: &mut DbConn, caller: &Caller) -> Result<Vec<ComponentRef>, AppError> {
    let mut out = Vec::new();
    for link in visibility::providers_of(conn, &caller.org_id)? {
        let rows: Vec<(String, String, Option<String>)> = components::table
            .filter(components::provider_id.eq(&link.rel.provider_id))
            .order((components::position.asc(), components::name.asc()))
            .select((
                components::id,
                components::service_id,
                components::region_id,
            ))
            .load(conn)?;
        let ids: Vec<String> = rows
            .into_iter()
            .filter(|(_, s, r)| link.touches(&vec![(s.clone(), r.clone())]))
            .map(|(id, _, _)| id)
            .collect();
        out.extend(status_view::refs(
            conn,
            &ids,
            Reader::Customer(&caller.org_id),
        )?);
    }
    Ok(out)
}

// ---------------------------------------------------------------- layout

fn layout_user(caller: &Caller) -> Result<&str, AppError> {
    caller.user_id().ok_or_else(|| {
        AppError::Forbidden("A layout belongs to a person; API tokens have none.".into())
    })
}

pub fn get_layout(conn: &mut DbConn, caller: &Caller) -> Result<Layout, AppError> {
    let user = layout_user(caller)?;
    let stored: Option<String> = user_layouts::table
        .find(user)
        .select(user_layouts::layout)
        .first(conn)
        .optional()?;
    Ok(stored
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default())
}

pub fn put_layout(conn: &mut DbConn, caller: &Caller, layout: &Layout) -> Result<Layout, AppError> {
    let user = layout_user(caller)?.to_owned();
    Check::new()
        .ensure(
            layout.pinned_service_ids.len() <= 200,
            "pinned_service_ids",
            "at most 200 entries",
        )
        .ensure(
            layout.provider_ids.len() <= 200,
            "provider_ids",
            "at most 200 entries",
        )
        .done()?;
    let json = serde_json::to_string(layout).map_err(anyhow::Error::from)?;
    let now = now_ms();
    let n = diesel::update(user_layouts::table.find(&user))
        .set((
            user_layouts::layout.eq(&json),
            user_layouts::updated_at.eq(now),
        ))
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(user_layouts::table)
            .values((
                user_layouts::user_id.eq(&user),
                user_layouts::layout.eq(&json),
                user_layouts::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(layout.clone())
}
