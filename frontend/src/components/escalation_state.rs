//! On an incident page: the viewer's organisation's escalation — its state, the current
//! level and the next step, each notice with its delivery state, an acknowledge button —
//! and its regulatory clocks, each deadline with its due time, a countdown and its state.
//! Showing the escalation marks the viewer's notices seen. Both refresh live.
//! Selectors: `#escalation-state`, `#escalation-next`, `.escalation-notice[data-state]`,
//! `#escalation-ack`, `#escalation-assignee`, `#escalation-reassign-to`, `#escalation-reassign`, `.clock[data-regime]`, `.deadline[data-state]`, `.deadline-left`, `.deadline-alerts`.

use crate::api::{self, ApiError};
use crate::components::error::{error_of, ErrorBox};
use crate::format::local_zoned;
use cirhub_shared::clocks::{Clocks, DeadlineState};
use cirhub_shared::escalation::{Escalation, EscalationState};
use leptos::prelude::*;
use std::time::Duration;

#[component]
pub fn EscalationPanel(incident_id: String) -> impl IntoView {
    let seen = format!("/api/v1/incidents/{incident_id}/escalation/seen");
    // Reading it through `seen` marks the viewer's notices seen (the first time counts).
    let esc = LocalResource::new(move || {
        let path = seen.clone();
        async move { api::post::<Escalation, _>(&path, &serde_json::json!({})).await }
    });
    let base = format!("/api/v1/incidents/{incident_id}/escalation/");
    // `acknowledge` or `unacknowledge`; the escalation is read again after either.
    let ack = Action::new_unsync(move |what: &&'static str| {
        let path = format!("{base}{what}");
        async move {
            let r = api::post::<Escalation, _>(&path, &serde_json::json!({})).await;
            if r.is_ok() {
                esc.refetch();
            }
            r
        }
    });
    // Hands the escalation to one person (a user id).
    let reassign_path = format!("/api/v1/incidents/{incident_id}/escalation/reassign");
    let reassign = Action::new_unsync(move |user: &String| {
        let (path, body) = (reassign_path.clone(), serde_json::json!({"user_id": user}));
        async move {
            let r = api::post::<Escalation, _>(&path, &body).await;
            if r.is_ok() {
                esc.refetch();
            }
            r
        }
    });
    let mine = incident_id.clone();
    crate::live::subscribe(move |ev| {
        let about = ev.incident.as_ref().is_some_and(|i| i.id == mine)
            || ev
                .acknowledgement
                .as_ref()
                .is_some_and(|a| a.incident_id == mine)
            || ev
                .escalation
                .as_ref()
                .is_some_and(|n| n.incident_id == mine);
        if about {
            esc.refetch();
        }
    });
    let error = Signal::derive(move || {
        error_of(ack.value().get()).or_else(|| error_of(reassign.value().get()))
    });
    view! {
        <section class="card">
            <h2>"Escalation"</h2>
            {move || match esc.get() {
                None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                Some(Err(ApiError { status: 404, .. })) => view! {
                    <p id="escalation-state" class="muted">"No escalation runs for your organisation on this incident."</p>
                }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                Some(Ok(e)) => view! { <EscalationView e=e ack=ack reassign=reassign /> }.into_any(),
            }}
            <ErrorBox error=error />
        </section>
        <ClocksPanel incident_id=incident_id />
    }
}

#[component]
fn EscalationView(
    e: Escalation,
    ack: Action<&'static str, Result<Escalation, ApiError>>,
    reassign: Action<String, Result<Escalation, ApiError>>,
) -> impl IntoView {
    // Whom it can be handed to: the people its ladder names.
    let mut people: Vec<(String, String)> = Vec::new();
    for r in e.plan.iter().flat_map(|s| s.recipients.iter()) {
        if !people.iter().any(|(id, _)| *id == r.user_id) {
            people.push((r.user_id.clone(), r.name.clone()));
        }
    }
    let to = RwSignal::new(people.first().map(|p| p.0.clone()).unwrap_or_default());
    let assigned = e
        .assignee_name
        .clone()
        .map(|n| format!("Reassigned to {n}: the first level is theirs alone."));
    let open = e.state != EscalationState::Resolved;
    // The plan is the current round's: its steps start at `step_base`.
    let current = e
        .notices
        .iter()
        .map(|n| n.step)
        .filter(|s| *s >= e.step_base)
        .max()
        .map(|s| s - e.step_base);
    let level = current.and_then(|s| e.plan.get(s)).map(|s| s.level);
    let state = match e.state {
        EscalationState::Active => format!(
            "Climbing: level {} of rule \"{}\" (policy version {})",
            level.map_or("–".into(), |l| l.to_string()),
            e.rule_name,
            e.policy_version
        ),
        EscalationState::Acknowledged => format!(
            "Acknowledged at {}",
            e.ended_at.as_ref().map(local_zoned).unwrap_or_default()
        ),
        EscalationState::Resolved => "Stopped: the incident was resolved".into(),
        EscalationState::Exhausted => "Ran out: nobody acknowledged".into(),
    };
    let next = (e.state == EscalationState::Active)
        .then(|| e.plan.get(current.map_or(0, |s| s + 1)))
        .flatten()
        .map(|s| {
            let who: Vec<String> = s.recipients.iter().map(|r| r.name.clone()).collect();
            format!(
                "Next: level {} at {} — {}",
                s.level,
                local_zoned(&s.at),
                who.join(", ")
            )
        });
    let active = e.state == EscalationState::Active;
    let acknowledged = e.state == EscalationState::Acknowledged;
    view! {
        <p id="escalation-state" data-state=e.state.as_str()>{state}</p>
        {assigned.map(|a| view! { <p id="escalation-assignee" class="muted">{a}</p> })}
        {next.map(|n| view! { <p id="escalation-next" class="muted">{n}</p> })}
        {active.then(|| view! {
            <button id="escalation-ack" on:click=move |_| { ack.dispatch("acknowledge"); } disabled=move || ack.pending().get()>
                "Acknowledge for my organisation"
            </button>
        })}
        {acknowledged.then(|| view! {
            <button id="escalation-unack" class="secondary" on:click=move |_| { ack.dispatch("unacknowledge"); } disabled=move || ack.pending().get()>
                "Un-acknowledge: escalate again"
            </button>
        })}
        {(open && !people.is_empty()).then(|| view! {
            <div class="row">
                <label>"Hand it to"<select id="escalation-reassign-to" on:change=move |ev| to.set(event_target_value(&ev))>
                    {people.into_iter().map(|(id, name)| view! { <option value=id>{name}</option> }).collect_view()}
                </select></label>
                <button id="escalation-reassign" class="secondary" on:click=move |_| { reassign.dispatch(to.get_untracked()); }
                    disabled=move || reassign.pending().get()>"Reassign"</button>
            </div>
        })}
        <table class="list">
            <thead><tr><th>"Step"</th><th>"Person"</th><th>"Channel"</th><th>"State"</th><th>"Queued"</th></tr></thead>
            <tbody>
                {e.notices.into_iter().map(|n| view! {
                    <tr class="escalation-notice" data-state=n.state.as_str()>
                        <td>{n.step + 1}</td>
                        <td>{n.user_name}</td>
                        <td>{n.channel.as_str()}</td>
                        <td>{n.state.as_str().replace('_', " ")}</td>
                        <td>{local_zoned(&n.queued_at)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// "in 3 h 5 min" or "4 min ago".
fn left(ms: i64) -> String {
    let m = ms.abs() / 60_000;
    let text = if m >= 48 * 60 {
        format!("{} d {} h", m / (24 * 60), (m / 60) % 24)
    } else if m >= 60 {
        format!("{} h {} min", m / 60, m % 60)
    } else {
        format!("{m} min")
    };
    if ms >= 0 {
        format!("in {text}")
    } else {
        format!("{text} ago")
    }
}

/// "half: Kenji (email, websocket); 80 %: Kenji (email), Noa (email)".
fn alerts(list: &[cirhub_shared::clocks::AlertSent]) -> String {
    let mut parts: Vec<(String, Vec<String>)> = Vec::new();
    for a in list {
        let kind = match a.kind {
            cirhub_shared::clocks::AlertKind::Half => "half",
            cirhub_shared::clocks::AlertKind::Eighty => "80 %",
            cirhub_shared::clocks::AlertKind::Missed => "missed",
        };
        let who = format!(
            "{} ({}, {})",
            a.user_name,
            a.channel,
            a.state.as_str().replace('_', " ")
        );
        match parts.iter_mut().find(|(k, _)| k == kind) {
            Some((_, v)) => v.push(who),
            None => parts.push((kind.to_string(), vec![who])),
        }
    }
    parts
        .into_iter()
        .map(|(k, v)| format!("{k}: {}", v.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

#[component]
fn ClocksPanel(incident_id: String) -> impl IntoView {
    let path = format!("/api/v1/incidents/{incident_id}/clocks");
    let clocks = LocalResource::new(move || {
        let path = path.clone();
        async move { api::get::<Clocks>(&path).await }
    });
    // An alert sent to the viewer means the deadline's list of alerts grew.
    crate::live::subscribe(move |ev| {
        if ev
            .clock_alert
            .as_ref()
            .is_some_and(|a| a.incident_id == incident_id)
        {
            clocks.refetch();
        }
    });
    let now = RwSignal::new(crate::format::now());
    if let Ok(handle) = set_interval_with_handle(
        move || now.set(crate::format::now()),
        Duration::from_secs(1),
    ) {
        on_cleanup(move || handle.clear());
    }
    view! {
        {move || match clocks.get() {
            Some(Ok(c)) if !c.clocks.is_empty() => view! {
                <section class="card">
                    <h2>"Clocks"</h2>
                    {c.clocks.into_iter().map(|clock| view! {
                        <div class="clock" data-regime=clock.regime.as_str()>
                            <h3>{format!("{} ({})", clock.name, clock.time_zone)}</h3>
                            <ul>
                                {clock.deadlines.into_iter().map(|d| {
                                    let due = d.due_at;
                                    let open = d.state == DeadlineState::Open;
                                    view! {
                                        <li class="deadline" data-state=d.state.as_str()>
                                            <strong>{d.name}</strong>" — "{d.state.as_str()}
                                            {due.map(|t| format!(" · due {}", local_zoned(&t)))}
                                            {open.then(|| view! {
                                                <span class="deadline-left">{move || due.map(|t| format!(" · {}", left((t - now.get()).num_milliseconds()))).unwrap_or_default()}</span>
                                            })}
                                            {d.late_reason.map(|r| view! { <div class="muted small">{format!("Late: {r}")}</div> })}
                                            {(!d.alerts.is_empty()).then(|| view! {
                                                <div class="muted small deadline-alerts">{format!("Alerted: {}", alerts(&d.alerts))}</div>
                                            })}
                                            <div class="muted small">{d.rule}</div>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        </div>
                    }).collect_view()}
                </section>
            }.into_any(),
            // A maintenance has no clocks (409); any other failure is shown.
            Some(Err(e)) if e.status != 409 => view! { <p class="error">{e.to_string()}</p> }.into_any(),
            _ => ().into_any(),
        }}
    }
}
