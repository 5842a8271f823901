//! Live updates from `/api/v1/stream`. Browsers cannot set headers on a WebSocket, so the
//! access token travels as the sub-protocol `bearer.<token>` next to `cirhub.v1`. After a
//! drop (or a resync request) it reconnects with `since`, so nothing is missed.

use crate::api;
use crate::session;
use cirhub_shared::api::Me;
use cirhub_shared::customer::{StreamEvent, StreamFrame};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, WebSocket};

struct State {
    last: Option<i64>,
    stopped: bool,
    socket: Option<WebSocket>,
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
    let state = Rc::new(RefCell::new(State {
        last: None,
        stopped: false,
        socket: None,
    }));
    let on_event: Rc<dyn Fn(StreamEvent)> = Rc::new(on_event);
    connect(state.clone(), on_event, set_connected);
    let cleanup = send_wrapper::SendWrapper::new(state);
    on_cleanup(move || {
        let mut s = cleanup.borrow_mut();
        s.stopped = true;
        if let Some(ws) = s.socket.take() {
            let _ = ws.close();
        }
    });
    connected
}

fn connect(
    state: Rc<RefCell<State>>,
    on_event: Rc<dyn Fn(StreamEvent)>,
    set_connected: WriteSignal<bool>,
) {
    spawn_local(async move {
        // A cheap authenticated call refreshes an expired access token first.
        let _ = api::get::<Me>("/api/v1/me").await;
        if state.borrow().stopped {
            return;
        }
        let Some(token) = session::stored().map(|p| p.access_token) else {
            return;
        };
        let Some(url) = stream_url(state.borrow().last) else {
            return;
        };
        let protocols = js_sys::Array::of2(&"cirhub.v1".into(), &format!("bearer.{token}").into());
        let Ok(ws) = WebSocket::new_with_str_sequence(&url, &protocols) else {
            retry(state, on_event, set_connected);
            return;
        };
        let st = state.clone();
        let ev = on_event.clone();
        let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |m: MessageEvent| {
            let Some(text) = m.data().as_string() else {
                return;
            };
            let Ok(frame) = serde_json::from_str::<StreamFrame>(&text) else {
                return;
            };
            match frame {
                StreamFrame::Event(e) => {
                    st.borrow_mut().last = Some(e.seq);
                    ev(*e);
                }
                StreamFrame::Hello { last_seq, .. } => {
                    st.borrow_mut().last.get_or_insert(last_seq);
                }
                StreamFrame::Live { .. } => set_connected.set(true),
                StreamFrame::Resync { since } => {
                    st.borrow_mut().last = Some(since);
                    if let Some(ws) = st.borrow().socket.as_ref() {
                        let _ = ws.close();
                    }
                }
                StreamFrame::Heartbeat { .. } => {}
            }
        });
        ws.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        onmessage.forget();
        let st = state.clone();
        let ev = on_event.clone();
        let onclose = Closure::<dyn FnMut()>::new(move || {
            set_connected.set(false);
            st.borrow_mut().socket = None;
            retry(st.clone(), ev.clone(), set_connected);
        });
        ws.set_onclose(Some(onclose.as_ref().unchecked_ref()));
        onclose.forget();
        state.borrow_mut().socket = Some(ws);
    });
}

fn retry(
    state: Rc<RefCell<State>>,
    on_event: Rc<dyn Fn(StreamEvent)>,
    set_connected: WriteSignal<bool>,
) {
    if state.borrow().stopped {
        return;
    }
    spawn_local(async move {
        gloo_timers::future::TimeoutFuture::new(1_000).await;
        if !state.borrow().stopped {
            connect(state, on_event, set_connected);
        }
    });
}
