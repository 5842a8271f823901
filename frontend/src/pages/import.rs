//! Import of a file of indicators (STIX 2.1 bundle, MISP event, CSV): the upload with the bytes
//! sent so far, then its progress polled every 500 ms until done, its counts and each refused record with its
//! position and reason; and the organisation's past imports. Stable selectors:
//! `#import-file`, `#import-format`, `#import-tlp`, `#import-agreement`, `#import-submit`,
//! `#import-upload-text`, `#import-upload-progress`, `#import-upload-error`, `#import-status`, `#import-state`, `#import-progress`,
//! `#import-progress-text`, `#import-count-{read,created,updated,unchanged,duplicates,rejected}`,
//! `.import-error`, `#import-failure`, `.import-row[data-id]`, `.import-show`.

use super::agreements::{active, load_agreements, terms, title_of};
use super::login::RequireLogin;
use crate::api::{self, encode, ApiError};
use crate::components::error::{error_of, ErrorBox};
use crate::components::nav::Nav;
use crate::components::options::options;
use crate::components::tlp::TlpBadge;
use crate::format::local;
use cirhub_shared::api::Paged;
use cirhub_shared::sharing::*;
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use std::time::Duration;

/// How often a running import is asked for its progress.
const POLL: Duration = Duration::from_millis(500);

type Past = LocalResource<Result<Paged<Import>, ApiError>>;

#[component]
pub fn ImportPage() -> impl IntoView {
    view! {
        <RequireLogin>
            <Nav />
            <main class="page"><Importer /></main>
        </RequireLogin>
    }
}

fn running(state: ImportState) -> bool {
    matches!(
        state,
        ImportState::Uploading | ImportState::Queued | ImportState::Running
    )
}

#[component]
fn Importer() -> impl IntoView {
    let file_input = NodeRef::<leptos::html::Input>::new();
    let format = RwSignal::new(String::new());
    let tlp = RwSignal::new(Tlp::Amber);
    let share = RwSignal::new(String::new());
    let agreements = load_agreements();
    let past: Past =
        LocalResource::new(|| api::get::<Paged<Import>>("/api/v1/imports?per_page=20"));
    // The import whose progress and outcome are shown, and the upload's answer about it.
    let shown = RwSignal::new(None::<String>);
    let accepted = RwSignal::new(None::<Import>);
    // How much of the file has gone to the server: bytes sent, bytes in all.
    let sent = RwSignal::new(None::<(f64, f64)>);
    // The file is a browser object, usable on this thread only.
    let upload = Action::new_unsync(
        move |(file, query): &(SendWrapper<web_sys::File>, String)| {
            let (file, path) = (file.clone(), format!("/api/v1/imports?{query}"));
            sent.set(None);
            async move {
                let follow: api::Sent =
                    std::rc::Rc::new(move |done, all| sent.set(Some((done, all))));
                let result = api::upload::<Import>(&path, &file, follow).await;
                if let Ok(i) = &result {
                    accepted.set(Some(i.clone()));
                    shown.set(Some(i.id.clone()));
                    past.refetch();
                }
                result
            }
        },
    );
    let error = Signal::derive(move || error_of(upload.value().get()));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(file) = file_input
            .get_untracked()
            .and_then(|i| i.files())
            .and_then(|l| l.get(0))
        else {
            return;
        };
        let mut query = format!(
            "tlp={}&file_name={}",
            encode(tlp.get_untracked().as_str()),
            encode(&file.name())
        );
        for (name, value) in [
            ("format", format.get_untracked()),
            ("share_under", share.get_untracked()),
        ] {
            if !value.is_empty() {
                query.push_str(&format!("&{name}={}", encode(&value)));
            }
        }
        upload.dispatch((SendWrapper::new(file), query));
    };
    view! {
        <h1>"Import indicators"</h1>
        <form class="card" on:submit=submit>
            <label>"File (STIX 2.1 bundle or JSON lines, MISP JSON event, or CSV with header type,value,tlp,category,comment)"
                <input id="import-file" type="file" required node_ref=file_input accept=".json,.jsonl,.csv,.txt,application/json,text/csv" />
            </label>
            <div class="row">
                <label>"Format"<select id="import-format" on:change=move |ev| format.set(event_target_value(&ev))>
                    <option value="">"tell from the file"</option>
                    <option value="stix">"STIX 2.1"</option>
                    <option value="misp">"MISP event"</option>
                    <option value="csv">"CSV"</option>
                </select></label>
                <label>"TLP for records without one"<select id="import-tlp" on:change=move |ev| if let Ok(v) = event_target_value(&ev).parse() { tlp.set(v) }>
                    {options(Some(Tlp::Amber))}
                </select></label>
                <label>"Share every record under"<select id="import-agreement" on:change=move |ev| share.set(event_target_value(&ev))>
                    <option value="">"no agreement (keep to ourselves)"</option>
                    {move || active(&agreements.get().and_then(Result::ok).unwrap_or_default()).into_iter().map(|a| {
                        let title = terms(&a).map(|t| t.title.clone()).unwrap_or_default();
                        view! { <option value=a.id.clone()>{title}</option> }
                    }).collect_view()}
                </select></label>
            </div>
            <ErrorBox error=error id="import-upload-error" />
            <button id="import-submit" type="submit" disabled=move || upload.pending().get()>"Import"</button>
            {move || upload.pending().get().then(|| view! {
                <p class="muted" id="import-uploading">
                    {move || match sent.get() {
                        None => view! { "Sending the file…"<progress id="import-upload-progress"></progress> }.into_any(),
                        Some((done, all)) => view! {
                            <span id="import-upload-text">{format!("Sending the file: {} of {} bytes ({}%)",
                                done as u64, all as u64, if all > 0.0 { (done * 100.0 / all).floor() as u64 } else { 100 })}</span>
                            <progress id="import-upload-progress" max=all.max(1.0) value=done.min(all)></progress>
                        }.into_any(),
                    }}
                </p>
            })}
        </form>
        {move || shown.get().map(|id| {
            let initial = accepted.get_untracked().filter(|i| i.id == id);
            view! { <ImportStatus id=id initial=initial past=past /> }
        })}
        <PastImports past=past shown=shown />
    }
}

fn percent(c: &ImportCounts) -> Option<u64> {
    c.bytes_total
        .map(|t| (c.bytes_read.min(t) * 100).checked_div(t).unwrap_or(100))
}

/// One import, asked again every 500 ms while it is received, queued or running; `initial`
/// (the upload's answer) is shown at once and the first question comes 500 ms later.
#[component]
fn ImportStatus(id: String, initial: Option<Import>, past: Past) -> impl IntoView {
    let path = format!("/api/v1/imports/{id}");
    let current = LocalResource::new(move || {
        let path = path.clone();
        async move { api::get::<Import>(&path).await }
    });
    if let Some(i) = initial {
        current.set(Some(Ok(i)));
    }
    Effect::new(move |_| {
        if let Some(Ok(i)) = current.get() {
            if running(i.state) {
                if let Ok(h) = set_timeout_with_handle(move || current.refetch(), POLL) {
                    on_cleanup(move || h.clear());
                }
            } else {
                past.refetch();
            }
        }
    });
    let agreements = load_agreements();
    move || match current.get() {
        None => view! { <p class="muted">"Loading…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
        Some(Ok(i)) => {
            let names = agreements.get().and_then(Result::ok).unwrap_or_default();
            let shared = if i.share_under.is_empty() {
                "not shared".to_string()
            } else {
                let list = i.share_under.iter().map(|a| title_of(&names, a));
                format!("shared under {}", list.collect::<Vec<_>>().join(", "))
            };
            let c = i.counts.clone();
            let progress = match (percent(&c), c.bytes_total) {
                (Some(p), Some(t)) => format!("{} of {t} bytes ({p}%)", c.bytes_read.min(t)),
                _ => format!("{} bytes read", c.bytes_read),
            };
            let more = c.rejected.saturating_sub(i.errors.len() as u64);
            view! {
                <section class="card" id="import-status" data-id=i.id.clone()>
                    <h2>{i.file_name.clone().unwrap_or_else(|| "Import".into())}</h2>
                    <p>
                        <strong id="import-state" class=format!("import-{}", i.state)>{i.state.as_str()}</strong>
                        {format!(" · {} · default ", i.format)}<TlpBadge tlp=i.tlp />{format!(" · {shared} · started {}", local(&i.created_at))}
                    </p>
                    <div class="progress">
                        <progress id="import-progress" max=c.bytes_total.map(|t| t.max(1) as f64)
                            value=c.bytes_total.map(|t| if t == 0 { 1.0 } else { c.bytes_read.min(t) as f64 })></progress>
                        <span id="import-progress-text">{progress}</span>
                    </div>
                    <dl class="counts">
                        {[("read", "Read", c.read), ("created", "Created", c.created), ("updated", "New versions", c.updated),
                          ("unchanged", "Unchanged", c.unchanged), ("duplicates", "Duplicate values", c.duplicates),
                          ("rejected", "Refused", c.rejected)].into_iter().map(|(id, label, n)| view! {
                            <div><dt>{label}</dt><dd id=format!("import-count-{id}")>{n}</dd></div>
                        }).collect_view()}
                    </dl>
                    {i.failure.clone().map(|f| view! { <p class="error" id="import-failure">{format!("Stopped: {f}")}</p> })}
                    {(!i.errors.is_empty()).then(|| view! {
                        <h3>"Refused records"</h3>
                        <table class="list">
                            <thead><tr><th>"Where"</th><th>"Why"</th></tr></thead>
                            <tbody>
                                {i.errors.iter().map(|e| view! {
                                    <tr class="import-error"><td class="nowrap import-error-position">{e.position.clone()}</td><td>{e.reason.clone()}</td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        {(more > 0).then(|| view! { <p class="muted small">{format!("and {more} more not listed")}</p> })}
                    })}
                </section>
            }
            .into_any()
        }
    }
}

#[component]
fn PastImports(past: Past, shown: RwSignal<Option<String>>) -> impl IntoView {
    view! {
        <section>
            <h2>"Past imports"</h2>
            <ErrorBox error=Signal::derive(move || error_of(past.get())) />
            {move || match past.get().and_then(Result::ok) {
                None => ().into_any(),
                Some(p) if p.items.is_empty() => view! { <p class="muted" id="imports-empty">"None yet."</p> }.into_any(),
                Some(p) => view! {
                    <table class="list">
                        <thead><tr><th>"File"</th><th>"Format"</th><th>"State"</th><th>"Read"</th><th>"Created"</th><th>"Refused"</th><th>"Started"</th><th>"Finished"</th><th></th></tr></thead>
                        <tbody>
                            {p.items.into_iter().map(|i| {
                                let id = i.id.clone();
                                view! {
                                    <tr class="import-row" data-id=i.id.clone()>
                                        <td>{i.file_name.clone().unwrap_or_else(|| "—".into())}</td>
                                        <td>{i.format.clone()}</td>
                                        <td>{i.state.as_str()}</td>
                                        <td>{i.counts.read}</td>
                                        <td>{i.counts.created}</td>
                                        <td>{i.counts.rejected}</td>
                                        <td>{local(&i.created_at)}</td>
                                        <td>{i.finished_at.as_ref().map(local).unwrap_or_else(|| "—".into())}</td>
                                        <td><button class="secondary import-show" on:click=move |_| shown.set(Some(id.clone()))>"Show"</button></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            }}
        </section>
    }
}
