//! Records of stream frames, written ahead of the frames. The pump commits each event's
//! audience (everyone it is about to be offered to) as ONE fan-out row of the disclosure
//! journal before any of its frames goes out ([`fan_out`]); a frame sent to someone outside
//! that audience (a replay after `?since=`, a connection that joined meanwhile) commits its
//! own disclosure first ([`disclosure`]). Per-recipient delivery states (a customer's
//! "reached" receipt) follow in batches after the frames are written.

use super::Prepared;
use crate::audit::journal::Disclosure;
use crate::audit::Event;
use crate::auth::Caller;
use crate::db::Db;
use cirhub_shared::api::Recipient;
use cirhub_shared::Channel;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Who a connection's frames go to, as a fan-out row names them.
pub fn recipient(caller: &Caller) -> Recipient {
    Recipient {
        organisation_id: caller.org_id.clone(),
        actor_type: caller.actor.kind().to_string(),
        actor_id: caller.actor.id().map(str::to_owned),
    }
}

/// One journal row for a whole fan-out: the event's record, version and hash, and everyone it
/// is offered to. Owned by the record's provider.
pub fn fan_out(p: &Prepared, audience: Vec<Recipient>) -> Disclosure {
    Disclosure {
        actor_type: "audience".into(),
        actor_id: None,
        organisation_id: Some(p.provider_id.clone()),
        object_type: p.object_type.clone(),
        object_id: p.object_id.clone(),
        object_version: p.object_version,
        object_hash: Some(p.hash.clone()),
        channel: Channel::WebSocket,
        recipients: Some(audience),
        detail: Some(serde_json::json!({ "seq": p.seq })),
        reach: false,
    }
}

/// The disclosure of one frame to one connection.
pub fn disclosure(caller: &Caller, p: &Prepared) -> Disclosure {
    Disclosure::from_event(
        &Event::disclosure(
            &caller.actor,
            &caller.org_id,
            &p.object_type,
            &p.object_id,
            p.object_version,
            Some(p.hash.clone()),
            Channel::WebSocket,
        )
        .detail(serde_json::json!({ "seq": p.seq })),
    )
}

/// One frame written to one client.
pub struct Delivery {
    pub caller: Arc<Caller>,
    pub prepared: Arc<Prepared>,
    pub at: i64,
}

/// Queue of delivery states to record; cheap to clone.
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

/// Marks each incident reached by each customer organisation a frame about it went to.
fn write(conn: &mut crate::db::DbConn, items: &[Delivery]) -> Result<(), crate::error::AppError> {
    let mut reached = std::collections::HashSet::new();
    for d in items {
        let p = &d.prepared;
        if p.object_type == "incident"
            && d.caller.org_id != p.provider_id
            && reached.insert((p.object_id.clone(), d.caller.org_id.clone()))
        {
            crate::customers::acknowledgements::mark_reached(
                conn,
                &p.object_id,
                &d.caller.org_id,
                Channel::WebSocket,
            )?;
        }
    }
    Ok(())
}
