//! The organisation's escalation policy: the rules in force as a table, an editor of the
//! policy's JSON with its lint beside it (checked without saving, saved as a new version by
//! an admin), and the simulator: for a chosen case, who is told, when and how if nobody
//! acknowledges. Stable selectors: `#policy-version`, `#policy-rules`, `#policy-json`,
//! `#policy-check`, `#policy-save`, `#policy-saved`, `#policy-error`, `#policy-lint`,
//! `.lint-finding[data-code]`, `#policy-clean`, `#sim-priority`, `#sim-category`,
//! `#sim-service`, `#sim-in-scope`, `#sim-at`, `#sim-submit`, `#sim-error`, `#sim-rule`,
//! `#sim-timeline`, `.sim-step`, `.sim-recipient`, `#sim-end`.

use super::login::RequireLogin;
use crate::api::{self, ApiError};
use crate::components::error::{error_of, ErrorBox};
use crate::components::nav::Nav;
use crate::components::options::options;
use crate::format::{local_input_to_iso, local_zoned};
use crate::session::SessionState;
use cirhub_shared::api::Service;
use cirhub_shared::escalation::*;
use cirhub_shared::{Category, Priority, Role, Visibility};
use leptos::prelude::*;

#[component]
pub fn EscalationPage() -> impl IntoView {
    view! {
        <RequireLogin>
            <Nav />
            <main class="page"><Escalation /></main>
        </RequireLogin>
    }
}

/// The editable part of a policy, as the editor shows it.
fn input_of(p: &EscalationPolicy) -> PolicyInput {
    PolicyInput {
        version: Some(p.version),
        time_zone: p.time_zone.clone(),
        business_hours: p.business_hours.clone(),
        rules: p.rules.clone(),
    }
}

fn pretty(p: &PolicyInput) -> String {
    serde_json::to_string_pretty(p).unwrap_or_default()
}

/// The editor's text as a policy, or what is wrong with it.
fn parse(text: &str) -> Result<PolicyInput, ApiError> {
    serde_json::from_str(text)
        .map_err(|e| ApiError::local(format!("The policy is not valid: {e}.")))
}

fn findings(list: Vec<Finding>) -> impl IntoView {
    if list.is_empty() {
        return view! { <p id="policy-clean" class="muted">"No findings: every case reaches someone."</p> }
            .into_any();
    }
    view! {
        <ul id="policy-lint">
            {list.into_iter().map(|f| view! {
                <li class="lint-finding" data-code=f.code.as_str()>
                    <strong>{f.code.as_str()}</strong>" "<code class="small">{f.path}</code>" "{f.message}
                </li>
            }).collect_view()}
        </ul>
    }
    .into_any()
}

fn conditions(m: &RuleMatch) -> String {
    let mut parts = Vec::new();
    let list =
        |name: &str, v: Vec<String>| (!v.is_empty()).then(|| format!("{name} {}", v.join("/")));
    parts.extend(list(
        "priority",
        m.priorities.iter().map(|p| p.to_string()).collect(),
    ));
    parts.extend(list(
        "category",
        m.categories.iter().map(|c| c.to_string()).collect(),
    ));
    parts.extend(list("service", m.services.clone()));
    parts.extend(list("region", m.regions.clone()));
    parts.extend(list(
        "visibility",
        m.visibility.iter().map(|v| v.to_string()).collect(),
    ));
    if let Some(s) = m.in_scope {
        parts.push(if s { "in scope" } else { "out of scope" }.into());
    }
    if m.hours != Hours::Any {
        parts.push(m.hours.as_str().replace('_', " "));
    }
    if parts.is_empty() {
        "any incident".into()
    } else {
        parts.join(", ")
    }
}

/// A rule's ladder in words, user targets by name.
fn ladder(r: &Rule, people: &[PolicyPerson]) -> String {
    if r.levels.is_empty() {
        return "nobody (on purpose)".into();
    }
    let levels: Vec<String> = r
        .levels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let who: Vec<String> = l
                .targets
                .iter()
                .map(|t| {
                    let ch: Vec<&str> = t.channels.iter().map(|c| c.as_str()).collect();
                    let who = match t.kind {
                        TargetKind::User => people
                            .iter()
                            .find(|p| p.id == t.id)
                            .map(|p| p.name.clone())
                            .unwrap_or_else(|| format!("user {} (gone)", t.id)),
                        TargetKind::Role => format!("every {}", t.id),
                        TargetKind::Contact => format!("the incident's {}", t.id.replace('_', " ")),
                    };
                    format!("{who} ({})", ch.join(", "))
                })
                .collect();
            let wait = match l.wait_minutes {
                Some(w) if l.repeat > 0 => format!("{} times, {w} min apart", l.repeat + 1),
                Some(w) => format!("{w} min"),
                None => "until acknowledged".into(),
            };
            format!("{}. {} — {wait}", i + 1, who.join("; "))
        })
        .collect();
    let again = if r.repeat > 0 {
        format!(" · ladder {} times", r.repeat + 1)
    } else {
        String::new()
    };
    format!("{}{again}", levels.join(" → "))
}

#[component]
fn Escalation() -> impl IntoView {
    let session = SessionState::get();
    let is_admin = move || session.0.get().is_some_and(|me| me.role == Role::Admin);
    let loaded = LocalResource::new(|| api::get::<EscalationPolicy>("/api/v1/escalation-policy"));
    let current = RwSignal::new(None::<EscalationPolicy>);
    let text = RwSignal::new(String::new());
    let saved_text = RwSignal::new(String::new());
    let lint = RwSignal::new(None::<Vec<Finding>>);
    Effect::new(move |_| {
        if let Some(Ok(p)) = loaded.get() {
            let t = pretty(&input_of(&p));
            text.set(t.clone());
            saved_text.set(t);
            lint.set(Some(p.lint.clone()));
            current.set(Some(p));
        }
    });
    let check = Action::new_unsync(move |t: &String| {
        let parsed = parse(t);
        async move {
            let draft = parsed?;
            api::post::<Vec<Finding>, _>("/api/v1/escalation-policy/lint", &draft).await
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(f)) = check.value().get() {
            lint.set(Some(f));
        }
    });
    let save = Action::new_unsync(move |t: &String| {
        let parsed = parse(t);
        async move {
            let draft = parsed?;
            api::put::<EscalationPolicy, _>("/api/v1/escalation-policy", &draft).await
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(p)) = save.value().get() {
            let t = pretty(&input_of(&p));
            text.set(t.clone());
            saved_text.set(t);
            lint.set(Some(p.lint.clone()));
            current.set(Some(p));
        }
    });
    let error = Signal::derive(move || {
        error_of(save.value().get()).or_else(|| error_of(check.value().get()))
    });
    view! {
        <h1>"Escalation policy"</h1>
        {move || loaded.get().and_then(Result::err).map(|e| view! { <p class="error">{e.to_string()}</p> })}
        {move || current.get().map(|p| view! {
            <section class="card">
                <p id="policy-version">{format!("Version {} · time zone {} · business hours {} {}–{}",
                    p.version, p.time_zone,
                    p.business_hours.days.iter().map(|d| d.as_str()).collect::<Vec<_>>().join(" "),
                    p.business_hours.start, p.business_hours.end)}</p>
                <table class="list" id="policy-rules">
                    <thead><tr><th>"#"</th><th>"Rule"</th><th>"When"</th><th>"Who, how, how long"</th></tr></thead>
                    <tbody>{p.rules.iter().enumerate().map(|(i, r)| view! {
                        <tr><td>{i + 1}</td><td>{r.name.clone()}</td><td>{conditions(&r.when)}</td><td class="small">{ladder(r, &p.people)}</td></tr>
                    }).collect_view()}</tbody>
                </table>
            </section>
        })}
        <div class="two-columns">
            <section class="card">
                <h2>"Edit"</h2>
                <label>"The policy as JSON: rules in order, the first whose match holds routes the incident"
                    <textarea id="policy-json" rows="24" class="code" bind:value=text></textarea>
                </label>
                <ErrorBox error=error id="policy-error" />
                <button id="policy-check" class="secondary" type="button"
                    on:click=move |_| { check.dispatch(text.get_untracked()); }
                    disabled=move || check.pending().get()>"Check"</button>
                {move || is_admin().then(|| view! {
                    <button id="policy-save" type="button"
                        on:click=move |_| { save.dispatch(text.get_untracked()); }
                        disabled=move || save.pending().get()>"Save as a new version"</button>
                })}
                {move || save.value().get().and_then(Result::ok).map(|p| view! {
                    <p id="policy-saved" class="muted">{format!("Saved as version {}.", p.version)}</p>
                })}
            </section>
            <section class="card">
                <h2>"Lint"</h2>
                {move || lint.get().map(findings)}
            </section>
        </div>
        <Simulator text=text saved_text=saved_text />
    }
}

#[component]
fn Simulator(text: RwSignal<String>, saved_text: RwSignal<String>) -> impl IntoView {
    let services = LocalResource::new(|| super::catalogue::all::<Service>("/api/v1/services"));
    let priority = RwSignal::new(Priority::P2.as_str().to_string());
    let category = RwSignal::new(Category::Unknown.as_str().to_string());
    let service = RwSignal::new(String::new());
    let in_scope = RwSignal::new(true);
    let at = RwSignal::new(String::new());
    let run = Action::new_unsync(move |_: &()| {
        // The editor's text is simulated as a draft once it differs from the saved version.
        let t = text.get_untracked();
        let draft = (t != saved_text.get_untracked()).then(|| parse(&t));
        let body = (
            priority.get_untracked(),
            category.get_untracked(),
            service.get_untracked(),
            in_scope.get_untracked(),
            local_input_to_iso(&at.get_untracked()),
        );
        async move {
            let policy = match draft {
                Some(parsed) => Some(parsed?),
                None => None,
            };
            let req = SimulateRequest {
                priority: body.0.parse().map_err(ApiError::local)?,
                category: body.1.parse().map_err(ApiError::local)?,
                service_id: (!body.2.is_empty()).then_some(body.2),
                region_id: None,
                visibility: Visibility::Public,
                in_scope: body.3,
                at: body
                    .4
                    .and_then(|s| chrono::DateTime::parse_from_rfc3339(&s).ok())
                    .map(|d| d.to_utc()),
                policy,
            };
            api::post::<Simulation, _>("/api/v1/escalation-policy/simulate", &req).await
        }
    });
    let error = Signal::derive(move || error_of(run.value().get()));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        run.dispatch(());
    };
    view! {
        <section class="card">
            <h2>"Simulate"</h2>
            <form class="inline" on:submit=submit>
                <label>"Priority"<select id="sim-priority" on:change=move |ev| priority.set(event_target_value(&ev))>
                    {options(Some(Priority::P2))}</select></label>
                <label>"Category"<select id="sim-category" on:change=move |ev| category.set(event_target_value(&ev))>
                    {options(Some(Category::Unknown))}</select></label>
                <label>"Service"<select id="sim-service" on:change=move |ev| service.set(event_target_value(&ev))>
                    <option value="">"any other"</option>
                    {move || services.get().and_then(Result::ok).unwrap_or_default().into_iter()
                        .map(|s| view! { <option value=s.id.clone()>{s.name.clone()}</option> }).collect_view()}
                </select></label>
                <label class="check"><input id="sim-in-scope" type="checkbox" bind:checked=in_scope />"touches our contracted scope"</label>
                <label>"Starting"<input id="sim-at" type="datetime-local" bind:value=at /></label>
                <button id="sim-submit" type="submit" disabled=move || run.pending().get()>"Simulate"</button>
            </form>
            <ErrorBox error=error id="sim-error" />
            {move || run.value().get().and_then(Result::ok).map(timeline)}
        </section>
    }
}

fn timeline(s: Simulation) -> impl IntoView {
    let on = match s.policy_version {
        Some(v) => format!("version {v}"),
        None => "the draft in the editor".to_string(),
    };
    let rule = match (s.rule, &s.rule_name) {
        (Some(i), Some(name)) => format!(
            "Routed by rule {} \"{name}\" of {on}, starting {} business hours.",
            i + 1,
            if s.business_hours { "in" } else { "outside" }
        ),
        _ => format!("No rule of {on} routes this case: nobody is told."),
    };
    let end = match s.exhausted_at {
        _ if s.rule.is_none() => String::new(),
        Some(t) => format!(
            "Unacknowledged, the escalation ends at {}.",
            local_zoned(&t)
        ),
        None => "Unacknowledged, it stays at its last level until someone acknowledges.".into(),
    };
    view! {
        <p id="sim-rule">{rule}</p>
        <table class="list" id="sim-timeline">
            <thead><tr><th>"When"</th><th>"Level"</th><th>"Who, how"</th></tr></thead>
            <tbody>{s.steps.into_iter().map(|x| view! {
                <tr class="sim-step" data-level=x.level.to_string() data-after=x.after_minutes.to_string()>
                    <td class="nowrap">{format!("+{} min · {}", x.after_minutes, local_zoned(&x.at))}</td>
                    <td>{format!("level {}, notice {}{}", x.level, x.attempt,
                        if x.pass > 1 { format!(", pass {}", x.pass) } else { String::new() })}</td>
                    <td>{if x.recipients.is_empty() {
                        view! { <span class="error">"nobody reachable"</span> }.into_any()
                    } else {
                        x.recipients.into_iter().map(|r| view! {
                            <span class="sim-recipient" data-email=r.email.clone()>
                                {format!("{} <{}> by {}", r.name, r.email,
                                    r.channels.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", "))}
                            </span>" "
                        }).collect_view().into_any()
                    }}</td>
                </tr>
            }).collect_view()}</tbody>
        </table>
        <p id="sim-end" class="muted">{end}</p>
    }
}
