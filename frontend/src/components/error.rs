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

/// Whether a problem's field path (`parties[1].organisation`) is `field` or lies inside it.
fn covers(field: &str, path: &str) -> bool {
    path.strip_prefix(field)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

/// The messages of a problem's `errors` for the fields given (only those exact ones, or also
/// what lies inside them).
fn messages(error: Option<ApiError>, fields: &[&str], exact: bool) -> Vec<String> {
    let errors = error.and_then(|e| e.problem).map(|p| p.errors);
    errors
        .unwrap_or_default()
        .into_iter()
        .filter(|e| {
            fields.iter().any(|f| {
                if exact {
                    *f == e.field
                } else {
                    covers(f, &e.field)
                }
            })
        })
        .map(|e| e.message)
        .collect()
}

/// What a 422 says about these fields (and what lies inside them unless `exact`), shown next
/// to their input.
#[component]
pub fn FieldError(
    #[prop(into)] error: Signal<Option<ApiError>>,
    fields: &'static [&'static str],
    #[prop(optional)] exact: bool,
) -> impl IntoView {
    move || {
        let found = messages(error.get(), fields, exact);
        (!found.is_empty()).then(|| {
            view! { <span class="field-error" role="alert" data-field=fields[0]>{found.join("; ")}</span> }
        })
    }
}

/// A form's error: the problem's detail, and the field errors no [`FieldError`] of the form
/// shows (`placed` lists the fields those cover).
#[component]
pub fn FormError(
    #[prop(into)] error: Signal<Option<ApiError>>,
    placed: &'static [&'static str],
    #[prop(optional)] id: &'static str,
) -> impl IntoView {
    move || {
        error.get().map(|e| {
            let mut text = e
                .problem
                .as_ref()
                .map_or(e.message.clone(), |p| p.detail.clone());
            for f in e.problem.iter().flat_map(|p| &p.errors) {
                if !placed.iter().any(|p| covers(p, &f.field)) {
                    text.push_str(&format!(" {}: {}.", f.field, f.message));
                }
            }
            view! { <p class="error" role="alert" id=id>{text}</p> }
        })
    }
}
