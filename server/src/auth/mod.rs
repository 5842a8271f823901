//! Authentication: passwords (argon2id), short-lived JWT access tokens bound to a revocable
//! session, opaque refresh tokens, and hashed API tokens for machines.

pub mod caller;
pub mod jwt;
pub mod password;

pub use crate::identity::{Actor, Caller};

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Prefix of API token secrets, so scanners and people can recognise a leaked one.
pub const API_TOKEN_PREFIX: &str = "cirhub_";

/// A fresh 256-bit random secret, URL-safe.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Hex SHA-256. High-entropy secrets (API and refresh tokens) are stored this way: they
/// cannot be guessed, so a slow hash would only cost time on every request.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}
