//! The WebSocket channel of escalations, with real tokio-tungstenite clients: a step's
//! notice reaches only its person's connections; the notice is handed off when written and
//! delivered when the client confirms it; an `acknowledge` frame acknowledges for the
//! person's organisation (analyst or above) and stops only its escalation; bad frames are
//! refused with the status the REST API would give and change nothing.

use crate::escalation_run::{escalation, save_policy};
use crate::harness::*;
use crate::jobs::{advance, spawn};
use crate::mail::{for_recipient, Smtp};
use cirhub_shared::escalation::{DeliveryState, EscalationState, NotifyChannel};
use cirhub_shared::Role;
use serde_json::{json, Value};
use std::time::Duration;

/// Polls until the WebSocket notice is in `state`.
async fn notice_reaches(app: &TestApp, s: &Session, incident: &str, state: DeliveryState) {
    for _ in 0..100 {
        let e = escalation(app, s, incident).await;
        if e.notices
            .iter()
            .any(|n| n.channel == NotifyChannel::WebSocket && n.state == state)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the WebSocket notice never became {state}");
}

fn escalation_notices(frames: &[Value]) -> Vec<&Value> {
    frames
        .iter()
        .filter(|f| f["kind"] == "escalation.notice")
        .collect()
}

#[tokio::test]
async fn a_websocket_notice_reaches_its_person_and_an_acknowledge_frame_stops_the_escalation() {
    let smtp = Smtp::start();
    let app = spawn(&smtp, &[]).await;
    let w = app.world().await;
    let kenji = app.colleague(&w.provider, "kenji", Role::Analyst).await;
    let lee = app.colleague(&w.provider, "lee", Role::Analyst).await;
    let vi = app.colleague(&w.provider, "vi", Role::Viewer).await;
    let ana = app.colleague(&w.acme, "ana", Role::Analyst).await;
    let policy = json!({"time_zone": "UTC", "rules": [{"name": "All", "match": {}, "levels": [
        {"targets": [{"kind": "user", "id": kenji.user_id, "channels": ["websocket"]}], "wait_minutes": 10},
        {"targets": [{"kind": "user", "id": w.provider.user_id, "channels": ["email"]}], "wait_minutes": 20}]}]});
    save_policy(&app, &w.provider, policy).await;

    let mut to_kenji = app.stream(&kenji.token, None).await;
    let mut to_lee = app.stream(&lee.token, None).await;
    let mut to_vi = app.stream(&vi.token, None).await;
    let mut to_ana = app.stream(&ana.token, None).await;
    for c in [&mut to_kenji, &mut to_lee, &mut to_vi, &mut to_ana] {
        c.next_of("live").await;
    }
    let i = app
        .open(
            &w.provider,
            &w.compute_tokyo,
            "Compute degraded",
            "public",
            &[],
        )
        .await;

    // Kenji's connection gets the notice, naming the incident version; nobody else's does.
    let quiet = Duration::from_millis(1500);
    let got = to_kenji.events_until_quiet(quiet).await;
    let notices = escalation_notices(&got);
    assert_eq!(notices.len(), 1, "{got:#?}");
    let n = notices[0];
    assert_eq!(
        (
            n["escalation"]["incident_id"].as_str(),
            n["escalation"]["incident_version"].as_i64(),
            n["escalation"]["user_id"].as_str(),
            n["escalation"]["level"].as_i64()
        ),
        (
            Some(i.id.as_str()),
            Some(1),
            Some(kenji.user_id.as_str()),
            Some(1)
        )
    );
    let seq = n["seq"].as_i64().unwrap();
    for other in [&mut to_lee, &mut to_ana] {
        let got = other.events_until_quiet(quiet).await;
        assert!(escalation_notices(&got).is_empty(), "{got:#?}");
    }
    // Written to Kenji's connection: handed off; confirmed by his client: delivered.
    notice_reaches(&app, &w.provider, &i.id, DeliveryState::HandedOff).await;
    to_kenji.send(json!({"type": "received", "seq": seq})).await;
    notice_reaches(&app, &w.provider, &i.id, DeliveryState::Delivered).await;
    // Ana's client cannot confirm a notice that is not hers.
    to_ana.send(json!({"type": "received", "seq": seq})).await;
    assert_eq!(to_ana.next_of("refused").await["status"], 404);

    // Frames that are not client frames, an unknown incident, a viewer: refused, nothing changes.
    to_kenji.send(json!({"type": "acknowledge"})).await;
    assert_eq!(to_kenji.next_of("refused").await["status"], 400);
    to_kenji
        .send(json!({"type": "acknowledge", "incident_id": "nope"}))
        .await;
    assert_eq!(to_kenji.next_of("refused").await["status"], 404);
    to_vi
        .send(json!({"type": "acknowledge", "incident_id": i.id}))
        .await;
    assert_eq!(to_vi.next_of("refused").await["status"], 403);
    // Acme has no escalation of it: its acknowledgement by frame is 404, as through the API.
    to_ana
        .send(json!({"type": "acknowledge", "incident_id": i.id}))
        .await;
    assert_eq!(to_ana.next_of("refused").await["status"], 404);
    assert_eq!(
        escalation(&app, &w.provider, &i.id).await.state,
        EscalationState::Active
    );

    // Kenji acknowledges by frame: the provider's escalation stops; level 2 never comes.
    to_kenji
        .send(json!({"type": "acknowledge", "incident_id": i.id}))
        .await;
    let ack = to_kenji.next_of("acknowledged").await;
    assert_eq!(
        (ack["incident_id"].as_str(), ack["state"].as_str()),
        (Some(i.id.as_str()), Some("acknowledged"))
    );
    let e = escalation(&app, &w.provider, &i.id).await;
    assert_eq!(
        (e.state, e.ended_by.as_deref(), e.notices[0].state),
        (
            EscalationState::Acknowledged,
            Some(kenji.user_id.as_str()),
            DeliveryState::Acknowledged
        )
    );
    advance(&app, 11 * 60).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(
        for_recipient(&smtp.messages(), &w.provider.email).is_empty(),
        "level 2 was told after the acknowledgement"
    );
}
