//! Exports over HTTP, read back by the tools they are for: the STIX bundle's every object
//! passes the OASIS validator, the MISP event loads in PyMISP with its TLP tags, the CSV
//! reads as the importer's columns, a block list holds one kind of value once each. An
//! export holds only what the policy lets reach the caller, each other organisation's
//! object a disclosure through channel export.

use crate::harness::*;
use cirhub_shared::sharing::Tlp;
use cirhub_shared::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn indicator(tlp: Tlp, pattern: &str) -> Value {
    json!({"type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--{}", uuid::Uuid::new_v4()),
        "created": "2026-12-01T10:00:00.000Z", "modified": "2026-12-01T10:00:00.000Z",
        "name": "C2", "description": "seen in the incident",
        "indicator_types": ["malicious-activity"], "pattern": pattern, "pattern_type": "stix",
        "valid_from": "2026-12-01T10:00:00Z", "confidence": 70,
        "object_marking_refs": [tlp.marking_definition_id()]})
}

async fn file(app: &TestApp, s: &Session, query: &str) -> (StatusCode, String, String) {
    let res = app
        .client
        .get(format!("{}/api/v1/stix-objects/export?{query}", app.base))
        .bearer_auth(&s.token)
        // A new connection each time: the files are read by slow tools between requests,
        // long enough for the server to close an idle kept-alive one as it is reused.
        .header("connection", "close")
        .send()
        .await
        .unwrap();
    let status = res.status();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, res.text().await.unwrap())
}

#[tokio::test]
async fn exports_hold_what_the_caller_may_see_and_load_in_the_tools_they_are_for() {
    let app = TestApp::spawn().await;
    let p = app.provider("nimbus", Role::Admin).await;
    let c = app.customer("acme", Role::Admin).await;
    let x = app.customer("globex", Role::Admin).await;
    let ag = app.agreement(&p, &c, "amber", json!(["indicators"])).await;
    let mut shared = Vec::new();
    for (tlp, pattern) in [
        (Tlp::Amber, "[ipv4-addr:value = '203.0.113.7']"),
        (Tlp::Green, "[domain-name:value = 'evil.example.com']"),
        (Tlp::Amber, "[ipv4-addr:value = '198.51.100.0/24']"),
    ] {
        let o = indicator(tlp, pattern);
        shared.push(o["id"].as_str().unwrap().to_string());
        let _: Value = app
            .create(
                "/api/v1/stix-objects",
                &p,
                json!({"object": o, "share_under": [ag]}),
            )
            .await;
    }
    // Above the ceiling, and not shared at all: in no export of the customer's.
    let red = indicator(Tlp::Red, "[ipv4-addr:value = '192.0.2.1']");
    let _: Value = app
        .create(
            "/api/v1/stix-objects",
            &p,
            json!({"object": red, "share_under": [ag]}),
        )
        .await;
    let own = indicator(Tlp::Clear, "[ipv4-addr:value = '192.0.2.2']");
    let _: Value = app
        .create("/api/v1/stix-objects", &p, json!({"object": own}))
        .await;

    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (format, ct) in [
        ("stix", "application/stix+json"),
        ("misp", "application/json"),
        ("csv", "text/csv"),
    ] {
        let (s, got_ct, body) = file(&app, &c, &format!("format={format}")).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert!(got_ct.starts_with(ct), "{got_ct}");
        let path = dir.path().join(format);
        std::fs::write(&path, body).unwrap();
        paths.push(path);
    }
    let out = std::process::Command::new(test_python())
        .arg("-B")
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/exports/check.py"))
        .args(&paths)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    shared.sort();
    assert_eq!(
        got["stix_ids"],
        json!(shared),
        "exactly what was shared within the ceiling"
    );
    assert_eq!(got["invalid"], json!([]), "every object validates");
    let attrs = got["misp_attributes"].as_array().unwrap();
    let values: Vec<&str> = attrs.iter().map(|a| a["value"].as_str().unwrap()).collect();
    assert_eq!(values.len(), 3, "{got}");
    for v in ["203.0.113.7", "evil.example.com", "198.51.100.0/24"] {
        assert!(values.contains(&v), "{v} in {values:?}");
    }
    assert!(attrs.iter().all(|a| a["to_ids"] == true));
    let ip = attrs.iter().find(|a| a["value"] == "203.0.113.7").unwrap();
    assert_eq!(ip["tags"], json!(["tlp:amber"]));
    assert_eq!(
        got["misp_tags"],
        json!(["tlp:amber"]),
        "the most restrictive marking held"
    );
    let rows = got["csv"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows.iter()
            .find(|r| r["value"] == "evil.example.com")
            .unwrap()["tlp"],
        "green"
    );

    // A block list: one kind, each value once; filters narrow; the owner sees its own too.
    let (s, ct, body) = file(&app, &c, "format=blocklist&kind=ipv4").await;
    assert_eq!((s, ct.starts_with("text/plain")), (StatusCode::OK, true));
    let mut lines: Vec<&str> = body.lines().collect();
    lines.sort();
    assert_eq!(lines, ["198.51.100.0/24", "203.0.113.7"]);
    let (_, _, body) = file(&app, &c, "format=blocklist&kind=domain&tlp=green").await;
    assert_eq!(body.lines().collect::<Vec<_>>(), ["evil.example.com"]);
    let (_, _, body) = file(&app, &p, "format=blocklist&kind=ipv4").await;
    assert_eq!(body.lines().count(), 4, "{body}");

    // Each object in the customer's files was disclosed through channel export.
    let (_, d) = app
        .get("/api/v1/audit/disclosures?object_type=stix", &c)
        .await;
    let exported = d["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["channel"] == "export")
        .count();
    assert_eq!(exported, 3 * 3 + 2 + 1, "{d}");

    // An outsider's export is empty; bad parameters are a clear 422.
    let (_, _, body) = file(&app, &x, "format=stix").await;
    let b: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(b["objects"], json!([]));
    let (s, _, body) = file(&app, &c, "format=blocklist").await;
    let b: Value = serde_json::from_str(&body).unwrap();
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(b["errors"][0]["field"], "kind");
    let (s, _, body) = file(&app, &c, "format=xml").await;
    let b: Value = serde_json::from_str(&body).unwrap();
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // Suspended: the next export holds nothing of it.
    app.post(&format!("/api/v1/agreements/{ag}/suspend"), &p, json!({}))
        .await;
    let (_, _, body) = file(&app, &c, "format=csv").await;
    assert_eq!(body.lines().count(), 1, "the header only: {body}");
}
