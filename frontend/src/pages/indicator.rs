//! One STIX object: its facts and STIX JSON, its versions, its sightings (a recipient reports
//! one back to the owner here) and, for the owner, who received it. Stable selectors:
//! `#indicator-summary`, `#stix-json`, `.version-row`, `.sighting-row`, `#sighting-count`,
//! `#sighting-first`, `#sighting-last`, `#sighting-note`, `#sighting-submit`,
//! `#sighting-error`, `.receipt-row`; where it goes: `.spread-row` (an agreement it is shared
//! or passed on under), `.spread-stop`, `#spread-agreement`, `#spread-submit`, `#spread-error`.

use super::agreements::{active, load_agreements, title_of};
use super::indicators::{source, summary};
use super::login::RequireLogin;
use crate::api::{self, Verb};
use crate::components::error::{error_of, ErrorBox, FieldError, FormError};
use crate::components::nav::Nav;
use crate::components::tlp::TlpBadge;
use crate::format::{humanise, local, local_input_to_iso};
use cirhub_shared::api::Paged;
use cirhub_shared::sharing::*;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

#[component]
pub fn IndicatorPage() -> impl IntoView {
    view! {
        <RequireLogin>
            <Nav />
            <main class="page"><IndicatorDetail /></main>
        </RequireLogin>
    }
}

#[component]
fn IndicatorDetail() -> impl IntoView {
    let params = use_params_map();
    // Keyed on the key: a link to another object shows that one, never a late answer.
    let object = LocalResource::new(move || {
        let key = params.read().get("key").unwrap_or_default();
        async move { api::get::<StixObject>(&format!("/api/v1/stix-objects/{key}")).await }
    });
    move || match object.get() {
        None => view! { <p class="muted">"Loading…"</p> }.into_any(),
        Some(Err(e)) => {
            view! { <p class="error" id="indicator-error">{e.to_string()}</p> }.into_any()
        }
        Some(Ok(o)) => {
            view! { <Detail object=o changed=Callback::new(move |()| object.refetch()) /> }
                .into_any()
        }
    }
}

fn base(key: &str) -> String {
    format!("/api/v1/stix-objects/{key}")
}

#[component]
fn Detail(object: StixObject, changed: Callback<()>) -> impl IntoView {
    let agreements = load_agreements();
    let names = move |ids: Vec<String>| {
        let list = agreements.get().and_then(Result::ok).unwrap_or_default();
        if ids.is_empty() {
            return "—".to_string();
        }
        ids.iter()
            .map(|id| title_of(&list, id))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let shared = object.agreements.clone();
    let json = serde_json::to_string_pretty(&object.object).unwrap_or_default();
    let key = object.key.clone();
    let own = object.own;
    view! {
        <p><a href="/console/indicators">"← Indicators"</a></p>
        <article class="card">
            <h1><code id="indicator-summary">{summary(&object)}</code></h1>
            <dl class="facts">
                <dt>"Type"</dt><dd>{object.stix_type.clone()}</dd>
                <dt>"TLP"</dt><dd><TlpBadge tlp=object.tlp /></dd>
                <dt>"Category"</dt><dd>{humanise(object.category.as_str())}</dd>
                <dt>"Source"</dt><dd id="indicator-source">{source(&object)}</dd>
                <dt>{if own { "Shared under" } else { "Received under" }}</dt>
                <dd>{move || names(shared.clone())}</dd>
                <dt>"Version"</dt><dd>{format!("{} (modified {})", object.version, object.modified.clone().unwrap_or_else(|| "—".into()))}</dd>
                <dt>"Revoked"</dt><dd>{if object.revoked { "yes" } else { "no" }}</dd>
                <dt>"Added"</dt><dd>{local(&object.added_at)}</dd>
                <dt>"SHA-256"</dt><dd><code class="small">{object.hash.clone()}</code></dd>
            </dl>
            <h2>"STIX 2.1"</h2>
            <pre class="json" id="stix-json">{json}</pre>
        </article>
        <Spread object=object.clone() changed=changed />
        <Versions key=key.clone() />
        <Sightings key=key.clone() own=own />
        {own.then(|| view! { <Receipts key=key.clone() /> })}
    }
}

/// Where the object goes: the owner shares it under its agreements in force; a recipient
/// passes it on under agreements of its own (refused when the terms it came under, or its
/// TLP, do not allow it). Either stops here too, effective from the next request.
#[component]
fn Spread(object: StixObject, changed: Callback<()>) -> impl IntoView {
    let agreements = load_agreements();
    let own = object.own;
    let (segment, current) = if own {
        ("shares", object.agreements.clone())
    } else {
        ("onward", object.passed_on_under.clone())
    };
    let path = format!("{}/{segment}", base(&object.key));
    // Received under: a recipient cannot pass it back on under those.
    let excluded: Vec<String> = object.agreements.iter().chain(&current).cloned().collect();
    let choice = RwSignal::new(String::new());
    let change = Action::new_unsync(
        move |(verb, path, body): &(Verb, String, Option<ShareObject>)| {
            let (verb, path, body) = (*verb, path.clone(), body.clone());
            async move {
                let result = api::call::<serde_json::Value, _>(verb, &path, body.as_ref()).await;
                if result.is_ok() {
                    changed.run(());
                }
                result
            }
        },
    );
    let error = Signal::derive(move || error_of(change.value().get()));
    let add_path = path.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let agreement_id = choice.get_untracked();
        change.dispatch((
            Verb::Post,
            add_path.clone(),
            Some(ShareObject { agreement_id }),
        ));
    };
    let rows = current.clone();
    view! {
        <section>
            <h2>{if own { "Shared under" } else { "Passed on under" }}</h2>
            <p class="muted small">{if own {
                "The agreements in force this object reaches their parties by, as each agreement's terms and its TLP allow."
            } else {
                "Agreements of your own you pass this object on under; the terms it came under travel with it."
            }}</p>
            <table class="list">
                <tbody>
                    {move || {
                        let list = agreements.get().and_then(Result::ok).unwrap_or_default();
                        rows.iter().map(|id| {
                            let stop = format!("{path}/{id}");
                            view! {
                                <tr class="spread-row">
                                    <td>{title_of(&list, id)}</td>
                                    <td><button class="secondary spread-stop" type="button"
                                        disabled=move || change.pending().get()
                                        on:click=move |_| { change.dispatch((Verb::Delete, stop.clone(), None)); }>
                                        {if own { "Stop sharing" } else { "Stop passing on" }}</button></td>
                                </tr>
                            }
                        }).collect_view()
                    }}
                </tbody>
            </table>
            {move || current.is_empty().then(|| view! { <p class="muted" id="spread-none">"None."</p> })}
            <form class="row" on:submit=submit>
                <label>{if own { "Share under" } else { "Pass on under" }}
                    <select id="spread-agreement" on:change=move |ev| choice.set(event_target_value(&ev))>
                        <option value="">"Choose an agreement in force…"</option>
                        {move || {
                            let list = agreements.get().and_then(Result::ok).unwrap_or_default();
                            active(&list).into_iter()
                                .filter(|a| !excluded.contains(&a.id))
                                .map(|a| {
                                    let title = title_of(std::slice::from_ref(&a), &a.id);
                                    view! { <option value=a.id.clone()>{title}</option> }
                                })
                                .collect_view()
                        }}
                    </select>
                    <FieldError error=error fields=&["agreement_id"] />
                </label>
                <button id="spread-submit" type="submit"
                    disabled=move || change.pending().get() || choice.get().is_empty()>
                    {if own { "Share" } else { "Pass on" }}</button>
            </form>
            <FormError error=error placed=&["agreement_id"] id="spread-error" />
        </section>
    }
}

#[component]
fn Versions(key: String) -> impl IntoView {
    let path = format!("{}/versions", base(&key));
    let versions = LocalResource::new(move || {
        let path = path.clone();
        async move { api::get::<Vec<StixVersion>>(&path).await }
    });
    view! {
        <section>
            <h2>"Versions"</h2>
            <ErrorBox error=Signal::derive(move || error_of(versions.get())) />
            <table class="list">
                <thead><tr><th>"Version"</th><th>"Modified"</th><th>"Revoked"</th><th>"Added"</th><th>"SHA-256"</th></tr></thead>
                <tbody>
                    {move || versions.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|v| view! {
                        <tr class="version-row">
                            <td>{v.version}</td>
                            <td>{v.modified.unwrap_or_else(|| "—".into())}</td>
                            <td>{if v.revoked { "revoked" } else { "—" }}</td>
                            <td>{local(&v.added_at)}</td>
                            <td><code class="small">{v.hash}</code></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

/// An optional `datetime-local` value (viewer's zone) as a UTC time.
fn when(value: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let iso = local_input_to_iso(value)?;
    chrono::DateTime::parse_from_rfc3339(&iso)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

#[component]
fn Sightings(key: String, own: bool) -> impl IntoView {
    let path = format!("{}/sightings", base(&key));
    let list_path = path.clone();
    let sightings = LocalResource::new(move || {
        let path = list_path.clone();
        async move { api::get::<Vec<Sighting>>(&path).await }
    });
    let count = RwSignal::new("1".to_string());
    let first = RwSignal::new(String::new());
    let last = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    let report = Action::new_unsync(move |input: &ReportSighting| {
        let (path, input) = (path.clone(), input.clone());
        async move {
            let result = api::post::<Sighting, _>(&path, &input).await;
            if result.is_ok() {
                note.set(String::new());
                sightings.refetch();
            }
            result
        }
    });
    let error = Signal::derive(move || error_of(report.value().get()));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        report.dispatch(ReportSighting {
            // Unreadable counts go as 0, so the server's message explains the range.
            count: count.get_untracked().trim().parse().unwrap_or(0),
            first_seen: when(&first.get_untracked()),
            last_seen: when(&last.get_untracked()),
            note: note.get_untracked(),
        });
    };
    view! {
        <section>
            <h2>"Sightings"</h2>
            <p class="muted small">{if own {
                "Every sighting recipients reported back, named as their agreement allows."
            } else {
                "The sightings your organisation reported to the owner."
            }}</p>
            <ErrorBox error=Signal::derive(move || error_of(sightings.get())) />
            <table class="list">
                <thead><tr><th>"Reporter"</th><th>"Count"</th><th>"First seen"</th><th>"Last seen"</th><th>"Note"</th><th>"Reported"</th></tr></thead>
                <tbody>
                    {move || sightings.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|s| view! {
                        <tr class="sighting-row">
                            <td>{s.reporter.clone().unwrap_or_else(|| "pseudonymous".into())}</td>
                            <td>{s.count}</td>
                            <td>{local(&s.first_seen)}</td>
                            <td>{local(&s.last_seen)}</td>
                            <td>{s.note.clone()}</td>
                            <td>{local(&s.reported_at)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            {(!own).then(|| view! {
                <form class="card" on:submit=submit>
                    <h3>"Report a sighting to the owner"</h3>
                    <div class="row">
                        <label>"Times seen"<input id="sighting-count" type="number" min="1" bind:value=count />
                            <FieldError error=error fields=&["count"] /></label>
                        <label>"First seen (your time, default now)"<input id="sighting-first" type="datetime-local" bind:value=first />
                            <FieldError error=error fields=&["first_seen"] /></label>
                        <label>"Last seen (your time, default now)"<input id="sighting-last" type="datetime-local" bind:value=last />
                            <FieldError error=error fields=&["last_seen"] /></label>
                    </div>
                    <label>"Note"<textarea id="sighting-note" maxlength="2000" bind:value=note></textarea>
                        <FieldError error=error fields=&["note"] /></label>
                    <FormError error=error placed=&["count", "first_seen", "last_seen", "note"] id="sighting-error" />
                    <button id="sighting-submit" type="submit" disabled=move || report.pending().get()>"Report sighting"</button>
                </form>
            })}
        </section>
    }
}

/// Who received the object: every disclosure of it, newest first.
#[component]
fn Receipts(key: String) -> impl IntoView {
    let path = format!("{}/receipts?per_page=100", base(&key));
    let receipts = LocalResource::new(move || {
        let path = path.clone();
        async move { api::get::<Paged<Receipt>>(&path).await }
    });
    let agreements = load_agreements();
    view! {
        <section>
            <h2>"Who received it"</h2>
            <ErrorBox error=Signal::derive(move || error_of::<Paged<Receipt>>(receipts.get())) />
            {move || {
                let page = receipts.get().and_then(Result::ok);
                let names = agreements.get().and_then(Result::ok).unwrap_or_default();
                match page {
                    None => ().into_any(),
                    Some(p) if p.items.is_empty() => view! { <p class="muted" id="receipts-empty">"Nobody else has received it yet."</p> }.into_any(),
                    Some(p) => view! {
                        <p class="muted small">{format!("{} disclosures", p.total)}</p>
                        <table class="list">
                            <thead><tr><th>"Recipient"</th><th>"Agreement"</th><th>"Version"</th><th>"Channel"</th><th>"When"</th></tr></thead>
                            <tbody>
                                {p.items.into_iter().map(|r| view! {
                                    <tr class="receipt-row">
                                        <td>{r.recipient.clone().unwrap_or_else(|| "—".into())}</td>
                                        <td>{format!("{} (terms v{})", title_of(&names, &r.agreement_id), r.agreement_version)}</td>
                                        <td>{r.version}</td>
                                        <td>{r.channel.as_str()}</td>
                                        <td>{local(&r.at)}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }
            }}
        </section>
    }
}
