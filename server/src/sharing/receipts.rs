//! Who received what, read from the disclosure journal: the owner of an object lists every
//! disclosure of it (recipient organisation, agreement, version, channel, time); a recipient
//! lists what it received and under which agreement (never who the source is, unless the
//! agreement names sources: the object's key and the agreement are what it gets).

use super::objects::STIX;
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::{DbConn, MultiBackend};
use crate::error::AppError;
use crate::identity::Caller;
use crate::paging::{paged, Pagination};
use cirhub_shared::api::Paged;
use cirhub_shared::sharing::Receipt;
use cirhub_shared::time::from_millis;
use diesel::prelude::*;

/// A journal row: seq, at, organisation, object key, version, hash, channel, detail.
type Row = (
    i64,
    i64,
    Option<String>,
    String,
    Option<i32>,
    Option<String>,
    String,
    Option<String>,
);
/// A journal row as listed, with a fan-out's recipients.
type DisclosureRow = (
    i64,
    i64,
    Option<String>,
    String,
    Option<i32>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
);

/// The receipts of one journal row: one, or one per organisation of a fan-out (a stream
/// frame offered to many at once).
fn receipts(
    conn: &mut DbConn,
    row: DisclosureRow,
    with_recipient: bool,
) -> Result<Vec<Receipt>, AppError> {
    let (seq, at, org, key, version, hash, channel, detail, recipients) = row;
    let orgs: Vec<Option<String>> = match recipients.as_deref() {
        Some(r) => {
            let list: Vec<cirhub_shared::api::Recipient> = serde_json::from_str(r)
                .map_err(|e| AppError::Internal(anyhow::anyhow!("stored fan-out: {e}")))?;
            let distinct: std::collections::BTreeSet<String> =
                list.into_iter().map(|r| r.organisation_id).collect();
            distinct.into_iter().map(Some).collect()
        }
        None => vec![org],
    };
    orgs.into_iter()
        .map(|org| {
            receipt(
                conn,
                (
                    seq,
                    at,
                    org,
                    key.clone(),
                    version,
                    hash.clone(),
                    channel.clone(),
                    detail.clone(),
                ),
                with_recipient,
            )
        })
        .collect()
}

fn receipt(conn: &mut DbConn, row: Row, with_recipient: bool) -> Result<Receipt, AppError> {
    let (_, at, org, key, version, hash, channel, detail) = row;
    let detail: serde_json::Value = detail
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored disclosure detail: {e}")))?
        .unwrap_or_default();
    let stix_id: Option<String> = stix_objects::table
        .find(&key)
        .select(stix_objects::stix_id)
        .first(conn)
        .optional()?;
    let recipient = match (&org, with_recipient) {
        (Some(o), true) => organisations::table
            .find(o)
            .select(organisations::slug)
            .first::<String>(conn)
            .optional()?,
        _ => None,
    };
    Ok(Receipt {
        object_key: key,
        stix_id: stix_id.unwrap_or_default(),
        version: version.unwrap_or_default(),
        hash: hash.unwrap_or_default(),
        recipient,
        agreement_id: detail["agreement_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        agreement_version: detail["agreement_version"].as_i64().unwrap_or_default() as i32,
        channel: parse_stored(&channel, "channel")?,
        at: from_millis(at),
    })
}

/// Every disclosure of an object of the caller's organisation, newest first; 404 for an
/// object it does not own.
pub fn of_object(
    conn: &mut DbConn,
    caller: &Caller,
    key: &str,
    page: Pagination,
) -> Result<Paged<Receipt>, AppError> {
    let owned: i64 = stix_objects::table
        .find(key)
        .filter(stix_objects::owner_id.eq(&caller.org_id))
        .count()
        .get_result(conn)?;
    if owned == 0 {
        return Err(AppError::NotFound("STIX object"));
    }
    let key = key.to_owned();
    listing(conn, page, true, move || {
        disclosures::table
            .filter(disclosures::object_type.eq(STIX))
            .filter(disclosures::object_id.eq(key.clone()))
            .into_boxed()
    })
}

/// What the caller's organisation received from others, newest first.
pub fn received(
    conn: &mut DbConn,
    caller: &Caller,
    page: Pagination,
) -> Result<Paged<Receipt>, AppError> {
    let org = caller.org_id.clone();
    listing(conn, page, false, move || {
        disclosures::table
            .filter(disclosures::object_type.eq(STIX))
            .filter(disclosures::organisation_id.eq(org.clone()))
            .into_boxed()
    })
}

/// One page of the disclosures `q` selects, newest first.
fn listing<'a>(
    conn: &mut DbConn,
    page: Pagination,
    with_recipient: bool,
    q: impl Fn() -> disclosures::BoxedQuery<'a, MultiBackend>,
) -> Result<Paged<Receipt>, AppError> {
    let total: i64 = q().count().get_result(conn)?;
    let rows: Vec<DisclosureRow> = q()
        .order(disclosures::seq.desc())
        .offset(page.offset())
        .limit(page.limit())
        .select(columns())
        .load(conn)?;
    let mut items = Vec::new();
    for r in rows {
        items.extend(receipts(conn, r, with_recipient)?);
    }
    Ok(paged(items, page, total))
}

#[allow(clippy::type_complexity)]
fn columns() -> (
    disclosures::seq,
    disclosures::at,
    disclosures::organisation_id,
    disclosures::object_id,
    disclosures::object_version,
    disclosures::object_hash,
    disclosures::channel,
    disclosures::detail,
    disclosures::recipients,
) {
    (
        disclosures::seq,
        disclosures::at,
        disclosures::organisation_id,
        disclosures::object_id,
        disclosures::object_version,
        disclosures::object_hash,
        disclosures::channel,
        disclosures::detail,
        disclosures::recipients,
    )
}
