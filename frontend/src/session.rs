//! The logged-in session: tokens kept in localStorage, the caller in a reactive context.

use cirhub_shared::api::{Me, TokenPair};
use leptos::prelude::*;

const KEY: &str = "cirhub.session";

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
        SessionState(RwSignal::new(stored().map(|p| p.me)))
    }

    pub fn get() -> Self {
        expect_context::<SessionState>()
    }

    pub fn logged_in(&self, pair: &TokenPair) {
        store(pair);
        self.0.set(Some(pair.me.clone()));
    }

    pub fn logged_out(&self) {
        forget();
        self.0.set(None);
    }
}
