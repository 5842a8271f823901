//! Who acts: organisations, people, sessions, API tokens, invitations, and the credential changes that end live streams.

pub mod accounts;
pub mod api_tokens;
pub mod credential_changes;
pub mod invitations;
pub mod principal;
pub mod sessions;

pub use principal::{Actor, Caller};
