//! One unit of work: a change commits, then its effects reach this instance's live parts at
//! once. The stream pump's poll and the public cache's lifetime are set to ten minutes here,
//! so only the effects applied after the commit can make these changes show within seconds.

use crate::harness::*;
use std::time::Duration;

const SLOW: &[(&str, &str)] = &[
    ("CIRHUB_STREAM_POLL_MS", "600000"),
    ("CIRHUB_PUBLIC_CACHE_TTL_MS", "600000"),
];

#[tokio::test]
async fn a_change_wakes_the_stream_and_drops_stale_documents_at_once() {
    let app = TestApp::spawn_with(SLOW).await;
    let w = app.world().await;
    let (code, before) = app.public("/status/nimbus/api/v2/status.json").await;
    assert_eq!(code, reqwest::StatusCode::OK);
    assert!(before.contains("\"none\""), "{before}");
    let mut live = app.stream(&w.acme.token, None).await;
    live.live().await;
    app.open(&w.provider, &w.compute_tokyo, "Woken", "public", &[])
        .await;
    // Within 10 s (`event` waits no longer), not after the pump's ten-minute poll.
    let created = loop {
        let e = live.event().await;
        if e["kind"] == "incident.created" {
            break e;
        }
    };
    assert_eq!(created["incident"]["title"], "Woken", "{created}");
    let (_, after) = app.public("/status/nimbus/api/v2/status.json").await;
    assert!(
        !after.contains("\"indicator\":\"none\""),
        "the cached summary was dropped with the commit: {after}"
    );
}

#[tokio::test]
async fn a_refused_change_leaves_no_effects_behind() {
    let app = TestApp::spawn_with(SLOW).await;
    let w = app.world().await;
    let (_, before) = app.public("/status/nimbus/api/v2/status.json").await;
    let mut live = app.stream(&w.acme.token, None).await;
    live.live().await;
    // A change that fails inside its transaction (the second component does not exist)
    // writes nothing, so it wakes nothing and drops nothing.
    let (code, _) = app
        .post(
            "/api/v1/incidents",
            &w.provider,
            serde_json::json!({
                "title": "Refused", "body": "x", "impact": "major", "urgency": "high",
                "visibility": "public",
                "components": [{"component_id": w.compute_tokyo.id, "status": "major_outage"},
                               {"component_id": "no-such-component", "status": "major_outage"}]
            }),
        )
        .await;
    assert!(code.is_client_error(), "{code}");
    assert!(live.frame_within(Duration::from_secs(2)).await.is_none());
    let (_, after) = app.public("/status/nimbus/api/v2/status.json").await;
    assert_eq!(before, after);
}
