//! STIX objects shared under agreements, over HTTP: an object reaches the parties of an
//! agreement in force that covers its category and TLP, and nobody else; suspension,
//! termination, expiry and unsharing stop it on the next request; versions and revocation;
//! pseudonymous sources; every read by another organisation is a disclosure naming the
//! version, the agreement and the decision; refused input writes nothing.

use crate::harness::*;
use cirhub_shared::sharing::Tlp;
use cirhub_shared::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn indicator(tlp: Tlp, ip: &str) -> Value {
    json!({
        "type": "indicator", "spec_version": "2.1", "id": format!("indicator--{}", uuid()),
        "created": "2026-12-01T10:00:00.000Z", "modified": "2026-12-01T10:00:00.000Z",
        "name": format!("C2 server {ip}"), "indicator_types": ["malicious-activity"],
        "pattern": format!("[ipv4-addr:value = '{ip}']"), "pattern_type": "stix",
        "valid_from": "2026-12-01T10:00:00Z", "confidence": 80,
        "object_marking_refs": [tlp.marking_definition_id()]
    })
}

async fn share(app: &TestApp, owner: &Session, object: Value, under: &[&str]) -> Value {
    app.create(
        "/api/v1/stix-objects",
        owner,
        json!({"object": object, "share_under": under}),
    )
    .await
}

async fn sees(app: &TestApp, s: &Session, key: &str) -> StatusCode {
    app.get(&format!("/api/v1/stix-objects/{key}"), s).await.0
}

#[tokio::test]
async fn an_indicator_shared_under_an_agreement_reaches_its_parties_and_nobody_else() {
    let app = TestApp::spawn().await;
    let p = app.provider("nimbus", Role::Admin).await;
    let c = app.customer("acme", Role::Admin).await;
    let x = app.customer("globex", Role::Admin).await;
    let ag = app.agreement(&p, &c, "amber", json!(["indicators"])).await;
    let sent = indicator(Tlp::Amber, "203.0.113.7");
    let own = share(&app, &p, sent.clone(), &[&ag]).await;
    let key = own["key"].as_str().unwrap().to_string();
    assert_eq!(
        (own["own"].clone(), own["version"].clone()),
        (json!(true), json!(1))
    );
    assert_eq!(own["agreements"], json!([ag]));

    let (s, got) = app.get(&format!("/api/v1/stix-objects/{key}"), &c).await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(got["own"], false);
    assert_eq!(got["owner"], "nimbus");
    assert_eq!(got["agreements"], json!([ag]));
    assert_eq!(got["object"]["pattern"], sent["pattern"]);
    assert_eq!(got["object"]["id"], sent["id"]);
    assert!(got["object"]["created_by_ref"]
        .as_str()
        .unwrap()
        .starts_with("identity--"));
    assert_eq!(got["hash"], own["hash"]);
    let (_, listed) = app.get("/api/v1/stix-objects", &c).await;
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0]["key"], json!(key));

    // The outsider: nothing, by any path.
    assert_eq!(sees(&app, &x, &key).await, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/v1/stix-objects", &x).await.1["total"], 0);
    let (s, b) = app
        .get(&format!("/api/v1/stix-objects/{key}/versions"), &x)
        .await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "not_found");
    let (s, b) = app
        .post(
            &format!("/api/v1/stix-objects/{key}/shares"),
            &x,
            json!({"agreement_id": ag}),
        )
        .await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "not_found");
    let (s, b) = app
        .delete(&format!("/api/v1/stix-objects/{key}/shares/{ag}"), &x)
        .await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "not_found");
    // A recipient cannot reshare or unshare what it does not own.
    let (s, b) = app
        .delete(&format!("/api/v1/stix-objects/{key}/shares/{ag}"), &c)
        .await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "not_found");

    // Each read by the recipient is a disclosure naming the version, its hash, the
    // agreement and the decision; the owner's own reads are not.
    let (_, d) = app
        .get(
            &format!("/api/v1/audit/disclosures?object_type=stix&object_id={key}"),
            &c,
        )
        .await;
    let rows = d["items"].as_array().expect("items");
    assert_eq!(rows.len(), 2, "one for the read, one for the list: {d}");
    for r in rows {
        assert_eq!(r["object_version"], 1);
        assert_eq!(r["object_hash"], own["hash"]);
        assert_eq!(r["detail"]["agreement_id"], json!(ag));
        assert_eq!(r["detail"]["agreement_version"], 1);
        assert_eq!(r["detail"]["decision"], "covered");
    }
    let (_, d) = app
        .get(
            &format!("/api/v1/audit/disclosures?object_type=stix&object_id={key}"),
            &p,
        )
        .await;
    assert_eq!(d["total"], 0, "{d}");

    // "Who received my indicator?" The owner sees each disclosure with its recipient; the
    // recipient lists what it received and under which agreement; nobody else sees either.
    let (s, r) = app
        .get(&format!("/api/v1/stix-objects/{key}/receipts"), &p)
        .await;
    assert_eq!((s, r["total"].clone()), (StatusCode::OK, json!(2)), "{r}");
    for item in r["items"].as_array().unwrap() {
        assert_eq!(item["recipient"], "acme");
        assert_eq!(item["agreement_id"], json!(ag));
        assert_eq!(
            (item["version"].clone(), item["hash"].clone()),
            (json!(1), own["hash"].clone())
        );
        assert_eq!(item["channel"], "http");
    }
    let (_, got) = app.get("/api/v1/stix-objects/received", &c).await;
    assert_eq!(got["total"], 2, "{got}");
    assert_eq!(got["items"][0]["stix_id"], sent["id"]);
    assert!(got["items"][0]["recipient"].is_null());
    for outsider in [&c, &x] {
        let (s, b) = app
            .get(&format!("/api/v1/stix-objects/{key}/receipts"), outsider)
            .await;
        assert_problem(s, &b, StatusCode::NOT_FOUND, "not_found");
    }
    assert_eq!(
        app.get("/api/v1/stix-objects/received", &x).await.1["total"],
        0
    );
}

#[tokio::test]
async fn suspension_termination_expiry_and_unsharing_stop_the_next_request() {
    let app = TestApp::spawn().await;
    let p = app.provider("nimbus", Role::Admin).await;
    let c = app.customer("acme", Role::Admin).await;
    let ag = app.agreement(&p, &c, "amber", json!(["indicators"])).await;
    let key = share(&app, &p, indicator(Tlp::Green, "198.51.100.1"), &[&ag]).await["key"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(sees(&app, &c, &key).await, StatusCode::OK);

    let step = |s: &str| format!("/api/v1/agreements/{ag}/{s}");
    assert_eq!(
        app.post(&step("suspend"), &p, json!({})).await.0,
        StatusCode::OK
    );
    assert_eq!(sees(&app, &c, &key).await, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/v1/stix-objects", &c).await.1["total"], 0);
    assert_eq!(
        app.post(&step("resume"), &p, json!({})).await.0,
        StatusCode::OK
    );
    assert_eq!(sees(&app, &c, &key).await, StatusCode::OK);

    let (s, _) = app
        .delete(&format!("/api/v1/stix-objects/{key}/shares/{ag}"), &p)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(sees(&app, &c, &key).await, StatusCode::NOT_FOUND);
    let (s, b) = app
        .post(
            &format!("/api/v1/stix-objects/{key}/shares"),
            &p,
            json!({"agreement_id": ag}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(sees(&app, &c, &key).await, StatusCode::OK);

    assert_eq!(
        app.post(&step("terminate"), &c, json!({})).await.0,
        StatusCode::OK
    );
    assert_eq!(sees(&app, &c, &key).await, StatusCode::NOT_FOUND);
    // Nothing more is shared under an ended agreement.
    let (s, b) = app
        .post(
            "/api/v1/stix-objects",
            &p,
            json!({"object": indicator(Tlp::Green, "198.51.100.2"), "share_under": [ag]}),
        )
        .await;
    let problem = assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem.errors[0].field, "share_under[0]");

    // An agreement that ends by its own clock stops access on the next request.
    let until = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let a: Value = app
        .create(
            "/api/v1/agreements",
            &p,
            json!({"kind": "bilateral", "title": "short", "tlp_ceiling": "amber",
                "parties": [{"organisation": "nimbus", "role": "provider"},
                            {"organisation": "acme", "role": "customer"}],
                "categories": ["indicators"], "onward": "none", "attribution": "named",
                "retention_days": 1, "effective_until": until}),
        )
        .await;
    let short = a["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/agreements/{short}/accept"),
        &c,
        json!({"version": 1}),
    )
    .await;
    let key = share(&app, &p, indicator(Tlp::Green, "198.51.100.3"), &[&short]).await["key"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(sees(&app, &c, &key).await, StatusCode::OK);
    let wait = until - chrono::Utc::now() + chrono::Duration::milliseconds(50);
    tokio::time::sleep(wait.to_std().unwrap_or_default()).await;
    assert_eq!(sees(&app, &c, &key).await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_ceiling_the_category_and_tlp_red_hold_at_the_exit() {
    let app = TestApp::spawn().await;
    let p = app.provider("nimbus", Role::Admin).await;
    let c = app.customer("acme", Role::Admin).await;
    let ag = app.agreement(&p, &c, "green", json!(["indicators"])).await;
    let key_of = |v: Value| v["key"].as_str().unwrap().to_string();
    let green = key_of(share(&app, &p, indicator(Tlp::Green, "192.0.2.1"), &[&ag]).await);
    let amber = key_of(share(&app, &p, indicator(Tlp::Amber, "192.0.2.2"), &[&ag]).await);
    let red = key_of(share(&app, &p, indicator(Tlp::Red, "192.0.2.3"), &[&ag]).await);
    let malware = key_of(
        share(
            &app,
            &p,
            json!({"type": "malware", "spec_version": "2.1", "id": format!("malware--{}", uuid()),
                "created": "2026-12-01T10:00:00Z", "modified": "2026-12-01T10:00:00Z",
                "name": "Loader", "is_family": true,
                "object_marking_refs": [Tlp::Clear.marking_definition_id()]}),
            &[&ag],
        )
        .await,
    );
    assert_eq!(sees(&app, &c, &green).await, StatusCode::OK);
    assert_eq!(
        sees(&app, &c, &amber).await,
        StatusCode::NOT_FOUND,
        "above the ceiling"
    );
    assert_eq!(
        sees(&app, &c, &red).await,
        StatusCode::NOT_FOUND,
        "RED: named persons only"
    );
    assert_eq!(
        sees(&app, &c, &malware).await,
        StatusCode::NOT_FOUND,
        "category not agreed"
    );
    let (_, listed) = app.get("/api/v1/stix-objects", &c).await;
    assert_eq!(listed["total"], 1, "{listed}");
    let (_, own) = app.get("/api/v1/stix-objects?own=true", &p).await;
    assert_eq!(own["total"], 4);
    let (_, mine) = app.get("/api/v1/stix-objects?type=malware", &p).await;
    assert_eq!(mine["total"], 1);
}

#[tokio::test]
async fn a_new_version_and_a_revocation_reach_the_recipient_as_the_newest_version() {
    let app = TestApp::spawn().await;
    let p = app.provider("nimbus", Role::Admin).await;
    let c = app.customer("acme", Role::Admin).await;
    let ag = app.agreement(&p, &c, "amber", json!(["indicators"])).await;
    let mut v = indicator(Tlp::Green, "203.0.113.50");
    let first = share(&app, &p, v.clone(), &[&ag]).await;
    let key = first["key"].as_str().unwrap().to_string();

    // The same version again changes nothing.
    let (s, again) = app
        .post("/api/v1/stix-objects", &p, json!({"object": v}))
        .await;
    assert_eq!((s, again["version"].clone()), (StatusCode::OK, json!(1)));
    // An older or equal `modified` with other content is refused, naming the field.
    v["confidence"] = json!(20);
    let (s, b) = app
        .post("/api/v1/stix-objects", &p, json!({"object": v}))
        .await;
    let problem = assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem.errors[0].field, "object.modified");
    v["modified"] = json!("2026-12-02T09:00:00.000Z");
    let (s, second) = app
        .post("/api/v1/stix-objects", &p, json!({"object": v}))
        .await;
    assert_eq!(
        (s, second["version"].clone()),
        (StatusCode::OK, json!(2)),
        "{second}"
    );
    let (_, got) = app.get(&format!("/api/v1/stix-objects/{key}"), &c).await;
    assert_eq!(
        (got["version"].clone(), got["object"]["confidence"].clone()),
        (json!(2), json!(20))
    );

    v["modified"] = json!("2026-12-03T09:00:00.000Z");
    v["revoked"] = json!(true);
    let (s, third) = app
        .post("/api/v1/stix-objects", &p, json!({"object": v}))
        .await;
    assert_eq!((s, third["revoked"].clone()), (StatusCode::OK, json!(true)));
    let (_, got) = app.get(&format!("/api/v1/stix-objects/{key}"), &c).await;
    assert_eq!(
        (got["version"].clone(), got["revoked"].clone()),
        (json!(3), json!(true))
    );
    let (_, versions) = app
        .get(&format!("/api/v1/stix-objects/{key}/versions"), &c)
        .await;
    let list = versions.as_array().expect("versions");
    assert_eq!(list.len(), 3);
    assert_eq!(list[0]["hash"], first["hash"]);
    assert_eq!(list[2]["revoked"], true);
    // Nothing comes after a revocation.
    v["modified"] = json!("2026-12-04T09:00:00.000Z");
    v["revoked"] = json!(false);
    let (s, b) = app
        .post("/api/v1/stix-objects", &p, json!({"object": v}))
        .await;
    assert_problem(s, &b, StatusCode::CONFLICT, "conflict");
}

#[tokio::test]
async fn a_pseudonymous_community_hides_the_source_behind_a_stable_pseudonym() {
    let app = TestApp::spawn().await;
    let isac = app.provider("cloud-isac", Role::Admin).await;
    let a = app.customer("acme", Role::Admin).await;
    let b = app.customer("globex", Role::Admin).await;
    let ag: Value = app
        .create(
            "/api/v1/agreements",
            &isac,
            json!({"kind": "community", "title": "Cloud ISAC", "tlp_ceiling": "amber",
                "parties": [{"organisation": "cloud-isac", "role": "coordinator"},
                    {"organisation": "acme", "role": "member"},
                    {"organisation": "globex", "role": "member"}],
                "categories": ["indicators"], "onward": "none",
                "attribution": "pseudonymous", "retention_days": 30}),
        )
        .await;
    let ag = ag["id"].as_str().unwrap().to_string();
    for m in [&a, &b] {
        app.post(
            &format!("/api/v1/agreements/{ag}/accept"),
            m,
            json!({"version": 1}),
        )
        .await;
    }
    let one = share(&app, &a, indicator(Tlp::Green, "203.0.113.80"), &[&ag]).await;
    let two = share(&app, &a, indicator(Tlp::Green, "203.0.113.81"), &[&ag]).await;
    let (_, seen_one) = app
        .get(
            &format!("/api/v1/stix-objects/{}", one["key"].as_str().unwrap()),
            &b,
        )
        .await;
    let (_, seen_two) = app
        .get(
            &format!("/api/v1/stix-objects/{}", two["key"].as_str().unwrap()),
            &b,
        )
        .await;
    assert!(seen_one["owner"].is_null(), "{seen_one}");
    let pseudonym = &seen_one["object"]["created_by_ref"];
    assert_ne!(
        pseudonym, &one["object"]["created_by_ref"],
        "the source's identity is hidden"
    );
    assert_eq!(
        pseudonym, &seen_two["object"]["created_by_ref"],
        "stable per agreement"
    );
    assert!(!seen_one.to_string().contains("acme"), "{seen_one}");
}

#[tokio::test]
async fn refused_objects_name_the_field_and_write_nothing() {
    let app = TestApp::spawn().await;
    let p = app.provider("nimbus", Role::Admin).await;
    let c = app.customer("acme", Role::Admin).await;
    let x = app.customer("globex", Role::Admin).await;
    let viewer = app.colleague(&p, "viewer", Role::Viewer).await;
    let ag = app.agreement(&p, &c, "amber", json!(["indicators"])).await;
    let mut unmarked = indicator(Tlp::Green, "192.0.2.9");
    unmarked
        .as_object_mut()
        .unwrap()
        .remove("object_marking_refs");
    let cases = [
        (json!({"object": unmarked}), "object.object_marking_refs"),
        (
            json!({"object": indicator(Tlp::Green, "192.0.2.9"), "share_under": ["nope"]}),
            "share_under[0]",
        ),
        (
            json!({"object": {"type": "x-custom", "id": "x-custom--1"}}),
            "object.type",
        ),
        (json!({"object": [1, 2]}), "object"),
    ];
    for (body, field) in cases {
        let (s, b) = app.post("/api/v1/stix-objects", &p, body).await;
        let problem = assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(problem.errors[0].field, field, "{b}");
    }
    // Another organisation's agreement is as unknown as a missing one.
    let (s, b) = app
        .post(
            "/api/v1/stix-objects",
            &x,
            json!({"object": indicator(Tlp::Green, "192.0.2.10"), "share_under": [ag]}),
        )
        .await;
    let problem = assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem.errors[0].field, "share_under[0]");
    let (s, b) = app
        .post(
            "/api/v1/stix-objects",
            &viewer,
            json!({"object": indicator(Tlp::Green, "192.0.2.11")}),
        )
        .await;
    assert_problem(s, &b, StatusCode::FORBIDDEN, "forbidden");
    for s in [&p, &c, &x] {
        assert_eq!(app.get("/api/v1/stix-objects", s).await.1["total"], 0);
    }
}

#[tokio::test]
async fn the_demo_world_exchanges_indicators_under_its_two_agreements() {
    let app = TestApp::spawn().await;
    std::env::set_var("CIRHUB_DEMO_PASSWORD", "demo-password-for-tests");
    cirhub::demo::seed_if_empty(&app.state).expect("demo seed");
    let acme = app
        .login_with("analyst@acme.example", "demo-password-for-tests")
        .await;
    let globex = app
        .login_with("admin@globex.example", "demo-password-for-tests")
        .await;
    let isac = app
        .login_with("admin@cloud-isac.example", "demo-password-for-tests")
        .await;
    // Acme: 120 AMBER indicators and the report from Nimbus by name, 180 GREEN ones from the
    // community without a source.
    let (_, amber) = app
        .get("/api/v1/stix-objects?tlp=amber&per_page=100", &acme)
        .await;
    assert_eq!(amber["total"], 121, "{}", amber["total"]);
    assert!(amber["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["owner"] == "nimbus"));
    let (_, green) = app
        .get("/api/v1/stix-objects?tlp=green&per_page=100", &acme)
        .await;
    assert_eq!(green["total"], 180);
    assert!(green["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["owner"].is_null()));
    // Globex is only in the community; the ISAC coordinates it and sees the same.
    for s in [&globex, &isac] {
        let (_, all) = app.get("/api/v1/stix-objects?per_page=1", s).await;
        assert_eq!(all["total"], 180, "{}", s.slug);
        let (_, agreements) = app.get("/api/v1/agreements", s).await;
        assert_eq!(agreements["total"], 1);
        assert_eq!(agreements["items"][0]["state"], "active");
    }
    let (_, report) = app.get("/api/v1/stix-objects?type=report", &acme).await;
    assert_eq!(
        report["items"][0]["object"]["object_refs"]
            .as_array()
            .unwrap()
            .len(),
        120
    );
}
