//! Delivery records: every event frame written to a WebSocket client becomes a `disclose`
//! entry in the audit log (who was sent which version of which record, when, by WebSocket).
//! Frames are sent first and recorded in batches right after, so a busy audit chain never
//! slows the stream; the entry's detail carries the exact send time and sequence number.

use super::Prepared;
use crate::audit::{self, Event};
use crate::auth::Caller;
use crate::db::Db;
use cirhub_shared::Channel;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// One frame written to one client.
pub struct Delivery {
    pub caller: Arc<Caller>,
    pub prepared: Arc<Prepared>,
    pub at: i64,
}

/// Queue of deliveries to record; cheap to clone.
#[derive(Clone)]
pub struct DeliveryLog {
    tx: mpsc::UnboundedSender<Delivery>,
}

impl DeliveryLog {
    /// Starts the recorder task.
    pub fn spawn(db: Db) -> DeliveryLog {
        let (tx, mut rx) = mpsc::unbounded_channel::<Delivery>();
        tokio::spawn(async move {
            let mut batch = Vec::new();
            while let Some(first) = rx.recv().await {
                batch.push(first);
                // Gather what arrives in the next moment into one transaction, and stay out of
                // the way of a fan-out in progress (its frames are sent first).
                tokio::time::sleep(Duration::from_millis(400)).await;
                while let Ok(d) = rx.try_recv() {
                    batch.push(d);
                    if batch.len() >= 20_000 {
                        break;
                    }
                }
                let items = std::mem::take(&mut batch);
                let n = items.len();
                if let Err(e) = db.write(move |c| write(c, &items)).await {
                    tracing::error!(error = %e, deliveries = n, "cannot record stream deliveries");
                }
            }
        });
        DeliveryLog { tx }
    }

    pub fn record(&self, d: Delivery) {
        let _ = self.tx.send(d);
    }
}

fn write(conn: &mut crate::db::DbConn, items: &[Delivery]) -> Result<(), crate::error::AppError> {
    let details: Vec<serde_json::Value> = items
        .iter()
        .map(|d| serde_json::json!({ "seq": d.prepared.seq, "sent_at": d.at }))
        .collect();
    let events: Vec<Event<'_>> = items
        .iter()
        .zip(&details)
        .map(|(d, detail)| {
            Event::disclosure(
                &d.caller.actor,
                &d.caller.org_id,
                &d.prepared.object_type,
                &d.prepared.object_id,
                d.prepared.object_version,
                Some(d.prepared.hash.clone()),
                Channel::WebSocket,
            )
            .detail(detail.clone())
        })
        .collect();
    audit::append_many(conn, &events)?;
    let mut reached = std::collections::HashSet::new();
    for d in items {
        let p = &d.prepared;
        if p.object_type == "incident"
            && d.caller.org_id != p.provider_id
            && reached.insert((p.object_id.clone(), d.caller.org_id.clone()))
        {
            crate::services::dashboard::mark_reached(
                conn,
                &p.object_id,
                &d.caller.org_id,
                Channel::WebSocket,
            )?;
        }
    }
    Ok(())
}
