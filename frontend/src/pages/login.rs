//! The console login form. Stable ids for browser tests: `#login-email`, `#login-password`,
//! `#login-submit`, `#login-error`.

use crate::api::{self, ApiError};
use crate::components::error::ErrorBox;
use crate::session::SessionState;
use cirhub_shared::api::{LoginRequest, TokenPair};
use leptos::prelude::*;
use leptos::task::spawn_local;

#[component]
pub fn Login() -> impl IntoView {
    let session = SessionState::get();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let (error, set_error) = signal(None::<ApiError>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        let body = LoginRequest {
            email: email.get_untracked(),
            password: password.get_untracked(),
        };
        spawn_local(async move {
            let res = api::anonymous_post::<TokenPair, _>("/api/v1/auth/login", &body).await;
            busy.set(false);
            match res {
                Ok(pair) => {
                    set_error.set(None);
                    session.logged_in(&pair);
                }
                Err(e) => set_error.set(Some(e)),
            }
        });
    };
    view! {
        <main class="page narrow">
            <h1>"cirhub console"</h1>
            <form class="card" on:submit=submit>
                <label>"E-mail"<input id="login-email" type="email" autocomplete="username" required bind:value=email /></label>
                <label>"Password"<input id="login-password" type="password" autocomplete="current-password" required bind:value=password /></label>
                <ErrorBox error=error id="login-error" />
                <button id="login-submit" type="submit" disabled=move || busy.get()>"Log in"</button>
            </form>
        </main>
    }
}

/// Renders `children` for a logged-in caller, the login form otherwise.
#[component]
pub fn RequireLogin(children: ChildrenFn) -> impl IntoView {
    let session = SessionState::get();
    move || {
        if session.0.get().is_some() {
            children().into_any()
        } else {
            view! { <Login /> }.into_any()
        }
    }
}
