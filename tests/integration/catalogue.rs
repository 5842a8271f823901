//! The provider catalogue and the API's input rules (problem details, limits, pagination).

use crate::harness::*;
use cirhub_shared::api::{Component, Paged, Region};
use cirhub_shared::Role;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn catalogue_is_created_listed_and_component_status_changes_are_kept() {
    let app = TestApp::spawn().await;
    let s = app.provider("p", Role::Operator).await;
    let cat = app.catalogue(&s).await;
    let (status, list) = app.get("/api/v1/components", &s).await;
    assert_eq!(status, StatusCode::OK);
    let list: Paged<Component> = serde_json::from_value(list).unwrap();
    assert_eq!(list.total, 2);
    assert_eq!(
        list.items[0].region_id.as_deref(),
        Some(cat.region.id.as_str())
    );
    assert_eq!(
        list.items[0].group_id.as_deref(),
        Some(cat.group.id.as_str())
    );

    let id = &cat.components[0].id;
    let (status, c) = app
        .patch(
            &format!("/api/v1/components/{id}"),
            &s,
            json!({"status": "major_outage"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    assert_eq!(c["status"], "major_outage");
    let (_, c) = app.get(&format!("/api/v1/components/{id}"), &s).await;
    assert_eq!(c["status"], "major_outage");
    let (_, uptime) = app.public("/status/p/uptime.json").await;
    let uptime: serde_json::Value = serde_json::from_str(&uptime).unwrap();
    let comp = uptime["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == *id)
        .unwrap()
        .clone();
    assert_eq!(comp["history"].as_array().unwrap().len(), 90);
    assert_eq!(
        comp["history"][89]["worst"], "major_outage",
        "today's bar shows the outage"
    );
    assert_eq!(comp["region"], "ap-northeast-1");
    assert_eq!(comp["service"], "Compute");
}

#[tokio::test]
async fn invalid_input_is_a_422_naming_each_field_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let s = app.provider("p", Role::Operator).await;
    let (status, body) = app
        .post("/api/v1/regions", &s, json!({"code": "", "name": "   "}))
        .await;
    let p = assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let fields: Vec<&str> = p.errors.iter().map(|e| e.field.as_str()).collect();
    assert!(
        fields.contains(&"code") && fields.contains(&"name"),
        "{body}"
    );
    assert!(
        p.detail.contains("code"),
        "the detail names the fields: {}",
        p.detail
    );

    let (status, body) = app
        .post("/api/v1/regions", &s, json!({"name": "Tokyo"}))
        .await;
    let p = assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(p.errors[0].field, "code");
    assert!(p.errors[0].message.contains("missing"));

    let cat = app.catalogue(&s).await;
    let (status, body) = app
        .post(
            "/api/v1/components",
            &s,
            json!({"name": "X", "service_id": cat.service.id, "status": "on_fire"}),
        )
        .await;
    let p = assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(p.errors[0].field, "status");
    assert!(
        p.errors[0].message.contains("operational"),
        "lists accepted values: {}",
        p.errors[0].message
    );

    let (status, body) = app
        .post(
            "/api/v1/components",
            &s,
            json!({"name": "X", "service_id": "nope"}),
        )
        .await;
    let p = assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(p.errors[0].field, "service_id");

    let (_, list) = app.get("/api/v1/regions", &s).await;
    assert_eq!(
        list["total"], 1,
        "nothing was written by the failed requests"
    );
}

#[tokio::test]
async fn malformed_oversized_and_non_json_bodies_get_clear_4xx() {
    let app = TestApp::spawn().await;
    let s = app.provider("p", Role::Operator).await;
    let res = app
        .client
        .post(app.url("/api/v1/regions"))
        .bearer_auth(&s.token)
        .header("content-type", "application/json")
        .body("{\"code\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "malformed_json");

    let big = "x".repeat(300 * 1024);
    let (status, body) = app
        .post("/api/v1/regions", &s, json!({"code": "a", "name": big}))
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );

    let res = app
        .client
        .post(app.url("/api/v1/regions"))
        .bearer_auth(&s.token)
        .body("code=a")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn duplicate_names_conflict_on_the_field() {
    let app = TestApp::spawn().await;
    let s = app.provider("p", Role::Operator).await;
    let _: Region = app
        .create(
            "/api/v1/regions",
            &s,
            json!({"code": "eu-west-1", "name": "Ireland"}),
        )
        .await;
    let (status, body) = app
        .post(
            "/api/v1/regions",
            &s,
            json!({"code": "eu-west-1", "name": "Again"}),
        )
        .await;
    let p = assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(p.errors[0].field, "code");
}

#[tokio::test]
async fn lists_are_paginated_with_bounds() {
    let app = TestApp::spawn().await;
    let s = app.provider("p", Role::Operator).await;
    for i in 0..7 {
        let _: Region = app
            .create(
                "/api/v1/regions",
                &s,
                json!({"code": format!("r-{i}"), "name": format!("R{i}")}),
            )
            .await;
    }
    let (_, p1) = app.get("/api/v1/regions?per_page=3", &s).await;
    let (_, p3) = app.get("/api/v1/regions?per_page=3&page=3", &s).await;
    assert_eq!(p1["total"], 7);
    assert_eq!(p1["items"].as_array().unwrap().len(), 3);
    assert_eq!(p3["items"].as_array().unwrap().len(), 1);
    assert_eq!(p3["items"][0]["code"], "r-6");
    let (status, body) = app.get("/api/v1/regions?per_page=1000", &s).await;
    let p = assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(p.errors[0].field, "per_page");
    let (status, body) = app.get("/api/v1/regions?page=abc", &s).await;
    assert_problem(status, &body, StatusCode::BAD_REQUEST, "invalid_query");
}

#[tokio::test]
async fn priority_policy_is_configurable_per_provider() {
    let app = TestApp::spawn().await;
    let s = app.provider("p", Role::Admin).await;
    let (status, mut policy) = app.get("/api/v1/priority-policy", &s).await;
    assert_eq!(status, StatusCode::OK);
    let p1 = policy["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["priority"] == "P1")
        .unwrap()
        .clone();
    assert_eq!(p1["response_minutes"], 5);
    assert_eq!(p1["resolution_minutes"], 60);
    // Make major x high a P1 with a 30 minute resolution target.
    for cell in policy["matrix"].as_array_mut().unwrap() {
        if cell["impact"] == "major" && cell["urgency"] == "high" {
            cell["priority"] = json!("P1");
        }
    }
    for t in policy["targets"].as_array_mut().unwrap() {
        if t["priority"] == "P1" {
            t["resolution_minutes"] = json!(30);
        }
    }
    let (status, _) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/priority-policy",
            Some(&s.token),
            Some(policy.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let cat = app.catalogue(&s).await;
    let inc = app.incident(&s, &cat, "Policy check", "public").await;
    assert_eq!(inc.priority, cirhub_shared::Priority::P1);
    let due = inc.resolution_due_at.unwrap() - inc.detected_at.unwrap();
    assert_eq!(due.num_minutes(), 30);
    // An incomplete matrix is refused.
    policy["matrix"].as_array_mut().unwrap().pop();
    let (status, body) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/priority-policy",
            Some(&s.token),
            Some(policy),
        )
        .await;
    let p = assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(p.errors[0].field, "matrix");
}
