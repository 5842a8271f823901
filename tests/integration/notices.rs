//! Live and revocation notices of shared objects: a new object goes out on the stream at
//! once to the organisations the policy lets it reach and nobody else; when its owner
//! revokes it, every organisation that received it is told on the stream and by mail (its
//! admins and analysts), and the owner's receipts show who was told, by which channel.

use crate::mail::{spawn_with_smtp, Smtp};
use cirhub_shared::sharing::Tlp;
use cirhub_shared::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn indicator(tlp: Tlp) -> Value {
    json!({"type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--{}", uuid::Uuid::new_v4()),
        "created": "2026-12-01T10:00:00.000Z", "modified": "2026-12-01T10:00:00.000Z",
        "pattern": "[ipv4-addr:value = '203.0.113.66']", "pattern_type": "stix",
        "valid_from": "2026-12-01T10:00:00Z",
        "object_marking_refs": [tlp.marking_definition_id()]})
}

#[tokio::test]
async fn shared_objects_go_out_live_and_a_revocation_reaches_everyone_who_received_it() {
    let smtp = Smtp::start();
    let app = spawn_with_smtp(&smtp).await;
    let p = app.provider("nimbus", Role::Admin).await;
    let c = app.customer("acme", Role::Admin).await;
    let x = app.customer("globex", Role::Admin).await;
    let ag = app.agreement(&p, &c, "amber", json!(["indicators"])).await;
    let mut cs = app.stream(&c.token, None).await;
    let mut xs = app.stream(&x.token, None).await;
    cs.live().await;
    xs.live().await;

    let sent = indicator(Tlp::Amber);
    let own: Value = app
        .create(
            "/api/v1/stix-objects",
            &p,
            json!({"object": sent, "share_under": [ag]}),
        )
        .await;
    let key = own["key"].as_str().unwrap().to_string();
    let ev = cs.event().await;
    assert_eq!(ev["kind"], "indicator.shared", "{ev}");
    let n = &ev["indicator"];
    assert_eq!(
        (&n["key"], &n["stix_id"], &n["version"], &n["hash"]),
        (&json!(key), &sent["id"], &json!(1), &own["hash"])
    );
    assert_eq!(ev["provider_id"], "", "a notice does not name the source");
    // Above the ceiling: no notice to anyone; the outsider hears of nothing.
    let _: Value = app
        .create(
            "/api/v1/stix-objects",
            &p,
            json!({"object": indicator(Tlp::Red), "share_under": [ag]}),
        )
        .await;
    assert!(cs
        .events_until_quiet(std::time::Duration::from_millis(700))
        .await
        .is_empty());
    assert!(xs
        .events_until_quiet(std::time::Duration::from_millis(300))
        .await
        .is_empty());

    // The customer reads it; then the agreement is suspended and the owner revokes it: the
    // customer received it, so it is told anyway, live and by mail.
    assert_eq!(
        app.get(&format!("/api/v1/stix-objects/{key}"), &c).await.0,
        StatusCode::OK
    );
    app.post(&format!("/api/v1/agreements/{ag}/suspend"), &p, json!({}))
        .await;
    let mut revoked = sent.clone();
    revoked["modified"] = json!("2026-12-02T10:00:00.000Z");
    revoked["revoked"] = json!(true);
    let (s, b) = app
        .post("/api/v1/stix-objects", &p, json!({"object": revoked}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let ev = cs.event().await;
    assert_eq!(ev["kind"], "indicator.revoked", "{ev}");
    assert_eq!(
        (
            &ev["indicator"]["key"],
            &ev["indicator"]["version"],
            &ev["indicator"]["revoked"]
        ),
        (&json!(key), &json!(2), &json!(true))
    );
    assert!(xs
        .events_until_quiet(std::time::Duration::from_millis(300))
        .await
        .is_empty());
    let mails = smtp.wait_for(1).await;
    let mail = mails
        .iter()
        .find(|m| m.contains("Revoked: indicator"))
        .expect("a revocation mail");
    assert!(mail.contains("admin@acme.test"), "{mail}");
    assert!(mail.contains(sent["id"].as_str().unwrap()), "{mail}");
    assert!(
        !mails.iter().any(|m| m.contains("globex")),
        "nobody else is mailed"
    );

    // The owner sees who was told: the customer, on the stream and by mail, version 2.
    let mut told = Vec::new();
    for _ in 0..100 {
        let (_, r) = app
            .get(&format!("/api/v1/stix-objects/{key}/receipts"), &p)
            .await;
        told = r["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["version"] == 2)
            .map(|i| {
                (
                    i["recipient"].as_str().unwrap_or("").to_string(),
                    i["channel"].as_str().unwrap().to_string(),
                )
            })
            .collect::<Vec<_>>();
        told.sort();
        if told.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        told,
        vec![
            ("acme".to_string(), "email".to_string()),
            ("acme".to_string(), "websocket".to_string())
        ]
    );
}
