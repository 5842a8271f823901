//! Timestamps: UTC everywhere, serialised as RFC 3339 with milliseconds and a `Z` suffix.

use chrono::{DateTime, SecondsFormat, Utc};

/// A point in time, always UTC.
pub type Timestamp = DateTime<Utc>;

/// Formats a timestamp the way every cirhub document does (`2026-01-02T03:04:05.678Z`).
pub fn format(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Milliseconds since the Unix epoch, the storage form of every timestamp.
pub fn to_millis(t: &Timestamp) -> i64 {
    t.timestamp_millis()
}

/// Inverse of [`to_millis`]; out-of-range values clamp to the epoch.
pub fn from_millis(ms: i64) -> Timestamp {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
