//! The terms of sharing agreements: checked and resolved when proposed, stored once per
//! version as a record version (RFC 8785 JSON with its SHA-256, so a disclosure naming an
//! agreement version names exactly the terms it relied on), and read back for the API (as
//! the reader may see them) and for the policy decision point (the terms in force).

use super::agreements::my_agreements;
use super::policy::Terms;
use crate::audit::versions;
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::{AppError, Check};
use crate::identity::Caller;
use cirhub_shared::sharing::{self as s, AgreementKind, PartyRole};
use cirhub_shared::time::from_millis;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{LazyLock, Mutex};
/// Object type of agreement versions (record versions and audit entries).
pub const AGREEMENT: &str = "agreement";

/// Largest community: parties of one agreement.
const MAX_PARTIES: usize = 500;

/// One version's terms exactly as stored and hashed (times in Unix ms, parties by id).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StoredTerms {
    pub(super) kind: AgreementKind,
    pub(super) title: String,
    purpose: String,
    parties: Vec<StoredParty>,
    pub(super) effective_from: i64,
    pub(super) effective_until: Option<i64>,
    categories: Vec<s::DataCategory>,
    tlp_ceiling: s::Tlp,
    onward: s::OnwardSharing,
    attribution: s::Attribution,
    retention_days: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredParty {
    organisation_id: String,
    role: PartyRole,
}

/// Checks proposed terms and resolves party slugs; the proposer must be a party.
pub(super) fn validate(
    conn: &mut DbConn,
    caller: &Caller,
    input: &s::AgreementTermsInput,
    now: i64,
) -> Result<StoredTerms, AppError> {
    let mut check = Check::new();
    check.text(&input.title, "title", 200);
    check.max_len(&input.purpose, "purpose", 4000);
    check.ensure(
        !input.categories.is_empty(),
        "categories",
        "name at least one data category the agreement allows",
    );
    check.ensure(
        (1..=3650).contains(&input.retention_days),
        "retention_days",
        "must be from 1 to 3650 days",
    );
    let from = input.effective_from.map_or(now, |t| t.timestamp_millis());
    let until = input.effective_until.map(|t| t.timestamp_millis());
    if let Some(u) = until {
        check.ensure(
            u > from,
            "effective_until",
            "must be after effective_from (omit it for an agreement without end)",
        );
        check.ensure(u > now, "effective_until", "must be in the future");
    }
    let n = input.parties.len();
    match input.kind {
        AgreementKind::Bilateral => check.ensure(
            n == 2,
            "parties",
            "a bilateral agreement has exactly two parties",
        ),
        AgreementKind::Community => check.ensure(
            (2..=MAX_PARTIES).contains(&n),
            "parties",
            "a community has from 2 to 500 parties",
        ),
    };
    let coordinators = input
        .parties
        .iter()
        .filter(|p| p.role == PartyRole::Coordinator)
        .count();
    for (i, p) in input.parties.iter().enumerate() {
        let ok = match input.kind {
            AgreementKind::Bilateral => p.role != PartyRole::Coordinator,
            AgreementKind::Community => {
                matches!(p.role, PartyRole::Coordinator | PartyRole::Member)
            }
        };
        let roles = match input.kind {
            AgreementKind::Bilateral => "provider, customer or member",
            AgreementKind::Community => "coordinator (exactly one) or member",
        };
        check.ensure(
            ok,
            &format!("parties[{i}].role"),
            &format!("in a {} agreement a party is a {roles}", input.kind),
        );
    }
    if input.kind == AgreementKind::Community {
        check.ensure(
            coordinators == 1,
            "parties",
            "a community has exactly one coordinator",
        );
    }
    if input.kind == AgreementKind::Bilateral && n == 2 {
        let roles: BTreeSet<PartyRole> = input.parties.iter().map(|p| p.role).collect();
        let pairs = roles == BTreeSet::from([PartyRole::Member])
            || roles == BTreeSet::from([PartyRole::Provider, PartyRole::Customer]);
        check.ensure(
            pairs,
            "parties",
            "two parties are a provider and a customer, or two members (peers)",
        );
    }
    check.done()?;
    let mut parties = Vec::with_capacity(n);
    let mut seen = BTreeSet::new();
    for (i, p) in input.parties.iter().enumerate() {
        let id: Option<String> = organisations::table
            .filter(organisations::slug.eq(p.organisation.trim()))
            .select(organisations::id)
            .first(conn)
            .optional()?;
        let id = id.ok_or_else(|| {
            AppError::field(
                format!("parties[{i}].organisation"),
                "no organisation has this slug",
            )
        })?;
        if !seen.insert(id.clone()) {
            return Err(AppError::field(
                format!("parties[{i}].organisation"),
                "each organisation is a party once",
            ));
        }
        parties.push(StoredParty {
            organisation_id: id,
            role: p.role,
        });
    }
    if !seen.contains(&caller.org_id) {
        return Err(AppError::field(
            "parties",
            "your own organisation must be one of the parties",
        ));
    }
    let mut categories = input.categories.clone();
    categories.sort();
    categories.dedup();
    Ok(StoredTerms {
        kind: input.kind,
        title: input.title.trim().to_owned(),
        purpose: input.purpose.trim().to_owned(),
        parties,
        effective_from: from,
        effective_until: until,
        categories,
        tlp_ceiling: input.tlp_ceiling,
        onward: input.onward,
        attribution: input.attribution,
        retention_days: input.retention_days,
    })
}

/// Stores a version's terms and its parties; the proposer's organisation accepts it.
pub(super) fn write_version(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    version: i32,
    terms: &StoredTerms,
    now: i64,
) -> Result<String, AppError> {
    let hash = versions::record(conn, AGREEMENT, id, version, terms)?;
    for p in &terms.parties {
        let mine = p.organisation_id == caller.org_id;
        diesel::insert_into(agreement_parties::table)
            .values(&AgreementPartyRow {
                agreement_id: id.to_owned(),
                version,
                organisation_id: p.organisation_id.clone(),
                role: p.role.as_str().to_owned(),
                accepted_at: mine.then_some(now),
                accepted_by: if mine {
                    caller.actor.id().map(str::to_owned)
                } else {
                    None
                },
            })
            .execute(conn)?;
    }
    Ok(hash)
}

pub(super) fn stored_terms(
    conn: &mut DbConn,
    id: &str,
    version: i32,
) -> Result<StoredTerms, AppError> {
    // A version's terms never change (record versions are append-only), so each is read
    // and parsed once per process: every decision of every exit needs them.
    static PARSED: LazyLock<Mutex<HashMap<(String, i32), StoredTerms>>> =
        LazyLock::new(Mutex::default);
    let key = (id.to_owned(), version);
    if let Some(t) = PARSED.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Ok(t.clone());
    }
    let (body, _) = versions::stored_or_fail(conn, AGREEMENT, id, version)?;
    let t: StoredTerms = serde_json::from_str(&body).map_err(|e| {
        AppError::Internal(anyhow::anyhow!("stored agreement {id} v{version}: {e}"))
    })?;
    PARSED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, t.clone());
    Ok(t)
}

/// One version's terms as `caller` may see them.
pub(super) fn terms_view(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    version: i32,
) -> Result<s::AgreementTerms, AppError> {
    let (body, hash) = versions::stored_or_fail(conn, AGREEMENT, id, version)?;
    let t: StoredTerms = serde_json::from_str(&body).map_err(|e| {
        AppError::Internal(anyhow::anyhow!("stored agreement {id} v{version}: {e}"))
    })?;
    let rows: Vec<AgreementPartyRow> = agreement_parties::table
        .filter(agreement_parties::agreement_id.eq(id))
        .filter(agreement_parties::version.eq(version))
        .select(AgreementPartyRow::as_select())
        .load(conn)?;
    let accepted: BTreeMap<String, Option<i64>> = rows
        .into_iter()
        .map(|r| (r.organisation_id, r.accepted_at))
        .collect();
    let mine = t
        .parties
        .iter()
        .find(|p| p.organisation_id == caller.org_id)
        .map(|p| p.role);
    // A community member that is pseudonymous to the others sees the coordinator and itself.
    let everyone = t.kind == AgreementKind::Bilateral
        || t.attribution == s::Attribution::Named
        || mine == Some(PartyRole::Coordinator);
    let mut parties = Vec::new();
    for p in &t.parties {
        if !(everyone || p.role == PartyRole::Coordinator || p.organisation_id == caller.org_id) {
            continue;
        }
        let org: OrgRow = organisations::table
            .find(&p.organisation_id)
            .select(OrgRow::as_select())
            .first(conn)?;
        parties.push(s::Party {
            organisation_id: org.id,
            organisation_slug: org.slug,
            organisation_name: org.name,
            role: p.role,
            accepted_at: accepted
                .get(&p.organisation_id)
                .copied()
                .flatten()
                .map(from_millis),
        });
    }
    Ok(s::AgreementTerms {
        version,
        kind: t.kind,
        title: t.title,
        purpose: t.purpose,
        parties,
        party_count: t.parties.len() as i64,
        effective_from: from_millis(t.effective_from),
        effective_until: t.effective_until.map(from_millis),
        categories: t.categories,
        tlp_ceiling: t.tlp_ceiling,
        onward: t.onward,
        attribution: t.attribution,
        retention_days: t.retention_days,
        hash,
    })
}

/// The terms in force of every agreement `org` is a party to, as the policy reads them
/// (suspended and expired ones included: the decision itself says they do not cover).
pub fn terms_for(conn: &mut DbConn, org: &str) -> Result<Vec<Terms>, AppError> {
    let rows = my_agreements(conn, org)?;
    terms_from(conn, rows)
}

/// The terms in force of the agreements `ids` (those never in force are left out).
pub fn terms_of(conn: &mut DbConn, ids: &[String]) -> Result<Vec<Terms>, AppError> {
    let rows: Vec<AgreementRow> = agreements::table
        .filter(agreements::id.eq_any(ids))
        .filter(agreements::in_force_version.is_not_null())
        .select(AgreementRow::as_select())
        .load(conn)?;
    terms_from(conn, rows)
}

/// The terms in force of `rows` (those never in force are left out).
fn terms_from(conn: &mut DbConn, rows: Vec<AgreementRow>) -> Result<Vec<Terms>, AppError> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(version) = row.in_force_version else {
            continue;
        };
        let t = stored_terms(conn, &row.id, version)?;
        out.push(Terms {
            agreement_id: row.id.clone(),
            version,
            state: parse_stored(&row.state, "agreement state")?,
            effective_from: t.effective_from,
            effective_until: t.effective_until,
            parties: t
                .parties
                .into_iter()
                .map(|p| (p.organisation_id, p.role))
                .collect(),
            categories: t.categories,
            tlp_ceiling: t.tlp_ceiling,
            onward: t.onward,
        });
    }
    Ok(out)
}

/// The attribution of an agreement's terms in force (pseudonymous when none are: a source
/// is never named by default).
pub fn attribution_in_force(conn: &mut DbConn, id: &str) -> Result<s::Attribution, AppError> {
    let version: Option<Option<i32>> = agreements::table
        .find(id)
        .select(agreements::in_force_version)
        .first(conn)
        .optional()?;
    match version.flatten() {
        Some(v) => Ok(stored_terms(conn, id, v)?.attribution),
        None => Ok(s::Attribution::Pseudonymous),
    }
}

/// The title of an agreement's terms in force.
pub fn title_in_force(conn: &mut DbConn, id: &str) -> Result<String, AppError> {
    let version: Option<i32> = agreements::table
        .find(id)
        .select(agreements::in_force_version)
        .first(conn)?;
    match version {
        Some(v) => Ok(stored_terms(conn, id, v)?.title),
        None => Ok(String::new()),
    }
}
