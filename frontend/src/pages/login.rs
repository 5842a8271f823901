//! The console login form. Stable ids for browser tests: `#login-email`, `#login-password`,
//! `#login-submit`, `#login-error`.

use crate::api;
use crate::components::error::{error_of, ErrorBox};
use crate::session::SessionState;
use cirhub_shared::api::{LoginRequest, TokenPair};
use leptos::prelude::*;

#[component]
pub fn Login() -> impl IntoView {
    let session = SessionState::get();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let login = Action::new_unsync(|body: &LoginRequest| {
        let body = body.clone();
        async move { api::anonymous_post::<TokenPair, _>("/api/v1/auth/login", &body).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(pair)) = login.value().get() {
            session.logged_in(&pair);
        }
    });
    let error = Signal::derive(move || error_of(login.value().get()));
    let busy = login.pending();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        login.dispatch(LoginRequest {
            email: email.get_untracked(),
            password: password.get_untracked(),
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
    // Only signing in or out shows something else: a change of the person's settings keeps
    // the page (and what is typed in it).
    let signed_in = Memo::new(move |_| session.0.with(Option::is_some));
    move || {
        if signed_in.get() {
            children().into_any()
        } else {
            view! { <Login /> }.into_any()
        }
    }
}
