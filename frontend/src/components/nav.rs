use crate::api;
use crate::session::SessionState;
use leptos::prelude::*;

/// The console's top bar: sections, the public page, the caller and logout.
#[component]
pub fn Nav() -> impl IntoView {
    let session = SessionState::get();
    // The session ends here whatever the server answers: the tokens are forgotten.
    let end = Action::new_unsync(move |_: &()| async move {
        let _ = api::call::<(), ()>(api::Verb::Post, "/api/v1/auth/logout", None).await;
        session.logged_out();
    });
    let logout = move |_| {
        end.dispatch(());
    };
    view! {
        <header class="topbar">
            <a class="brand" href="/console">"cirhub"</a>
            <nav>
                {move || session.0.get().filter(|me| me.organisation.is_customer).map(|_| view! {
                    <a href="/console/dashboard" id="dashboard-link">"Dashboard"</a>
                    <a href="/console/customers" id="settings-link">"Providers & alerts"</a>
                })}
                {move || session.0.get().filter(|me| me.organisation.is_provider).map(|me| {
                    let href = format!("/status/{}", me.organisation.slug);
                    view! {
                        <a href="/console">"Incidents"</a>
                        <a href="/console/maintenance">"Maintenance"</a>
                        <a href="/console/catalogue">"Catalogue"</a>
                        <a href="/console/customers" id="customers-link">"Customers"</a>
                        <a href=href id="public-page-link">"View public page"</a>
                    }
                })}
                {move || session.0.get().map(|_| view! {
                    <a href="/console/agreements" id="agreements-link">"Agreements"</a>
                    <a href="/console/indicators" id="indicators-link">"Indicators"</a>
                    <a href="/console/lookup" id="lookup-link">"Lookup"</a>
                    <a href="/console/import" id="import-link">"Import"</a>
                    <a href="/console/escalation" id="escalation-link">"Escalation"</a>
                    <a href="/console/metrics" id="metrics-link">"Metrics"</a>
                })}
            </nav>
            <a class="who" href="/console/me" id="me-link" title="Your settings">
                {move || session.0.get().map(|me| format!("{} · {} ({})",
                    me.user.map(|u| u.name).unwrap_or_default(), me.organisation.name, me.role))}
            </a>
            <button class="secondary" id="logout" on:click=logout disabled=move || end.pending().get()>"Log out"</button>
        </header>
    }
}
