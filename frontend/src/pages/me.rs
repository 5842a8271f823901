//! The signed-in person's settings: the time zone the console shows every time in (the
//! browser's until chosen). Selectors: `#time-zone`, `#time-zone-save`, `#time-zone-saved`,
//! `#time-zone-now`, `#me-error`.

use super::login::RequireLogin;
use crate::api;
use crate::components::error::{error_of, ErrorBox};
use crate::components::nav::Nav;
use crate::format::{local_zoned, now, zone};
use crate::session::SessionState;
use cirhub_shared::api::{Me, PatchMe};
use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

#[component]
pub fn MePage() -> impl IntoView {
    view! {
        <RequireLogin>
            <Nav />
            <main class="page"><Settings /></main>
        </RequireLogin>
    }
}

/// The IANA zones this browser knows (`Intl.supportedValuesOf`), UTC first.
fn zones() -> Vec<String> {
    let known = || -> Result<Vec<String>, JsValue> {
        let intl = js_sys::Reflect::get(&js_sys::global(), &"Intl".into())?;
        let f: js_sys::Function =
            js_sys::Reflect::get(&intl, &"supportedValuesOf".into())?.dyn_into()?;
        let list = f.call1(&intl, &"timeZone".into())?;
        Ok(js_sys::Array::from(&list)
            .iter()
            .filter_map(|v| v.as_string())
            .collect())
    };
    let mut out = vec!["UTC".to_string()];
    out.extend(
        known()
            .unwrap_or_default()
            .into_iter()
            .filter(|z| z != "UTC"),
    );
    out
}

#[component]
fn Settings() -> impl IntoView {
    let session = SessionState::get();
    let chosen = RwSignal::new(zone().unwrap_or_default());
    let save = Action::new_unsync(move |z: &String| {
        let body = PatchMe {
            time_zone: (!z.is_empty()).then(|| z.clone()),
        };
        async move {
            let me = api::patch::<Me, _>("/api/v1/me", &body).await?;
            session.update_me(me.clone());
            Ok::<Me, api::ApiError>(me)
        }
    });
    let error = Signal::derive(move || error_of(save.value().get()));
    let list = zones();
    view! {
        <h1>"Your settings"</h1>
        <div id="me-error"><ErrorBox error=error /></div>
        <section class="card">
            <h2>"Time zone"</h2>
            <p class="muted">"Every time in the console is shown in this zone, with its name."</p>
            <label>"Time zone "
                <select id="time-zone" on:change=move |ev| chosen.set(event_target_value(&ev))>
                    <option value="" selected=move || chosen.get_untracked().is_empty()>"The browser's"</option>
                    {list.into_iter().map(|z| {
                        let selected = z == chosen.get_untracked();
                        view! { <option value=z.clone() selected=selected>{z.clone()}</option> }
                    }).collect_view()}
                </select>
            </label>
            <button id="time-zone-save" on:click=move |_| { save.dispatch(chosen.get_untracked()); }
                disabled=move || save.pending().get()>"Save"</button>
            {move || save.value().get().and_then(Result::ok).map(|_| view! {
                <p id="time-zone-saved" class="ok">"Saved."</p>
            })}
            <p id="time-zone-now">{move || {
                // Shown again whenever the session (and so the zone) changes.
                session.0.get();
                format!("Now: {} ({})", local_zoned(&now()), zone().unwrap_or_else(|| "the browser's zone".into()))
            }}</p>
        </section>
    }
}
