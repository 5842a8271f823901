//! Cache of rendered public documents (Statuspage JSON, feeds, uptime) and of customers'
//! personal feed documents, so these reads cost a hash-map lookup. A change on this instance
//! invalidates the entries of the organisation it touches at once; entries also expire after
//! a short TTL so changes made by other instances show up too.

use bytes::Bytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// A personal document.
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

/// A personal document and the organisations whose changes drop it.
struct Personal {
    doc: Cached,
    depends_on: Vec<String>,
}

/// Rendered public documents keyed by (provider slug, document path), and personal ones
/// keyed by (feed token id, document path).
#[derive(Clone)]
pub struct PublicCache {
    inner: Arc<RwLock<HashMap<(String, String), Cached>>>,
    personal: Arc<RwLock<HashMap<(String, String), Personal>>>,
    /// Counts invalidations, so a rendering that raced with a change is not stored.
    generation: Arc<AtomicU64>,
    ttl: Duration,
}

impl PublicCache {
    pub fn new(ttl: Duration) -> Self {
        PublicCache {
            inner: Arc::default(),
            personal: Arc::default(),
            generation: Arc::default(),
            ttl,
        }
    }

    /// The current generation; read it before rendering and hand it to [`Self::put_personal`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// A fresh personal document of a feed token, if any.
    pub fn get_personal(&self, token_id: &str, doc: &str) -> Option<Cached> {
        let map = self.personal.read().unwrap_or_else(|p| p.into_inner());
        map.get(&(token_id.to_string(), doc.to_string()))
            .filter(|c| c.doc.built.elapsed() < self.ttl)
            .map(|c| c.doc.clone())
    }

    /// Stores a personal document rendered from what the database held at `generation`;
    /// when anything was invalidated since, it is returned but not stored (it may be stale).
    pub fn put_personal(
        &self,
        token_id: &str,
        doc: &str,
        depends_on: Vec<String>,
        generation: u64,
        body: Bytes,
        content_type: &'static str,
    ) -> Cached {
        let entry = Cached::private(token_id.into(), body, content_type);
        let mut map = self.personal.write().unwrap_or_else(|p| p.into_inner());
        // Expired documents of tokens nobody reads any more go here, so the map stays small.
        map.retain(|_, p| p.doc.built.elapsed() < self.ttl);
        if self.generation() == generation {
            map.insert(
                (token_id.to_string(), doc.to_string()),
                Personal {
                    doc: entry.clone(),
                    depends_on,
                },
            );
        }
        entry
    }

    /// Drops every personal document of a feed token (call when it is revoked).
    pub fn invalidate_token(&self, token_id: &str) {
        let mut map = self.personal.write().unwrap_or_else(|p| p.into_inner());
        map.retain(|(t, _), _| t != token_id);
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

    /// Drops every document of an organisation, public or personal, and every personal
    /// document that depends on it (call after commit of any change it makes).
    pub fn invalidate(&self, org_id: &str) {
        {
            // Under the lock, so a rendering that read before this change is not stored.
            let mut personal = self.personal.write().unwrap_or_else(|p| p.into_inner());
            self.generation.fetch_add(1, Ordering::AcqRel);
            personal.retain(|_, p| !p.depends_on.iter().any(|o| o == org_id));
        }
        let mut map = self.inner.write().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, c| c.org_id != org_id);
    }
}

/// A strong ETag of a body.
fn etag(body: &[u8]) -> String {
    format!("\"{}\"", &crate::auth::sha256_hex(body)[..32])
}
