//! Passing on (owner A -> B -> C): a recipient shares what it received from the owner under
//! one of its own agreements. Every read by C is decided along the whole path — A-B must let
//! B pass it on (to its clients only at TLP:AMBER, never at AMBER+STRICT), B-C must cover it —
//! the owner is never named to C, and a break anywhere on the path stops C's next request.

use crate::harness::*;
use cirhub_shared::sharing::Tlp;
use cirhub_shared::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn indicator(tlp: Tlp, ip: &str) -> Value {
    json!({
        "type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--{}", uuid::Uuid::new_v4()),
        "created": "2026-12-01T10:00:00.000Z", "modified": "2026-12-01T10:00:00.000Z",
        "pattern": format!("[ipv4-addr:value = '{ip}']"), "pattern_type": "stix",
        "valid_from": "2026-12-01T10:00:00Z",
        "object_marking_refs": [tlp.marking_definition_id()]
    })
}

/// A bilateral agreement in force between `a` and `b` with `roles` and `onward`.
async fn agreed(app: &TestApp, a: &Session, b: &Session, roles: [&str; 2], onward: &str) -> String {
    agreed_titled(app, (a, b), ("Feed", "amber+strict"), roles, onward).await
}

/// [`agreed`] with a title and TLP ceiling of its own (`a` proposes, `b` accepts).
pub(crate) async fn agreed_titled(
    app: &TestApp,
    (a, b): (&Session, &Session),
    (title, ceiling): (&str, &str),
    roles: [&str; 2],
    onward: &str,
) -> String {
    let created: Value = app
        .create(
            "/api/v1/agreements",
            a,
            json!({"kind": "bilateral", "title": title, "tlp_ceiling": ceiling,
                "parties": [{"organisation": a.slug, "role": roles[0]},
                            {"organisation": b.slug, "role": roles[1]}],
                "categories": ["indicators"], "onward": onward, "attribution": "named",
                "retention_days": 90}),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_string();
    let (s, body) = app
        .post(
            &format!("/api/v1/agreements/{id}/accept"),
            b,
            json!({"version": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    id
}

/// The owner (a provider), B (a provider with customers of its own) and B's client C.
async fn three() -> (TestApp, Session, Session, Session) {
    let app = TestApp::spawn().await;
    let a = app.provider("nimbus", Role::Admin).await;
    let b_org = app.org("msp", true, true);
    app.user(&b_org, "admin@msp.test", Role::Admin);
    let b = app.login("admin@msp.test").await;
    let c = app.customer("client", Role::Admin).await;
    (app, a, b, c)
}

#[tokio::test]
async fn a_recipient_passes_on_what_the_owners_terms_let_go_on_and_nothing_else() {
    let (app, a, b, c) = three().await;
    let d = app.customer("peer", Role::Admin).await;
    let ab = agreed(&app, &a, &b, ["provider", "customer"], "clients").await;
    let bc = agreed(&app, &b, &c, ["provider", "customer"], "none").await;
    let bd = agreed(&app, &b, &d, ["member", "member"], "none").await;
    let key = |v: Value| v["key"].as_str().unwrap().to_string();
    let green = indicator(Tlp::Green, "198.51.100.7");
    let g = key(app
        .create(
            "/api/v1/stix-objects",
            &a,
            json!({"object": green, "share_under": [ab]}),
        )
        .await);
    let amber = key(app
        .create(
            "/api/v1/stix-objects",
            &a,
            json!({"object": indicator(Tlp::Amber, "198.51.100.8"), "share_under": [ab]}),
        )
        .await);
    let strict = key(app
        .create(
            "/api/v1/stix-objects",
            &a,
            json!({"object": indicator(Tlp::AmberStrict, "198.51.100.9"), "share_under": [ab]}),
        )
        .await);
    let mut cs = app.stream(&c.token, None).await;
    cs.live().await;
    let on = |k: &str| format!("/api/v1/stix-objects/{k}/onward");
    let sees = |k: &str| format!("/api/v1/stix-objects/{k}");
    assert_eq!(app.get(&sees(&g), &c).await.0, StatusCode::NOT_FOUND);

    // B passes GREEN and AMBER on to its client C: C reads them, told live, the owner unnamed.
    for k in [&g, &amber] {
        let (s, body) = app.post(&on(k), &b, json!({"agreement_id": bc})).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let ev = cs.event().await;
        assert_eq!(
            (&ev["kind"], &ev["indicator"]["key"]),
            (&json!("indicator.shared"), &json!(k))
        );
    }
    let (s, seen) = app.get(&sees(&g), &c).await;
    assert_eq!(s, StatusCode::OK, "{seen}");
    assert_eq!(
        seen["owner"],
        Value::Null,
        "the owner is not named after a hop: {seen}"
    );
    assert_eq!(seen["agreements"], json!([bc]));
    assert!(
        seen.get("passed_on_under").is_none(),
        "C passes nothing on: {seen}"
    );
    let (_, by_b) = app.get(&sees(&g), &b).await;
    assert_eq!(
        (&by_b["agreements"], &by_b["passed_on_under"]),
        (&json!([ab]), &json!([bc])),
        "B sees what it received it under and what it passes it on under: {by_b}"
    );
    let (_, own_view) = app.get(&sees(&g), &a).await;
    assert_ne!(
        seen["object"]["created_by_ref"], own_view["object"]["created_by_ref"],
        "C sees a pseudonym of the source"
    );
    assert_eq!(
        own_view["agreements"],
        json!([ab]),
        "the owner sees its own shares only"
    );
    assert_eq!(app.get(&sees(&amber), &c).await.0, StatusCode::OK);
    let (_, found) = app.get("/api/v1/lookup?value=198.51.100.7", &c).await;
    assert_eq!(found["matches"][0]["key"], json!(g), "{found}");
    let (_, listed) = app.get("/api/v1/stix-objects", &c).await;
    assert_eq!(listed["total"], 2, "{listed}");

    // What the path does not allow is refused, naming the field, and writes nothing.
    for (k, under, why) in [
        (&amber, &bd, "AMBER goes on to clients only"),
        (&g, &bd, "A-B allows clients, not peers"),
        (&strict, &bc, "AMBER+STRICT never goes on"),
    ] {
        let (s, body) = app.post(&on(k), &b, json!({"agreement_id": under})).await;
        assert_problem(
            s,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(body["errors"][0]["field"], "agreement_id", "{why}: {body}");
    }
    assert_eq!(app.get(&sees(&g), &d).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&sees(&strict), &c).await.0, StatusCode::NOT_FOUND);
    // The owner shares; a second hop is not allowed; an outsider finds nothing.
    let (s, _) = app.post(&on(&g), &a, json!({"agreement_id": ab})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = app.post(&on(&g), &c, json!({"agreement_id": bc})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = app.post(&on(&g), &d, json!({"agreement_id": bd})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, body) = app.post(&on(&g), &b, json!({"agreement_id": "nope"})).await;
    assert_problem(
        s,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );

    // The owner's receipts show C's read, passed on by B; its audit log who passed it on.
    let (_, receipts) = app
        .get(&format!("/api/v1/stix-objects/{g}/receipts"), &a)
        .await;
    let recipients: Vec<&str> = receipts["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["recipient"].as_str())
        .collect();
    // C's reads, and what B was answered when it passed the object on.
    assert!(recipients.contains(&"client"), "{receipts}");
    assert!(recipients.contains(&"msp"), "{receipts}");
    let (_, log) = app
        .get(&format!("/api/v1/audit?object_type=stix&object_id={g}"), &a)
        .await;
    assert!(log.to_string().contains("stix.passed_on"), "{log}");

    // A break on the path stops C on its next request: the owner suspends A-B ...
    let step = |what: &str| format!("/api/v1/agreements/{ab}/{what}");
    assert_eq!(
        app.post(&step("suspend"), &a, json!({})).await.0,
        StatusCode::OK
    );
    assert_eq!(app.get(&sees(&g), &c).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.post(&step("resume"), &a, json!({})).await.0,
        StatusCode::OK
    );
    assert_eq!(app.get(&sees(&g), &c).await.0, StatusCode::OK);
    // ... or B stops passing it on (only B can: for anyone else the share does not exist).
    let stop = format!("/api/v1/stix-objects/{g}/onward/{bc}");
    assert_eq!(app.delete(&stop, &d).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.delete(&stop, &c).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.delete(&stop, &b).await.0, StatusCode::NO_CONTENT);
    let (_, by_b) = app.get(&sees(&g), &b).await;
    assert!(by_b.get("passed_on_under").is_none(), "{by_b}");
    assert_eq!(app.get(&sees(&g), &c).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.delete(&stop, &b).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn what_was_passed_on_reaches_the_next_party_through_taxii_under_the_whole_path() {
    let (app, a, b, c) = three().await;
    let ab = agreed(&app, &a, &b, ["member", "member"], "community").await;
    let bc = agreed(&app, &b, &c, ["member", "member"], "none").await;
    let object = indicator(Tlp::Green, "198.51.100.20");
    let created: Value = app
        .create(
            "/api/v1/stix-objects",
            &a,
            json!({"object": object, "share_under": [ab]}),
        )
        .await;
    let k = created["key"].as_str().unwrap();
    let (s, body) = app
        .post(
            &format!("/api/v1/stix-objects/{k}/onward"),
            &b,
            json!({"agreement_id": bc}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let t: Value = app
        .create(
            "/api/v1/api-tokens",
            &c,
            json!({"name": "taxii", "role": "viewer"}),
        )
        .await;
    let token = t["secret"].as_str().unwrap().to_string();
    let objects = |token: String| {
        let app = &app;
        let bc = bc.clone();
        async move {
            app.client
                .get(app.url(&format!("/taxii2/api/collections/{bc}/objects/")))
                .header("accept", "application/taxii+json;version=2.1")
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let id = object["id"].as_str().unwrap();
    assert!(objects(token.clone()).await.contains(id));
    // Terminating A-B ends it for C too.
    let (s, _) = app
        .post(&format!("/api/v1/agreements/{ab}/terminate"), &a, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(!objects(token).await.contains(id));
}
