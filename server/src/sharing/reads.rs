//! Reading STIX objects: the owner reads its own; any other organisation reads an object
//! only when [`policy::decide`], asked with the terms in force of exactly the agreements it
//! is shared under, allows it, and each such read stages a disclosure naming the version,
//! its hash, the agreement and the decision.

use super::objects::STIX;
use super::policy::{self, Decision, Object, Recipient, Terms};
use super::stix;
use super::terms;
use crate::audit::{journal, versions, Event};
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::AppError;
use crate::identity::{Actor, Caller};
use crate::paging::{paged, Pagination};
use cirhub_shared::api::Paged;
use cirhub_shared::sharing::{self as s, Attribution, DataCategory, Tlp};
use cirhub_shared::time::from_millis;
use cirhub_shared::Channel;
use diesel::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;

/// Filters of the object list.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListFilter {
    /// STIX type, e.g. `indicator`.
    #[serde(rename = "type")]
    pub stix_type: Option<String>,
    pub tlp: Option<Tlp>,
    /// `true`: only the caller's own; `false`: only what others share with it.
    pub own: Option<bool>,
    pub category: Option<DataCategory>,
    /// Only objects shared under this agreement (the caller's and others').
    pub agreement: Option<String>,
}

/// An organisation as the reader of an organisation-wide channel (the stream, a review).
pub(super) fn org_caller(org: &str) -> Caller {
    Caller {
        org_id: org.to_owned(),
        role: cirhub_shared::Role::Viewer,
        actor: Actor::System,
        session_id: None,
    }
}

/// Terms in force of the agreements an object is shared under that the reader is party to,
/// and the person the channel reaches (for TLP:RED).
pub(super) struct Reader {
    pub(super) terms: BTreeMap<String, Terms>,
    pub(super) now: i64,
    /// The e-mail address of the person reading for themself (a user's own API read or
    /// lookup); None on an organisation-wide channel.
    person: Option<String>,
}

impl Reader {
    /// A reader through a channel of the caller's: personal when the caller is a user.
    pub(super) fn new(conn: &mut DbConn, caller: &Caller) -> Result<Reader, AppError> {
        let mut reader = Reader::org_wide(conn, caller)?;
        if let Actor::User { id, .. } = &caller.actor {
            reader.person = users::table
                .find(id)
                .select(users::email)
                .first(conn)
                .optional()?;
        }
        Ok(reader)
    }

    /// A reader through an organisation-wide channel (a TAXII collection, an export, the
    /// stream): TLP:RED never passes it.
    pub(super) fn org_wide(conn: &mut DbConn, caller: &Caller) -> Result<Reader, AppError> {
        Ok(Reader {
            terms: terms::terms_for(conn, &caller.org_id)?
                .into_iter()
                .map(|t| (t.agreement_id.clone(), t))
                .collect(),
            now: now_ms(),
            person: None,
        })
    }

    /// The decision for one object shared as `shares` says: by its owner under an
    /// agreement, or passed on by a recipient under one of its own (owner -> via -> reader).
    pub(super) fn decide(
        &self,
        conn: &mut DbConn,
        caller: &Caller,
        row: &StixObjectRow,
        shares: &[Share],
    ) -> Result<Decision, AppError> {
        let named = named_recipients(row)?;
        let object = Object {
            owner: &row.owner_id,
            tlp: parse_stored(&row.tlp, "TLP")?,
            category: parse_stored(&row.category, "data category")?,
            named_recipients: &named,
        };
        let recipient = Recipient {
            org: &caller.org_id,
            person: self.person.as_deref(),
        };
        let direct: Vec<Terms> = shares
            .iter()
            .filter(|s| s.via.is_none())
            .filter_map(|s| self.terms.get(&s.agreement).cloned())
            .collect();
        let first = policy::decide(object, &[], recipient, &direct, self.now);
        if first.allowed {
            return Ok(first);
        }
        for share in shares {
            let (Some(via), Some(last)) = (share.via.as_deref(), self.terms.get(&share.agreement))
            else {
                continue;
            };
            let mut terms = upstream(conn, &row.key, via)?;
            terms.push(last.clone());
            let d = policy::decide(object, &[via], recipient, &terms, self.now);
            if d.allowed {
                return Ok(d);
            }
        }
        Ok(first)
    }
}

/// How an object is shared under one agreement: by its owner (`via` None) or passed on by
/// the organisation `via`, which received it from the owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Share {
    pub(super) agreement: String,
    pub(super) via: Option<String>,
}

/// The terms in force of the agreements the owner shares `key` under that `via` is a party
/// to: the first hop of what `via` passes on.
fn upstream(conn: &mut DbConn, key: &str, via: &str) -> Result<Vec<Terms>, AppError> {
    let ids: Vec<String> = stix_shares::table
        .filter(stix_shares::object_id.eq(key))
        .filter(stix_shares::via.is_null())
        .select(stix_shares::agreement_id)
        .load(conn)?;
    let mut terms = terms::terms_of(conn, &ids)?;
    terms.retain(|t| t.role_of(via).is_some());
    Ok(terms)
}

/// The persons a TLP:RED object names (none for any other marking).
pub(super) fn named_recipients(row: &StixObjectRow) -> Result<Vec<String>, AppError> {
    match &row.named_recipients {
        Some(list) if row.tlp == Tlp::Red.as_str() => {
            Ok(serde_json::from_str(list).map_err(|e| {
                AppError::Internal(anyhow::anyhow!("named recipients of {}: {e}", row.key))
            })?)
        }
        _ => Ok(Vec::new()),
    }
}

/// Every share of an object, by agreement id.
pub(super) fn shares_of(conn: &mut DbConn, key: &str) -> Result<Vec<Share>, AppError> {
    Ok(stix_shares::table
        .filter(stix_shares::object_id.eq(key))
        .order(stix_shares::agreement_id.asc())
        .select((stix_shares::agreement_id, stix_shares::via))
        .load::<(String, Option<String>)>(conn)?
        .into_iter()
        .map(|(agreement, via)| Share { agreement, via })
        .collect())
}

/// One stored version of an object as a reader sees it: its body (under a pseudonymous
/// agreement, another organisation's `created_by_ref` is the agreement's pseudonym of the
/// owner), the version's hash, and whether the owner is named to the reader. `decision` is
/// None for the owner. Every exit renders objects through here.
pub(super) fn shown(
    conn: &mut DbConn,
    row: &StixObjectRow,
    version: i32,
    decision: Option<&Decision>,
) -> Result<(Value, String, bool), AppError> {
    let (body, hash) = versions::stored_or_fail(conn, STIX, &row.key, version)?;
    let mut object: Value = serde_json::from_str(&body)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored STIX object {}: {e}", row.key)))?;
    let named = match decision {
        None => true,
        Some(d) => {
            let (agreement, _) = d.agreement.as_ref().ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("an allowance without an agreement"))
            })?;
            // What was passed on never names its owner: the recipient's agreement with the
            // one who passed it on cannot speak for the owner.
            let named = d.passed_on_by.is_none()
                && terms::attribution_in_force(conn, agreement)? == Attribution::Named;
            if !named {
                object["created_by_ref"] = Value::String(pseudonym(&row.owner_id, agreement));
            }
            named
        }
    };
    Ok((object, hash, named))
}

/// The API form of the newest version; `decision` is None for the owner.
pub(super) fn view(
    conn: &mut DbConn,
    caller: &Caller,
    row: &StixObjectRow,
    decision: Option<&Decision>,
) -> Result<s::StixObject, AppError> {
    let (object, hash, named) = shown(conn, row, row.version, decision)?;
    let own = row.owner_id == caller.org_id;
    let shares = shares_of(conn, &row.key)?;
    let agreements = match decision.and_then(|d| d.agreement.as_ref()) {
        // The owner sees the agreements it shares under (not those a recipient passed it
        // on under, which it is no party to).
        None => shares
            .iter()
            .filter(|s| s.via.is_none())
            .map(|s| s.agreement.clone())
            .collect(),
        Some((agreement, _)) => vec![agreement.clone()],
    };
    let passed_on_under = shares
        .into_iter()
        .filter(|s| !own && s.via.as_deref() == Some(caller.org_id.as_str()))
        .map(|s| s.agreement)
        .collect();
    let owner = if named {
        Some(slug_of(conn, &row.owner_id)?)
    } else {
        None
    };
    let added_at: i64 = stix_versions::table
        .filter(stix_versions::object_key.eq(&row.key))
        .filter(stix_versions::version.eq(row.version))
        .select(stix_versions::added_at)
        .first(conn)?;
    Ok(s::StixObject {
        key: row.key.clone(),
        id: row.stix_id.clone(),
        stix_type: row.stix_type.clone(),
        category: parse_stored(&row.category, "data category")?,
        tlp: parse_stored(&row.tlp, "TLP")?,
        own,
        owner,
        version: row.version,
        modified: row.modified.clone(),
        revoked: row.revoked,
        hash,
        agreements,
        named_recipients: if own {
            named_recipients(row)?
        } else {
            Vec::new()
        },
        passed_on_under,
        added_at: from_millis(added_at),
        object,
    })
}

pub(super) fn slug_of(conn: &mut DbConn, org: &str) -> Result<String, AppError> {
    Ok(organisations::table
        .find(org)
        .select(organisations::slug)
        .first(conn)?)
}

/// The identity a pseudonymous agreement shows for an owner: stable per (owner, agreement),
/// unlinkable across agreements.
pub(super) fn pseudonym(owner: &str, agreement_id: &str) -> String {
    stix::identity_of(&format!("{owner}/{agreement_id}"))
}

/// Stages the disclosure of a version to the caller through `channel`: which agreement
/// allowed it, and why.
pub(super) fn disclose(
    caller: &Caller,
    row: &StixObjectRow,
    version: i32,
    hash: &str,
    d: &Decision,
    channel: Channel,
) -> Result<(), AppError> {
    let (agreement, agreement_version) = d.agreement.clone().unwrap_or_default();
    journal::stage(
        &[Event::disclosure(
            &caller.actor,
            &caller.org_id,
            STIX,
            &row.key,
            Some(version),
            Some(hash.to_owned()),
            channel,
        )
        .detail(serde_json::json!({
            "agreement_id": agreement,
            "agreement_version": agreement_version,
            "decision": d.reason.as_str(),
            "owner_id": row.owner_id,
            "passed_on_by": d.passed_on_by,
        }))],
        false,
    )
}

/// An object the caller may read and the decision that lets it (None: its own); 404 for
/// anything else, whether missing or refused.
pub(super) fn readable(
    conn: &mut DbConn,
    caller: &Caller,
    key: &str,
) -> Result<(StixObjectRow, Option<Decision>), AppError> {
    let row: StixObjectRow = stix_objects::table
        .find(key)
        .select(StixObjectRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound("STIX object"))?;
    if row.owner_id == caller.org_id {
        return Ok((row, None));
    }
    let shared = shares_of(conn, key)?;
    let d = Reader::new(conn, caller)?.decide(conn, caller, &row, &shared)?;
    if !d.allowed {
        return Err(AppError::NotFound("STIX object"));
    }
    Ok((row, Some(d)))
}

/// One object the caller may see: its own, or another's that an agreement lets reach it
/// (a disclosure is staged); anything else is 404.
pub fn get(conn: &mut DbConn, caller: &Caller, key: &str) -> Result<s::StixObject, AppError> {
    let (row, d) = readable(conn, caller, key)?;
    let out = view(conn, caller, &row, d.as_ref())?;
    if let Some(d) = &d {
        disclose(caller, &row, row.version, &out.hash, d, Channel::Http)?;
    }
    Ok(out)
}

/// Every version of an object the caller may see (hashes, not bodies: nothing disclosed).
pub fn versions_of(
    conn: &mut DbConn,
    caller: &Caller,
    key: &str,
) -> Result<Vec<s::StixVersion>, AppError> {
    // The same decision as a read: another's object is listed only when it may be read.
    readable(conn, caller, key)?;
    let rows: Vec<(i32, Option<String>, bool, i64)> = stix_versions::table
        .filter(stix_versions::object_key.eq(key))
        .order(stix_versions::version.asc())
        .select((
            stix_versions::version,
            stix_versions::modified,
            stix_versions::revoked,
            stix_versions::added_at,
        ))
        .load(conn)?;
    let keys: Vec<(&str, i32)> = rows.iter().map(|(v, ..)| (key, *v)).collect();
    let hashes = versions::hashes(conn, STIX, &keys)?;
    rows.into_iter()
        .map(|(version, modified, revoked, added_at)| {
            let hash = hashes
                .get(&(key.to_owned(), version))
                .cloned()
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("{key} v{version} unstored")))?;
            Ok(s::StixVersion {
                version,
                modified,
                revoked,
                hash,
                added_at: from_millis(added_at),
            })
        })
        .collect()
}

/// The objects the caller may see with `filter` (through a channel of its person when
/// `personal`, else organisation-wide), newest change first, each with the
/// decision that lets it (None: its own). Nothing is disclosed yet: the exit that sends
/// them does that.
pub(super) fn visible(
    conn: &mut DbConn,
    caller: &Caller,
    filter: &ListFilter,
    personal: bool,
) -> Result<Vec<(StixObjectRow, Option<Decision>)>, AppError> {
    let reader = if personal {
        Reader::new(conn, caller)?
    } else {
        Reader::org_wide(conn, caller)?
    };
    let usable: Vec<String> = reader
        .terms
        .values()
        .filter(|t| t.in_force(reader.now))
        .filter(|t| {
            filter
                .agreement
                .as_ref()
                .is_none_or(|a| *a == t.agreement_id)
        })
        .map(|t| t.agreement_id.clone())
        .collect();
    // Candidates: own objects, and objects shared under an agreement in force the caller is
    // party to; the decision then filters them one by one.
    let mut q = stix_objects::table
        .left_join(stix_shares::table)
        .into_boxed();
    if filter.agreement.is_some() {
        // Shared under one agreement: the caller's own objects shared under it, and others'.
        q = q.filter(stix_shares::agreement_id.eq_any(&usable));
    }
    q = match filter.own {
        Some(true) => q.filter(stix_objects::owner_id.eq(&caller.org_id)),
        Some(false) => q
            .filter(stix_objects::owner_id.ne(&caller.org_id))
            .filter(stix_shares::agreement_id.eq_any(&usable)),
        None => q.filter(
            stix_objects::owner_id
                .eq(&caller.org_id)
                .or(stix_shares::agreement_id.eq_any(&usable)),
        ),
    };
    if let Some(t) = &filter.stix_type {
        q = q.filter(stix_objects::stix_type.eq(t));
    }
    if let Some(t) = filter.tlp {
        q = q.filter(stix_objects::tlp.eq(t.as_str()));
    }
    if let Some(c) = filter.category {
        q = q.filter(stix_objects::category.eq(c.as_str()));
    }
    let rows: Vec<(StixObjectRow, Option<String>, Option<String>)> = q
        .order((stix_objects::updated_at.desc(), stix_objects::key.desc()))
        .select((
            StixObjectRow::as_select(),
            stix_shares::agreement_id.nullable(),
            stix_shares::via.nullable(),
        ))
        .load(conn)?;
    let mut grouped: Vec<(StixObjectRow, Vec<Share>)> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for (row, share, via) in rows {
        let i = *index.entry(row.key.clone()).or_insert_with(|| {
            grouped.push((row, Vec::new()));
            grouped.len() - 1
        });
        if let Some(agreement) = share {
            grouped[i].1.push(Share { agreement, via });
        }
    }
    let mut visible = Vec::new();
    for (row, shared) in grouped {
        if row.owner_id == caller.org_id {
            visible.push((row, None));
            continue;
        }
        let d = reader.decide(conn, caller, &row, &shared)?;
        if d.allowed {
            visible.push((row, Some(d)));
        }
    }
    Ok(visible)
}

/// The objects the caller may see, newest change first: its own, and others' shared under
/// an agreement that lets them reach it. Each object of another organisation listed is a
/// disclosure of its newest version.
pub fn list(
    conn: &mut DbConn,
    caller: &Caller,
    filter: &ListFilter,
    page: Pagination,
) -> Result<Paged<s::StixObject>, AppError> {
    let visible = visible(conn, caller, filter, true)?;
    let total = visible.len() as i64;
    let start = usize::try_from(page.offset()).unwrap_or(usize::MAX);
    let mut items = Vec::new();
    for (row, d) in visible.into_iter().skip(start).take(page.limit() as usize) {
        let out = view(conn, caller, &row, d.as_ref())?;
        if let Some(d) = &d {
            disclose(caller, &row, row.version, &out.hash, d, Channel::Http)?;
        }
        items.push(out);
    }
    Ok(paged(items, page, total))
}
