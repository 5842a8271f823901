//! The cirhub web UI: public status pages and the provider console, rendered in the browser
//! (Leptos, client-side). It talks to the server only through its public JSON API.

mod api;
mod app;
mod components;
mod format;
mod live;
mod pages;
mod session;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
