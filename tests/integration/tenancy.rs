//! Tenant isolation: another organisation's objects do not exist for you. Every endpoint
//! that takes an id is tried with another tenant's id, and must answer exactly as for an id
//! that exists nowhere; every list must leave the other tenant's objects out.

use crate::harness::*;
use cirhub_shared::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn another_tenants_objects_do_not_exist_for_you() {
    let app = TestApp::spawn().await;
    let a = app.provider("alpha", Role::Admin).await;
    let b = app.provider("bravo", Role::Admin).await;
    let cat = app.catalogue(&a).await;
    let inc = app.incident(&a, &cat, "Alpha internal", "internal").await;
    let a_user = a.user_id.clone();
    let (_, tok) = app
        .post(
            "/api/v1/api-tokens",
            &a,
            json!({"name": "alpha bot", "role": "viewer"}),
        )
        .await;
    let a_token = tok["token"]["id"].as_str().unwrap().to_string();
    let missing = "00000000-0000-7000-8000-000000000000";

    // (method, path template with {id}, body, the id of A's object)
    let cases: Vec<(Method, &str, Option<Value>, String)> = vec![
        (
            Method::GET,
            "/api/v1/components/{id}",
            None,
            cat.components[0].id.clone(),
        ),
        (
            Method::PATCH,
            "/api/v1/components/{id}",
            Some(json!({"status": "major_outage"})),
            cat.components[0].id.clone(),
        ),
        (Method::GET, "/api/v1/incidents/{id}", None, inc.id.clone()),
        (
            Method::PATCH,
            "/api/v1/incidents/{id}",
            Some(json!({"title": "pwned"})),
            inc.id.clone(),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/updates",
            Some(json!({"status": "resolved", "body": "pwned"})),
            inc.id.clone(),
        ),
        (Method::GET, "/api/v1/users/{id}", None, a_user.clone()),
        (
            Method::PATCH,
            "/api/v1/users/{id}",
            Some(json!({"name": "pwned"})),
            a_user.clone(),
        ),
        (Method::DELETE, "/api/v1/users/{id}", None, a_user.clone()),
        (
            Method::DELETE,
            "/api/v1/api-tokens/{id}",
            None,
            a_token.clone(),
        ),
    ];
    for (method, template, body, id) in cases {
        let (s_other, b_other) = app
            .call(
                method.clone(),
                &template.replace("{id}", &id),
                Some(&b.token),
                body.clone(),
            )
            .await;
        let (s_none, b_none) = app
            .call(
                method.clone(),
                &template.replace("{id}", missing),
                Some(&b.token),
                body,
            )
            .await;
        assert_eq!(
            s_other,
            StatusCode::NOT_FOUND,
            "{method} {template} with A's id: {b_other}"
        );
        assert_eq!(
            (s_other, &b_other),
            (s_none, &b_none),
            "{method} {template}: A's object must look like a missing one"
        );
    }
    // Nothing of A's changed.
    let (_, c) = app
        .get(&format!("/api/v1/components/{}", cat.components[0].id), &a)
        .await;
    assert_eq!(c["status"], "partial_outage");
    let (_, i) = app.get(&format!("/api/v1/incidents/{}", inc.id), &a).await;
    assert_eq!(i["title"], "Alpha internal");
    assert_eq!(i["version"], 1);
    app.login(&a.email).await;

    // B references A's objects in its own writes: refused as unknown.
    let (status, body) = app.post("/api/v1/incidents", &b, json!({"title": "x", "body": "y", "impact": "minor", "components": [{"component_id": cat.components[0].id, "status": "major_outage"}]})).await;
    let p = assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(p.errors[0].field, "components[0]");
    let (status, _) = app
        .post(
            "/api/v1/components",
            &b,
            json!({"name": "x", "service_id": cat.service.id, "region_id": cat.region.id}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Lists: B sees none of A's objects.
    for path in [
        "/api/v1/regions",
        "/api/v1/services",
        "/api/v1/component-groups",
        "/api/v1/components",
        "/api/v1/incidents",
        "/api/v1/users",
        "/api/v1/api-tokens",
        "/api/v1/audit",
    ] {
        let (status, list) = app.get(path, &b).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let text = list.to_string();
        for secret in [
            &cat.components[0].id,
            &inc.id,
            &a_user,
            &a_token,
            &cat.region.id,
            &cat.service.id,
            &cat.group.id,
            &a.org_id,
        ] {
            assert!(
                !text.contains(secret.as_str()),
                "{path} leaks {secret}: {text}"
            );
        }
    }
    // API tokens are bound to their organisation too.
    let (_, tok_b) = app
        .post(
            "/api/v1/api-tokens",
            &b,
            json!({"name": "bravo bot", "role": "admin"}),
        )
        .await;
    let secret_b = tok_b["secret"].as_str().unwrap();
    let (status, _) = app
        .call(
            Method::GET,
            &format!("/api/v1/incidents/{}", inc.id),
            Some(secret_b),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
