//! Versioned records: every change of an incident stores its new version once, as canonical
//! JSON (RFC 8785) with its SHA-256; the change's audit entry and every channel's disclosure
//! name that stored version and hash, whatever view the channel rendered.

use crate::harness::*;
use cirhub::audit::versions;
use diesel::connection::SimpleConnection;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The disclosures of one object visible to `s`'s organisation.
pub async fn disclosures(app: &TestApp, s: &Session, object_id: &str) -> Vec<Value> {
    let (_, v) = app
        .get(
            &format!("/api/v1/audit/disclosures?per_page=100&object_id={object_id}"),
            s,
        )
        .await;
    v["items"].as_array().cloned().unwrap_or_default()
}

fn stored(app: &TestApp, id: &str, version: i32) -> (String, String) {
    let mut conn = app.state.db.conn().unwrap();
    versions::stored(&mut conn, "incident", id, version)
        .unwrap()
        .unwrap_or_else(|| panic!("version {version} of {id} is not stored"))
}

#[tokio::test]
async fn every_change_stores_an_immutable_canonical_version_named_by_its_audit_entry() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let inc = app
        .open(&w.provider, &w.compute_tokyo, "Versioned", "affected", &[])
        .await;
    app.update(&w.provider, &inc.id, "identified", "Found it")
        .await;
    let (s, _) = app
        .patch(
            &format!("/api/v1/incidents/{}", inc.id),
            &w.provider,
            json!({"title": "Versioned, renamed"}),
        )
        .await;
    assert!(s.is_success());
    let resolved = app.update(&w.provider, &inc.id, "resolved", "Fixed").await;
    assert_eq!(resolved.version, 4);

    let (_, audit) = app
        .get(
            &format!(
                "/api/v1/audit?per_page=100&object_type=incident&object_id={}",
                inc.id
            ),
            &w.provider,
        )
        .await;
    let mut changes: Vec<&Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] != "disclose")
        .collect();
    changes.sort_by_key(|e| e["object_version"].as_i64());
    let actions: Vec<&str> = changes
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "incident.create",
            "incident.update",
            "incident.patch",
            "incident.update"
        ]
    );
    for (i, e) in changes.iter().enumerate() {
        let v = i as i32 + 1;
        assert_eq!(e["object_version"], v);
        let (body, hash) = stored(&app, &inc.id, v);
        assert_eq!(
            e["object_hash"],
            hash.as_str(),
            "the entry names the stored hash"
        );
        assert_eq!(versions::sha256(body.as_bytes()), hash);
        let parsed: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            versions::canonical(&parsed).unwrap(),
            body,
            "canonical form"
        );
        assert_eq!(parsed["version"], v);
    }
    let first: Value = serde_json::from_str(&stored(&app, &inc.id, 1).0).unwrap();
    let last: Value = serde_json::from_str(&stored(&app, &inc.id, 4).0).unwrap();
    assert_eq!(first["title"], "Versioned");
    assert_eq!(first["status"], "investigating");
    assert_eq!(last["title"], "Versioned, renamed");
    assert_eq!(last["status"], "resolved");
    assert_eq!(serde_json::to_value(&resolved).unwrap(), last);

    // Versions are immutable: the database refuses to change or remove one.
    let mut conn = app.state.db.conn().unwrap();
    assert!(conn
        .batch_execute("UPDATE record_versions SET body = '{}' WHERE version = 1")
        .is_err());
    assert!(conn
        .batch_execute("DELETE FROM record_versions WHERE version = 1")
        .is_err());
}

#[tokio::test]
async fn every_channel_names_the_stored_version_and_its_hash() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    app.create::<Value>(
        "/api/v1/subscriptions",
        &w.acme,
        json!({"name": "Compute", "service_ids": [w.compute.id], "channels": ["email", "websocket"]}),
    )
    .await;
    let feed: Value = app
        .create("/api/v1/feed-tokens", &w.acme, json!({"name": "widget"}))
        .await;
    let mut c = app.stream(&w.acme.token, None).await;
    c.live().await;
    let inc = app
        .open(
            &w.provider,
            &w.compute_tokyo,
            "Seen everywhere",
            "affected",
            &[],
        )
        .await;
    loop {
        if c.event().await["kind"] == "incident.created" {
            break;
        }
    }
    // The provider's API view, the customer's dashboard view, the personal feed.
    app.get(&format!("/api/v1/incidents/{}", inc.id), &w.provider)
        .await;
    let (s, _) = app
        .get(&format!("/api/v1/dashboard/incidents/{}", inc.id), &w.acme)
        .await;
    assert!(s.is_success());
    let summary = feed["statuspage_url"].as_str().unwrap().to_string() + "summary.json";
    let (s, _) = app.public(summary.trim_start_matches(&app.base)).await;
    assert!(s.is_success());

    let (_, hash) = stored(&app, &inc.id, 1);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut all = disclosures(&app, &w.acme, &inc.id).await;
        all.extend(disclosures(&app, &w.provider, &inc.id).await);
        let mut channels: Vec<String> = all
            .iter()
            .map(|e| e["channel"].as_str().unwrap_or_default().to_owned())
            .collect();
        channels.sort();
        channels.dedup();
        if channels.len() == 4 || Instant::now() > deadline {
            assert_eq!(channels, ["email", "feed", "http", "websocket"], "{all:?}");
            for e in &all {
                assert_eq!(e["object_version"], 1, "{e}");
                assert_eq!(e["object_hash"], hash.as_str(), "{e}");
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// An incident read carries the stored snapshot's bytes: the SHA-256 of the body received is
/// the entity tag and the hash its disclosure names, before and after a change.
#[tokio::test]
async fn a_read_sends_the_bytes_whose_hash_its_disclosure_names() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let inc = app
        .open(&w.provider, &w.compute_tokyo, "Byte exact", "affected", &[])
        .await;
    let read = || async {
        let res = app
            .client
            .get(format!("{}/api/v1/incidents/{}", app.base, inc.id))
            .bearer_auth(&w.provider.token)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
        let etag = res.headers()["etag"].to_str().unwrap().to_owned();
        let body = res.bytes().await.unwrap();
        (etag, body)
    };
    let (etag, body) = read().await;
    let sent = versions::sha256(&body);
    assert_eq!(etag, format!("\"{sent}\""));
    assert_eq!(stored(&app, &inc.id, 1).1, sent);
    let shown: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(shown["version"], 1);
    assert_eq!(shown["title"], "Byte exact");

    app.update(&w.provider, &inc.id, "identified", "Found it")
        .await;
    let (_, body) = read().await;
    let second = versions::sha256(&body);
    assert_ne!(second, sent);
    assert_eq!(stored(&app, &inc.id, 2).1, second);
    let shown: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(shown["version"], 2);
    assert_eq!(shown["updates"][0]["body"], "Found it");

    app.state.journal.seal().await.unwrap();
    let hashes: Vec<(i64, String)> = disclosures(&app, &w.provider, &inc.id)
        .await
        .iter()
        .filter(|e| e["channel"] == "http")
        .map(|e| {
            (
                e["object_version"].as_i64().unwrap(),
                e["object_hash"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(hashes.contains(&(1, sent)), "{hashes:?}");
    assert!(hashes.contains(&(2, second)), "{hashes:?}");
}
