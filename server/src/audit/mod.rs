//! The audit log: append-only and hash-chained, written in the same transaction as the change
//! it records. Together with the stored record versions and the disclosure journal it answers
//! "who knew what and when": state changes (actor, action, object, the stored version's hash)
//! are chain entries; disclosures (who was shown or sent which stored version of a non-public
//! record, when, through which channel) are journal rows, committed before the data leaves and
//! sealed into the chain in batches.
//!
//! - [`chain`]: appending and verifying the hash chain;
//! - [`versions`]: immutable snapshots of versioned records (RFC 8785 canonical JSON);
//! - [`journal`]: the disclosure journal (group commit, write-ahead) and its seals.

pub mod chain;
pub mod journal;
pub mod versions;

pub use chain::{
    append, append_many, entry_hash, head, lock_chain, verify, verify_anchored,
    verify_organisation, Verification, GENESIS,
};
pub use journal::Journal;

use crate::error::AppError;
use crate::identity::Actor;
use cirhub_shared::Channel;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Action name of disclosure entries.
pub const DISCLOSE: &str = "disclose";

/// What one entry records.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub actor: &'a Actor,
    pub organisation_id: Option<&'a str>,
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: &'a str,
    pub object_version: Option<i32>,
    pub object_hash: Option<String>,
    pub channel: Option<Channel>,
    pub detail: Option<serde_json::Value>,
}

impl<'a> Event<'a> {
    /// A state change by `actor` in `org` on an object.
    pub fn change(
        actor: &'a Actor,
        org: &'a str,
        action: &'a str,
        object_type: &'a str,
        object_id: &'a str,
    ) -> Self {
        Event {
            actor,
            organisation_id: Some(org),
            action,
            object_type,
            object_id,
            object_version: None,
            object_hash: None,
            channel: None,
            detail: None,
        }
    }

    /// A disclosure: `actor` of `org` was shown or sent this version of an object.
    pub fn disclosure(
        actor: &'a Actor,
        org: &'a str,
        object_type: &'a str,
        object_id: &'a str,
        object_version: Option<i32>,
        object_hash: Option<String>,
        channel: Channel,
    ) -> Self {
        Event {
            actor,
            organisation_id: Some(org),
            action: DISCLOSE,
            object_type,
            object_id,
            object_version,
            object_hash,
            channel: Some(channel),
            detail: None,
        }
    }

    /// Attaches the version and the hash of the object's new content (an error when the
    /// object cannot be serialised: an entry never carries the hash of nothing).
    pub fn version<T: Serialize>(
        mut self,
        version: Option<i32>,
        object: &T,
    ) -> Result<Self, AppError> {
        self.object_version = version;
        self.object_hash = Some(object_hash(object)?);
        Ok(self)
    }

    /// Names a stored version of the object (see [`versions::record`]) by its hash.
    pub fn snapshot(mut self, version: i32, hash: String) -> Self {
        self.object_version = Some(version);
        self.object_hash = Some(hash);
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail);
        self
    }
}

/// SHA-256 of an object's JSON (field order is fixed by the struct). An object that cannot
/// be serialised has no hash: that is an error, never the hash of empty bytes, which would
/// name no version at all.
pub fn object_hash<T: Serialize>(object: &T) -> Result<String, AppError> {
    let bytes = serde_json::to_vec(object).map_err(|e| {
        AppError::Internal(anyhow::anyhow!(
            "cannot serialise an object to hash it: {e}"
        ))
    })?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}
