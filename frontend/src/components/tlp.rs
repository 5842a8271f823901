//! The TLP 2.0 label, in the colours FIRST prescribes: coloured text on black.

use cirhub_shared::sharing::Tlp;
use leptos::prelude::*;

/// `TLP:AMBER+STRICT` and the others, each with its class (`tlp-amber-strict`, …) for colour.
#[component]
pub fn TlpBadge(tlp: Tlp) -> impl IntoView {
    let class = format!("tlp tlp-{}", tlp.as_str().replace('+', "-"));
    view! { <span class=class data-tlp=tlp.as_str()>{tlp.label()}</span> }
}
