//! Cache of rendered public documents (Statuspage JSON, feeds, uptime), so public reads cost
//! a hash-map lookup. A change on this instance invalidates the provider's entries at once;
//! entries also expire after a short TTL so changes made by other instances show up too.

use bytes::Bytes;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// A rendered document.
#[derive(Clone)]
pub struct Cached {
    pub body: Bytes,
    pub content_type: &'static str,
    pub etag: String,
    /// Personal documents (feed tokens) must not sit in shared caches.
    pub private: bool,
    org_id: String,
    built: Instant,
}

impl Cached {
    /// A personal document, rendered for one request.
    pub fn private(org_id: String, body: Bytes, content_type: &'static str) -> Cached {
        Cached {
            etag: etag(&body),
            body,
            content_type,
            private: true,
            org_id,
            built: Instant::now(),
        }
    }
}

/// Rendered public documents keyed by (provider slug, document path).
#[derive(Clone)]
pub struct PublicCache {
    inner: Arc<RwLock<HashMap<(String, String), Cached>>>,
    ttl: Duration,
}

impl PublicCache {
    pub fn new(ttl: Duration) -> Self {
        PublicCache {
            inner: Arc::default(),
            ttl,
        }
    }

    /// A fresh entry, if any.
    pub fn get(&self, slug: &str, doc: &str) -> Option<Cached> {
        let map = self.inner.read().unwrap_or_else(|p| p.into_inner());
        map.get(&(slug.to_string(), doc.to_string()))
            .filter(|c| c.built.elapsed() < self.ttl)
            .cloned()
    }

    /// Stores a rendering and returns it.
    pub fn put(
        &self,
        slug: &str,
        org_id: &str,
        doc: &str,
        body: Bytes,
        content_type: &'static str,
    ) -> Cached {
        let entry = Cached {
            etag: etag(&body),
            body,
            content_type,
            private: false,
            org_id: org_id.into(),
            built: Instant::now(),
        };
        let mut map = self.inner.write().unwrap_or_else(|p| p.into_inner());
        map.insert((slug.to_string(), doc.to_string()), entry.clone());
        entry
    }

    /// Drops every document of a provider (call after commit of any change it publishes).
    pub fn invalidate(&self, org_id: &str) {
        let mut map = self.inner.write().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, c| c.org_id != org_id);
    }
}

/// A strong ETag of a body.
fn etag(body: &[u8]) -> String {
    format!("\"{}\"", &crate::auth::sha256_hex(body)[..32])
}
