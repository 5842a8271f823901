//! The console's live client in headless Chromium: while the stream cannot be reached it
//! backs off instead of retrying every second, it reconnects once the stream is back, and a
//! session that ended sends the page back to the login form, after which it stops.

use crate::browser::{Browser, WAIT};
use crate::harness::*;
use cirhub_shared::Role;
use fantoccini::Locator;
use reqwest::{Method, StatusCode};
use std::time::Duration;

/// Installed before logging in. While `__cirhubBlockStream` is true the page's WebSockets go
/// to a path that does not upgrade, as behind a proxy that drops `Upgrade`: the REST API
/// answers, the stream never opens. Every attempt is counted; the newest socket is kept.
const WATCH_SOCKETS: &str = r#"
const Real = window.WebSocket;
window.__cirhubAttempts = 0;
window.__cirhubBlockStream = true;
window.WebSocket = function (url, protocols) {
  window.__cirhubAttempts += 1;
  const to = window.__cirhubBlockStream ? url.replace('/api/v1/stream', '/api/v1/no-stream') : url;
  const ws = new Real(to, protocols);
  window.__cirhubSocket = ws;
  return ws;
};
window.WebSocket.prototype = Real.prototype;
return null;
"#;

async fn attempts(b: &Browser) -> u64 {
    b.client
        .execute("return window.__cirhubAttempts;", vec![])
        .await
        .unwrap()
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn the_live_client_backs_off_reconnects_and_returns_to_login_when_the_session_ends() {
    let app = TestApp::spawn().await;
    let customer = app.customer("initech", Role::Admin).await;
    let browser = Browser::start().await;
    let c = &browser.client;
    c.goto(&app.url("/console")).await.unwrap();
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#login-email"))
        .await
        .unwrap();
    c.execute(WATCH_SOCKETS, vec![]).await.unwrap();
    browser.fill_login(&customer.email).await;
    browser.wait_for_text("#live-indicator", "connecting").await;

    // Ten seconds of a stream that never opens: a retry every second would be about ten
    // attempts; 1 s doubling (with jitter between half and all of it) is at most five.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let tried = attempts(&browser).await;
    assert!(
        (2..=6).contains(&tried),
        "{tried} stream attempts in 10 s: expected a few, backing off"
    );

    // The stream is back: the next attempt (at most 16 s later) goes live.
    c.execute("window.__cirhubBlockStream = false; return null;", vec![])
        .await
        .unwrap();
    browser.wait_for_text("#live-indicator", "● live").await;

    // The session ends (logout through the API with the page's own token). The server closes
    // the stream; the socket is dropped here too, for a server that would not. The pre-connect
    // call is refused, and the page returns to the login form instead of retrying.
    let token = c
        .execute(
            "return JSON.parse(localStorage.getItem('cirhub.session')).access_token;",
            vec![],
        )
        .await
        .unwrap();
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/auth/logout",
            Some(token.as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    c.execute("window.__cirhubSocket.close(); return null;", vec![])
        .await
        .unwrap();
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#login-email"))
        .await
        .unwrap();
    let at_login = attempts(&browser).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        attempts(&browser).await,
        at_login,
        "the stream is retried after the session ended"
    );
    browser.stop().await;
}
