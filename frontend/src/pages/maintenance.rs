//! Scheduled maintenance: the list and the form that schedules one.

use super::console::{load_components, IncidentList};
use super::login::RequireLogin;
use crate::api;
use crate::components::error::{error_of, ErrorBox};
use crate::components::nav::Nav;
use crate::format::local_input_to_iso;
use cirhub_shared::api::Incident;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

#[component]
pub fn MaintenancePage() -> impl IntoView {
    view! {
        <RequireLogin>
            <Nav />
            <main class="page">
                <IncidentList title="Maintenance" path="/api/v1/incidents?kind=maintenance&per_page=50".to_string() />
                <Schedule />
            </main>
        </RequireLogin>
    }
}

#[component]
fn Schedule() -> impl IntoView {
    let title = RwSignal::new(String::new());
    let body = RwSignal::new(String::new());
    let start = RwSignal::new(String::new());
    let end = RwSignal::new(String::new());
    let chosen = RwSignal::new(Vec::<String>::new());
    let components = load_components();
    let schedule = Action::new_unsync(|body: &serde_json::Value| {
        let body = body.clone();
        async move { api::post::<Incident, _>("/api/v1/maintenances", &body).await }
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(m)) = schedule.value().get() {
            navigate(&format!("/console/incidents/{}", m.id), Default::default());
        }
    });
    let error = Signal::derive(move || {
        error_of(schedule.value().get()).or_else(|| error_of(components.get()))
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        // Times are entered in the viewer's zone and sent as UTC; the server names a bad one.
        let body = serde_json::json!({
            "title": title.get_untracked(),
            "body": body.get_untracked(),
            "scheduled_for": local_input_to_iso(&start.get_untracked()),
            "scheduled_until": local_input_to_iso(&end.get_untracked()),
            "component_ids": chosen.get_untracked(),
        });
        schedule.dispatch(body);
    };
    view! {
        <section class="card">
            <h2>"Schedule maintenance"</h2>
            <form on:submit=submit>
                <label>"Title"<input id="maintenance-title" required bind:value=title /></label>
                <label>"Message"<textarea id="maintenance-body" required bind:value=body></textarea></label>
                <div class="row">
                    <label>"Starts (your time)"<input id="maintenance-start" type="datetime-local" required bind:value=start /></label>
                    <label>"Ends (your time)"<input id="maintenance-end" type="datetime-local" required bind:value=end /></label>
                </div>
                <fieldset class="choices">
                    <legend>"Components"</legend>
                    {move || components.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|c| {
                        let id = c.id.clone();
                        view! {
                            <label class="inline">
                                <input type="checkbox" on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    let id = id.clone();
                                    chosen.update(|l| { l.retain(|x| *x != id); if on { l.push(id); } });
                                } />
                                {c.name.clone()}
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
                <ErrorBox error=error />
                <button id="maintenance-submit" type="submit" disabled=move || schedule.pending().get()>"Schedule"</button>
            </form>
        </section>
    }
}
