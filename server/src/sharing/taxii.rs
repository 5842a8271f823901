//! TAXII 2.1 collections over the STIX object store. One natural mapping: each organisation
//! has its own collection (read and write: its objects), and one collection per agreement
//! in force it is a party to (read what the parties share under it; write to share under
//! it). Pages follow `stix_versions.seq`, a monotonic sequence, so a first page and an
//! `added_after` poll cost the same however many objects the collection holds. Every object
//! of another organisation that leaves is a disclosure naming version, agreement, decision.

use super::objects;
use super::policy::Decision;
use super::reads::{self, Reader, Share};
use super::stix;
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::AppError;
use crate::identity::Caller;
use cirhub_shared::sharing::{PutStixObject, Tlp};
use cirhub_shared::time::from_millis;
use cirhub_shared::Channel;
use diesel::prelude::*;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Most objects in one page; a larger `limit` is lowered to it (as TAXII allows).
pub const MAX_PAGE: i64 = 1000;
/// Largest envelope accepted by POST, in bytes (announced as the root's max_content_length).
pub const MAX_CONTENT_LENGTH: usize = 10 * 1024 * 1024;

/// A collection as the caller may use it.
#[derive(Debug, Clone)]
pub enum Collection {
    /// The caller's own objects.
    Own,
    /// Objects shared under an agreement in force that the caller is a party to.
    Agreement(String),
}

/// The id of an organisation's own collection: stable, and no other organisation's.
pub fn own_collection_id(org_id: &str) -> String {
    stix::identity_of(&format!("collection/{org_id}"))
        .trim_start_matches("identity--")
        .to_string()
}

/// The collections the caller may use, as TAXII collection resources.
pub fn collections(conn: &mut DbConn, caller: &Caller) -> Result<Vec<Value>, AppError> {
    let mut out = vec![own_resource(&caller.org_id)];
    let reader = Reader::org_wide(conn, caller)?;
    for t in reader.terms.values().filter(|t| t.in_force(reader.now)) {
        let title = super::terms::title_in_force(conn, &t.agreement_id)?;
        out.push(resource(
            &t.agreement_id,
            &title,
            "Objects shared under this agreement: read what the parties share; add objects to share them under it.",
        ));
    }
    Ok(out)
}

fn own_resource(org_id: &str) -> Value {
    resource(
        &own_collection_id(org_id),
        "Own objects",
        "The objects of your organisation: read them, and add new ones or new versions.",
    )
}

fn resource(id: &str, title: &str, description: &str) -> Value {
    json!({
        "id": id,
        "title": title,
        "description": description,
        "can_read": true,
        "can_write": true,
        "media_types": ["application/stix+json;version=2.1"],
    })
}

/// The collection with this id for the caller, or 404 (another organisation's collection,
/// an agreement not in force or one it is not party to all answer alike).
pub fn collection(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
) -> Result<(Collection, Value), AppError> {
    if id == own_collection_id(&caller.org_id) {
        return Ok((Collection::Own, own_resource(&caller.org_id)));
    }
    collections(conn, caller)?
        .into_iter()
        .find(|c| c["id"] == id)
        .map(|c| (Collection::Agreement(id.to_owned()), c))
        .ok_or(AppError::NotFound("collection"))
}

/// The query of an objects, manifest or versions request.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Only versions added after this instant (Unix ms).
    pub added_after: Option<i64>,
    pub limit: i64,
    /// The sequence number the previous page ended at.
    pub next: Option<i64>,
    pub ids: Vec<String>,
    pub types: Vec<String>,
    /// `last` (default), `first`, `all`, or STIX `modified` timestamps.
    pub versions: Vec<String>,
    pub spec_versions: Vec<String>,
}

/// One entry of a page: a version of an object the caller may see.
pub struct Entry {
    pub stix_id: String,
    pub version: i32,
    pub modified: Option<String>,
    pub added_at: i64,
    /// The STIX object as the caller sees it (None when only the manifest was asked).
    pub object: Option<Value>,
}

/// A page: its entries, and the cursor of the next one when there is more.
pub struct Page {
    pub entries: Vec<Entry>,
    pub next: Option<i64>,
}

/// Versions read per step of a page's scan, at most: a step reads twice the page's limit
/// (a first page of 100 reads 200 versions, not thousands), doubling while it finds little.
const SCAN_BATCH: i64 = 2000;
/// Most versions one page looks at: past it, the page ends with `more` and the client's next
/// request goes on from there (a page may hold fewer objects than its limit).
const SCAN_MAX: usize = 50_000;

type VersionRow = (i64, String, i32, Option<String>, i64);

/// Which versions of which objects a request selects, decided per version row.
struct Selection {
    all: bool,
    last: bool,
    first: bool,
    stamps: Vec<String>,
    types: Vec<String>,
}

impl Selection {
    fn new(q: &Query) -> Selection {
        let versions: Vec<&str> = if q.versions.is_empty() {
            vec!["last"]
        } else {
            q.versions.iter().map(String::as_str).collect()
        };
        Selection {
            all: versions.contains(&"all"),
            last: versions.contains(&"last"),
            first: versions.contains(&"first"),
            stamps: versions
                .iter()
                .filter(|v| !matches!(**v, "all" | "last" | "first"))
                .map(|v| v.to_string())
                .collect(),
            types: q.types.clone(),
        }
    }

    fn wants(&self, object: &StixObjectRow, version: i32, modified: &Option<String>) -> bool {
        (self.types.is_empty() || self.types.contains(&object.stix_type))
            && (self.all
                || (self.last && version == object.version)
                || (self.first && version == 1)
                || modified.as_ref().is_some_and(|m| self.stamps.contains(m)))
    }
}

/// A page of the collection's object versions, after `q.next`, in the order they were added.
/// `bodies`: whether the objects themselves leave (objects, versions) or only their
/// manifest entries; each body of another organisation's object is a disclosure.
///
/// The page walks `stix_versions` in sequence order from the cursor, in batches, and keeps
/// what belongs to the collection and the request: its cost follows the versions it looks
/// at, never the size of the store, and `added_after` starts the walk at the first version
/// added after that instant (found through the `added_at` index).
pub fn page(
    conn: &mut DbConn,
    caller: &Caller,
    collection: &Collection,
    q: &Query,
    bodies: bool,
) -> Result<Page, AppError> {
    let empty = Page {
        entries: Vec::new(),
        next: None,
    };
    if !q.spec_versions.is_empty() && !q.spec_versions.iter().any(|v| v == "2.1") {
        return Ok(empty);
    }
    let reader = Reader::org_wide(conn, caller)?;
    let limit = q.limit.clamp(1, MAX_PAGE) as usize;
    // What an agreement's terms can let through at all; the decision has the last word.
    let terms = match collection {
        Collection::Own => None,
        Collection::Agreement(id) => Some(
            reader
                .terms
                .get(id)
                .filter(|t| t.in_force(reader.now))
                .ok_or(AppError::NotFound("collection"))?
                .clone(),
        ),
    };
    let select = Selection::new(q);
    // Objects named by id: their keys, so the walk reads only their versions.
    let keys: Option<Vec<String>> = if q.ids.is_empty() {
        None
    } else {
        Some(
            stix_objects::table
                .filter(stix_objects::stix_id.eq_any(&q.ids))
                .select(stix_objects::key)
                .load(conn)?,
        )
    };
    let mut cursor = q.next.unwrap_or(0);
    if let Some(after) = q.added_after {
        // Where the walk starts: the lowest sequence number among the first versions added
        // after the instant, read in added_at order through its index (`min(seq)` with the
        // condition would walk the sequence from its start). Versions are numbered as they
        // are added, so the two orders agree but for writers racing within a millisecond,
        // which the thousand read here cover.
        let seqs: Vec<i64> = stix_versions::table
            .filter(stix_versions::added_at.gt(after))
            .order(stix_versions::added_at.asc())
            .limit(1000)
            .select(stix_versions::seq)
            .load(conn)?;
        match seqs.iter().min() {
            Some(first) => cursor = cursor.max(first - 1),
            None => return Ok(empty),
        }
    }
    let mut entries = Vec::new();
    let mut scanned = 0usize;
    let mut exhausted = false;
    let mut step = (limit as i64 * 2).clamp(20, SCAN_BATCH);
    'scan: while scanned < SCAN_MAX {
        let mut batch = stix_versions::table
            .filter(stix_versions::seq.gt(cursor))
            .into_boxed();
        if let Some(keys) = &keys {
            batch = batch.filter(stix_versions::object_key.eq_any(keys.clone()));
        }
        if let Some(after) = q.added_after {
            batch = batch.filter(stix_versions::added_at.gt(after));
        }
        let rows: Vec<VersionRow> = batch
            .order(stix_versions::seq.asc())
            .limit(step)
            .select((
                stix_versions::seq,
                stix_versions::object_key,
                stix_versions::version,
                stix_versions::modified,
                stix_versions::added_at,
            ))
            .load(conn)?;
        if rows.is_empty() {
            exhausted = true;
            break;
        }
        let mut wanted: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let objects: HashMap<String, StixObjectRow> = stix_objects::table
            .filter(stix_objects::key.eq_any(&wanted))
            .select(StixObjectRow::as_select())
            .load(conn)?
            .into_iter()
            .map(|o| (o.key.clone(), o))
            .collect();
        // Under this collection's agreement: the object's key and who passed it on (None:
        // its owner shares it).
        let shared: HashMap<String, Option<String>> = match collection {
            Collection::Own => HashMap::new(),
            Collection::Agreement(id) => stix_shares::table
                .filter(stix_shares::agreement_id.eq(id))
                .filter(stix_shares::object_id.eq_any(&wanted))
                .select((stix_shares::object_id, stix_shares::via))
                .load::<(String, Option<String>)>(conn)?
                .into_iter()
                .collect(),
        };
        let full_batch = rows.len() as i64 == step;
        step = (step * 2).min(SCAN_BATCH);
        for (seq, key, version, modified, added_at) in rows {
            cursor = seq;
            scanned += 1;
            let Some(row) = objects.get(&key) else {
                continue;
            };
            let own = row.owner_id == caller.org_id;
            // A cheap first cut by the terms (the decision below has the last word).
            let in_collection = match &terms {
                None => own,
                Some(t) => {
                    shared.contains_key(&key)
                        && (own
                            || (t.categories.iter().any(|c| c.as_str() == row.category)
                                && row
                                    .tlp
                                    .parse::<Tlp>()
                                    .is_ok_and(|l| l.within(t.tlp_ceiling) && l != Tlp::Red)))
                }
            };
            if !in_collection || !select.wants(row, version, &modified) {
                continue;
            }
            // The caller's own objects leave without a decision; another's only as decided
            // under this collection's agreement alone.
            let decision = match collection {
                Collection::Agreement(id) if !own => {
                    let share = Share {
                        agreement: id.clone(),
                        via: shared.get(&row.key).cloned().flatten(),
                    };
                    let d = reader.decide(conn, caller, row, &[share])?;
                    if !d.allowed {
                        continue;
                    }
                    Some(d)
                }
                _ => None,
            };
            let object = if bodies {
                Some(body(conn, caller, row, version, decision.as_ref())?)
            } else {
                None
            };
            entries.push(Entry {
                stix_id: row.stix_id.clone(),
                version,
                modified,
                added_at,
                object,
            });
            if entries.len() == limit {
                break 'scan;
            }
        }
        if !full_batch {
            exhausted = true;
            break;
        }
    }
    // More may follow unless the walk reached the end of the store.
    let more = !exhausted
        && stix_versions::table
            .filter(stix_versions::seq.gt(cursor))
            .select(stix_versions::seq)
            .first::<i64>(conn)
            .optional()?
            .is_some();
    Ok(Page {
        entries,
        next: more.then_some(cursor),
    })
}

/// One version's STIX object as the caller sees it; for another organisation's object the
/// disclosure is staged.
fn body(
    conn: &mut DbConn,
    caller: &Caller,
    row: &StixObjectRow,
    version: i32,
    decision: Option<&Decision>,
) -> Result<Value, AppError> {
    let (object, hash, _) = reads::shown(conn, row, version, decision)?;
    if let Some(d) = decision {
        reads::disclose(caller, row, version, &hash, d, Channel::Taxii)?;
    }
    Ok(object)
}

/// The outcome of adding one object of an envelope.
pub enum Added {
    Ok {
        id: String,
        version: Option<String>,
    },
    Failed {
        id: Option<String>,
        version: Option<String>,
        message: String,
    },
}

/// Adds the objects of an envelope to a collection, each on its own (a bad object never
/// stops the good ones, and never leaves half of itself); in an agreement's collection each
/// is shared under the agreement.
pub fn add(
    conn: &mut DbConn,
    caller: &Caller,
    collection: &Collection,
    objects_in: Vec<Value>,
) -> Result<Vec<Added>, AppError> {
    let share_under = match collection {
        Collection::Own => Vec::new(),
        Collection::Agreement(id) => vec![id.clone()],
    };
    let mut out = Vec::with_capacity(objects_in.len());
    for object in objects_in {
        let id = object.get("id").and_then(Value::as_str).map(str::to_owned);
        let version = object
            .get("modified")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let input = PutStixObject {
            object,
            share_under: share_under.clone(),
            named_recipients: None,
        };
        // `put` refuses before its first write, so a refused object leaves nothing behind
        // and the envelope's other objects go on; any other error ends the whole request.
        let result = objects::put(conn, caller, &input);
        out.push(match result {
            Ok((view, _)) => Added::Ok {
                id: view.id,
                version: view.modified,
            },
            Err(e) => match e.refusal() {
                Some(message) => Added::Failed {
                    id,
                    version,
                    message,
                },
                None => return Err(e),
            },
        });
    }
    Ok(out)
}

/// Stores a status resource for the caller's organisation and returns it.
pub fn record_status(
    conn: &mut DbConn,
    caller: &Caller,
    added: &[Added],
    requested_at: i64,
) -> Result<Value, AppError> {
    let id = uuid::Uuid::new_v4().to_string();
    let (mut successes, mut failures) = (Vec::new(), Vec::new());
    for a in added {
        match a {
            Added::Ok { id, version } => successes.push(json!({"id": id, "version": version})),
            Added::Failed {
                id,
                version,
                message,
            } => failures.push(json!({"id": id, "version": version, "message": message})),
        }
    }
    let status = json!({
        "id": id,
        "status": "complete",
        "request_timestamp": taxii_time(requested_at),
        "total_count": added.len(),
        "success_count": successes.len(),
        "successes": successes,
        "failure_count": failures.len(),
        "failures": failures,
        "pending_count": 0,
        "pendings": [],
    });
    diesel::insert_into(taxii_statuses::table)
        .values((
            taxii_statuses::id.eq(&id),
            taxii_statuses::organisation_id.eq(&caller.org_id),
            taxii_statuses::body.eq(status.to_string()),
            taxii_statuses::created_at.eq(now_ms()),
        ))
        .execute(conn)?;
    Ok(status)
}

/// A status resource of the caller's organisation, or 404.
pub fn status(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<Value, AppError> {
    let body: String = taxii_statuses::table
        .find(id)
        .filter(taxii_statuses::organisation_id.eq(&caller.org_id))
        .select(taxii_statuses::body)
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound("status"))?;
    serde_json::from_str(&body)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored TAXII status {id}: {e}")))
}

/// Removes an object from an agreement's collection (it is no longer shared under it). In
/// the organisation's own collection an object is withdrawn by a revoked version instead.
pub fn delete(
    conn: &mut DbConn,
    caller: &Caller,
    collection: &Collection,
    stix_id: &str,
) -> Result<(), AppError> {
    let key: String = stix_objects::table
        .filter(stix_objects::owner_id.eq(&caller.org_id))
        .filter(stix_objects::stix_id.eq(stix_id))
        .select(stix_objects::key)
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound("STIX object"))?;
    match collection {
        Collection::Own => Err(AppError::Forbidden(
            "Objects leave your own collection by a new version with revoked: true; delete them from an agreement's collection to stop sharing them under it.".into(),
        )),
        Collection::Agreement(id) => objects::unshare(conn, caller, &key, id).map(|_| ()),
    }
}

/// A TAXII timestamp (RFC 3339, UTC, milliseconds).
pub fn taxii_time(ms: i64) -> String {
    stix::stix_time(from_millis(ms))
}
