//! One incident or maintenance: classification, due times, lifecycle marks, the timeline,
//! and the form that posts an update. Stable selectors: `#update-status`, `#update-body`,
//! `#update-submit`, `.timeline-entry`.

use super::console::load_components;
use super::login::RequireLogin;
use crate::api::{self, ApiError};
use crate::components::error::{error_of, ErrorBox};
use crate::components::escalation_state::EscalationPanel;
use crate::components::nav::Nav;
use crate::components::options::{options, options_of};
use crate::components::record_panel::{Comments, RecordPanel};
use crate::format::{local, now_iso};
use cirhub_shared::api::{ComponentStatusChange, Incident, PostUpdate};
use cirhub_shared::*;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

#[component]
pub fn IncidentPage() -> impl IntoView {
    view! {
        <RequireLogin>
            <Nav />
            <main class="page"><IncidentDetail /></main>
        </RequireLogin>
    }
}

#[component]
fn IncidentDetail() -> impl IntoView {
    let params = use_params_map();
    // Keyed on the id: following a link to another incident shows that one, never a late
    // answer for the previous one.
    let incident = LocalResource::new(move || {
        let id = params.read().get("id").unwrap_or_default();
        async move { api::get::<Incident>(&format!("/api/v1/incidents/{id}")).await }
    });
    move || match incident.get() {
        None => view! { <p class="muted">"Loading…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
        Some(Ok(i)) => view! { <Detail incident=i shown=incident /> }.into_any(),
    }
}

fn when(t: &Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.as_ref().map(local).unwrap_or_else(|| "—".into())
}

/// The incident shown: a submission's answer replaces it. Writing the resource outranks a
/// load already under way, so that load's older answer cannot overwrite the newer one.
type Shown = LocalResource<Result<Incident, ApiError>>;

#[component]
fn Detail(incident: Incident, shown: Shown) -> impl IntoView {
    let id = incident.id.clone();
    let patch = Action::new_unsync(move |field: &&'static str| {
        let path = format!("/api/v1/incidents/{id}");
        let body = serde_json::json!({ *field: now_iso() });
        async move {
            let result = api::patch::<Incident, _>(&path, &body).await;
            if let Ok(i) = &result {
                shown.set(Some(Ok(i.clone())));
            }
            result
        }
    });
    // A milestone edited after the fact: which, when (the viewer's zone), and why.
    let (m_field, m_at, m_reason) = (
        RwSignal::new("occurred_at".to_string()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let edit_id = incident.id.clone();
    let edit = Action::new_unsync(move |_: &()| {
        let path = format!("/api/v1/incidents/{edit_id}");
        let at = crate::format::local_input_to_iso(&m_at.get_untracked());
        let body =
            serde_json::json!({ m_field.get_untracked(): at, "reason": m_reason.get_untracked() });
        async move {
            let result = api::patch::<Incident, _>(&path, &body).await;
            if let Ok(i) = &result {
                shown.set(Some(Ok(i.clone())));
            }
            result
        }
    });
    let error = Signal::derive(move || {
        error_of(patch.value().get()).or_else(|| error_of(edit.value().get()))
    });
    let mark = move |field: &'static str| {
        patch.dispatch(field);
    };
    let is_incident = incident.kind == IncidentKind::Incident;
    view! {
        <article class="card">
            <h1>{incident.title.clone()}</h1>
            <p class="muted">
                {format!("{} · {} · {} · {} · version {}", incident.kind, incident.status.label(), incident.visibility, incident.category, incident.version)}
                {incident.exercise.then(|| view! { " · " <strong id="incident-exercise">"exercise"</strong> })}
            </p>
            <dl class="facts">
                {is_incident.then(|| view! {
                    <dt>"Priority"</dt><dd id="incident-priority">{format!("{} (impact {}, urgency {})", incident.priority, incident.impact, incident.urgency)}</dd>
                    <dt>"Respond by"</dt><dd>{when(&incident.response_due_at)}</dd>
                    <dt>"Resolve by"</dt><dd>{when(&incident.resolution_due_at)}</dd>
                    <dt>"Detected"</dt><dd>{when(&incident.detected_at)}</dd>
                    <dt>"Acknowledged"</dt><dd>{when(&incident.acknowledged_at)}</dd>
                    <dt>"Contained"</dt><dd>{when(&incident.contained_at)}</dd>
                    <dt>"Recovered"</dt><dd>{when(&incident.recovered_at)}</dd>
                })}
                {(!is_incident).then(|| view! {
                    <dt>"Window"</dt><dd>{format!("{} – {}", when(&incident.scheduled_for), when(&incident.scheduled_until))}</dd>
                })}
                <dt>"Resolved"</dt><dd>{when(&incident.resolved_at)}</dd>
            </dl>
            {is_incident.then(|| view! {
                <div class="row">
                    <button class="secondary" on:click=move |_| mark("acknowledged_at")>"Mark acknowledged now"</button>
                    <button class="secondary" on:click=move |_| mark("contained_at")>"Mark contained now"</button>
                    <button class="secondary" on:click=move |_| mark("recovered_at")>"Mark recovered now"</button>
                </div>
                <details class="milestone-edit">
                    <summary>"Correct a milestone"</summary>
                    <div class="row">
                        <label>"Milestone"<select id="milestone-field" on:change=move |ev| m_field.set(event_target_value(&ev))>
                            {["occurred_at", "detected_at", "acknowledged_at", "contained_at", "recovered_at"].into_iter()
                                .map(|f| view! { <option value=f>{crate::format::humanise(f.trim_end_matches("_at"))}</option> }).collect_view()}
                        </select></label>
                        <label>"When (your time zone)"<input type="datetime-local" id="milestone-at" bind:value=m_at /></label>
                        <label>"Why"<input id="milestone-reason" bind:value=m_reason /></label>
                        <button class="secondary" id="milestone-save" on:click=move |_| { edit.dispatch(()); }>"Save"</button>
                    </div>
                </details>
            })}
            <ErrorBox error=error />
        </article>
        {is_incident.then(|| view! { <EscalationPanel incident_id=incident.id.clone() /> })}
        <RecordPanel incident_id=incident.id.clone() />
        <Comments incident_id=incident.id.clone() />
        <UpdateForm incident=incident.clone() shown=shown />
        <Receipts id=incident.id.clone() />
        <section>
            <h2>"Timeline"</h2>
            <ol class="timeline">
                {incident.updates.into_iter().map(|u| view! {
                    <li class="timeline-entry">
                        <strong>{u.status.label()}</strong>" — "<span>{u.body}</span>
                        <div class="muted small">{format!("{} · {}", u.author_name, local(&u.created_at))}</div>
                        {u.component_changes.into_iter().map(|c| view! {
                            <div class="muted small">{format!("{}: {} → {}", c.name, c.old_status.label(), c.new_status.label())}</div>
                        }).collect_view()}
                    </li>
                }).collect_view()}
            </ol>
        </section>
    }
}

#[component]
fn UpdateForm(incident: Incident, shown: Shown) -> impl IntoView {
    let kind = incident.kind;
    let statuses: Vec<IncidentStatus> = IncidentStatus::ALL
        .iter()
        .copied()
        .filter(|s| s.valid_for(kind))
        .collect();
    let status = RwSignal::new(incident.status);
    let body = RwSignal::new(String::new());
    let impact = RwSignal::new(None::<Impact>);
    let urgency = RwSignal::new(None::<Urgency>);
    let changes = RwSignal::new(Vec::<ComponentStatusChange>::new());
    let components = load_components();
    let affected = incident.component_ids.clone();
    let path = format!("/api/v1/incidents/{}/updates", incident.id);
    let post = Action::new_unsync(move |input: &PostUpdate| {
        let (path, input) = (path.clone(), input.clone());
        async move {
            let result = api::post::<Incident, _>(&path, &input).await;
            if let Ok(i) = &result {
                body.set(String::new());
                changes.set(Vec::new());
                shown.set(Some(Ok(i.clone())));
            }
            result
        }
    });
    let error =
        Signal::derive(move || error_of(post.value().get()).or_else(|| error_of(components.get())));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let input = PostUpdate {
            status: status.get_untracked(),
            body: body.get_untracked(),
            components: changes.get_untracked(),
            impact: impact.get_untracked(),
            urgency: urgency.get_untracked(),
        };
        post.dispatch(input);
    };
    let current = incident.status;
    view! {
        <section class="card">
            <h2>"Post an update"</h2>
            <form on:submit=submit>
                <label>"Status"
                    <select id="update-status" on:change=move |ev| if let Ok(v) = event_target_value(&ev).parse() { status.set(v) }>
                        {options_of(statuses, Some(current))}
                    </select>
                </label>
                <label>"Message"<textarea id="update-body" required bind:value=body></textarea></label>
                {(kind == IncidentKind::Incident).then(|| view! {
                    <div class="row">
                        <label>"Impact"<select id="update-impact" on:change=move |ev| impact.set(event_target_value(&ev).parse().ok())>
                            <option value="">"unchanged"</option>
                            {options::<Impact>(None)}</select></label>
                        <label>"Urgency"<select id="update-urgency" on:change=move |ev| urgency.set(event_target_value(&ev).parse().ok())>
                            <option value="">"unchanged"</option>
                            {options::<Urgency>(None)}</select></label>
                    </div>
                })}
                <fieldset class="choices">
                    <legend>"Component status (affected components first)"</legend>
                    {move || {
                        let mut list = components.get().and_then(Result::ok).unwrap_or_default();
                        list.sort_by_key(|c| !affected.contains(&c.id));
                        list.into_iter().map(|c| {
                        let id = c.id.clone();
                        let mark = if affected.contains(&c.id) { " · affected" } else { "" };
                        view! {
                            <label class="inline">{format!("{} (now {}{mark})", c.name, c.status.label())}
                                <select on:change=move |ev| {
                                    let v: Option<ComponentStatus> = event_target_value(&ev).parse().ok();
                                    let id = id.clone();
                                    changes.update(|l| {
                                        l.retain(|x| x.component_id != id);
                                        if let Some(s) = v { l.push(ComponentStatusChange { component_id: id, status: s }); }
                                    });
                                }>
                                    <option value="">"no change"</option>
                                    {options::<ComponentStatus>(None)}
                                </select>
                            </label>
                        }
                    }).collect_view()
                    }}
                </fieldset>
                <ErrorBox error=error />
                <button id="update-submit" type="submit" disabled=move || post.pending().get()>"Post update"</button>
            </form>
        </section>
    }
}

/// Per customer: whether the incident reached it, who acknowledged, who drives the response;
/// refreshed live when an acknowledgement arrives. Selector: `.receipt[data-customer]`.
#[component]
fn Receipts(id: String) -> impl IntoView {
    let path = format!("/api/v1/incidents/{id}/receipts");
    let receipts = LocalResource::new(move || {
        let path = path.clone();
        async move { api::get::<Vec<cirhub_shared::customer::Receipt>>(&path).await }
    });
    let mine = id.clone();
    crate::live::subscribe(move |ev| {
        if ev.acknowledgement.is_some_and(|a| a.incident_id == mine) {
            receipts.refetch();
        }
    });
    view! {
        <section>
            <h2>"Customers"</h2>
            <ErrorBox error=Signal::derive(move || error_of(receipts.get())) />
            {move || {
                let list = receipts.get().and_then(Result::ok).unwrap_or_default();
                if list.is_empty() {
                    return view! { <p class="muted">"No customer relationship covers this record."</p> }.into_any();
                }
                view! {
                    <table class="list">
                        <thead><tr><th>"Customer"</th><th>"Model"</th><th>"Drives"</th><th>"Reached"</th><th>"Acknowledged"</th></tr></thead>
                        <tbody>
                            {list.into_iter().map(|r| view! {
                                <tr class="receipt" data-customer=r.customer_id.clone()>
                                    <td>{r.customer_name.clone()}</td>
                                    <td>{r.service_model.as_str()}</td>
                                    <td>{r.driver.as_str()}</td>
                                    <td>{r.reached_at.as_ref().map(|t| format!("{} ({})", local(t), r.reached_by.map(|c| c.as_str()).unwrap_or(""))).unwrap_or_else(|| "not yet".into())}</td>
                                    <td class="receipt-ack">{r.acknowledgement.as_ref().map(|a| format!("{} at {}", a.user_name, local(&a.acknowledged_at))).unwrap_or_else(|| "not yet".into())}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}
