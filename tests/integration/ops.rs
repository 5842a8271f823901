//! Health, readiness, metrics, OpenAPI and the problem document for unknown paths.

use crate::harness::*;
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::spawn().await;
    assert_eq!(app.public("/healthz").await.0, StatusCode::OK);
    assert_eq!(app.public("/readyz").await.0, StatusCode::OK);
    app.public("/status/none/api/v2/summary.json").await;
    let (status, text) = app.public("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        text.contains("# TYPE cirhub_http_requests_total counter"),
        "{text}"
    );
    assert!(
        text.contains("route=\"/status/{slug}/api/v2/{doc:.*}\""),
        "requests are labelled by route pattern: {text}"
    );
}

#[tokio::test]
async fn openapi_document_and_reference_page() {
    let app = TestApp::spawn().await;
    let (status, text) = app.public("/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/auth/login",
        "/api/v1/incidents",
        "/api/v1/incidents/{id}/updates",
        "/api/v1/components/{id}",
        "/api/v1/audit",
    ] {
        assert!(doc["paths"].get(path).is_some(), "OpenAPI lacks {path}");
    }
    assert!(doc["components"]["schemas"].get("Problem").is_some());
    let (status, html) = app.public("/api/docs/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("swagger"), "reference page served");
}

#[tokio::test]
async fn unknown_api_paths_answer_problem_details() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(app.url("/api/v1/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn the_app_shell_is_served_with_a_strict_content_security_policy() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(app.url("/status/anything"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "frontend must be built (scripts/build-frontend.sh)"
    );
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval'")
            && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let html = res.text().await.unwrap();
    assert!(
        html.contains("src=\"/boot.js\"") && !html.contains("import init"),
        "no inline script: {html}"
    );
    let (status, _) = app.public("/boot.js").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.public("/pkg/%2e%2e%2f%2e%2e%2fCargo.toml").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "no path traversal out of the frontend directory"
    );
}
