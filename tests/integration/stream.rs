//! The WebSocket stream, driven by tokio-tungstenite clients: filtering by tenant,
//! visibility and subscription; replay after a disconnect; heartbeats; slow clients;
//! delivery records in the audit log.

use crate::harness::*;
use cirhub_shared::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn titles(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| e["incident"]["title"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn the_stream_is_authenticated() {
    let app = TestApp::spawn().await;
    let url = format!("{}/api/v1/stream", app.base);
    // Without a token, and with a bad one: 401 problem details before any upgrade.
    for auth in [None, Some("Bearer nonsense")] {
        let mut req = app
            .client
            .get(&url)
            .header("Connection", "Upgrade")
            .header("Upgrade", "websocket")
            .header("Sec-WebSocket-Version", "13")
            .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }
    let w = app.world().await;
    let (s, b) = app.get("/api/v1/stream?since=-4", &w.acme).await;
    assert_eq!(
        assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").errors[0]
            .field,
        "since"
    );
}

#[tokio::test]
async fn customers_receive_only_their_share_filtered_by_subscription() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    // An acme analyst narrows the stream to P1 only; another acme user takes everything.
    let analyst = app.colleague(&w.acme, "analyst", Role::Analyst).await;
    app.create::<Value>(
        "/api/v1/subscriptions",
        &analyst,
        json!({"name": "P1 only", "min_priority": "P1", "channels": ["websocket"]}),
    )
    .await;
    let mut everything = app.stream(&w.acme.token, None).await;
    let mut p1 = app.stream(&analyst.token, None).await;
    let mut globex = app.stream(&w.globex.token, None).await;
    let mut provider = app.stream(&w.provider.token, None).await;
    for c in [&mut everything, &mut p1, &mut globex, &mut provider] {
        assert_eq!(
            c.frame_within(Duration::from_secs(5)).await.unwrap()["type"],
            "hello"
        );
        assert_eq!(
            c.frame_within(Duration::from_secs(5)).await.unwrap()["type"],
            "live"
        );
    }
    app.open(
        &w.provider,
        &w.compute_tokyo,
        "Named for globex",
        "named",
        &["globex"],
    )
    .await;
    app.open(&w.provider, &w.compute_tokyo, "Internal", "internal", &[])
        .await;
    // major x high = P2 by the default policy
    app.open(&w.provider, &w.compute_tokyo, "Tokyo P2", "affected", &[])
        .await;
    let crit: Value = app
        .create(
            "/api/v1/incidents",
            &w.provider,
            json!({"title": "Tokyo P1", "body": "down",
        "impact": "critical", "urgency": "high", "visibility": "affected",
        "components": [{"component_id": w.compute_tokyo.id, "status": "major_outage"}]}),
        )
        .await;
    let quiet = Duration::from_millis(1500);
    let acme_all = everything.events_until_quiet(quiet).await;
    assert_eq!(titles(&acme_all), ["Tokyo P2", "Tokyo P1"]);
    // acme also hears of the component status changes in its scope
    assert!(acme_all.len() > 2 || acme_all.iter().all(|e| e["kind"] != "component.status"));
    assert_eq!(titles(&p1.events_until_quiet(quiet).await), ["Tokyo P1"]);
    assert_eq!(
        titles(&globex.events_until_quiet(quiet).await),
        ["Named for globex"]
    );
    let prov = provider.events_until_quiet(quiet).await;
    assert_eq!(
        titles(&prov),
        ["Named for globex", "Internal", "Tokyo P2", "Tokyo P1"]
    );
    // Sequence numbers only grow.
    let seqs: Vec<i64> = prov.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    // The acknowledgement reaches the provider live.
    app.post(
        &format!(
            "/api/v1/dashboard/incidents/{}/ack",
            crit["id"].as_str().unwrap()
        ),
        &analyst,
        json!({}),
    )
    .await;
    let ack = provider.event().await;
    assert_eq!(ack["kind"], "incident.acknowledged");
    assert_eq!(
        ack["acknowledgement"]["customer_id"],
        w.acme.org_id.as_str()
    );
    assert!(
        globex.events_until_quiet(quiet).await.is_empty(),
        "globex must not hear of acme's acknowledgement"
    );
}

#[tokio::test]
async fn a_reconnecting_client_gets_what_it_missed_once_and_in_order() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let inc = app
        .open(
            &w.provider,
            &w.compute_tokyo,
            "Disk latency",
            "affected",
            &[],
        )
        .await;
    let mut c = app.stream(&w.acme.token, Some(0)).await;
    let (replayed, _) = c.live().await;
    assert_eq!(
        titles(&replayed),
        ["Disk latency"],
        "a fresh client can replay from 0"
    );
    app.update(&w.provider, &inc.id, "identified", "Update 1")
        .await;
    let first = c.event().await;
    assert_eq!(first["incident"]["latest_update"]["body"], "Update 1");
    let last_seen = first["seq"].as_i64().unwrap();
    drop(c);
    // While it is away: two updates for acme, one for globex only.
    app.update(&w.provider, &inc.id, "monitoring", "Update 2")
        .await;
    app.open(&w.provider, &w.compute_osaka, "Osaka only", "affected", &[])
        .await;
    app.update(&w.provider, &inc.id, "resolved", "Update 3")
        .await;
    let mut c = app.stream(&w.acme.token, Some(last_seen)).await;
    // One more arrives during the replay window.
    let app_ref = &app;
    let (replay, _) = tokio::join!(c.live(), async {
        app_ref
            .update(&w.provider, &inc.id, "postmortem", "Update 4")
            .await;
    });
    let mut got: Vec<Value> = replay.0;
    got.extend(c.events_until_quiet(Duration::from_millis(1500)).await);
    let bodies: Vec<&str> = got
        .iter()
        .filter_map(|e| e["incident"]["latest_update"]["body"].as_str())
        .collect();
    assert_eq!(
        bodies,
        ["Update 2", "Update 3", "Update 4"],
        "no gap, no duplicate"
    );
    assert!(!titles(&got).contains(&"Osaka only".to_string()));
    assert_eq!(
        got.iter()
            .find(|e| e["incident"]["latest_update"]["body"] == "Update 3")
            .unwrap()["kind"],
        "incident.resolved"
    );
    let seqs: Vec<i64> = got.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]) && seqs[0] > last_seen,
        "{seqs:?}"
    );
}

#[tokio::test]
async fn heartbeats_flow_when_nothing_happens() {
    let app = TestApp::spawn_with(&[("CIRHUB_STREAM_HEARTBEAT_SECS", "1")]).await;
    let w = app.world().await;
    let mut c = app.stream(&w.acme.token, None).await;
    let mut beats = 0;
    while let Some(f) = c.frame_within(Duration::from_secs(3)).await {
        if f["type"] == "heartbeat" {
            assert!(f["last_seq"].is_i64());
            beats += 1;
            if beats == 2 {
                break;
            }
        }
    }
    assert_eq!(beats, 2);
}

#[tokio::test]
async fn a_stalled_client_is_told_to_resync_and_never_delays_the_others() {
    let app = TestApp::spawn_with(&[
        ("CIRHUB_STREAM_QUEUE", "4"),
        ("CIRHUB_STREAM_HEARTBEAT_SECS", "600"),
    ])
    .await;
    let w = app.world().await;
    // The stalled client connects and then never reads.
    let mut stalled = app.stream_small_buffer(&w.acme.token).await;
    let mut healthy = app.stream(&w.acme.token, None).await;
    healthy.live().await;
    // Large incidents fill the stalled client's socket buffers (megabytes on loopback),
    // then its queue; the healthy client must get each one promptly all along.
    let big = "x".repeat(19_000);
    let mut slowest = Duration::ZERO;
    let rounds = 300;
    for i in 0..rounds {
        let title = format!("Flap {i}");
        app.create::<Value>(
            "/api/v1/incidents",
            &w.provider,
            json!({"title": title, "body": big,
            "impact": "minor", "visibility": "affected",
            "components": [{"component_id": w.compute_tokyo.id, "status": "operational"}]}),
        )
        .await;
        let sent = Instant::now();
        loop {
            let e = healthy.event().await;
            if e["incident"]["title"] == title.as_str() {
                break;
            }
        }
        slowest = slowest.max(sent.elapsed());
    }
    assert!(
        slowest < Duration::from_secs(2),
        "the healthy client waited {slowest:?}"
    );
    // Now the stalled client reads: what it gets ends with a resync request.
    let mut saw_resync = None;
    while let Some(f) = stalled.frame_within(Duration::from_secs(5)).await {
        if f["type"] == "resync" {
            saw_resync = Some(f["since"].as_i64().unwrap());
            break;
        }
    }
    let since = saw_resync.expect("the stalled client is told to resynchronise");
    // Resuming from there delivers the rest, up to the last incident.
    let mut again = app.stream(&w.acme.token, Some(since)).await;
    let (replayed, _) = again.live().await;
    assert!(!replayed.is_empty());
    assert_eq!(
        replayed.last().unwrap()["incident"]["title"],
        format!("Flap {}", rounds - 1)
    );
}

#[tokio::test]
async fn every_frame_written_is_a_disclosure_in_the_audit_log() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let mut c = app.stream(&w.acme.token, None).await;
    c.live().await;
    let inc = app
        .open(&w.provider, &w.compute_tokyo, "Recorded", "affected", &[])
        .await;
    let ev = loop {
        let e = c.event().await;
        if e["kind"] == "incident.created" {
            break e;
        }
    };
    // Recorded before the frame was sent: the fan-out's one row names its recipients.
    let (_, audit) = app
        .get("/api/v1/audit/disclosures?per_page=100", &w.acme)
        .await;
    let e = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["channel"] == "websocket" && e["object_id"] == inc.id.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("no websocket disclosure recorded: {audit}"));
    assert_eq!(e["object_version"], 1);
    assert_eq!(ev["incident"]["version"], 1);
    assert_eq!(
        e["recipients"],
        json!([{"organisation_id": w.acme.org_id, "actor_type": "user", "actor_id": w.acme.user_id}]),
        "only acme's own recipients are shown to acme"
    );
    // Delivery states follow: the receipt says reached.
    let deadline = Instant::now() + Duration::from_secs(5);
    while app
        .get(
            &format!("/api/v1/incidents/{}/receipts", inc.id),
            &w.provider,
        )
        .await
        .1[0]["reached_by"]
        != "websocket"
    {
        assert!(Instant::now() < deadline, "never marked reached");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, receipts) = app
        .get(
            &format!("/api/v1/incidents/{}/receipts", inc.id),
            &w.provider,
        )
        .await;
    assert_eq!(receipts[0]["reached_by"], "websocket", "{receipts}");
    let (_, v) = app.get("/api/v1/audit/verify", &w.provider).await;
    assert_eq!(v["ok"], true, "{v}");
}

#[tokio::test]
async fn cirhub_watch_tails_the_stream() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let inc = app
        .open(&w.provider, &w.compute_tokyo, "Watched", "affected", &[])
        .await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_cirhub"))
        .args(["watch", "--url", &app.base, "--since", "0", "--count", "2"])
        .env("CIRHUB_TOKEN", &w.acme.token)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(20), out)
        .await
        .expect("watch exits")
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("incident.created [Org nimbus] Watched (investigating, P2)"),
        "{text}"
    );
    let _ = inc;
    // JSON lines for scripts.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_cirhub"))
        .args([
            "watch", "--url", &app.base, "--since", "0", "--count", "1", "--json",
        ])
        .env("CIRHUB_TOKEN", &w.globex.token)
        .output();
    // globex has nothing: it must not print acme's incident; give it a moment and stop it.
    let res = tokio::time::timeout(Duration::from_secs(3), out).await;
    assert!(res.is_err(), "globex's watch must not get an event");
    // A bad token is refused with the server's reason.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_cirhub"))
        .args(["watch", "--url", &app.base])
        .env("CIRHUB_TOKEN", "bad")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"));
}

#[tokio::test]
async fn an_event_written_by_another_instance_reaches_this_instances_clients() {
    let a = TestApp::spawn_with(&[("CIRHUB_STREAM_POLL_MS", "200")]).await;
    let b = TestApp::spawn_with(&[
        ("DATABASE_URL", a.database_url.as_str()),
        ("CIRHUB_STREAM_POLL_MS", "200"),
    ])
    .await;
    let w = a.world().await;
    let mut on_b = b.stream(&w.acme.token, None).await;
    on_b.live().await;
    a.open(
        &w.provider,
        &w.compute_tokyo,
        "Written on A",
        "affected",
        &[],
    )
    .await;
    let ev = loop {
        let e = on_b.event().await;
        if e["kind"] == "incident.created" {
            break e;
        }
    };
    assert_eq!(ev["incident"]["title"], "Written on A");
    // Both instances append to one gap-free event sequence.
    let inc = b
        .open(
            &w.provider,
            &w.compute_tokyo,
            "Written on B",
            "affected",
            &[],
        )
        .await;
    let mut on_a = a.stream(&w.acme.token, Some(0)).await;
    let (replayed, _) = on_a.live().await;
    let seqs: Vec<i64> = replayed
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert_eq!(titles(&replayed), ["Written on A", "Written on B"]);
    let _ = inc;
}

#[tokio::test]
async fn a_stored_filter_that_cannot_be_read_matches_nothing() {
    use cirhub::db::schema::mail_outbox;
    use diesel::prelude::*;
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let analyst = app.colleague(&w.acme, "analyst", Role::Analyst).await;
    let sub: Value = app
        .create(
            "/api/v1/subscriptions",
            &analyst,
            json!({"name": "Storage only", "service_ids": [w.storage_tokyo.service_id],
                   "channels": ["websocket", "email"]}),
        )
        .await;
    // The stored filter gets damaged (a bad migration, a hand edit).
    let id = sub["id"].as_str().unwrap().to_string();
    app.state
        .db
        .write_blocking(move |c| {
            diesel::sql_query(format!(
                "UPDATE subscriptions SET service_ids = '[\"broken' WHERE id = '{id}'"
            ))
            .execute(c)?;
            Ok(())
        })
        .unwrap();
    let mut narrowed = app.stream(&analyst.token, None).await;
    let mut control = app.stream(&w.acme.token, None).await;
    narrowed.live().await;
    control.live().await;
    app.open(
        &w.provider,
        &w.compute_tokyo,
        "Tokyo compute",
        "affected",
        &[],
    )
    .await;
    let quiet = Duration::from_millis(1500);
    assert_eq!(
        titles(&control.events_until_quiet(quiet).await),
        ["Tokyo compute"]
    );
    assert!(
        titles(&narrowed.events_until_quiet(quiet).await).is_empty(),
        "a damaged filter must not widen to everything"
    );
    let user = analyst.user_id.clone();
    let mails: i64 = app
        .state
        .db
        .write_blocking(move |c| {
            Ok(mail_outbox::table
                .filter(mail_outbox::user_id.eq(user))
                .count()
                .get_result(c)?)
        })
        .unwrap();
    assert_eq!(mails, 0, "nor mail everything");
}
