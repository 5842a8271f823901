//! The public status page of a provider, built from its Statuspage v2 documents and the
//! uptime document; refreshed every 15 seconds.
//!
//! Stable selectors: `#overall-status`, `.incident[data-id]`, `.incident-title`,
//! `.incident-update-body`, `.component-row[data-id]`, `.uptime-bar`.

use crate::api::{self, ApiError};
use crate::format::{humanise, local_time};
use cirhub_shared::statuspage::{ComponentUptime, Incident, IncidentsDoc, Summary, UptimeDoc};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use std::time::Duration;

#[derive(Clone, PartialEq)]
struct Docs {
    summary: Summary,
    uptime: UptimeDoc,
    history: IncidentsDoc,
}

async fn load(provider: String) -> Result<Docs, ApiError> {
    let base = format!("/status/{provider}");
    Ok(Docs {
        summary: api::public(&format!("{base}/api/v2/summary.json")).await?,
        uptime: api::public(&format!("{base}/uptime.json")).await?,
        history: api::public(&format!("{base}/api/v2/incidents.json")).await?,
    })
}

#[component]
pub fn StatusPage() -> impl IntoView {
    let params = use_params_map();
    let provider = move || params.read().get("provider").unwrap_or_default();
    // Keyed on the provider: the newest request's answer is the one that lands.
    let fetched = LocalResource::new(move || load(provider()));
    let (docs, set_docs) = signal(None::<Result<Docs, ApiError>>);
    Effect::new(move |_| {
        let Some(result) = fetched.get() else {
            return;
        };
        let current = docs.get_untracked();
        // Keep showing the last good page if a refresh fails, and leave the page (and
        // anything the reader has selected) alone when nothing changed.
        let keep = match (&current, &result) {
            (Some(Ok(_)), Err(_)) => true,
            (Some(old), new) => old == new,
            (None, _) => false,
        };
        if !keep {
            set_docs.set(Some(result));
        }
    });
    let fetch = move || fetched.refetch();
    if let Ok(handle) = set_interval_with_handle(fetch, Duration::from_secs(15)) {
        on_cleanup(move || handle.clear());
    }
    move || {
        match docs.get() {
        None => view! { <main class="page"><p>"Loading status…"</p></main> }.into_any(),
        Some(Err(e)) => view! { <main class="page"><h1>"Status page unavailable"</h1><p class="error">{e.to_string()}</p></main> }.into_any(),
        Some(Ok(d)) => view! { <StatusView docs=d provider=provider() /> }.into_any(),
    }
    }
}

#[component]
fn StatusView(docs: Docs, provider: String) -> impl IntoView {
    let Docs {
        summary,
        uptime,
        history,
    } = docs;
    let past: Vec<Incident> = history
        .incidents
        .into_iter()
        .filter(|i| matches!(i.status.as_str(), "resolved" | "postmortem"))
        .collect();
    let feed = format!("/status/{provider}/history.atom");
    set_title(&format!("{} status", summary.page.name));
    let (active, upcoming): (Vec<Incident>, Vec<Incident>) = summary
        .scheduled_maintenances
        .iter()
        .cloned()
        .partition(|m| m.status != "scheduled");
    let banner_class = format!("banner indicator-{}", summary.status.indicator);
    view! {
        <main class="page status-page">
            <header class="status-header">
                <h1>{summary.page.name.clone()}" status"</h1>
                <a class="feed" href=feed rel="external">"Subscribe (Atom)"</a>
            </header>
            <div id="overall-status" class=banner_class>{summary.status.description.clone()}</div>
            <Incidents title="Active incidents" items=summary.incidents.clone() />
            <Incidents title="Maintenance in progress" items=active />
            <Incidents title="Upcoming maintenance" items=upcoming />
            <section>
                <h2>"Components"</h2>
                <p class="muted">"Uptime over the past 90 days, one bar per day."</p>
                {groups(uptime.components)}
            </section>
            <section>
                <h2>"Past incidents"</h2>
                {if past.is_empty() { Some(view! { <p class="muted">"No incidents reported."</p> }) } else { None }}
                <ul class="history">
                    {past.into_iter().map(|i| {
                        let last = i.incident_updates.first().map(|u| u.body.clone()).unwrap_or_default();
                        let when = i.resolved_at.clone().map(|t| local_time(&t)).unwrap_or_default();
                        view! {
                            <li class="incident past" data-id=i.id.clone() id=format!("incident-{}", i.id)>
                                <strong class="incident-title">{i.name.clone()}</strong>
                                <span class="muted">" resolved "{when}</span>
                                <p class="incident-update-body">{last}</p>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </section>
        </main>
    }
}

#[component]
fn Incidents(title: &'static str, items: Vec<Incident>) -> impl IntoView {
    if items.is_empty() {
        return None;
    }
    Some(view! {
        <section>
            <h2>{title}</h2>
            {items.into_iter().map(|i| view! { <IncidentCard incident=i /> }).collect_view()}
        </section>
    })
}

#[component]
fn IncidentCard(incident: Incident) -> impl IntoView {
    let class = format!("incident card impact-{}", incident.impact);
    let schedule = incident.scheduled_for.clone().map(|from| {
        let until = incident
            .scheduled_until
            .clone()
            .map(|t| local_time(&t))
            .unwrap_or_default();
        format!("Scheduled {} – {}", local_time(&from), until)
    });
    let affected = incident
        .components
        .iter()
        .map(|c| c.name.clone())
        .collect::<Vec<_>>()
        .join(", ");
    view! {
        <article class=class data-id=incident.id.clone() id=format!("incident-{}", incident.id)>
            <h3 class="incident-title">{incident.name.clone()}</h3>
            {schedule.map(|s| view! { <p class="muted">{s}</p> })}
            {(!affected.is_empty()).then(|| view! { <p class="muted">"Affects: "{affected.clone()}</p> })}
            <ol class="timeline">
                {incident.incident_updates.into_iter().map(|u| view! {
                    <li>
                        <strong>{humanise(&u.status)}</strong>" — "
                        <span class="incident-update-body">{u.body}</span>
                        <time>{local_time(&u.display_at)}</time>
                    </li>
                }).collect_view()}
            </ol>
        </article>
    }
}

/// Components by group, each with region, status and 90 uptime bars.
fn groups(components: Vec<ComponentUptime>) -> impl IntoView {
    let mut names: Vec<String> = Vec::new();
    for c in &components {
        let g = c.group.clone().unwrap_or_else(|| "Other".into());
        if !names.contains(&g) {
            names.push(g);
        }
    }
    names
        .into_iter()
        .map(|g| {
            let members: Vec<ComponentUptime> = components
                .iter()
                .filter(|c| c.group.clone().unwrap_or_else(|| "Other".into()) == g)
                .cloned()
                .collect();
            view! {
                <div class="group card">
                    <h3>{g}</h3>
                    {members.into_iter().map(|c| view! { <ComponentRow c=c /> }).collect_view()}
                </div>
            }
        })
        .collect_view()
}

#[component]
fn ComponentRow(c: ComponentUptime) -> impl IntoView {
    let status_class = format!("status status-{}", c.status);
    view! {
        <div class="component-row" data-id=c.id.clone()>
            <div class="component-head">
                <span class="name">{c.name.clone()}</span>
                <span class="region">{format!("{} · {}", c.service, c.region.clone().unwrap_or_else(|| "global".into()))}</span>
                <span class=status_class>{humanise(&c.status)}</span>
            </div>
            <div class="bars" aria-label="90-day uptime">
                {c.history.iter().map(|d| {
                    let class = format!("uptime-bar day-{}", d.worst);
                    let title = format!("{}: {:.2}% uptime", d.date, d.uptime_percent);
                    view! { <span class=class title=title></span> }
                }).collect_view()}
            </div>
            <div class="muted small">{format!("{:.3}% uptime over 90 days", c.uptime_percent)}</div>
        </div>
    }
}

/// The browser tab's title.
fn set_title(title: &str) {
    if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
        doc.set_title(title);
    }
}
