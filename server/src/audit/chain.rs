//! The hash chain: each entry carries the hash of the one before; appenders are serialised.

use crate::audit::Event;
use crate::config::Backend;
use crate::db::rows::{now_ms, AuditRow};
use crate::db::schema::audit_log;
use crate::db::DbConn;
use crate::error::AppError;
use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of an entry: SHA-256 over every field but `hash`, as a JSON array.
pub fn entry_hash(row: &AuditRow) -> String {
    let canonical = serde_json::json!([
        row.seq,
        row.at,
        row.actor_type,
        row.actor_id,
        row.organisation_id,
        row.action,
        row.object_type,
        row.object_id,
        row.object_version,
        row.object_hash,
        row.channel,
        row.detail,
        row.prev_hash,
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// Serialises appenders: PostgreSQL takes a transaction-scoped advisory lock (shared by all
/// instances); SQLite already holds its single write lock (transactions begin IMMEDIATE).
pub fn lock_chain(conn: &mut DbConn) -> Result<(), AppError> {
    if backend(conn) == Backend::Postgres {
        diesel::sql_query(format!(
            "SELECT pg_advisory_xact_lock({})",
            crate::db::locks::AUDIT_CHAIN
        ))
        .execute(conn)?;
    }
    Ok(())
}

pub(crate) fn backend(conn: &DbConn) -> Backend {
    match conn {
        DbConn::Postgres(_) => Backend::Postgres,
        DbConn::Sqlite(_) => Backend::Sqlite,
    }
}

/// Object types no public page or personal feed is rendered from.
const UNRENDERED: &[&str] = &[
    "user",
    "session",
    "invitation",
    "api_token",
    "note",
    "subscription",
];

/// Appends one entry; call inside the transaction of the change it records.
pub fn append(conn: &mut DbConn, event: Event<'_>) -> Result<i64, AppError> {
    append_many(conn, std::slice::from_ref(&event)).map(|seqs| seqs[0])
}

/// Appends several entries in order, under one lock.
pub fn append_many(conn: &mut DbConn, events: &[Event<'_>]) -> Result<Vec<i64>, AppError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    lock_chain(conn)?;
    let last: Option<(i64, String)> = audit_log::table
        .order(audit_log::seq.desc())
        .select((audit_log::seq, audit_log::hash))
        .first(conn)
        .optional()?;
    let (mut seq, mut prev) = last.unwrap_or((0, GENESIS.to_string()));
    let at = now_ms();
    let mut rows = Vec::with_capacity(events.len());
    for e in events {
        // A change of an organisation makes the documents rendered from it stale, unless it
        // is of something no document shows (people, sessions, tokens, notes, alert rules):
        // a provider's staff logging in during an incident must not flush its status page.
        if let Some(org) = e.organisation_id {
            if !UNRENDERED.contains(&e.object_type) {
                crate::effects::organisation_changed(org);
            }
        }
        seq += 1;
        let mut row = AuditRow {
            seq,
            at,
            actor_type: e.actor.kind().to_string(),
            actor_id: e.actor.id().map(str::to_owned),
            organisation_id: e.organisation_id.map(str::to_owned),
            action: e.action.to_string(),
            object_type: e.object_type.to_string(),
            object_id: e.object_id.to_string(),
            object_version: e.object_version,
            object_hash: e.object_hash.clone(),
            channel: e.channel.map(|c| c.as_str().to_string()),
            detail: e.detail.as_ref().map(|d| d.to_string()),
            prev_hash: prev.clone(),
            hash: String::new(),
        };
        row.hash = entry_hash(&row);
        prev = row.hash.clone();
        rows.push(row);
    }
    let seqs = rows.iter().map(|r| r.seq).collect();
    for row in &rows {
        diesel::insert_into(audit_log::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(seqs)
}

/// Outcome of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Verification {
    pub entries: i64,
    pub ok: bool,
    /// The first entry that does not match, and why.
    pub first_bad_seq: Option<i64>,
    pub reason: Option<String>,
}

/// The newest entry's sequence number and hash. Keeping a copy elsewhere (a ticket, a
/// signed mail, another system) later proves that no entry up to it was removed.
pub fn head(conn: &mut DbConn) -> Result<Option<(i64, String)>, AppError> {
    Ok(audit_log::table
        .order(audit_log::seq.desc())
        .select((audit_log::seq, audit_log::hash))
        .first(conn)
        .optional()?)
}

/// [`verify`], then checks that an anchor taken earlier (`head`) is still in the chain: a
/// chain cut back below the anchor verifies on its own but fails here.
pub fn verify_anchored(
    conn: &mut DbConn,
    anchor: Option<(i64, &str)>,
) -> Result<Verification, AppError> {
    let v = verify(conn)?;
    let Some((seq, hash)) = anchor.filter(|_| v.ok) else {
        return Ok(v);
    };
    let stored: Option<String> = audit_log::table
        .find(seq)
        .select(audit_log::hash)
        .first(conn)
        .optional()?;
    if stored.as_deref() == Some(hash) {
        return Ok(v);
    }
    Ok(Verification {
        ok: false,
        first_bad_seq: Some(seq),
        reason: Some(match stored {
            None => "the anchored entry is missing: the chain was cut back".into(),
            Some(_) => "the anchored entry has another hash".into(),
        }),
        ..v
    })
}

/// Walks the whole chain in order, recomputing every hash.
pub fn verify(conn: &mut DbConn) -> Result<Verification, AppError> {
    let mut prev_hash = GENESIS.to_string();
    let mut expected_seq = 1i64;
    let mut count = 0i64;
    loop {
        let batch: Vec<AuditRow> = audit_log::table
            .filter(audit_log::seq.ge(expected_seq))
            .order(audit_log::seq.asc())
            .limit(1000)
            .select(AuditRow::as_select())
            .load(conn)?;
        if batch.is_empty() {
            // The chain holds; now each seal must still match the journal rows it covers.
            let bad = super::journal::verify_seals(conn)?;
            return Ok(Verification {
                entries: count,
                ok: bad.is_none(),
                first_bad_seq: bad.as_ref().map(|b| b.0),
                reason: bad.map(|b| b.1),
            });
        }
        for row in batch {
            let bad = |reason: String| Verification {
                entries: count,
                ok: false,
                first_bad_seq: Some(row.seq),
                reason: Some(reason),
            };
            if row.seq != expected_seq {
                return Ok(bad(format!("entry {expected_seq} is missing")));
            }
            if row.prev_hash != prev_hash {
                return Ok(bad("prev_hash does not match the previous entry".into()));
            }
            if entry_hash(&row) != row.hash {
                return Ok(bad("content does not match its hash".into()));
            }
            prev_hash = row.hash;
            expected_seq += 1;
            count += 1;
        }
    }
}

/// Verifies one organisation's entries, for its own admins and auditors: each entry's hash is
/// recomputed, and its `prev_hash` is checked against the stored `hash` of the entry before it,
/// whoever's that is. Only the neighbour's `hash` column is read, never another tenant's
/// content, and the count covers this organisation's entries only. What lies between them is
/// the operator's to check with the whole-chain walk ([`verify`], `cirhub audit verify`).
pub fn verify_organisation(conn: &mut DbConn, org_id: &str) -> Result<Verification, AppError> {
    let mut after = 0i64;
    let mut count = 0i64;
    loop {
        let batch: Vec<AuditRow> = audit_log::table
            .filter(audit_log::organisation_id.eq(org_id))
            .filter(audit_log::seq.gt(after))
            .order(audit_log::seq.asc())
            .limit(1000)
            .select(AuditRow::as_select())
            .load(conn)?;
        if batch.is_empty() {
            return Ok(Verification {
                entries: count,
                ok: true,
                first_bad_seq: None,
                reason: None,
            });
        }
        let before: Vec<i64> = batch.iter().map(|r| r.seq - 1).collect();
        let neighbours: std::collections::HashMap<i64, String> = audit_log::table
            .filter(audit_log::seq.eq_any(&before))
            .select((audit_log::seq, audit_log::hash))
            .load::<(i64, String)>(conn)?
            .into_iter()
            .collect();
        for row in batch {
            let bad = |reason: &str| Verification {
                entries: count,
                ok: false,
                first_bad_seq: Some(row.seq),
                reason: Some(reason.into()),
            };
            let expected = match row.seq {
                1 => Some(GENESIS),
                n => neighbours.get(&(n - 1)).map(String::as_str),
            };
            match expected {
                None => return Ok(bad("the entry before it is missing")),
                Some(prev) if prev != row.prev_hash => {
                    return Ok(bad("prev_hash does not match the previous entry"))
                }
                Some(_) => {}
            }
            if entry_hash(&row) != row.hash {
                return Ok(bad("content does not match its hash"));
            }
            after = row.seq;
            count += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Mutation = Box<dyn Fn(&mut AuditRow)>;

    fn row(seq: i64, prev: &str) -> AuditRow {
        let mut r = AuditRow {
            seq,
            at: 1_700_000_000_000,
            actor_type: "user".into(),
            actor_id: Some("u1".into()),
            organisation_id: Some("o1".into()),
            action: "incident.create".into(),
            object_type: "incident".into(),
            object_id: "i1".into(),
            object_version: Some(1),
            object_hash: Some("abc".into()),
            channel: None,
            detail: None,
            prev_hash: prev.into(),
            hash: String::new(),
        };
        r.hash = entry_hash(&r);
        r
    }

    #[test]
    fn every_field_is_covered_by_the_hash() {
        let base = row(1, GENESIS);
        let variants: Vec<Mutation> = vec![
            Box::new(|r| r.seq = 2),
            Box::new(|r| r.at += 1),
            Box::new(|r| r.actor_id = Some("u2".into())),
            Box::new(|r| r.organisation_id = None),
            Box::new(|r| r.action = "incident.update".into()),
            Box::new(|r| r.object_id = "i2".into()),
            Box::new(|r| r.object_version = Some(2)),
            Box::new(|r| r.object_hash = Some("abd".into())),
            Box::new(|r| r.channel = Some("http".into())),
            Box::new(|r| r.detail = Some("{}".into())),
            Box::new(|r| r.prev_hash = "1".repeat(64)),
        ];
        for change in variants {
            let mut r = base.clone();
            change(&mut r);
            assert_ne!(entry_hash(&r), base.hash);
        }
        assert_eq!(entry_hash(&base), base.hash, "deterministic");
    }
}
