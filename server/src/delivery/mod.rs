//! Telling people: stream events written with the change they announce, and mail composed into the outbox (alerts, digests).

pub mod events;
pub mod links;
pub mod notify;
