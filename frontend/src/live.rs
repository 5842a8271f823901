//! Live updates from `/api/v1/stream`. Browsers cannot set headers on a WebSocket, so the
//! access token travels as the sub-protocol `bearer.<token>` next to `cirhub.v1`. After a
//! drop (or a resync request) it reconnects with `since`, so nothing is missed.
//!
//! One task per subscription opens a socket, waits for it to close and decides what comes
//! next. Before each connection an authenticated call refreshes an expired access token; if
//! it is still refused the session is over and the app returns to the login form. Drops are
//! retried with exponential backoff and jitter (about 1 s doubling to 30 s, reset once a
//! connection reaches `live`), so a stream that keeps failing is not hammered by every open
//! tab at once. The server ends a stream whose credential ended with a close frame that says
//! why; [`classify`] reads it.

use crate::api;
use crate::session;
use cirhub_shared::api::Me;
use cirhub_shared::customer::{StreamEvent, StreamFrame};
use futures::channel::oneshot;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

/// First retry delay; it doubles after each failed attempt up to [`MAX_DELAY_MS`].
const FIRST_DELAY_MS: f64 = 1_000.0;
const MAX_DELAY_MS: f64 = 30_000.0;

/// One open socket with its handlers. They live and die together: dropping it detaches the
/// handlers, frees their closures and closes the socket, so reconnects accumulate nothing.
struct Connection {
    socket: WebSocket,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        let _ = self.socket.close();
    }
}

#[derive(Default)]
struct State {
    /// The newest sequence number seen: the `since` of the next connection.
    last: Option<i64>,
    /// The page that subscribed is gone.
    stopped: bool,
    conn: Option<Connection>,
    /// Failed attempts since a connection last reached `live`: the backoff's exponent.
    failures: u32,
    /// An immediate reconnection (after a resync, an expired token, a changed role) is
    /// allowed; spent by one and restored when a connection reaches `live`, so a server that
    /// keeps closing at once meets the backoff instead of a tight loop.
    quick_spent: bool,
    /// The server asked for a resync: the close that follows is expected.
    resync: bool,
}

/// What the client does after the server closed the stream.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// The access token expired: refresh it and reconnect at once.
    Renew,
    /// The credential still holds but its grants changed: reconnect at once, current token.
    Reconnect,
    /// The session or credential ended: back to the login form, no retry.
    Login,
    /// Anything else (network loss, restart, fell behind): back off and retry.
    Retry,
}

/// Reads a close frame, as the server's `stream::ends` sends them: 4401 with a reason "token
/// expired" means the access token ran out; 4409 ("role changed") means reconnect; any other
/// 4401 ("session ended: …", "credential revoked: …") means the session is over. The reason
/// is matched by its start, so the server may add detail after it.
fn classify(code: u16, reason: &str) -> Next {
    let reason = reason.trim().to_ascii_lowercase();
    if reason.starts_with("token expired") {
        Next::Renew
    } else if code == 4409 || reason.starts_with("role changed") {
        Next::Reconnect
    } else if code == 4401
        || reason.starts_with("session ended")
        || reason.starts_with("credential revoked")
    {
        Next::Login
    } else {
        Next::Retry
    }
}

fn stream_url(since: Option<i64>) -> Option<String> {
    let loc = web_sys::window()?.location();
    let scheme = if loc.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    let host = loc.host().ok()?;
    Some(match since {
        Some(s) => format!("{scheme}://{host}/api/v1/stream?since={s}"),
        None => format!("{scheme}://{host}/api/v1/stream"),
    })
}

/// Subscribes the current page to live events until it is unmounted; returns whether the
/// stream is connected (for a "live" indicator).
pub fn subscribe(on_event: impl Fn(StreamEvent) + 'static) -> ReadSignal<bool> {
    let (connected, set_connected) = signal(false);
    let state = Rc::new(RefCell::new(State::default()));
    spawn_local(run(state.clone(), Rc::new(on_event), set_connected));
    let cleanup = send_wrapper::SendWrapper::new(state);
    on_cleanup(move || {
        let conn = {
            let mut s = cleanup.borrow_mut();
            s.stopped = true;
            s.conn.take()
        };
        drop(conn);
    });
    connected
}

/// The delay before the next attempt after a failure: exponential, capped, with "equal
/// jitter" (half fixed, half random) so that clients dropped together do not return together.
fn backoff(state: &RefCell<State>) -> u32 {
    let mut s = state.borrow_mut();
    let full = (FIRST_DELAY_MS * 2f64.powi(s.failures.min(6) as i32)).min(MAX_DELAY_MS);
    s.failures += 1;
    (full / 2.0 + js_sys::Math::random() * full / 2.0) as u32
}

/// At once if the quick reconnection is not spent, after the backoff otherwise.
fn quick_or_backoff(state: &RefCell<State>) -> u32 {
    let spent = std::mem::replace(&mut state.borrow_mut().quick_spent, true);
    if spent {
        backoff(state)
    } else {
        0
    }
}

async fn run(
    state: Rc<RefCell<State>>,
    on_event: Rc<dyn Fn(StreamEvent)>,
    set_connected: WriteSignal<bool>,
) {
    let stopped = || state.borrow().stopped;
    let mut wait_ms = 0;
    loop {
        if wait_ms > 0 {
            gloo_timers::future::TimeoutFuture::new(wait_ms).await;
        }
        if stopped() {
            return;
        }
        // A cheap authenticated call refreshes an expired access token first; refused even
        // after the refresh, the session is over.
        match api::get::<Me>("/api/v1/me").await {
            Ok(_) => {}
            Err(e) if e.status == 401 => {
                session::expired();
                return;
            }
            Err(_) => {
                wait_ms = backoff(&state);
                continue;
            }
        }
        if stopped() {
            return;
        }
        let Some(token) = session::stored().map(|p| p.access_token) else {
            return;
        };
        let Some(closed) = open(&state, &token, on_event.clone(), set_connected) else {
            wait_ms = backoff(&state);
            continue;
        };
        // Cancelled when the page dropped the connection on its way out.
        let close = closed.await;
        set_connected.set(false);
        let conn = state.borrow_mut().conn.take();
        drop(conn);
        let Ok((code, reason)) = close else {
            return;
        };
        if stopped() {
            return;
        }
        let resync = std::mem::take(&mut state.borrow_mut().resync);
        wait_ms = match classify(code, &reason) {
            Next::Login => {
                session::expired();
                return;
            }
            Next::Renew => match api::renew(&token).await {
                Err(e) if e.status == 401 => return,
                _ => quick_or_backoff(&state),
            },
            Next::Reconnect => quick_or_backoff(&state),
            Next::Retry if resync => quick_or_backoff(&state),
            Next::Retry => backoff(&state),
        };
    }
}

/// Opens a socket with `token`, keeps it in `state`, and returns what resolves with its close
/// code and reason.
fn open(
    state: &Rc<RefCell<State>>,
    token: &str,
    on_event: Rc<dyn Fn(StreamEvent)>,
    set_connected: WriteSignal<bool>,
) -> Option<oneshot::Receiver<(u16, String)>> {
    let url = stream_url(state.borrow().last)?;
    let protocols = js_sys::Array::of2(&"cirhub.v1".into(), &format!("bearer.{token}").into());
    let socket = WebSocket::new_with_str_sequence(&url, &protocols).ok()?;
    let st = state.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |m: MessageEvent| {
        let Some(text) = m.data().as_string() else {
            return;
        };
        let Ok(frame) = serde_json::from_str::<StreamFrame>(&text) else {
            return;
        };
        match frame {
            StreamFrame::Event(e) => {
                st.borrow_mut().last = Some(e.seq);
                if e.escalation.is_some() {
                    // The console confirms an escalation notice: its sender records it as
                    // delivered to this person.
                    let receipt = format!("{{\"type\":\"received\",\"seq\":{}}}", e.seq);
                    if let Some(c) = st.borrow().conn.as_ref() {
                        let _ = c.socket.send_with_str(&receipt);
                    }
                }
                on_event(*e);
            }
            StreamFrame::Hello { last_seq, .. } => {
                st.borrow_mut().last.get_or_insert(last_seq);
            }
            StreamFrame::Live { .. } => {
                {
                    let mut s = st.borrow_mut();
                    s.failures = 0;
                    s.quick_spent = false;
                }
                set_connected.set(true);
            }
            StreamFrame::Resync { since } => {
                let mut s = st.borrow_mut();
                s.last = Some(since);
                s.resync = true;
                if let Some(c) = s.conn.as_ref() {
                    let _ = c.socket.close();
                }
            }
            StreamFrame::Heartbeat { .. }
            | StreamFrame::Acknowledged { .. }
            | StreamFrame::Refused { .. } => {}
        }
    });
    let (tx, rx) = oneshot::channel();
    let mut tx = Some(tx);
    let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
        if let Some(tx) = tx.take() {
            let _ = tx.send((e.code(), e.reason()));
        }
    });
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    state.borrow_mut().conn = Some(Connection {
        socket,
        _on_message: on_message,
        _on_close: on_close,
    });
    Some(rx)
}

#[cfg(test)]
mod tests {
    use super::{classify, Next};

    #[test]
    fn close_frames_map_to_what_the_client_does() {
        assert_eq!(
            classify(4401, "token expired; reconnect with a fresh token"),
            Next::Renew
        );
        assert_eq!(classify(4409, "role changed; reconnect"), Next::Reconnect);
        assert_eq!(classify(4401, "session ended: logout"), Next::Login);
        assert_eq!(
            classify(4401, "credential revoked: user deleted"),
            Next::Login
        );
        assert_eq!(classify(4401, ""), Next::Login);
        assert_eq!(classify(1008, "Session ended by logout"), Next::Login);
        assert_eq!(classify(1006, ""), Next::Retry);
        assert_eq!(
            classify(1013, "fell behind; reconnect with since"),
            Next::Retry
        );
    }
}
