//! Write-ahead disclosures survive a crash: the real binary is killed with SIGKILL while a
//! fan-out and a batch of reads are in flight; after a restart on the same database, every
//! frame and every response a client received has its disclosure, and the chain verifies.

use crate::harness::*;
use cirhub::db::rows::DisclosureRow;
use cirhub::db::schema::disclosures;
use diesel::prelude::*;
use futures_util::StreamExt;
use serde_json::Value;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// The `cirhub serve` process on the test's database.
pub(crate) struct Server {
    child: Child,
    pub(crate) base: String,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start(app: &TestApp) -> Server {
        Server::start_with(app, &[]).await
    }

    /// Started with `extra` settings besides the test database's.
    pub(crate) async fn start_with(app: &TestApp, extra: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let (mut cmd, base) = app.serve_command(dir.path());
        cmd.env("CIRHUB_DB_POOL", "4").env("RUST_LOG", "warn");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start cirhub serve");
        wait_ready(&app.client, &base).await;
        Server {
            child,
            base,
            _dir: dir,
        }
    }

    /// SIGKILL: no shutdown hook runs.
    pub(crate) fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    /// A failing test does not leave the server running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a client received: who (organisation, actor id), the record, its version, and for a
/// frame the event's sequence number.
#[derive(Debug, Clone)]
struct Received {
    org: String,
    actor: String,
    object_id: String,
    version: i64,
    seq: Option<i64>,
}

async fn watch(base: String, s: Session, got: Arc<Mutex<Vec<Received>>>) {
    let url = format!("{}/api/v1/stream", base.replace("http://", "ws://"));
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert(
        "Authorization",
        format!("Bearer {}", s.token).parse().unwrap(),
    );
    let Ok((mut ws, _)) = tokio_tungstenite::connect_async(req).await else {
        return;
    };
    while let Some(Ok(msg)) = ws.next().await {
        let Ok(text) = msg.to_text() else { continue };
        let Ok(f) = serde_json::from_str::<Value>(text) else {
            continue;
        };
        if f["type"] == "event" {
            if let Some(i) = f["incident"].as_object() {
                got.lock().unwrap().push(Received {
                    org: s.org_id.clone(),
                    actor: s.user_id.clone(),
                    object_id: i["id"].as_str().unwrap().into(),
                    version: i["version"].as_i64().unwrap(),
                    seq: f["seq"].as_i64(),
                });
            }
        }
    }
}

async fn read(client: reqwest::Client, url: String, s: Session, got: Arc<Mutex<Vec<Received>>>) {
    loop {
        let Ok(r) = client.get(&url).bearer_auth(&s.token).send().await else {
            return;
        };
        if !r.status().is_success() {
            return;
        }
        let Ok(body) = r.json::<Value>().await else {
            return;
        };
        got.lock().unwrap().push(Received {
            org: s.org_id.clone(),
            actor: s.user_id.clone(),
            object_id: body["id"].as_str().unwrap().into(),
            version: body["version"].as_i64().unwrap(),
            seq: None,
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_fan_out_leaves_no_delivery_without_its_disclosure() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let inc = app
        .open(&w.provider, &w.compute_tokyo, "Crash", "affected", &[])
        .await;
    let mut server = Server::start(&app).await;
    let got: Arc<Mutex<Vec<Received>>> = Arc::default();
    let mut tasks = Vec::new();
    for i in 0..24 {
        let s = if i % 2 == 0 { &w.acme } else { &w.provider };
        tasks.push(tokio::spawn(watch(
            server.base.clone(),
            s.clone(),
            got.clone(),
        )));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for i in 0..8 {
        let (s, path) = if i % 2 == 0 {
            (&w.acme, format!("/api/v1/dashboard/incidents/{}", inc.id))
        } else {
            (&w.provider, format!("/api/v1/incidents/{}", inc.id))
        };
        tasks.push(tokio::spawn(read(
            app.client.clone(),
            format!("{}{path}", server.base),
            s.clone(),
            got.clone(),
        )));
    }
    // Updates through the server under test, each a fan-out, until it is killed mid-flight.
    let client = app.client.clone();
    let url = format!("{}/api/v1/incidents/{}/updates", server.base, inc.id);
    let token = w.provider.token.clone();
    tasks.push(tokio::spawn(async move {
        for n in 0.. {
            let body = serde_json::json!({"status": "identified", "body": format!("update {n}")});
            if client
                .post(&url)
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .is_err()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    server.kill();
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
    }
    let received = got.lock().unwrap().clone();
    let frames = received.iter().filter(|r| r.seq.is_some()).count();
    let responses = received.len() - frames;
    eprintln!("received before the kill: {frames} frames, {responses} responses");
    assert!(
        frames > 24 && responses > 8,
        "the load was in flight: {frames} frames, {responses} responses"
    );

    // Restarted on the same database, the records are all there.
    let mut again = Server::start(&app).await;
    let rows: Vec<DisclosureRow> = {
        let mut conn = app.state.db.conn().unwrap();
        disclosures::table
            .select(DisclosureRow::as_select())
            .load(&mut *conn)
            .unwrap()
    };
    let mut missing = Vec::new();
    for r in &received {
        let found = rows.iter().any(|d| {
            d.object_id == r.object_id
                && d.object_version == Some(r.version as i32)
                && match r.seq {
                    Some(seq) => {
                        d.channel == "websocket"
                            && d.detail.as_deref().is_some_and(|x| {
                                serde_json::from_str::<Value>(x).unwrap()["seq"] == seq
                            })
                            && (d.actor_id.as_deref() == Some(r.actor.as_str())
                                || d.recipients
                                    .as_deref()
                                    .is_some_and(|j| j.contains(&r.actor) && j.contains(&r.org)))
                    }
                    None => {
                        d.channel == "http"
                            && d.actor_id.as_deref() == Some(r.actor.as_str())
                            && d.organisation_id.as_deref() == Some(r.org.as_str())
                    }
                }
        });
        if !found {
            missing.push(r.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} deliveries ({frames} frames, {responses} responses) have no disclosure: {:?}",
        missing.len(),
        received.len(),
        &missing[..missing.len().min(5)]
    );
    // Every response has its own row: none shared by two responses.
    for org in [&w.acme.org_id, &w.provider.org_id] {
        let shown = received
            .iter()
            .filter(|r| r.seq.is_none() && &r.org == org)
            .count();
        let recorded = rows
            .iter()
            .filter(|d| d.channel == "http" && d.organisation_id.as_ref() == Some(org))
            .count();
        assert!(
            recorded >= shown,
            "{recorded} records for {shown} responses"
        );
    }

    app.state.journal.seal().await.unwrap();
    let (_, v) = app.get("/api/v1/audit/verify", &w.provider).await;
    assert_eq!(v["ok"], true, "{v}");
    let out = Command::new(env!("CARGO_BIN_EXE_cirhub"))
        .args(["audit", "verify"])
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    again.kill();
}
