//! Records of stream frames, written ahead of the frames. The pump commits each event's
//! audience (everyone it is about to be offered to) as ONE fan-out row of the disclosure
//! journal before any of its frames goes out ([`fan_out`]); a frame sent to someone outside
//! that audience (a replay after `?since=`, a connection that joined meanwhile) commits its
//! own disclosure first ([`disclosure`]). A customer's "reached" receipt is written with the
//! disclosure: inline for a single frame, and for a fan-out by a `delivery.reached` job
//! committed with its row, so the frames are not held up and no receipt is lost to a crash.

use super::Prepared;
use crate::audit::journal::Disclosure;
use crate::audit::Event;
use crate::auth::Caller;
use cirhub_shared::api::Recipient;
use cirhub_shared::Channel;

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
        // The customers in the audience are marked reached by a job committed with this row
        // (an incident's; other records have no reach marks).
        reach: p.object_type == crate::audit::versions::INCIDENT,
    }
}

/// The disclosure of one frame to one connection (a customer's marks the incident reached).
pub fn disclosure(caller: &Caller, p: &Prepared) -> Disclosure {
    let reach = caller.org_id != p.provider_id && p.object_type == crate::audit::versions::INCIDENT;
    let d = Disclosure::from_event(
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
    );
    Disclosure { reach, ..d }
}
