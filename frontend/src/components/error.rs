use crate::api::ApiError;
use leptos::prelude::*;

/// Shows an API error, if any, in words a person can act on.
#[component]
pub fn ErrorBox(
    #[prop(into)] error: Signal<Option<ApiError>>,
    #[prop(optional)] id: &'static str,
) -> impl IntoView {
    move || {
        error.get().map(|e| {
            view! { <p class="error" role="alert" id=id>{e.to_string()}</p> }
        })
    }
}

/// The error of a load or a submission whose latest run failed: what an [`ErrorBox`] shows.
pub fn error_of<T>(latest: Option<Result<T, ApiError>>) -> Option<ApiError> {
    latest.and_then(Result::err)
}
