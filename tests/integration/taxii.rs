//! TAXII 2.1 against the real server: the OASIS client (taxii2-client) walks discovery, the
//! API root, collections, objects page by page, the manifest, versions, one object and an
//! `added_after` poll, adds objects, and every object it receives passes the OASIS validator
//! (stix2-validator); then, over plain HTTP: media types, the TAXII error format, Basic and
//! Bearer authentication, and collections that do not exist for outsiders or after a
//! suspension.

use crate::harness::*;
use cirhub_shared::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// An API token of `s`'s organisation.
async fn api_token(app: &TestApp, s: &Session, role: &str) -> String {
    let created: Value = app
        .create(
            "/api/v1/api-tokens",
            s,
            json!({"name": "taxii", "role": role}),
        )
        .await;
    created["secret"].as_str().expect("secret").to_string()
}

#[tokio::test]
async fn the_oasis_client_walks_adds_and_polls_and_every_object_validates() {
    let app = TestApp::spawn().await;
    let p = app.provider("nimbus", Role::Admin).await;
    let c = app.customer("acme", Role::Admin).await;
    let ag = app
        .agreement(&p, &c, "amber", json!(["indicators", "reports"]))
        .await;
    let provider_token = api_token(&app, &p, "analyst").await;
    let customer_token = api_token(&app, &c, "viewer").await;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/taxii/walk.py");
    let out = tokio::process::Command::new(test_python())
        .arg("-B")
        .arg(&script)
        .env("TAXII_URL", app.url("/taxii2/"))
        .env("PROVIDER_TOKEN", &provider_token)
        .env("CUSTOMER_TOKEN", &customer_token)
        .env("AGREEMENT_ID", &ag)
        .env("COUNT", "250")
        .output()
        .await
        .expect("run the TAXII client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "TAXII walk failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value =
        serde_json::from_str(stdout.lines().last().unwrap_or("")).expect("summary");
    assert_eq!(summary["objects"], 250);
    assert_eq!(summary["validated"], 250);
    assert!(
        summary["pages"].as_i64().unwrap() >= 7,
        "40 per page: {summary}"
    );
    assert_eq!(summary["polled"], 10);

    // Each object the customer received is a disclosure through TAXII naming the agreement.
    let (_, d) = app
        .get(
            "/api/v1/audit/disclosures?object_type=stix&channel=taxii&per_page=1",
            &c,
        )
        .await;
    assert!(d["total"].as_i64().unwrap() >= 260, "{d}");
    assert_eq!(d["items"][0]["detail"]["agreement_id"], json!(ag));
}

async fn taxii_get(
    app: &TestApp,
    path: &str,
    auth: Option<(&str, &str)>,
    accept: &str,
) -> (StatusCode, String, Value) {
    let mut req = app.client.get(app.url(path)).header("accept", accept);
    match auth {
        Some(("bearer", t)) => req = req.bearer_auth(t),
        Some((user, t)) => req = req.basic_auth(user, Some(t)),
        None => {}
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = res.text().await.unwrap_or_default();
    (
        status,
        content_type,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

const TAXII: &str = "application/taxii+json;version=2.1";

fn assert_taxii_error(got: &(StatusCode, String, Value), want: StatusCode) {
    assert_eq!(got.0, want, "{:?}", got.2);
    assert_eq!(got.1, TAXII);
    assert_eq!(
        got.2["http_status"],
        want.as_u16().to_string(),
        "{:?}",
        got.2
    );
    assert!(got.2["title"].is_string() && got.2["description"].is_string());
}

#[tokio::test]
async fn collections_exist_only_for_parties_of_an_agreement_in_force() {
    let app = TestApp::spawn().await;
    let p = app.provider("nimbus", Role::Admin).await;
    let c = app.customer("acme", Role::Admin).await;
    let x = app.customer("globex", Role::Admin).await;
    let ag = app
        .agreement(&p, &c, "amber", json!(["indicators", "reports"]))
        .await;
    let c_token = api_token(&app, &c, "viewer").await;
    let x_token = api_token(&app, &x, "admin").await;
    let p_token = api_token(&app, &p, "analyst").await;
    let objects = format!("/taxii2/api/collections/{ag}/objects/");

    // Basic (token as password, or as user name) and Bearer are all the same credential.
    for auth in [
        ("taxii", c_token.as_str()),
        (c_token.as_str(), ""),
        ("bearer", c_token.as_str()),
    ] {
        let (s, ct, body) = taxii_get(&app, "/taxii2/api/collections/", Some(auth), TAXII).await;
        assert_eq!((s, ct.as_str()), (StatusCode::OK, TAXII), "{body}");
        let ids: Vec<&str> = body["collections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 2, "own and the agreement's: {body}");
        assert!(ids.contains(&ag.as_str()));
    }
    let missing = taxii_get(&app, "/taxii2/", None, TAXII).await;
    assert_taxii_error(&missing, StatusCode::UNAUTHORIZED);
    let wrong = taxii_get(&app, "/taxii2/", Some(("taxii", "cirhub_wrong")), TAXII).await;
    assert_taxii_error(&wrong, StatusCode::UNAUTHORIZED);
    let html = taxii_get(&app, "/taxii2/", Some(("taxii", &c_token)), "text/html").await;
    assert_taxii_error(&html, StatusCode::NOT_ACCEPTABLE);

    // The outsider: the agreement's collection is not there, by any path.
    let (_, _, listed) = taxii_get(
        &app,
        "/taxii2/api/collections/",
        Some(("taxii", &x_token)),
        TAXII,
    )
    .await;
    assert_eq!(
        listed["collections"].as_array().unwrap().len(),
        1,
        "own only: {listed}"
    );
    for path in [
        format!("/taxii2/api/collections/{ag}/"),
        objects.clone(),
        format!("/taxii2/api/collections/{ag}/manifest/"),
        format!(
            "/taxii2/api/collections/{ag}/objects/indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f/"
        ),
    ] {
        assert_taxii_error(
            &taxii_get(&app, &path, Some(("taxii", &x_token)), TAXII).await,
            StatusCode::NOT_FOUND,
        );
    }
    // Nor may the outsider write into it.
    let res = app
        .client
        .post(app.url(&objects))
        .basic_auth("taxii", Some(&x_token))
        .header("content-type", TAXII)
        .header("accept", TAXII)
        .body(json!({"objects": []}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // A body of another media type is refused, and a bad filter is a TAXII 400.
    let res = app
        .client
        .post(app.url(&objects))
        .basic_auth("taxii", Some(&p_token))
        .header("content-type", "application/json")
        .header("accept", TAXII)
        .body(json!({"objects": []}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let bad = taxii_get(
        &app,
        &format!("{objects}?added_after=yesterday"),
        Some(("taxii", &c_token)),
        TAXII,
    )
    .await;
    assert_taxii_error(&bad, StatusCode::BAD_REQUEST);
    let bad = taxii_get(
        &app,
        &format!("{objects}?match[colour]=red"),
        Some(("taxii", &c_token)),
        TAXII,
    )
    .await;
    assert_taxii_error(&bad, StatusCode::BAD_REQUEST);

    // The provider adds one object; the customer reads it; a suspension removes the
    // collection on the next request, and resuming brings it back.
    let ind = json!({
        "type": "indicator", "spec_version": "2.1",
        "id": "indicator--0a6b5a8f-2a8b-4d6c-9d55-0b4f1f6b9c11",
        "created": "2026-12-01T10:00:00.000Z", "modified": "2026-12-01T10:00:00.000Z",
        "pattern": "[domain-name:value = 'bad.example']", "pattern_type": "stix",
        "valid_from": "2026-12-01T10:00:00Z",
        "object_marking_refs": ["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]
    });
    let res = app
        .client
        .post(app.url(&objects))
        .basic_auth("taxii", Some(&p_token))
        .header("content-type", TAXII)
        .header("accept", TAXII)
        .body(json!({"objects": [ind]}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let status: Value = res.json().await.unwrap();
    assert_eq!(
        (status["status"].clone(), status["success_count"].clone()),
        (json!("complete"), json!(1))
    );
    let (s, _, st) = taxii_get(
        &app,
        &format!("/taxii2/api/status/{}/", status["id"].as_str().unwrap()),
        Some(("taxii", &p_token)),
        TAXII,
    )
    .await;
    assert_eq!(
        (s, st["id"].clone()),
        (StatusCode::OK, status["id"].clone())
    );
    // A status is its organisation's own.
    let other = taxii_get(
        &app,
        &format!("/taxii2/api/status/{}/", status["id"].as_str().unwrap()),
        Some(("taxii", &c_token)),
        TAXII,
    )
    .await;
    assert_taxii_error(&other, StatusCode::NOT_FOUND);

    // The outsider cannot remove it from the collection either.
    let res = app
        .client
        .delete(app.url(&format!("{objects}{}/", ind["id"].as_str().unwrap())))
        .basic_auth("taxii", Some(&x_token))
        .header("accept", TAXII)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let (s, _, env) = taxii_get(&app, &objects, Some(("taxii", &c_token)), TAXII).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(env["objects"][0]["id"], ind["id"]);
    assert_eq!(env["more"], false);
    assert_eq!(
        app.post(&format!("/api/v1/agreements/{ag}/suspend"), &c, json!({}))
            .await
            .0,
        StatusCode::OK
    );
    assert_taxii_error(
        &taxii_get(&app, &objects, Some(("taxii", &c_token)), TAXII).await,
        StatusCode::NOT_FOUND,
    );
    assert_eq!(
        app.post(&format!("/api/v1/agreements/{ag}/resume"), &c, json!({}))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        taxii_get(&app, &objects, Some(("taxii", &c_token)), TAXII)
            .await
            .0,
        StatusCode::OK
    );

    // DELETE from the agreement's collection stops sharing it; from the own collection it
    // is refused (a revoked version withdraws an object).
    let res = app
        .client
        .delete(app.url(&format!("{objects}{}/", ind["id"].as_str().unwrap())))
        .basic_auth("taxii", Some(&p_token))
        .header("accept", TAXII)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (_, _, env) = taxii_get(&app, &objects, Some(("taxii", &c_token)), TAXII).await;
    assert!(env["objects"].is_null(), "{env}");
}
