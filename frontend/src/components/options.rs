//! `<option>` lists for the shared domain enums: the wire value, shown with a human label.

use crate::format::humanise;
use cirhub_shared::record::{ContactRole, Relation};
use cirhub_shared::sharing::*;
use cirhub_shared::*;
use leptos::prelude::*;

/// A domain enum offered in a `<select>`.
pub trait Choice: Copy + PartialEq + Send + Sync + 'static {
    fn all() -> &'static [Self];
    fn value(self) -> &'static str;
    fn text(self) -> String;
}

macro_rules! choice {
    ($($t:ident => $text:expr),+ $(,)?) => {
        $(impl Choice for $t {
            fn all() -> &'static [Self] {
                $t::ALL
            }
            fn value(self) -> &'static str {
                self.as_str()
            }
            fn text(self) -> String {
                ($text)(self)
            }
        })+
    };
}

choice! {
    Impact => |v: Impact| humanise(v.as_str()),
    Priority => |v: Priority| v.as_str().to_string(),
    Urgency => |v: Urgency| humanise(v.as_str()),
    Category => |v: Category| humanise(v.as_str()),
    Visibility => |v: Visibility| humanise(v.as_str()),
    Layer => |v: Layer| humanise(v.as_str()),
    ComponentStatus => |v: ComponentStatus| v.label().to_string(),
    IncidentStatus => |v: IncidentStatus| v.label().to_string(),
    Tlp => |v: Tlp| v.label().to_string(),
    DataCategory => |v: DataCategory| humanise(v.as_str()),
    PartyRole => |v: PartyRole| humanise(v.as_str()),
    Attribution => |v: Attribution| humanise(v.as_str()),
    ContactRole => |v: ContactRole| humanise(v.as_str()),
    Relation => |v: Relation| humanise(v.as_str()),
    OnwardSharing => |v: OnwardSharing| match v {
        OnwardSharing::None => "Not passed on".to_string(),
        OnwardSharing::Clients => "To the recipient's clients".to_string(),
        OnwardSharing::Community => "To the recipient's communities".to_string(),
    },
}

/// Every value of `T`, `selected` pre-selected.
pub fn options<T: Choice>(selected: Option<T>) -> impl IntoView {
    options_of(T::all().iter().copied(), selected)
}

/// The given values, `selected` pre-selected.
pub fn options_of<T: Choice>(
    values: impl IntoIterator<Item = T>,
    selected: Option<T>,
) -> impl IntoView {
    values
        .into_iter()
        .map(|v| view! { <option value=v.value() selected=Some(v) == selected>{v.text()}</option> })
        .collect_view()
}
