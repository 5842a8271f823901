//! Public status documents: Statuspage v2 JSON, feeds, caching, and that nothing non-public
//! ever shows there.

use crate::harness::*;
use cirhub_shared::statuspage as sp;
use cirhub_shared::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

pub const DOCS: &[&str] = &[
    "summary.json",
    "status.json",
    "components.json",
    "incidents.json",
    "incidents/unresolved.json",
    "scheduled-maintenances.json",
    "scheduled-maintenances/upcoming.json",
    "scheduled-maintenances/active.json",
];

/// A Statuspage v2 document in the real format, from tests/fixtures/statuspage.
fn fixture(name: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/statuspage/");
    std::fs::read_to_string(format!("{path}{name}"))
        .unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

async fn doc(app: &TestApp, slug: &str, name: &str) -> Value {
    let (status, text) = app.public(&format!("/status/{slug}/api/v2/{name}")).await;
    assert_eq!(status, StatusCode::OK, "{name}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not JSON ({e}): {text}"))
}

/// A provider with public, affected-only and internal incidents, a maintenance in progress
/// and one upcoming.
async fn world(app: &TestApp) -> (Session, crate::harness::Catalogue) {
    let s = app.provider("nimbus", Role::Operator).await;
    let cat = app.catalogue(&s).await;
    let public = app.incident(&s, &cat, "Public outage", "public").await;
    app.incident(&s, &cat, "Secret affected-only outage", "affected")
        .await;
    app.incident(&s, &cat, "Secret internal investigation", "internal")
        .await;
    let _: Value = app
        .create(
            &format!("/api/v1/incidents/{}/updates", public.id),
            &s,
            json!({"status": "identified", "body": "Cause <found> & fixed"}),
        )
        .await;
    let resolved = app
        .incident(&s, &cat, "Old resolved outage", "public")
        .await;
    let _: Value = app
        .create(&format!("/api/v1/incidents/{}/updates", resolved.id), &s, json!({"status": "resolved", "body": "Resolved", "components": [{"component_id": cat.components[0].id, "status": "partial_outage"}]}))
        .await;
    for (title, start, status) in [
        (
            "Active maintenance",
            "2026-01-01T00:00:00Z",
            Some("in_progress"),
        ),
        ("Upcoming maintenance", "2031-01-01T00:00:00Z", None),
    ] {
        let m: Value = app
            .create("/api/v1/maintenances", &s, json!({"title": title, "body": "Planned work", "scheduled_for": start, "scheduled_until": "2031-06-01T00:00:00Z", "component_ids": [cat.components[1].id]}))
            .await;
        if let Some(st) = status {
            let _: Value = app
                .create(
                    &format!("/api/v1/incidents/{}/updates", m["id"].as_str().unwrap()),
                    &s,
                    json!({"status": st, "body": "Started"}),
                )
                .await;
        }
    }
    (s, cat)
}

#[tokio::test]
async fn statuspage_documents_have_statuspage_fields_and_values() {
    let app = TestApp::spawn().await;
    let (_s, cat) = world(&app).await;
    for name in DOCS {
        let v = doc(&app, "nimbus", name).await;
        assert_eq!(v["page"]["name"], "Org nimbus", "{name}");
        assert_eq!(v["page"]["url"], format!("{}/status/nimbus", app.base));
        crate::statuspage_shape::check_enums(&v);
        let fixture_name = name.replace('/', "-");
        let fixture: Value = serde_json::from_str(&fixture(&fixture_name)).unwrap();
        crate::statuspage_shape::assert_same_shape(&fixture, &v, name);
    }
    let summary: sp::Summary =
        serde_json::from_value(doc(&app, "nimbus", "summary.json").await).unwrap();
    // Group first with its members, then the members.
    let group = summary
        .components
        .iter()
        .find(|c| c.group)
        .expect("a group component");
    assert_eq!(group.id, cat.group.id);
    assert_eq!(group.components.as_ref().unwrap().len(), 2);
    assert!(summary
        .components
        .iter()
        .filter(|c| !c.group)
        .all(|c| c.group_id.as_deref() == Some(cat.group.id.as_str())));
    // Only the public unresolved incident; newest update first.
    assert_eq!(summary.incidents.len(), 1);
    let inc = &summary.incidents[0];
    assert_eq!(inc.name, "Public outage");
    assert_eq!(inc.status, "identified");
    assert_eq!(inc.impact, "major");
    assert_eq!(inc.incident_updates[0].body, "Cause <found> & fixed");
    assert_eq!(
        inc.incident_updates[1]
            .affected_components
            .as_ref()
            .unwrap()[0]
            .new_status,
        "partial_outage"
    );
    assert_eq!(inc.components[0].id, cat.components[0].id);
    // Maintenance: active then upcoming, with their schedule.
    let names: Vec<&str> = summary
        .scheduled_maintenances
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(names, ["Active maintenance", "Upcoming maintenance"]);
    assert_eq!(
        summary.scheduled_maintenances[1].scheduled_for.as_deref(),
        Some("2031-01-01T00:00:00.000Z")
    );
    assert_eq!(summary.status.indicator, "major");
    assert_eq!(summary.status.description, "Partial System Outage");

    let history: sp::IncidentsDoc =
        serde_json::from_value(doc(&app, "nimbus", "incidents.json").await).unwrap();
    let titles: Vec<&str> = history.incidents.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(titles, ["Old resolved outage", "Public outage"]);
    assert!(history.incidents[0].resolved_at.is_some());
    let upcoming: sp::MaintenancesDoc =
        serde_json::from_value(doc(&app, "nimbus", "scheduled-maintenances/upcoming.json").await)
            .unwrap();
    assert_eq!(upcoming.scheduled_maintenances.len(), 1);
    assert_eq!(upcoming.scheduled_maintenances[0].status, "scheduled");
    let active: sp::MaintenancesDoc =
        serde_json::from_value(doc(&app, "nimbus", "scheduled-maintenances/active.json").await)
            .unwrap();
    assert_eq!(active.scheduled_maintenances[0].status, "in_progress");
    let comps: sp::ComponentsDoc =
        serde_json::from_value(doc(&app, "nimbus", "components.json").await).unwrap();
    let maint = comps
        .components
        .iter()
        .find(|c| c.id == cat.components[1].id)
        .unwrap();
    assert_eq!(maint.status, "under_maintenance");
}

#[tokio::test]
async fn non_public_incidents_never_appear_on_public_documents_or_feeds() {
    let app = TestApp::spawn().await;
    let (s, _cat) = world(&app).await;
    let mut everything = String::new();
    for name in DOCS {
        everything.push_str(&app.public(&format!("/status/nimbus/api/v2/{name}")).await.1);
    }
    for path in [
        "/status/nimbus/history.atom",
        "/status/nimbus/history.rss",
        "/status/nimbus/uptime.json",
    ] {
        let (status, body) = app.public(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        everything.push_str(&body);
    }
    assert!(
        everything.contains("Public outage"),
        "control: public items are there"
    );
    assert!(
        !everything.contains("Secret"),
        "a non-public incident leaked onto a public document"
    );
    // Still hidden after an update, and after turning public it shows at once.
    let (_, list) = app.get("/api/v1/incidents?visibility=internal", &s).await;
    let internal_id = list["items"][0]["id"].as_str().unwrap().to_string();
    let _: Value = app
        .create(
            &format!("/api/v1/incidents/{internal_id}/updates"),
            &s,
            json!({"status": "identified", "body": "Secret detail"}),
        )
        .await;
    assert!(!app
        .public("/status/nimbus/history.atom")
        .await
        .1
        .contains("Secret"));
    let (status, _) = app
        .patch(
            &format!("/api/v1/incidents/{internal_id}"),
            &s,
            json!({"visibility": "public"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(app
        .public("/status/nimbus/api/v2/incidents/unresolved.json")
        .await
        .1
        .contains("Secret internal investigation"));
}

#[tokio::test]
async fn atom_and_rss_feeds_parse_and_carry_the_timeline() {
    let app = TestApp::spawn().await;
    world(&app).await;
    let (_, atom) = app.public("/status/nimbus/history.atom").await;
    let feed = feed_rs::parser::parse(atom.as_bytes()).expect("Atom parses");
    assert_eq!(feed.feed_type, feed_rs::model::FeedType::Atom);
    let titles: Vec<String> = feed
        .entries
        .iter()
        .filter_map(|e| e.title.as_ref().map(|t| t.content.clone()))
        .collect();
    assert!(titles.contains(&"Public outage".to_string()), "{titles:?}");
    assert!(titles.contains(&"Upcoming maintenance".to_string()));
    let entry = feed
        .entries
        .iter()
        .find(|e| e.title.as_ref().unwrap().content == "Public outage")
        .unwrap();
    let content = entry
        .content
        .as_ref()
        .and_then(|c| c.body.clone())
        .unwrap_or_default();
    assert!(
        content.contains("Cause &lt;found&gt; &amp; fixed"),
        "escaped update body in the HTML content: {content}"
    );
    let (_, rss) = app.public("/status/nimbus/history.rss").await;
    let feed = feed_rs::parser::parse(rss.as_bytes()).expect("RSS parses");
    assert_eq!(feed.feed_type, feed_rs::model::FeedType::RSS2);
    assert_eq!(feed.entries.len(), 4);
}

#[tokio::test]
async fn public_documents_are_cached_but_follow_changes_at_once() {
    let app = TestApp::spawn().await;
    let s = app.provider("nimbus", Role::Operator).await;
    let cat = app.catalogue(&s).await;
    let first = app
        .client
        .get(app.url("/status/nimbus/api/v2/status.json"))
        .send()
        .await
        .unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(first.headers()["access-control-allow-origin"], "*");
    assert_eq!(
        first.json::<Value>().await.unwrap()["status"]["indicator"],
        "none"
    );
    let again = app
        .client
        .get(app.url("/status/nimbus/api/v2/status.json"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    app.incident(&s, &cat, "Now", "public").await;
    let v = doc(&app, "nimbus", "status.json").await;
    assert_eq!(
        v["status"]["indicator"], "major",
        "the change shows without waiting for the cache"
    );
    let after = app
        .client
        .get(app.url("/status/nimbus/api/v2/status.json"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_pages_and_documents_are_404_problems() {
    let app = TestApp::spawn().await;
    app.provider("nimbus", Role::Operator).await;
    for path in [
        "/status/nobody/api/v2/summary.json",
        "/status/nimbus/api/v2/nothing.json",
        "/status/nobody/history.atom",
    ] {
        let (status, body) = app.public(path).await;
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_problem(status, &v, StatusCode::NOT_FOUND, "not_found");
    }
}

#[tokio::test]
async fn a_non_public_status_change_stays_off_the_public_page_and_out_of_other_streams() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let mut acme = app.stream(&w.acme.token, None).await;
    acme.live().await;
    let status = |doc: &Value| doc["status"]["description"].as_str().unwrap().to_string();
    let component = |doc: &Value, id: &str| {
        doc["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["status"].as_str().unwrap().to_string())
            .unwrap()
    };
    let outage = |title: &str, visibility: &str| {
        json!({"title": title, "body": "looking", "impact": "minor", "urgency": "low",
               "visibility": visibility,
               "components": [{"component_id": w.compute_tokyo.id, "status": "major_outage"}]})
    };
    app.create::<Value>(
        "/api/v1/incidents",
        &w.provider,
        outage("Internal probe", "internal"),
    )
    .await;
    let summary = doc(&app, "nimbus", "summary.json").await;
    assert_eq!(status(&summary), "All Systems Operational", "{summary}");
    assert_eq!(component(&summary, &w.compute_tokyo.id), "operational");
    let uptime: Value =
        serde_json::from_str(&app.public("/status/nimbus/uptime.json").await.1).unwrap();
    assert_eq!(component(&uptime, &w.compute_tokyo.id), "operational");
    let tokyo = uptime["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == w.compute_tokyo.id.as_str())
        .unwrap();
    assert_eq!(tokyo["uptime_percent"].as_f64(), Some(100.0), "{uptime}");
    assert!(
        acme.events_until_quiet(Duration::from_millis(1500))
            .await
            .is_empty(),
        "acme is outside the internal incident's audience"
    );
    // The provider's console shows the change.
    let (_, mine) = app
        .get(
            &format!("/api/v1/components/{}", w.compute_tokyo.id),
            &w.provider,
        )
        .await;
    assert_eq!(mine["status"], "major_outage");

    // A public incident changes the public page and tells the customers it touches.
    app.create::<Value>(
        "/api/v1/incidents",
        &w.provider,
        json!({"title": "Public outage", "body": "down", "impact": "minor", "urgency": "low",
               "visibility": "public",
               "components": [{"component_id": w.compute_tokyo.id, "status": "partial_outage"}]}),
    )
    .await;
    let summary = doc(&app, "nimbus", "summary.json").await;
    assert_eq!(component(&summary, &w.compute_tokyo.id), "partial_outage");
    assert_eq!(status(&summary), "Partial System Outage", "{summary}");
    let kinds: Vec<String> = acme
        .events_until_quiet(Duration::from_millis(1500))
        .await
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    assert!(kinds.contains(&"component.status".to_string()), "{kinds:?}");
}
