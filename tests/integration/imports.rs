//! Imports of indicator files, from the CLI and through the API, on the test's database:
//! CSV, STIX bundle and MISP event files mixing good and bad records store every good one,
//! report each bad one with its position and reason, never half an object; sending the same
//! file again stores nothing new; imported objects shared under an agreement reach its other
//! party; a file that breaks off keeps what came before and says where it broke.

use crate::harness::*;
use cirhub_shared::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::process::Command;

const CSV: &str = "type,value,tlp,category,comment
ipv4,203.0.113.7,amber,malicious-activity,C2 server
,evil[.]example.com,green,,phishing domain
md5,not-a-hash,,,
url,hxxp://bad.example.com/dropper,amber,,
,198.51.100.0/24,TLP:PURPLE,,
,203.0.113[.]7,amber,,the same address again
sha256,5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8,clear,,
";

fn misp() -> String {
    json!({"Event": {
        "info": "Phishing wave", "uuid": "5f1c3a52-7d2e-4a4a-9a55-0c2b5a1e9f01",
        "date": "2026-12-01", "timestamp": "1764583200",
        "Attribute": [
            {"type": "ip-dst", "category": "Network activity", "value": "192.0.2.44", "to_ids": true,
             "uuid": "0b3c9a1e-2f4d-4c5e-8a6b-7c8d9e0f1a2b", "timestamp": "1764583200"},
            {"type": "domain", "category": "Network activity", "value": "login-portal[.]example", "to_ids": false,
             "uuid": "1b3c9a1e-2f4d-4c5e-8a6b-7c8d9e0f1a2b", "timestamp": "1764583200"},
            {"type": "regkey", "category": "Persistence mechanism", "value": "HKLM\\Run\\x", "to_ids": true,
             "uuid": "2b3c9a1e-2f4d-4c5e-8a6b-7c8d9e0f1a2b", "timestamp": "1764583200"},
            {"type": "ip-src", "category": "Network activity", "value": "999.1.1.1", "to_ids": true,
             "uuid": "3b3c9a1e-2f4d-4c5e-8a6b-7c8d9e0f1a2b", "timestamp": "1764583200"}
        ],
        "Tag": [{"name": "tlp:green"}]
    }})
    .to_string()
}

fn indicator(ip: &str) -> Value {
    json!({"type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--{}", uuid::Uuid::new_v4()),
        "created": "2026-12-01T10:00:00.000Z", "modified": "2026-12-01T10:00:00.000Z",
        "pattern": format!("[ipv4-addr:value = '{ip}']"), "pattern_type": "stix",
        "valid_from": "2026-12-01T10:00:00Z",
        "object_marking_refs": ["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]})
}

fn bundle() -> String {
    let mut bad = indicator("192.0.2.200");
    bad["pattern"] = json!("");
    json!({"type": "bundle", "id": format!("bundle--{}", uuid::Uuid::new_v4()), "objects": [
        indicator("192.0.2.100"), bad, {"type": "x-unknown", "id": "x"}, indicator("192.0.2.101")
    ]})
    .to_string()
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn import(app: &TestApp, file: &std::path::Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_cirhub"))
        .args(["ioc", "import"])
        .arg(file)
        .args(args)
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run cirhub");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

async fn values_seen(app: &TestApp, s: &Session, values: &[&str]) -> Vec<usize> {
    let (status, b) = app
        .post("/api/v1/lookup", s, json!({ "values": values }))
        .await;
    assert_eq!(status, StatusCode::OK, "{b}");
    b.as_array()
        .unwrap()
        .iter()
        .map(|a| a["matches"].as_array().map_or(0, Vec::len))
        .collect()
}

#[tokio::test]
async fn the_cli_imports_csv_stix_and_misp_files_reporting_each_bad_record() {
    let app = TestApp::spawn().await;
    let p = app.provider("nimbus", Role::Admin).await;
    let c = app.customer("acme", Role::Admin).await;
    let ag = app.agreement(&p, &c, "amber", json!(["indicators"])).await;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("iocs.csv");
    std::fs::write(&csv, CSV).unwrap();

    let r = import(&app, &csv, &["--org", "nimbus", "--share-under", &ag]);
    assert_eq!(
        r.code,
        Some(3),
        "some records refused: {}{}",
        r.stdout,
        r.stderr
    );
    assert!(
        r.stdout.contains(
            "7 records read, 4 created, 0 new versions, 0 unchanged, 1 duplicate values, 2 refused"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("line 4\t") && r.stderr.contains("hash"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("line 6\t") && r.stderr.contains("tlp"),
        "{}",
        r.stderr
    );
    // The customer now finds what was shared (defanged values refanged), the rest nowhere.
    let seen = values_seen(
        &app,
        &c,
        &[
            "203.0.113.7",
            "www.evil.example.com",
            "http://bad.example.com/dropper",
            "198.51.100.1",
        ],
    )
    .await;
    assert_eq!(seen, vec![1, 1, 1, 0]);
    // The same file again stores nothing new.
    let r = import(&app, &csv, &["--org", "nimbus", "--share-under", &ag]);
    assert!(
        r.stdout.contains("0 created, 0 new versions, 4 unchanged"),
        "{}",
        r.stdout
    );
    let (_, own) = app.get("/api/v1/stix-objects?own=true", &p).await;
    assert_eq!(own["total"], 4);

    let stix = dir.path().join("bundle.json");
    std::fs::write(&stix, bundle()).unwrap();
    let r = import(&app, &stix, &["--org", "nimbus"]);
    assert_eq!(r.code, Some(3), "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("2 created"), "{}", r.stdout);
    assert!(
        r.stderr.contains("objects[1]\t") && r.stderr.contains("pattern"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("objects[2]\t"), "{}", r.stderr);

    let m = dir.path().join("event.json");
    std::fs::write(&m, misp()).unwrap();
    let r = import(&app, &m, &["--org", "nimbus", "--share-under", &ag]);
    assert_eq!(r.code, Some(3), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("2 created") && r.stdout.contains("2 refused"),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("regkey"), "{}", r.stderr);
    let seen = values_seen(
        &app,
        &c,
        &["192.0.2.44", "login-portal.example", "192.0.2.100"],
    )
    .await;
    assert_eq!(
        seen,
        vec![1, 1, 0],
        "the bundle was not shared; the event was"
    );
    let (_, got) = app
        .post("/api/v1/lookup", &c, json!({"values": ["192.0.2.44"]}))
        .await;
    assert_eq!(got[0]["matches"][0]["tlp"], "green", "the event's TLP tag");

    // Bad arguments: a clear message, nothing stored.
    let r = import(&app, &csv, &["--org", "nimbus", "--tlp", "purple"]);
    assert!(
        r.code != Some(0) && r.stderr.contains("--tlp"),
        "{}",
        r.stderr
    );
    let r = import(&app, &csv, &["--org", "nimbus", "--share-under", "nope"]);
    assert!(
        r.code != Some(0) && r.stderr.contains("share_under"),
        "{}",
        r.stderr
    );

    // A file that breaks off: what came before stands, the break is named.
    let cut = dir.path().join("cut.json");
    let whole = bundle();
    std::fs::write(&cut, &whole[..whole.len() * 3 / 4]).unwrap();
    let r = import(&app, &cut, &["--org", "nimbus", "--format", "stix"]);
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("stopped:"), "{}", r.stdout);
}

async fn upload(app: &TestApp, s: &Session, query: &str, body: &str) -> (StatusCode, Value) {
    let res = app
        .client
        .post(format!("{}/api/v1/imports?{query}", app.base))
        .bearer_auth(&s.token)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn finished(app: &TestApp, s: &Session, id: &str) -> Value {
    for _ in 0..200 {
        let (_, b) = app.get(&format!("/api/v1/imports/{id}"), s).await;
        if b["state"] == "done" || b["state"] == "failed" {
            return b;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("import {id} did not finish");
}

#[tokio::test]
async fn an_api_import_runs_as_a_job_with_progress_and_each_refused_record() {
    let app = TestApp::spawn().await;
    let p = app.provider("nimbus", Role::Admin).await;
    let c = app.customer("acme", Role::Admin).await;
    app.user(&p.org_id, "viewer@nimbus.test", Role::Viewer);
    let viewer = app.login("viewer@nimbus.test").await;
    let ag = app.agreement(&p, &c, "amber", json!(["indicators"])).await;
    let mut cs = app.stream(&c.token, None).await;
    cs.live().await;

    let (s, b) = upload(
        &app,
        &p,
        &format!("file_name=iocs.csv&share_under={ag}"),
        CSV,
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert_eq!(
        (&b["format"], &b["file_name"]),
        (&json!("csv"), &json!("iocs.csv"))
    );
    let id = b["id"].as_str().unwrap().to_string();
    let done = finished(&app, &p, &id).await;
    assert_eq!(done["state"], "done", "{done}");
    let counts = &done["counts"];
    assert_eq!(
        (
            &counts["read"],
            &counts["created"],
            &counts["rejected"],
            &counts["duplicates"]
        ),
        (&json!(7), &json!(4), &json!(2), &json!(1)),
        "{done}"
    );
    assert_eq!(counts["bytes_read"], json!(CSV.len()));
    let errors = done["errors"].as_array().unwrap();
    assert_eq!(
        errors
            .iter()
            .map(|e| e["position"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["line 4", "line 6"]
    );
    assert_eq!(values_seen(&app, &c, &["203.0.113.7"]).await, vec![1]);
    let (_, list) = app.get("/api/v1/imports", &p).await;
    assert_eq!(list["total"], 1);
    // Each object it stored and shared went out on the customer's stream.
    let told = cs
        .events_until_quiet(std::time::Duration::from_millis(700))
        .await
        .iter()
        .filter(|e| e["kind"] == "indicator.shared")
        .count();
    assert_eq!(told, 4);

    // A MISP event, told by its content.
    let (s, b) = upload(&app, &p, "", &misp()).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert_eq!(b["format"], "misp");
    let done = finished(&app, &p, b["id"].as_str().unwrap()).await;
    assert_eq!(
        (&done["counts"]["created"], &done["counts"]["rejected"]),
        (&json!(2), &json!(2)),
        "{done}"
    );

    // Another organisation's import does not exist for it; a viewer cannot import; bad
    // parameters are refused before anything is stored.
    let (s, b) = app.get(&format!("/api/v1/imports/{id}"), &c).await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(app.get("/api/v1/imports", &c).await.1["total"], 0);
    let (s, _) = upload(&app, &viewer, "format=csv", CSV).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, b) = upload(&app, &p, "format=xlsx", CSV).await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(b["errors"][0]["field"], "format");
    let (s, b) = upload(&app, &p, "format=csv&share_under=nope", CSV).await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let (s, b) = upload(&app, &p, "", "just some words").await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(
        app.get("/api/v1/imports", &p).await.1["total"],
        2,
        "refused uploads left no import"
    );
    // Nor may a customer share under an agreement it is not a party to.
    let x = app.customer("globex", Role::Admin).await;
    let (s, _) = upload(&app, &x, &format!("format=csv&share_under={ag}"), CSV).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

/// The ids of the organisation's imports still uploading, and how many chunks are stored.
fn uploading(app: &TestApp) -> (Vec<String>, i64) {
    use cirhub::db::schema::{import_chunks, imports};
    use diesel::prelude::*;
    app.state
        .db
        .write_blocking(|c| {
            let ids: Vec<String> = imports::table
                .filter(imports::state.eq("uploading"))
                .select(imports::id)
                .order(imports::id)
                .load(c)?;
            let chunks: i64 = import_chunks::table.count().get_result(c)?;
            Ok((ids, chunks))
        })
        .unwrap()
}

/// A client that goes away in the middle of an upload leaves nothing behind: the row and
/// the chunks that arrived are removed at once. One left behind by an instance that stopped
/// mid-upload (a row still `uploading`) is removed by the hourly sweep once six hours old;
/// a younger one stays.
#[tokio::test]
async fn uploads_that_never_finish_are_removed() {
    use tokio::io::AsyncWriteExt;
    let app = TestApp::spawn_with(&[("CIRHUB_TEST_CLOCK", "1")]).await;
    let p = app.provider("nimbus", Role::Admin).await;

    // 1. A 10 MiB upload cut off after its first 1.5 MiB (the first MiB is stored at once).
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/v1/imports?format=csv&file_name=cut.csv HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer {}\r\nContent-Type: text/csv\r\nContent-Length: 10485760\r\n\r\n",
        p.token
    );
    let mut body = String::from("type,value,tlp,category,comment\n");
    while body.len() < 3 << 19 {
        body.push_str("ipv4,192.0.2.1,amber,,\n");
    }
    sock.write_all(head.as_bytes()).await.unwrap();
    sock.write_all(body.as_bytes()).await.unwrap();
    let mut began = false;
    for _ in 0..200 {
        if uploading(&app).0.len() == 1 {
            began = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(began, "the upload began: {:?}", uploading(&app));
    drop(sock);
    let mut left = uploading(&app);
    for _ in 0..200 {
        if left == (vec![], 0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        left = uploading(&app);
    }
    assert_eq!(left, (vec![], 0), "a client that went away leaves nothing");
    assert_eq!(app.get("/api/v1/imports", &p).await.1["total"], 0);

    // 2. Rows a stopped instance left uploading: the sweep drops the one older than six
    // hours (and its chunk), keeps the younger.
    let now = app.state.jobs.clock().now_ms();
    let org = p.org_id.clone();
    app.state
        .db
        .write_blocking(move |c| {
            use cirhub::db::rows::ImportRow;
            use cirhub::db::schema::{import_chunks, imports};
            use diesel::prelude::*;
            for (id, age_h) in [("a-stale", 7), ("b-young", 1)] {
                diesel::insert_into(imports::table)
                    .values(&ImportRow {
                        id: id.into(),
                        organisation_id: org.clone(),
                        actor_type: "user".into(),
                        actor_id: None,
                        actor_name: "x".into(),
                        state: "uploading".into(),
                        format: "csv".into(),
                        file_name: None,
                        tlp: "amber".into(),
                        share_under: "[]".into(),
                        counts: "{}".into(),
                        errors: "[]".into(),
                        failure: None,
                        bytes_total: 0,
                        heartbeat_at: None,
                        created_at: now - age_h * 3_600_000,
                        finished_at: None,
                    })
                    .execute(c)?;
                diesel::insert_into(import_chunks::table)
                    .values((
                        import_chunks::import_id.eq(id),
                        import_chunks::n.eq(0),
                        import_chunks::data.eq(b"type,value\n".to_vec()),
                    ))
                    .execute(c)?;
            }
            Ok(())
        })
        .unwrap();
    let (status, body) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/ops/clock",
            None,
            Some(json!({ "advance_secs": 3601 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut left = uploading(&app);
    for _ in 0..200 {
        if left.0 == ["b-young"] {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        left = uploading(&app);
    }
    assert_eq!(left, (vec!["b-young".to_string()], 1), "the sweep ran");
}
