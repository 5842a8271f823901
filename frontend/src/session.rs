//! The logged-in session: tokens kept in localStorage, the caller in a reactive context.

use cirhub_shared::api::{Me, TokenPair};
use leptos::prelude::*;

const KEY: &str = "cirhub.session";

thread_local! {
    /// The app's session, so API helpers can end it when the server no longer accepts it.
    static CURRENT: std::cell::Cell<Option<SessionState>> = const { std::cell::Cell::new(None) };
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// Tokens as stored.
pub fn stored() -> Option<TokenPair> {
    let text = storage()?.get_item(KEY).ok()??;
    serde_json::from_str(&text).ok()
}

pub fn store(pair: &TokenPair) {
    if let (Some(s), Ok(text)) = (storage(), serde_json::to_string(pair)) {
        let _ = s.set_item(KEY, &text);
    }
}

pub fn forget() {
    if let Some(s) = storage() {
        let _ = s.remove_item(KEY);
    }
}

/// The caller, reactive: `None` when logged out.
#[derive(Clone, Copy)]
pub struct SessionState(pub RwSignal<Option<Me>>);

impl SessionState {
    pub fn load() -> Self {
        let me = stored().map(|p| p.me);
        crate::format::set_zone(zone_of(me.as_ref()));
        let state = SessionState(RwSignal::new(me));
        CURRENT.with(|c| c.set(Some(state)));
        state
    }

    pub fn get() -> Self {
        expect_context::<SessionState>()
    }

    pub fn logged_in(&self, pair: &TokenPair) {
        store(pair);
        crate::format::set_zone(zone_of(Some(&pair.me)));
        self.0.set(Some(pair.me.clone()));
    }

    /// The caller as the server now describes it (after a change of their settings).
    pub fn update_me(&self, me: Me) {
        if let Some(mut pair) = stored() {
            pair.me = me.clone();
            store(&pair);
        }
        crate::format::set_zone(zone_of(Some(&me)));
        self.0.set(Some(me));
    }

    pub fn logged_out(&self) {
        forget();
        self.0.set(None);
    }
}

fn zone_of(me: Option<&Me>) -> Option<String> {
    me.and_then(|m| m.user.as_ref())
        .and_then(|u| u.time_zone.clone())
}

/// The server refused the session and it could not be refreshed: back to the login form.
pub fn expired() {
    forget();
    if let Some(state) = CURRENT.with(|c| c.get()) {
        if state.0.get_untracked().is_some() {
            state.0.set(None);
        }
    }
}
