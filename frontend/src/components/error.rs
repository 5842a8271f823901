use crate::api::ApiError;
use leptos::prelude::*;

/// Shows an API error, if any, in words a person can act on.
#[component]
pub fn ErrorBox(
    error: ReadSignal<Option<ApiError>>,
    #[prop(optional)] id: &'static str,
) -> impl IntoView {
    move || {
        error.get().map(|e| {
            view! { <p class="error" role="alert" id=id>{e.to_string()}</p> }
        })
    }
}
