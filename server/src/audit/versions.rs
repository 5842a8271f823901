//! Versioned records: every version of an incident or maintenance is kept as written, as one
//! immutable snapshot in one canonical serialisation (RFC 8785, the JSON Canonicalization
//! Scheme) with its SHA-256. Audit entries and every channel's disclosures name a version by
//! this hash, whatever view they rendered from it, so a disclosure traces back to the bytes.

use crate::db::rows::now_ms;
use crate::db::schema::record_versions;
use crate::db::DbConn;
use crate::error::AppError;
use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Object type of incidents and maintenances (one table, one version line).
pub const INCIDENT: &str = "incident";

/// The RFC 8785 canonical JSON of a value. A value that cannot be serialised is an error,
/// never an empty body.
pub fn canonical<T: Serialize>(value: &T) -> Result<String, AppError> {
    serde_jcs::to_string(value)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("cannot canonicalise a record: {e}")))
}

/// Hex SHA-256.
pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Stores `version` of a record and returns its hash; call in the change's transaction. A
/// version is written once: the key (type, id, version) is unique and rows are append-only.
pub fn record<T: Serialize>(
    conn: &mut DbConn,
    object_type: &str,
    object_id: &str,
    version: i32,
    value: &T,
) -> Result<String, AppError> {
    let body = canonical(value)?;
    let hash = sha256(body.as_bytes());
    diesel::insert_into(record_versions::table)
        .values((
            record_versions::object_type.eq(object_type),
            record_versions::object_id.eq(object_id),
            record_versions::version.eq(version),
            record_versions::body.eq(&body),
            record_versions::hash.eq(&hash),
            record_versions::created_at.eq(now_ms()),
        ))
        .execute(conn)?;
    Ok(hash)
}

/// The stored canonical body and hash of one version.
pub fn stored(
    conn: &mut DbConn,
    object_type: &str,
    object_id: &str,
    version: i32,
) -> Result<Option<(String, String)>, AppError> {
    Ok(crate::on_concrete!(conn, |c| record_versions::table
        .find((object_type, object_id, version))
        .select((record_versions::body, record_versions::hash))
        .first(c)
        .optional())?)
}

/// The stored canonical body and hash of one version that must exist (fail closed, as
/// [`hash_of`]).
pub fn stored_or_fail(
    conn: &mut DbConn,
    object_type: &str,
    object_id: &str,
    version: i32,
) -> Result<(String, String), AppError> {
    stored(conn, object_type, object_id, version)?
        .ok_or_else(|| missing(object_type, object_id, version))
}

/// The hash of one stored version; an error if it was never stored (fail closed: a
/// disclosure must name a stored version).
pub fn hash_of(
    conn: &mut DbConn,
    object_type: &str,
    object_id: &str,
    version: i32,
) -> Result<String, AppError> {
    let key = [(object_id, version)];
    hashes(conn, object_type, &key)?
        .remove(&(object_id.to_owned(), version))
        .ok_or_else(|| missing(object_type, object_id, version))
}

fn missing(object_type: &str, object_id: &str, version: i32) -> AppError {
    AppError::Internal(anyhow::anyhow!(
        "{object_type} {object_id} version {version} has no stored snapshot"
    ))
}

/// Hashes of many versions of one object type at once; every key must be stored.
pub fn hashes(
    conn: &mut DbConn,
    object_type: &str,
    keys: &[(&str, i32)],
) -> Result<HashMap<(String, i32), String>, AppError> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    if let [(id, version)] = keys {
        // One key: a lookup by the primary key, whose statement is prepared once (an IN list
        // is prepared anew every time).
        let hash: String = record_versions::table
            .find((object_type, *id, *version))
            .select(record_versions::hash)
            .get_result(conn)
            .optional()?
            .ok_or_else(|| missing(object_type, id, *version))?;
        return Ok(HashMap::from([(((*id).to_owned(), *version), hash)]));
    }
    let ids: Vec<&str> = keys.iter().map(|k| k.0).collect();
    let versions: Vec<i32> = keys.iter().map(|k| k.1).collect();
    let rows: Vec<(String, i32, String)> = record_versions::table
        .filter(record_versions::object_type.eq(object_type))
        .filter(record_versions::object_id.eq_any(&ids))
        .filter(record_versions::version.eq_any(&versions))
        .select((
            record_versions::object_id,
            record_versions::version,
            record_versions::hash,
        ))
        .load(conn)?;
    let found: HashMap<(String, i32), String> =
        rows.into_iter().map(|(i, v, h)| ((i, v), h)).collect();
    if let Some((id, v)) = keys
        .iter()
        .find(|(id, v)| !found.contains_key(&((*id).to_owned(), *v)))
    {
        return Err(missing(object_type, id, *v));
    }
    Ok(found)
}

/// Versions of `object_type` already stored, by id (for backfilling records written before
/// versions were kept).
pub fn stored_keys(
    conn: &mut DbConn,
    object_type: &str,
) -> Result<std::collections::HashSet<(String, i32)>, AppError> {
    Ok(record_versions::table
        .filter(record_versions::object_type.eq(object_type))
        .select((record_versions::object_id, record_versions::version))
        .load::<(String, i32)>(conn)?
        .into_iter()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_sorts_keys_and_has_no_whitespace() {
        let v = serde_json::json!({"b": 1, "a": [true, null], "c": {"z": 1.0, "y": "é"}});
        assert_eq!(
            canonical(&v).unwrap(),
            r#"{"a":[true,null],"b":1,"c":{"y":"é","z":1}}"#
        );
    }
}
