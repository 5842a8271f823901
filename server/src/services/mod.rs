//! Services own the transaction: each write, its audit record (and later its outbox rows)
//! commit together. Handlers extract and authorise, then call one service function.

pub mod accounts;
pub mod catalogue;
pub mod credential_changes;
pub mod dashboard;
pub mod events;
pub mod feed_tokens;
pub mod feeds;
pub mod incidents;
pub mod invitations;
pub mod notify;
pub mod public;
pub mod relationships;
pub mod status_view;
pub mod subscriptions;
pub mod uptime;
pub mod visibility;

use crate::db::rows::OrgRow;
use crate::db::schema::organisations;
use crate::db::DbConn;
use crate::error::AppError;
use diesel::prelude::*;

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

/// Total and one page of a query's results.
pub fn paged<T>(
    items: Vec<T>,
    page: crate::extract::Pagination,
    total: i64,
) -> cirhub_shared::api::Paged<T> {
    cirhub_shared::api::Paged {
        items,
        page: page.page,
        per_page: page.per_page,
        total: total.max(0) as u64,
    }
}
