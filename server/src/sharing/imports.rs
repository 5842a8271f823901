//! Imports through the API: the uploaded file is kept in 1 MiB chunks in the database while
//! it arrives (never whole in memory, and any instance can run the import), then an
//! `ioc.import` job streams it through [`super::import::run`], writing its counts, the first
//! refused records and a heartbeat to the import row after every batch, so the UI shows
//! progress as it goes. The chunks are deleted when the import ends.

use super::formats::Format;
use super::import::{self, Spec};
use super::objects;
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::{Db, DbConn};
use crate::effects::Effects;
use crate::error::AppError;
use crate::identity::{Actor, Caller};
use crate::jobs::{self, NewJob};
use crate::paging::{paged, Pagination};
use cirhub_shared::api::Paged;
use cirhub_shared::sharing::{self as s, ImportCounts, ImportState, Tlp};
use cirhub_shared::time::from_millis;
use cirhub_shared::Role;
use diesel::prelude::*;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Job kind of an import.
pub const KIND: &str = "ioc.import";
/// Bytes per stored chunk of an uploaded file.
pub const CHUNK_BYTES: usize = 1 << 20;
/// Largest file accepted.
pub const MAX_BYTES: u64 = 1 << 30;
/// A running import whose heartbeat is younger than this is alive: a second claim of its job
/// (after a lease ran out) leaves it alone.
const ALIVE_MS: i64 = 60_000;

/// What an upload asks for, checked before its first byte is stored.
#[derive(Debug, Clone)]
pub struct Request {
    pub format: Option<Format>,
    pub tlp: Tlp,
    pub share_under: Vec<String>,
    pub file_name: Option<String>,
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::StixBundle => "stix",
        Format::Misp => "misp",
        Format::Csv => "csv",
    }
}

/// Starts an upload: checks the request (the format told or guessed from the name and the
/// first chunk) and stores the row and the first chunk. Analyst or above.
pub fn begin(
    conn: &mut DbConn,
    caller: &Caller,
    req: &Request,
    first: &[u8],
) -> Result<String, AppError> {
    caller.require(Role::Analyst)?;
    let format = match req.format {
        Some(f) => f,
        None => Format::guess(req.file_name.as_deref().unwrap_or(""), first).ok_or_else(|| {
            AppError::field(
                "format",
                "cannot tell the file's format: give format=stix, misp or csv",
            )
        })?,
    };
    if let Some(n) = &req.file_name {
        crate::error::Check::new()
            .max_len(n, "file_name", 255)
            .done()?;
    }
    let shares = objects::agreements_to_share_under(conn, caller, &req.share_under)?;
    let id = new_id();
    diesel::insert_into(imports::table)
        .values(&ImportRow {
            id: id.clone(),
            organisation_id: caller.org_id.clone(),
            actor_type: caller.actor.kind().into(),
            actor_id: caller.actor.id().map(String::from),
            actor_name: caller.actor.display_name().into(),
            state: ImportState::Uploading.as_str().into(),
            format: format_name(format).into(),
            file_name: req.file_name.clone(),
            tlp: req.tlp.as_str().into(),
            share_under: serde_json::to_string(&shares).map_err(anyhow::Error::from)?,
            counts: "{}".into(),
            errors: "[]".into(),
            failure: None,
            bytes_total: 0,
            heartbeat_at: None,
            created_at: now_ms(),
            finished_at: None,
        })
        .execute(conn)?;
    add_chunk(conn, &id, 0, first)?;
    Ok(id)
}

/// Stores chunk `n` of an upload.
pub fn add_chunk(conn: &mut DbConn, id: &str, n: i32, data: &[u8]) -> Result<(), AppError> {
    diesel::insert_into(import_chunks::table)
        .values((
            import_chunks::import_id.eq(id),
            import_chunks::n.eq(n),
            import_chunks::data.eq(data),
        ))
        .execute(conn)?;
    Ok(())
}

/// Ends an upload: the import is queued as a job (run after commit).
pub fn queue(conn: &mut DbConn, id: &str, bytes: u64) -> Result<(), AppError> {
    diesel::update(imports::table.find(id))
        .set((
            imports::state.eq(ImportState::Queued.as_str()),
            imports::bytes_total.eq(bytes as i64),
        ))
        .execute(conn)?;
    jobs::enqueue(
        conn,
        &NewJob {
            kind: KIND,
            key: id,
            payload: serde_json::Value::Null,
            due_at: now_ms(),
            max_attempts: None,
        },
    )?;
    Ok(())
}

/// Drops an upload that did not arrive whole, with what arrived of it; an import already
/// queued is left alone.
pub fn discard(conn: &mut DbConn, id: &str) -> Result<(), AppError> {
    let state: Option<String> = imports::table
        .find(id)
        .select(imports::state)
        .first(conn)
        .optional()?;
    if state.as_deref() == Some(ImportState::Uploading.as_str()) {
        diesel::delete(import_chunks::table.filter(import_chunks::import_id.eq(id)))
            .execute(conn)?;
        diesel::delete(imports::table.find(id)).execute(conn)?;
    }
    Ok(())
}

/// Kind of the recurring job that drops uploads nobody is sending any more.
pub const SWEEP: &str = "imports.sweep";
/// An upload still arriving this long after it began was cut off by an instance that
/// stopped (a client that goes away is dropped at once, by the request's own handler).
pub const ABANDONED_AFTER_MS: i64 = 6 * 3600 * 1000;

/// Drops the uploads begun before `now - ABANDONED_AFTER_MS` that never finished.
pub fn sweep(conn: &mut DbConn, now: i64) -> Result<usize, AppError> {
    let stale: Vec<String> = imports::table
        .filter(imports::state.eq(ImportState::Uploading.as_str()))
        .filter(imports::created_at.lt(now - ABANDONED_AFTER_MS))
        .select(imports::id)
        .load(conn)?;
    for id in &stale {
        discard(conn, id)?;
    }
    Ok(stale.len())
}

/// The hourly [`sweep`] job.
pub fn sweep_kind(db: crate::db::Db) -> crate::jobs::Kind {
    crate::jobs::Kind::recurring_write(SWEEP, std::time::Duration::from_secs(3600), db, sweep)
}

fn view(row: ImportRow) -> Result<s::Import, AppError> {
    let mut counts: ImportCounts = serde_json::from_str(&row.counts).unwrap_or_default();
    counts.bytes_total = Some(row.bytes_total as u64);
    Ok(s::Import {
        state: parse_stored(&row.state, "import state")?,
        tlp: parse_stored(&row.tlp, "TLP")?,
        share_under: serde_json::from_str(&row.share_under).map_err(anyhow::Error::from)?,
        errors: serde_json::from_str(&row.errors).map_err(anyhow::Error::from)?,
        counts,
        id: row.id,
        format: row.format,
        file_name: row.file_name,
        failure: row.failure,
        created_at: from_millis(row.created_at),
        finished_at: row.finished_at.map(from_millis),
    })
}

/// One import of the caller's organisation.
pub fn get(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<s::Import, AppError> {
    let row = imports::table
        .find(id)
        .filter(imports::organisation_id.eq(&caller.org_id))
        .select(ImportRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound("import"))?;
    view(row)
}

/// The imports of the caller's organisation, newest first.
pub fn list(
    conn: &mut DbConn,
    caller: &Caller,
    page: Pagination,
) -> Result<Paged<s::Import>, AppError> {
    let total: i64 = imports::table
        .filter(imports::organisation_id.eq(&caller.org_id))
        .count()
        .get_result(conn)?;
    let rows: Vec<ImportRow> = imports::table
        .filter(imports::organisation_id.eq(&caller.org_id))
        .order((imports::created_at.desc(), imports::id.desc()))
        .offset(page.offset())
        .limit(page.limit())
        .select(ImportRow::as_select())
        .load(conn)?;
    let items = rows.into_iter().map(view).collect::<Result<_, _>>()?;
    Ok(paged(items, page, total))
}

/// Reads an upload's chunks in order, one at a time.
struct Chunks {
    db: Db,
    id: String,
    next: i32,
    buf: Vec<u8>,
    at: usize,
    read: Arc<AtomicU64>,
}

impl Read for Chunks {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.buf.len() {
            let mut conn = self.db.conn().map_err(std::io::Error::other)?;
            let data: Option<Vec<u8>> = import_chunks::table
                .find((&self.id, self.next))
                .select(import_chunks::data)
                .first(&mut conn)
                .optional()
                .map_err(std::io::Error::other)?;
            match data {
                None => return Ok(0),
                Some(d) => {
                    self.buf = d;
                    self.at = 0;
                    self.next += 1;
                }
            }
        }
        let k = out.len().min(self.buf.len() - self.at);
        out[..k].copy_from_slice(&self.buf[self.at..self.at + k]);
        self.at += k;
        self.read.fetch_add(k as u64, Ordering::Relaxed);
        Ok(k)
    }
}

/// Runs one import to its end (the job's work; blocking).
/// Runs the import `id` (the `ioc.import` job); `apply` gets each batch's effects.
pub fn execute(db: &Db, id: &str, apply: &dyn Fn(&Effects)) -> Result<(), AppError> {
    let now = now_ms();
    let row = {
        let mut conn = db.conn()?;
        imports::table
            .find(id)
            .select(ImportRow::as_select())
            .first(&mut conn)
            .optional()?
    };
    let Some(row) = row else { return Ok(()) };
    let state: ImportState = parse_stored(&row.state, "import state")?;
    let alive =
        state == ImportState::Running && row.heartbeat_at.is_some_and(|h| now - h < ALIVE_MS);
    if matches!(
        state,
        ImportState::Done | ImportState::Failed | ImportState::Uploading
    ) || alive
    {
        return Ok(());
    }
    db.write_blocking(|c| {
        diesel::update(imports::table.find(id))
            .set((
                imports::state.eq(ImportState::Running.as_str()),
                imports::heartbeat_at.eq(now),
            ))
            .execute(c)?;
        Ok(())
    })?;
    let actor = match (row.actor_type.as_str(), row.actor_id.clone()) {
        ("user", Some(id)) => Actor::User {
            id,
            name: row.actor_name.clone(),
        },
        ("api_token", Some(id)) => Actor::ApiToken {
            id,
            name: row.actor_name.clone(),
        },
        _ => Actor::System,
    };
    let caller = Caller {
        org_id: row.organisation_id.clone(),
        role: Role::Analyst,
        actor,
        session_id: None,
    };
    let spec = Spec {
        format: row
            .format
            .parse()
            .map_err(|e: String| AppError::Internal(anyhow::anyhow!(e)))?,
        tlp: parse_stored(&row.tlp, "TLP")?,
        share_under: serde_json::from_str(&row.share_under).map_err(anyhow::Error::from)?,
    };
    let read = Arc::new(AtomicU64::new(0));
    let mut open = {
        let (db, id, read) = (db.clone(), id.to_owned(), read.clone());
        move || -> std::io::Result<Box<dyn std::io::BufRead>> {
            read.store(0, Ordering::Relaxed);
            Ok(Box::new(std::io::BufReader::with_capacity(
                1 << 16,
                Chunks {
                    db: db.clone(),
                    id: id.clone(),
                    next: 0,
                    buf: Vec::new(),
                    at: 0,
                    read: read.clone(),
                },
            )))
        }
    };
    let bytes = {
        let read = read.clone();
        move || read.load(Ordering::Relaxed)
    };
    let save = |o: &import::Outcome, state: ImportState, failure: Option<String>| {
        let counts = serde_json::to_string(&o.counts).map_err(anyhow::Error::from)?;
        let errors = serde_json::to_string(&o.errors).map_err(anyhow::Error::from)?;
        let done = matches!(state, ImportState::Done | ImportState::Failed);
        db.write_blocking(|c| {
            diesel::update(imports::table.find(id))
                .set((
                    imports::state.eq(state.as_str()),
                    imports::counts.eq(&counts),
                    imports::errors.eq(&errors),
                    imports::failure.eq(&failure),
                    imports::heartbeat_at.eq(now_ms()),
                    imports::finished_at.eq(done.then(now_ms)),
                ))
                .execute(c)?;
            if done {
                diesel::delete(import_chunks::table.filter(import_chunks::import_id.eq(id)))
                    .execute(c)?;
            }
            Ok(())
        })
    };
    let mut progress = |o: &mut import::Outcome| {
        o.fresh.clear();
        save(o, ImportState::Running, None)
    };
    match import::run(
        db,
        apply,
        &caller,
        id,
        &spec,
        &mut open,
        &bytes,
        &mut progress,
    ) {
        Ok(o) => {
            let state = if o.failure.is_some() {
                ImportState::Failed
            } else {
                ImportState::Done
            };
            save(&o, state, o.failure.clone())
        }
        Err(e) => {
            let reason = e.refusal().unwrap_or_else(|| {
                "the import stopped on a server error; see the server log".into()
            });
            tracing::error!(import = %id, error = %e, "import failed");
            save(
                &import::Outcome::default(),
                ImportState::Failed,
                Some(reason),
            )
        }
    }
}
