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
    // Operation ids are unique (OpenAPI requires it), and every link names one of them.
    let mut ids = std::collections::HashSet::new();
    let mut links = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            assert!(
                ids.insert(id.clone()),
                "operationId {id} repeats ({method} {path})"
            );
            for (status, res) in op["responses"].as_object().unwrap() {
                for (name, link) in res["links"].as_object().into_iter().flatten() {
                    links.push((format!("{method} {path} {status} {name}"), link.clone()));
                }
            }
        }
    }
    for (at, link) in &links {
        let target = link["operationId"].as_str().unwrap();
        assert!(ids.contains(target), "link {at} names no operation");
    }
    // Creations link to the operations on their id, wherever the id sits in the response.
    let link = |path: &str, name: &str| {
        doc["paths"][path]["post"]["responses"]["201"]["links"][name].clone()
    };
    assert_eq!(
        link("/api/v1/subscriptions", "delete")["parameters"]["id"],
        "$response.body#/id"
    );
    assert_eq!(
        link("/api/v1/relationships", "post_accept")["operationId"],
        doc["paths"]["/api/v1/relationships/{id}/accept"]["post"]["operationId"]
    );
    assert_eq!(
        link("/api/v1/api-tokens", "delete")["parameters"]["id"],
        "$response.body#/token/id"
    );
    // The bounds the server checks are stated.
    let params = &doc["paths"]["/api/v1/regions"]["get"]["parameters"];
    let per_page = params
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "per_page")
        .unwrap();
    assert_eq!(per_page["schema"]["maximum"], 100);
    assert_eq!(
        doc["components"]["schemas"]["CreateRegion"]["properties"]["name"]["maxLength"],
        200
    );
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

#[derive(diesel::QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Column {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    column_name: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    not_null: bool,
}

/// Tables and columns (with NOT NULL) of a migrated database, sorted.
fn columns(conn: &mut cirhub::db::DbConn) -> Vec<Column> {
    use diesel::RunQueryDsl;
    let sql = match conn {
        cirhub::db::DbConn::Sqlite(_) => {
            // A primary key counts as NOT NULL: PostgreSQL implies it, and every row here
            // is inserted with its id (SQLite alone would accept a NULL in a TEXT key). The
            // disclosure journal is a file of its own, attached as `journal`.
            "SELECT m.name AS table_name, p.name AS column_name, \
             (p.\"notnull\" <> 0 OR p.pk > 0) AS not_null \
             FROM (SELECT name, type, 'main' AS db FROM main.sqlite_master \
                   UNION ALL SELECT name, type, 'journal' FROM journal.sqlite_master) m \
             JOIN pragma_table_info(m.name, m.db) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
             AND m.name <> '__diesel_schema_migrations'"
        }
        cirhub::db::DbConn::Postgres(_) => {
            "SELECT table_name::text AS table_name, column_name::text AS column_name, \
             is_nullable = 'NO' AS not_null FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name <> '__diesel_schema_migrations'"
        }
    };
    let mut cols: Vec<Column> = diesel::sql_query(sql).load(conn).expect("columns");
    cols.sort();
    cols
}

/// The SQLite and PostgreSQL migration trees are written by hand side by side: they must
/// hold the same migrations and produce the same tables and columns. On the PostgreSQL run
/// this compares the two backends; on SQLite it still checks the migration names.
#[tokio::test]
async fn the_two_migration_trees_agree() {
    let names = |backend: &str| -> Vec<String> {
        let dir = format!("{}/../migrations/{backend}", env!("CARGO_MANIFEST_DIR"));
        let mut n: Vec<String> = std::fs::read_dir(dir)
            .expect("migrations dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    };
    assert_eq!(names("sqlite"), names("postgres"), "migration names differ");

    let app = TestApp::spawn().await;
    let reference = tempfile::tempdir().unwrap();
    let url = reference.path().join("reference.db");
    let url = url.to_string_lossy().into_owned();
    let config = cirhub::config::Config::from_lookup(|k| match k {
        "DATABASE_URL" => Some(url.clone()),
        "CIRHUB_DATA_DIR" => Some(reference.path().to_string_lossy().into_owned()),
        _ => None,
    })
    .unwrap();
    let sqlite = cirhub::db::Db::connect(&config).unwrap();
    sqlite.migrate().unwrap();
    let expected = columns(&mut sqlite.conn().unwrap());
    let actual = app.state.db.read(|c| Ok(columns(c))).await.unwrap();
    assert!(expected.len() > 100, "too few columns read: {expected:?}");
    let only = |a: &[Column], b: &[Column]| -> Vec<String> {
        a.iter()
            .filter(|c| !b.contains(c))
            .map(|c| format!("{}.{} not_null={}", c.table_name, c.column_name, c.not_null))
            .collect()
    };
    assert!(
        expected == actual,
        "the backends' schemas differ:\n only on SQLite: {:?}\n only on this backend: {:?}",
        only(&expected, &actual),
        only(&actual, &expected)
    );
}

/// The access log of `cirhub serve` (JSON lines on stderr): one line per request with its id
/// (also sent as `x-request-id`), route, status and, once authenticated, tenant and actor;
/// the secret of a feed link and any query string never reach it.
#[tokio::test]
async fn the_access_log_names_request_tenant_and_actor_and_never_a_secret() {
    use std::time::{Duration, Instant};
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let created: Value = app
        .create(
            "/api/v1/feed-tokens",
            &w.acme,
            serde_json::json!({"name": "logged"}),
        )
        .await;
    let secret = created["secret"].as_str().unwrap().to_string();
    let feed_path = created["atom_url"]
        .as_str()
        .unwrap()
        .trim_start_matches(&app.base)
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("stderr.log");
    let (mut cmd, base) = app.serve_command(dir.path());
    let mut child = cmd
        .env("CIRHUB_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .expect("start cirhub serve");
    wait_ready(&app.client, &base).await;
    let me = app
        .client
        .get(format!("{base}/api/v1/me?probe=1"))
        .bearer_auth(&w.acme.token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let id = me.headers()["x-request-id"].to_str().unwrap().to_string();
    let feed = app
        .client
        .get(format!("{base}{feed_path}"))
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), StatusCode::OK);
    let feed_id = feed.headers()["x-request-id"].to_str().unwrap().to_string();
    let line_of = |log: &str, id: &str| -> Option<Value> {
        log.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["target"] == "cirhub::access" && v["fields"]["request_id"] == id)
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let log = loop {
        let log = std::fs::read_to_string(&log_path).unwrap();
        if line_of(&log, &id).is_some() && line_of(&log, &feed_id).is_some() {
            break log;
        }
        assert!(Instant::now() < deadline, "no access lines: {log}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    let me_line = line_of(&log, &id).unwrap();
    let f = &me_line["fields"];
    assert_eq!(f["route"], "/api/v1/me", "{me_line}");
    assert_eq!(f["status"], 200, "{me_line}");
    assert_eq!(f["tenant_id"], w.acme.org_id.as_str(), "{me_line}");
    assert_eq!(f["actor"], w.acme.user_id.as_str(), "{me_line}");
    assert!(!log.contains("probe=1"), "a query string was logged");
    let feed_line = line_of(&log, &feed_id).unwrap();
    assert_eq!(feed_line["fields"]["status"], 200, "{feed_line}");
    assert!(
        !log.contains(&secret),
        "a feed secret was logged: {feed_line}"
    );
}
