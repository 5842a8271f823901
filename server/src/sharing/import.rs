//! Imports of indicator files (STIX 2.1 bundles, MISP JSON events, CSV) into an
//! organisation's objects, from the CLI (`cirhub ioc import`) and the API's import jobs.
//! The file is read as a stream ([`super::formats::read`]); records are stored in batches of
//! [`BATCH`], each batch one transaction with one audit entry (its objects' version hashes
//! digested), so a million records cost a thousand commits, not a million. Each record is
//! checked like any object sent to the API, and refused before its first write: a bad record
//! is reported with its position and reason, never half stored, never stopping the others.
//! Deduplicated by (id, modified) (the same version again writes nothing) and by normalised
//! value (a new object whose every value the organisation already holds elsewhere is left
//! out).

use super::formats::{self, Defaults, Format, Open, ReadError, Record};
use super::objects::{self, Held, Stored, STIX};
use super::stix;
use super::values;
use crate::audit::{versions, Event};
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::{Db, DbConn};
use crate::effects::{self, Effects};
use crate::error::AppError;
use crate::identity::Caller;
use cirhub_shared::sharing::{ImportCounts, ImportError, Tlp, ValueKind};
use diesel::prelude::*;
use serde_json::Value;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher, BuildHasherDefault};

/// Records per transaction.
pub const BATCH: usize = 1000;
/// Refused records listed (all are counted).
pub const MAX_ERRORS: usize = 1000;
/// Object type of import audit entries.
pub const IMPORT: &str = "import";

/// What to import and how.
#[derive(Debug, Clone)]
pub struct Spec {
    pub format: Format,
    /// The TLP of records that carry none.
    pub tlp: Tlp,
    /// Agreements in force to share every imported object under.
    pub share_under: Vec<String>,
}

/// Where an import got to.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub counts: ImportCounts,
    pub errors: Vec<ImportError>,
    /// Why it stopped before the end of the file (the batches before it stand).
    pub failure: Option<String>,
    /// Every refused record since the last progress call (all of them, not only the first
    /// [`MAX_ERRORS`]); the progress callback takes them.
    pub fresh: Vec<ImportError>,
}

impl Outcome {
    fn reject(&mut self, position: String, reason: String) {
        self.counts.rejected += 1;
        let e = ImportError { position, reason };
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(e.clone());
        }
        self.fresh.push(e);
    }
}

/// Runs an import for the caller's organisation. `bytes_read` tells how far into the file
/// the reader is; `progress` is called after each committed batch; `apply` is handed each
/// batch's effects once it commits (a serving instance wakes its stream pump with them).
#[allow(clippy::too_many_arguments)]
pub fn run(
    db: &Db,
    apply: &dyn Fn(&Effects),
    caller: &Caller,
    import_id: &str,
    spec: &Spec,
    open: &mut Open<'_>,
    bytes_read: &dyn Fn() -> u64,
    progress: &mut dyn FnMut(&mut Outcome) -> Result<(), AppError>,
) -> Result<Outcome, AppError> {
    // Refused before anything is read or written.
    let shares = objects::agreements_to_share_under(&mut *db.conn()?, caller, &spec.share_under)?;
    let defaults = Defaults {
        tlp: spec.tlp,
        now: chrono::Utc::now(),
    };
    let mut out = Outcome::default();
    // 64-bit hashes of the STIX ids this import stored: the same id twice in one file is
    // one object (8 bytes an object, not the whole id).
    let mut seen = HashSet::new();
    let mut batch: Vec<Record> = Vec::with_capacity(BATCH);
    let read = formats::read(spec.format, open, &defaults, &mut |r: Record| {
        batch.push(r);
        if batch.len() >= BATCH {
            flush(
                db, apply, caller, import_id, &shares, &mut batch, &mut seen, &mut out,
            )?;
            out.counts.bytes_read = bytes_read();
            progress(&mut out)?;
        }
        Ok::<(), AppError>(())
    });
    let stopped = match read {
        Ok(_) => None,
        Err(ReadError::Stopped(e)) => return Err(e),
        Err(ReadError::Malformed { position, reason }) => Some(if position.is_empty() {
            reason
        } else {
            format!("{position}: {reason}")
        }),
        Err(ReadError::Io(e)) => Some(format!("the file could not be read: {e}")),
    };
    flush(
        db, apply, caller, import_id, &shares, &mut batch, &mut seen, &mut out,
    )?;
    out.counts.bytes_read = bytes_read();
    out.failure = stopped;
    progress(&mut out)?;
    Ok(out)
}

fn id_hash(id: &str) -> u64 {
    BuildHasherDefault::<DefaultHasher>::default().hash_one(id)
}

/// The rows of a batch's new objects, written together at its end.
#[derive(Default)]
struct Pending {
    objects: Vec<StixObjectRow>,
    bodies: Vec<(String, String)>,
    values: Vec<(ValueKind, String, usize)>,
    /// Values taken by this batch's new objects (the next one with all of them is left out).
    taken: HashSet<(ValueKind, String)>,
}

impl Pending {
    /// Adds a new object; its version's hash.
    fn add(
        &mut self,
        org: &str,
        checked: stix::Checked,
        vals: Vec<(ValueKind, String)>,
        now: i64,
    ) -> Result<String, AppError> {
        let body = versions::canonical(&Value::Object(checked.object))?;
        let hash = versions::sha256(body.as_bytes());
        let i = self.objects.len();
        self.objects.push(StixObjectRow {
            key: new_id(),
            stix_id: checked.id,
            owner_id: org.to_owned(),
            stix_type: checked.stix_type,
            category: checked.category.as_str().into(),
            tlp: checked.tlp.as_str().into(),
            version: 1,
            modified: checked.modified,
            revoked: checked.revoked,
            created_at: now,
            updated_at: now,
            named_recipients: None,
        });
        self.bodies.push((body, hash.clone()));
        for (k, v) in vals {
            self.taken.insert((k, v.clone()));
            self.values.push((k, v, i));
        }
        Ok(hash)
    }

    /// Writes every row, one cached statement per table (diesel's multi-row insert on SQLite
    /// is a loop of single-row statements in a nested transaction, which the writer's own
    /// `BEGIN IMMEDIATE` does not allow).
    fn write(
        self,
        c: &mut DbConn,
        shares: &[String],
        by: Option<&str>,
        now: i64,
    ) -> Result<(), AppError> {
        for row in self.objects.iter() {
            diesel::insert_into(stix_objects::table)
                .values(row)
                .execute(c)?;
        }
        let versions: Vec<_> = self
            .objects
            .iter()
            .zip(&self.bodies)
            .map(|(o, (body, hash))| {
                (
                    record_versions::object_type.eq(STIX),
                    record_versions::object_id.eq(&o.key),
                    record_versions::version.eq(1),
                    record_versions::body.eq(body),
                    record_versions::hash.eq(hash),
                    record_versions::created_at.eq(now),
                )
            })
            .collect();
        for row in versions.iter() {
            diesel::insert_into(record_versions::table)
                .values(row)
                .execute(c)?;
        }
        let seqs: Vec<_> = self
            .objects
            .iter()
            .map(|o| {
                (
                    stix_versions::object_key.eq(&o.key),
                    stix_versions::version.eq(1),
                    stix_versions::modified.eq(&o.modified),
                    stix_versions::revoked.eq(o.revoked),
                    stix_versions::added_at.eq(now),
                )
            })
            .collect();
        for row in seqs.iter() {
            diesel::insert_into(stix_versions::table)
                .values(row)
                .execute(c)?;
        }
        let indexed: Vec<_> = self
            .values
            .iter()
            .map(|(k, v, i)| {
                (
                    stix_values::kind.eq(k.as_str()),
                    stix_values::value.eq(v),
                    stix_values::object_key.eq(&self.objects[*i].key),
                    stix_values::ip_key.eq(values::ip_key(*k, v)),
                )
            })
            .collect();
        for row in indexed.iter() {
            diesel::insert_into(stix_values::table)
                .values(row)
                .execute(c)?;
        }
        for (k, v, _) in &self.values {
            super::lookup::note_prefix(c, *k, v)?;
        }
        for a in shares {
            let rows: Vec<_> = self
                .objects
                .iter()
                .map(|o| {
                    (
                        stix_shares::object_id.eq(&o.key),
                        stix_shares::agreement_id.eq(a),
                        stix_shares::shared_at.eq(now),
                        stix_shares::shared_by.eq(by),
                    )
                })
                .collect();
            for row in rows.iter() {
                diesel::insert_into(stix_shares::table)
                    .values(row)
                    .execute(c)?;
            }
        }
        Ok(())
    }
}

/// A kind and normalised value.
type KindValue = (ValueKind, String);

/// Which of `ids` `org` holds, and which of `vals` it holds in any object.
fn held_already(
    c: &mut DbConn,
    org: &str,
    ids: &[&str],
    vals: &BTreeMap<ValueKind, BTreeSet<&str>>,
) -> Result<(HashSet<String>, HashSet<KindValue>), AppError> {
    let mut held_ids = HashSet::new();
    for chunk in ids.chunks(500) {
        held_ids.extend(
            stix_objects::table
                .filter(stix_objects::owner_id.eq(org))
                .filter(stix_objects::stix_id.eq_any(chunk))
                .select(stix_objects::stix_id)
                .load::<String>(c)?,
        );
    }
    let mut held_vals = HashSet::new();
    for (kind, vs) in vals {
        let vs: Vec<&str> = vs.iter().copied().collect();
        for chunk in vs.chunks(500) {
            let found: Vec<String> = stix_values::table
                .inner_join(stix_objects::table)
                .filter(stix_values::kind.eq(kind.as_str()))
                .filter(stix_values::value.eq_any(chunk))
                .filter(stix_objects::owner_id.eq(org))
                .select(stix_values::value)
                .load(c)?;
            held_vals.extend(found.into_iter().map(|v| (*kind, v)));
        }
    }
    Ok((held_ids, held_vals))
}

/// Stores one batch in one transaction with one audit entry: every record checked first
/// (outside the transaction), then what the organisation already holds read in a few
/// queries, new objects written together at its end, and a version of an object
/// already held stored one by one.
#[allow(clippy::too_many_arguments)]
fn flush(
    db: &Db,
    apply: &dyn Fn(&Effects),
    caller: &Caller,
    import_id: &str,
    shares: &[String],
    batch: &mut Vec<Record>,
    seen: &mut HashSet<u64>,
    out: &mut Outcome,
) -> Result<(), AppError> {
    if batch.is_empty() {
        return Ok(());
    }
    let before = out.clone();
    let org = caller.org_id.as_str();
    let mut ready = Vec::with_capacity(batch.len());
    for r in std::mem::take(batch) {
        out.counts.read += 1;
        let checked = r
            .object
            .and_then(|v| stix::check(v, org, "").map_err(|e| e.refusal().unwrap_or_default()));
        match checked {
            Ok(c) => {
                let vals = values::of_object(&c.stix_type, &c.object);
                ready.push((r.position, c, vals));
            }
            Err(reason) if !reason.is_empty() => out.reject(r.position, reason),
            Err(_) => {
                return Err(AppError::Internal(anyhow::anyhow!(
                    "checking {} failed",
                    r.position
                )))
            }
        }
    }
    // Its effects (the batch's stream notices) are handed to `apply` once it commits.
    let result = db.write_blocking(|c| {
        effects::collect(|| {
            let ids: Vec<&str> = ready.iter().map(|(_, ch, _)| ch.id.as_str()).collect();
            let mut wanted: BTreeMap<ValueKind, BTreeSet<&str>> = BTreeMap::new();
            for (_, _, vals) in &ready {
                for (k, v) in vals {
                    wanted.entry(*k).or_default().insert(v.as_str());
                }
            }
            let (held_ids, held_vals) = held_already(c, org, &ids, &wanted)?;
            let now = now_ms();
            let mut pending = Pending::default();
            let mut hashes = String::new();
            let mut updated = 0u64;
            let mut changed = Vec::new();
            for (position, checked, vals) in ready {
                if !seen.insert(id_hash(&checked.id)) {
                    out.counts.duplicates += 1;
                    continue;
                }
                if !held_ids.contains(&checked.id) {
                    let all_held = !vals.is_empty()
                        && vals
                            .iter()
                            .all(|kv| held_vals.contains(kv) || pending.taken.contains(kv));
                    if all_held {
                        out.counts.duplicates += 1;
                    } else {
                        hashes.push_str(&pending.add(org, checked, vals, now)?);
                    }
                    continue;
                }
                match objects::held(c, org, &checked)? {
                    Some(Held::Same(key)) => {
                        out.counts.unchanged += 1;
                        objects::add_shares(c, caller, &key, shares)?;
                        continue;
                    }
                    Some(Held::SameVersion) => {
                        out.counts.duplicates += 1;
                        continue;
                    }
                    None => {}
                }
                match objects::store(c, org, &checked) {
                    Ok(Stored::Same(row)) => {
                        out.counts.unchanged += 1;
                        objects::add_shares(c, caller, &row.key, shares)?;
                    }
                    Ok(Stored::Written { row, hash, .. }) => {
                        updated += 1;
                        hashes.push_str(&hash);
                        objects::add_shares(c, caller, &row.key, shares)?;
                        changed.push((row, hash));
                    }
                    Err(e) => match e.refusal() {
                        Some(reason) => out.reject(position, reason),
                        None => return Err(e),
                    },
                }
            }
            let created = pending.objects.len() as u64;
            // New objects shared under agreements go out on the stream like any other.
            let fresh: Vec<(StixObjectRow, String)> = if shares.is_empty() {
                Vec::new()
            } else {
                pending
                    .objects
                    .iter()
                    .cloned()
                    .zip(pending.bodies.iter().map(|(_, h)| h.clone()))
                    .collect()
            };
            pending.write(c, shares, caller.actor.id(), now)?;
            super::notices::announce_imported(c, &fresh)?;
            for (row, hash) in &changed {
                super::notices::announce(c, row, hash)?;
            }
            out.counts.created += created;
            out.counts.updated += updated;
            if created + updated > 0 {
                crate::audit::append(
                    c,
                    Event::change(
                        &caller.actor,
                        &caller.org_id,
                        "stix.import",
                        IMPORT,
                        import_id,
                    )
                    .detail(serde_json::json!({
                        "created": created,
                        "updated": updated,
                        "shared_under": shares,
                        "object_type": STIX,
                        // SHA-256 over the stored versions' hashes in the order written.
                        "digest": versions::sha256(hashes.as_bytes()),
                    })),
                )?;
            }
            Ok(())
        })
    });
    match result {
        Ok(done) => {
            apply(&done.effects);
            Ok(())
        }
        Err(e) => {
            // Nothing of the batch stands: neither do its counts.
            *out = before;
            Err(e)
        }
    }
}
