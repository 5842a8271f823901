//! Console home: open incidents and maintenances, recent closed ones, and the form that
//! opens a new incident. Stable selectors: `.incident-link[data-id]`, `#new-incident-title`,
//! `#new-incident-body`, `#new-incident-submit`.

use super::login::RequireLogin;
use crate::api::{self, ApiError};
use crate::components::error::{error_of, ErrorBox};
use crate::components::nav::Nav;
use crate::components::options::options;
use crate::format::local;
use cirhub_shared::api::{Component, ComponentStatusChange, CreateIncident, Incident, Paged};
use cirhub_shared::*;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

#[component]
pub fn ConsoleHome() -> impl IntoView {
    let session = crate::session::SessionState::get();
    let provider = move || session.0.get().is_none_or(|me| me.organisation.is_provider);
    view! {
        <RequireLogin>
            {move || if provider() {
                view! {
                    <Nav />
                    <main class="page">
                        <IncidentLists />
                        <NewIncident />
                    </main>
                }.into_any()
            } else {
                view! { <super::dashboard::DashboardPage /> }.into_any()
            }}
        </RequireLogin>
    }
}

/// A list of incidents fetched from `path`, with links to their pages.
#[component]
pub fn IncidentList(title: &'static str, path: String) -> impl IntoView {
    let items = LocalResource::new(move || {
        let path = path.clone();
        async move { api::get::<Paged<Incident>>(&path).await }
    });
    view! {
        <section>
            <h2>{title}</h2>
            {move || match items.get() {
                None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                Some(Ok(page)) if page.items.is_empty() => view! { <p class="muted">"None."</p> }.into_any(),
                Some(Ok(page)) => view! {
                    <table class="list">
                        <thead><tr><th>"Title"</th><th>"Status"</th><th>"Priority"</th><th>"Visibility"</th><th>"Updated"</th></tr></thead>
                        <tbody>
                            {page.items.into_iter().map(|i| view! {
                                <tr>
                                    <td><a class="incident-link" data-id=i.id.clone() href=format!("/console/incidents/{}", i.id)>{i.title.clone()}</a></td>
                                    <td>{i.status.label()}</td>
                                    <td>{if i.kind == IncidentKind::Incident { i.priority.as_str() } else { "—" }}</td>
                                    <td>{i.visibility.as_str()}</td>
                                    <td>{local(&i.updated_at)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            }}
        </section>
    }
}

#[component]
fn IncidentLists() -> impl IntoView {
    view! {
        <IncidentList title="Open incidents and maintenance" path="/api/v1/incidents?open=true&per_page=100".to_string() />
        <IncidentList title="Recently closed" path="/api/v1/incidents?open=false&per_page=10".to_string() />
    }
}

/// The provider's components, for pickers.
pub fn load_components() -> LocalResource<Result<Vec<Component>, ApiError>> {
    LocalResource::new(|| async {
        Ok(
            api::get::<Paged<Component>>("/api/v1/components?per_page=100")
                .await?
                .items,
        )
    })
}

#[component]
fn NewIncident() -> impl IntoView {
    let title = RwSignal::new(String::new());
    let body = RwSignal::new(String::new());
    let impact = RwSignal::new(Impact::Minor);
    let urgency = RwSignal::new(Urgency::Medium);
    let category = RwSignal::new(Category::Unknown);
    let visibility = RwSignal::new(Visibility::Public);
    let layer = RwSignal::new(Layer::Platform);
    // An exercise runs like any incident and stays out of the response metrics.
    let exercise = RwSignal::new(false);
    // The 5W intake: what, where, when, who, why (each optional).
    let intake: [RwSignal<String>; 5] = std::array::from_fn(|_| RwSignal::new(String::new()));
    // Customers (slugs, comma-separated) who see a `named` incident.
    let audience = RwSignal::new(String::new());
    let components = load_components();
    // Affected components and the status each takes.
    let affected = RwSignal::new(Vec::<ComponentStatusChange>::new());
    let create = Action::new_unsync(|input: &CreateIncident| {
        let input = input.clone();
        async move { api::post::<Incident, _>("/api/v1/incidents", &input).await }
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(i)) = create.value().get() {
            navigate(&format!("/console/incidents/{}", i.id), Default::default());
        }
    });
    let error = Signal::derive(move || {
        error_of(create.value().get()).or_else(|| error_of(components.get()))
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let input = CreateIncident {
            title: title.get_untracked(),
            body: body.get_untracked(),
            impact: impact.get_untracked(),
            urgency: urgency.get_untracked(),
            category: category.get_untracked(),
            visibility: visibility.get_untracked(),
            audience: audience
                .get_untracked()
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            layer: layer.get_untracked(),
            status: None,
            components: affected.get_untracked(),
            occurred_at: None,
            detected_at: None,
            exercise: exercise.get_untracked(),
            intake: {
                let v: Vec<Option<String>> = intake
                    .iter()
                    .map(|s| Some(s.get_untracked().trim().to_string()).filter(|t| !t.is_empty()))
                    .collect();
                v.iter()
                    .any(Option::is_some)
                    .then(|| cirhub_shared::record::Intake {
                        what: v[0].clone(),
                        where_: v[1].clone(),
                        when: v[2].clone(),
                        who: v[3].clone(),
                        why: v[4].clone(),
                    })
            },
        };
        create.dispatch(input);
    };
    let set_affected = move |id: String, status: Option<ComponentStatus>| {
        affected.update(|list| {
            list.retain(|c| c.component_id != id);
            if let Some(status) = status {
                list.push(ComponentStatusChange {
                    component_id: id,
                    status,
                });
            }
        })
    };
    view! {
        <section class="card">
            <h2>"Open an incident"</h2>
            <form on:submit=submit>
                <label>"Title"<input id="new-incident-title" required bind:value=title /></label>
                <label>"First update"<textarea id="new-incident-body" required bind:value=body></textarea></label>
                <div class="row">
                    <label>"Impact"<select on:change=move |ev| if let Ok(v) = event_target_value(&ev).parse() { impact.set(v) }>
                        {options(Some(Impact::Minor))}</select></label>
                    <label>"Urgency"<select on:change=move |ev| if let Ok(v) = event_target_value(&ev).parse() { urgency.set(v) }>
                        {options(Some(Urgency::Medium))}</select></label>
                    <label>"Category"<select on:change=move |ev| if let Ok(v) = event_target_value(&ev).parse() { category.set(v) }>
                        {options(Some(Category::Unknown))}</select></label>
                    <label>"Visibility"<select id="new-incident-visibility" on:change=move |ev| if let Ok(v) = event_target_value(&ev).parse() { visibility.set(v) }>
                        {options(Some(Visibility::Public))}</select></label>
                    <label>"Layer"<select id="new-incident-layer" on:change=move |ev| if let Ok(v) = event_target_value(&ev).parse() { layer.set(v) }>
                        {options(Some(Layer::Platform))}</select></label>
                    <label><input type="checkbox" id="new-incident-exercise" bind:checked=exercise />" exercise (kept out of the metrics)"</label>
                </div>
                {move || (visibility.get() == Visibility::Named).then(|| view! {
                    <label>"Customers who see it (slugs, comma-separated)"<input id="new-incident-audience" bind:value=audience /></label>
                })}
                <fieldset class="choices" id="new-incident-intake">
                    <legend>"Intake (5W)"</legend>
                    {["what", "where", "when", "who", "why"].into_iter().zip(intake).map(|(name, s)| view! {
                        <label class="inline">{crate::format::humanise(name)}<input id=format!("new-incident-{name}") bind:value=s /></label>
                    }).collect_view()}
                </fieldset>
                <fieldset class="choices">
                    <legend>"Affected components"</legend>
                    {move || components.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|c| {
                        let id = c.id.clone();
                        view! {
                            <label class="inline">{c.name.clone()}
                                <select on:change=move |ev| set_affected(id.clone(), event_target_value(&ev).parse().ok())>
                                    <option value="">"not affected"</option>
                                    {options::<ComponentStatus>(None)}
                                </select>
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
                <ErrorBox error=error />
                <button id="new-incident-submit" type="submit" disabled=move || create.pending().get()>"Open incident"</button>
            </form>
        </section>
    }
}
