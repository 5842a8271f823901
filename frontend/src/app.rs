//! The router: every page of the UI.

use crate::pages::{
    agreements::AgreementsPage, catalogue::CataloguePage, console::ConsoleHome,
    dashboard::DashboardIncidentPage, dashboard::DashboardPage, escalation::EscalationPage,
    import::ImportPage, incident::IncidentPage, indicator::IndicatorPage,
    indicators::IndicatorsPage, lookup::LookupPage, maintenance::MaintenancePage, me::MePage,
    metrics::MetricsPage, relations::RelationsPage, status::StatusPage,
};
use crate::session::SessionState;
use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

#[component]
pub fn App() -> impl IntoView {
    provide_context(SessionState::load());
    view! {
        <Router>
            <Routes fallback=|| view! { <main class="page"><h1>"Page not found"</h1><a href="/console">"Go to the console"</a></main> }>
                <Route path=path!("/") view=ConsoleHome />
                <Route path=path!("/status/:provider") view=StatusPage />
                <Route path=path!("/console") view=ConsoleHome />
                <Route path=path!("/console/incidents/:id") view=IncidentPage />
                <Route path=path!("/console/maintenance") view=MaintenancePage />
                <Route path=path!("/console/catalogue") view=CataloguePage />
                <Route path=path!("/console/dashboard") view=DashboardPage />
                <Route path=path!("/console/customers") view=RelationsPage />
                <Route path=path!("/console/dashboard/:id") view=DashboardIncidentPage />
                <Route path=path!("/console/agreements") view=AgreementsPage />
                <Route path=path!("/console/indicators") view=IndicatorsPage />
                <Route path=path!("/console/indicators/:key") view=IndicatorPage />
                <Route path=path!("/console/lookup") view=LookupPage />
                <Route path=path!("/console/import") view=ImportPage />
                <Route path=path!("/console/escalation") view=EscalationPage />
                <Route path=path!("/console/metrics") view=MetricsPage />
                <Route path=path!("/console/me") view=MePage />
            </Routes>
        </Router>
    }
}
