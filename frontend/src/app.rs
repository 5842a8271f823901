//! The router: every page of the UI.

use crate::pages::{
    catalogue::CataloguePage, console::ConsoleHome, dashboard::DashboardIncidentPage,
    dashboard::DashboardPage, incident::IncidentPage, maintenance::MaintenancePage,
    relations::RelationsPage, status::StatusPage,
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
            </Routes>
        </Router>
    }
}
