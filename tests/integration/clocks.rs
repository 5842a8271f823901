//! Regulatory clocks over HTTP: each party records its own decisions and runs its own
//! clocks on a shared incident; deadlines are due at the template's offsets (business days
//! over a weekend and a federal holiday, hours across parties); a report filed late needs a
//! reason and shows as late; bad input names its field; another organisation's decisions
//! and clocks do not exist for you.

use crate::harness::*;
use chrono::{Duration, Utc};
use cirhub_shared::clocks::{Clocks, DeadlineState};
use cirhub_shared::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn clocks(app: &TestApp, s: &Session, incident: &str) -> Clocks {
    let (status, v) = app
        .get(&format!("/api/v1/incidents/{incident}/clocks"), s)
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    serde_json::from_value(v).unwrap()
}

async fn ok(app: &TestApp, s: &Session, path: &str, body: Value) -> Clocks {
    let (status, v) = app.post(path, s, body).await;
    assert_eq!(status, StatusCode::OK, "{path}: {v}");
    serde_json::from_value(v).unwrap()
}

fn ago(hours: i64) -> String {
    (Utc::now() - Duration::hours(hours)).to_rfc3339()
}

#[tokio::test]
async fn each_party_runs_its_own_clocks_and_late_reports_carry_their_reason() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let (status, templates) = app.get("/api/v1/clock-templates", &w.acme).await;
    assert_eq!(status, StatusCode::OK);
    let regimes: Vec<&str> = templates
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["regime"].as_str().unwrap())
        .collect();
    assert_eq!(
        regimes,
        [
            "gdpr_art33",
            "gdpr_processor",
            "nis2_art23",
            "dora",
            "sec_8k_1_05",
            "appi",
            "provider_targets"
        ]
    );
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

    // The provider became aware 80 hours ago: its GDPR deadline (72 h) is missed.
    ok(
        &app,
        &w.provider,
        &format!("{base}/decisions"),
        json!({"kind": "aware", "at": ago(80), "reason": "SOC alert 4711 confirmed exfiltration"}),
    )
    .await;
    let c = ok(
        &app,
        &w.provider,
        &format!("{base}/clocks"),
        json!({"regime": "gdpr_art33"}),
    )
    .await;
    let gdpr = &c.clocks[0];
    let authority = &gdpr.deadlines[0];
    assert_eq!(
        (authority.key.as_str(), authority.state),
        ("authority", DeadlineState::Missed)
    );
    let due = authority.due_at.unwrap();
    assert_eq!(due, c.decisions[0].at + Duration::hours(72));
    assert_eq!(
        authority.warn_at,
        vec![
            c.decisions[0].at + Duration::hours(36),
            c.decisions[0].at + Duration::minutes(72 * 48)
        ]
    );
    // Filing it now is late: without a reason it is refused, and nothing is recorded.
    let filing = format!("{base}/clocks/{}/deadlines/authority/filing", gdpr.id);
    let (status, v) = app
        .post(&filing, &w.provider, json!({"reference": "DPA-2026-17"}))
        .await;
    assert_eq!(refused_fields(status, &v), ["late_reason"], "{v}");
    assert_eq!(
        clocks(&app, &w.provider, &i.id).await.clocks[0].deadlines[0].state,
        DeadlineState::Missed
    );
    let c = ok(&app, &w.provider, &filing,
        json!({"reference": "DPA-2026-17", "late_reason": "The scope was only known after forensics"})).await;
    let authority = &c.clocks[0].deadlines[0];
    assert_eq!(
        (
            authority.state,
            authority.reference.as_deref(),
            authority.late_reason.as_deref()
        ),
        (
            DeadlineState::Late,
            Some("DPA-2026-17"),
            Some("The scope was only known after forensics")
        )
    );
    let (status, _) = app
        .post(&filing, &w.provider, json!({"late_reason": "again"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "filed once");

    // NIS2 from the classification 30 hours ago: early warning missed, notification open,
    // final report waiting for the notification; filing the notification starts it.
    ok(&app, &w.provider, &format!("{base}/decisions"),
        json!({"kind": "classified_significant", "at": ago(30), "reason": "Full outage over 30 minutes"})).await;
    let c = ok(
        &app,
        &w.provider,
        &format!("{base}/clocks"),
        json!({"regime": "nis2_art23"}),
    )
    .await;
    let nis2 = c
        .clocks
        .iter()
        .find(|c| c.regime.as_str() == "nis2_art23")
        .unwrap();
    let states: Vec<DeadlineState> = nis2.deadlines.iter().map(|d| d.state).collect();
    assert_eq!(
        states,
        [
            DeadlineState::Missed,
            DeadlineState::Open,
            DeadlineState::Waiting
        ]
    );
    let (status, v) = app
        .post(
            &format!("{base}/clocks/{}/deadlines/final_report/filing", nis2.id),
            &w.provider,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "not started: {v}");
    let c = ok(
        &app,
        &w.provider,
        &format!("{base}/clocks/{}/deadlines/notification/filing", nis2.id),
        json!({}),
    )
    .await;
    let nis2 = c
        .clocks
        .iter()
        .find(|c| c.regime.as_str() == "nis2_art23")
        .unwrap();
    let notified = nis2.deadlines[1].filed_at.unwrap();
    assert_eq!(nis2.deadlines[1].state, DeadlineState::Met);
    assert_eq!(nis2.deadlines[2].state, DeadlineState::Open);
    let final_due = nis2.deadlines[2].due_at.unwrap();
    assert!(
        final_due > notified + Duration::days(27) && final_due <= notified + Duration::days(31),
        "{final_due}"
    );

    // SEC: determined material on Thursday 19 November 2026 at 15:00 New York; four business
    // days on the federal calendar and the company's own holidays.
    ok(&app, &w.provider, &format!("{base}/decisions"),
        json!({"kind": "determined_material", "at": "2026-11-19T20:00:00Z", "reason": "Board resolution"})).await;
    let c = ok(
        &app,
        &w.provider,
        &format!("{base}/clocks"),
        json!({"regime": "sec_8k_1_05", "holidays": ["2026-11-20"]}),
    )
    .await;
    let sec = c
        .clocks
        .iter()
        .find(|c| c.regime.as_str() == "sec_8k_1_05")
        .unwrap();
    assert_eq!(sec.time_zone, "America/New_York");
    // With the company's own holiday on Friday 20th and Thanksgiving on the 26th: Mon, Tue,
    // Wed, Fri -> the end of Friday 27th, New York time.
    assert_eq!(
        sec.deadlines[0].due_at.unwrap().to_rfc3339(),
        "2026-11-28T05:00:00+00:00"
    );
    let c = ok(
        &app,
        &w.provider,
        &format!("{base}/clocks/{}/deadlines/form_8k/filing", sec.id),
        json!({"filed_at": "2026-11-27T21:00:00Z", "reference": "0001-26-000123"}),
    )
    .await;
    let sec = c
        .clocks
        .iter()
        .find(|c| c.regime.as_str() == "sec_8k_1_05")
        .unwrap();
    assert_eq!(sec.deadlines[0].state, DeadlineState::Met);

    // The customer runs its own clock on the same incident, from its own awareness.
    ok(
        &app,
        &w.acme,
        &format!("{base}/decisions"),
        json!({"kind": "aware", "at": ago(1), "reason": "The provider's notice"}),
    )
    .await;
    let theirs = ok(
        &app,
        &w.acme,
        &format!("{base}/clocks"),
        json!({"regime": "gdpr_art33", "time_zone": "Asia/Tokyo"}),
    )
    .await;
    assert_eq!((theirs.decisions.len(), theirs.clocks.len()), (1, 1));
    assert_eq!(theirs.clocks[0].deadlines[0].state, DeadlineState::Open);
    let ours = clocks(&app, &w.provider, &i.id).await;
    assert_eq!((ours.decisions.len(), ours.clocks.len()), (3, 3));

    // Another organisation's clocks and decisions do not exist for you; an incident you
    // cannot see has none.
    let stratus = app.provider("stratus", Role::Admin).await;
    for s in [&w.globex, &stratus] {
        let (status, _) = app.get(&format!("{base}/clocks"), s).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = app
            .post(
                &format!("{base}/decisions"),
                s,
                json!({"kind": "aware", "reason": "x"}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = app
            .post(&format!("{base}/clocks"), s, json!({"regime": "dora"}))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (status, _) = app
        .post(
            &format!(
                "{base}/clocks/{}/deadlines/authority/filing",
                theirs.clocks[0].id
            ),
            &w.provider,
            json!({}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "acme's clock is not the provider's"
    );
    // Recorded decisions are audit entries.
    let (_, audit) = app
        .get("/api/v1/audit?action=clock.decision", &w.provider)
        .await;
    assert_eq!(audit["total"], 3, "{audit}");
}

#[tokio::test]
async fn bad_clock_input_names_its_field_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let i = app
        .open(&w.provider, &w.compute_tokyo, "Breach", "internal", &[])
        .await;
    let base = format!("/api/v1/incidents/{}", i.id);
    let future = (Utc::now() + Duration::hours(2)).to_rfc3339();
    for (body, field) in [
        (json!({"kind": "noticed", "reason": "x"}), "kind"),
        (json!({"kind": "aware", "reason": " \u{200b} "}), "reason"),
        (json!({"kind": "aware", "reason": "x", "at": future}), "at"),
        (json!({"kind": "aware", "reason": "x", "extra": 1}), "extra"),
    ] {
        let (status, v) = app
            .post(&format!("{base}/decisions"), &w.provider, body.clone())
            .await;
        let fields = refused_fields(status, &v);
        assert!(
            fields.iter().any(|f| f.contains(field)),
            "{body}: {status} {v}"
        );
    }
    for (body, field) in [
        (
            json!({"regime": "gdpr_art33", "time_zone": "Mars/Olympus"}),
            "time_zone",
        ),
        (
            json!({"regime": "nis2_art23", "contract_hours": 12}),
            "contract_hours",
        ),
        (
            json!({"regime": "gdpr_processor", "contract_hours": 0}),
            "contract_hours",
        ),
        (json!({"regime": "dora", "malicious": true}), "malicious"),
        (json!({"regime": "hipaa"}), "regime"),
        (
            json!({"regime": "sec_8k_1_05", "holidays": ["2026-02-30"]}),
            "holidays",
        ),
    ] {
        let (status, v) = app
            .post(&format!("{base}/clocks"), &w.provider, body.clone())
            .await;
        let fields = refused_fields(status, &v);
        assert!(
            fields.iter().any(|f| f.contains(field)),
            "{body}: {status} {v}"
        );
    }
    assert_eq!(
        clocks(&app, &w.provider, &i.id).await,
        Clocks {
            decisions: vec![],
            clocks: vec![]
        }
    );
    // Twice the same decision or regime: 409. A viewer cannot record; an unknown deadline is 404.
    ok(
        &app,
        &w.provider,
        &format!("{base}/decisions"),
        json!({"kind": "aware", "reason": "x"}),
    )
    .await;
    let (status, _) = app
        .post(
            &format!("{base}/decisions"),
            &w.provider,
            json!({"kind": "aware", "reason": "y"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let c = ok(
        &app,
        &w.provider,
        &format!("{base}/clocks"),
        json!({"regime": "gdpr_processor", "contract_hours": 36}),
    )
    .await;
    assert_eq!(
        c.clocks[0].deadlines[0].due_at,
        Some(c.decisions[0].at + Duration::hours(36))
    );
    let (status, _) = app
        .post(
            &format!("{base}/clocks"),
            &w.provider,
            json!({"regime": "gdpr_processor"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = app
        .post(
            &format!("{base}/clocks/{}/deadlines/nope/filing", c.clocks[0].id),
            &w.provider,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let viewer = app.colleague(&w.provider, "vi", Role::Viewer).await;
    let (status, _) = app
        .post(
            &format!("{base}/decisions"),
            &viewer,
            json!({"kind": "classified_major", "reason": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        clocks(&app, &viewer, &i.id).await.decisions.len(),
        1,
        "a viewer reads them"
    );
}

#[tokio::test]
async fn the_providers_priority_targets_run_as_a_clock_the_incident_itself_meets() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let p = &w.provider;
    // A P2 (default targets: response 15 min, resolution 240 min) detected 20 minutes ago.
    let detected = Utc::now() - Duration::minutes(20);
    let i: Value = app
        .create(
            "/api/v1/incidents",
            p,
            json!({"title": "Compute errors", "body": "Investigating",
            "impact": "major", "urgency": "high", "detected_at": detected.to_rfc3339(),
            "components": [{"component_id": w.compute_tokyo.id, "status": "partial_outage"}]}),
        )
        .await;
    let base = format!("/api/v1/incidents/{}", i["id"].as_str().unwrap());
    let c = ok(
        &app,
        p,
        &format!("{base}/clocks"),
        json!({"regime": "provider_targets"}),
    )
    .await;
    let t = &c.clocks[0];
    let states: Vec<(&str, DeadlineState)> = t
        .deadlines
        .iter()
        .map(|d| (d.key.as_str(), d.state))
        .collect();
    assert_eq!(
        states,
        [
            ("response", DeadlineState::Missed),
            ("resolution", DeadlineState::Open)
        ]
    );
    let due = t.deadlines[0].due_at.unwrap();
    assert_eq!(
        due.timestamp_millis() - detected.timestamp_millis(),
        15 * 60_000,
        "{due} vs {detected}"
    );
    // Nobody files them: the incident meets them. Acme opens it (the first customer reached:
    // five minutes late), then it is resolved in time.
    let (status, _) = app
        .post(
            &format!("{base}/clocks/{}/deadlines/response/filing", t.id),
            p,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = app
        .get(
            &format!("/api/v1/dashboard/incidents/{}", i["id"].as_str().unwrap()),
            &w.acme,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.update(p, i["id"].as_str().unwrap(), "resolved", "Fixed")
        .await;
    let c = clocks(&app, p, i["id"].as_str().unwrap()).await;
    let d = &c.clocks[0].deadlines;
    assert_eq!(
        (d[0].state, d[1].state),
        (DeadlineState::Late, DeadlineState::Met),
        "{d:#?}"
    );
    assert_eq!(
        d[0].reference.as_deref(),
        Some("a customer was first sent or shown the incident")
    );

    // They are the provider's own: a customer cannot run them; detection is no decision;
    // a priority without targets has none.
    let (status, v) = app
        .post(
            &format!("{base}/clocks"),
            &w.acme,
            json!({"regime": "provider_targets"}),
        )
        .await;
    assert_eq!(refused_fields(status, &v), ["regime"], "{v}");
    let (status, v) = app
        .post(
            &format!("{base}/decisions"),
            p,
            json!({"kind": "detected", "reason": "x"}),
        )
        .await;
    assert_eq!(refused_fields(status, &v), ["kind"], "{v}");
    let p5: Value = app
        .create(
            "/api/v1/incidents",
            p,
            json!({"title": "Cosmetic", "body": "x", "impact": "none", "urgency": "low"}),
        )
        .await;
    let (status, v) = app
        .post(
            &format!("/api/v1/incidents/{}/clocks", p5["id"].as_str().unwrap()),
            p,
            json!({"regime": "provider_targets"}),
        )
        .await;
    assert_eq!(refused_fields(status, &v), ["regime"], "{v}");
}
