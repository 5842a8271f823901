//! The live stream. Events are rows (`events`, written with the change they announce); one
//! pump per instance reads new rows in sequence order, prepares each once (audience set,
//! filter facts, the serialised frame) and offers it to every connection's bounded queue.
//! The pump never waits for a client: a full queue drops that subscriber, whose connection
//! then tells its client to resynchronise. Several instances share one database: each pump
//! is woken by its own writers and polls for the others' rows. A connection also ends with
//! its credential (see [`ends`]).

pub mod delivery;
pub mod ends;
pub mod ws;

use crate::audit::Journal;
use crate::db::rows::EventRow;
use crate::db::schema::events;
use crate::db::Db;
use cirhub_shared::api::Recipient;
use cirhub_shared::customer::{StreamEvent, StreamFrame, Subscription};
use diesel::prelude::*;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, Notify};

/// An event ready to send: decoded once, serialised once.
pub struct Prepared {
    pub seq: i64,
    pub provider_id: String,
    pub provider_only: bool,
    pub audience: HashSet<String>,
    pub event: StreamEvent,
    /// The `event` frame as sent on the wire.
    pub frame: bytestring::ByteString,
    /// For a versioned record, the hash of the stored version the event announces; otherwise
    /// SHA-256 of the event as sent. Named by the delivery record.
    pub hash: String,
    pub object_type: String,
    pub object_id: String,
    pub object_version: Option<i32>,
    /// Recipients whose disclosure of this frame the pump committed (its fan-out row); a
    /// connection outside it records its own before sending.
    pub recorded: HashSet<Recipient>,
}

impl Prepared {
    pub fn from_row(row: EventRow) -> Option<Prepared> {
        let event: StreamEvent = serde_json::from_str(&row.payload).ok()?;
        let audience: Vec<String> = serde_json::from_str(&row.audience).ok()?;
        let frame = serde_json::to_string(&StreamFrame::Event(Box::new(event.clone()))).ok()?;
        Some(Prepared {
            seq: row.seq,
            provider_id: row.provider_id,
            provider_only: row.provider_only,
            audience: audience.into_iter().collect(),
            hash: match row.object_hash {
                Some(h) => h,
                None => crate::audit::object_hash(&event).ok()?,
            },
            event,
            frame: frame.into(),
            object_type: row.object_type,
            object_id: row.object_id,
            object_version: row.object_version,
            recorded: HashSet::new(),
        })
    }
}

/// What one connection may receive: its organisation's share (the policy decision made when
/// the event was written), narrowed by the person's WebSocket subscriptions.
///
/// A person with no WebSocket subscription at all (own or their role's) receives the whole
/// share: the dashboard updates live from this stream, and must not go quiet for someone who
/// never subscribed. Nothing but the person's own choice reaches that default: leaving the
/// mail (the unsubscribe link) removes only the e-mail channel, so a WebSocket subscription
/// stays in force; and a stored subscription that cannot be read narrows the stream while
/// matching nothing, instead of counting as "no subscription".
pub struct Filter {
    pub org_id: String,
    /// The person listening (none for an API token): escalation notices and clock alerts
    /// reach only them.
    pub user_id: Option<String>,
    /// `None`: no WebSocket subscription, the whole share. `Some`: only what one of these
    /// matches (nothing, when the list is empty because none could be read).
    pub subscriptions: Option<Vec<Subscription>>,
}

impl Filter {
    pub fn admits(&self, p: &Prepared) -> bool {
        if let Some(n) = &p.event.escalation {
            return n.organisation_id == self.org_id
                && self.user_id.as_deref() == Some(n.user_id.as_str());
        }
        if let Some(a) = &p.event.clock_alert {
            return a.organisation_id == self.org_id
                && self.user_id.as_deref() == Some(a.user_id.as_str());
        }
        if p.provider_id == self.org_id {
            return true;
        }
        if p.provider_only || !p.audience.contains(&self.org_id) {
            return false;
        }
        // Acknowledgements and indicator notices are addressed to their audience alone;
        // incident subscriptions (services, regions, priority) do not apply to them.
        if p.event.acknowledgement.is_some() || p.event.indicator.is_some() {
            return true;
        }
        match &self.subscriptions {
            None => true,
            Some(list) => list
                .iter()
                .any(|s| crate::customers::subscriptions::matches(s, &p.event)),
        }
    }
}

struct Subscriber {
    filter: Arc<Filter>,
    who: Recipient,
    tx: mpsc::Sender<Arc<Prepared>>,
}

struct Inner {
    subscribers: Mutex<HashMap<u64, Subscriber>>,
    next_id: AtomicU64,
    /// Newest sequence number the pump has offered.
    last_seq: AtomicI64,
    wake: Notify,
    queue: usize,
    ends: Arc<ends::Ends>,
}

/// The per-instance hub; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

/// A registration: events arrive on `rx`; dropping it unregisters.
pub struct Registration {
    pub id: u64,
    pub rx: mpsc::Receiver<Arc<Prepared>>,
    pub filter: Arc<Filter>,
    hub: Hub,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.remove(self.id);
    }
}

impl Hub {
    pub fn new(queue: usize) -> Hub {
        Hub {
            inner: Arc::new(Inner {
                subscribers: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(1),
                last_seq: AtomicI64::new(-1),
                wake: Notify::new(),
                queue,
                ends: Arc::default(),
            }),
        }
    }

    /// The newest sequence number offered to subscribers.
    pub fn last_seq(&self) -> i64 {
        self.inner.last_seq.load(Ordering::Acquire)
    }

    /// Makes the pump look for new events now (call after a commit that wrote some).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// The credentials of this instance's connections, closed when they end.
    pub fn ends(&self) -> &Arc<ends::Ends> {
        &self.inner.ends
    }

    pub fn subscribers(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Subscriber>> {
        self.inner
            .subscribers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    pub fn register(&self, filter: Filter, who: Recipient) -> Registration {
        let (tx, rx) = mpsc::channel(self.inner.queue);
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let filter = Arc::new(filter);
        self.lock().insert(
            id,
            Subscriber {
                filter: filter.clone(),
                who,
                tx,
            },
        );
        Registration {
            id,
            rx,
            filter,
            hub: self.clone(),
        }
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Everyone an event would be offered to now.
    fn audience(&self, p: &Prepared) -> HashSet<Recipient> {
        self.lock()
            .values()
            .filter(|s| !s.tx.is_closed() && s.filter.admits(p))
            .map(|s| s.who.clone())
            .collect()
    }

    /// Offers an event to every subscriber it is for. A subscriber whose queue is full is
    /// dropped (its receiver then ends, and the connection asks its client to resync).
    fn offer(&self, p: Arc<Prepared>) {
        let mut subs = self.lock();
        subs.retain(|_, s| {
            if !s.filter.admits(&p) {
                return !s.tx.is_closed();
            }
            match s.tx.try_send(p.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => false,
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
        drop(subs);
        self.inner.last_seq.store(p.seq, Ordering::Release);
    }

    /// Runs the pump: starts at the newest event, then offers each new one in order, each
    /// after its audience is committed to the disclosure journal (write-ahead; one row per
    /// event, one commit per batch of events). Also starts the reader of credential changes,
    /// at most every 250 ms whatever `poll`, so a credential ended on another instance
    /// closes its streams here within a second.
    pub fn spawn_pump(&self, db: Db, journal: Journal, poll: Duration) {
        self.inner
            .ends
            .spawn(db.clone(), poll.min(Duration::from_millis(250)));
        let hub = self.clone();
        tokio::spawn(async move {
            let mut last = loop {
                match db.read(|c| Ok(newest(c)?)).await {
                    Ok(v) => break v,
                    Err(e) => {
                        tracing::warn!(error = %e, "stream pump cannot read events");
                        tokio::time::sleep(poll).await;
                    }
                }
            };
            hub.inner.last_seq.store(last, Ordering::Release);
            loop {
                let _ = tokio::time::timeout(poll, hub.inner.wake.notified()).await;
                loop {
                    let after = last;
                    let rows = match db.read(move |c| Ok(since(c, after, 500)?)).await {
                        Ok(r) => r,
                        Err(e) => {
                            tracing::warn!(error = %e, "stream pump cannot read events");
                            break;
                        }
                    };
                    let n = rows.len();
                    let newest = rows.last().map(|r| r.seq);
                    let mut ready = Vec::with_capacity(n);
                    for row in rows {
                        let seq = row.seq;
                        match Prepared::from_row(row) {
                            Some(mut p) => {
                                p.recorded = hub.audience(&p);
                                ready.push(p);
                            }
                            None => tracing::error!(seq, "unreadable stream event"),
                        }
                    }
                    let records = ready
                        .iter()
                        .filter(|p| !p.recorded.is_empty())
                        .map(|p| delivery::fan_out(p, p.recorded.iter().cloned().collect()))
                        .collect();
                    if let Err(e) = journal.commit(records).await {
                        // Nothing leaves unrecorded: try these events again later.
                        tracing::error!(error = %e, "cannot record a fan-out; holding its frames");
                        break;
                    }
                    for p in ready {
                        hub.offer(Arc::new(p));
                    }
                    last = newest.unwrap_or(last);
                    if n < 500 {
                        break;
                    }
                }
                hub.inner.last_seq.store(last, Ordering::Release);
            }
        });
    }
}

/// The newest event's sequence number (0 when there is none).
pub fn newest(conn: &mut crate::db::DbConn) -> QueryResult<i64> {
    Ok(events::table
        .select(diesel::dsl::max(events::seq))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0))
}

/// Events after `seq`, in order.
pub fn since(conn: &mut crate::db::DbConn, seq: i64, limit: i64) -> QueryResult<Vec<EventRow>> {
    events::table
        .filter(events::seq.gt(seq))
        .order(events::seq.asc())
        .limit(limit)
        .select(EventRow::as_select())
        .load(conn)
}
