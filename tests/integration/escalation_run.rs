//! Escalations in flight, driven by the test clock and a real SMTP server: an incident
//! nobody acknowledges climbs its levels at the configured times; an acknowledgement stops
//! that party's escalation; resolving the incident stops it too; the escalation names the
//! policy version it runs on; another organisation's escalation does not exist for you.

use crate::harness::*;
use crate::jobs::{advance, spawn};
use crate::mail::{for_recipient, header, Smtp};
use cirhub_shared::escalation::{Escalation, EscalationState};
use cirhub_shared::Role;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

async fn escalation(app: &TestApp, s: &Session, incident: &str) -> Escalation {
    let (status, v) = app
        .get(&format!("/api/v1/incidents/{incident}/escalation"), s)
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    serde_json::from_value(v).unwrap()
}

/// Waits for `n` mails in all, then checks that no more come.
async fn exactly(smtp: &Smtp, n: usize) -> Vec<String> {
    let msgs = smtp.wait_for(n).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        smtp.messages().len(),
        n,
        "{:#?}",
        smtp.messages()
            .iter()
            .map(|m| header(m, "Subject"))
            .collect::<Vec<_>>()
    );
    msgs
}

#[tokio::test]
async fn an_unacknowledged_incident_climbs_and_an_acknowledgement_or_resolution_stops_it() {
    let smtp = Smtp::start();
    let app = spawn(&smtp, &[]).await;
    let admin = app.provider("nimbus", Role::Admin).await;
    let kenji = app.colleague(&admin, "kenji", Role::Analyst).await;
    let cat = app.catalogue(&admin).await;
    // P1 and P2: Kenji at once, the admin 10 minutes later, the end 20 minutes after that.
    let policy = json!({"time_zone": "UTC", "rules": [{"name": "Urgent", "match": {"priorities": ["P1", "P2"]}, "levels": [
        {"targets": [{"kind": "user", "id": kenji.user_id, "channels": ["email"]}], "wait_minutes": 10},
        {"targets": [{"kind": "user", "id": admin.user_id, "channels": ["email"]}], "wait_minutes": 20}]}]});
    let (status, v) = app.put("/api/v1/escalation-policy", &admin, policy).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let hash = v["hash"].as_str().unwrap().to_owned();

    // A major, urgent incident is P2: Kenji is told at once, the admin after 10 minutes.
    let disk = app.incident(&admin, &cat, "Disk latency", "internal").await;
    let msgs = exactly(&smtp, 1).await;
    let to_kenji = for_recipient(&msgs, &kenji.email);
    assert_eq!(
        header(to_kenji[0], "Subject").as_deref(),
        Some("[P2] Escalation, level 1: Disk latency")
    );
    let e = escalation(&app, &admin, &disk.id).await;
    assert_eq!(
        (
            e.state,
            e.policy_version,
            e.policy_hash.as_str(),
            e.plan.len(),
            e.notices.len()
        ),
        (EscalationState::Active, 1, hash.as_str(), 2, 1)
    );
    // Nothing more before the wait is over.
    advance(&app, 9 * 60).await;
    exactly(&smtp, 1).await;
    advance(&app, 61).await;
    let msgs = exactly(&smtp, 2).await;
    assert_eq!(
        header(for_recipient(&msgs, &admin.email)[0], "Subject").as_deref(),
        Some("[P2] Escalation, level 2: Disk latency")
    );

    // A second incident, acknowledged by Kenji after the first notice: nobody else is told,
    // while the first incident's escalation runs out on its own.
    let loss = app.incident(&admin, &cat, "Packet loss", "internal").await;
    exactly(&smtp, 3).await;
    let (status, v) = app
        .post(
            &format!("/api/v1/incidents/{}/escalation/acknowledge", loss.id),
            &kenji,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let acked: Escalation = serde_json::from_value(v).unwrap();
    assert_eq!(
        (acked.state, acked.ended_by.as_deref()),
        (EscalationState::Acknowledged, Some(kenji.user_id.as_str()))
    );
    advance(&app, 31 * 60).await;
    exactly(&smtp, 3).await;
    let e = escalation(&app, &admin, &disk.id).await;
    assert_eq!((e.state, e.notices.len()), (EscalationState::Exhausted, 2));
    assert_eq!(
        escalation(&app, &admin, &loss.id).await.state,
        EscalationState::Acknowledged
    );

    // A third, resolved before the wait is over: the escalation ends with it.
    let dns = app.incident(&admin, &cat, "DNS errors", "internal").await;
    exactly(&smtp, 4).await;
    app.update(&admin, &dns.id, "resolved", "Fixed.").await;
    advance(&app, 11 * 60).await;
    exactly(&smtp, 4).await;
    assert_eq!(
        escalation(&app, &admin, &dns.id).await.state,
        EscalationState::Resolved
    );

    // Another organisation's escalation does not exist for you, and cannot be acknowledged.
    let other = app.provider("stratus", Role::Admin).await;
    let c = app.customer("acme", Role::Admin).await;
    for s in [&other, &c] {
        let (status, _) = app
            .get(&format!("/api/v1/incidents/{}/escalation", disk.id), s)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = app
            .post(
                &format!("/api/v1/incidents/{}/escalation/acknowledge", disk.id),
                s,
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    // A viewer cannot acknowledge for the organisation.
    let viewer = app.colleague(&admin, "vi", Role::Viewer).await;
    let (status, _) = app
        .post(
            &format!("/api/v1/incidents/{}/escalation/acknowledge", dns.id),
            &viewer,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
