//! The audit log and the disclosure journal, for auditors and admins of the organisation
//! they concern.

use crate::audit;
use crate::auth::Caller;
use crate::db::rows::{AuditRow, DisclosureRow};
use crate::db::schema::{audit_log, disclosures};
use crate::error::AppError;
use crate::paging::Pagination;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use cirhub_shared::api::{AuditEntry, Disclosure, Paged, Recipient};
use cirhub_shared::time::from_millis;
use cirhub_shared::Role;
use diesel::prelude::*;

fn to_api(r: AuditRow) -> AuditEntry {
    AuditEntry {
        seq: r.seq,
        at: from_millis(r.at),
        actor_type: r.actor_type,
        actor_id: r.actor_id,
        organisation_id: r.organisation_id,
        action: r.action,
        object_type: r.object_type,
        object_id: r.object_id,
        object_version: r.object_version,
        object_hash: r.object_hash,
        channel: r.channel.and_then(|c| c.parse().ok()),
        detail: r.detail,
        prev_hash: r.prev_hash,
        hash: r.hash,
    }
}

/// Filters of the audit list.
#[derive(Debug, serde::Deserialize)]
pub struct AuditFilter {
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub action: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", operation_id = "list_audit_entries",
    params(crate::paging::Pagination, ("object_type" = Option<String>, Query),
           ("object_id" = Option<String>, Query), ("action" = Option<String>, Query)),
    responses((status = 200, body = Paged<AuditEntry>)), security(("bearer" = [])))]
/// The organisation's audit entries, newest first (auditor or admin).
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<Pagination>,
    filter: web::Query<AuditFilter>,
) -> Result<HttpResponse, AppError> {
    caller.require(Role::Auditor)?;
    let page = page.into_inner().validate()?;
    let f = filter.into_inner();
    let out = state
        .db
        .read(move |c| {
            let build = || {
                let mut q = audit_log::table
                    .filter(audit_log::organisation_id.eq(&caller.org_id))
                    .into_boxed();
                if let Some(t) = &f.object_type {
                    q = q.filter(audit_log::object_type.eq(t));
                }
                if let Some(id) = &f.object_id {
                    q = q.filter(audit_log::object_id.eq(id));
                }
                if let Some(a) = &f.action {
                    q = q.filter(audit_log::action.eq(a));
                }
                q
            };
            let total: i64 = build().count().get_result(c)?;
            let rows: Vec<AuditRow> = build()
                .order(audit_log::seq.desc())
                .offset(page.offset())
                .limit(page.limit())
                .select(AuditRow::as_select())
                .load(c)?;
            Ok(crate::paging::paged(
                rows.into_iter().map(to_api).collect(),
                page,
                total,
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, description = "Result of checking the caller's organisation's entries: `ok`, `entries` (how many were checked), `first_bad_seq`, `reason`")),
    security(("bearer" = [])))]
/// Checks the caller's organisation's entries against the hash chain (auditor or admin): each
/// entry's hash and its link to the entry before it. The walk over every tenant's entries is
/// the operator's (`cirhub audit verify`).
pub async fn verify(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, AppError> {
    caller.require(Role::Auditor)?;
    let org = caller.org_id.clone();
    let v = state
        .db
        .read(move |c| {
            let v = audit::verify_organisation(c, &org)?;
            if !v.ok {
                return Ok(v);
            }
            // The disclosures to this organisation are journal rows sealed into the chain in
            // batches: each batch that holds one must still match its seal.
            Ok(
                match audit::journal::verify_seals_concerning(c, Some(&org))? {
                    None => v,
                    Some((seq, _)) => audit::Verification {
                        ok: false,
                        first_bad_seq: Some(seq),
                        reason: Some(
                            "disclosures to this organisation do not match their seal".into(),
                        ),
                        ..v
                    },
                },
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Filters of the disclosure list.
#[derive(Debug, serde::Deserialize)]
pub struct DisclosureFilter {
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub channel: Option<cirhub_shared::Channel>,
}

#[utoipa::path(get, path = "/api/v1/audit/disclosures", tag = "audit", operation_id = "list_disclosures",
    params(crate::paging::Pagination, ("object_type" = Option<String>, Query),
           ("object_id" = Option<String>, Query), ("channel" = Option<cirhub_shared::Channel>, Query)),
    responses((status = 200, body = Paged<Disclosure>)), security(("bearer" = [])))]
/// The disclosure journal, newest first (auditor or admin): what your organisation was shown
/// or sent, and who was shown or sent your records. A fan-out lists only your organisation's
/// recipients unless the record is yours.
pub async fn disclosures(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<Pagination>,
    filter: web::Query<DisclosureFilter>,
) -> Result<HttpResponse, AppError> {
    caller.require(Role::Auditor)?;
    let page = page.into_inner().validate()?;
    let f = filter.into_inner();
    let org = caller.org_id.clone();
    let out = state
        .db
        .read(move |c| {
            // A fan-out names its recipients in JSON; ids are UUIDs, so the pattern is exact.
            let named = format!("%\"organisation_id\":\"{org}\"%");
            let build = || {
                let mut q = disclosures::table
                    .filter(
                        disclosures::organisation_id
                            .eq(&org)
                            .or(disclosures::recipients.like(&named)),
                    )
                    .into_boxed();
                if let Some(t) = &f.object_type {
                    q = q.filter(disclosures::object_type.eq(t));
                }
                if let Some(id) = &f.object_id {
                    q = q.filter(disclosures::object_id.eq(id));
                }
                if let Some(ch) = f.channel {
                    q = q.filter(disclosures::channel.eq(ch.as_str()));
                }
                q
            };
            let total: i64 = build().count().get_result(c)?;
            let rows: Vec<DisclosureRow> = build()
                .order(disclosures::seq.desc())
                .offset(page.offset())
                .limit(page.limit())
                .select(DisclosureRow::as_select())
                .load(c)?;
            let items = rows
                .into_iter()
                .map(|r| disclosure_to_api(r, &org))
                .collect();
            Ok(crate::paging::paged(items, page, total))
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

fn disclosure_to_api(r: DisclosureRow, org: &str) -> Disclosure {
    let owner = r.organisation_id.as_deref() == Some(org);
    let recipients = r.recipients.as_deref().map(|j| {
        serde_json::from_str::<Vec<Recipient>>(j)
            .unwrap_or_default()
            .into_iter()
            .filter(|x| owner || x.organisation_id == org)
            .collect()
    });
    Disclosure {
        seq: r.seq,
        at: from_millis(r.at),
        actor_type: r.actor_type,
        actor_id: r.actor_id,
        organisation_id: r.organisation_id,
        object_type: r.object_type,
        object_id: r.object_id,
        object_version: r.object_version,
        object_hash: r.object_hash,
        channel: r.channel.parse().unwrap_or(cirhub_shared::Channel::Http),
        recipients,
        detail: r.detail.and_then(|d| serde_json::from_str(&d).ok()),
    }
}
