//! A live stream is a session: it ends when the credential it was opened with does (logout,
//! password change, user deletion, role change, API-token revocation, access-token expiry),
//! on every instance sharing the database, with a close frame that says why.

use crate::harness::*;
use cirhub_shared::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Close code of a stream whose credential no longer authenticates.
const ENDED: u16 = 4401;
/// Close code of a stream whose credential's role changed (reconnect to get the new share).
const ROLE_CHANGED: u16 = 4409;

impl StreamClient {
    /// The close frame (code, reason) if the server closes within `wait`, skipping text frames.
    async fn closed_within(&mut self, wait: Duration) -> Option<(u16, String)> {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.checked_duration_since(tokio::time::Instant::now())?;
            match tokio::time::timeout(left, self.ws.next()).await {
                Err(_) => return None,
                Ok(Some(Ok(Message::Close(Some(f))))) => {
                    return Some((u16::from(f.code), f.reason.to_string()))
                }
                Ok(Some(Ok(Message::Close(None)))) => return Some((1005, String::new())),
                Ok(None) | Ok(Some(Err(_))) => panic!("the stream ended without a close frame"),
                Ok(Some(Ok(_))) => continue,
            }
        }
    }
}

/// Waits (up to 5 s, so a loaded machine does not flake) for the close frame; checks its
/// code and that its reason contains `why`.
async fn expect_close(c: &mut StreamClient, code: u16, why: &str) -> Duration {
    let start = Instant::now();
    let (got, reason) = c
        .closed_within(Duration::from_secs(5))
        .await
        .unwrap_or_else(|| panic!("the stream was not closed ({why})"));
    assert_eq!(got, code, "close code (reason {reason:?})");
    assert!(
        reason.contains(why),
        "close reason {reason:?} should say {why:?}"
    );
    start.elapsed()
}

/// Asserts that the stream stays open for 1.5 s.
async fn expect_open(c: &mut StreamClient, why: &str) {
    let closed = c.closed_within(Duration::from_millis(1500)).await;
    assert!(closed.is_none(), "closed {closed:?}, but {why}");
}

/// A connected stream that has finished its (empty) replay.
async fn live_stream(app: &TestApp, token: &str) -> StreamClient {
    let mut c = app.stream(token, None).await;
    c.live().await;
    c
}

/// A provider admin, and a viewer of the same organisation holding a live stream.
async fn viewer_streaming(app: &TestApp) -> (Session, Session, StreamClient) {
    let admin = app.provider("nimbus", Role::Admin).await;
    let viewer = app.colleague(&admin, "viewer", Role::Viewer).await;
    let c = live_stream(app, &viewer.token).await;
    (admin, viewer, c)
}

#[tokio::test]
async fn logout_closes_the_sessions_stream() {
    let app = TestApp::spawn().await;
    let (admin, viewer, mut c) = viewer_streaming(&app).await;
    let mut other = live_stream(&app, &admin.token).await;
    let (s, b) = app.post("/api/v1/auth/logout", &viewer, json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    expect_close(&mut c, ENDED, "session ended: logout").await;
    expect_open(&mut other, "another person's stream stays open").await;
}

#[tokio::test]
async fn an_admins_password_reset_closes_the_users_streams() {
    let app = TestApp::spawn().await;
    let (admin, viewer, mut c) = viewer_streaming(&app).await;
    let (s, b) = app
        .patch(
            &format!("/api/v1/users/{}", viewer.user_id),
            &admin,
            json!({"password": "a brand new password"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    expect_close(&mut c, ENDED, "session ended: password changed").await;
}

#[tokio::test]
async fn changing_ones_own_password_closes_the_other_sessions_streams_only() {
    let app = TestApp::spawn().await;
    let admin = app.provider("nimbus", Role::Admin).await;
    let second = app.login(&admin.email).await;
    let mut here = live_stream(&app, &admin.token).await;
    let mut elsewhere = live_stream(&app, &second.token).await;
    let (s, b) = app
        .patch(
            &format!("/api/v1/users/{}", admin.user_id),
            &admin,
            json!({"password": "a brand new password"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    expect_close(&mut elsewhere, ENDED, "session ended: password changed").await;
    expect_open(
        &mut here,
        "the stream of the session that changed the password stays open",
    )
    .await;
}

#[tokio::test]
async fn deleting_a_user_closes_its_streams() {
    let app = TestApp::spawn().await;
    let (admin, viewer, mut c) = viewer_streaming(&app).await;
    let (s, b) = app
        .delete(&format!("/api/v1/users/{}", viewer.user_id), &admin)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    expect_close(&mut c, ENDED, "credential revoked: user deleted").await;
}

#[tokio::test]
async fn a_role_change_closes_the_users_streams_and_a_rename_does_not() {
    let app = TestApp::spawn().await;
    let (admin, viewer, mut c) = viewer_streaming(&app).await;
    let path = format!("/api/v1/users/{}", viewer.user_id);
    let (s, b) = app.patch(&path, &admin, json!({"name": "Vera"})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = app.patch(&path, &admin, json!({"role": "viewer"})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    expect_open(
        &mut c,
        "a rename, or setting the same role, leaves the stream open",
    )
    .await;
    let (s, b) = app.patch(&path, &admin, json!({"role": "operator"})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    expect_close(&mut c, ROLE_CHANGED, "role changed").await;
    // The same credential connects again, with its new role.
    live_stream(&app, &viewer.token).await;
}

#[tokio::test]
async fn revoking_an_api_token_closes_its_streams() {
    let app = TestApp::spawn().await;
    let admin = app.provider("nimbus", Role::Admin).await;
    let created: Value = app
        .create(
            "/api/v1/api-tokens",
            &admin,
            json!({"name": "pager bridge", "role": "viewer"}),
        )
        .await;
    let secret = created["secret"].as_str().unwrap();
    let id = created["token"]["id"].as_str().unwrap();
    let mut c = live_stream(&app, secret).await;
    let mut person = live_stream(&app, &admin.token).await;
    let (s, b) = app
        .delete(&format!("/api/v1/api-tokens/{id}"), &admin)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    expect_close(&mut c, ENDED, "credential revoked: API token revoked").await;
    expect_open(&mut person, "the admin's own stream stays open").await;
}

#[tokio::test]
async fn a_stream_closes_when_its_access_token_expires() {
    let app = TestApp::spawn_with(&[("CIRHUB_ACCESS_TTL_SECS", "3")]).await;
    let admin = app.provider("nimbus", Role::Admin).await;
    let mut c = live_stream(&app, &admin.token).await;
    let opened = Instant::now();
    expect_close(&mut c, ENDED, "token expired").await;
    assert!(
        opened.elapsed() <= Duration::from_millis(4500),
        "closed {:?} after connecting with a 3 s token",
        opened.elapsed()
    );
    // The client reconnects with a fresh token from its refresh token.
    let (s, pair) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": admin.refresh})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{pair}");
    live_stream(&app, pair["access_token"].as_str().unwrap()).await;
}

#[tokio::test]
async fn a_change_made_on_one_instance_closes_the_stream_held_by_another() {
    // Default settings (a 1 s event poll): the close must still come within about a second.
    let a = TestApp::spawn().await;
    let b = TestApp::spawn_sharing(&a).await;
    let admin = a.provider("nimbus", Role::Admin).await;
    let viewer = a.colleague(&admin, "viewer", Role::Viewer).await;
    let created: Value = a
        .create(
            "/api/v1/api-tokens",
            &admin,
            json!({"name": "bridge", "role": "viewer"}),
        )
        .await;
    let mut on_b = live_stream(&b, &viewer.token).await;
    let mut token_on_b = live_stream(&b, created["secret"].as_str().unwrap()).await;
    let (s, body) = a.post("/api/v1/auth/logout", &viewer, json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    let took = expect_close(&mut on_b, ENDED, "session ended: logout").await;
    eprintln!("logout on A closed the stream on B after {took:?}");
    let id = created["token"]["id"].as_str().unwrap();
    let (s, body) = a.delete(&format!("/api/v1/api-tokens/{id}"), &admin).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    let took = expect_close(&mut token_on_b, ENDED, "API token revoked").await;
    eprintln!("revocation on A closed the stream on B after {took:?}");
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_closes_the_streams_of_the_session_it_rotated_into() {
    let app = TestApp::spawn().await;
    let (admin, viewer, mut before) = viewer_streaming(&app).await;
    let mut other = live_stream(&app, &admin.token).await;
    let refresh = |token: &str| {
        let body = json!({ "refresh_token": token });
        app.call(
            reqwest::Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(body),
        )
    };
    let (status, pair) = refresh(&viewer.refresh).await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    let mut after = live_stream(&app, pair["access_token"].as_str().unwrap()).await;
    // The old refresh token comes back: the session it rotated into is taken for stolen.
    let (status, body) = refresh(&viewer.refresh).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    expect_close(&mut after, ENDED, "refresh token reused").await;
    expect_close(&mut before, ENDED, "refresh token reused").await;
    expect_open(&mut other, "another person's session is not that family").await;
}
