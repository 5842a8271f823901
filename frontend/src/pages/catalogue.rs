//! The provider catalogue: regions, services, groups and components, each with a create
//! form; a component's status can be changed in place (kept in its history).

use super::login::RequireLogin;
use crate::api::{self, ApiError};
use crate::components::error::{error_of, ErrorBox};
use crate::components::nav::Nav;
use crate::components::options::options;
use cirhub_shared::api::{Component, ComponentGroup, Paged, Region, Service};
use leptos::prelude::*;
use serde::de::DeserializeOwned;

/// Everything the page shows, loaded together and reloaded after each change.
#[derive(Clone, Default, PartialEq)]
struct Catalogue {
    regions: Vec<Region>,
    services: Vec<Service>,
    groups: Vec<ComponentGroup>,
    components: Vec<Component>,
}

/// Every item of a paged list (the first 100).
pub(crate) async fn all<T: DeserializeOwned>(path: &str) -> Result<Vec<T>, ApiError> {
    Ok(api::get::<Paged<T>>(&format!("{path}?per_page=100"))
        .await?
        .items)
}

async fn load() -> Result<Catalogue, ApiError> {
    Ok(Catalogue {
        regions: all("/api/v1/regions").await?,
        services: all("/api/v1/services").await?,
        groups: all("/api/v1/component-groups").await?,
        components: all("/api/v1/components").await?,
    })
}

#[component]
pub fn CataloguePage() -> impl IntoView {
    view! {
        <RequireLogin>
            <Nav />
            <main class="page"><CatalogueView /></main>
        </RequireLogin>
    }
}

#[component]
fn CatalogueView() -> impl IntoView {
    let loaded = LocalResource::new(load);
    let cat = move || loaded.get().and_then(Result::ok).unwrap_or_default();
    // Sends a JSON body, then reloads (the reload is the resource's newest run, so an earlier
    // load cannot overwrite it); shows the server's problem otherwise.
    let change = Action::new_unsync(
        move |(verb, path, body): &(api::Verb, String, serde_json::Value)| {
            let (verb, path, body) = (*verb, path.clone(), body.clone());
            async move {
                let result = api::call::<serde_json::Value, _>(verb, &path, Some(&body)).await;
                if result.is_ok() {
                    loaded.refetch();
                }
                result
            }
        },
    );
    let send = move |verb: api::Verb, path: String, body: serde_json::Value| {
        change.dispatch((verb, path, body));
    };
    let error =
        Signal::derive(move || error_of(change.value().get()).or_else(|| error_of(loaded.get())));
    let region_code = RwSignal::new(String::new());
    let region_name = RwSignal::new(String::new());
    let service_name = RwSignal::new(String::new());
    let service_desc = RwSignal::new(String::new());
    let group_name = RwSignal::new(String::new());
    let comp_name = RwSignal::new(String::new());
    let comp_service = RwSignal::new(String::new());
    let comp_region = RwSignal::new(String::new());
    let comp_group = RwSignal::new(String::new());
    let opt = |s: String| {
        if s.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::Value::String(s)
        }
    };
    view! {
        <h1>"Catalogue"</h1>
        <ErrorBox error=error id="catalogue-error" />
        <section class="card">
            <h2>"Components"</h2>
            <table class="list">
                <thead><tr><th>"Name"</th><th>"Service"</th><th>"Region"</th><th>"Group"</th><th>"Status"</th></tr></thead>
                <tbody>
                {move || {
                    let c = cat();
                    c.components.iter().map(|comp| {
                        let name_of = |id: &Option<String>, list: Vec<(String, String)>| id.as_ref().and_then(|id| list.into_iter().find(|(i, _)| i == id)).map(|(_, n)| n).unwrap_or_else(|| "—".into());
                        let service = name_of(&Some(comp.service_id.clone()), c.services.iter().map(|s| (s.id.clone(), s.name.clone())).collect());
                        let region = name_of(&comp.region_id, c.regions.iter().map(|r| (r.id.clone(), r.code.clone())).collect());
                        let group = name_of(&comp.group_id, c.groups.iter().map(|g| (g.id.clone(), g.name.clone())).collect());
                        let path = format!("/api/v1/components/{}", comp.id);
                        view! {
                            <tr class="catalogue-component" data-id=comp.id.clone()>
                                <td>{comp.name.clone()}</td><td>{service}</td><td class="nowrap">{region}</td><td>{group}</td>
                                <td><select class="component-status" on:change=move |ev| send(api::Verb::Patch, path.clone(), serde_json::json!({"status": event_target_value(&ev)}))>
                                    {options(Some(comp.status))}
                                </select></td>
                            </tr>
                        }
                    }).collect_view()
                }}
                </tbody>
            </table>
            <form class="row" on:submit=move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                send(api::Verb::Post, "/api/v1/components".into(), serde_json::json!({
                    "name": comp_name.get_untracked(), "service_id": comp_service.get_untracked(),
                    "region_id": opt(comp_region.get_untracked()), "group_id": opt(comp_group.get_untracked())}));
            }>
                <label>"Name"<input id="component-name" required bind:value=comp_name /></label>
                <label>"Service"<select id="component-service" on:change=move |ev| comp_service.set(event_target_value(&ev))>
                    <option value="">"choose…"</option>
                    {move || cat().services.into_iter().map(|s| view! { <option value=s.id>{s.name}</option> }).collect_view()}
                </select></label>
                <label>"Region"<select on:change=move |ev| comp_region.set(event_target_value(&ev))>
                    <option value="">"global"</option>
                    {move || cat().regions.into_iter().map(|r| view! { <option value=r.id>{r.code}</option> }).collect_view()}
                </select></label>
                <label>"Group"<select on:change=move |ev| comp_group.set(event_target_value(&ev))>
                    <option value="">"none"</option>
                    {move || cat().groups.into_iter().map(|g| view! { <option value=g.id>{g.name}</option> }).collect_view()}
                </select></label>
                <button type="submit">"Add component"</button>
            </form>
        </section>
        <div class="columns">
            <section class="card">
                <h2>"Regions"</h2>
                <ul>{move || cat().regions.into_iter().map(|r| view! { <li>{format!("{} — {}", r.code, r.name)}</li> }).collect_view()}</ul>
                <form on:submit=move |ev: leptos::ev::SubmitEvent| {
                    ev.prevent_default();
                    send(api::Verb::Post, "/api/v1/regions".into(), serde_json::json!({"code": region_code.get_untracked(), "name": region_name.get_untracked()}));
                }>
                    <label>"Code"<input id="region-code" placeholder="ap-northeast-1" required bind:value=region_code /></label>
                    <label>"Name"<input id="region-name" placeholder="Tokyo" required bind:value=region_name /></label>
                    <button type="submit">"Add region"</button>
                </form>
            </section>
            <section class="card">
                <h2>"Services"</h2>
                <ul>{move || cat().services.into_iter().map(|s| view! { <li>{s.name}</li> }).collect_view()}</ul>
                <form on:submit=move |ev: leptos::ev::SubmitEvent| {
                    ev.prevent_default();
                    send(api::Verb::Post, "/api/v1/services".into(), serde_json::json!({"name": service_name.get_untracked(), "description": service_desc.get_untracked()}));
                }>
                    <label>"Name"<input id="service-name" required bind:value=service_name /></label>
                    <label>"Description"<input bind:value=service_desc /></label>
                    <button type="submit">"Add service"</button>
                </form>
            </section>
            <section class="card">
                <h2>"Groups"</h2>
                <ul>{move || cat().groups.into_iter().map(|g| view! { <li>{g.name}</li> }).collect_view()}</ul>
                <form on:submit=move |ev: leptos::ev::SubmitEvent| {
                    ev.prevent_default();
                    send(api::Verb::Post, "/api/v1/component-groups".into(), serde_json::json!({"name": group_name.get_untracked()}));
                }>
                    <label>"Name"<input id="group-name" required bind:value=group_name /></label>
                    <button type="submit">"Add group"</button>
                </form>
            </section>
        </div>
    }
}
