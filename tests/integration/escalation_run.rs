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

/// Saves `policy` as the organisation's escalation policy (asserting 200).
pub(crate) async fn save_policy(app: &TestApp, s: &Session, policy: serde_json::Value) {
    let (status, v) = app.put("/api/v1/escalation-policy", s, policy).await;
    assert_eq!(status, StatusCode::OK, "{v}");
}

/// The caller's organisation's escalation of an incident (asserting 200).
pub(crate) async fn escalation(app: &TestApp, s: &Session, incident: &str) -> Escalation {
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
    let policy = two_levels(&kenji.user_id, &admin.user_id);
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
    // Prometheus: escalations by state, notices by channel, how late each step ran.
    let (_, metrics) = app.public("/metrics").await;
    for line in [
        "cirhub_escalations{state=\"active\"} 0",
        "cirhub_escalations{state=\"acknowledged\"} 1",
        "cirhub_escalations{state=\"exhausted\"} 1",
        "cirhub_escalations{state=\"resolved\"} 1",
        "cirhub_escalation_notices_total{channel=\"email\"} 4",
        "cirhub_escalation_step_lateness_seconds_count 4",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no {line:?} in\n{metrics}"
        );
    }

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

/// Two levels by e-mail: `first` at once, `second` after 10 minutes, for P1 and P2.
fn two_levels(first: &str, second: &str) -> serde_json::Value {
    json!({"time_zone": "UTC", "rules": [{"name": "Urgent", "match": {"priorities": ["P1", "P2"]}, "levels": [
        {"targets": [{"kind": "user", "id": first, "channels": ["email"]}], "wait_minutes": 10},
        {"targets": [{"kind": "user", "id": second, "channels": ["email"]}], "wait_minutes": 20}]}]})
}

#[tokio::test]
async fn each_party_escalates_on_its_own_policy_and_its_acknowledgement_stops_only_its_own() {
    let smtp = Smtp::start();
    let app = spawn(&smtp, &[]).await;
    let w = app.world().await;
    let kenji = app.colleague(&w.provider, "kenji", Role::Analyst).await;
    let ana = app.colleague(&w.acme, "ana", Role::Analyst).await;
    let gus = app.colleague(&w.globex, "gus", Role::Analyst).await;
    for (s, first, second) in [
        (&w.provider, &kenji, &w.provider),
        (&w.acme, &ana, &w.acme),
        (&w.globex, &gus, &w.globex),
    ] {
        let (status, v) = app
            .put(
                "/api/v1/escalation-policy",
                s,
                two_levels(&first.user_id, &second.user_id),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    // A public P2 on Compute in Tokyo: acme contracted it, globex did not (it cannot see it).
    let i = app
        .open(
            &w.provider,
            &w.compute_tokyo,
            "Compute degraded",
            "public",
            &[],
        )
        .await;
    let msgs = exactly(&smtp, 2).await;
    assert_eq!(for_recipient(&msgs, &kenji.email).len(), 1);
    assert_eq!(for_recipient(&msgs, &ana.email).len(), 1);
    let theirs = escalation(&app, &ana, &i.id).await;
    assert_eq!(
        (theirs.organisation_id.as_str(), theirs.state),
        (w.acme.org_id.as_str(), EscalationState::Active)
    );
    let (status, _) = app
        .get(&format!("/api/v1/incidents/{}/escalation", i.id), &gus)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Acme acknowledges through the escalation: its provider sees the acknowledgement, acme's
    // escalation stops, the provider's climbs on.
    let (status, v) = app
        .post(
            &format!("/api/v1/incidents/{}/escalation/acknowledge", i.id),
            &ana,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "acknowledged", "{v}");
    let (_, receipts) = app
        .get(&format!("/api/v1/incidents/{}/receipts", i.id), &w.provider)
        .await;
    assert!(receipts.to_string().contains("ana@acme.test"), "{receipts}");
    advance(&app, 10 * 60 + 1).await;
    let msgs = exactly(&smtp, 3).await;
    assert_eq!(
        for_recipient(&msgs, &w.provider.email).len(),
        1,
        "the provider's level 2"
    );
    assert_eq!(
        for_recipient(&msgs, &w.acme.email).len(),
        0,
        "acme acknowledged"
    );
    assert_eq!(
        escalation(&app, &kenji, &i.id).await.state,
        EscalationState::Active
    );
    // The provider's escalation of it is not acme's business, and acme's is not the provider's.
    let (status, v) = app
        .get(
            &format!("/api/v1/incidents/{}/escalation", i.id),
            &w.provider,
        )
        .await;
    assert_eq!(
        (status, v["organisation_id"].as_str()),
        (StatusCode::OK, Some(w.provider.org_id.as_str()))
    );
}

#[tokio::test]
async fn an_unacknowledged_escalation_climbs_again_from_its_first_level() {
    let smtp = Smtp::start();
    let app = spawn(&smtp, &[]).await;
    let admin = app.provider("nimbus", Role::Admin).await;
    let kenji = app.colleague(&admin, "kenji", Role::Analyst).await;
    let cat = app.catalogue(&admin).await;
    save_policy(&app, &admin, two_levels(&kenji.user_id, &admin.user_id)).await;
    let i = app.incident(&admin, &cat, "Disk latency", "internal").await;
    exactly(&smtp, 1).await;
    let path = |what: &str| format!("/api/v1/incidents/{}/escalation/{what}", i.id);
    // Only an acknowledged escalation can be un-acknowledged.
    let (status, v) = app.post(&path("unacknowledge"), &kenji, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    let (status, v) = app.post(&path("acknowledge"), &kenji, json!({})).await;
    assert_eq!(
        (status, v["state"].as_str()),
        (StatusCode::OK, Some("acknowledged"))
    );
    advance(&app, 5 * 60).await;

    // Un-acknowledged five minutes later: level 1 is told again at once, level 2 ten minutes
    // after that; the first round's level 2, due meanwhile, tells nobody.
    let viewer = app.colleague(&admin, "vi", Role::Viewer).await;
    let (status, _) = app.post(&path("unacknowledge"), &viewer, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, v) = app.post(&path("unacknowledge"), &kenji, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let e: Escalation = serde_json::from_value(v).unwrap();
    assert_eq!(
        (e.state, e.step_base, e.ended_by),
        (EscalationState::Active, 3, None)
    );
    let msgs = exactly(&smtp, 2).await;
    assert_eq!(for_recipient(&msgs, &kenji.email).len(), 2);
    advance(&app, 9 * 60).await;
    exactly(&smtp, 2).await;
    advance(&app, 2 * 60).await;
    let msgs = exactly(&smtp, 3).await;
    assert_eq!(for_recipient(&msgs, &admin.email).len(), 1);
    let steps: Vec<usize> = escalation(&app, &admin, &i.id)
        .await
        .notices
        .iter()
        .map(|n| n.step)
        .collect();
    assert_eq!(steps, [0, 3, 4]);
    // Another organisation's escalation does not exist for you.
    let other = app.provider("stratus", Role::Admin).await;
    let (status, _) = app.post(&path("unacknowledge"), &other, json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_customer_that_comes_to_see_an_incident_later_starts_its_own_escalation_then() {
    let smtp = Smtp::start();
    let app = spawn(&smtp, &[]).await;
    let w = app.world().await;
    let ana = app.colleague(&w.acme, "ana", Role::Analyst).await;
    let gus = app.colleague(&w.globex, "gus", Role::Analyst).await;
    save_policy(&app, &w.acme, two_levels(&ana.user_id, &w.acme.user_id)).await;
    save_policy(&app, &w.globex, two_levels(&gus.user_id, &w.globex.user_id)).await;
    // Internal at first: no customer sees it, so none escalates.
    let i = app
        .open(
            &w.provider,
            &w.compute_tokyo,
            "Compute degraded",
            "internal",
            &[],
        )
        .await;
    exactly(&smtp, 0).await;
    let path = format!("/api/v1/incidents/{}", i.id);
    // Shown to acme: acme's escalation starts with the change.
    let (status, v) = app
        .patch(
            &path,
            &w.provider,
            json!({"visibility": "named", "audience": ["acme"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let msgs = exactly(&smtp, 1).await;
    assert_eq!(for_recipient(&msgs, &ana.email).len(), 1);
    // Then to globex as well: globex's starts, acme's is not started again, and a later
    // update starts nothing.
    let (status, v) = app
        .patch(&path, &w.provider, json!({"audience": ["acme", "globex"]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let msgs = exactly(&smtp, 2).await;
    assert_eq!(for_recipient(&msgs, &gus.email).len(), 1);
    app.update(&w.provider, &i.id, "identified", "Found it")
        .await;
    exactly(&smtp, 2).await;
    assert_eq!(
        escalation(&app, &gus, &i.id).await.state,
        EscalationState::Active
    );
    assert_eq!(
        escalation(&app, &ana, &i.id).await.state,
        EscalationState::Active
    );
}

#[tokio::test]
async fn a_reassigned_escalation_tells_its_new_person_first_and_climbs_on_without_them() {
    let smtp = Smtp::start();
    let app = spawn(&smtp, &[]).await;
    let w = app.world().await;
    let admin = &w.provider;
    let kenji = app.colleague(admin, "kenji", Role::Analyst).await;
    let lee = app.colleague(admin, "lee", Role::Analyst).await;
    let vi = app.colleague(admin, "vi", Role::Viewer).await;
    save_policy(&app, admin, two_levels(&kenji.user_id, &admin.user_id)).await;
    let i = app
        .open(admin, &w.compute_tokyo, "Disk latency", "internal", &[])
        .await;
    exactly(&smtp, 1).await;
    let base = format!("/api/v1/incidents/{}/escalation", i.id);
    let (status, v) = app
        .post(&format!("{base}/acknowledge"), &kenji, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");

    // Kenji hands it to Lee: Lee is told at once and the escalation runs again.
    let (status, v) = app
        .post(
            &format!("{base}/reassign"),
            &kenji,
            json!({"user_id": lee.user_id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let e: Escalation = serde_json::from_value(v).unwrap();
    assert_eq!(
        (e.state, e.assignee_id.as_deref()),
        (EscalationState::Active, Some(lee.user_id.as_str()))
    );
    let msgs = exactly(&smtp, 2).await;
    assert_eq!(
        header(for_recipient(&msgs, &lee.email)[0], "Subject").as_deref(),
        Some("[P2] Escalation, level 1: Disk latency")
    );
    assert!(e
        .plan
        .iter()
        .filter(|s| s.level == 1)
        .all(|s| s.recipients.iter().all(|r| r.user_id == lee.user_id)));
    // Lee does not acknowledge: the second level is told after the first level's wait.
    advance(&app, 10 * 60 + 1).await;
    let msgs = exactly(&smtp, 3).await;
    assert_eq!(for_recipient(&msgs, &admin.email).len(), 1);
    assert_eq!(
        for_recipient(&msgs, &kenji.email).len(),
        1,
        "Kenji is not told again"
    );

    // Refused: a person of another organisation (named as the field), a viewer, and an
    // organisation without an escalation of it.
    let (status, v) = app
        .post(
            &format!("{base}/reassign"),
            admin,
            json!({"user_id": w.acme.user_id}),
        )
        .await;
    assert_eq!(refused_fields(status, &v), ["user_id"], "{v}");
    let (status, _) = app
        .post(
            &format!("{base}/reassign"),
            &vi,
            json!({"user_id": lee.user_id}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .post(
            &format!("{base}/reassign"),
            &w.acme,
            json!({"user_id": w.acme.user_id}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Resolved: every escalation has ended.
    app.update(admin, &i.id, "resolved", "Fixed").await;
    let (status, _) = app
        .post(
            &format!("{base}/reassign"),
            admin,
            json!({"user_id": kenji.user_id}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    exactly(&smtp, 3).await;
}

#[tokio::test]
async fn a_level_can_name_the_incidents_contacts_who_are_told_by_mail_without_an_ack_link() {
    let smtp = Smtp::start();
    let app = spawn(&smtp, &[]).await;
    let admin = app.provider("nimbus", Role::Admin).await;
    let kenji = app.colleague(&admin, "kenji", Role::Analyst).await;
    let cat = app.catalogue(&admin).await;
    let contacts = |id: &str| {
        json!({"time_zone": "UTC", "rules": [{"name": "Urgent", "match": {"priorities": ["P1", "P2"]}, "levels": [
            {"targets": [{"kind": "user", "id": kenji.user_id, "channels": ["email"]}], "wait_minutes": 10},
            {"targets": [{"kind": "contact", "id": id, "channels": ["email", "websocket"]}], "wait_minutes": 20}]}]})
    };
    // Not a contact role: refused, naming the target.
    let (status, v) = app
        .put("/api/v1/escalation-policy", &admin, contacts("boss"))
        .await;
    assert_eq!(
        refused_fields(status, &v),
        ["rules[0].levels[1].targets[0].id"],
        "{v}"
    );
    let (status, v) = app
        .put(
            "/api/v1/escalation-policy",
            &admin,
            contacts("system_owner"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    // Contacts are the incident's: the lint does not call the level empty.
    assert!(!v["lint"].to_string().contains("no_one"), "{v}");

    let i = app.incident(&admin, &cat, "Disk latency", "internal").await;
    exactly(&smtp, 1).await;
    let (status, v) = app
        .put(
            &format!("/api/v1/incidents/{}/record", i.id),
            &admin,
            json!({"contacts": [
            {"role": "system_owner", "name": "Sato", "email": "sato@owner.test"},
            {"role": "system_owner", "name": "By phone", "phone": "+81 3 1234"},
            {"role": "dpo", "name": "Dana", "email": "dpo@owner.test"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    advance(&app, 10 * 60 + 1).await;
    let msgs = exactly(&smtp, 2).await;
    let to_sato = for_recipient(&msgs, "sato@owner.test");
    assert_eq!(to_sato.len(), 1);
    assert_eq!(
        header(to_sato[0], "Subject").as_deref(),
        Some("[P2] Escalation, level 2: Disk latency")
    );
    let body = crate::mail::text_body(to_sato[0]);
    assert!(
        body.contains("system owner") && !body.contains("/ack/"),
        "{body}"
    );
    assert!(
        for_recipient(&msgs, "dpo@owner.test").is_empty(),
        "only the level's role"
    );
    let e = escalation(&app, &admin, &i.id).await;
    let told: Vec<(&str, &str)> = e
        .notices
        .iter()
        .map(|n| (n.user_name.as_str(), n.channel.as_str()))
        .collect();
    assert!(told.contains(&("sato@owner.test", "email")), "{told:?}");
    // No account to stream to: e-mail only.
    assert!(
        !told.contains(&("sato@owner.test", "websocket")),
        "{told:?}"
    );
}
