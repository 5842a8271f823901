//! Relationships and the customer's settings. Providers invite customers (by slug) and see
//! every relationship; customers accept invitations, name their resources, manage alert
//! subscriptions and mint personal feed tokens. Stable selectors: `.relationship[data-id]`,
//! `#invite-customer`, `#invite-submit`, `.accept-button`, `#mapping-name`,
//! `#mapping-component`, `#mapping-submit`, `#sub-name`, `#sub-submit`, `#feed-name`,
//! `#feed-submit`, `#feed-url`.

use super::login::RequireLogin;
use crate::api::{self, ApiError, Verb};
use crate::components::error::{error_of, ErrorBox};
use crate::components::nav::Nav;
use crate::format::local;
use crate::session::SessionState;
use cirhub_shared::api::Paged;
use cirhub_shared::customer::*;
use cirhub_shared::*;
use leptos::prelude::*;
use serde_json::json;

#[component]
pub fn RelationsPage() -> impl IntoView {
    view! {
        <RequireLogin>
            <Nav />
            <main class="page"><Relations /></main>
        </RequireLogin>
    }
}

#[derive(Clone, Default, PartialEq)]
struct Data {
    relationships: Vec<Relationship>,
    components: Vec<ComponentRef>,
    mappings: Vec<ResourceMapping>,
    subscriptions: Vec<Subscription>,
    tokens: Vec<FeedToken>,
    /// The first part that could not be loaded; the others are shown all the same.
    failed: Option<ApiError>,
}

impl Data {
    fn keep<T: Default>(&mut self, part: Result<T, ApiError>) -> T {
        part.unwrap_or_else(|e| {
            self.failed.get_or_insert(e);
            T::default()
        })
    }
}

async fn items<T: serde::de::DeserializeOwned>(path: &str) -> Result<Vec<T>, ApiError> {
    Ok(api::get::<Paged<T>>(&format!("{path}?per_page=100"))
        .await?
        .items)
}

async fn load(customer: bool) -> Data {
    let mut d = Data::default();
    d.relationships = d.keep(items("/api/v1/relationships").await);
    if customer {
        d.components = d.keep(api::get("/api/v1/dashboard/components").await);
        d.mappings = d.keep(items("/api/v1/resource-mappings").await);
        d.subscriptions = d.keep(items("/api/v1/subscriptions").await);
        d.tokens = d.keep(items("/api/v1/feed-tokens").await);
    }
    d
}

fn place(c: &ComponentRef) -> String {
    format!(
        "{} / {} ({})",
        c.service_name,
        c.region_code.clone().unwrap_or_else(|| "global".into()),
        c.name
    )
}

#[component]
fn Relations() -> impl IntoView {
    let session = SessionState::get();
    let me = session.0.get_untracked();
    let provider = me.as_ref().is_some_and(|m| m.organisation.is_provider);
    let customer = me.as_ref().is_some_and(|m| m.organisation.is_customer);
    let my_org = me.map(|m| m.organisation.id).unwrap_or_default();
    let loaded = LocalResource::new(move || load(customer));
    let data = move || loaded.get().unwrap_or_default();
    let (minted, set_minted) = signal(None::<CreatedFeedToken>);
    // A change, then a reload: the reload is the resource's newest run, so an earlier load
    // cannot overwrite it.
    let change = Action::new_unsync(
        move |(verb, path, body): &(Verb, String, Option<serde_json::Value>)| {
            let (verb, path, body) = (*verb, path.clone(), body.clone());
            async move {
                let result = api::call::<serde_json::Value, _>(verb, &path, body.as_ref()).await;
                if let Ok(v) = &result {
                    if let Ok(t) = serde_json::from_value::<CreatedFeedToken>(v.clone()) {
                        set_minted.set(Some(t));
                    }
                    loaded.refetch();
                }
                result
            }
        },
    );
    let send = move |verb: Verb, path: String, body: Option<serde_json::Value>| {
        change.dispatch((verb, path, body));
    };
    let error = Signal::derive(move || {
        error_of(change.value().get()).or_else(|| loaded.get().and_then(|d| d.failed))
    });

    let invite_slug = RwSignal::new(String::new());
    let invite_model = RwSignal::new(ServiceModel::Saas);
    let invite = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        send(
            Verb::Post,
            "/api/v1/relationships".into(),
            Some(
                json!({"customer": invite_slug.get_untracked(), "service_model": invite_model.get_untracked()}),
            ),
        );
    };
    let map_name = RwSignal::new(String::new());
    let map_component = RwSignal::new(String::new());
    let add_mapping = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        send(
            Verb::Post,
            "/api/v1/resource-mappings".into(),
            Some(
                json!({"name": map_name.get_untracked(), "component_id": map_component.get_untracked()}),
            ),
        );
        map_name.set(String::new());
    };
    let sub_name = RwSignal::new(String::new());
    let sub_priority = RwSignal::new(Priority::P3);
    let sub_email = RwSignal::new(true);
    let sub_ws = RwSignal::new(true);
    let sub_digest = RwSignal::new(false);
    let add_sub = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut channels = Vec::new();
        if sub_email.get_untracked() {
            channels.push("email");
        }
        if sub_ws.get_untracked() {
            channels.push("websocket");
        }
        send(
            Verb::Post,
            "/api/v1/subscriptions".into(),
            Some(
                json!({"name": sub_name.get_untracked(), "min_priority": sub_priority.get_untracked(),
                "channels": channels, "mode": if sub_digest.get_untracked() { "digest" } else { "immediate" }}),
            ),
        );
    };
    let feed_name = RwSignal::new(String::new());
    let add_feed = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        send(
            Verb::Post,
            "/api/v1/feed-tokens".into(),
            Some(json!({"name": feed_name.get_untracked()})),
        );
    };

    view! {
        <h1>{if provider { "Customers" } else { "Providers and alerts" }}</h1>
        <ErrorBox error=error id="relations-error" />
        <section>
            <h2>"Relationships"</h2>
            <table class="list">
                <thead><tr><th>"With"</th><th>"Model"</th><th>"Covers"</th><th>"Status"</th><th>"Since"</th><th></th></tr></thead>
                <tbody>
                    {move || data().relationships.into_iter().map(|r| {
                        let mine_as_customer = r.customer_id == my_org;
                        let other = if mine_as_customer { r.provider_name.clone() } else { r.customer_name.clone() };
                        let covers = if r.scopes.is_empty() { "whole catalogue".to_string() } else { format!("{} scope(s)", r.scopes.len()) };
                        let accept_path = format!("/api/v1/relationships/{}/accept", r.id);
                        let end_path = format!("/api/v1/relationships/{}", r.id);
                        let can_accept = mine_as_customer && r.status == RelationshipStatus::Invited;
                        let active = r.status != RelationshipStatus::Ended;
                        view! {
                            <tr class="relationship" data-id=r.id.clone()>
                                <td>{other}</td>
                                <td>{r.service_model.as_str()}</td>
                                <td>{covers}</td>
                                <td class="relationship-status">{r.status.as_str()}</td>
                                <td>{local(r.accepted_at.as_ref().unwrap_or(&r.invited_at))}</td>
                                <td>
                                    {can_accept.then(|| { let p = accept_path.clone(); view! {
                                        <button class="accept-button" on:click=move |_| send(Verb::Post, p.clone(), Some(json!({})))>"Accept"</button>
                                    }})}
                                    {active.then(|| { let p = end_path.clone(); view! {
                                        <button class="secondary" on:click=move |_| send(Verb::Delete, p.clone(), None)>"End"</button>
                                    }})}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            {provider.then(|| view! {
                <form class="inline" on:submit=invite>
                    <label>"Invite customer (slug)"<input id="invite-customer" required bind:value=invite_slug /></label>
                    <label>"Service model"
                        <select id="invite-model" on:change=move |ev| if let Ok(m) = event_target_value(&ev).parse() { invite_model.set(m) }>
                            {ServiceModel::ALL.iter().map(|m| view! { <option value=m.as_str() selected=*m == ServiceModel::Saas>{m.as_str()}</option> }).collect_view()}
                        </select>
                    </label>
                    <button type="submit" id="invite-submit">"Invite"</button>
                </form>
                <p class="muted small">"An invitation covers the whole catalogue until its scopes are narrowed (PUT /api/v1/relationships/{id}/scopes)."</p>
            })}
        </section>
        {customer.then(|| view! {
            <section>
                <h2>"Our resource names"</h2>
                <table class="list">
                    <thead><tr><th>"Name"</th><th>"Provider component"</th><th></th></tr></thead>
                    <tbody>
                        {move || data().mappings.into_iter().map(|m| {
                            let path = format!("/api/v1/resource-mappings/{}", m.id);
                            view! {
                                <tr class="mapping"><td>{m.name.clone()}</td><td>{place(&m.component)}</td>
                                <td><button class="secondary" on:click=move |_| send(Verb::Delete, path.clone(), None)>"Remove"</button></td></tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                <form class="inline" on:submit=add_mapping>
                    <label>"Name"<input id="mapping-name" required bind:value=map_name /></label>
                    <label>"Component"
                        <select id="mapping-component" on:change=move |ev| map_component.set(event_target_value(&ev))>
                            <option value="">"choose…"</option>
                            {move || data().components.into_iter().map(|c| view! { <option value=c.id.clone()>{place(&c)}</option> }).collect_view()}
                        </select>
                    </label>
                    <button type="submit" id="mapping-submit">"Add name"</button>
                </form>
            </section>
            <section>
                <h2>"Alert subscriptions"</h2>
                <table class="list">
                    <thead><tr><th>"Name"</th><th>"For"</th><th>"Priority"</th><th>"Channels"</th><th>"Mode"</th><th></th></tr></thead>
                    <tbody>
                        {move || data().subscriptions.into_iter().map(|s| {
                            let path = format!("/api/v1/subscriptions/{}", s.id);
                            let who = s.role.map(|r| format!("every {r}")).unwrap_or_else(|| "me".into());
                            let channels = s.channels.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ");
                            view! {
                                <tr class="subscription"><td>{s.name.clone()}</td><td>{who}</td><td>{format!("{} and above", s.min_priority)}</td>
                                <td>{channels}</td><td>{s.mode.as_str()}</td>
                                <td><button class="secondary" on:click=move |_| send(Verb::Delete, path.clone(), None)>"Delete"</button></td></tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                <form class="inline" on:submit=add_sub>
                    <label>"Name"<input id="sub-name" required bind:value=sub_name /></label>
                    <label>"Priority up to"
                        <select id="sub-priority" on:change=move |ev| if let Ok(p) = event_target_value(&ev).parse() { sub_priority.set(p) }>
                            {Priority::ALL.iter().map(|p| view! { <option value=p.as_str() selected=*p == Priority::P3>{p.as_str()}</option> }).collect_view()}
                        </select>
                    </label>
                    <label><input type="checkbox" id="sub-email" bind:checked=sub_email />" e-mail"</label>
                    <label><input type="checkbox" id="sub-ws" bind:checked=sub_ws />" live"</label>
                    <label><input type="checkbox" id="sub-digest" bind:checked=sub_digest />" digest"</label>
                    <button type="submit" id="sub-submit">"Subscribe"</button>
                </form>
            </section>
            <section>
                <h2>"Personal status feeds"</h2>
                <p class="muted">"Statuspage v2 documents and an Atom feed showing only what affects us — for existing Statuspage clients and widgets."</p>
                {move || minted.get().map(|t| view! {
                    <p class="card">"New feed (shown once): "<code id="feed-url">{t.statuspage_url.clone()}</code>" · Atom: "<code>{t.atom_url.clone()}</code></p>
                })}
                <table class="list">
                    <thead><tr><th>"Name"</th><th>"Starts with"</th><th>"Created"</th><th>"Last used"</th><th></th></tr></thead>
                    <tbody>
                        {move || data().tokens.into_iter().map(|t| {
                            let path = format!("/api/v1/feed-tokens/{}", t.id);
                            let live = t.revoked_at.is_none();
                            view! {
                                <tr class="feed-token"><td>{t.name.clone()}</td><td><code>{t.prefix.clone()}</code></td>
                                <td>{local(&t.created_at)}</td><td>{t.last_used_at.as_ref().map(local).unwrap_or_else(|| "never".into())}</td>
                                <td>{if live { view! { <button class="secondary" on:click=move |_| send(Verb::Delete, path.clone(), None)>"Revoke"</button> }.into_any() } else { view! { <span class="muted">"revoked"</span> }.into_any() }}</td></tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                <form class="inline" on:submit=add_feed>
                    <label>"Name"<input id="feed-name" required bind:value=feed_name /></label>
                    <button type="submit" id="feed-submit">"Create feed"</button>
                </form>
            </section>
        })}
    }
}
