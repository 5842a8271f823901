//! The incident and maintenance lifecycle.

use crate::harness::*;
use cirhub_shared::api::{Component, Incident};
use cirhub_shared::{ComponentStatus, IncidentStatus, Priority, Role};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn incident_lifecycle_from_investigating_to_postmortem() {
    let app = TestApp::spawn().await;
    let s = app.provider("p", Role::Operator).await;
    let cat = app.catalogue(&s).await;
    let comp = &cat.components[0].id;
    let inc = app.incident(&s, &cat, "Storage errors", "public").await;
    assert_eq!(inc.status, IncidentStatus::Investigating);
    assert_eq!(inc.priority, Priority::P2, "major x high is P2 by default");
    assert_eq!(
        (inc.response_due_at.unwrap() - inc.detected_at.unwrap()).num_minutes(),
        15
    );
    assert_eq!(
        (inc.resolution_due_at.unwrap() - inc.detected_at.unwrap()).num_minutes(),
        240
    );
    assert_eq!(inc.component_ids, vec![comp.clone()]);
    assert_eq!(inc.updates.len(), 1);
    assert_eq!(
        inc.updates[0].component_changes[0].new_status,
        ComponentStatus::PartialOutage
    );
    assert_eq!(inc.updates[0].author_name, "User operator@p.test");
    assert_eq!(inc.version, 1);

    let path = format!("/api/v1/incidents/{}/updates", inc.id);
    let steps = [
        ("identified", "Root cause found", None, None),
        ("monitoring", "Fix deployed", Some("operational"), None),
        ("resolved", "All good", None, Some("critical")),
        ("postmortem", "Postmortem published", None, None),
    ];
    let mut last: Option<Incident> = None;
    for (status, body, comp_status, impact) in steps {
        let mut req = json!({"status": status, "body": body});
        if let Some(cs) = comp_status {
            req["components"] = json!([{"component_id": comp, "status": cs}]);
        }
        if let Some(i) = impact {
            req["impact"] = json!(i);
        }
        let i: Incident = app.create(&path, &s, req).await;
        assert_eq!(i.status.as_str(), status);
        last = Some(i);
    }
    let done = last.unwrap();
    assert_eq!(done.version, 5);
    assert_eq!(done.updates.len(), 5);
    assert_eq!(
        done.updates[0].status,
        IncidentStatus::Postmortem,
        "timeline is newest first"
    );
    assert!(done.monitoring_at.is_some() && done.resolved_at.is_some());
    assert_eq!(
        done.priority,
        Priority::P1,
        "raising impact to critical re-derives the priority"
    );
    let c: Component =
        serde_json::from_value(app.get(&format!("/api/v1/components/{comp}"), &s).await.1).unwrap();
    assert_eq!(c.status, ComponentStatus::Operational);

    // Lifecycle timestamps for response metrics.
    let (status, patched) = app
        .patch(
            &format!("/api/v1/incidents/{}", inc.id),
            &s,
            json!({"occurred_at": "2026-01-01T00:00:00Z", "detected_at": "2026-01-01T00:05:00Z", "acknowledged_at": "2026-01-01T00:10:00Z", "contained_at": "2026-01-01T00:30:00Z", "recovered_at": "2026-01-01T01:00:00Z", "reason": "From the on-call log"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["acknowledged_at"], "2026-01-01T00:10:00Z");
    assert_eq!(patched["version"], 6);
}

#[tokio::test]
async fn a_bad_update_is_refused_whole() {
    let app = TestApp::spawn().await;
    let s = app.provider("p", Role::Operator).await;
    let cat = app.catalogue(&s).await;
    let inc = app.incident(&s, &cat, "Partial writes", "public").await;
    let path = format!("/api/v1/incidents/{}/updates", inc.id);
    // The first component change is valid, the second names no component of ours.
    let (status, body) = app
        .post(
            &path,
            &s,
            json!({"status": "identified", "body": "x", "components": [
                {"component_id": cat.components[1].id, "status": "major_outage"},
                {"component_id": "00000000-0000-0000-0000-000000000000", "status": "major_outage"}]}),
        )
        .await;
    let p = assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(p.errors[0].field, "components[1]");
    let (_, c) = app
        .get(&format!("/api/v1/components/{}", cat.components[1].id), &s)
        .await;
    assert_eq!(c["status"], "operational", "the valid half was not applied");
    let (_, i) = app.get(&format!("/api/v1/incidents/{}", inc.id), &s).await;
    assert_eq!(i["updates"].as_array().unwrap().len(), 1);
    assert_eq!(i["version"], 1);

    let (status, body) = app
        .post(&path, &s, json!({"status": "completed", "body": "x"}))
        .await;
    let p = assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(
        p.errors[0].field, "status",
        "an incident cannot be 'completed'"
    );

    let (status, body) = app
        .post(
            "/api/v1/incidents",
            &s,
            json!({"title": "x", "body": "y", "impact": "huge"}),
        )
        .await;
    let p = assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(p.errors[0].field, "impact");
    let (_, list) = app.get("/api/v1/incidents", &s).await;
    assert_eq!(list["total"], 1);
}

#[tokio::test]
async fn maintenance_moves_its_components_in_and_out_of_maintenance() {
    let app = TestApp::spawn().await;
    let s = app.provider("p", Role::Operator).await;
    let cat = app.catalogue(&s).await;
    let comp = &cat.components[1].id;
    let (status, body) = app
        .post(
            "/api/v1/maintenances",
            &s,
            json!({"title": "DB upgrade", "body": "Planned", "scheduled_for": "2030-01-01T10:00:00Z", "scheduled_until": "2030-01-01T09:00:00Z", "component_ids": [comp]}),
        )
        .await;
    let p = assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(p.errors[0].field, "scheduled_until");

    let m: Incident = app
        .create(
            "/api/v1/maintenances",
            &s,
            json!({"title": "DB upgrade", "body": "Planned", "scheduled_for": "2030-01-01T10:00:00Z", "scheduled_until": "2030-01-01T12:00:00Z", "component_ids": [comp]}),
        )
        .await;
    assert_eq!(m.status, IncidentStatus::Scheduled);
    let path = format!("/api/v1/incidents/{}/updates", m.id);
    let _: Incident = app
        .create(
            &path,
            &s,
            json!({"status": "in_progress", "body": "Started"}),
        )
        .await;
    let (_, c) = app.get(&format!("/api/v1/components/{comp}"), &s).await;
    assert_eq!(c["status"], "under_maintenance");
    let (status, body) = app
        .post(&path, &s, json!({"status": "resolved", "body": "x"}))
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let _: Incident = app
        .create(
            &path,
            &s,
            json!({"status": "verifying", "body": "Checking"}),
        )
        .await;
    let done: Incident = app
        .create(&path, &s, json!({"status": "completed", "body": "Done"}))
        .await;
    assert!(done.resolved_at.is_some());
    let (_, c) = app.get(&format!("/api/v1/components/{comp}"), &s).await;
    assert_eq!(c["status"], "operational");

    let (_, list) = app.get("/api/v1/incidents?kind=maintenance", &s).await;
    assert_eq!(list["total"], 1);
    let (_, list) = app.get("/api/v1/incidents?kind=incident", &s).await;
    assert_eq!(list["total"], 0);
    let (_, open) = app.get("/api/v1/incidents?open=true", &s).await;
    assert_eq!(open["total"], 0);
}

#[tokio::test]
async fn a_customer_organisation_cannot_publish() {
    let app = TestApp::spawn().await;
    let org = app.org("cust", false, true);
    app.user(&org, "admin@cust.test", Role::Admin);
    let s = app.login("admin@cust.test").await;
    let (status, body) = app
        .post(
            "/api/v1/incidents",
            &s,
            json!({"title": "x", "body": "y", "impact": "minor"}),
        )
        .await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, _) = app.public("/status/cust/api/v2/summary.json").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a customer has no status page"
    );
}
