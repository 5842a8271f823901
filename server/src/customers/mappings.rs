//! Resource mappings: the customer's own names for provider components (shown on its
//! dashboard, feeds and mails instead of the provider's).

use crate::audit::{self, Event};
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::{AppError, Check};
use crate::identity::Caller;
use crate::paging::paged;
use crate::paging::Pagination;
use crate::publishing::status_view::{self, Reader};
use cirhub_shared::api::Paged;
use cirhub_shared::customer::*;
use cirhub_shared::time::from_millis;
use diesel::prelude::*;

fn mapping_to_api(conn: &mut DbConn, m: &MappingRow) -> Result<ResourceMapping, AppError> {
    let component = status_view::refs(
        conn,
        std::slice::from_ref(&m.component_id),
        Reader::Customer(&m.customer_id),
    )?
    .pop()
    .ok_or(AppError::NotFound("component"))?;
    Ok(ResourceMapping {
        id: m.id.clone(),
        name: m.name.clone(),
        component,
        created_at: from_millis(m.created_at),
    })
}

pub fn list_mappings(
    conn: &mut DbConn,
    caller: &Caller,
    page: Pagination,
) -> Result<Paged<ResourceMapping>, AppError> {
    let q = resource_mappings::table.filter(resource_mappings::customer_id.eq(&caller.org_id));
    let total: i64 = q.count().get_result(conn)?;
    let rows: Vec<MappingRow> = q
        .order((resource_mappings::name.asc(), resource_mappings::id.asc()))
        .offset(page.offset())
        .limit(page.limit())
        .select(MappingRow::as_select())
        .load(conn)?;
    let items = rows
        .iter()
        .map(|m| mapping_to_api(conn, m))
        .collect::<Result<_, _>>()?;
    Ok(paged(items, page, total))
}

/// Maps a resource name onto a component the customer's relationships cover.
pub fn create_mapping(
    conn: &mut DbConn,
    caller: &Caller,
    input: &CreateMapping,
) -> Result<ResourceMapping, AppError> {
    Check::new().text(&input.name, "name", 200).done()?;
    let covered = crate::customers::dashboard::components(conn, caller)?;
    if !covered.iter().any(|c| c.id == input.component_id) {
        return Err(AppError::field(
            "component_id",
            "not a component your provider relationships cover",
        ));
    }
    let name = input.name.trim();
    let dup: i64 = resource_mappings::table
        .filter(resource_mappings::customer_id.eq(&caller.org_id))
        .filter(resource_mappings::name.eq(name))
        .filter(resource_mappings::component_id.eq(&input.component_id))
        .count()
        .get_result(conn)?;
    if dup > 0 {
        return Err(AppError::field(
            "name",
            "this name is already mapped onto this component",
        ));
    }
    let row = MappingRow {
        id: new_id(),
        customer_id: caller.org_id.clone(),
        name: name.into(),
        component_id: input.component_id.clone(),
        created_at: now_ms(),
    };
    diesel::insert_into(resource_mappings::table)
        .values(&row)
        .execute(conn)?;
    let out = mapping_to_api(conn, &row)?;
    audit::append(
        conn,
        Event::change(
            &caller.actor,
            &caller.org_id,
            "mapping.create",
            "resource_mapping",
            &row.id,
        )
        .version(Some(1), &out)?,
    )?;
    Ok(out)
}

pub fn delete_mapping(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<(), AppError> {
    let n = diesel::delete(
        resource_mappings::table
            .find(id)
            .filter(resource_mappings::customer_id.eq(&caller.org_id)),
    )
    .execute(conn)?;
    if n == 0 {
        return Err(AppError::NotFound("resource mapping"));
    }
    audit::append(
        conn,
        Event::change(
            &caller.actor,
            &caller.org_id,
            "mapping.delete",
            "resource_mapping",
            id,
        ),
    )?;
    Ok(())
}
