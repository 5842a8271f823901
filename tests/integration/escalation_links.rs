//! The escalation mail's acknowledge link and each notice's delivery state, with a real SMTP
//! server: GET shows what the link would do and changes nothing; the first POST
//! acknowledges as the person the mail was for; a second use is 410 and a tampered token
//! 404. A notice is queued, handed off once the SMTP server took the mail, seen once its
//! person opened the escalation, acknowledged once the party did.

use crate::escalation_run::{escalation, save_policy};
use crate::harness::*;
use crate::jobs::spawn;
use crate::mail::{for_recipient, text_body, Smtp};
use cirhub_shared::escalation::{DeliveryState, Escalation, EscalationState};
use cirhub_shared::Role;
use reqwest::StatusCode;
use serde_json::json;

/// The acknowledge link's path (`/ack/<token>`) in a mail.
fn ack_path(msg: &str) -> String {
    let body = text_body(msg);
    let start = body.find("/ack/").expect("an acknowledge link");
    body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '-' | '_'))
        .collect::<String>()
        .trim_end_matches('.')
        .to_owned()
}

async fn page(app: &TestApp, post: bool, path: &str) -> (StatusCode, String) {
    let req = if post {
        app.client.post(app.url(path))
    } else {
        app.client.get(app.url(path))
    };
    let res = req.send().await.expect("link request");
    (res.status(), res.text().await.unwrap_or_default())
}

/// Polls until the notice to `user` is past `queued` (the mail job runs after commit).
async fn handed_off(app: &TestApp, s: &Session, incident: &str, user: &str) -> Escalation {
    for _ in 0..100 {
        let e = escalation(app, s, incident).await;
        if e.notices
            .iter()
            .any(|n| n.user_id == user && n.state != DeliveryState::Queued)
        {
            return e;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the mail to {user} was never handed off");
}

#[tokio::test]
async fn the_mail_link_acknowledges_once_and_each_notice_shows_how_far_it_got() {
    let smtp = Smtp::start();
    let app = spawn(&smtp, &[]).await;
    let w = app.world().await;
    let kenji = app.colleague(&w.provider, "kenji", Role::Analyst).await;
    let ana = app.colleague(&w.acme, "ana", Role::Analyst).await;
    for (s, first) in [(&w.provider, &kenji), (&w.acme, &ana)] {
        let policy = json!({"time_zone": "UTC", "rules": [{"name": "All", "match": {}, "levels": [
            {"targets": [{"kind": "user", "id": first.user_id, "channels": ["email"]}], "wait_minutes": 10},
            {"targets": [{"kind": "user", "id": s.user_id, "channels": ["email"]}], "wait_minutes": 20}]}]});
        save_policy(&app, s, policy).await;
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
    let msgs = smtp.wait_for(2).await;
    let to_kenji = ack_path(for_recipient(&msgs, &kenji.email)[0]);
    let to_ana = ack_path(for_recipient(&msgs, &ana.email)[0]);

    // Handed off once the SMTP server took it; nobody has seen it yet.
    let e = handed_off(&app, &w.provider, &i.id, &kenji.user_id).await;
    let n = &e.notices[0];
    assert_eq!(
        (n.user_name.as_str(), n.state, n.handed_off_at.is_some()),
        ("User kenji@nimbus.test", DeliveryState::HandedOff, true)
    );

    // A tampered token, or one of another purpose, is 404 and acknowledges nothing.
    let mut forged = to_kenji.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == '0' { '1' } else { '0' });
    for path in [forged.as_str(), "/ack/x.0.y.00", "/ack/nothing"] {
        assert_eq!(
            page(&app, true, path).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
        assert_eq!(
            page(&app, false, path).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    // GET shows the incident and a button; it changes nothing (mail scanners follow links).
    let (status, html) = page(&app, false, &to_kenji).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Compute degraded") && html.contains("<form method=\"post\""),
        "{html}"
    );
    assert_eq!(
        escalation(&app, &w.provider, &i.id).await.state,
        EscalationState::Active
    );

    // The first POST acknowledges for the provider, as Kenji; acme's escalation climbs on.
    let (status, html) = page(&app, true, &to_kenji).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Acknowledged: your organisation"), "{html}");
    let e = escalation(&app, &w.provider, &i.id).await;
    assert_eq!(
        (e.state, e.ended_by.as_deref()),
        (EscalationState::Acknowledged, Some(kenji.user_id.as_str()))
    );
    assert_eq!(e.notices[0].state, DeliveryState::Acknowledged);
    assert_eq!(
        escalation(&app, &ana, &i.id).await.state,
        EscalationState::Active
    );
    // The acknowledgement is an audit entry by Kenji.
    let (_, audit) = app
        .get("/api/v1/audit?action=escalation.acknowledge", &w.provider)
        .await;
    assert_eq!(
        audit["items"][0]["actor_id"],
        kenji.user_id.as_str(),
        "{audit}"
    );

    // A second use, by GET or POST, is refused as gone.
    assert_eq!(page(&app, true, &to_kenji).await.0, StatusCode::GONE);
    assert_eq!(page(&app, false, &to_kenji).await.0, StatusCode::GONE);

    // Ana opens acme's escalation in the console: her notice is seen, not yet acknowledged.
    let (status, v) = app
        .post(
            &format!("/api/v1/incidents/{}/escalation/seen", i.id),
            &ana,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let seen: Escalation = serde_json::from_value(v).unwrap();
    assert_eq!(seen.notices[0].state, DeliveryState::Seen);
    assert!(seen.notices[0].seen_at.is_some());
    // Her link acknowledges for acme: the provider sees acme's acknowledgement.
    let (status, html) = page(&app, true, &to_ana).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(
        escalation(&app, &ana, &i.id).await.state,
        EscalationState::Acknowledged
    );
    let (_, receipts) = app
        .get(&format!("/api/v1/incidents/{}/receipts", i.id), &w.provider)
        .await;
    assert!(receipts.to_string().contains("ana@acme.test"), "{receipts}");

    // Another organisation cannot mark an escalation it does not have as seen.
    for s in [&w.globex, &app.provider("stratus", Role::Admin).await] {
        let (status, _) = app
            .post(
                &format!("/api/v1/incidents/{}/escalation/seen", i.id),
                s,
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn a_link_acts_only_for_someone_still_allowed_to_acknowledge() {
    let smtp = Smtp::start();
    let app = spawn(&smtp, &[]).await;
    let admin = app.provider("nimbus", Role::Admin).await;
    let vi = app.colleague(&admin, "vi", Role::Viewer).await;
    let kenji = app.colleague(&admin, "kenji", Role::Analyst).await;
    let cat = app.catalogue(&admin).await;
    let policy = json!({"time_zone": "UTC", "rules": [{"name": "All", "match": {}, "levels": [
        {"targets": [{"kind": "user", "id": vi.user_id, "channels": ["email"]},
                     {"kind": "user", "id": kenji.user_id, "channels": ["email"]}], "wait_minutes": 10}]}]});
    save_policy(&app, &admin, policy).await;
    let i = app.incident(&admin, &cat, "Disk latency", "internal").await;
    let msgs = smtp.wait_for(2).await;
    let to_vi = ack_path(for_recipient(&msgs, &vi.email)[0]);
    let to_kenji = ack_path(for_recipient(&msgs, &kenji.email)[0]);
    // A viewer is told, but cannot acknowledge for the organisation.
    assert_eq!(page(&app, true, &to_vi).await.0, StatusCode::FORBIDDEN);
    // A person removed from the organisation: their link no longer exists.
    let (status, v) = app
        .delete(&format!("/api/v1/users/{}", kenji.user_id), &admin)
        .await;
    assert!(status.is_success(), "{status} {v}");
    assert_eq!(page(&app, true, &to_kenji).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        escalation(&app, &admin, &i.id).await.state,
        EscalationState::Active
    );
}
