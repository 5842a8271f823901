//! Hostile input at the edge: NUL characters (legal in SQLite, an error in PostgreSQL),
//! optional bodies that fail to parse, text after a JSON document, characters XML 1.0
//! forbids, and names made only of invisible characters. Each answers a 4xx naming the
//! field, on both databases, and writes nothing.

use crate::harness::*;
use cirhub_shared::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Sends `body` as is, with `content_type` (if any) and a bearer token (if any).
async fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, Value) {
    let mut req = app.client.request(method, app.url(path)).body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(ct) = content_type {
        req = req.header("Content-Type", ct);
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The field a 422 names first.
fn field_of(status: StatusCode, body: &Value) -> String {
    assert_problem(
        status,
        body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .errors[0]
        .field
        .clone()
}

fn incident_body(title: &str, body: &str, component_id: &str) -> Value {
    json!({
        "title": title,
        "body": body,
        "impact": "major",
        "urgency": "high",
        "visibility": "public",
        "components": [{"component_id": component_id, "status": "partial_outage"}]
    })
}

async fn incident_count(app: &TestApp, s: &Session) -> usize {
    let (status, list) = app.get("/api/v1/incidents?per_page=100", s).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_nul_in_a_json_string_is_a_422_naming_its_path_even_before_login() {
    let app = TestApp::spawn().await;
    let s = app.provider("nimbus", Role::Operator).await;
    let cat = app.catalogue(&s).await;

    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "a\u{0}b@x", "password": PASSWORD})),
        )
        .await;
    assert_eq!(field_of(status, &body), "email");

    let comp = &cat.components[0].id;
    let (status, body) = app
        .post(
            "/api/v1/incidents",
            &s,
            incident_body("Disk \u{0} failure", "investigating", comp),
        )
        .await;
    assert_eq!(field_of(status, &body), "title");
    let (status, body) = app
        .post(
            "/api/v1/incidents",
            &s,
            incident_body("Disk failure", "investigating", &format!("{comp}\u{0}")),
        )
        .await;
    assert_eq!(field_of(status, &body), "components[0].component_id");
    assert_eq!(incident_count(&app, &s).await, 0, "nothing was written");
}

#[tokio::test]
async fn a_nul_in_a_path_segment_is_a_404_on_every_surface() {
    let app = TestApp::spawn().await;
    let s = app.provider("nimbus", Role::Admin).await;
    for path in [
        "/api/v1/incidents/%00",
        "/api/v1/incidents/a%00b/updates",
        "/api/v1/users/%00",
        "/api/v1/components/%00",
        "/api/v1/relationships/%00",
        "/api/v1/dashboard/incidents/%00",
    ] {
        let (status, body) = app.get(path, &s).await;
        assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
    }
    for path in [
        "/status/%00/api/v2/summary.json",
        "/status/nimbus%00/api/v2/status.json",
        "/status/%00/history.atom",
        "/status/%00/uptime.json",
        "/feeds/%00/history.atom",
        "/feeds/%00/api/v2/summary.json",
        "/unsubscribe/%00",
        "/unsubscribe/a%00.b.c",
    ] {
        let (status, body) = app.call(Method::GET, path, None, None).await;
        assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
    }
    let (status, body) = app
        .call(Method::POST, "/unsubscribe/%00.%00.%00", None, None)
        .await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn a_nul_in_a_query_parameter_is_a_400_naming_the_parameter() {
    let app = TestApp::spawn().await;
    let admin = app.provider("nimbus", Role::Admin).await;
    let customer = app.customer("acme", Role::Admin).await;
    for (path, who, param) in [
        ("/api/v1/audit?object_type=%00", &admin, "object_type"),
        ("/api/v1/audit?action=a%00b&page=1", &admin, "action"),
        (
            "/api/v1/dashboard/incidents?provider_id=%00",
            &customer,
            "provider_id",
        ),
        ("/api/v1/incidents?q=%00", &admin, "q"),
    ] {
        let (status, body) = app.get(path, who).await;
        let p = assert_problem(status, &body, StatusCode::BAD_REQUEST, "invalid_query");
        assert!(p.detail.contains(param), "{path}: {}", p.detail);
    }
    let (status, body) = app
        .call(
            Method::GET,
            "/status/nimbus/api/v2/summary.json?x=%00",
            None,
            None,
        )
        .await;
    assert_problem(status, &body, StatusCode::BAD_REQUEST, "invalid_query");
}

#[tokio::test]
async fn an_optional_body_that_is_present_must_be_valid() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let analyst = app.colleague(&w.acme, "analyst", Role::Analyst).await;
    let inc = app
        .open(
            &w.provider,
            &w.compute_tokyo,
            "VM start failures",
            "affected",
            &[],
        )
        .await;
    let ack = format!("/api/v1/dashboard/incidents/{}/ack", inc.id);
    let big = format!(
        "{{\"version\": 1, \"pad\": \"{}\"}}",
        "x".repeat(300 * 1024)
    );
    let json_ct = Some("application/json");
    for (content_type, body, want, code) in [
        (json_ct, "{nope".to_string(), 400, "malformed_json"),
        (
            json_ct,
            "{\"version\": \"one\"}".into(),
            422,
            "validation_failed",
        ),
        (json_ct, "\"yes\"".into(), 422, "validation_failed"),
        (
            json_ct,
            "{\"version\": 1} trailing".into(),
            400,
            "malformed_json",
        ),
        (
            Some("text/plain"),
            "version=1".into(),
            415,
            "unsupported_media_type",
        ),
        (
            None,
            "{\"version\": 1}".into(),
            415,
            "unsupported_media_type",
        ),
        (json_ct, big, 413, "payload_too_large"),
    ] {
        let (status, problem) = raw(
            &app,
            Method::POST,
            &ack,
            Some(&analyst.token),
            content_type,
            body,
        )
        .await;
        assert_problem(status, &problem, StatusCode::from_u16(want).unwrap(), code);
        let (_, detail) = app
            .get(&format!("/api/v1/dashboard/incidents/{}", inc.id), &analyst)
            .await;
        assert!(
            detail["acknowledgement"].is_null(),
            "a {want} must not acknowledge: {detail}"
        );
    }
    // No body at all, with or without a JSON content type, or `null`, is "acknowledge the
    // latest" (the OpenAPI document says the body is optional and may be null).
    let (status, detail) = raw(&app, Method::POST, &ack, Some(&analyst.token), json_ct, "").await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["acknowledgement"]["incident_version"], 1);
    let (status, _) = raw(&app, Method::POST, &ack, Some(&analyst.token), None, "").await;
    assert_eq!(status, StatusCode::OK);
    let other = app
        .open(
            &w.provider,
            &w.compute_tokyo,
            "Disk latency",
            "affected",
            &[],
        )
        .await;
    let path = format!("/api/v1/dashboard/incidents/{}/ack", other.id);
    let (status, detail) = raw(
        &app,
        Method::POST,
        &path,
        Some(&analyst.token),
        json_ct,
        "null",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["acknowledgement"]["incident_version"], 1);
}

#[tokio::test]
async fn text_after_the_json_document_is_a_400() {
    let app = TestApp::spawn().await;
    let s = app.provider("nimbus", Role::Admin).await;
    let region = r#"{"code": "ap-northeast-1", "name": "Tokyo"}"#;
    for body in [
        format!("{region} trailing"),
        format!("{region}{region}"),
        format!("{region} {{}}"),
        format!("{region}]"),
    ] {
        let (status, problem) = raw(
            &app,
            Method::POST,
            "/api/v1/regions",
            Some(&s.token),
            Some("application/json"),
            body,
        )
        .await;
        assert_problem(status, &problem, StatusCode::BAD_REQUEST, "malformed_json");
    }
    let (_, list) = app.get("/api/v1/regions", &s).await;
    assert_eq!(list["items"], json!([]), "nothing was written");
    // Whitespace after the document is fine.
    let (status, body) = raw(
        &app,
        Method::POST,
        "/api/v1/regions",
        Some(&s.token),
        Some("application/json"),
        format!("{region} \n\t"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn characters_xml_forbids_are_refused_in_every_text_field() {
    let app = TestApp::spawn().await;
    let s = app.provider("nimbus", Role::Admin).await;
    let cat = app.catalogue(&s).await;
    let comp = &cat.components[0].id;
    for bad in [
        "Outage \u{FFFE}",
        "Outage \u{FFFF}",
        "Outage \u{1}",
        "\u{1B}[31mred",
    ] {
        let (status, body) = app
            .post("/api/v1/incidents", &s, incident_body(bad, "fine", comp))
            .await;
        assert_eq!(field_of(status, &body), "title", "{bad:?}");
    }
    let (status, body) = app
        .post(
            "/api/v1/incidents",
            &s,
            incident_body("Outage", "line\u{FFFF}", comp),
        )
        .await;
    assert_eq!(field_of(status, &body), "body");
    assert_eq!(incident_count(&app, &s).await, 0, "nothing was written");
    let (status, body) = app
        .post(
            "/api/v1/services",
            &s,
            json!({"name": "Storage", "description": "objects \u{FFFE}"}),
        )
        .await;
    assert_eq!(field_of(status, &body), "description");
    // Tab, line feed and carriage return stay allowed.
    let inc: Value = app
        .create(
            "/api/v1/incidents",
            &s,
            incident_body("Outage\tnow", "line one\r\nline two", comp),
        )
        .await;
    assert_eq!(inc["title"], "Outage\tnow");
}

#[tokio::test]
async fn names_made_only_of_invisible_characters_are_blank() {
    let app = TestApp::spawn().await;
    let s = app.provider("nimbus", Role::Admin).await;
    let cat = app.catalogue(&s).await;
    for blank in [
        "\u{200B}",
        "\u{200C}\u{200D}",
        "\u{2060}",
        "\u{FEFF}",
        " \u{200B}\u{00A0}\u{3000}",
        "\u{00AD}\u{2061}",
    ] {
        let (status, body) = app
            .post(
                "/api/v1/services",
                &s,
                json!({"name": blank, "description": ""}),
            )
            .await;
        assert_eq!(field_of(status, &body), "name", "{blank:?}");
        let (status, body) = app
            .post(
                "/api/v1/components",
                &s,
                json!({"name": blank, "service_id": cat.service.id}),
            )
            .await;
        assert_eq!(field_of(status, &body), "name", "{blank:?}");
        let (status, body) = app
            .post(
                "/api/v1/incidents",
                &s,
                incident_body(blank, "investigating", &cat.components[0].id),
            )
            .await;
        assert_eq!(field_of(status, &body), "title", "{blank:?}");
    }
    // A visible name that carries a joiner (emoji sequences) is still a name.
    let svc: Value = app
        .create(
            "/api/v1/services",
            &s,
            json!({"name": "Ops \u{1F469}\u{200D}\u{1F4BB}", "description": ""}),
        )
        .await;
    assert_eq!(svc["name"], "Ops \u{1F469}\u{200D}\u{1F4BB}");
}

/// True if every character is one XML 1.0 allows (the `Char` production).
fn xml_chars_only(doc: &str) -> bool {
    doc.chars().all(|c| {
        matches!(c, '\t' | '\n' | '\r')
            || ('\u{20}'..='\u{D7FF}').contains(&c)
            || ('\u{E000}'..='\u{FFFD}').contains(&c)
            || c >= '\u{10000}'
    })
}

#[tokio::test]
async fn a_stored_record_with_forbidden_characters_still_yields_well_formed_feeds() {
    use cirhub::db::schema::{incident_updates, incidents};
    use diesel::prelude::*;
    let app = TestApp::spawn().await;
    let s = app.provider("nimbus", Role::Operator).await;
    let cat = app.catalogue(&s).await;
    let inc = app.incident(&s, &cat, "Disk failure", "public").await;
    // Written before this check existed, or by a path that skipped it.
    let id = inc.id.clone();
    app.state
        .db
        .write_blocking(move |c| {
            diesel::update(incidents::table.find(&id))
                .set(incidents::title.eq("Disk \u{FFFE}failure\u{FFFF}\u{1}"))
                .execute(c)?;
            diesel::update(incident_updates::table.filter(incident_updates::incident_id.eq(&id)))
                .set(incident_updates::body.eq("Investigating \u{FFFF}\u{B}now"))
                .execute(c)?;
            Ok(())
        })
        .expect("store the record");
    for (doc, kind) in [
        ("history.atom", feed_rs::model::FeedType::Atom),
        ("history.rss", feed_rs::model::FeedType::RSS2),
    ] {
        let (status, xml) = app.public(&format!("/status/nimbus/{doc}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            xml_chars_only(&xml),
            "{doc} holds characters XML 1.0 forbids"
        );
        let feed = feed_rs::parser::parse(xml.as_bytes()).expect("the feed parses");
        assert_eq!(feed.feed_type, kind);
        let entry = &feed.entries[0];
        assert_eq!(entry.title.as_ref().unwrap().content, "Disk failure");
        let content = match kind {
            feed_rs::model::FeedType::Atom => entry.content.as_ref().and_then(|c| c.body.clone()),
            _ => entry.summary.as_ref().map(|t| t.content.clone()),
        };
        assert!(
            content.unwrap_or_default().contains("Investigating now"),
            "{doc}: {xml}"
        );
    }
}
