//! Cache of rendered public documents (Statuspage JSON, feeds, uptime) and of customers'
//! personal feed documents, so these reads cost a hash-map lookup. A change on this instance
//! invalidates the entries of the organisation it touches at once — a personal document
//! depends on its customer and the customer's providers, and goes only when one of those
//! changes or its token is revoked; entries also expire after a short TTL so changes made by
//! other instances show up too. Concurrent misses of one personal document render it once.

use crate::error::AppError;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
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

/// Personal documents, and when each organisation (or feed token) was last invalidated.
#[derive(Default)]
struct PersonalDocs {
    docs: HashMap<(String, String), Personal>,
    /// The number ([`PublicCache::mark`]) of the last invalidation of each organisation, and
    /// of each token under `token:ID`.
    invalidated: HashMap<String, u64>,
}

/// How a personal document was served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// From the cache.
    Hit,
    /// Rendered by this request (a miss).
    Rendered,
    /// A miss that waited for another request's rendering of the same document.
    Shared,
}

impl Served {
    pub fn as_str(self) -> &'static str {
        match self {
            Served::Hit => "hit",
            Served::Rendered => "rendered",
            Served::Shared => "shared",
        }
    }
}

type Flight = Arc<tokio::sync::OnceCell<Cached>>;

/// Rendered public documents keyed by (provider slug, document path), and personal ones
/// keyed by (feed token id, document path).
#[derive(Clone)]
pub struct PublicCache {
    inner: Arc<RwLock<HashMap<(String, String), Cached>>>,
    personal: Arc<RwLock<PersonalDocs>>,
    /// Numbers invalidations, so a rendering that raced with a change of what it depends on
    /// is not stored.
    seq: Arc<AtomicU64>,
    /// Renderings of personal documents in progress: concurrent misses of one document wait
    /// for the first one's result instead of rendering it again.
    flights: Arc<Mutex<HashMap<(String, String), Flight>>>,
    ttl: Duration,
}

fn token_key(token_id: &str) -> String {
    format!("token:{token_id}")
}

impl PublicCache {
    pub fn new(ttl: Duration) -> Self {
        PublicCache {
            inner: Arc::default(),
            personal: Arc::default(),
            seq: Arc::default(),
            flights: Arc::default(),
            ttl,
        }
    }

    /// The number of the latest invalidation; read it before rendering and hand it to
    /// [`Self::put_personal`].
    pub fn mark(&self) -> u64 {
        self.seq.load(Ordering::Acquire)
    }

    /// A fresh personal document of a feed token, if any.
    pub fn get_personal(&self, token_id: &str, doc: &str) -> Option<Cached> {
        let p = self.personal.read().unwrap_or_else(|p| p.into_inner());
        p.docs
            .get(&(token_id.to_string(), doc.to_string()))
            .filter(|c| c.doc.built.elapsed() < self.ttl)
            .map(|c| c.doc.clone())
    }

    /// A personal document from the cache, or rendered by `render` (given the
    /// [`Self::mark`] taken before it reads; it stores with [`Self::put_personal`]) once for
    /// all the requests that miss it at the same time.
    pub async fn personal<F, Fut>(
        &self,
        token_id: &str,
        doc: &str,
        render: F,
    ) -> Result<(Cached, Served), AppError>
    where
        F: FnOnce(u64) -> Fut,
        Fut: std::future::Future<Output = Result<Cached, AppError>>,
    {
        if let Some(hit) = self.get_personal(token_id, doc) {
            return Ok((hit, Served::Hit));
        }
        let key = (token_id.to_string(), doc.to_string());
        let flight = self
            .flights
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key.clone())
            .or_default()
            .clone();
        let led = std::cell::Cell::new(false);
        let out = flight
            .get_or_try_init(|| {
                led.set(true);
                // A request that missed just after another stored the document takes it.
                let hit = self.get_personal(token_id, doc);
                let mark = self.mark();
                async move {
                    match hit {
                        Some(hit) => Ok(hit),
                        None => render(mark).await,
                    }
                }
            })
            .await
            .cloned();
        if led.get() {
            let mut flights = self.flights.lock().unwrap_or_else(|p| p.into_inner());
            if flights.get(&key).is_some_and(|f| Arc::ptr_eq(f, &flight)) {
                flights.remove(&key);
            }
        }
        Ok((
            out?,
            if led.get() {
                Served::Rendered
            } else {
                Served::Shared
            },
        ))
    }

    /// Stores a personal document rendered from what the database held at `mark`; when
    /// anything it depends on (or the token) was invalidated since, it is returned but not
    /// stored (it may be stale).
    pub fn put_personal(
        &self,
        token_id: &str,
        doc: &str,
        depends_on: Vec<String>,
        mark: u64,
        body: Bytes,
        content_type: &'static str,
    ) -> Cached {
        let entry = Cached::private(token_id.into(), body, content_type);
        let mut p = self.personal.write().unwrap_or_else(|p| p.into_inner());
        // Expired documents of tokens nobody reads any more go here, so the map stays small.
        p.docs.retain(|_, d| d.doc.built.elapsed() < self.ttl);
        let token = token_key(token_id);
        let stale = std::iter::once(&token)
            .chain(&depends_on)
            .any(|o| p.invalidated.get(o).is_some_and(|&n| n > mark));
        if !stale {
            p.docs.insert(
                (token_id.to_string(), doc.to_string()),
                Personal {
                    doc: entry.clone(),
                    depends_on,
                },
            );
        }
        entry
    }

    /// Under the personal documents' lock: numbers an invalidation of `key` and detaches the
    /// renderings in progress (they finish for those already waiting; later requests render
    /// anew).
    fn invalidated(&self, p: &mut PersonalDocs, key: String) {
        let n = self.seq.fetch_add(1, Ordering::AcqRel) + 1;
        p.invalidated.insert(key, n);
        self.flights
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Drops every personal document of a feed token (call when it is revoked).
    pub fn invalidate_token(&self, token_id: &str) {
        let mut p = self.personal.write().unwrap_or_else(|p| p.into_inner());
        self.invalidated(&mut p, token_key(token_id));
        p.docs.retain(|(t, _), _| t != token_id);
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
            let mut p = self.personal.write().unwrap_or_else(|p| p.into_inner());
            self.invalidated(&mut p, org_id.to_string());
            p.docs
                .retain(|_, d| !d.depends_on.iter().any(|o| o == org_id));
        }
        let mut map = self.inner.write().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, c| c.org_id != org_id);
    }
}

/// A strong ETag of a body.
fn etag(body: &[u8]) -> String {
    format!("\"{}\"", &crate::auth::sha256_hex(body)[..32])
}
