//! Replay with `?since=`: a cursor the server never issued is refused before the upgrade,
//! and a replay that cannot read the events never claims to be live.

use crate::harness::*;
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;

#[tokio::test]
async fn a_since_beyond_the_newest_event_is_refused_before_the_upgrade() {
    use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Error};
    let app = TestApp::spawn().await;
    let w = app.world().await;
    app.open(&w.provider, &w.compute_tokyo, "One", "affected", &[])
        .await;
    let (_, newest) = app.stream(&w.acme.token, Some(0)).await.live().await;
    assert!(newest > 0);
    let url = format!(
        "{}/api/v1/stream?since={}",
        app.base.replace("http://", "ws://"),
        newest + 1
    );
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert(
        "Authorization",
        format!("Bearer {}", w.acme.token).parse().unwrap(),
    );
    let res = match tokio_tungstenite::connect_async(req).await {
        Err(Error::Http(res)) => res,
        Err(e) => panic!("unexpected error: {e}"),
        Ok(_) => panic!("a since beyond the newest event must be refused, not upgraded"),
    };
    let body: Value = serde_json::from_slice(res.body().as_deref().unwrap_or_default()).unwrap();
    let p = assert_problem(
        res.status(),
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(p.errors[0].field, "since", "{body}");
    assert!(
        p.errors[0].message.contains(&newest.to_string()),
        "the message names the newest sequence number: {body}"
    );
    // The newest itself is fine: nothing to replay, then live.
    let (replayed, last) = app.stream(&w.acme.token, Some(newest)).await.live().await;
    assert!(replayed.is_empty());
    assert_eq!(last, newest);
}

#[tokio::test]
async fn a_replay_that_cannot_read_the_events_asks_to_resync_and_never_says_live() {
    use diesel::connection::SimpleConnection;
    let app = TestApp::spawn().await;
    let w = app.world().await;
    for t in ["One", "Two", "Three"] {
        app.open(&w.provider, &w.compute_tokyo, t, "affected", &[])
            .await;
    }
    let (_, newest) = app.stream(&w.provider.token, Some(0)).await.live().await;
    // From now on the newest event cannot be read (its payload reads as NULL): the newest
    // sequence number still can, so the connection is accepted and its replay fails.
    app.state
        .db
        .conn()
        .unwrap()
        .batch_execute(&format!(
            "ALTER TABLE events RENAME TO events_stored; \
             CREATE VIEW events AS SELECT seq, at, kind, provider_id, object_type, object_id, \
             object_version, provider_only, audience, \
             CASE WHEN seq >= {newest} THEN NULL ELSE payload END AS payload \
             FROM events_stored;"
        ))
        .unwrap();
    let mut c = app.stream(&w.provider.token, Some(0)).await;
    let mut frames = Vec::new();
    while let Some(f) = c.frame_within(Duration::from_secs(5)).await {
        frames.push(f);
    }
    let kinds: Vec<&str> = frames.iter().filter_map(|f| f["type"].as_str()).collect();
    assert!(
        !kinds.contains(&"live"),
        "a failed replay must not claim to be live: {kinds:?}"
    );
    let resync = frames
        .iter()
        .find(|f| f["type"] == "resync")
        .unwrap_or_else(|| panic!("a resync frame: {kinds:?}"));
    let since = resync["since"].as_i64().unwrap();
    assert!(since < newest, "{resync}");
    // Every event before the resync point was delivered, none after.
    for f in frames.iter().filter(|f| f["type"] == "event") {
        assert!(f["seq"].as_i64().unwrap() <= since, "{f}");
    }
}
