//! A new indicator of the organisation's own, from one observable value: its kind and value
//! make the STIX pattern; name, indicator type, confidence, TLP 2.0 marking, validity, the
//! agreements in force to share it under and, at TLP:RED, the persons it may reach. Opens
//! the new object's page once stored. Stable selectors: `#new-kind`, `#new-value`,
//! `#new-name`, `#new-type`, `#new-confidence`, `#new-tlp`, `#new-valid-from`,
//! `.new-share[value]`, `#new-named`, `#new-submit`, `#new-error`.

use super::agreements::{active, title_of, AgreementList};
use crate::api;
use crate::components::error::{error_of, FieldError, FormError};
use crate::components::options::options;
use crate::format::{local_input_to_iso, now_iso};
use cirhub_shared::sharing::*;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use serde_json::json;

/// STIX 2.1 indicator-type-ov.
const INDICATOR_TYPES: &[&str] = &[
    "malicious-activity",
    "anomalous-activity",
    "attribution",
    "compromised",
    "benign",
    "unknown",
];

/// A random (version 4) UUID for the STIX id, from the browser's random source.
fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .and_then(|c| c.get_random_values_with_u8_array(&mut b).ok())
        .is_some();
    if !filled {
        for x in b.iter_mut() {
            *x = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The form's values.
#[derive(Clone)]
struct Draft {
    kind: ValueKind,
    value: String,
    name: String,
    indicator_type: String,
    confidence: String,
    tlp: Tlp,
    valid_from: String,
    share_under: Vec<String>,
    named: String,
}

impl Draft {
    fn request(&self) -> PutStixObject {
        let now = now_iso();
        let mut object = json!({
            "type": "indicator", "spec_version": "2.1",
            "id": format!("indicator--{}", uuid_v4()),
            "created": now, "modified": now,
            "indicator_types": [self.indicator_type],
            "pattern": self.kind.pattern(self.value.trim()), "pattern_type": "stix",
            "valid_from": local_input_to_iso(&self.valid_from).unwrap_or_else(|| now.clone()),
            "object_marking_refs": [self.tlp.marking_definition_id()],
        });
        if !self.name.trim().is_empty() {
            object["name"] = json!(self.name.trim());
        }
        if !self.confidence.trim().is_empty() {
            // Unreadable numbers go as they are, so the server's message names the field.
            object["confidence"] = match self.confidence.trim().parse::<i64>() {
                Ok(n) => json!(n),
                Err(_) => json!(self.confidence.trim()),
            };
        }
        PutStixObject {
            object,
            share_under: self.share_under.clone(),
            named_recipients: (self.tlp == Tlp::Red).then(|| {
                self.named
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            }),
        }
    }
}

#[component]
pub fn NewIndicator(agreements: AgreementList) -> impl IntoView {
    let kind = RwSignal::new(ValueKind::Ipv4);
    let value = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let indicator_type = RwSignal::new(INDICATOR_TYPES[0].to_string());
    let confidence = RwSignal::new(String::new());
    let tlp = RwSignal::new(Tlp::Amber);
    let valid_from = RwSignal::new(String::new());
    let share_under = RwSignal::new(Vec::<String>::new());
    let named = RwSignal::new(String::new());
    let navigate = use_navigate();
    let create = Action::new_unsync(move |draft: &Draft| {
        let (request, navigate) = (draft.request(), navigate.clone());
        async move {
            let result = api::post::<StixObject, _>("/api/v1/stix-objects", &request).await;
            if let Ok(o) = &result {
                navigate(
                    &format!("/console/indicators/{}", o.key),
                    Default::default(),
                );
            }
            result
        }
    });
    let error = Signal::derive(move || error_of(create.value().get()));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        create.dispatch(Draft {
            kind: kind.get_untracked(),
            value: value.get_untracked(),
            name: name.get_untracked(),
            indicator_type: indicator_type.get_untracked(),
            confidence: confidence.get_untracked(),
            tlp: tlp.get_untracked(),
            valid_from: valid_from.get_untracked(),
            share_under: share_under.get_untracked(),
            named: named.get_untracked(),
        });
    };
    let toggle = move |id: String, on: bool| {
        share_under.update(|list| {
            list.retain(|x| *x != id);
            if on {
                list.push(id);
            }
        })
    };
    view! {
        <details class="card" id="new-indicator">
            <summary>"New indicator"</summary>
            <form on:submit=submit>
                <div class="row">
                    <label>"Kind"<select id="new-kind" on:change=move |ev| if let Ok(k) = event_target_value(&ev).parse() { kind.set(k) }>
                        {ValueKind::ALL.iter().map(|k| view! { <option value=k.as_str()>{k.as_str()}</option> }).collect_view()}
                    </select></label>
                    <label>"Value (as it is, not defanged)"<input id="new-value" required bind:value=value />
                        <FieldError error=error fields=&["object.pattern"] /></label>
                </div>
                <div class="row">
                    <label>"Name"<input id="new-name" maxlength="200" bind:value=name />
                        <FieldError error=error fields=&["object.name"] /></label>
                    <label>"Indicator type"<select id="new-type" on:change=move |ev| indicator_type.set(event_target_value(&ev))>
                        {INDICATOR_TYPES.iter().map(|t| view! { <option value=*t>{*t}</option> }).collect_view()}
                    </select></label>
                    <label>"Confidence (0–100)"<input id="new-confidence" type="number" min="0" max="100" bind:value=confidence />
                        <FieldError error=error fields=&["object.confidence"] /></label>
                </div>
                <div class="row">
                    <label>"TLP"<select id="new-tlp" on:change=move |ev| if let Ok(v) = event_target_value(&ev).parse() { tlp.set(v) }>
                        {options(Some(Tlp::Amber))}
                    </select></label>
                    <label>"Valid from (your time, default now)"<input id="new-valid-from" type="datetime-local" bind:value=valid_from />
                        <FieldError error=error fields=&["object.valid_from"] /></label>
                </div>
                <fieldset>
                    <legend>"Share under"</legend>
                    {move || {
                        let list = active(&agreements.get().and_then(Result::ok).unwrap_or_default());
                        if list.is_empty() {
                            return view! { <p class="muted small">"No agreement in force: kept to your organisation."</p> }.into_any();
                        }
                        list.iter().map(|a| {
                            let id = a.id.clone();
                            let title = title_of(std::slice::from_ref(a), &a.id);
                            view! {
                                <label class="inline"><input type="checkbox" class="new-share" value=id.clone()
                                    on:change=move |ev| toggle(id.clone(), event_target_checked(&ev)) />{title}</label>
                            }
                        }).collect_view().into_any()
                    }}
                    <FieldError error=error fields=&["share_under"] />
                </fieldset>
                {move || (tlp.get() == Tlp::Red).then(|| view! {
                    <label>"TLP:RED — the persons it may reach (e-mail addresses, one per line)"
                        <textarea id="new-named" required bind:value=named></textarea>
                        <FieldError error=error fields=&["named_recipients"] /></label>
                })}
                <FormError error=error placed=&["object.pattern", "object.name", "object.confidence", "object.valid_from", "share_under", "named_recipients"] id="new-error" />
                <button id="new-submit" type="submit" disabled=move || create.pending().get()>"Add indicator"</button>
            </form>
        </details>
    }
}
