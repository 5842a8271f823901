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
use crate::db::schema::*;
use crate::db::{Db, DbConn};
use crate::error::AppError;
use crate::identity::Caller;
use cirhub_shared::sharing::{ImportCounts, ImportError, Tlp};
use diesel::prelude::*;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
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
/// the reader is; `progress` is called after each committed batch.
pub fn run(
    db: &Db,
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
                db, caller, import_id, &shares, &mut batch, &mut seen, &mut out,
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
        db, caller, import_id, &shares, &mut batch, &mut seen, &mut out,
    )?;
    out.counts.bytes_read = bytes_read();
    out.failure = stopped;
    progress(&mut out)?;
    Ok(out)
}

fn id_hash(id: &str) -> u64 {
    BuildHasherDefault::<DefaultHasher>::default().hash_one(id)
}

/// Whether a new object's values are all held already by another object of `org`.
fn duplicate(conn: &mut DbConn, org: &str, checked: &stix::Checked) -> Result<bool, AppError> {
    let vals = values::of_object(&checked.stix_type, &checked.object);
    if vals.is_empty() {
        return Ok(false);
    }
    for (kind, value) in vals {
        let held: i64 = stix_values::table
            .inner_join(stix_objects::table)
            .filter(stix_values::kind.eq(kind.as_str()))
            .filter(stix_values::value.eq(&value))
            .filter(stix_objects::owner_id.eq(org))
            .filter(stix_objects::stix_id.ne(&checked.id))
            .count()
            .get_result(conn)?;
        if held == 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Stores one batch in one transaction with one audit entry.
fn flush(
    db: &Db,
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
    let records = std::mem::take(batch);
    let before = out.clone();
    let result = db.write_blocking(|c| {
        let mut hashes = String::new();
        let (mut created, mut updated) = (0u64, 0u64);
        for r in records {
            out.counts.read += 1;
            let value = match r.object {
                Ok(v) => v,
                Err(reason) => {
                    out.reject(r.position, reason);
                    continue;
                }
            };
            let refused = |e: AppError, out: &mut Outcome, position: String| match e.refusal() {
                Some(reason) => {
                    out.reject(position, reason);
                    Ok(())
                }
                None => Err(e),
            };
            let checked = match stix::check(value, &caller.org_id, "") {
                Ok(c) => c,
                Err(e) => {
                    refused(e, out, r.position)?;
                    continue;
                }
            };
            if !seen.insert(id_hash(&checked.id)) {
                out.counts.duplicates += 1;
                continue;
            }
            match objects::held(c, &caller.org_id, &checked)? {
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
            if duplicate(c, &caller.org_id, &checked)? {
                out.counts.duplicates += 1;
                continue;
            }
            let key = match objects::store(c, &caller.org_id, &checked) {
                Ok(Stored::Same(row)) => {
                    out.counts.unchanged += 1;
                    row.key
                }
                Ok(Stored::Written {
                    row,
                    created: new,
                    hash,
                }) => {
                    if new {
                        created += 1;
                    } else {
                        updated += 1;
                    }
                    hashes.push_str(&hash);
                    row.key
                }
                Err(e) => {
                    refused(e, out, r.position)?;
                    continue;
                }
            };
            objects::add_shares(c, caller, &key, shares)?;
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
    });
    if result.is_err() {
        // Nothing of the batch stands: neither do its counts.
        *out = before;
    }
    result
}
