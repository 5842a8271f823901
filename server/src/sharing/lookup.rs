//! Lookups of observable values: one value or a batch of up to 1,000, each normalised and
//! turned into exact index keys ([`values::probe`]), answered with the objects the caller
//! may see: its own, and others' that [`super::policy::decide`] lets reach it (each such
//! object version a disclosure through channel `lookup`). The index (`stix_values`) holds
//! the values of every object's newest version and is rewritten with each version.

use super::objects::STIX;
use super::reads::{self, Reader, Share};
use super::values::{self, Probe};
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::AppError;
use crate::identity::Caller;
use cirhub_shared::sharing::{self as s, ValueKind};
use cirhub_shared::time::from_millis;
use cirhub_shared::Channel;
use diesel::prelude::*;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Most values one batch may hold.
pub const MAX_BATCH: usize = 1000;

/// Keys per query: well under SQLite's and PostgreSQL's bound-parameter limits.
const CHUNK: usize = 500;

/// Rewrites the index entries of an object for its newest version (a revoked object has
/// none). `replace`: the object had entries before.
pub(super) fn index(
    conn: &mut DbConn,
    key: &str,
    stix_type: &str,
    object: &Map<String, Value>,
    replace: bool,
) -> Result<(), AppError> {
    if replace {
        diesel::delete(stix_values::table.filter(stix_values::object_key.eq(key))).execute(conn)?;
    }
    let vals = values::of_object(stix_type, object);
    let rows: Vec<_> = vals
        .iter()
        .map(|(kind, value)| {
            (
                stix_values::kind.eq(kind.as_str()),
                stix_values::ip_key.eq(values::ip_key(*kind, value)),
                stix_values::value.eq(value),
                stix_values::object_key.eq(key),
            )
        })
        .collect();
    for r in rows {
        diesel::insert_into(stix_values::table)
            .values(r)
            .execute(conn)?;
    }
    for (kind, value) in &vals {
        note_prefix(conn, *kind, value)?;
    }
    Ok(())
}

/// The version of the migration that created the value index (2026-12-03-000004_lookup):
/// objects stored before it are indexed once,
/// when it is applied ([`backfill_index`]).
pub const INDEX_MIGRATION: &str = "20261203000004";

/// Indexes the values of every object stored before the value index existed; run once,
/// right after the migration that created the index. Returns how many objects it indexed.
pub fn backfill_index(conn: &mut DbConn) -> Result<usize, AppError> {
    let missing: Vec<(String, String, i32)> = stix_objects::table
        .left_join(stix_values::table)
        .filter(stix_values::object_key.is_null())
        .filter(stix_objects::revoked.eq(false))
        .select((
            stix_objects::key,
            stix_objects::stix_type,
            stix_objects::version,
        ))
        .distinct()
        .load(conn)?;
    let mut indexed = 0;
    for (key, stix_type, version) in missing {
        let (body, _) = crate::audit::versions::stored_or_fail(conn, STIX, &key, version)?;
        let Ok(Value::Object(object)) = serde_json::from_str::<Value>(&body) else {
            continue;
        };
        if !values::of_object(&stix_type, &object).is_empty() {
            index(conn, &key, &stix_type, &object, false)?;
            indexed += 1;
        }
    }
    Ok(indexed)
}

/// Records that the index holds a network of this value's prefix length (a no-op for
/// addresses and other kinds).
pub(super) fn note_prefix(conn: &mut DbConn, kind: ValueKind, value: &str) -> Result<(), AppError> {
    let Some(len) = value
        .split_once('/')
        .and_then(|(_, l)| l.parse::<i32>().ok())
        .filter(|_| matches!(kind, ValueKind::Ipv4 | ValueKind::Ipv6))
    else {
        return Ok(());
    };
    crate::on_concrete!(conn, |c| diesel::insert_into(stix_prefixes::table)
        .values((
            stix_prefixes::kind.eq(kind.as_str()),
            stix_prefixes::len.eq(len)
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(())
}

/// Whether a probe key can be in the index: an address always, a network only when the
/// index holds networks of its prefix length.
fn worth_probing(held: &dyn Fn(ValueKind, u8) -> bool, kind: ValueKind, value: &str) -> bool {
    match value.split_once('/') {
        Some((_, l)) if matches!(kind, ValueKind::Ipv4 | ValueKind::Ipv6) => {
            l.parse::<u8>().is_ok_and(|l| held(kind, l))
        }
        _ => true,
    }
}

/// The index entries matching a set of probes: (object key, kind, value).
fn matching(
    conn: &mut DbConn,
    held: &dyn Fn(ValueKind, u8) -> bool,
    probes: &[&Probe],
) -> Result<Vec<(String, String, String)>, AppError> {
    let mut by_kind: BTreeMap<ValueKind, BTreeSet<&str>> = BTreeMap::new();
    for p in probes {
        for (k, v) in &p.keys {
            if worth_probing(held, *k, v) {
                by_kind.entry(*k).or_default().insert(v.as_str());
            }
        }
    }
    let mut out = Vec::new();
    for (kind, vals) in by_kind {
        let vals: Vec<&str> = vals.into_iter().collect();
        for chunk in vals.chunks(CHUNK) {
            let found: Vec<(String, String, String)> = crate::load_keyed!(
                conn,
                stix_values::table
                    .filter(stix_values::kind.eq(kind.as_str()))
                    .select((
                        stix_values::object_key,
                        stix_values::kind,
                        stix_values::value,
                    )),
                stix_values::value,
                chunk
            )?;
            out.extend(found);
        }
    }
    for p in probes {
        if let Some((kind, lo, hi)) = &p.inside {
            out.extend(
                stix_values::table
                    .filter(stix_values::kind.eq(kind.as_str()))
                    .filter(stix_values::ip_key.between(lo, hi))
                    // Bounded: a /0 must not turn one lookup into a table scan answer.
                    .limit(1000)
                    .select((
                        stix_values::object_key,
                        stix_values::kind,
                        stix_values::value,
                    ))
                    .load::<(String, String, String)>(conn)?,
            );
        }
    }
    Ok(out)
}

/// Whether an index entry lies inside a looked-up network (exact keys are matched by map).
fn inside(p: &Probe, kind: &str, value: &str) -> bool {
    p.inside.as_ref().is_some_and(|(k, lo, hi)| {
        k.as_str() == kind
            && values::ip_key(*k, value).is_some_and(|ip| ip >= *lo && ip <= *hi)
            // A network wider than the looked-up one holds it: already a key.
            && value.split_once('/').is_none_or(|(_, l)| {
                p.normalised
                    .split_once('/')
                    .is_some_and(|(_, pl)| l.parse::<u8>().ok() >= pl.parse::<u8>().ok())
            })
    })
}

/// What a visible object contributes to every answer that matches it.
struct Found {
    row: StixObjectRow,
    agreement_id: Option<String>,
    source: Option<String>,
    source_identity: String,
    confidence: Option<i64>,
    valid_from: Option<String>,
    valid_until: Option<String>,
    first_seen: i64,
    last_seen: i64,
    sightings: i64,
    hash: String,
}

/// Answers a batch of values (at most [`MAX_BATCH`]), in the order asked.
pub fn lookup(
    conn: &mut DbConn,
    caller: &Caller,
    asked: &[String],
) -> Result<Vec<s::LookupAnswer>, AppError> {
    if asked.is_empty() || asked.len() > MAX_BATCH {
        return Err(AppError::field(
            "values",
            format!("between 1 and {MAX_BATCH} values per lookup"),
        ));
    }
    let prefixes: BTreeSet<(String, i32)> = crate::on_concrete!(conn, |c| stix_prefixes::table
        .select((stix_prefixes::kind, stix_prefixes::len))
        .load::<(String, i32)>(c))?
    .into_iter()
    .collect();
    let held =
        |kind: ValueKind, len: u8| prefixes.contains(&(kind.as_str().to_owned(), i32::from(len)));
    let probes: Vec<Result<Probe, &str>> =
        asked.iter().map(|v| values::probe_held(v, &held)).collect();
    let ok: Vec<&Probe> = probes.iter().filter_map(|p| p.as_ref().ok()).collect();
    let entries = matching(conn, &held, &ok)?;
    let found = visible(conn, caller, entries.iter().map(|(k, ..)| k.as_str()))?;
    // The visible entries by (kind, value): each probe looks its keys up instead of
    // walking every entry (a batch would otherwise cost values x entries).
    let mut by_key: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    let mut ranged: Vec<usize> = Vec::new();
    for (i, (key, kind, v)) in entries.iter().enumerate() {
        if found.contains_key(key) {
            by_key
                .entry((kind.as_str(), v.as_str()))
                .or_default()
                .push(i);
            if values::ip_key(parse_stored(kind, "value kind")?, v).is_some() {
                ranged.push(i);
            }
        }
    }
    let mut answers = Vec::with_capacity(asked.len());
    for (value, probe) in asked.iter().zip(&probes) {
        let p = match probe {
            Ok(p) => p,
            Err(e) => {
                answers.push(s::LookupAnswer {
                    value: value.clone(),
                    kind: None,
                    normalised: None,
                    error: Some((*e).to_string()),
                    matches: Vec::new(),
                });
                continue;
            }
        };
        let mut matches = Vec::new();
        let mut seen = BTreeSet::new();
        let exact = p
            .keys
            .iter()
            .filter_map(|(k, v)| by_key.get(&(k.as_str(), v.as_str())))
            .flatten();
        let inside = ranged
            .iter()
            .filter(|_| p.inside.is_some())
            .filter(|i| inside(p, &entries[**i].1, &entries[**i].2));
        for i in exact.chain(inside) {
            let (key, kind, v) = &entries[*i];
            let Some(f) = found.get(key) else { continue };
            if !seen.insert(key.as_str()) {
                continue;
            }
            matches.push(s::LookupMatch {
                key: key.clone(),
                id: f.row.stix_id.clone(),
                stix_type: f.row.stix_type.clone(),
                matched_kind: parse_stored(kind, "value kind")?,
                matched: v.clone(),
                own: f.agreement_id.is_none(),
                source: f.source.clone(),
                source_identity: f.source_identity.clone(),
                agreement_id: f.agreement_id.clone(),
                tlp: parse_stored(&f.row.tlp, "TLP")?,
                confidence: f.confidence,
                revoked: f.row.revoked,
                valid_from: f.valid_from.clone(),
                valid_until: f.valid_until.clone(),
                first_seen: from_millis(f.first_seen),
                last_seen: from_millis(f.last_seen),
                sightings: f.sightings,
                version: f.row.version,
                hash: f.hash.clone(),
            });
        }
        answers.push(s::LookupAnswer {
            value: value.clone(),
            kind: Some(p.kind),
            normalised: Some(p.normalised.clone()),
            error: None,
            matches,
        });
    }
    Ok(answers)
}

/// The objects among `keys` the caller may see, each other organisation's one disclosed
/// once (its newest version, channel lookup).
fn visible<'a>(
    conn: &mut DbConn,
    caller: &Caller,
    keys: impl Iterator<Item = &'a str>,
) -> Result<BTreeMap<String, Found>, AppError> {
    let keys: Vec<&str> = keys.collect::<BTreeSet<_>>().into_iter().collect();
    let mut rows: Vec<StixObjectRow> = Vec::new();
    for chunk in keys.chunks(CHUNK) {
        let found: Vec<StixObjectRow> = crate::load_keyed!(
            conn,
            stix_objects::table.select(StixObjectRow::as_select()),
            stix_objects::key,
            chunk
        )?;
        rows.extend(found);
    }
    let others: Vec<&str> = rows
        .iter()
        .filter(|r| r.owner_id != caller.org_id)
        .map(|r| r.key.as_str())
        .collect();
    let mut shares: BTreeMap<String, Vec<Share>> = BTreeMap::new();
    for chunk in others.chunks(CHUNK) {
        // Only shares under agreements the caller is a party to can let an object reach it.
        let mine = agreement_parties::table
            .filter(agreement_parties::organisation_id.eq(&caller.org_id))
            .select(agreement_parties::agreement_id);
        let found: Vec<(String, String, Option<String>)> = crate::load_keyed!(
            conn,
            stix_shares::table
                .filter(stix_shares::agreement_id.eq_any(mine))
                .select((
                    stix_shares::object_id,
                    stix_shares::agreement_id,
                    stix_shares::via,
                )),
            stix_shares::object_id,
            chunk
        )?;
        for (k, a, via) in found {
            shares
                .entry(k)
                .or_default()
                .push(Share { agreement: a, via });
        }
    }
    // The terms are read only when another organisation's object matched that is shared
    // under an agreement the caller is a party to; any other is not visible.
    let reader = if shares.is_empty() {
        None
    } else {
        Some(Reader::new(conn, caller)?)
    };
    let mut out = BTreeMap::new();
    let mut slugs: BTreeMap<String, String> = BTreeMap::new();
    for row in rows {
        let decision = match &reader {
            _ if row.owner_id == caller.org_id => None,
            None => continue,
            Some(r) => {
                let shared = shares.get(&row.key).map(Vec::as_slice).unwrap_or(&[]);
                let d = r.decide(conn, caller, &row, shared)?;
                if !d.allowed {
                    continue;
                }
                Some(d)
            }
        };
        let (object, hash, named) = reads::shown(conn, &row, row.version, decision.as_ref())?;
        if let Some(d) = &decision {
            reads::disclose(caller, &row, row.version, &hash, d, Channel::Lookup)?;
        }
        let text = |k: &str| object.get(k).and_then(Value::as_str).map(String::from);
        let source = match (named, slugs.get(&row.owner_id)) {
            (false, _) => None,
            (true, Some(s)) => Some(s.clone()),
            (true, None) => {
                let s = reads::slug_of(conn, &row.owner_id)?;
                slugs.insert(row.owner_id.clone(), s.clone());
                Some(s)
            }
        };
        out.insert(
            row.key.clone(),
            Found {
                agreement_id: decision.and_then(|d| d.agreement.map(|(a, _)| a)),
                source,
                source_identity: text("created_by_ref").unwrap_or_default(),
                confidence: object.get("confidence").and_then(Value::as_i64),
                valid_from: text("valid_from"),
                valid_until: text("valid_until"),
                first_seen: row.created_at,
                last_seen: row.updated_at,
                sightings: 0,
                hash,
                row,
            },
        );
    }
    // Sightings reported to the owners: summed, with the earliest and latest time seen.
    let found_keys: Vec<String> = out.keys().cloned().collect();
    for chunk in found_keys.chunks(CHUNK) {
        type Sums = (String, Option<i64>, Option<i64>, Option<i64>);
        let sums: Vec<Sums> = crate::load_keyed!(
            conn,
            stix_sightings::table
                .group_by(stix_sightings::object_key)
                .select((
                    stix_sightings::object_key,
                    diesel::dsl::sum(stix_sightings::count),
                    diesel::dsl::min(stix_sightings::first_seen),
                    diesel::dsl::max(stix_sightings::last_seen),
                )),
            stix_sightings::object_key,
            chunk
        )?;
        for (k, n, first, last) in sums {
            if let Some(f) = out.get_mut(&k) {
                f.sightings = n.unwrap_or(0);
                f.first_seen = first.map_or(f.first_seen, |t| t.min(f.first_seen));
                f.last_seen = last.map_or(f.last_seen, |t| t.max(f.last_seen));
            }
        }
    }
    Ok(out)
}

/// A recipient reports sightings of an object it may see, to its owner, under the agreement
/// the object reached it by. The owner cannot report sightings of its own object here.
pub fn report_sighting(
    conn: &mut DbConn,
    caller: &Caller,
    key: &str,
    input: &s::ReportSighting,
) -> Result<s::Sighting, AppError> {
    let (_, d) = reads::readable(conn, caller, key)?;
    let Some(d) = d else {
        return Err(AppError::field(
            "key",
            "sightings are reported back to another organisation's object; record your own as a STIX sighting",
        ));
    };
    let (agreement, _) = d
        .agreement
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("an allowance without an agreement")))?;
    crate::error::Check::new()
        .ensure(input.count >= 1, "count", "must be at least 1")
        .max_len(&input.note, "note", 2000)
        .done()?;
    let now = now_ms();
    let first = input.first_seen.map_or(now, |t| t.timestamp_millis());
    let last = input
        .last_seen
        .map_or(now.max(first), |t| t.timestamp_millis());
    if last < first {
        return Err(AppError::field(
            "last_seen",
            "must not be before first_seen",
        ));
    }
    let id = new_id();
    diesel::insert_into(stix_sightings::table)
        .values((
            stix_sightings::id.eq(&id),
            stix_sightings::object_key.eq(key),
            stix_sightings::reporter_id.eq(&caller.org_id),
            stix_sightings::agreement_id.eq(&agreement),
            stix_sightings::count.eq(input.count),
            stix_sightings::first_seen.eq(first),
            stix_sightings::last_seen.eq(last),
            stix_sightings::note.eq(&input.note),
            stix_sightings::reported_by.eq(caller.actor.id()),
            stix_sightings::created_at.eq(now),
        ))
        .execute(conn)?;
    crate::audit::append(
        conn,
        crate::audit::Event::change(&caller.actor, &caller.org_id, "stix.sighting", STIX, key)
            .detail(serde_json::json!({
                "sighting_id": id, "agreement_id": agreement, "count": input.count,
            })),
    )?;
    let mine = sightings(conn, caller, key)?;
    mine.into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("sighting {id} not read back")))
}

/// The sightings of an object the caller may see: every one for its owner (each reporter
/// named when its agreement names sources, a pseudonym otherwise), a recipient's own.
pub fn sightings(
    conn: &mut DbConn,
    caller: &Caller,
    key: &str,
) -> Result<Vec<s::Sighting>, AppError> {
    let own = reads::readable(conn, caller, key)?.1.is_none();
    let mut q = stix_sightings::table
        .filter(stix_sightings::object_key.eq(key))
        .into_boxed();
    if !own {
        q = q.filter(stix_sightings::reporter_id.eq(&caller.org_id));
    }
    type Row = (String, String, String, i32, i64, i64, Option<String>, i64);
    let rows: Vec<Row> = q
        .order((stix_sightings::created_at.desc(), stix_sightings::id.desc()))
        .limit(1000)
        .select((
            stix_sightings::id,
            stix_sightings::reporter_id,
            stix_sightings::agreement_id,
            stix_sightings::count,
            stix_sightings::first_seen,
            stix_sightings::last_seen,
            stix_sightings::note,
            stix_sightings::created_at,
        ))
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, reporter, agreement, count, first, last, note, at) in rows {
        let named = reporter == caller.org_id
            || super::terms::attribution_in_force(conn, &agreement)? == s::Attribution::Named;
        out.push(s::Sighting {
            id,
            object_key: key.to_owned(),
            reporter: if named {
                Some(reads::slug_of(conn, &reporter)?)
            } else {
                None
            },
            reporter_identity: if named {
                super::stix::identity_of(&reporter)
            } else {
                reads::pseudonym(&reporter, &agreement)
            },
            agreement_id: agreement,
            count,
            first_seen: from_millis(first),
            last_seen: from_millis(last),
            note: note.unwrap_or_default(),
            reported_at: from_millis(at),
        });
    }
    Ok(out)
}
