//! Deadline alerts through the escalation matrix, driven by the test clock, a real SMTP
//! server and real WebSocket clients: at half of a deadline's time its party's first level
//! is told, at 80 % the first two, when missed every level; each alert once, whatever
//! re-schedules it; a filed deadline tells nobody; a party without a ladder tells its admins;
//! another party's people hear nothing of it.

use crate::escalation_run::save_policy;
use crate::harness::*;
use crate::jobs::{advance, spawn};
use crate::mail::{for_recipient, header, Smtp};
use chrono::{Duration, Utc};
use cirhub_shared::clocks::{AlertKind, Clocks};
use cirhub_shared::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Level 1: `first` by e-mail and WebSocket; level 2, ten minutes later: `second` by e-mail.
fn ladder(first: &str, second: &str) -> Value {
    json!({"time_zone": "UTC", "rules": [{"name": "All", "match": {}, "levels": [
        {"targets": [{"kind": "user", "id": first, "channels": ["email", "websocket"]}], "wait_minutes": 10},
        {"targets": [{"kind": "user", "id": second, "channels": ["email"]}], "wait_minutes": 20}]}]})
}

fn ago(hours: i64) -> String {
    (Utc::now() - Duration::hours(hours)).to_rfc3339()
}

async fn ok(app: &TestApp, s: &Session, path: &str, body: Value) -> Clocks {
    let (status, v) = app.post(path, s, body).await;
    assert_eq!(status, StatusCode::OK, "{path}: {v}");
    serde_json::from_value(v).unwrap()
}

/// Subjects of the clock alerts among `msgs` sent to `to`.
fn alerts_to(msgs: &[String], to: &str) -> Vec<String> {
    let mut out: Vec<String> = for_recipient(msgs, to)
        .into_iter()
        .filter_map(|m| header(m, "Subject"))
        .filter(|s| s.contains("Deadline"))
        .collect();
    out.sort();
    out
}

/// Mails once `n` arrived and a second more brought none.
async fn settle(smtp: &Smtp, n: usize) -> Vec<String> {
    smtp.wait_for(n).await;
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    let msgs = smtp.messages();
    assert_eq!(
        msgs.len(),
        n,
        "{:#?}",
        msgs.iter()
            .map(|m| header(m, "Subject"))
            .collect::<Vec<_>>()
    );
    msgs
}

fn clock_alerts(events: &[Value]) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| e["kind"] == "clock.alert")
        .collect()
}

#[tokio::test]
async fn deadline_alerts_climb_the_ladder_once_each_and_a_filing_silences_them() {
    let smtp = Smtp::start();
    let app = spawn(&smtp, &[]).await;
    let w = app.world().await;
    let admin = &w.provider;
    let kenji = app.colleague(admin, "kenji", Role::Analyst).await;
    save_policy(&app, admin, ladder(&kenji.user_id, &admin.user_id)).await;
    let ana = app.colleague(&w.acme, "ana", Role::Analyst).await;
    save_policy(&app, &w.acme, ladder(&ana.user_id, &w.acme.user_id)).await;
    let mut to_kenji = app.stream(&kenji.token, None).await;
    let mut to_ana = app.stream(&ana.token, None).await;
    to_kenji.next_of("live").await;
    to_ana.next_of("live").await;

    // Kenji reads times in Tokyo; the admin keeps the clock's zone (UTC).
    let (status, v) = app
        .call(
            reqwest::Method::PATCH,
            "/api/v1/me",
            Some(&kenji.token),
            Some(json!({"time_zone": "Asia/Tokyo"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let i = app
        .open(admin, &w.compute_tokyo, "Data exposure", "public", &[])
        .await;
    let base = format!("/api/v1/incidents/{}", i.id);
    // Both parties' escalations tell their first level; each acknowledges, so only clock
    // alerts come from here on.
    let mut seen = settle(&smtp, 2).await.len();
    for s in [&kenji, &ana] {
        let (status, v) = app
            .post(&format!("{base}/escalation/acknowledge"), s, json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    to_kenji
        .events_until_quiet(std::time::Duration::from_millis(500))
        .await;

    // The provider became aware 30 hours ago and runs GDPR Art. 33 (72 h): half is in 6 h,
    // 80 % in 27.6 h, the deadline in 42 h. NIS2's early warning (24 h from the
    // classification an hour ago) is filed at once: it must never alert.
    ok(
        &app,
        admin,
        &format!("{base}/decisions"),
        json!({"kind": "aware", "at": ago(30), "reason": "SOC ticket 4711"}),
    )
    .await;
    ok(
        &app,
        admin,
        &format!("{base}/clocks"),
        json!({"regime": "gdpr_art33"}),
    )
    .await;
    ok(
        &app,
        admin,
        &format!("{base}/decisions"),
        json!({"kind": "classified_significant", "at": ago(1), "reason": "Thresholds met"}),
    )
    .await;
    let c = ok(
        &app,
        admin,
        &format!("{base}/clocks"),
        json!({"regime": "nis2_art23"}),
    )
    .await;
    let nis2 = c
        .clocks
        .iter()
        .find(|c| c.regime.as_str() == "nis2_art23")
        .unwrap()
        .id
        .clone();
    ok(
        &app,
        admin,
        &format!("{base}/clocks/{nis2}/deadlines/early_warning/filing"),
        json!({"reference": "CSIRT-1"}),
    )
    .await;
    settle(&smtp, seen).await;

    // Half: level 1 only, by mail and on Kenji's connection (not on Ana's: not her party).
    advance(&app, 6 * 3600 + 60).await;
    let msgs = settle(&smtp, seen + 1).await;
    seen += 1;
    assert_eq!(
        alerts_to(&msgs, &kenji.email),
        ["[GDPR Art. 33 authority] Deadline at half time: Data exposure"]
    );
    let got = to_kenji
        .events_until_quiet(std::time::Duration::from_millis(1500))
        .await;
    let a = clock_alerts(&got);
    assert_eq!(a.len(), 1, "{got:#?}");
    assert_eq!(
        (
            a[0]["clock_alert"]["kind"].as_str(),
            a[0]["clock_alert"]["deadline_key"].as_str()
        ),
        (Some("half"), Some("authority"))
    );
    assert!(clock_alerts(
        &to_ana
            .events_until_quiet(std::time::Duration::from_millis(500))
            .await
    )
    .is_empty());
    // Both of Kenji's half alerts reach handed off: the SMTP server took the mail, the frame
    // was written to his connection.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, v) = app.get(&format!("{base}/clocks"), admin).await;
        let c: Clocks = serde_json::from_value(v).unwrap();
        let gdpr = c
            .clocks
            .iter()
            .find(|c| c.regime.as_str() == "gdpr_art33")
            .unwrap();
        let states: Vec<(&str, &str)> = gdpr.deadlines[0]
            .alerts
            .iter()
            .map(|a| (a.channel.as_str(), a.state.as_str()))
            .collect();
        if states == [("email", "handed_off"), ("websocket", "handed_off")] {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{states:?}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    // 80 %: levels 1 and 2.
    advance(&app, 22 * 3600).await;
    let msgs = settle(&smtp, seen + 2).await;
    seen += 2;
    for to in [&kenji.email, &admin.email] {
        assert!(
            alerts_to(&msgs, to)
                .contains(&"[GDPR Art. 33 authority] Deadline at 80 %: Data exposure".to_string()),
            "{to}"
        );
    }
    // Each reads the due time in their own zone.
    let body = |to: &str| {
        for_recipient(&msgs, to)
            .into_iter()
            .map(|m| crate::mail::text_body(m))
            .find(|b| b.contains("Notification to the supervisory authority is due"))
            .unwrap_or_default()
    };
    assert!(
        body(&kenji.email).contains(" JST"),
        "{}",
        body(&kenji.email)
    );
    assert!(
        body(&admin.email).contains(" UTC"),
        "{}",
        body(&admin.email)
    );

    // Re-scheduling (another decision) queues nothing twice.
    ok(
        &app,
        admin,
        &format!("{base}/decisions"),
        json!({"kind": "classified_major", "at": ago(0), "reason": "DORA criteria"}),
    )
    .await;
    advance(&app, 60).await;
    settle(&smtp, seen).await;

    // Missed: every level. NIS2's notification (72 h from an hour before the start) is at
    // half by now: its level 1 is told.
    advance(&app, 15 * 3600).await;
    let msgs = settle(&smtp, seen + 3).await;
    for to in [&kenji.email, &admin.email] {
        assert!(
            alerts_to(&msgs, to)
                .contains(&"[GDPR Art. 33 authority] Deadline missed: Data exposure".to_string()),
            "{to}"
        );
    }
    assert!(alerts_to(&msgs, &kenji.email)
        .contains(&"[NIS2 Art. 23 notification] Deadline at half time: Data exposure".to_string()));
    let (_, v) = app.get(&format!("{base}/clocks"), admin).await;
    let clocks: Clocks = serde_json::from_value(v).unwrap();
    let gdpr = clocks
        .clocks
        .iter()
        .find(|c| c.regime.as_str() == "gdpr_art33")
        .unwrap();
    let kinds: Vec<(AlertKind, &str, &str)> = gdpr.deadlines[0]
        .alerts
        .iter()
        .map(|a| (a.kind, a.user_name.as_str(), a.channel.as_str()))
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| k.0 == AlertKind::Half).count(),
        2,
        "{kinds:#?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| k.0 == AlertKind::Eighty).count(),
        3,
        "{kinds:#?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| k.0 == AlertKind::Missed).count(),
        3,
        "{kinds:#?}"
    );
    let nis2 = clocks
        .clocks
        .iter()
        .find(|c| c.regime.as_str() == "nis2_art23")
        .unwrap();
    assert!(
        nis2.deadlines[0].alerts.is_empty(),
        "the filed early warning: {:#?}",
        nis2.deadlines[0]
    );
    // Acme's people heard none of it, and Acme does not see the provider's clocks.
    assert!(alerts_to(&smtp.messages(), &ana.email).is_empty());
    assert!(alerts_to(&smtp.messages(), &w.acme.email).is_empty());
    let (_, theirs) = app.get(&format!("{base}/clocks"), &w.acme).await;
    assert_eq!(theirs["clocks"], json!([]), "{theirs}");
}

#[tokio::test]
async fn a_party_without_a_ladder_has_its_admins_told() {
    let smtp = Smtp::start();
    let app = spawn(&smtp, &[]).await;
    let w = app.world().await;
    let i = app
        .open(&w.provider, &w.compute_tokyo, "Leak", "public", &[])
        .await;
    let base = format!("/api/v1/incidents/{}", i.id);
    // Acme has no policy; it became aware 80 hours ago: its GDPR deadline is already missed.
    ok(
        &app,
        &w.acme,
        &format!("{base}/decisions"),
        json!({"kind": "aware", "at": ago(80), "reason": "Provider notice"}),
    )
    .await;
    ok(
        &app,
        &w.acme,
        &format!("{base}/clocks"),
        json!({"regime": "gdpr_art33"}),
    )
    .await;
    let msgs = settle(&smtp, 1).await;
    assert_eq!(
        alerts_to(&msgs, &w.acme.email),
        ["[GDPR Art. 33 authority] Deadline missed: Leak"]
    );
    // APPI (5 days from the same awareness): half is past, 80 % in 16 h — only the half
    // alert goes out now; filed before 80 %, nothing more comes.
    let c = ok(
        &app,
        &w.acme,
        &format!("{base}/clocks"),
        json!({"regime": "appi"}),
    )
    .await;
    let msgs = settle(&smtp, 2).await;
    assert!(alerts_to(&msgs, &w.acme.email)
        .contains(&"[APPI preliminary] Deadline at half time: Leak".to_string()));
    let appi = c
        .clocks
        .iter()
        .find(|c| c.regime.as_str() == "appi")
        .unwrap()
        .id
        .clone();
    ok(
        &app,
        &w.acme,
        &format!("{base}/clocks/{appi}/deadlines/preliminary/filing"),
        json!({"reference": "PPC-7"}),
    )
    .await;
    advance(&app, 17 * 3600).await;
    settle(&smtp, 2).await;
}
