//! Response metrics over HTTP: each measure follows its stated formula from the recorded
//! instants (milestones, the provider's escalation acknowledgement, the first time a customer
//! was reached, the customer's acknowledgement); groups by month, priority and customer;
//! exercises stay out; a milestone edit needs a reason and is kept with it; CSV exports;
//! a customer sees only its own side; another organisation's edits do not exist for you.

use crate::harness::*;
use chrono::{DateTime, Utc};
use cirhub_shared::metrics::{Measure, ResponseMetrics, Samples};
use cirhub_shared::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn metrics(app: &TestApp, s: &Session, query: &str) -> ResponseMetrics {
    let (status, v) = app
        .get(&format!("/api/v1/metrics/response{query}"), s)
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    serde_json::from_value(v).unwrap()
}

async fn samples(app: &TestApp, s: &Session) -> Samples {
    let (status, v) = app.get("/api/v1/metrics/response/samples", s).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    serde_json::from_value(v).unwrap()
}

/// (n, mean, median, p90) of a measure in a group.
fn figures(
    m: &ResponseMetrics,
    key: &str,
    measure: Measure,
) -> (u32, Option<f64>, Option<f64>, Option<f64>) {
    let g = if key == "total" {
        &m.total
    } else {
        m.groups
            .iter()
            .find(|g| g.key == key)
            .unwrap_or_else(|| panic!("no group {key} in {:?}", m.groups))
    };
    let s = g.stat(measure).unwrap();
    (s.n, s.mean_secs, s.median_secs, s.p90_secs)
}

async fn open_at(app: &TestApp, s: &Session, body: Value) -> String {
    let v: Value = app.create("/api/v1/incidents", s, body).await;
    v["id"].as_str().unwrap().to_string()
}

fn secs(a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
    (b - a).num_milliseconds() as f64 / 1000.0
}

#[tokio::test]
async fn measures_follow_their_formulas_per_party_and_group_and_leave_exercises_out() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let p = &w.provider;
    let comp = &w.compute_tokyo;

    // October: occurred 30 min before detection; major + high urgency.
    let a = open_at(
        &app,
        p,
        json!({
        "title": "Storage errors", "body": "Investigating", "impact": "major", "urgency": "high",
        "components": [{"component_id": comp.id, "status": "partial_outage"}],
        "occurred_at": "2026-10-05T09:30:00Z", "detected_at": "2026-10-05T10:00:00Z"}),
    )
    .await;
    // November: a title a spreadsheet would run as a formula.
    let b = open_at(&app, p, json!({
        "title": "=SUM(1,2) packet loss", "body": "Investigating", "impact": "minor", "urgency": "low",
        "components": [{"component_id": w.storage_tokyo.id, "status": "degraded_performance"}],
        "detected_at": "2026-11-10T08:00:00Z"})).await;
    // An exercise in November, with every milestone: it must change nothing.
    let x = open_at(&app, p, json!({
        "title": "Tabletop: region loss", "body": "Drill", "impact": "critical", "urgency": "high",
        "exercise": true, "occurred_at": "2026-11-12T07:00:00Z", "detected_at": "2026-11-12T08:00:00Z"})).await;

    // A milestone edit without a reason is refused whole and changes nothing.
    let (status, v) = app
        .patch(
            &format!("/api/v1/incidents/{a}"),
            p,
            json!({
            "title": "Storage errors in Tokyo",
            "acknowledged_at": "2026-10-05T10:10:00Z"}),
        )
        .await;
    assert_eq!(refused_fields(status, &v), ["reason"], "{v}");
    let (_, now) = app.get(&format!("/api/v1/incidents/{a}"), p).await;
    assert_eq!(
        (
            now["version"].as_i64(),
            now["title"].as_str(),
            &now["acknowledged_at"]
        ),
        (Some(1), Some("Storage errors"), &Value::Null)
    );
    // Nor can a milestone precede detection.
    let (status, v) = app
        .patch(
            &format!("/api/v1/incidents/{a}"),
            p,
            json!({
            "acknowledged_at": "2026-10-05T09:59:00Z", "reason": "from the pager log"}),
        )
        .await;
    assert_eq!(refused_fields(status, &v), ["acknowledged_at"], "{v}");
    for (id, body) in [
        (
            &a,
            json!({"acknowledged_at": "2026-10-05T10:10:00Z", "recovered_at": "2026-10-05T11:10:00Z",
            "reason": "Times from the pager and the storage controller's logs"}),
        ),
        (
            &b,
            json!({"acknowledged_at": "2026-11-10T08:30:00Z", "recovered_at": "2026-11-10T12:00:00Z",
            "reason": "Pager log"}),
        ),
        (
            &x,
            json!({"acknowledged_at": "2026-11-12T08:01:00Z", "recovered_at": "2026-11-12T08:02:00Z",
            "reason": "Drill script"}),
        ),
    ] {
        let (status, v) = app.patch(&format!("/api/v1/incidents/{id}"), p, body).await;
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    // The edit is kept with who and why, and the audit entry of that version carries it.
    let (status, edits) = app
        .get(&format!("/api/v1/incidents/{a}/milestones"), p)
        .await;
    assert_eq!(status, StatusCode::OK, "{edits}");
    let names: Vec<&str> = edits
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["milestone"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["acknowledged_at", "recovered_at"]);
    assert_eq!(
        edits[0]["reason"],
        "Times from the pager and the storage controller's logs"
    );
    assert_eq!(
        (
            edits[0]["old_at"].clone(),
            edits[0]["incident_version"].as_i64()
        ),
        (Value::Null, Some(2))
    );
    let (status, log) = app
        .get(
            &format!("/api/v1/audit?object_id={a}&action=incident.patch"),
            p,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let detail: Value = serde_json::from_str(log["items"][0]["detail"].as_str().unwrap()).unwrap();
    assert_eq!(
        detail["reason"],
        "Times from the pager and the storage controller's logs"
    );
    assert_eq!(
        detail["milestones"]["recovered_at"]["new"],
        "2026-10-05T11:10:00Z"
    );

    // Acme is reached by A (it opens it) and acknowledges it; A is resolved. B stays open.
    let (status, v) = app
        .get(&format!("/api/v1/dashboard/incidents/{a}"), &w.acme)
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, v) = app
        .post(
            &format!("/api/v1/dashboard/incidents/{a}/ack"),
            &w.acme,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    app.update(p, &a, "resolved", "Fixed").await;

    let m = metrics(&app, p, "").await;
    assert_eq!(
        (m.perspective.as_str(), m.exercises_excluded),
        ("provider", 1)
    );
    assert_eq!(
        m.groups.iter().map(|g| g.key.as_str()).collect::<Vec<_>>(),
        ["2026-10", "2026-11"]
    );
    // October: TTD 30 min, TTA 10 min, TTR 60 min, TTC = their sum.
    assert_eq!(
        figures(&m, "2026-10", Measure::Detect),
        (1, Some(1800.0), Some(1800.0), Some(1800.0))
    );
    assert_eq!(
        figures(&m, "2026-10", Measure::ProviderAcknowledge).1,
        Some(600.0)
    );
    assert_eq!(figures(&m, "2026-10", Measure::Recover).1, Some(3600.0));
    assert_eq!(figures(&m, "2026-10", Measure::Contain).1, Some(6000.0));
    // November holds B only (the exercise is out); without an occurrence it has no TTD/TTC.
    let nov = m.groups.iter().find(|g| g.key == "2026-11").unwrap();
    assert_eq!((nov.incidents, nov.open), (1, 1));
    assert_eq!(figures(&m, "2026-11", Measure::Detect).0, 0);
    assert_eq!(figures(&m, "2026-11", Measure::Contain).0, 0);
    assert_eq!(figures(&m, "2026-11", Measure::Recover).1, Some(12600.0));
    // Total: TTA 600 and 1800 s: mean and median 1200, nearest-rank p90 the larger.
    assert_eq!(
        figures(&m, "total", Measure::ProviderAcknowledge),
        (2, Some(1200.0), Some(1200.0), Some(1800.0))
    );
    assert_eq!((m.total.incidents, m.total.open), (2, 1));

    // The customer's side, from its first reach and its acknowledgement.
    let s = samples(&app, p).await;
    let sa = s.samples.iter().find(|x| x.incident_id == a).unwrap();
    assert_eq!(sa.milestone_edits, 2);
    assert_eq!(sa.acknowledged_source.as_deref(), Some("milestone"));
    let acme = &sa.customers[0];
    assert_eq!(sa.customers.len(), 1);
    let reached = acme.reached_at.unwrap();
    let notify = secs(sa.detected_at, reached);
    let ack = secs(reached, acme.acknowledged_at.unwrap());
    assert_eq!(
        (acme.notify_secs, acme.acknowledge_secs),
        (Some(notify), Some(ack))
    );
    let by_customer = metrics(&app, p, "?by=customer").await;
    assert_eq!(by_customer.groups.len(), 1, "{:?}", by_customer.groups);
    let round = |v: f64| (v * 10.0).round() / 10.0;
    assert_eq!(
        figures(&by_customer, &acme.customer_id, Measure::Notify).1,
        Some(round(notify))
    );
    assert_eq!(
        figures(
            &by_customer,
            &acme.customer_id,
            Measure::CustomerAcknowledge
        )
        .1,
        Some(round(ack))
    );
    // Provider-side measures are not per customer.
    assert_eq!(
        figures(&by_customer, &acme.customer_id, Measure::Recover).0,
        0
    );

    // By priority: one group per priority of A and B.
    let by_priority = metrics(&app, p, "?by=priority").await;
    let mut want = vec![
        sa.priority.as_str().to_string(),
        s.samples
            .iter()
            .find(|x| x.incident_id == b)
            .unwrap()
            .priority
            .as_str()
            .to_string(),
    ];
    want.sort();
    assert_eq!(
        by_priority
            .groups
            .iter()
            .map(|g| g.key.clone())
            .collect::<Vec<_>>(),
        want
    );

    // A range keeps only what was detected in it.
    let oct = metrics(
        &app,
        p,
        "?from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z",
    )
    .await;
    assert_eq!((oct.total.incidents, oct.exercises_excluded), (1, 0));

    // CSV: the aggregate and the samples, formulas defused.
    let res = reqwest::Client::new()
        .get(app.url("/api/v1/metrics/response?format=csv"))
        .bearer_auth(&p.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let body = res.text().await.unwrap();
    let mut lines = body.lines();
    assert_eq!(
        lines.next(),
        Some("group,label,incidents,open,measure,abbrev,n,pending,mean_secs,median_secs,p90_secs")
    );
    assert!(
        body.contains(
            "\ntotal,All incidents,2,1,provider_acknowledge,TTA provider,2,0,1200,1200,1800\n"
        ),
        "{body}"
    );
    let res = reqwest::Client::new()
        .get(app.url("/api/v1/metrics/response/samples?format=csv"))
        .bearer_auth(&p.token)
        .send()
        .await
        .unwrap();
    let body = res.text().await.unwrap();
    assert!(body.contains("'=SUM(1,2) packet loss"), "{body}");
    assert!(!body.contains("Tabletop"), "{body}");
    assert_eq!(body.lines().count(), 3, "header, A with Acme, B: {body}");

    // The customer sees only its own side; Globex, never reached, sees nothing.
    let cm = metrics(&app, &w.acme, "").await;
    assert_eq!(
        (cm.perspective.as_str(), cm.total.incidents),
        ("customer", 1)
    );
    assert_eq!(figures(&cm, "total", Measure::CustomerAcknowledge).0, 1);
    let cs = samples(&app, &w.acme).await;
    assert_eq!(cs.samples.len(), 1);
    assert_eq!(cs.samples[0].customers.len(), 1);
    assert_eq!(samples(&app, &w.globex).await.samples.len(), 0);
    // Globex opens B: it appears for Globex with Globex's side only, and for the provider.
    let (status, v) = app
        .get(&format!("/api/v1/dashboard/incidents/{b}"), &w.globex)
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let gs = samples(&app, &w.globex).await;
    assert_eq!(
        gs.samples
            .iter()
            .map(|x| x.incident_id.as_str())
            .collect::<Vec<_>>(),
        [b.as_str()]
    );
    let theirs: Vec<&str> = gs.samples[0]
        .customers
        .iter()
        .map(|c| c.customer_id.as_str())
        .collect();
    assert_eq!(theirs, [w.globex.org_id.as_str()]);
    assert_eq!(metrics(&app, p, "?by=customer").await.groups.len(), 2);
}

#[tokio::test]
async fn the_providers_escalation_acknowledgement_counts_when_the_milestone_is_not_set() {
    let app = TestApp::spawn().await;
    let admin = app.provider("nimbus", Role::Admin).await;
    let cat = app.catalogue(&admin).await;
    crate::escalation_run::save_policy(&app, &admin, json!({"time_zone": "UTC", "rules": [{"name": "All",
        "match": {"priorities": ["P1", "P2", "P3", "P4", "P5"]}, "levels": [{"targets": [{"kind": "user", "id": admin.user_id, "channels": ["websocket"]}], "wait_minutes": 10}]}]})).await;
    let i = app.incident(&admin, &cat, "Disk latency", "internal").await;
    let m = metrics(&app, &admin, "").await;
    let s = m.total.stat(Measure::ProviderAcknowledge).unwrap();
    assert_eq!((s.n, s.pending), (0, 1), "detected, not acknowledged, open");
    let (status, v) = app
        .post(
            &format!("/api/v1/incidents/{}/escalation/acknowledge", i.id),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let x = samples(&app, &admin).await.samples.remove(0);
    assert_eq!(x.acknowledged_source.as_deref(), Some("escalation"));
    let at: DateTime<Utc> = serde_json::from_value(v["ended_at"].clone()).unwrap();
    assert_eq!(x.acknowledged_at, Some(at));
    assert_eq!(x.acknowledge_secs, Some(secs(x.detected_at, at)));
}

#[tokio::test]
async fn bad_queries_name_their_parameter_and_other_organisations_edits_do_not_exist() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let i = app
        .open(&w.provider, &w.compute_tokyo, "Outage", "public", &[])
        .await;
    for (query, field) in [
        ("?by=week", "by"),
        ("?format=xml", "format"),
        ("?from=yesterday", "from"),
        ("?from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z", "to"),
    ] {
        let (status, v) = app
            .get(&format!("/api/v1/metrics/response{query}"), &w.provider)
            .await;
        assert_eq!(refused_fields(status, &v), [field], "{query}: {v}");
    }
    let path = format!("/api/v1/incidents/{}/milestones", i.id);
    let other = app.provider("other-cloud", Role::Admin).await;
    for s in [&w.acme, &w.globex, &other] {
        let (status, v) = app.get(&path, s).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    }
    // Another provider's metrics hold none of this provider's incidents.
    assert_eq!(metrics(&app, &other, "").await.total.incidents, 0);
    assert_eq!(samples(&app, &other).await.samples.len(), 0);
}
