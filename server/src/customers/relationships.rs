//! Provider-customer relationships: a provider invites a customer organisation, the
//! customer's admin accepts, either side may end it. The relationship carries the service
//! model and the contracted services x regions that decide what the customer sees.

use crate::audit::{self, Event};
use crate::catalogue::provider_org;
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::{AppError, Check};
use crate::identity::Caller;
use crate::paging::paged;
use crate::paging::Pagination;
use cirhub_shared::customer::{self as c, Scope};
use cirhub_shared::time::from_millis;
use cirhub_shared::RelationshipStatus;
use diesel::prelude::*;

fn org(conn: &mut DbConn, id: &str) -> Result<OrgRow, AppError> {
    Ok(organisations::table
        .find(id)
        .select(OrgRow::as_select())
        .first(conn)?)
}

/// The API form of a relationship.
pub fn to_api(conn: &mut DbConn, row: &RelationshipRow) -> Result<c::Relationship, AppError> {
    let provider = org(conn, &row.provider_id)?;
    let customer = org(conn, &row.customer_id)?;
    let scopes = relationship_scopes::table
        .filter(relationship_scopes::relationship_id.eq(&row.id))
        .order((
            relationship_scopes::service_id.asc(),
            relationship_scopes::region_id.asc(),
        ))
        .select((
            relationship_scopes::service_id,
            relationship_scopes::region_id,
        ))
        .load::<(String, String)>(conn)?
        .into_iter()
        .map(|(service_id, region)| Scope {
            service_id,
            region_id: Some(region).filter(|r| !r.is_empty()),
        })
        .collect();
    Ok(c::Relationship {
        id: row.id.clone(),
        provider_id: provider.id,
        provider_slug: provider.slug,
        provider_name: provider.name,
        customer_id: customer.id,
        customer_slug: customer.slug,
        customer_name: customer.name,
        service_model: parse_stored(&row.service_model, "service model")?,
        status: parse_stored(&row.status, "relationship status")?,
        scopes,
        invited_at: from_millis(row.invited_at),
        accepted_at: row.accepted_at.map(from_millis),
        ended_at: row.ended_at.map(from_millis),
        version: row.version,
    })
}

/// A relationship the caller's organisation is a party to, or 404.
fn party_row(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<RelationshipRow, AppError> {
    relationships::table
        .find(id)
        .filter(
            relationships::provider_id
                .eq(&caller.org_id)
                .or(relationships::customer_id.eq(&caller.org_id)),
        )
        .select(RelationshipRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound("relationship"))
}

/// Checks scopes against the provider's catalogue and replaces the relationship's set.
fn write_scopes(
    conn: &mut DbConn,
    provider_id: &str,
    rel_id: &str,
    scopes: &[Scope],
) -> Result<(), AppError> {
    let mut check = Check::new();
    for (i, s) in scopes.iter().enumerate() {
        let service: i64 = services::table
            .find(&s.service_id)
            .filter(services::provider_id.eq(provider_id))
            .count()
            .get_result(conn)?;
        check.ensure(
            service == 1,
            &format!("scopes[{i}].service_id"),
            "no such service in the provider's catalogue",
        );
        if let Some(r) = s.region_id.as_deref().filter(|r| !r.is_empty()) {
            let region: i64 = regions::table
                .find(r)
                .filter(regions::provider_id.eq(provider_id))
                .count()
                .get_result(conn)?;
            check.ensure(
                region == 1,
                &format!("scopes[{i}].region_id"),
                "no such region in the provider's catalogue (omit it for every region)",
            );
        }
    }
    check.ensure(scopes.len() <= 500, "scopes", "at most 500 scopes");
    check.done()?;
    diesel::delete(
        relationship_scopes::table.filter(relationship_scopes::relationship_id.eq(rel_id)),
    )
    .execute(conn)?;
    let mut seen = std::collections::BTreeSet::new();
    for s in scopes {
        let region = s.region_id.clone().unwrap_or_default();
        if seen.insert((s.service_id.clone(), region.clone())) {
            diesel::insert_into(relationship_scopes::table)
                .values((
                    relationship_scopes::relationship_id.eq(rel_id),
                    relationship_scopes::service_id.eq(&s.service_id),
                    relationship_scopes::region_id.eq(region),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

fn record(
    conn: &mut DbConn,
    caller: &Caller,
    row: &RelationshipRow,
    action: &str,
) -> Result<c::Relationship, AppError> {
    let out = to_api(conn, row)?;
    audit::append(
        conn,
        Event::change(
            &caller.actor,
            &caller.org_id,
            action,
            "relationship",
            &row.id,
        )
        .version(Some(row.version), &out)?,
    )?;
    Ok(out)
}

/// A provider invites a customer organisation (by slug).
pub fn invite(
    conn: &mut DbConn,
    caller: &Caller,
    input: &c::InviteCustomer,
) -> Result<c::Relationship, AppError> {
    let provider = provider_org(conn, &caller.org_id)?;
    let customer: Option<OrgRow> = organisations::table
        .filter(organisations::slug.eq(input.customer.trim()))
        .filter(organisations::is_customer.eq(true))
        .select(OrgRow::as_select())
        .first(conn)
        .optional()?;
    let customer = customer
        .filter(|c| c.id != provider.id)
        .ok_or_else(|| AppError::field("customer", "no customer organisation has this slug"))?;
    let existing: Option<RelationshipRow> = relationships::table
        .filter(relationships::provider_id.eq(&provider.id))
        .filter(relationships::customer_id.eq(&customer.id))
        .select(RelationshipRow::as_select())
        .first(conn)
        .optional()?;
    let now = now_ms();
    let row = match existing {
        Some(r) if r.status != RelationshipStatus::Ended.as_str() => {
            return Err(AppError::Conflict(format!(
                "A relationship with this customer already exists ({}, id {}).",
                r.status, r.id
            )))
        }
        Some(mut r) => {
            r.status = RelationshipStatus::Invited.as_str().into();
            r.service_model = input.service_model.as_str().into();
            r.invited_by = caller.actor.id().map(str::to_owned);
            r.accepted_by = None;
            r.invited_at = now;
            r.accepted_at = None;
            r.ended_at = None;
            r.version += 1;
            r.updated_at = now;
            diesel::update(relationships::table.find(&r.id))
                .set(&r)
                .execute(conn)?;
            r
        }
        None => {
            let r = RelationshipRow {
                id: new_id(),
                provider_id: provider.id.clone(),
                customer_id: customer.id.clone(),
                service_model: input.service_model.as_str().into(),
                status: RelationshipStatus::Invited.as_str().into(),
                invited_by: caller.actor.id().map(str::to_owned),
                accepted_by: None,
                invited_at: now,
                accepted_at: None,
                ended_at: None,
                version: 1,
                updated_at: now,
            };
            diesel::insert_into(relationships::table)
                .values(&r)
                .execute(conn)?;
            r
        }
    };
    write_scopes(conn, &provider.id, &row.id, &input.scopes)?;
    record(conn, caller, &row, "relationship.invite")
}

/// The customer's admin accepts an invitation.
pub fn accept(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<c::Relationship, AppError> {
    let mut row = party_row(conn, caller, id)?;
    if row.customer_id != caller.org_id {
        return Err(AppError::Forbidden(
            "Only the invited customer organisation can accept.".into(),
        ));
    }
    if row.status != RelationshipStatus::Invited.as_str() {
        return Err(AppError::Conflict(format!(
            "The relationship is {}, not invited.",
            row.status
        )));
    }
    let now = now_ms();
    row.status = RelationshipStatus::Active.as_str().into();
    row.accepted_by = caller.actor.id().map(str::to_owned);
    row.accepted_at = Some(now);
    row.version += 1;
    row.updated_at = now;
    diesel::update(relationships::table.find(id))
        .set(&row)
        .execute(conn)?;
    record(conn, caller, &row, "relationship.accept")
}

/// Either party ends the relationship (or declines an invitation).
pub fn end(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<c::Relationship, AppError> {
    let mut row = party_row(conn, caller, id)?;
    if row.status == RelationshipStatus::Ended.as_str() {
        return to_api(conn, &row);
    }
    let now = now_ms();
    row.status = RelationshipStatus::Ended.as_str().into();
    row.ended_at = Some(now);
    row.version += 1;
    row.updated_at = now;
    diesel::update(relationships::table.find(id))
        .set(&row)
        .execute(conn)?;
    record(conn, caller, &row, "relationship.end")
}

/// The provider changes the contracted scopes or the service model.
pub fn set_scopes(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    input: &c::SetScopes,
) -> Result<c::Relationship, AppError> {
    let mut row = party_row(conn, caller, id)?;
    if row.provider_id != caller.org_id {
        return Err(AppError::Forbidden(
            "Only the provider changes what a relationship covers.".into(),
        ));
    }
    write_scopes(conn, &row.provider_id, id, &input.scopes)?;
    if let Some(m) = input.service_model {
        row.service_model = m.as_str().into();
    }
    row.version += 1;
    row.updated_at = now_ms();
    diesel::update(relationships::table.find(id))
        .set(&row)
        .execute(conn)?;
    record(conn, caller, &row, "relationship.scopes")
}

pub fn get(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<c::Relationship, AppError> {
    let row = party_row(conn, caller, id)?;
    to_api(conn, &row)
}

/// The relationships the caller's organisation is a party to, newest first.
pub fn list(
    conn: &mut DbConn,
    caller: &Caller,
    page: Pagination,
) -> Result<cirhub_shared::api::Paged<c::Relationship>, AppError> {
    let mine = || {
        relationships::table.filter(
            relationships::provider_id
                .eq(&caller.org_id)
                .or(relationships::customer_id.eq(&caller.org_id)),
        )
    };
    let total: i64 = mine().count().get_result(conn)?;
    let rows: Vec<RelationshipRow> = mine()
        .order((relationships::invited_at.desc(), relationships::id.desc()))
        .offset(page.offset())
        .limit(page.limit())
        .select(RelationshipRow::as_select())
        .load(conn)?;
    let items = rows
        .iter()
        .map(|r| to_api(conn, r))
        .collect::<Result<_, _>>()?;
    Ok(paged(items, page, total))
}
