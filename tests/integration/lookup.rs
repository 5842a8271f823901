//! Lookups and sightings over HTTP: a value matches the objects the caller may see (an
//! address the networks holding it, a domain its parents, a URL its host, a network what
//! lies inside it), refanged and normalised; another organisation's match is a disclosure
//! through channel lookup; nothing the policy refuses is ever matched; sightings go back to
//! the owner, counted and attributed as the agreement allows.

use crate::harness::*;
use cirhub_shared::sharing::Tlp;
use cirhub_shared::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn object(tlp: Tlp, pattern: &str) -> Value {
    json!({
        "type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--{}", uuid::Uuid::new_v4()),
        "created": "2026-12-01T10:00:00.000Z", "modified": "2026-12-01T10:00:00.000Z",
        "indicator_types": ["malicious-activity"], "pattern": pattern, "pattern_type": "stix",
        "valid_from": "2026-12-01T10:00:00Z", "confidence": 80,
        "object_marking_refs": [tlp.marking_definition_id()]
    })
}

async fn put(app: &TestApp, s: &Session, obj: Value, under: &[&str]) -> String {
    let v: Value = app
        .create(
            "/api/v1/stix-objects",
            s,
            json!({"object": obj, "share_under": under}),
        )
        .await;
    v["key"].as_str().expect("key").to_string()
}

async fn lookup(app: &TestApp, s: &Session, values: &[&str]) -> Vec<Value> {
    let (status, body) = app
        .post("/api/v1/lookup", s, json!({ "values": values }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().expect("answers").clone()
}

fn keys(answer: &Value) -> Vec<String> {
    let mut k: Vec<String> = answer["matches"]
        .as_array()
        .expect("matches")
        .iter()
        .map(|m| m["key"].as_str().unwrap().to_string())
        .collect();
    k.sort();
    k
}

const SHA: &str = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";

#[tokio::test]
async fn a_lookup_answers_only_what_the_caller_may_see() {
    let app = TestApp::spawn().await;
    let p = app.provider("nimbus", Role::Admin).await;
    let c = app.customer("acme", Role::Admin).await;
    let x = app.customer("globex", Role::Admin).await;
    let ag = app.agreement(&p, &c, "amber", json!(["indicators"])).await;
    let net = put(
        &app,
        &p,
        object(Tlp::Amber, "[ipv4-addr:value ISSUBSET '198.51.100.0/24']"),
        &[&ag],
    )
    .await;
    let dom = put(
        &app,
        &p,
        object(Tlp::Green, "[domain-name:value = 'Evil.Example.com']"),
        &[&ag],
    )
    .await;
    let hash = put(
        &app,
        &p,
        object(Tlp::Clear, &format!("[file:hashes.'SHA-256' = '{SHA}']")),
        &[],
    )
    .await;
    let red = put(
        &app,
        &p,
        object(Tlp::Red, "[ipv4-addr:value = '198.51.100.9']"),
        &[&ag],
    )
    .await;

    let asked = [
        "198.51.100.77",
        "hxxp://www[.]evil[.]example[.]com/x",
        &SHA.to_uppercase(),
        "not a value",
        "198.51.100.9",
    ];
    let a = lookup(&app, &c, &asked).await;
    assert_eq!(a.len(), 5);
    assert_eq!(keys(&a[0]), vec![net.clone()], "{}", a[0]);
    let m = &a[0]["matches"][0];
    assert_eq!(
        (
            &m["matched"],
            &m["matched_kind"],
            &m["source"],
            &m["tlp"],
            &m["confidence"]
        ),
        (
            &json!("198.51.100.0/24"),
            &json!("ipv4"),
            &json!("nimbus"),
            &json!("amber"),
            &json!(80)
        )
    );
    assert_eq!((&m["own"], &m["agreement_id"]), (&json!(false), &json!(ag)));
    assert_eq!(
        (&a[1]["kind"], &a[1]["normalised"]),
        (&json!("url"), &json!("http://www.evil.example.com/x"))
    );
    assert_eq!(
        keys(&a[1]),
        vec![dom.clone()],
        "the URL's host's parent domain"
    );
    assert_eq!(a[1]["matches"][0]["matched"], "evil.example.com");
    assert_eq!(keys(&a[2]), Vec::<String>::new(), "not shared: not found");
    assert!(
        a[3]["error"]
            .as_str()
            .is_some_and(|e| e.contains("a domain")),
        "{}",
        a[3]
    );
    assert_eq!(
        keys(&a[4]),
        vec![net.clone()],
        "TLP:RED is above the ceiling"
    );

    // The owner sees its own (no disclosure); a network finds what lies inside it.
    let own = lookup(&app, &p, &[SHA, "198.51.0.0/16"]).await;
    assert_eq!(keys(&own[0]), vec![hash.clone()]);
    assert_eq!(own[0]["matches"][0]["own"], true);
    let mut inside = vec![net.clone(), red.clone()];
    inside.sort();
    assert_eq!(keys(&own[1]), inside);

    // An outsider: nothing, however asked.
    for ans in lookup(&app, &x, &asked).await {
        assert_eq!(keys(&ans), Vec::<String>::new(), "{ans}");
    }
    let (s, b) = app.get("/api/v1/lookup?value=198.51.100.1", &x).await;
    assert_eq!((s, b["matches"].clone()), (StatusCode::OK, json!([])));

    // Each other organisation's match was disclosed once per lookup, through channel lookup.
    for key in [&net, &dom] {
        let (_, d) = app
            .get(
                &format!("/api/v1/audit/disclosures?object_type=stix&object_id={key}"),
                &c,
            )
            .await;
        let rows = d["items"].as_array().expect("items");
        assert!(!rows.is_empty(), "{d}");
        for r in rows {
            assert_eq!(r["channel"], "lookup");
            assert_eq!(r["detail"]["agreement_id"], json!(ag));
        }
    }
    let (_, d) = app
        .get(
            &format!("/api/v1/audit/disclosures?object_type=stix&object_id={red}"),
            &p,
        )
        .await;
    assert_eq!(d["items"], json!([]), "the refused object left nowhere");

    // Bad input: a clear 422 naming the field.
    // Control characters are refused, never a 500 (a NUL is an error in PostgreSQL): a NUL
    // anywhere in the request, another one in its value's answer.
    let (s, b) = app
        .post(
            "/api/v1/lookup",
            &c,
            json!({"values": ["a\u{0}b@example.com"]}),
        )
        .await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let a = lookup(&app, &c, &["a\u{7}b@example.com"]).await;
    assert!(a[0]["error"].is_string(), "{}", a[0]);
    let (s, b) = app
        .get("/api/v1/lookup?value=a%00b%40example.com", &c)
        .await;
    assert_problem(s, &b, StatusCode::BAD_REQUEST, "invalid_query");
    let (s, b) = app
        .get("/api/v1/lookup?value=a%07b%40example.com", &c)
        .await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let (s, b) = app.get("/api/v1/lookup?value=nope", &c).await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(b["errors"][0]["field"], "value");
    let many: Vec<String> = (0..1001)
        .map(|i| format!("10.0.{}.{}", i / 256, i % 256))
        .collect();
    let (s, b) = app
        .post("/api/v1/lookup", &c, json!({ "values": many }))
        .await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(b["errors"][0]["field"], "values");

    // Suspension stops it on the next request; a revoked object matches nobody.
    let (s, _) = app
        .post(&format!("/api/v1/agreements/{ag}/suspend"), &p, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        keys(&lookup(&app, &c, &["198.51.100.77"]).await[0]),
        Vec::<String>::new()
    );
    let mut revoked = object(Tlp::Clear, &format!("[file:hashes.'SHA-256' = '{SHA}']"));
    let (_, h) = app.get(&format!("/api/v1/stix-objects/{hash}"), &p).await;
    revoked["id"] = h["id"].clone();
    revoked["modified"] = json!("2026-12-02T10:00:00.000Z");
    revoked["revoked"] = json!(true);
    let (s, b) = app
        .post("/api/v1/stix-objects", &p, json!({ "object": revoked }))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        keys(&lookup(&app, &p, &[SHA]).await[0]),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn sightings_go_back_to_the_owner_counted_and_attributed_as_agreed() {
    let app = TestApp::spawn().await;
    let p = app.provider("nimbus", Role::Admin).await;
    let c = app.customer("acme", Role::Admin).await;
    let x = app.customer("globex", Role::Admin).await;
    let ag = app.agreement(&p, &c, "amber", json!(["indicators"])).await;
    let key = put(
        &app,
        &p,
        object(Tlp::Amber, "[ipv4-addr:value = '203.0.113.50']"),
        &[&ag],
    )
    .await;
    let path = format!("/api/v1/stix-objects/{key}/sightings");

    let (s, b) = app
        .post(
            &path,
            &c,
            json!({"count": 3, "first_seen": "2026-11-30T08:00:00Z", "note": "edge firewall"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(
        (&b["count"], &b["reporter"], &b["agreement_id"]),
        (&json!(3), &json!("acme"), &json!(ag))
    );
    // An outsider cannot report or read; the owner reports its own differently.
    let (s, b) = app.post(&path, &x, json!({"count": 1})).await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "not_found");
    let (s, b) = app.get(&path, &x).await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "not_found");
    let (s, b) = app.post(&path, &p, json!({"count": 1})).await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let (s, b) = app.post(&path, &c, json!({"count": 0})).await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(b["errors"][0]["field"], "count");
    let (s, b) = app
        .post(
            &path,
            &c,
            json!({"first_seen": "2026-11-30T08:00:00Z", "last_seen": "2026-11-29T08:00:00Z"}),
        )
        .await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(b["errors"][0]["field"], "last_seen");

    // The owner sees the reporter (the agreement names sources); lookups count sightings.
    let (_, mine) = app.get(&path, &p).await;
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(
        (&mine[0]["reporter"], &mine[0]["note"]),
        (&json!("acme"), &json!("edge firewall"))
    );
    let ans = lookup(&app, &c, &["203.0.113.50"]).await;
    let m = &ans[0]["matches"][0];
    assert_eq!(m["sightings"], 3);
    assert_eq!(m["first_seen"], "2026-11-30T08:00:00Z");
    let (_, theirs) = app.get(&path, &c).await;
    assert_eq!(theirs.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn objects_stored_before_the_value_index_are_indexed_when_it_arrives() {
    use diesel::connection::SimpleConnection;
    let app = TestApp::spawn().await;
    let p = app.provider("nimbus", Role::Admin).await;
    let key = put(
        &app,
        &p,
        object(Tlp::Clear, "[domain-name:value = 'old.example.com']"),
        &[],
    )
    .await;
    // The database as it was before the index: no index tables, their migration not applied.
    app.state
        .db
        .conn()
        .unwrap()
        .batch_execute(
            "DROP TABLE stix_sightings; DROP TABLE stix_values; \
             DELETE FROM __diesel_schema_migrations WHERE version = '20261203000004';",
        )
        .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cirhub"))
        .arg("migrate")
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        keys(&lookup(&app, &p, &["www.old.example.com"]).await[0]),
        vec![key]
    );
}
