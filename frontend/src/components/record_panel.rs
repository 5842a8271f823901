//! On an incident page: the viewer's organisation's own record of it (5W intake, contacts,
//! related incidents, next steps), each change saved whole as a new version, and its handler
//! comments. Selectors: `#record-version`, `#record-intake`, `#intake-{what,where,when,who,why}`,
//! `#intake-save`, `.record-contact`, `#contact-role`, `#contact-name`, `#contact-email`,
//! `#contact-phone`, `#contact-add`, `.record-related`, `#related-id`, `#related-relation`,
//! `#related-add`, `.next-step[data-done]`, `#step-text`, `#step-owner`, `#step-add`,
//! `.comment`, `#comment-body`, `#comment-add`, `#record-error`.

use crate::api::{self, ApiError};
use crate::components::error::{error_of, ErrorBox};
use crate::components::options::options;
use crate::format::local;
use cirhub_shared::record::*;
use leptos::prelude::*;

/// The record as an edit starting from it.
fn input_of(r: &IncidentRecord) -> RecordInput {
    RecordInput {
        version: Some(r.version),
        intake: r.intake.clone(),
        contacts: r.contacts.clone(),
        related: r.related.clone(),
        next_steps: r.next_steps.clone(),
    }
}

fn opt(s: String) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

#[component]
pub fn RecordPanel(incident_id: String) -> impl IntoView {
    let path = format!("/api/v1/incidents/{incident_id}/record");
    let get_path = path.clone();
    let record = LocalResource::new(move || {
        let p = get_path.clone();
        async move { api::get::<IncidentRecord>(&p).await }
    });
    // Every edit: the record as loaded, changed by `f`, saved whole.
    let save = Action::new_unsync(move |edit: &RecordInput| {
        let (p, edit) = (path.clone(), edit.clone());
        async move {
            let r = api::put::<IncidentRecord, _>(&p, &edit).await;
            if r.is_ok() {
                record.refetch();
            }
            r
        }
    });
    let edit = move |f: Box<dyn FnOnce(&mut RecordInput)>| {
        if let Some(Ok(r)) = record.get_untracked() {
            let mut input = input_of(&r);
            f(&mut input);
            save.dispatch(input);
        }
    };
    let intake: [RwSignal<String>; 5] = std::array::from_fn(|_| RwSignal::new(String::new()));
    Effect::new(move |_| {
        if let Some(Ok(r)) = record.get() {
            let i = &r.intake;
            for (s, v) in intake
                .iter()
                .zip([&i.what, &i.where_, &i.when, &i.who, &i.why])
            {
                s.set(v.clone().unwrap_or_default());
            }
        }
    });
    let (c_role, c_name, c_email, c_phone) = (
        RwSignal::new(ContactRole::SystemOwner),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let (r_id, r_rel) = (
        RwSignal::new(String::new()),
        RwSignal::new(Relation::Related),
    );
    let (s_text, s_owner) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let error =
        Signal::derive(move || error_of(save.value().get()).or_else(|| error_of(record.get())));
    view! {
        <section class="card" id="record">
            <h2>"Our record"</h2>
            <div id="record-error"><ErrorBox error=error /></div>
            <p id="record-version" class="muted">{move || record.get().and_then(Result::ok).map(|r| match r.version {
                0 => "Not saved yet: only your organisation sees it.".to_string(),
                v => format!("Version {v}{} · only your organisation sees it.",
                    r.updated_by.map(|b| format!(", saved by {b}")).unwrap_or_default()),
            })}</p>
            <h3>"Intake (5W)"</h3>
            <div class="columns" id="record-intake">
                {["what", "where", "when", "who", "why"].into_iter().zip(intake).map(|(name, s)| view! {
                    <label>{crate::format::humanise(name)}<input id=format!("intake-{name}") bind:value=s /></label>
                }).collect_view()}
            </div>
            <button class="secondary" id="intake-save" disabled=move || save.pending().get() on:click=move |_| {
                let v: Vec<Option<String>> = intake.iter().map(|s| opt(s.get_untracked())).collect();
                edit(Box::new(move |r| {
                    r.intake = Intake { what: v[0].clone(), where_: v[1].clone(), when: v[2].clone(), who: v[3].clone(), why: v[4].clone() };
                }));
            }>"Save intake"</button>

            <h3>"Contacts"</h3>
            <ul>
                {move || record.get().and_then(Result::ok).map(|r| r.contacts.into_iter().enumerate().map(|(n, c)| view! {
                    <li class="record-contact" data-role=c.role.as_str()>
                        <strong>{c.name}</strong>{format!(" — {}", crate::format::humanise(c.role.as_str()))}
                        {c.organisation.map(|o| format!(", {o}"))}
                        {c.email.map(|e| format!(" · {e}"))}{c.phone.map(|p| format!(" · {p}"))}
                        " "<button class="link" on:click=move |_| edit(Box::new(move |r| { r.contacts.remove(n); }))>"remove"</button>
                    </li>
                }).collect_view())}
            </ul>
            <div class="row">
                <label>"Role"<select id="contact-role" on:change=move |ev| if let Ok(v) = event_target_value(&ev).parse() { c_role.set(v) }>
                    {options(Some(ContactRole::SystemOwner))}</select></label>
                <label>"Name"<input id="contact-name" bind:value=c_name /></label>
                <label>"E-mail"<input id="contact-email" bind:value=c_email /></label>
                <label>"Phone"<input id="contact-phone" bind:value=c_phone /></label>
                <button class="secondary" id="contact-add" on:click=move |_| {
                    let c = Contact { role: c_role.get_untracked(), name: c_name.get_untracked(),
                        email: opt(c_email.get_untracked()), phone: opt(c_phone.get_untracked()), organisation: None };
                    edit(Box::new(move |r| r.contacts.push(c)));
                }>"Add contact"</button>
            </div>

            <h3>"Related incidents"</h3>
            <ul>
                {move || record.get().and_then(Result::ok).map(|r| r.related.into_iter().enumerate().map(|(n, x)| view! {
                    <li class="record-related">
                        {crate::format::humanise(x.relation.as_str())}": "
                        <a href=format!("/console/incidents/{}", x.incident_id)>{x.title.clone().unwrap_or(x.incident_id.clone())}</a>
                        " "<button class="link" on:click=move |_| edit(Box::new(move |r| { r.related.remove(n); }))>"remove"</button>
                    </li>
                }).collect_view())}
            </ul>
            <div class="row">
                <label>"Incident id"<input id="related-id" bind:value=r_id /></label>
                <label>"Relation"<select id="related-relation" on:change=move |ev| if let Ok(v) = event_target_value(&ev).parse() { r_rel.set(v) }>
                    {options(Some(Relation::Related))}</select></label>
                <button class="secondary" id="related-add" on:click=move |_| {
                    let x = RelatedIncident { incident_id: r_id.get_untracked().trim().to_string(), relation: r_rel.get_untracked(), title: None };
                    edit(Box::new(move |r| r.related.push(x)));
                }>"Link"</button>
            </div>

            <h3>"Next steps"</h3>
            <ul>
                {move || record.get().and_then(Result::ok).map(|r| r.next_steps.into_iter().enumerate().map(|(n, s)| view! {
                    <li class="next-step" data-done=s.done.to_string()>
                        <label class="inline"><input type="checkbox" checked=s.done on:change=move |_| edit(Box::new(move |r| {
                            if let Some(x) = r.next_steps.get_mut(n) { x.done = !x.done; }
                        })) />" "{s.text}</label>
                        {s.owner.map(|o| format!(" — {o}"))}
                        {s.due_at.map(|t| format!(" · due {}", local(&t)))}
                    </li>
                }).collect_view())}
            </ul>
            <div class="row">
                <label>"Step"<input id="step-text" bind:value=s_text /></label>
                <label>"Owner"<input id="step-owner" bind:value=s_owner /></label>
                <button class="secondary" id="step-add" on:click=move |_| {
                    let s = NextStep { text: s_text.get_untracked(), owner: opt(s_owner.get_untracked()), due_at: None, done: false };
                    edit(Box::new(move |r| r.next_steps.push(s)));
                }>"Add step"</button>
            </div>
        </section>
    }
}

/// The organisation's handler comments (a customer's dashboard shows them as its notes).
#[component]
pub fn Comments(incident_id: String) -> impl IntoView {
    let path = format!("/api/v1/incidents/{incident_id}/comments");
    let get_path = path.clone();
    let list = LocalResource::new(move || {
        let p = get_path.clone();
        async move { api::get::<Vec<Comment>>(&p).await }
    });
    let body = RwSignal::new(String::new());
    let add = Action::new_unsync(move |text: &String| {
        let (p, text) = (path.clone(), text.clone());
        async move {
            let r = api::post::<Comment, _>(&p, &serde_json::json!({"body": text})).await;
            if r.is_ok() {
                body.set(String::new());
                list.refetch();
            }
            r
        }
    });
    let error = Signal::derive(move || error_of::<Comment>(add.value().get()));
    view! {
        <section class="card">
            <h2>"Handler comments"</h2>
            <ErrorBox error=error />
            <ul>
                {move || list.get().and_then(Result::<_, ApiError>::ok).map(|l| l.into_iter().map(|c| view! {
                    <li class="comment"><strong>{c.author_name}</strong>{format!(" · {}: ", local(&c.created_at))}{c.body}</li>
                }).collect_view())}
            </ul>
            <textarea id="comment-body" bind:value=body></textarea>
            <button class="secondary" id="comment-add" disabled=move || add.pending().get()
                on:click=move |_| { add.dispatch(body.get_untracked()); }>"Add comment"</button>
        </section>
    }
}
