//! Personal feed tokens: a customer mints revocable secrets that open its own Statuspage v2
//! documents and Atom feed, filtered to what affects it (public and targeted records of all
//! its providers together), so existing Statuspage clients and widgets work unchanged.

use crate::audit::{self, Event};
use crate::auth::{random_secret, sha256_hex};
use crate::customers::dashboard::{feed_rows, names_by_component};
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::{AppError, Check};
use crate::identity::{Actor, Caller};
use crate::paging::paged;
use crate::paging::Pagination;
use crate::publishing::status_view::{self, Reader};
use crate::publishing::statuspage::{FeedIds, PublicData, PublicIncident};
use cirhub_shared::api::Paged;
use cirhub_shared::customer::{CreateFeedToken, CreatedFeedToken, FeedToken};
use cirhub_shared::time::from_millis;
use cirhub_shared::{Channel, Role};
use diesel::prelude::*;
use std::collections::HashMap;

/// Prefix of feed token secrets.
pub const FEED_TOKEN_PREFIX: &str = "cirfeed_";

fn to_api(r: &FeedTokenRow) -> FeedToken {
    FeedToken {
        id: r.id.clone(),
        name: r.name.clone(),
        prefix: r.prefix.clone(),
        created_at: from_millis(r.created_at),
        last_used_at: r.last_used_at.map(from_millis),
        revoked_at: r.revoked_at.map(from_millis),
    }
}

/// Base URL of a feed token's documents.
pub fn feed_base(base_url: &str, secret: &str) -> String {
    format!("{base_url}/feeds/{secret}")
}

pub fn create(
    conn: &mut DbConn,
    caller: &Caller,
    input: &CreateFeedToken,
    base_url: &str,
) -> Result<CreatedFeedToken, AppError> {
    caller.require(Role::Analyst)?;
    Check::new().text(&input.name, "name", 200).done()?;
    let secret = format!("{FEED_TOKEN_PREFIX}{}", random_secret());
    let row = FeedTokenRow {
        id: new_id(),
        customer_id: caller.org_id.clone(),
        created_by: caller.actor.id().map(str::to_owned),
        name: input.name.trim().into(),
        prefix: secret.chars().take(14).collect(),
        secret_hash: sha256_hex(secret.as_bytes()),
        created_at: now_ms(),
        last_used_at: None,
        revoked_at: None,
    };
    diesel::insert_into(feed_tokens::table)
        .values(&row)
        .execute(conn)?;
    let token = to_api(&row);
    audit::append(
        conn,
        Event::change(
            &caller.actor,
            &caller.org_id,
            "feed_token.create",
            "feed_token",
            &row.id,
        )
        .version(Some(1), &token)?,
    )?;
    let base = feed_base(base_url, &secret);
    Ok(CreatedFeedToken {
        token,
        statuspage_url: format!("{base}/api/v2/"),
        atom_url: format!("{base}/history.atom"),
        secret,
    })
}

pub fn list(
    conn: &mut DbConn,
    caller: &Caller,
    page: Pagination,
) -> Result<Paged<FeedToken>, AppError> {
    let q = feed_tokens::table.filter(feed_tokens::customer_id.eq(&caller.org_id));
    let total: i64 = q.count().get_result(conn)?;
    let rows: Vec<FeedTokenRow> = q
        .order((feed_tokens::created_at.desc(), feed_tokens::id.desc()))
        .offset(page.offset())
        .limit(page.limit())
        .select(FeedTokenRow::as_select())
        .load(conn)?;
    Ok(paged(rows.iter().map(to_api).collect(), page, total))
}

pub fn revoke(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<(), AppError> {
    caller.require(Role::Analyst)?;
    let n = diesel::update(
        feed_tokens::table
            .find(id)
            .filter(feed_tokens::customer_id.eq(&caller.org_id))
            .filter(feed_tokens::revoked_at.is_null()),
    )
    .set(feed_tokens::revoked_at.eq(now_ms()))
    .execute(conn)?;
    crate::effects::note(|e| {
        e.stale_feed_tokens.insert(id.to_string());
    });
    if n == 0 {
        let exists: i64 = feed_tokens::table
            .find(id)
            .filter(feed_tokens::customer_id.eq(&caller.org_id))
            .count()
            .get_result(conn)?;
        if exists == 0 {
            return Err(AppError::NotFound("feed token"));
        }
        return Ok(());
    }
    audit::append(
        conn,
        Event::change(
            &caller.actor,
            &caller.org_id,
            "feed_token.revoke",
            "feed_token",
            id,
        ),
    )
    .map(|_| ())
}

/// The live token for a secret; 401 for an unknown or revoked one. A read, never cached, so
/// a revocation takes effect at the next request.
pub fn resolve(conn: &mut DbConn, secret: &str) -> Result<FeedTokenRow, AppError> {
    let row: Option<FeedTokenRow> = feed_tokens::table
        .filter(feed_tokens::secret_hash.eq(sha256_hex(secret.as_bytes())))
        .filter(feed_tokens::revoked_at.is_null())
        .select(FeedTokenRow::as_select())
        .first(conn)
        .optional()?;
    row.ok_or_else(|| {
        AppError::Unauthorized("The feed token is unknown or revoked; mint a new one.".into())
    })
}

/// Whether the token's `last_used_at` is due for an update (kept to the minute, so that
/// reading a feed writes at most once a minute).
pub fn needs_touch(token: &FeedTokenRow, now: i64) -> bool {
    token.last_used_at.is_none_or(|t| now - t > 60_000)
}

/// Records that the token was used now.
pub fn touch(conn: &mut DbConn, id: &str) -> Result<(), AppError> {
    diesel::update(feed_tokens::table.find(id))
        .set(feed_tokens::last_used_at.eq(now_ms()))
        .execute(conn)?;
    Ok(())
}

/// The customer's feed: its covered components (named in its own words, grouped by
/// provider, with the statuses it may know) and every record the policy check lets it see.
/// Every version of a record in it is recorded as disclosed to the token (see
/// [`disclose_once`]) in this transaction, before any response built from it leaves.
pub fn data(
    conn: &mut DbConn,
    token: &FeedTokenRow,
    secret: &str,
    base_url: &str,
) -> Result<PublicData, AppError> {
    let org: OrgRow = organisations::table
        .find(&token.customer_id)
        .select(OrgRow::as_select())
        .first(conn)?;
    let rows = feed_rows(conn, &org.id, crate::publishing::statuspage::HISTORY_LIMIT)?;
    let links = crate::customers::visibility::providers_of(conn, &org.id)?;
    let names = names_by_component(conn, &org.id)?;
    let mut components = Vec::new();
    let mut groups = Vec::new();
    let mut services = HashMap::new();
    let mut regions = HashMap::new();
    for (pos, link) in links.iter().enumerate() {
        let provider: OrgRow = organisations::table
            .find(&link.rel.provider_id)
            .select(OrgRow::as_select())
            .first(conn)?;
        let mut rows: Vec<ComponentRow> = components::table
            .filter(components::provider_id.eq(&provider.id))
            .order((components::position.asc(), components::name.asc()))
            .select(ComponentRow::as_select())
            .load::<ComponentRow>(conn)?
            .into_iter()
            .filter(|c| link.touches(&vec![(c.service_id.clone(), c.region_id.clone())]))
            .collect();
        status_view::apply(conn, &mut rows, Reader::Customer(&org.id))?;
        for mut c in rows {
            if let Some(n) = names.get(&c.id) {
                c.name = format!("{} ({})", n.join(", "), c.name);
            }
            c.group_id = Some(provider.id.clone());
            components.push(c);
        }
        for s in services::table
            .filter(services::provider_id.eq(&provider.id))
            .select(ServiceRow::as_select())
            .load::<ServiceRow>(conn)?
        {
            services.insert(s.id.clone(), s);
        }
        for r in regions::table
            .filter(regions::provider_id.eq(&provider.id))
            .select(RegionRow::as_select())
            .load::<RegionRow>(conn)?
        {
            regions.insert(r.id.clone(), r);
        }
        groups.push(GroupRow {
            id: provider.id.clone(),
            provider_id: provider.id.clone(),
            name: provider.name.clone(),
            position: pos as i32,
            created_at: provider.created_at,
            updated_at: provider.updated_at,
        });
    }
    let actor = Actor::FeedToken {
        id: token.id.clone(),
        name: token.name.clone(),
    };
    let mut incidents = Vec::new();
    for (_, row, component_ids) in rows {
        let updates: Vec<UpdateRow> = incident_updates::table
            .filter(incident_updates::incident_id.eq(&row.id))
            .order((
                incident_updates::created_at.desc(),
                incident_updates::id.desc(),
            ))
            .select(UpdateRow::as_select())
            .load(conn)?;
        disclose_once(conn, &actor, &org.id, &row)?;
        incidents.push(PublicIncident {
            row,
            updates,
            component_ids,
        });
    }
    Ok(PublicData {
        page_path: "/console/dashboard".into(),
        feed_path: format!("/feeds/{secret}"),
        feed_ids: FeedIds::personal(&org.id),
        org,
        base_url: base_url.into(),
        components,
        groups,
        services,
        regions,
        incidents,
    })
}

/// The organisations whose changes can alter a customer's feed: itself and its providers
/// (the feed cache drops the customer's documents when any of them changes).
pub fn depends_on(conn: &mut DbConn, token: &FeedTokenRow) -> Result<Vec<String>, AppError> {
    let mut orgs: Vec<String> =
        crate::customers::visibility::providers_of(conn, &token.customer_id)?
            .into_iter()
            .map(|l| l.rel.provider_id)
            .collect();
    orgs.push(token.customer_id.clone());
    Ok(orgs)
}

/// Records that this version of a record was disclosed to the token, the first time it is.
/// The feed's one disclosure call: every document a token is served is built by [`data`],
/// which calls this for each record in it before the document is cached or sent.
fn disclose_once(
    conn: &mut DbConn,
    actor: &Actor,
    org: &str,
    row: &IncidentRow,
) -> Result<(), AppError> {
    let seen: i64 = disclosures::table
        .filter(disclosures::object_type.eq("incident"))
        .filter(disclosures::object_id.eq(&row.id))
        .filter(disclosures::object_version.eq(row.version))
        .filter(disclosures::actor_id.eq(actor.id().unwrap_or_default()))
        .count()
        .get_result(conn)?;
    if seen > 0 {
        return Ok(());
    }
    let hash = audit::versions::hash_of(conn, audit::versions::INCIDENT, &row.id, row.version)?;
    let event = Event::disclosure(
        actor,
        org,
        "incident",
        &row.id,
        Some(row.version),
        Some(hash),
        Channel::Feed,
    );
    audit::journal::stage(std::slice::from_ref(&event), true)
}
