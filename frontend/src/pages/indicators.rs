//! The STIX objects the organisation may see (its own and what agreements let reach it),
//! filtered by type, TLP, category, source and agreement, 50 a page, and a form for a new
//! indicator ([`NewIndicator`]). Stable selectors:
//! `.indicator-row[data-key]`, `.indicator-link`, `.indicator-value`, `.indicator-source`,
//! `#filter-type`, `#filter-tlp`, `#filter-category`, `#filter-own`, `#filter-agreement`,
//! `#indicators-prev`, `#indicators-next`, `#indicators-page`.

use super::agreements::{load_agreements, terms, title_of};
use super::login::RequireLogin;
use super::new_indicator::NewIndicator;
use crate::api::{self, encode};
use crate::components::error::{error_of, ErrorBox};
use crate::components::nav::Nav;
use crate::components::options::options;
use crate::components::tlp::TlpBadge;
use crate::format::humanise;
use cirhub_shared::api::Paged;
use cirhub_shared::sharing::*;
use leptos::prelude::*;

const PER_PAGE: u64 = 50;

/// The STIX types the hub exchanges, for the type filter.
const TYPES: &[&str] = &[
    "indicator",
    "ipv4-addr",
    "ipv6-addr",
    "domain-name",
    "url",
    "email-addr",
    "file",
    "malware",
    "attack-pattern",
    "vulnerability",
    "sighting",
    "report",
    "grouping",
    "relationship",
];

#[component]
pub fn IndicatorsPage() -> impl IntoView {
    view! {
        <RequireLogin>
            <Nav />
            <main class="page"><Indicators /></main>
        </RequireLogin>
    }
}

/// The list's filters as chosen (empty: any) and the page shown.
#[derive(Clone, Default, PartialEq)]
struct Filter {
    stix_type: String,
    tlp: String,
    category: String,
    own: String,
    agreement: String,
    page: u64,
}

impl Filter {
    fn path(&self) -> String {
        let mut p = format!(
            "/api/v1/stix-objects?per_page={PER_PAGE}&page={}",
            self.page.max(1)
        );
        for (name, value) in [
            ("type", &self.stix_type),
            ("tlp", &self.tlp),
            ("category", &self.category),
            ("own", &self.own),
            ("agreement", &self.agreement),
        ] {
            if !value.is_empty() {
                p.push_str(&format!("&{name}={}", encode(value)));
            }
        }
        p
    }
}

fn text(o: &serde_json::Value, key: &str) -> Option<String> {
    o.get(key).and_then(|v| v.as_str()).map(str::to_string)
}

/// What an object is about, in a line: an indicator's pattern, an observable's value, a
/// file's hashes, a relationship's ends, or its name.
pub fn summary(o: &StixObject) -> String {
    let obj = &o.object;
    let line = match o.stix_type.as_str() {
        "indicator" => text(obj, "pattern").or_else(|| text(obj, "name")),
        "ipv4-addr" | "ipv6-addr" | "domain-name" | "url" | "email-addr" => text(obj, "value"),
        "file" => obj
            .get("hashes")
            .and_then(|h| h.as_object())
            .map(|h| {
                h.iter()
                    .map(|(k, v)| format!("{k}:{}", v.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .or_else(|| text(obj, "name")),
        "relationship" => Some(format!(
            "{} {} {}",
            text(obj, "source_ref").unwrap_or_default(),
            text(obj, "relationship_type").unwrap_or_default(),
            text(obj, "target_ref").unwrap_or_default()
        )),
        "sighting" => text(obj, "sighting_of_ref").map(|r| format!("sighting of {r}")),
        _ => text(obj, "name"),
    };
    line.unwrap_or_else(|| o.id.clone())
}

/// Who shared it: the owner's slug, or "pseudonymous" when the agreement hides it.
pub fn source(o: &StixObject) -> String {
    match (&o.owner, o.own) {
        (Some(owner), true) => format!("{owner} (own)"),
        (Some(owner), false) => owner.clone(),
        (None, _) => "pseudonymous".into(),
    }
}

#[component]
fn Indicators() -> impl IntoView {
    let filter = RwSignal::new(Filter {
        page: 1,
        ..Filter::default()
    });
    let agreements = load_agreements();
    // Keyed on the filter: the newest choice's answer is shown, whatever arrives last.
    let objects = LocalResource::new(move || {
        let path = filter.get().path();
        async move { api::get::<Paged<StixObject>>(&path).await }
    });
    let error = Signal::derive(move || error_of(objects.get()));
    let titles = move || agreements.get().and_then(Result::ok).unwrap_or_default();
    // A changed filter starts again from the first page.
    let set = move |f: fn(&mut Filter, String)| {
        move |ev: leptos::ev::Event| {
            let v = event_target_value(&ev);
            filter.update(|x| {
                f(x, v);
                x.page = 1;
            });
        }
    };
    let total = move || objects.get().and_then(Result::ok).map_or(0, |p| p.total);
    let pages = move || total().div_ceil(PER_PAGE).max(1);
    view! {
        <h1>"Indicators"</h1>
        <NewIndicator agreements=agreements />
        <form class="row filters" on:submit=|ev: leptos::ev::SubmitEvent| ev.prevent_default()>
            <label>"Type"<select id="filter-type" on:change=set(|f, v| f.stix_type = v)>
                <option value="">"any"</option>
                {TYPES.iter().map(|t| view! { <option value=*t>{*t}</option> }).collect_view()}
            </select></label>
            <label>"TLP"<select id="filter-tlp" on:change=set(|f, v| f.tlp = v)>
                <option value="">"any"</option>
                {options::<Tlp>(None)}
            </select></label>
            <label>"Category"<select id="filter-category" on:change=set(|f, v| f.category = v)>
                <option value="">"any"</option>
                {options::<DataCategory>(None)}
            </select></label>
            <label>"Source"<select id="filter-own" on:change=set(|f, v| f.own = v)>
                <option value="">"everyone"</option>
                <option value="true">"our own"</option>
                <option value="false">"shared with us"</option>
            </select></label>
            <label>"Agreement"<select id="filter-agreement" on:change=set(|f, v| f.agreement = v)>
                <option value="">"any"</option>
                {move || titles().into_iter().map(|a| {
                    let title = terms(&a).map(|t| t.title.clone()).unwrap_or_default();
                    view! { <option value=a.id.clone()>{title}</option> }
                }).collect_view()}
            </select></label>
        </form>
        <ErrorBox error=error id="indicators-error" />
        {move || match objects.get() {
            None => view! { <p class="muted">"Loading…"</p> }.into_any(),
            Some(Err(_)) => ().into_any(),
            Some(Ok(page)) if page.items.is_empty() => view! { <p class="muted" id="indicators-empty">"Nothing matches."</p> }.into_any(),
            Some(Ok(page)) => {
                let names = titles();
                view! {
                    <table class="list">
                        <thead><tr><th>"Type"</th><th>"Value, pattern or name"</th><th>"TLP"</th><th>"Category"</th><th>"Source"</th><th>"Agreement"</th><th>"Version"</th><th>"Revoked"</th></tr></thead>
                        <tbody>
                            {page.items.into_iter().map(|o| {
                                let agreements = if o.agreements.is_empty() { "—".to_string() } else {
                                    o.agreements.iter().map(|id| title_of(&names, id)).collect::<Vec<_>>().join(", ")
                                };
                                let name = text(&o.object, "name").filter(|_| o.stix_type == "indicator");
                                view! {
                                    <tr class="indicator-row" data-key=o.key.clone() class:revoked=o.revoked>
                                        <td class="nowrap">{o.stix_type.clone()}</td>
                                        <td>
                                            <a class="indicator-link" href=format!("/console/indicators/{}", o.key)>
                                                <code class="indicator-value">{summary(&o)}</code>
                                            </a>
                                            {name.map(|n| view! { <div class="muted small">{n}</div> })}
                                        </td>
                                        <td><TlpBadge tlp=o.tlp /></td>
                                        <td>{humanise(o.category.as_str())}</td>
                                        <td class="indicator-source">{source(&o)}</td>
                                        <td>{agreements}</td>
                                        <td>{o.version}</td>
                                        <td>{if o.revoked { "revoked" } else { "—" }}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }
        }}
        <div class="pager">
            <button class="secondary" id="indicators-prev" disabled=move || filter.with(|f| f.page <= 1)
                on:click=move |_| filter.update(|f| f.page = f.page.saturating_sub(1).max(1))>"Previous"</button>
            <span id="indicators-page">{move || {
                let n = total();
                format!("Page {} of {} · {n} {}", filter.with(|f| f.page), pages(), if n == 1 { "object" } else { "objects" })
            }}</span>
            <button class="secondary" id="indicators-next" disabled=move || { filter.with(|f| f.page) >= pages() }
                on:click=move |_| filter.update(|f| f.page += 1)>"Next"</button>
        </div>
    }
}
