//! The escalation page (/console/escalation): the policy in force with its lint, the
//! simulator's timeline for a chosen case, and an edit checked (its lint replacing the saved
//! version's) and saved as a new version.
//!
//! Needs `frontend/dist` (scripts/build-frontend.sh), Chromium and chromedriver.

use crate::browser::Browser;
use crate::escalation::provider_policy;
use crate::escalation_run::save_policy;
use crate::harness::*;
use cirhub_shared::Role;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn the_escalation_page_lints_simulates_and_saves_a_policy() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let admin = &w.provider;
    let kenji = app.colleague(admin, "kenji", Role::Analyst).await;
    let v1 = provider_policy(None, &kenji.user_id, &admin.user_id, &w.compute.id);
    let (status, v) = app.put("/api/v1/escalation-policy", admin, v1).await;
    assert_eq!(status, StatusCode::OK, "{v}");

    let browser = Browser::start().await;
    let b = &browser;
    b.open_as(&app, "/console/escalation", &admin.email).await;
    b.wait_for_text("#policy-version", "Version 1 · time zone Asia/Tokyo")
        .await;
    b.wait_for_text("#policy-rules", "Urgent on Compute").await;
    // User targets by name, not by id.
    b.wait_for_text("#policy-rules", &format!("User {}", kenji.email))
        .await;
    let rules = b.element("#policy-rules").await.text().await.unwrap();
    assert!(!rules.contains(&kenji.user_id), "{rules}");
    // The operators' rule names a role nobody holds.
    b.wait_for_text(
        ".lint-finding[data-code='no_one']",
        "/rules/3/levels/0/targets/0",
    )
    .await;

    // A P2 denial of service on Compute: the analyst at once, the admin after 15 minutes,
    // and the ladder once more.
    b.element("#sim-category")
        .await
        .select_by_value("hacking_dos")
        .await
        .unwrap();
    b.element(&format!("#sim-service option[value='{}']", w.compute.id))
        .await;
    b.element("#sim-service")
        .await
        .select_by_value(&w.compute.id)
        .await
        .unwrap();
    b.click("#sim-submit").await;
    b.wait_for_text(
        "#sim-rule",
        "Routed by rule 1 \"Urgent on Compute\" of version 1",
    )
    .await;
    let steps = b.elements(".sim-step").await;
    let mut rows = Vec::new();
    for s in steps {
        rows.push(s.text().await.unwrap());
    }
    assert_eq!(rows.len(), 4, "{rows:#?}");
    assert!(
        rows[0].starts_with("+0 min") && rows[0].contains(&kenji.email),
        "{rows:#?}"
    );
    assert!(
        rows[1].starts_with("+15 min") && rows[1].contains(&admin.email),
        "{rows:#?}"
    );
    assert!(
        rows[2].contains("pass 2") && rows[2].contains(&kenji.email),
        "{rows:#?}"
    );
    b.wait_for_text("#sim-end", "the escalation ends at").await;
    b.snapshot("escalation-simulated").await;

    // The edit: the night rule goes to the admins. Checked first (no finding left), then
    // simulated as a draft, then saved as version 2.
    let mut v2 = provider_policy(Some(1), &kenji.user_id, &admin.user_id, &w.compute.id);
    v2["rules"][3]["levels"][0]["targets"][0]["id"] = json!("admin");
    b.type_into("#policy-json", &v2.to_string()).await;
    b.click("#policy-check").await;
    // Left: the analyst's webhook channel, which escalations do not deliver yet.
    b.wait_for_text(
        ".lint-finding[data-code='undelivered']",
        "/rules/0/levels/0/targets/0",
    )
    .await;
    let mut left = Vec::new();
    for f in b.elements(".lint-finding").await {
        left.push(f.text().await.unwrap());
    }
    assert_eq!(left.len(), 1, "{left:#?}");
    b.click("#sim-submit").await;
    b.wait_for_text("#sim-rule", "of the draft in the editor")
        .await;
    b.click("#policy-save").await;
    b.wait_for_text("#policy-saved", "Saved as version 2").await;
    b.wait_for_text("#policy-version", "Version 2").await;
    let (_, now) = app.get("/api/v1/escalation-policy", admin).await;
    assert_eq!(now["version"], 2, "{now}");
    assert_eq!(now["rules"][3]["levels"][0]["targets"][0]["id"], "admin");

    // A broken edit is refused where it is typed, and nothing is saved.
    b.type_into("#policy-json", "{\"time_zone\": \"Mars\", \"rules\": []")
        .await;
    b.click("#policy-save").await;
    b.wait_for_text("#policy-error", "not valid").await;
    b.type_into(
        "#policy-json",
        &json!({"version": 2, "time_zone": "Mars/Olympus", "rules": []}).to_string(),
    )
    .await;
    b.click("#policy-save").await;
    b.wait_for_text("#policy-error", "time_zone").await;
    assert_eq!(
        app.get("/api/v1/escalation-policy", admin).await.1["version"],
        2
    );
    browser.stop().await;
}

/// Level 1 tells `first` by e-mail and WebSocket; level 2, ten minutes later, the admin.
fn ladder(first: &str, admin: &str) -> serde_json::Value {
    json!({"time_zone": "UTC", "rules": [{"name": "All", "match": {}, "levels": [
        {"targets": [{"kind": "user", "id": first, "channels": ["email", "websocket"]}], "wait_minutes": 10},
        {"targets": [{"kind": "user", "id": admin, "channels": ["email"]}], "wait_minutes": 20}]}]})
}

#[tokio::test]
async fn a_customer_acknowledges_in_its_dashboard_and_the_providers_incident_page_shows_it() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let kenji = app.colleague(&w.provider, "kenji", Role::Analyst).await;
    let ana = app.colleague(&w.acme, "ana", Role::Analyst).await;
    for (s, first) in [(&w.provider, &kenji), (&w.acme, &ana)] {
        save_policy(&app, s, ladder(&first.user_id, &s.user_id)).await;
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
    // Acme became aware an hour ago and runs the GDPR clock.
    let aware = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let base = format!("/api/v1/incidents/{}", i.id);
    let (status, v) = app
        .post(
            &format!("{base}/decisions"),
            &ana,
            json!({"kind": "aware", "at": aware, "reason": "Provider notice"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, v) = app
        .post(
            &format!("{base}/clocks"),
            &ana,
            json!({"regime": "gdpr_art33"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");

    let browser = Browser::start().await;
    let b = &browser;
    b.open_as(&app, &format!("/console/dashboard/{}", i.id), &ana.email)
        .await;
    b.wait_for_text("#escalation-state", "Climbing: level 1 of rule \"All\"")
        .await;
    b.wait_for_text("#escalation-next", "Next: level 2").await;
    // Opening it made Ana's notices seen.
    b.wait_for_text(".escalation-notice[data-state='seen']", "ana")
        .await;
    b.wait_for_text(
        ".clock[data-regime='gdpr_art33'] .deadline[data-state='open']",
        "Notification to the supervisory authority",
    )
    .await;
    b.wait_for_text(".deadline-left", "in 2 d 22 h").await;
    b.snapshot("customer-escalation").await;

    // Acme acknowledges the incident in its dashboard: its escalation stops, the provider's not.
    b.click("#ack-button").await;
    b.wait_for_text("#escalation-state", "Acknowledged at")
        .await;
    let (_, theirs) = app.get(&format!("{base}/escalation"), &ana).await;
    assert_eq!(theirs["state"], "acknowledged", "{theirs}");
    let (_, ours) = app.get(&format!("{base}/escalation"), &w.provider).await;
    assert_eq!(ours["state"], "active", "{ours}");

    // The provider's incident page shows acme's acknowledgement and its own escalation, which
    // its admin acknowledges there.
    b.log_out().await;
    b.open_as(
        &app,
        &format!("/console/incidents/{}", i.id),
        &w.provider.email,
    )
    .await;
    b.wait_for_text(
        &format!(".receipt[data-customer='{}'] .receipt-ack", w.acme.org_id),
        "ana",
    )
    .await;
    b.wait_for_text("#escalation-state", "Climbing: level 1")
        .await;
    // Handed to the admin (on the ladder's second level): the first level is theirs now.
    b.element("#escalation-reassign-to")
        .await
        .select_by_value(&w.provider.user_id)
        .await
        .unwrap();
    b.click("#escalation-reassign").await;
    b.wait_for_text("#escalation-assignee", "Reassigned to")
        .await;
    let (_, ours) = app.get(&format!("{base}/escalation"), &w.provider).await;
    assert_eq!(ours["assignee_id"], w.provider.user_id.as_str(), "{ours}");
    b.click("#escalation-ack").await;
    b.wait_for_text("#escalation-state", "Acknowledged at")
        .await;
    let (_, ours) = app.get(&format!("{base}/escalation"), &w.provider).await;
    assert_eq!(
        (ours["state"].as_str(), ours["ended_by"].as_str()),
        (Some("acknowledged"), Some(w.provider.user_id.as_str()))
    );
    browser.stop().await;
}

#[tokio::test]
async fn a_chosen_time_zone_shows_every_time_in_it_with_its_name() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let i = app
        .open(
            &w.provider,
            &w.compute_tokyo,
            "Data exposure",
            "public",
            &[],
        )
        .await;
    let base = format!("/api/v1/incidents/{}", i.id);
    let aware = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let (status, v) = app
        .post(
            &format!("{base}/decisions"),
            &w.provider,
            json!({"kind": "aware", "at": aware, "reason": "SOC"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, v) = app
        .post(
            &format!("{base}/clocks"),
            &w.provider,
            json!({"regime": "gdpr_art33"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");

    let browser = Browser::start().await;
    let b = &browser;
    b.open_as(&app, "/console/me", &w.provider.email).await;
    b.element("#time-zone option[value='Asia/Tokyo']").await;
    b.element("#time-zone")
        .await
        .select_by_value("Asia/Tokyo")
        .await
        .unwrap();
    b.click("#time-zone-save").await;
    b.wait_for_text("#time-zone-saved", "Saved").await;
    b.wait_for_text("#time-zone-now", "(Asia/Tokyo)").await;
    b.wait_for_text("#time-zone-now", "GMT+9").await;
    // The clock's due time on the incident page is in Tokyo time, named.
    b.goto(&app, &format!("/console/incidents/{}", i.id)).await;
    b.wait_for_text(".deadline", "GMT+9").await;
    assert_eq!(
        app.get("/api/v1/me", &w.provider).await.1["user"]["time_zone"],
        "Asia/Tokyo"
    );
    browser.stop().await;
}

#[tokio::test]
async fn the_incident_page_keeps_the_providers_record_comments_and_milestone_corrections() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let p = &w.provider;
    let i: serde_json::Value = app
        .create(
            "/api/v1/incidents",
            p,
            json!({"title": "Data exposure", "body": "Investigating",
            "impact": "major", "urgency": "high",
            "intake": {"what": "Bucket listing public", "who": "A researcher"}}),
        )
        .await;
    let id = i["id"].as_str().unwrap().to_string();
    let browser = Browser::start().await;
    let b = &browser;
    b.open_as(&app, &format!("/console/incidents/{id}"), &p.email)
        .await;
    b.wait_for_text("#record-version", "Version 1").await;
    assert_eq!(
        b.element("#intake-what")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("Bucket listing public")
    );
    // A contact, then a comment.
    b.type_into("#contact-name", "Sato").await;
    b.type_into("#contact-email", "sato@nimbus.test").await;
    b.click("#contact-add").await;
    b.wait_for_text(".record-contact", "Sato — System owner · sato@nimbus.test")
        .await;
    b.wait_for_text("#record-version", "Version 2").await;
    b.type_into("#comment-body", "Keys rotated").await;
    b.click("#comment-add").await;
    b.wait_for_text(".comment", "Keys rotated").await;
    // A milestone corrected after the fact needs its reason.
    b.click(".milestone-edit summary").await;
    b.set_value("#milestone-at", "2026-11-30T08:15").await;
    b.click("#milestone-save").await;
    b.wait_for_text("p.error", "reason").await;
    b.type_into("#milestone-reason", "From the storage logs")
        .await;
    b.click("#milestone-save").await;
    let edits = loop {
        let (_, v) = app
            .get(&format!("/api/v1/incidents/{id}/milestones"), p)
            .await;
        if v.as_array().is_some_and(|a| !a.is_empty()) {
            break v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(
        (edits[0]["milestone"].as_str(), edits[0]["reason"].as_str()),
        (Some("occurred_at"), Some("From the storage logs"))
    );
    let (_, record) = app.get(&format!("/api/v1/incidents/{id}/record"), p).await;
    assert_eq!(record["contacts"][0]["email"], "sato@nimbus.test");
    browser.stop().await;
}
