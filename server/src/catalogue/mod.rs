//! The provider catalogue: regions, services, component groups, components and their status
//! history; the priority policy is in [`policy`].

use crate::audit::{self, Event};
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::{AppError, Check};
use crate::identity::{Actor, Caller};
use crate::paging::paged;
use crate::paging::Pagination;
use cirhub_shared::api::{self, Paged};
use cirhub_shared::time::from_millis;
use cirhub_shared::ComponentStatus;
use diesel::prelude::*;

mod policy;

pub use policy::{get_policy, priority_policy, put_policy};

pub fn region_to_api(r: &RegionRow) -> api::Region {
    api::Region {
        id: r.id.clone(),
        code: r.code.clone(),
        name: r.name.clone(),
    }
}

pub fn service_to_api(s: &ServiceRow) -> api::Service {
    api::Service {
        id: s.id.clone(),
        name: s.name.clone(),
        description: s.description.clone(),
    }
}

pub fn group_to_api(g: &GroupRow) -> api::ComponentGroup {
    api::ComponentGroup {
        id: g.id.clone(),
        name: g.name.clone(),
        position: g.position,
    }
}

pub fn component_to_api(c: &ComponentRow) -> Result<api::Component, AppError> {
    Ok(api::Component {
        id: c.id.clone(),
        name: c.name.clone(),
        description: c.description.clone(),
        service_id: c.service_id.clone(),
        region_id: c.region_id.clone(),
        group_id: c.group_id.clone(),
        status: parse_stored(&c.status, "component status")?,
        position: c.position,
        created_at: from_millis(c.created_at),
        updated_at: from_millis(c.updated_at),
    })
}

/// Lists one of the provider's catalogue tables, page by page, in a stable order.
macro_rules! list_of {
    ($conn:expr, $caller:expr, $page:expr, $table:ident, $row:ty, $order:expr, $map:expr) => {{
        let q = $table::table.filter($table::provider_id.eq(&$caller.org_id));
        let total: i64 = q.count().get_result($conn)?;
        let rows: Vec<$row> = q
            .order($order)
            .offset($page.offset())
            .limit($page.limit())
            .select(<$row>::as_select())
            .load($conn)?;
        let items = rows.iter().map($map).collect::<Vec<_>>();
        Ok::<_, AppError>(paged(items, $page, total))
    }};
}

/// Inserts a catalogue row unless the provider already has one with the same `$col`
/// (a 422 on that field), and records the creation in the audit log.
macro_rules! insert_unique {
    ($conn:expr, $caller:expr, $table:ident, $row:expr, $col:ident, $object:literal, $out:expr) => {{
        let dup: i64 = $table::table
            .filter($table::provider_id.eq(&$row.provider_id))
            .filter($table::$col.eq(&$row.$col))
            .count()
            .get_result($conn)?;
        if dup > 0 {
            return Err(AppError::field(
                stringify!($col),
                concat!(
                    "your catalogue already has a ",
                    $object,
                    " with this ",
                    stringify!($col)
                ),
            ));
        }
        diesel::insert_into($table::table)
            .values(&$row)
            .execute($conn)?;
        let out = $out;
        audit::append(
            $conn,
            Event::change(
                &$caller.actor,
                &$caller.org_id,
                concat!($object, ".create"),
                $object,
                &$row.id,
            )
            .version(Some(1), &out)?,
        )?;
        Ok(out)
    }};
}

pub fn list_regions(
    conn: &mut DbConn,
    caller: &Caller,
    page: Pagination,
) -> Result<Paged<api::Region>, AppError> {
    list_of!(
        conn,
        caller,
        page,
        regions,
        RegionRow,
        regions::code.asc(),
        region_to_api
    )
}

pub fn list_services(
    conn: &mut DbConn,
    caller: &Caller,
    page: Pagination,
) -> Result<Paged<api::Service>, AppError> {
    list_of!(
        conn,
        caller,
        page,
        services,
        ServiceRow,
        services::name.asc(),
        service_to_api
    )
}

pub fn list_groups(
    conn: &mut DbConn,
    caller: &Caller,
    page: Pagination,
) -> Result<Paged<api::ComponentGroup>, AppError> {
    list_of!(
        conn,
        caller,
        page,
        component_groups,
        GroupRow,
        (
            component_groups::position.asc(),
            component_groups::name.asc()
        ),
        group_to_api
    )
}

pub fn list_components(
    conn: &mut DbConn,
    caller: &Caller,
    page: Pagination,
) -> Result<Paged<api::Component>, AppError> {
    let p = list_of!(
        conn,
        caller,
        page,
        components,
        ComponentRow,
        (components::position.asc(), components::name.asc()),
        component_to_api
    )?;
    Ok(Paged {
        items: p.items.into_iter().collect::<Result<_, _>>()?,
        page: p.page,
        per_page: p.per_page,
        total: p.total,
    })
}

pub fn create_region(
    conn: &mut DbConn,
    caller: &Caller,
    input: &api::CreateRegion,
) -> Result<api::Region, AppError> {
    provider_org(conn, &caller.org_id)?;
    Check::new()
        .text(&input.code, "code", 64)
        .ensure(
            !input.code.trim().contains(char::is_whitespace),
            "code",
            "must not contain spaces (e.g. ap-northeast-1)",
        )
        .text(&input.name, "name", 200)
        .done()?;
    let row = RegionRow {
        id: new_id(),
        provider_id: caller.org_id.clone(),
        code: input.code.trim().into(),
        name: input.name.trim().into(),
        created_at: now_ms(),
    };
    insert_unique!(
        conn,
        caller,
        regions,
        row,
        code,
        "region",
        region_to_api(&row)
    )
}

pub fn create_service(
    conn: &mut DbConn,
    caller: &Caller,
    input: &api::CreateService,
) -> Result<api::Service, AppError> {
    provider_org(conn, &caller.org_id)?;
    Check::new()
        .text(&input.name, "name", 200)
        .max_len(&input.description, "description", 2000)
        .done()?;
    let row = ServiceRow {
        id: new_id(),
        provider_id: caller.org_id.clone(),
        name: input.name.trim().into(),
        description: input.description.trim().into(),
        created_at: now_ms(),
    };
    insert_unique!(
        conn,
        caller,
        services,
        row,
        name,
        "service",
        service_to_api(&row)
    )
}

pub fn create_group(
    conn: &mut DbConn,
    caller: &Caller,
    input: &api::CreateComponentGroup,
) -> Result<api::ComponentGroup, AppError> {
    provider_org(conn, &caller.org_id)?;
    Check::new().text(&input.name, "name", 200).done()?;
    let now = now_ms();
    let row = GroupRow {
        id: new_id(),
        provider_id: caller.org_id.clone(),
        name: input.name.trim().into(),
        position: input.position,
        created_at: now,
        updated_at: now,
    };
    insert_unique!(
        conn,
        caller,
        component_groups,
        row,
        name,
        "component_group",
        group_to_api(&row)
    )
}

/// True when `id` names a row of `table` owned by `provider`.
macro_rules! owned {
    ($conn:expr, $table:ident, $id:expr, $provider:expr) => {{
        let n: i64 = $table::table
            .filter($table::id.eq($id))
            .filter($table::provider_id.eq($provider))
            .count()
            .get_result($conn)?;
        n > 0
    }};
}

fn check_refs(
    conn: &mut DbConn,
    provider: &str,
    service_id: Option<&str>,
    region_id: Option<&str>,
    group_id: Option<&str>,
) -> Result<(), AppError> {
    let mut check = Check::new();
    if let Some(id) = service_id {
        check.ensure(
            owned!(conn, services, id, provider),
            "service_id",
            "no such service in your catalogue",
        );
    }
    if let Some(id) = region_id {
        check.ensure(
            owned!(conn, regions, id, provider),
            "region_id",
            "no such region in your catalogue",
        );
    }
    if let Some(id) = group_id {
        check.ensure(
            owned!(conn, component_groups, id, provider),
            "group_id",
            "no such component group in your catalogue",
        );
    }
    check.done()
}

pub fn create_component(
    conn: &mut DbConn,
    caller: &Caller,
    input: &api::CreateComponent,
) -> Result<api::Component, AppError> {
    provider_org(conn, &caller.org_id)?;
    Check::new()
        .text(&input.name, "name", 200)
        .max_len(&input.description, "description", 2000)
        .done()?;
    check_refs(
        conn,
        &caller.org_id,
        Some(&input.service_id),
        input.region_id.as_deref(),
        input.group_id.as_deref(),
    )?;
    let now = now_ms();
    let status = input.status.unwrap_or(ComponentStatus::Operational);
    let row = ComponentRow {
        id: new_id(),
        provider_id: caller.org_id.clone(),
        service_id: input.service_id.clone(),
        region_id: input.region_id.clone(),
        group_id: input.group_id.clone(),
        name: input.name.trim().into(),
        description: input.description.trim().into(),
        status: status.as_str().into(),
        position: input.position,
        created_at: now,
        updated_at: now,
    };
    diesel::insert_into(components::table)
        .values(&row)
        .execute(conn)?;
    record_status(conn, &row.id, status, now, None)?;
    let out = component_to_api(&row)?;
    audit::append(
        conn,
        Event::change(
            &caller.actor,
            &caller.org_id,
            "component.create",
            "component",
            &row.id,
        )
        .version(None, &out)?,
    )?;
    Ok(out)
}

/// A component of `provider`, or 404.
pub fn component_row(
    conn: &mut DbConn,
    provider: &str,
    id: &str,
) -> Result<ComponentRow, AppError> {
    components::table
        .find(id)
        .filter(components::provider_id.eq(provider))
        .select(ComponentRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound("component"))
}

pub fn get_component(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
) -> Result<api::Component, AppError> {
    component_to_api(&component_row(conn, &caller.org_id, id)?)
}

pub fn update_component(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    input: &api::UpdateComponent,
) -> Result<api::Component, AppError> {
    provider_org(conn, &caller.org_id)?;
    let mut row = component_row(conn, &caller.org_id, id)?;
    let mut check = Check::new();
    if let Some(name) = &input.name {
        check.text(name, "name", 200);
    }
    if let Some(d) = &input.description {
        check.max_len(d, "description", 2000);
    }
    check.done()?;
    let group = input.group_id.as_deref().filter(|g| !g.is_empty());
    check_refs(conn, &caller.org_id, None, None, group)?;
    if let Some(name) = &input.name {
        row.name = name.trim().into();
    }
    if let Some(d) = &input.description {
        row.description = d.trim().into();
    }
    if input.group_id.is_some() {
        row.group_id = group.map(str::to_owned);
    }
    if let Some(p) = input.position {
        row.position = p;
    }
    let now = now_ms();
    row.updated_at = now;
    diesel::update(components::table.find(id))
        .set(&row)
        .execute(conn)?;
    if let Some(status) = input.status {
        set_status(conn, &caller.actor, &mut row, status, None)?;
    }
    let out = component_to_api(&row)?;
    audit::append(
        conn,
        Event::change(
            &caller.actor,
            &caller.org_id,
            "component.update",
            "component",
            id,
        )
        .version(None, &out)?,
    )?;
    Ok(out)
}

/// Appends a status-history event.
fn record_status(
    conn: &mut DbConn,
    component_id: &str,
    status: ComponentStatus,
    at: i64,
    incident_id: Option<&str>,
) -> Result<(), AppError> {
    diesel::insert_into(component_status_events::table)
        .values(&StatusEventRow {
            id: new_id(),
            component_id: component_id.into(),
            status: status.as_str().into(),
            at,
            incident_id: incident_id.map(str::to_owned),
        })
        .execute(conn)?;
    Ok(())
}

/// Moves a component to `status`, keeping its history; returns the change if any.
pub fn set_status(
    conn: &mut DbConn,
    _actor: &Actor,
    row: &mut ComponentRow,
    status: ComponentStatus,
    incident_id: Option<&str>,
) -> Result<Option<api::ComponentChange>, AppError> {
    let old: ComponentStatus = parse_stored(&row.status, "component status")?;
    if old == status {
        return Ok(None);
    }
    let now = now_ms();
    diesel::update(components::table.find(&row.id))
        .set((
            components::status.eq(status.as_str()),
            components::updated_at.eq(now),
        ))
        .execute(conn)?;
    record_status(conn, &row.id, status, now, incident_id)?;
    row.status = status.as_str().into();
    row.updated_at = now;
    crate::delivery::events::component_changed(conn, row, incident_id)?;
    Ok(Some(api::ComponentChange {
        component_id: row.id.clone(),
        name: row.name.clone(),
        old_status: old,
        new_status: status,
    }))
}

/// The caller's organisation, required to be a provider for catalogue and incident work.
pub fn provider_org(conn: &mut DbConn, org_id: &str) -> Result<OrgRow, AppError> {
    let org: OrgRow = organisations::table
        .find(org_id)
        .select(OrgRow::as_select())
        .first(conn)?;
    if !org.is_provider {
        return Err(AppError::Forbidden(
            "Your organisation is not a provider; only providers publish a catalogue and incidents."
                .into(),
        ));
    }
    Ok(org)
}
