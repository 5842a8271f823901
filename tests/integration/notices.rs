//! Live and revocation notices of shared objects: a new object goes out on the stream at
//! once to the organisations the policy lets it reach and nobody else; when its owner
//! revokes it, every organisation that received it is told on the stream and by mail (its
//! admins and analysts), and the owner's receipts show who was told, by which channel.
//! When an agreement stops covering what was shared under it (suspended, terminated,
//! amended, expired), those who received it are told it is withdrawn; when it covers it
//! again (resumed), they are told it is shared.

use crate::harness::{Session, TestApp};
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
    // The suspension withdraws it from the customer, naming the agreement and why.
    let ev = cs.event().await;
    assert_eq!(ev["kind"], "indicator.revoked", "{ev}");
    assert_eq!(
        (
            &ev["indicator"]["version"],
            &ev["indicator"]["revoked"],
            &ev["indicator"]["withdrawn"]
        ),
        (
            &json!(1),
            &json!(false),
            &json!({"agreement_id": ag, "cause": "suspended"})
        )
    );
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
    let mails = smtp.wait_for(2).await;
    assert!(mails.iter().any(|m| m.contains("Withdrawn: 1 object(s)")));
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

async fn agreed(
    app: &TestApp,
    p: &Session,
    c: &Session,
    until: Option<chrono::DateTime<chrono::Utc>>,
) -> String {
    let a: Value = app
        .create(
            "/api/v1/agreements",
            p,
            json!({"kind": "bilateral", "title": "Feed", "tlp_ceiling": "amber",
                "parties": [{"organisation": p.slug, "role": "provider"},
                            {"organisation": c.slug, "role": "customer"}],
                "categories": ["indicators"], "onward": "none", "attribution": "named",
                "retention_days": 90, "effective_until": until}),
        )
        .await;
    let id = a["id"].as_str().unwrap().to_string();
    let (s, b) = app
        .post(
            &format!("/api/v1/agreements/{id}/accept"),
            c,
            json!({"version": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    id
}

async fn shared(app: &TestApp, p: &Session, under: &str) -> String {
    let own: Value = app
        .create(
            "/api/v1/stix-objects",
            p,
            json!({"object": indicator(Tlp::Green), "share_under": [under]}),
        )
        .await;
    own["key"].as_str().unwrap().to_string()
}

/// The next notice about `key`: (kind, withdrawal cause or null).
async fn notice_of(s: &mut crate::harness::StreamClient, key: &str) -> (String, Value) {
    loop {
        let ev = s.event().await;
        if ev["indicator"]["key"] == key {
            return (
                ev["kind"].as_str().unwrap().to_string(),
                ev["indicator"]["withdrawn"]["cause"].clone(),
            );
        }
    }
}

#[tokio::test]
async fn an_agreement_that_stops_covering_an_object_withdraws_it_from_those_who_received_it() {
    let smtp = Smtp::start();
    let app = spawn_with_smtp(&smtp).await;
    let p = app.provider("nimbus", Role::Admin).await;
    let c = app.customer("acme", Role::Admin).await;
    let x = app.customer("globex", Role::Admin).await;
    let ag = agreed(&app, &p, &c, None).await;
    let until = chrono::Utc::now() + chrono::Duration::milliseconds(2500);
    let short = agreed(&app, &p, &x, Some(until)).await;
    let mut cs = app.stream(&c.token, None).await;
    let mut xs = app.stream(&x.token, None).await;
    cs.live().await;
    xs.live().await;
    let a = shared(&app, &p, &ag).await;
    let b = shared(&app, &p, &short).await;
    assert_eq!(
        notice_of(&mut cs, &a).await,
        ("indicator.shared".into(), Value::Null)
    );
    assert_eq!(
        notice_of(&mut xs, &b).await,
        ("indicator.shared".into(), Value::Null)
    );

    // Suspended: withdrawn; resumed: shared again; terminated: withdrawn for good.
    let step = |what: &str| format!("/api/v1/agreements/{ag}/{what}");
    assert_eq!(
        app.post(&step("suspend"), &p, json!({})).await.0,
        StatusCode::OK
    );
    assert_eq!(
        notice_of(&mut cs, &a).await,
        ("indicator.revoked".into(), json!("suspended"))
    );
    assert_eq!(
        app.get(&format!("/api/v1/stix-objects/{a}"), &c).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.post(&step("resume"), &p, json!({})).await.0,
        StatusCode::OK
    );
    assert_eq!(
        notice_of(&mut cs, &a).await,
        ("indicator.shared".into(), Value::Null)
    );
    assert_eq!(
        app.post(&step("terminate"), &c, json!({})).await.0,
        StatusCode::OK
    );
    assert_eq!(
        notice_of(&mut cs, &a).await,
        ("indicator.revoked".into(), json!("terminated"))
    );

    // The other agreement ends by the clock: its customer is told when it does, and only it.
    assert_eq!(
        notice_of(&mut xs, &b).await,
        ("indicator.revoked".into(), json!("expired"))
    );
    assert!(chrono::Utc::now() >= until, "told before the end");
    assert!(cs
        .events_until_quiet(std::time::Duration::from_millis(500))
        .await
        .is_empty());

    // Each withdrawal is mailed to the admins of the organisation that lost the object.
    let mails = smtp.wait_for(3).await;
    let withdrawn = |org: &str, cause: &str| {
        mails
            .iter()
            .filter(|m| {
                m.contains(&format!("admin@{org}.test")) && m.contains(&format!("({cause})"))
            })
            .count()
    };
    assert_eq!(
        (
            withdrawn("acme", "suspended"),
            withdrawn("acme", "terminated"),
            withdrawn("globex", "expired")
        ),
        (1, 1, 1),
        "{mails:?}"
    );
    assert!(
        mails.iter().all(|m| !m.contains("admin@nimbus.test")),
        "the owner is not told"
    );
}

#[tokio::test]
async fn an_amendment_that_narrows_an_agreement_withdraws_what_it_no_longer_covers() {
    let app = TestApp::spawn().await;
    let p = app.provider("nimbus", Role::Admin).await;
    let c = app.customer("acme", Role::Admin).await;
    let ag = agreed(&app, &p, &c, None).await;
    let mut cs = app.stream(&c.token, None).await;
    cs.live().await;
    let green = shared(&app, &p, &ag).await;
    assert_eq!(notice_of(&mut cs, &green).await.0, "indicator.shared");
    let (s, b) = app
        .put(
            &format!("/api/v1/agreements/{ag}/terms"),
            &p,
            json!({"kind": "bilateral", "title": "Feed", "tlp_ceiling": "clear",
                "parties": [{"organisation": p.slug, "role": "provider"},
                            {"organisation": c.slug, "role": "customer"}],
                "categories": ["indicators"], "onward": "none", "attribution": "named",
                "retention_days": 90}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // Pending: the terms in force hold, nothing is withdrawn yet.
    assert!(cs
        .events_until_quiet(std::time::Duration::from_millis(500))
        .await
        .is_empty());
    let (s, b) = app
        .post(
            &format!("/api/v1/agreements/{ag}/accept"),
            &c,
            json!({"version": 2}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        notice_of(&mut cs, &green).await,
        ("indicator.revoked".into(), json!("amended"))
    );
}

#[tokio::test]
async fn tlp_red_reaches_the_persons_it_names_through_their_own_channels_only() {
    let smtp = Smtp::start();
    let app = spawn_with_smtp(&smtp).await;
    let p = app.provider("nimbus", Role::Admin).await;
    let c = app.customer("acme", Role::Admin).await;
    let ana = app.colleague(&c, "ana", Role::Analyst).await;
    let x = app.customer("globex", Role::Admin).await;
    let ag = app.agreement(&p, &c, "red", json!(["indicators"])).await;
    let mut cs = app.stream(&c.token, None).await;
    cs.live().await;

    // Only a RED object names recipients, and each must be an address; nothing is written.
    let mut green = indicator(Tlp::Green);
    green["pattern"] = json!("[ipv4-addr:value = '192.0.2.77']");
    let (s, b) = app
        .post(
            "/api/v1/stix-objects",
            &p,
            json!({"object": green, "share_under": [ag], "named_recipients": ["ana@acme.test"]}),
        )
        .await;
    crate::harness::assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(b["errors"][0]["field"], "named_recipients", "{b}");
    let mut red = indicator(Tlp::Red);
    red["pattern"] = json!("[ipv4-addr:value = '192.0.2.77']");
    let (s, b) = app
        .post(
            "/api/v1/stix-objects",
            &p,
            json!({"object": red, "share_under": [ag], "named_recipients": ["ana"]}),
        )
        .await;
    crate::harness::assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(b["errors"][0]["field"], "named_recipients[0]", "{b}");
    let (_, own) = app.get("/api/v1/stix-objects", &p).await;
    assert_eq!(own["total"], 0, "a refused object leaves nothing");

    let created: Value = app
        .create(
            "/api/v1/stix-objects",
            &p,
            json!({"object": red, "share_under": [ag],
                "named_recipients": [" ANA@acme.test", "someone@elsewhere.test"]}),
        )
        .await;
    let key = created["key"].as_str().unwrap().to_string();
    assert_eq!(
        created["named_recipients"],
        json!(["ana@acme.test", "someone@elsewhere.test"])
    );

    // The named analyst reads it and finds it by lookup; her admin, her organisation's
    // token (TAXII), its exports and its stream do not; nor does anyone else.
    let one = format!("/api/v1/stix-objects/{key}");
    let (s, seen) = app.get(&one, &ana).await;
    assert_eq!(s, StatusCode::OK, "{seen}");
    assert!(
        seen.get("named_recipients").is_none(),
        "the list is the owner's: {seen}"
    );
    assert_eq!(app.get(&one, &c).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&one, &x).await.0, StatusCode::NOT_FOUND);
    let found = |s: Value| s["matches"].as_array().map_or(0, Vec::len);
    assert_eq!(
        found(app.get("/api/v1/lookup?value=192.0.2.77", &ana).await.1),
        1
    );
    assert_eq!(
        found(app.get("/api/v1/lookup?value=192.0.2.77", &c).await.1),
        0
    );
    let (_, export) = app
        .get("/api/v1/stix-objects/export?format=stix", &ana)
        .await;
    assert!(
        !export.to_string().contains(red["id"].as_str().unwrap()),
        "an export is organisation-wide: {export}"
    );
    let t: Value = app
        .create(
            "/api/v1/api-tokens",
            &c,
            json!({"name": "taxii", "role": "viewer"}),
        )
        .await;
    let res = app
        .client
        .get(app.url(&format!("/taxii2/api/collections/{ag}/objects/")))
        .header("accept", "application/taxii+json;version=2.1")
        .bearer_auth(t["secret"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.text().await.unwrap();
    assert!(!body.contains(red["id"].as_str().unwrap()), "{body}");
    assert!(cs
        .events_until_quiet(std::time::Duration::from_millis(500))
        .await
        .is_empty());

    // She is told by mail, for her only; so is its revocation.
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].contains("ana@acme.test") && mails[0].contains("TLP:RED for you"));
    let mut revoked = red.clone();
    revoked["modified"] = json!("2026-12-02T10:00:00.000Z");
    revoked["revoked"] = json!(true);
    let (s, b) = app
        .post("/api/v1/stix-objects", &p, json!({"object": revoked}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let mails = smtp.wait_for(2).await;
    let last = mails
        .iter()
        .find(|m| m.contains("Revoked: TLP:RED"))
        .expect("revocation");
    assert!(last.contains("ana@acme.test"), "{last}");
    assert!(
        !mails.iter().any(|m| m.contains("admin@acme.test")),
        "nobody unnamed is mailed: {mails:?}"
    );
    assert!(cs
        .events_until_quiet(std::time::Duration::from_millis(500))
        .await
        .is_empty());
}

/// An agreement that stops covering a TLP:RED object tells the persons it names, by mail,
/// that it is withdrawn, and its resumption that it is back; nobody unnamed hears of it.
#[tokio::test]
async fn an_agreement_that_stops_tells_the_persons_a_red_object_names() {
    let smtp = Smtp::start();
    let app = spawn_with_smtp(&smtp).await;
    let p = app.provider("nimbus", Role::Admin).await;
    let c = app.customer("acme", Role::Admin).await;
    let ana = app.colleague(&c, "ana", Role::Analyst).await;
    let ag = app.agreement(&p, &c, "red", json!(["indicators"])).await;
    let mut red = indicator(Tlp::Red);
    red["pattern"] = json!("[ipv4-addr:value = '192.0.2.78']");
    let created: Value = app
        .create(
            "/api/v1/stix-objects",
            &p,
            json!({"object": red, "share_under": [ag], "named_recipients": ["ana@acme.test"]}),
        )
        .await;
    let one = format!("/api/v1/stix-objects/{}", created["key"].as_str().unwrap());
    assert_eq!(app.get(&one, &ana).await.0, StatusCode::OK);
    let mails = smtp.wait_for(1).await;
    assert!(mails[0].contains("TLP:RED for you"), "{mails:?}");

    let step = |what: &str| format!("/api/v1/agreements/{ag}/{what}");
    assert_eq!(
        app.post(&step("suspend"), &p, json!({})).await.0,
        StatusCode::OK
    );
    let mails = smtp.wait_for(2).await;
    let withdrawn = mails
        .iter()
        .find(|m| m.contains("Withdrawn: TLP:RED"))
        .unwrap_or_else(|| panic!("no withdrawal: {mails:?}"));
    assert!(
        withdrawn.contains("ana@acme.test") && withdrawn.contains("suspended"),
        "{withdrawn}"
    );
    assert_eq!(app.get(&one, &ana).await.0, StatusCode::NOT_FOUND);

    assert_eq!(
        app.post(&step("resume"), &p, json!({})).await.0,
        StatusCode::OK
    );
    let mails = smtp.wait_for(3).await;
    assert_eq!(
        mails
            .iter()
            .filter(|m| m.contains("TLP:RED for you"))
            .count(),
        2,
        "told again that it is back: {mails:?}"
    );
    assert_eq!(app.get(&one, &ana).await.0, StatusCode::OK);
    assert!(
        mails.iter().all(|m| !m.contains("admin@acme.test")),
        "nobody unnamed is mailed: {mails:?}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(smtp.wait_for(3).await.len(), 3, "each told once");
}
