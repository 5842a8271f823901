//! Signed links in mails (one-click unsubscribe, acknowledge an escalation): a token names
//! what it acts on and carries a MAC over those parts and the link's purpose, so nobody can
//! forge one for someone else and a token of one purpose is worthless for another. The key
//! lives in the settings table, shared by instances; it keeps its first name
//! (`unsubscribe_key`) so links already mailed stay valid.

use crate::db::schema::settings;
use crate::db::DbConn;
use crate::error::AppError;
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const KEY: &str = "unsubscribe_key";

fn key(conn: &mut DbConn) -> Result<String, AppError> {
    let existing: Option<String> = settings::table
        .find(KEY)
        .select(settings::value)
        .first(conn)
        .optional()?;
    if let Some(k) = existing {
        return Ok(k);
    }
    let fresh = crate::auth::random_secret();
    diesel::insert_into(settings::table)
        .values((settings::key.eq(KEY), settings::value.eq(&fresh)))
        .execute(conn)?;
    Ok(fresh)
}

fn mac(key: &str, purpose: &str, parts: &[&str]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    m.update(format!("{purpose}:{}", parts.join(":")).as_bytes());
    hex::encode(&m.finalize().into_bytes()[..16])
}

/// The token of a link for `purpose` over `parts` (none may hold a `.`).
pub fn sign(conn: &mut DbConn, purpose: &str, parts: &[&str]) -> Result<String, AppError> {
    debug_assert!(parts.iter().all(|p| !p.contains('.')));
    let key = key(conn)?;
    Ok(format!("{}.{}", parts.join("."), mac(&key, purpose, parts)))
}

/// The parts of a token signed for `purpose` with `n` parts; `None` when it is malformed or
/// its MAC does not match.
pub fn verify(
    conn: &mut DbConn,
    purpose: &str,
    token: &str,
    n: usize,
) -> Result<Option<Vec<String>>, AppError> {
    let mut parts: Vec<&str> = token.split('.').collect();
    if parts.len() != n + 1 {
        return Ok(None);
    }
    let tag = parts.pop().unwrap_or_default();
    let key = key(conn)?;
    let want = mac(&key, purpose, &parts);
    // Compare every byte: the time taken does not say how much of a guess was right.
    let same = want.len() == tag.len()
        && want
            .bytes()
            .zip(tag.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    Ok(same.then(|| parts.into_iter().map(str::to_owned).collect()))
}
