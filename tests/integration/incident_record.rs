//! Each party's own record of an incident (CSA): the 5W intake taken when it is opened,
//! contacts, related incidents, next steps, saved whole as versions; handler comments.
//! Bad input names its fields and saves nothing; a stale version is a 409; each party sees
//! only its own; an organisation that cannot see the incident finds nothing (404).

use crate::harness::*;
use cirhub_shared::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn each_party_keeps_its_own_versioned_record_and_comments() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let p = &w.provider;
    let opened: Value = app
        .create("/api/v1/incidents", p, json!({
            "title": "Data exposure", "body": "Investigating", "impact": "major", "urgency": "high",
            "components": [{"component_id": w.compute_tokyo.id, "status": "partial_outage"}],
            "intake": {"what": "Bucket listing public", "where": "Object storage, Tokyo",
                       "when": "Noticed 09:10 UTC", "who": "Reported by a researcher", "why": "  "}}))
        .await;
    let id = opened["id"].as_str().unwrap().to_string();
    let other: Value = app
        .create("/api/v1/incidents", p, json!({"title": "Earlier leak", "body": "Over", "impact": "minor", "visibility": "internal"}))
        .await;
    let other_id = other["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/incidents/{id}/record");
    let (status, r) = app.get(&path, p).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(
        (r["version"].as_i64(), r["intake"]["where"].as_str()),
        (Some(1), Some("Object storage, Tokyo"))
    );
    assert!(
        r["intake"]["why"].is_null(),
        "a blank answer is absent: {r}"
    );

    // A bad edit names each field and saves nothing.
    let (status, v) = app
        .put(&path, p, json!({"version": 1,
            "contacts": [{"role": "system_owner", "name": "Sato", "email": "not-an-address"}],
            "related": [{"incident_id": "01234567-89ab-cdef-0123-456789abcdef", "relation": "related"}],
            "next_steps": [{"text": " "}]}))
        .await;
    assert_eq!(
        refused_fields(status, &v),
        [
            "contacts[0].email",
            "related[0].incident_id",
            "next_steps[0].text"
        ],
        "{v}"
    );
    let edit = json!({"version": 1,
        "intake": r["intake"],
        "contacts": [{"role": "system_owner", "name": "Sato", "email": "sato@nimbus.test", "phone": "+81 3 1234"},
                     {"role": "customer_contact", "name": "Acme SOC", "email": "soc@acme.test", "organisation": "Acme"}],
        "related": [{"incident_id": other_id, "relation": "follow_up_of"}],
        "next_steps": [{"text": "Rotate the exposed keys", "owner": "Sato", "due_at": "2026-12-05T09:00:00Z"}]});
    let (status, r2) = app.put(&path, p, edit.clone()).await;
    assert_eq!(status, StatusCode::OK, "{r2}");
    assert_eq!(r2["version"], 2);
    assert_eq!(r2["related"][0]["title"], "Earlier leak");
    assert_eq!(r2["contacts"][1]["organisation"], "Acme");
    // The same edit again started from version 1: someone saved meanwhile.
    let (status, v) = app.put(&path, p, edit).await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    let (status, log) = app.get("/api/v1/audit?action=record.update", p).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(log["items"].as_array().unwrap().len(), 2, "{log}");
    assert!(log["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["object_hash"].is_string()));

    // Acme sees the incident and keeps its own record: it starts empty, and it cannot link
    // an incident it cannot see.
    let (status, theirs) = app.get(&path, &w.acme).await;
    assert_eq!(status, StatusCode::OK, "{theirs}");
    assert_eq!(
        (
            theirs["version"].as_i64(),
            theirs["contacts"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );
    let (status, v) = app
        .put(
            &path,
            &w.acme,
            json!({"related": [{"incident_id": other_id, "relation": "related"}]}),
        )
        .await;
    assert_eq!(
        refused_fields(status, &v),
        ["related[0].incident_id"],
        "{v}"
    );
    let (status, v) = app
        .put(&path, &w.acme, json!({"contacts": [{"role": "provider_contact", "name": "Nimbus duty manager", "phone": "+81 3 9999"}]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        app.get(&path, p).await.1["version"],
        2,
        "the provider's is untouched"
    );
    // An id no incident could have is refused as the field, on PostgreSQL too (no 500).
    let (status, v) = app
        .put(
            &path,
            &w.acme,
            json!({"version": 1, "related": [{"incident_id": "x\u{0}y", "relation": "related"}]}),
        )
        .await;
    assert!(
        refused_fields(status, &v)
            .iter()
            .all(|f| f == "related[0].incident_id"),
        "{v}"
    );
    // A related incident the customer stops seeing keeps its link but no longer its title.
    let seen = app
        .open(p, &w.compute_tokyo, "Tokyo packet loss", "public", &[])
        .await;
    let (status, v) = app
        .put(
            &path,
            &w.acme,
            json!({"version": 1, "related": [{"incident_id": seen.id, "relation": "caused_by"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["related"][0]["title"], "Tokyo packet loss");
    let (status, v) = app
        .patch(
            &format!("/api/v1/incidents/{}", seen.id),
            p,
            json!({"visibility": "internal"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (_, theirs) = app.get(&path, &w.acme).await;
    assert_eq!(theirs["related"][0]["incident_id"], seen.id.as_str());
    assert!(theirs["related"][0]["title"].is_null(), "{theirs}");

    // Handler comments: each party's own.
    let comments = format!("/api/v1/incidents/{id}/comments");
    let (status, c) = app
        .post(&comments, p, json!({"body": "Keys rotated in Tokyo"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    let (status, _) = app
        .post(
            &comments,
            &w.acme,
            json!({"body": "Our payments are unaffected"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let mine: Vec<String> = app
        .get(&comments, p)
        .await
        .1
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(mine, ["Keys rotated in Tokyo"]);
    let theirs: Vec<String> = app
        .get(&comments, &w.acme)
        .await
        .1
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(theirs, ["Our payments are unaffected"]);
    let (status, v) = app.post(&comments, p, json!({"body": ""})).await;
    assert_eq!(refused_fields(status, &v), ["body"], "{v}");
    let viewer = app.colleague(p, "vi", Role::Viewer).await;
    let (status, _) = app.post(&comments, &viewer, json!({"body": "hi"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.put(&path, &viewer, json!({"version": 2})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Globex cannot see the incident (Compute in Tokyo is not its scope), another provider
    // has nothing to do with it: nothing exists for them.
    let stranger = app.provider("other-cloud", Role::Admin).await;
    for s in [&w.globex, &stranger] {
        for (status, _) in [
            app.get(&path, s).await,
            app.put(&path, s, json!({})).await,
            app.get(&comments, s).await,
            app.post(&comments, s, json!({"body": "x"})).await,
        ] {
            assert_eq!(status, StatusCode::NOT_FOUND);
        }
    }
}

#[tokio::test]
async fn a_bad_intake_answer_opens_nothing() {
    let app = TestApp::spawn().await;
    let p = app.provider("nimbus", Role::Operator).await;
    let (status, v) = app
        .post(
            "/api/v1/incidents",
            &p,
            json!({"title": "X", "body": "Y", "impact": "minor",
            "intake": {"what": "w".repeat(2001)}}),
        )
        .await;
    assert_eq!(refused_fields(status, &v), ["intake.what"], "{v}");
    let (status, list) = app.get("/api/v1/incidents", &p).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["total"], 0, "{list}");
}
