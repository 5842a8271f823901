//! Sharing agreements: those the organisation is a party to (terms, the parties it may see,
//! TLP ceiling, categories, term), accept or decline of a version awaiting the organisation,
//! and the form that proposes a bilateral agreement. Stable selectors: `.agreement[data-id]`,
//! `.agreement-state`, `.agreement-accept`, `.agreement-decline`, `#agreement-party`,
//! `#agreement-their-role`, `#agreement-our-role`, `#agreement-title`, `#agreement-tlp`,
//! `.agreement-category[value]`, `#agreement-onward`, `#agreement-attribution`,
//! `#agreement-retention`, `#agreement-purpose`, `#agreement-submit`, `#agreement-error`,
//! `.field-error[data-field]`.

use super::login::RequireLogin;
use crate::api::{self, ApiError};
use crate::components::error::{error_of, ErrorBox, FieldError, FormError};
use crate::components::nav::Nav;
use crate::components::options::{options, options_of};
use crate::components::tlp::TlpBadge;
use crate::format::{humanise, local};
use crate::session::SessionState;
use cirhub_shared::api::Paged;
use cirhub_shared::sharing::*;
use cirhub_shared::Role;
use leptos::prelude::*;
use serde_json::json;

#[component]
pub fn AgreementsPage() -> impl IntoView {
    view! {
        <RequireLogin>
            <Nav />
            <main class="page"><Agreements /></main>
        </RequireLogin>
    }
}

pub type AgreementList = LocalResource<Result<Vec<Agreement>, ApiError>>;

/// The organisation's agreements, newest first (the first 100: pickers and names need no more).
pub fn load_agreements() -> AgreementList {
    LocalResource::new(|| async {
        Ok(
            api::get::<Paged<Agreement>>("/api/v1/agreements?per_page=100")
                .await?
                .items,
        )
    })
}

/// The terms a reader goes by: those in force, else the version proposed.
pub fn terms(a: &Agreement) -> Option<&AgreementTerms> {
    a.in_force.as_ref().or(a.pending.as_ref())
}

/// An agreement's title, for lists that name agreements by id.
pub fn title_of(list: &[Agreement], id: &str) -> String {
    list.iter()
        .find(|a| a.id == id)
        .and_then(terms)
        .map(|t| t.title.clone())
        .unwrap_or_else(|| id.chars().take(8).collect())
}

/// Agreements in force: what objects and imports may be shared under.
pub fn active(list: &[Agreement]) -> Vec<Agreement> {
    list.iter()
        .filter(|a| a.state == AgreementState::Active)
        .cloned()
        .collect()
}

type Step = Action<(String, serde_json::Value), Result<Agreement, ApiError>>;

#[component]
fn Agreements() -> impl IntoView {
    let me = SessionState::get().0.get_untracked();
    let my_org = me
        .as_ref()
        .map(|m| m.organisation.id.clone())
        .unwrap_or_default();
    let admin = me.as_ref().is_some_and(|m| m.role == Role::Admin);
    let list = load_agreements();
    // Accept or decline, then a reload (the resource's newest run, so no earlier load wins).
    let step: Step = Action::new_unsync(move |(path, body): &(String, serde_json::Value)| {
        let (path, body) = (path.clone(), body.clone());
        async move {
            let result = api::post::<Agreement, _>(&path, &body).await;
            if result.is_ok() {
                list.refetch();
            }
            result
        }
    });
    let error =
        Signal::derive(move || error_of(step.value().get()).or_else(|| error_of(list.get())));
    view! {
        <h1>"Sharing agreements"</h1>
        <ErrorBox error=error id="agreements-error" />
        <section>
            {move || match list.get() {
                None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                Some(Err(_)) => ().into_any(),
                Some(Ok(items)) if items.is_empty() => view! { <p class="muted" id="agreements-empty">"No agreement yet."</p> }.into_any(),
                Some(Ok(items)) => {
                    let my_org = my_org.clone();
                    view! {
                        <table class="list">
                            <thead><tr><th>"Title"</th><th>"Kind"</th><th>"State"</th><th>"Parties"</th><th>"TLP ceiling"</th><th>"Categories"</th><th>"Term"</th><th></th></tr></thead>
                            <tbody>{items.into_iter().map(|a| row(a, &my_org, admin, step)).collect_view()}</tbody>
                        </table>
                    }.into_any()
                }
            }}
        </section>
        {if admin {
            view! { <Propose list=list /> }.into_any()
        } else {
            view! { <p class="muted">"An administrator of your organisation proposes and accepts agreements."</p> }.into_any()
        }}
    }
}

fn parties(t: &AgreementTerms) -> impl IntoView {
    let hidden = t.party_count - t.parties.len() as i64;
    view! {
        <ul class="plain">
            {t.parties.iter().map(|p| {
                let mark = if p.accepted_at.is_some() { "accepted" } else { "not yet accepted" };
                view! { <li class="agreement-party">{format!("{} ({}) · {} · {mark}", p.organisation_name, p.organisation_slug, p.role)}</li> }
            }).collect_view()}
            {(hidden > 0).then(|| view! { <li class="muted">{format!("and {hidden} more not shown to you")}</li> })}
        </ul>
    }
}

fn term(a: &Agreement, t: &AgreementTerms) -> String {
    let until = match &t.effective_until {
        Some(u) if a.state == AgreementState::Expired => format!("expired {}", local(u)),
        Some(u) => format!("until {}", local(u)),
        None => "until terminated".into(),
    };
    format!(
        "from {} {until}; kept {} days",
        local(&t.effective_from),
        t.retention_days
    )
}

fn row(a: Agreement, my_org: &str, admin: bool, step: Step) -> impl IntoView {
    let Some(shown) = terms(&a).cloned() else {
        return ().into_any();
    };
    // The version awaiting acceptance by the reader's organisation, if any.
    let awaiting = a.pending.as_ref().filter(|p| {
        p.parties
            .iter()
            .any(|x| x.organisation_id == my_org && x.accepted_at.is_none())
    });
    let pending_note = a
        .pending
        .as_ref()
        .filter(|_| a.in_force.is_some())
        .map(|p| format!("amendment (version {}) awaiting acceptance", p.version));
    let actions = match (awaiting, admin) {
        (Some(p), true) => {
            let accept = (
                format!("/api/v1/agreements/{}/accept", a.id),
                json!({ "version": p.version }),
            );
            let decline = (format!("/api/v1/agreements/{}/decline", a.id), json!({}));
            view! {
                <button class="agreement-accept" disabled=move || step.pending().get()
                    on:click=move |_| { step.dispatch(accept.clone()); }>{format!("Accept version {}", p.version)}</button>
                <button class="secondary agreement-decline" disabled=move || step.pending().get()
                    on:click=move |_| { step.dispatch(decline.clone()); }>"Decline"</button>
            }
            .into_any()
        }
        (Some(_), false) => {
            view! { <span class="muted">"awaiting your administrator"</span> }.into_any()
        }
        (None, _) => ().into_any(),
    };
    let categories = shown
        .categories
        .iter()
        .map(|c| humanise(c.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let sharing = format!(
        "{} · onward: {} · purpose: {}",
        humanise(shown.attribution.as_str()),
        shown.onward,
        if shown.purpose.is_empty() {
            "—"
        } else {
            &shown.purpose
        }
    );
    view! {
        <tr class="agreement" data-id=a.id.clone()>
            <td><strong class="agreement-title">{shown.title.clone()}</strong><div class="muted small">{sharing}</div></td>
            <td>{shown.kind.as_str()}</td>
            <td><span class="agreement-state">{a.state.as_str()}</span>
                {pending_note.map(|n| view! { <div class="muted small">{n}</div> })}</td>
            <td>{parties(a.pending.as_ref().unwrap_or(&shown))}</td>
            <td><TlpBadge tlp=shown.tlp_ceiling /></td>
            <td>{categories}</td>
            <td class="small">{term(&a, &shown)}</td>
            <td class="nowrap">{actions}</td>
        </tr>
    }
    .into_any()
}

/// The fields the form shows next to their input.
const PLACED: &[&str] = &[
    "parties",
    "title",
    "purpose",
    "categories",
    "retention_days",
    "tlp_ceiling",
    "onward",
    "attribution",
];

#[component]
fn Propose(list: AgreementList) -> impl IntoView {
    let me = SessionState::get().0.get_untracked();
    let provider = me.as_ref().is_some_and(|m| m.organisation.is_provider);
    let my_slug = me.map(|m| m.organisation.slug).unwrap_or_default();
    let (our_default, their_default) = if provider {
        (PartyRole::Provider, PartyRole::Customer)
    } else {
        (PartyRole::Customer, PartyRole::Provider)
    };
    let party = RwSignal::new(String::new());
    let theirs = RwSignal::new(their_default);
    let ours = RwSignal::new(our_default);
    let title = RwSignal::new(String::new());
    let tlp = RwSignal::new(Tlp::Amber);
    let categories = RwSignal::new(vec![DataCategory::Indicators]);
    let onward = RwSignal::new(OnwardSharing::None);
    let attribution = RwSignal::new(Attribution::Named);
    let retention = RwSignal::new("90".to_string());
    let purpose = RwSignal::new(String::new());
    let propose = Action::new_unsync(move |input: &AgreementTermsInput| {
        let input = input.clone();
        async move {
            let result = api::post::<Agreement, _>("/api/v1/agreements", &input).await;
            if result.is_ok() {
                party.set(String::new());
                title.set(String::new());
                purpose.set(String::new());
                list.refetch();
            }
            result
        }
    });
    let error = Signal::derive(move || error_of(propose.value().get()));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        // Ours first: the server names the other party's fields `parties[1]…`.
        let input = AgreementTermsInput {
            kind: AgreementKind::Bilateral,
            title: title.get_untracked(),
            purpose: purpose.get_untracked(),
            parties: vec![
                PartyInput {
                    organisation: my_slug.clone(),
                    role: ours.get_untracked(),
                },
                PartyInput {
                    organisation: party.get_untracked().trim().to_string(),
                    role: theirs.get_untracked(),
                },
            ],
            effective_from: None,
            effective_until: None,
            categories: categories.get_untracked(),
            tlp_ceiling: tlp.get_untracked(),
            onward: onward.get_untracked(),
            attribution: attribution.get_untracked(),
            // Unreadable days go as 0, so the server's message explains the range.
            retention_days: retention.get_untracked().trim().parse().unwrap_or(0),
        };
        propose.dispatch(input);
    };
    let roles = [PartyRole::Provider, PartyRole::Customer, PartyRole::Member];
    view! {
        <section class="card">
            <h2>"Propose a bilateral agreement"</h2>
            <form on:submit=submit>
                <div class="row">
                    <label>"Other party (organisation slug)"<input id="agreement-party" required bind:value=party />
                        <FieldError error=error fields=&["parties[1].organisation"] /></label>
                    <label>"Their role"<select id="agreement-their-role" on:change=move |ev| if let Ok(v) = event_target_value(&ev).parse() { theirs.set(v) }>
                        {options_of(roles, Some(their_default))}</select></label>
                    <label>"Our role"<select id="agreement-our-role" on:change=move |ev| if let Ok(v) = event_target_value(&ev).parse() { ours.set(v) }>
                        {options_of(roles, Some(our_default))}</select></label>
                </div>
                <FieldError error=error fields=&["parties[0]", "parties[1].role"] />
                <FieldError error=error fields=&["parties"] exact=true />
                <label>"Title"<input id="agreement-title" required maxlength="200" bind:value=title />
                    <FieldError error=error fields=&["title"] /></label>
                <div class="row">
                    <label>"TLP ceiling"<select id="agreement-tlp" on:change=move |ev| if let Ok(v) = event_target_value(&ev).parse() { tlp.set(v) }>
                        {options(Some(Tlp::Amber))}</select>
                        <FieldError error=error fields=&["tlp_ceiling"] /></label>
                    <label>"Onward sharing"<select id="agreement-onward" on:change=move |ev| if let Ok(v) = event_target_value(&ev).parse() { onward.set(v) }>
                        {options(Some(OnwardSharing::None))}</select>
                        <FieldError error=error fields=&["onward"] /></label>
                    <label>"Attribution"<select id="agreement-attribution" on:change=move |ev| if let Ok(v) = event_target_value(&ev).parse() { attribution.set(v) }>
                        {options(Some(Attribution::Named))}</select>
                        <FieldError error=error fields=&["attribution"] /></label>
                    <label>"Retention (days)"<input id="agreement-retention" type="number" min="1" max="3650" bind:value=retention />
                        <FieldError error=error fields=&["retention_days"] /></label>
                </div>
                <fieldset>
                    <legend>"Data categories allowed"</legend>
                    {DataCategory::ALL.iter().copied().map(|c| view! {
                        <label class="inline">
                            <input type="checkbox" class="agreement-category" value=c.as_str()
                                prop:checked=move || categories.with(|l| l.contains(&c))
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    categories.update(|l| { l.retain(|x| *x != c); if on { l.push(c); } });
                                } />
                            {humanise(c.as_str())}
                        </label>
                    }).collect_view()}
                    <FieldError error=error fields=&["categories"] />
                </fieldset>
                <label>"Purpose"<textarea id="agreement-purpose" maxlength="4000" bind:value=purpose></textarea>
                    <FieldError error=error fields=&["purpose"] /></label>
                <FormError error=error placed=PLACED id="agreement-error" />
                <button id="agreement-submit" type="submit" disabled=move || propose.pending().get()>"Propose"</button>
            </form>
        </section>
    }
}
