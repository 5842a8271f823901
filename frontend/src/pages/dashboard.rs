//! The customer dashboard: one view across all the customer's providers, showing what touches
//! the services x regions it contracted, in its own resource names, updated live over the
//! stream. The layout (pinned services, provider filter, priority threshold, resolved shown)
//! is saved on the server per user. Stable selectors: `.dash-incident[data-id]`,
//! `.dash-resources`, `.dash-update`, `#live-indicator`, `#layout-min-priority`,
//! `#ack-button`, `#ack-state`, `#note-body`, `#note-submit`, `.note`.

use super::login::RequireLogin;
use crate::api::{self, ApiError};
use crate::components::error::{error_of, ErrorBox};
use crate::components::escalation_state::EscalationPanel;
use crate::components::nav::Nav;
use crate::components::record_panel::RecordPanel;
use crate::format::local;
use crate::live;
use cirhub_shared::api::Paged;
use cirhub_shared::customer::*;
use cirhub_shared::*;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

#[component]
pub fn DashboardPage() -> impl IntoView {
    view! {
        <RequireLogin>
            <Nav />
            <main class="page"><Dashboard /></main>
        </RequireLogin>
    }
}

fn list_path(layout: &Layout) -> String {
    let mut p = String::from("/api/v1/dashboard/incidents?per_page=100");
    if let Some(m) = layout.min_priority {
        p.push_str(&format!("&min_priority={m}"));
    }
    p
}

async fn load(layout: Layout) -> Result<Vec<CustomerIncident>, ApiError> {
    let mut items = api::get::<Paged<CustomerIncident>>(&list_path(&layout))
        .await?
        .items;
    if layout.show_resolved {
        let closed = format!("{}&open=false", list_path(&layout));
        items.extend(api::get::<Paged<CustomerIncident>>(&closed).await?.items);
    }
    items
        .retain(|i| layout.provider_ids.is_empty() || layout.provider_ids.contains(&i.provider_id));
    // Pinned services first, then newest first.
    let pinned = |i: &CustomerIncident| {
        !i.components
            .iter()
            .any(|c| layout.pinned_service_ids.contains(&c.service_id))
    };
    items.sort_by(|a, b| {
        pinned(a)
            .cmp(&pinned(b))
            .then(b.updated_at.cmp(&a.updated_at))
    });
    Ok(items)
}

#[component]
fn Dashboard() -> impl IntoView {
    // The layout as saved, replaced by the caller's edits. The list is a resource keyed on
    // it, so when the filter changes twice quickly the newest layout's answer is shown,
    // whichever answer arrives last.
    let saved = LocalResource::new(|| api::get::<Layout>("/api/v1/me/layout"));
    let edited = RwSignal::new(None::<Layout>);
    let layout = Signal::derive(move || {
        edited
            .get()
            .or_else(|| saved.get().map(|r| r.unwrap_or_default()))
    });
    let items = LocalResource::new(move || {
        let l = layout.get();
        async move {
            match l {
                Some(l) => Some(load(l).await),
                None => None,
            }
        }
    });
    let components =
        LocalResource::new(|| api::get::<Vec<ComponentRef>>("/api/v1/dashboard/components"));
    let mappings = LocalResource::new(|| async {
        api::get::<Paged<ResourceMapping>>("/api/v1/resource-mappings?per_page=100")
            .await
            .map(|m| m.items)
    });
    let providers = LocalResource::new(|| async {
        let r = api::get::<Paged<Relationship>>("/api/v1/relationships?per_page=100").await?;
        Ok::<_, ApiError>(
            r.items
                .into_iter()
                .filter(|r| r.status == RelationshipStatus::Active)
                .map(|r| (r.provider_id, r.provider_name))
                .collect::<Vec<_>>(),
        )
    });
    let connected = live::subscribe(move |_| {
        items.refetch();
        components.refetch();
    });
    let put_layout = Action::new_unsync(|l: &Layout| {
        let l = l.clone();
        async move { api::put::<Layout, _>("/api/v1/me/layout", &l).await }
    });
    let save = move |l: Layout| {
        edited.set(Some(l.clone()));
        put_layout.dispatch(l);
    };
    let error = Signal::derive(move || {
        error_of(put_layout.value().get())
            .or_else(|| error_of(saved.get()))
            .or_else(|| error_of(providers.get()))
            .or_else(|| error_of(mappings.get()))
            .or_else(|| error_of(components.get()))
    });
    let names = move |c: &ComponentRef| -> String {
        let mine: Vec<String> = mappings
            .get()
            .and_then(Result::ok)
            .unwrap_or_default()
            .iter()
            .filter(|m| m.component.id == c.id)
            .map(|m| m.name.clone())
            .collect();
        mine.join(", ")
    };
    view! {
        <h1>"What affects us"</h1>
        <p class="muted">
            <span id="live-indicator" class=move || if connected.get() { "live on" } else { "live" }>
                {move || if connected.get() { "● live" } else { "○ connecting…" }}
            </span>
        </p>
        <ErrorBox error=error />
        {move || layout.get().map(|l| view! {
            <LayoutBar layout=l save=save providers=providers.get().and_then(Result::ok).unwrap_or_default() />
        })}
        {move || put_layout.pending().get().then(|| view! { <p class="muted">"Saving the layout…"</p> })}
        <section>
            <h2>"Incidents and maintenance"</h2>
            {move || match items.get().flatten() {
                None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p class="muted" id="dash-empty">"Nothing affects you right now."</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <table class="list">
                        <thead><tr><th>"Provider"</th><th>"Title"</th><th>"Your resources"</th><th>"Status"</th><th>"Priority"</th><th>"Drives"</th><th>"Latest"</th><th>"Ack"</th></tr></thead>
                        <tbody>
                            {list.into_iter().map(|i| view! { <Row incident=i /> }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            }}
        </section>
        <section>
            <h2>"Contracted components"</h2>
            <table class="list">
                <thead><tr><th>"Your name"</th><th>"Service"</th><th>"Region"</th><th>"Component"</th><th>"Status"</th></tr></thead>
                <tbody>
                    {move || components.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|c| {
                        let mine = names(&c);
                        let service = c.service_id.clone();
                        let pinned = layout.get().is_some_and(|l| l.pinned_service_ids.contains(&service));
                        let toggle = move |_| {
                            if let Some(mut l) = layout.get_untracked() {
                                if pinned {
                                    l.pinned_service_ids.retain(|s| s != &service);
                                } else {
                                    l.pinned_service_ids.push(service.clone());
                                }
                                save(l);
                            }
                        };
                        view! {
                            <tr>
                                <td>{mine}</td>
                                <td>
                                    <button class="secondary pin" title="Show this service's incidents first" on:click=toggle>
                                        {if pinned { "★" } else { "☆" }}
                                    </button>" "{c.service_name.clone()}
                                </td>
                                <td>{c.region_code.clone().unwrap_or_else(|| "global".into())}</td>
                                <td>{c.name.clone()}</td>
                                <td><span class=format!("status {}", c.status)>{c.status.label()}</span></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

#[component]
fn Row(incident: CustomerIncident) -> impl IntoView {
    let latest = incident
        .updates
        .first()
        .map(|u| u.body.clone())
        .unwrap_or_default();
    let href = format!("/console/dashboard/{}", incident.id);
    let resources = if incident.affected_resources.is_empty() {
        incident
            .components
            .iter()
            .map(|c| {
                format!(
                    "{} {}",
                    c.service_name,
                    c.region_code.clone().unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        incident.affected_resources.join(", ")
    };
    view! {
        <tr class="dash-incident" data-id=incident.id.clone()>
            <td>{incident.provider_name.clone()}</td>
            <td><a href=href>{incident.title.clone()}</a></td>
            <td class="dash-resources">{resources}</td>
            <td>{incident.status.label()}</td>
            <td>{if incident.kind == IncidentKind::Incident { incident.priority.as_str() } else { "maintenance" }}</td>
            <td>{driver_label(incident.driver)}</td>
            <td class="dash-update">{latest}</td>
            <td>{if incident.acknowledgement.is_some() { "✓" } else { "" }}</td>
        </tr>
    }
}

fn driver_label(d: Driver) -> &'static str {
    match d {
        Driver::Csp => "Provider",
        Driver::Csc => "Us",
        Driver::Joint => "Jointly",
    }
}

#[component]
fn LayoutBar(
    layout: Layout,
    save: impl Fn(Layout) + Copy + 'static,
    providers: Vec<(String, String)>,
) -> impl IntoView {
    let current = layout.clone();
    let on_provider = move |ev: leptos::ev::Event| {
        let mut l = current.clone();
        let v = event_target_value(&ev);
        l.provider_ids = if v.is_empty() { Vec::new() } else { vec![v] };
        save(l);
    };
    let only = layout.provider_ids.first().cloned();
    let current = layout.clone();
    let on_priority = move |ev: leptos::ev::Event| {
        let mut l = current.clone();
        l.min_priority = event_target_value(&ev).parse().ok();
        save(l);
    };
    let current = layout.clone();
    let on_resolved = move |ev: leptos::ev::Event| {
        let mut l = current.clone();
        l.show_resolved = event_target_checked(&ev);
        save(l);
    };
    let selected = layout.min_priority;
    view! {
        <form class="inline" on:submit=|ev| ev.prevent_default()>
            <label>"Provider "
                <select id="layout-provider" on:change=on_provider>
                    <option value="" selected=only.is_none()>"all"</option>
                    {providers.into_iter().map(|(id, name)| {
                        let sel = only.as_deref() == Some(id.as_str());
                        view! { <option value=id selected=sel>{name}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label>"Show priority up to "
                <select id="layout-min-priority" on:change=on_priority>
                    <option value="" selected=selected.is_none()>"all"</option>
                    {Priority::ALL.iter().map(|p| view! {
                        <option value=p.as_str() selected=selected == Some(*p)>{p.as_str()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label><input type="checkbox" id="layout-show-resolved" checked=layout.show_resolved on:change=on_resolved />" show resolved"</label>
        </form>
    }
}

#[component]
pub fn DashboardIncidentPage() -> impl IntoView {
    view! {
        <RequireLogin>
            <Nav />
            <main class="page"><DashboardIncident /></main>
        </RequireLogin>
    }
}

#[component]
fn DashboardIncident() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read_untracked().get("id").unwrap_or_default();
    let incident = LocalResource::new(move || {
        let id = params.read().get("id").unwrap_or_default();
        async move { api::get::<CustomerIncident>(&format!("/api/v1/dashboard/incidents/{id}")).await }
    });
    let connected = live::subscribe(move |ev| {
        let mine = ev.incident.as_ref().is_some_and(|i| i.id == id())
            || ev
                .acknowledgement
                .as_ref()
                .is_some_and(|a| a.incident_id == id());
        if mine {
            incident.refetch();
        }
    });
    // Each submission reloads the incident when it succeeds: the reload is the resource's
    // newest run, so no earlier answer can overwrite it.
    let acknowledge = Action::new_unsync(|(path, body): &(String, AckRequest)| {
        let (path, body) = (path.clone(), body.clone());
        async move { api::post::<CustomerIncident, _>(&path, &body).await }
    });
    let add = Action::new_unsync(|(path, body): &(String, CreateNote)| {
        let (path, body) = (path.clone(), body.clone());
        async move { api::post::<Note, _>(&path, &body).await }
    });
    let note = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(Ok(_)) = acknowledge.value().get() {
            incident.refetch();
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = add.value().get() {
            note.set(String::new());
            incident.refetch();
        }
    });
    let error = Signal::derive(move || {
        error_of(acknowledge.value().get()).or_else(|| error_of(add.value().get()))
    });
    let ack = move |_| {
        let version = incident
            .get_untracked()
            .and_then(|r| r.ok())
            .map(|i| i.version);
        let path = format!("/api/v1/dashboard/incidents/{}/ack", id());
        acknowledge.dispatch((path, AckRequest { version }));
    };
    let add_note = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let path = format!("/api/v1/dashboard/incidents/{}/notes", id());
        add.dispatch((
            path,
            CreateNote {
                body: note.get_untracked(),
            },
        ));
    };
    view! {
        <p><a href="/console/dashboard">"← Dashboard"</a>
            <span id="live-indicator" class="muted">{move || if connected.get() { " ● live" } else { " ○ connecting…" }}</span></p>
        <ErrorBox error=error />
        {move || match incident.get() {
            None => view! { <p class="muted">"Loading…"</p> }.into_any(),
            Some(Err(e)) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
            Some(Ok(i)) => view! {
                <article class="card">
                    <h1>{i.title.clone()}</h1>
                    <p class="muted">{format!("{} · {} · {} · version {}", i.provider_name, i.status.label(), i.priority, i.version)}</p>
                    <dl class="facts">
                        <dt>"Your resources"</dt><dd class="dash-resources">{i.affected_resources.join(", ")}</dd>
                        <dt>"Components"</dt><dd>{i.components.iter().map(|c| format!("{} ({} / {})", c.name, c.service_name, c.region_code.clone().unwrap_or_else(|| "global".into()))).collect::<Vec<_>>().join("; ")}</dd>
                        <dt>"Who drives it"</dt><dd id="driver">{format!("{} ({} service, {} layer)", driver_label(i.driver), i.service_model, i.layer)}</dd>
                        <dt>"Acknowledged"</dt>
                        <dd id="ack-state">{match &i.acknowledgement {
                            Some(a) => format!("by {} at {} (version {})", a.user_name, local(&a.acknowledged_at), a.incident_version),
                            None => "not yet".into(),
                        }}</dd>
                    </dl>
                    {i.acknowledgement.is_none().then(|| view! { <button id="ack-button" on:click=ack disabled=move || acknowledge.pending().get()>"Acknowledge"</button> })}
                    <h2>"Provider updates"</h2>
                    <ol class="timeline">
                        {i.updates.iter().map(|u| view! {
                            <li class="timeline-entry"><strong>{u.status.label()}</strong>" · "{local(&u.created_at)}<p class="dash-update">{u.body.clone()}</p></li>
                        }).collect_view()}
                    </ol>
                    <h2>"Our notes (private)"</h2>
                    <ul>
                        {i.notes.iter().map(|n| view! {
                            <li class="note"><strong>{n.author_name.clone()}</strong>" · "{local(&n.created_at)}<p>{n.body.clone()}</p></li>
                        }).collect_view()}
                    </ul>
                </article>
            }.into_any(),
        }}
        <EscalationPanel incident_id=id() />
        <RecordPanel incident_id=id() />
        <form class="card" on:submit=add_note>
            <label>"Add a private note"<textarea id="note-body" bind:value=note></textarea></label>
            <button type="submit" id="note-submit" disabled=move || add.pending().get()>"Add note"</button>
        </form>
    }
}
