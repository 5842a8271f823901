//! Shared application state handed to every handler.

use crate::auth::jwt::JwtKeys;
use crate::cache::PublicCache;
use crate::config::Config;
use crate::db::Db;
use crate::metrics::Metrics;
use std::sync::Arc;

/// Everything a handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub jwt: JwtKeys,
    pub cache: PublicCache,
    pub metrics: Metrics,
    pub hub: crate::stream::Hub,
    /// Disclosures are committed here before the data leaves.
    pub journal: crate::audit::Journal,
    /// Every change goes through here: one transaction, then its effects.
    pub exec: crate::executor::Executor,
    /// The job runner (mail, digests, sealing).
    pub jobs: crate::jobs::Jobs,
}
