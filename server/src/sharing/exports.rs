//! Exports of the objects a caller may see, as files other tools read: a STIX 2.1 bundle, a
//! MISP JSON event (loads in PyMISP and MISP), CSV (`type,value,tlp,category,comment`, what
//! the importer reads) or a plain block list of one kind of value. Every object of another
//! organisation in a file is a disclosure of its version through channel `export`, decided
//! by the same policy as every other exit.

use super::formats::{BlockList, BundleWriter, CsvWriter, MispWriter};
use super::reads::{self, ListFilter};
use super::values;
use crate::db::DbConn;
use crate::error::AppError;
use crate::identity::Caller;
use cirhub_shared::sharing::{Tlp, ValueKind};
use cirhub_shared::Channel;
use std::collections::HashSet;

/// Most objects one export holds: a larger one is asked to narrow its filters.
pub const MAX_OBJECTS: usize = 100_000;

/// A format of export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Stix,
    Misp,
    Csv,
    BlockList(ValueKind),
}

/// The writer of one export.
enum Writer {
    Stix(BundleWriter<Vec<u8>>),
    Misp(MispWriter<Vec<u8>>),
    Csv(Box<CsvWriter<Vec<u8>>>),
    Block(BlockList<Vec<u8>>, ValueKind, HashSet<String>),
}

/// A file ready to send.
pub struct File {
    pub content_type: &'static str,
    pub file_name: String,
    pub body: Vec<u8>,
    pub objects: usize,
}

fn io(e: std::io::Error) -> AppError {
    AppError::Internal(anyhow::anyhow!("writing an export: {e}"))
}

/// Builds an export of what `filter` selects among the objects the caller may see.
pub fn export(
    conn: &mut DbConn,
    caller: &Caller,
    filter: &ListFilter,
    format: Format,
) -> Result<File, AppError> {
    let visible = reads::visible(conn, caller, filter, false)?;
    if visible.len() > MAX_OBJECTS {
        return Err(AppError::field(
            "type",
            format!(
                "{} objects match; an export holds at most {MAX_OBJECTS}: narrow it by type, tlp, category or agreement",
                visible.len()
            ),
        ));
    }
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let body = Vec::new();
    let mut writer = match format {
        Format::Stix => Writer::Stix(BundleWriter::new(body).map_err(io)?),
        Format::Misp => {
            // The event carries the most restrictive marking of what it holds.
            let tlp = visible
                .iter()
                .filter_map(|(r, _)| r.tlp.parse::<Tlp>().ok())
                .max_by_key(|t| t.rank())
                .unwrap_or(Tlp::Clear);
            Writer::Misp(
                MispWriter::new(
                    body,
                    &format!("cirhub export {stamp}"),
                    uuid::Uuid::now_v7(),
                    tlp,
                    chrono::Utc::now(),
                )
                .map_err(io)?,
            )
        }
        Format::Csv => Writer::Csv(Box::new(CsvWriter::new(body).map_err(io)?)),
        Format::BlockList(kind) => Writer::Block(BlockList::new(body, kind), kind, HashSet::new()),
    };
    let mut count = 0;
    for (row, d) in &visible {
        let (object, hash, _) = reads::shown(conn, row, row.version, d.as_ref())?;
        // Only what the file holds is disclosed: a block list of addresses discloses no
        // domain, a MISP event no malware.
        let held = match &mut writer {
            Writer::Stix(w) => w.object(&object).map(|_| 1),
            Writer::Misp(w) => w.object(&object),
            Writer::Csv(w) => w.object(&object),
            Writer::Block(w, kind, seen) => {
                let mut n = 0;
                let map = object.as_object().cloned().unwrap_or_default();
                for (k, v) in values::of_object(&row.stix_type, &map) {
                    if k == *kind {
                        n += 1;
                        if seen.insert(v.clone()) {
                            w.value(&v).map_err(io)?;
                        }
                    }
                }
                Ok(n)
            }
        }
        .map_err(io)?;
        if held == 0 {
            continue;
        }
        count += 1;
        if let Some(d) = d {
            reads::disclose(caller, row, row.version, &hash, d, Channel::Export)?;
        }
    }
    let (body, content_type, ext) = match writer {
        Writer::Stix(w) => (
            w.finish().map_err(io)?,
            "application/stix+json;version=2.1",
            "json",
        ),
        Writer::Misp(w) => (w.finish().map_err(io)?, "application/json", "misp.json"),
        Writer::Csv(w) => (w.finish().map_err(io)?, "text/csv; charset=utf-8", "csv"),
        Writer::Block(w, ..) => (w.finish().map_err(io)?, "text/plain; charset=utf-8", "txt"),
    };
    let name = match format {
        Format::BlockList(k) => format!("cirhub-{k}-{stamp}.{ext}"),
        _ => format!("cirhub-{stamp}.{ext}"),
    };
    Ok(File {
        content_type,
        file_name: name,
        body,
        objects: count,
    })
}
