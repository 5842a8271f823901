//! Sharing agreements over HTTP: proposal and acceptance by every party, amendments that
//! parties accept again while the version in force holds, suspension, termination, expiry,
//! what a community member sees of the others, cross-tenant 404s, and refused input that
//! writes nothing.

use crate::harness::*;
use cirhub_shared::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn terms(kind: &str, parties: Value) -> Value {
    json!({
        "kind": kind,
        "title": "IoC exchange",
        "purpose": "Indicators of incidents affecting the customer's tenants",
        "parties": parties,
        "categories": ["indicators", "reports"],
        "tlp_ceiling": "amber",
        "onward": "none",
        "attribution": "named",
        "retention_days": 365
    })
}

fn bilateral(p: &Session, c: &Session) -> Value {
    terms(
        "bilateral",
        json!([{"organisation": p.slug, "role": "provider"},
               {"organisation": c.slug, "role": "customer"}]),
    )
}

async fn audit_actions(app: &TestApp, s: &Session, id: &str) -> Vec<(String, i64, String)> {
    let (status, body) = app
        .get(
            &format!("/api/v1/audit?object_type=agreement&object_id={id}"),
            s,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut out: Vec<(String, i64, String)> = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_string(),
                e["object_version"].as_i64().unwrap_or(-1),
                e["object_hash"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    out.reverse(); // oldest first
    out
}

#[tokio::test]
async fn a_bilateral_agreement_is_in_force_once_both_admins_accept_and_each_step_is_audited() {
    let app = TestApp::spawn().await;
    let p = app.provider("nimbus", Role::Admin).await;
    let c = app.customer("acme", Role::Admin).await;
    let c_analyst = app.colleague(&c, "analyst", Role::Analyst).await;

    let a: Value = app
        .create("/api/v1/agreements", &p, bilateral(&p, &c))
        .await;
    let id = a["id"].as_str().expect("id").to_string();
    assert_eq!(a["state"], "proposed");
    assert_eq!(a["my_role"], "provider");
    assert!(a["in_force"].is_null());
    assert_eq!(a["pending"]["version"], 1);
    let accepted: Vec<bool> = a["pending"]["parties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| !p["accepted_at"].is_null())
        .collect();
    assert_eq!(
        accepted,
        vec![true, false],
        "the proposer accepts by proposing"
    );

    // The customer sees it; only its admin accepts, and only the version it names.
    let (s, listed) = app.get("/api/v1/agreements", &c).await;
    assert_eq!((s, listed["total"].clone()), (StatusCode::OK, json!(1)));
    assert_eq!(listed["items"][0]["my_role"], "customer");
    let path = format!("/api/v1/agreements/{id}/accept");
    let (s, b) = app.post(&path, &c_analyst, json!({"version": 1})).await;
    assert_problem(s, &b, StatusCode::FORBIDDEN, "forbidden");
    let (s, b) = app.post(&path, &c, json!({"version": 2})).await;
    assert_problem(s, &b, StatusCode::CONFLICT, "conflict");
    let (s, b) = app.post(&path, &c, json!({"version": 1})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["state"], "active");
    assert!(b["pending"].is_null());
    let in_force = &b["in_force"];
    assert_eq!(in_force["version"], 1);
    assert_eq!(in_force["tlp_ceiling"], "amber");
    assert_eq!(in_force["categories"], json!(["indicators", "reports"]));
    assert_eq!(in_force["party_count"], 2);
    let hash = in_force["hash"].as_str().expect("hash").to_string();
    assert_eq!(hash.len(), 64);

    // Every step is in both parties' audit logs, naming version 1 by the same hash.
    for s in [&p, &c] {
        let steps = audit_actions(&app, s, &id).await;
        let names: Vec<&str> = steps.iter().map(|(a, ..)| a.as_str()).collect();
        assert_eq!(
            names,
            [
                "agreement.propose",
                "agreement.accept",
                "agreement.in_force"
            ],
            "{}",
            s.slug
        );
        assert!(steps.iter().all(|(_, v, h)| *v == 1 && *h == hash));
    }
}

#[tokio::test]
async fn an_agreement_does_not_exist_for_an_organisation_that_is_not_a_party() {
    let app = TestApp::spawn().await;
    let p = app.provider("nimbus", Role::Admin).await;
    let c = app.customer("acme", Role::Admin).await;
    let x = app.customer("globex", Role::Admin).await;
    let a: Value = app
        .create("/api/v1/agreements", &p, bilateral(&p, &c))
        .await;
    let id = a["id"].as_str().unwrap();

    assert_eq!(app.get("/api/v1/agreements", &x).await.1["total"], 0);
    let (s, b) = app.get(&format!("/api/v1/agreements/{id}"), &x).await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "not_found");
    let (_, missing) = app.get("/api/v1/agreements/no-such-id", &x).await;
    assert_eq!(
        b, missing,
        "someone else's agreement answers like a missing one"
    );
    for step in ["accept", "decline", "suspend", "resume", "terminate"] {
        let (s, b) = app
            .post(
                &format!("/api/v1/agreements/{id}/{step}"),
                &x,
                json!({"version": 1}),
            )
            .await;
        assert_problem(s, &b, StatusCode::NOT_FOUND, "not_found");
    }
    let (s, b) = app
        .put(
            &format!("/api/v1/agreements/{id}/terms"),
            &x,
            bilateral(&x, &c),
        )
        .await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "not_found");
    // Still proposed, with nothing accepted by the outsider.
    let (_, a) = app.get(&format!("/api/v1/agreements/{id}"), &c).await;
    assert_eq!(a["state"], "proposed");
}

#[tokio::test]
async fn an_amendment_waits_for_every_party_while_the_terms_in_force_hold() {
    let app = TestApp::spawn().await;
    let p = app.provider("nimbus", Role::Admin).await;
    let c = app.customer("acme", Role::Admin).await;
    let a: Value = app
        .create("/api/v1/agreements", &p, bilateral(&p, &c))
        .await;
    let id = a["id"].as_str().unwrap().to_string();
    let accept = format!("/api/v1/agreements/{id}/accept");
    assert_eq!(
        app.post(&accept, &c, json!({"version": 1})).await.0,
        StatusCode::OK
    );

    let mut amended = bilateral(&p, &c);
    amended["tlp_ceiling"] = json!("green");
    let (s, b) = app
        .put(
            &format!("/api/v1/agreements/{id}/terms"),
            &c,
            amended.clone(),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["state"], "active");
    assert_eq!(b["in_force"]["version"], 1);
    assert_eq!(b["in_force"]["tlp_ceiling"], "amber");
    assert_eq!(b["pending"]["version"], 2);
    assert_eq!(b["pending"]["tlp_ceiling"], "green");
    assert_ne!(b["pending"]["hash"], b["in_force"]["hash"]);
    // The kind is part of what was agreed: another kind is another agreement.
    amended["kind"] = json!("community");
    let (s, body) = app
        .put(&format!("/api/v1/agreements/{id}/terms"), &c, amended)
        .await;
    let problem = assert_problem(
        s,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(problem.errors[0].field, "kind");

    let (s, b) = app.post(&accept, &p, json!({"version": 1})).await;
    assert_problem(s, &b, StatusCode::CONFLICT, "conflict");
    let (s, b) = app.post(&accept, &p, json!({"version": 2})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["in_force"]["version"], 2);
    assert_eq!(b["in_force"]["tlp_ceiling"], "green");
    assert!(b["pending"].is_null());

    // A declined amendment leaves the version in force as it was.
    let mut third = bilateral(&p, &c);
    third["retention_days"] = json!(30);
    let (s, _) = app
        .put(&format!("/api/v1/agreements/{id}/terms"), &p, third)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, b) = app
        .post(
            &format!("/api/v1/agreements/{id}/decline"),
            &c,
            json!({"reason": "too short"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (b["state"].clone(), b["in_force"]["version"].clone()),
        (json!("active"), json!(2))
    );
    assert!(b["pending"].is_null());
}

#[tokio::test]
async fn suspension_is_lifted_only_by_the_party_that_suspended_and_termination_is_final() {
    let app = TestApp::spawn().await;
    let p = app.provider("nimbus", Role::Admin).await;
    let c = app.customer("acme", Role::Admin).await;
    let a: Value = app
        .create("/api/v1/agreements", &p, bilateral(&p, &c))
        .await;
    let id = a["id"].as_str().unwrap().to_string();
    let step = |s: &str| format!("/api/v1/agreements/{id}/{s}");

    // Nothing to suspend before it is in force.
    let (s, b) = app.post(&step("suspend"), &c, json!({})).await;
    assert_problem(s, &b, StatusCode::CONFLICT, "conflict");
    assert_eq!(
        app.post(&step("accept"), &c, json!({"version": 1})).await.0,
        StatusCode::OK
    );

    let (s, b) = app
        .post(&step("suspend"), &c, json!({"reason": "breach review"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (b["state"].clone(), b["suspended_by"].clone()),
        (json!("suspended"), json!("acme"))
    );
    let (s, b) = app.post(&step("resume"), &p, json!({})).await;
    assert_problem(s, &b, StatusCode::FORBIDDEN, "forbidden");
    // No body is a step without a reason; a body that is sent must be valid.
    let res = app
        .client
        .post(app.url(&step("resume")))
        .bearer_auth(&c.token)
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let (_, now) = app.get(&format!("/api/v1/agreements/{id}"), &c).await;
    assert_eq!(
        now["state"], "suspended",
        "a malformed body changed nothing"
    );
    let res = app
        .client
        .post(app.url(&step("resume")))
        .bearer_auth(&c.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let (s, b) = app
        .post(&step("terminate"), &p, json!({"reason": "contract ended"}))
        .await;
    assert_eq!(
        (s, b["state"].clone()),
        (StatusCode::OK, json!("terminated"))
    );
    let (s, b) = app.post(&step("suspend"), &c, json!({})).await;
    assert_problem(s, &b, StatusCode::CONFLICT, "conflict");
    // Both parties still see what they had agreed, and how it ended.
    for s in [&p, &c] {
        let (status, b) = app.get(&format!("/api/v1/agreements/{id}"), s).await;
        assert_eq!(
            (status, b["state"].clone()),
            (StatusCode::OK, json!("terminated"))
        );
        let steps = audit_actions(&app, s, &id).await;
        assert_eq!(
            steps.iter().map(|(a, ..)| a.as_str()).collect::<Vec<_>>(),
            [
                "agreement.propose",
                "agreement.accept",
                "agreement.in_force",
                "agreement.suspend",
                "agreement.resume",
                "agreement.terminate"
            ]
        );
    }
}

#[tokio::test]
async fn an_agreement_reads_as_expired_from_its_end_on() {
    let app = TestApp::spawn().await;
    let p = app.provider("nimbus", Role::Admin).await;
    let c = app.customer("acme", Role::Admin).await;
    let mut t = bilateral(&p, &c);
    let until = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    t["effective_until"] = json!(until);
    let a: Value = app.create("/api/v1/agreements", &p, t).await;
    let id = a["id"].as_str().unwrap().to_string();
    let (s, b) = app
        .post(
            &format!("/api/v1/agreements/{id}/accept"),
            &c,
            json!({"version": 1}),
        )
        .await;
    assert_eq!(
        (s, b["state"].clone()),
        (StatusCode::OK, json!("active")),
        "{b}"
    );
    let wait = until - chrono::Utc::now() + chrono::Duration::milliseconds(50);
    tokio::time::sleep(wait.to_std().unwrap_or_default()).await;
    let (_, b) = app.get(&format!("/api/v1/agreements/{id}"), &c).await;
    assert_eq!(b["state"], "expired");
    let (s, b) = app
        .post(&format!("/api/v1/agreements/{id}/suspend"), &p, json!({}))
        .await;
    assert_problem(s, &b, StatusCode::CONFLICT, "conflict");
}

#[tokio::test]
async fn a_community_member_sees_the_coordinator_and_itself_unless_attribution_is_named() {
    let app = TestApp::spawn().await;
    let isac = app.provider("cloud-isac", Role::Admin).await;
    let a = app.customer("acme", Role::Admin).await;
    let b = app.customer("globex", Role::Admin).await;
    let outsider = app.customer("initech", Role::Admin).await;
    let parties = json!([{"organisation": "cloud-isac", "role": "coordinator"},
        {"organisation": "acme", "role": "member"}, {"organisation": "globex", "role": "member"}]);
    let mut t = terms("community", parties);
    t["attribution"] = json!("pseudonymous");
    let ag: Value = app.create("/api/v1/agreements", &isac, t.clone()).await;
    let id = ag["id"].as_str().unwrap().to_string();
    for m in [&a, &b] {
        let (s, body) = app
            .post(
                &format!("/api/v1/agreements/{id}/accept"),
                m,
                json!({"version": 1}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    let (_, seen) = app.get(&format!("/api/v1/agreements/{id}"), &a).await;
    assert_eq!(seen["state"], "active");
    let slugs = |v: &Value| -> Vec<String> {
        v["in_force"]["parties"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["organisation_slug"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(slugs(&seen), ["cloud-isac", "acme"]);
    assert_eq!(seen["in_force"]["party_count"], 3);
    assert!(!seen.to_string().contains("globex"), "{seen}");
    let (_, coordinator_view) = app.get(&format!("/api/v1/agreements/{id}"), &isac).await;
    assert_eq!(slugs(&coordinator_view), ["cloud-isac", "acme", "globex"]);
    let (s, body) = app
        .get(&format!("/api/v1/agreements/{id}"), &outsider)
        .await;
    assert_problem(s, &body, StatusCode::NOT_FOUND, "not_found");

    // Only the coordinator steers a community.
    let (s, body) = app
        .post(&format!("/api/v1/agreements/{id}/suspend"), &a, json!({}))
        .await;
    assert_problem(s, &body, StatusCode::FORBIDDEN, "forbidden");
    // Named attribution, once every member accepted it, shows every member.
    t["attribution"] = json!("named");
    let (s, body) = app
        .put(&format!("/api/v1/agreements/{id}/terms"), &isac, t)
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    for m in [&a, &b] {
        let (s, body) = app
            .post(
                &format!("/api/v1/agreements/{id}/accept"),
                m,
                json!({"version": 2}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    let (_, seen) = app.get(&format!("/api/v1/agreements/{id}"), &a).await;
    assert_eq!(slugs(&seen), ["cloud-isac", "acme", "globex"]);
}

#[tokio::test]
async fn refused_terms_name_the_field_and_write_nothing() {
    let app = TestApp::spawn().await;
    let p = app.provider("nimbus", Role::Admin).await;
    let c = app.customer("acme", Role::Admin).await;
    let p_ops = app.colleague(&p, "ops", Role::Operator).await;
    let good = bilateral(&p, &c);
    let with = |key: &str, value: Value| {
        let mut t = good.clone();
        t[key] = value;
        t
    };
    let past = chrono::Utc::now() - chrono::Duration::hours(1);
    let cases = [
        (
            with(
                "parties",
                json!([{"organisation": "nimbus", "role": "provider"},
            {"organisation": "nobody", "role": "customer"}]),
            ),
            "parties[1].organisation",
        ),
        (
            with(
                "parties",
                json!([{"organisation": "acme", "role": "member"},
            {"organisation": "acme", "role": "member"}]),
            ),
            "parties[1].organisation",
        ),
        (
            with(
                "parties",
                json!([{"organisation": "nimbus", "role": "provider"}]),
            ),
            "parties",
        ),
        (
            with(
                "parties",
                json!([{"organisation": "nimbus", "role": "coordinator"},
            {"organisation": "acme", "role": "member"}]),
            ),
            "parties[0].role",
        ),
        (with("categories", json!([])), "categories"),
        (with("retention_days", json!(0)), "retention_days"),
        (with("effective_until", json!(past)), "effective_until"),
        (with("title", json!("\u{200b}\u{200b}")), "title"),
        (with("tlp_ceiling", json!("amber-strict")), "tlp_ceiling"),
        (with("onward", json!("everyone")), "onward"),
    ];
    for (body, field) in cases {
        let (s, b) = app.post("/api/v1/agreements", &p, body).await;
        let problem = assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(problem.errors[0].field, field, "{b}");
    }
    // An agreement the proposer is no party to.
    let x = app.customer("globex", Role::Admin).await;
    let (s, b) = app.post("/api/v1/agreements", &x, bilateral(&p, &c)).await;
    let problem = assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem.errors[0].field, "parties");
    // Only an admin proposes.
    let (s, b) = app.post("/api/v1/agreements", &p_ops, good).await;
    assert_problem(s, &b, StatusCode::FORBIDDEN, "forbidden");
    for s in [&p, &c, &x] {
        assert_eq!(app.get("/api/v1/agreements", s).await.1["total"], 0);
    }
    let (_, log) = app.get("/api/v1/audit?object_type=agreement", &p).await;
    assert_eq!(log["total"], 0, "{log}");
}
