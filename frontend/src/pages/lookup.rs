//! Lookup of up to 1,000 observable values at once (addresses and networks, domains, URLs,
//! e-mail addresses, hashes; defanged or not): per value what it was read as, or why not,
//! and every object the organisation may see that matches it. Stable selectors:
//! `#lookup-values`, `#lookup-submit`, `#lookup-count`, `.lookup-answer[data-value]`,
//! `.lookup-kind`, `.lookup-error`, `.lookup-match`, `.lookup-none`.

use super::login::RequireLogin;
use crate::api;
use crate::components::error::{error_of, ErrorBox};
use crate::components::nav::Nav;
use crate::components::tlp::TlpBadge;
use crate::format::local;
use cirhub_shared::sharing::*;
use leptos::prelude::*;

/// The most values one lookup takes (the server's limit).
const MAX_VALUES: usize = 1000;

#[component]
pub fn LookupPage() -> impl IntoView {
    view! {
        <RequireLogin>
            <Nav />
            <main class="page"><Lookup /></main>
        </RequireLogin>
    }
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

#[component]
fn Lookup() -> impl IntoView {
    let text = RwSignal::new(String::new());
    let count = Signal::derive(move || text.with(|t| lines(t).len()));
    let lookup = Action::new_unsync(|values: &Vec<String>| {
        let body = LookupRequest {
            values: values.clone(),
        };
        async move { api::post::<Vec<LookupAnswer>, _>("/api/v1/lookup", &body).await }
    });
    let error = Signal::derive(move || error_of(lookup.value().get()));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        lookup.dispatch(lines(&text.get_untracked()));
    };
    view! {
        <h1>"Lookup"</h1>
        <form class="card" on:submit=submit>
            <label>"Values, one a line (IP address or network, domain, URL, e-mail address, MD5/SHA-1/SHA-256/SHA-512; defanged is fine)"
                <textarea id="lookup-values" rows="8" bind:value=text placeholder="203.0.113[.]7\nhxxp://bad.example/dropper"></textarea>
            </label>
            <p id="lookup-count" class="small" class:error=move || { count.get() > MAX_VALUES }>
                {move || match count.get() {
                    n if n > MAX_VALUES => format!("{n} values: at most {MAX_VALUES} at once"),
                    1 => "1 value".to_string(),
                    n => format!("{n} values"),
                }}
            </p>
            <ErrorBox error=error id="lookup-error" />
            <button id="lookup-submit" type="submit"
                disabled=move || { lookup.pending().get() || count.get() == 0 || count.get() > MAX_VALUES }>"Look up"</button>
        </form>
        {move || lookup.value().get().and_then(Result::ok).map(|answers| view! {
            <section id="lookup-answers">
                {answers.into_iter().map(answer).collect_view()}
            </section>
        })}
    }
}

fn answer(a: LookupAnswer) -> impl IntoView {
    let read_as = match (&a.error, a.kind, &a.normalised) {
        (Some(e), _, _) => view! { <p class="lookup-error error">{e.clone()}</p> }.into_any(),
        (None, Some(kind), Some(n)) => {
            view! { <p class="lookup-kind muted">{format!("read as {kind}: {n}")}</p> }.into_any()
        }
        _ => ().into_any(),
    };
    let matches = if a.error.is_some() {
        ().into_any()
    } else if a.matches.is_empty() {
        view! { <p class="lookup-none muted">"No match."</p> }.into_any()
    } else {
        view! {
            <table class="list">
                <thead><tr><th>"Matched"</th><th>"Object"</th><th>"Source"</th><th>"TLP"</th><th>"Confidence"</th><th>"Sightings"</th><th>"First seen"</th><th>"Last seen"</th><th>"Valid"</th></tr></thead>
                <tbody>{a.matches.into_iter().map(matched).collect_view()}</tbody>
            </table>
        }
        .into_any()
    };
    view! {
        <article class="card lookup-answer" data-value=a.value.clone()>
            <h3><code>{a.value.clone()}</code></h3>
            {read_as}
            {matches}
        </article>
    }
}

fn matched(m: LookupMatch) -> impl IntoView {
    let source = match (&m.source, m.own) {
        (_, true) => "own".to_string(),
        (Some(s), false) => s.clone(),
        (None, false) => format!("pseudonymous ({})", m.source_identity),
    };
    let valid = format!(
        "{} – {}{}",
        m.valid_from.clone().unwrap_or_else(|| "—".into()),
        m.valid_until.clone().unwrap_or_else(|| "—".into()),
        if m.revoked { " (revoked)" } else { "" }
    );
    view! {
        <tr class="lookup-match" data-key=m.key.clone()>
            <td class="nowrap"><code>{format!("{}: {}", m.matched_kind, m.matched)}</code></td>
            <td><a href=format!("/console/indicators/{}", m.key)>{format!("{} v{}", m.stix_type, m.version)}</a></td>
            <td class="lookup-source">{source}</td>
            <td><TlpBadge tlp=m.tlp /></td>
            <td>{m.confidence.map(|c| c.to_string()).unwrap_or_else(|| "—".into())}</td>
            <td>{m.sightings}</td>
            <td>{local(&m.first_seen)}</td>
            <td>{local(&m.last_seen)}</td>
            <td class="small">{valid}</td>
        </tr>
    }
}
