//! Display helpers: times in the viewer's time zone, labels.

use std::cell::RefCell;
use wasm_bindgen::JsValue;

thread_local! {
    /// The person's chosen IANA time zone (`None`: the browser's).
    static ZONE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Shows times in `zone` from now on (the signed-in person's choice; `None`: the browser's).
pub fn set_zone(zone: Option<String>) {
    ZONE.with(|z| *z.borrow_mut() = zone);
}

/// The zone times are shown in, as chosen (`None`: the browser's).
pub fn zone() -> Option<String> {
    ZONE.with(|z| z.borrow().clone())
}

/// `toLocaleString` options: the chosen zone, and its name when `named`.
fn options(named: bool) -> JsValue {
    let opts = js_sys::Object::new();
    if let Some(z) = zone() {
        let _ = js_sys::Reflect::set(&opts, &"timeZone".into(), &z.into());
    }
    if named {
        let _ = js_sys::Reflect::set(&opts, &"timeZoneName".into(), &"short".into());
    }
    opts.into()
}

/// An RFC 3339 time shown in the viewer's locale and time zone (the chosen one, else the
/// browser's).
pub fn local_time(rfc3339: &str) -> String {
    let date = js_sys::Date::new(&JsValue::from_str(rfc3339));
    if date.get_time().is_nan() {
        return rfc3339.to_string();
    }
    String::from(date.to_locale_string("default", &options(false)))
}

/// Same, for chrono values from the REST API.
pub fn local(t: &chrono::DateTime<chrono::Utc>) -> String {
    local_time(&cirhub_shared::time::format(t))
}

/// Same, with the name of the viewer's time zone (e.g. "GMT+9", "CET").
pub fn local_zoned(t: &chrono::DateTime<chrono::Utc>) -> String {
    let date = js_sys::Date::new(&JsValue::from_str(&cirhub_shared::time::format(t)));
    String::from(date.to_locale_string("default", &options(true)))
}

/// Now, from the browser's clock (the standard library has no clock on wasm32).
pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(js_sys::Date::now() as i64).unwrap_or_default()
}

/// Now, as RFC 3339 UTC.
pub fn now_iso() -> String {
    String::from(js_sys::Date::new_0().to_iso_string())
}

/// A `datetime-local` input value (viewer's zone) as RFC 3339 UTC, if valid.
pub fn local_input_to_iso(value: &str) -> Option<String> {
    let date = js_sys::Date::new(&JsValue::from_str(value));
    (!date.get_time().is_nan()).then(|| String::from(date.to_iso_string()))
}

/// "degraded_performance" -> "Degraded performance".
pub fn humanise(s: &str) -> String {
    let mut out = s.replace('_', " ");
    if let Some(first) = out.get(0..1) {
        out.replace_range(0..1, &first.to_uppercase());
    }
    out
}
