//! Display helpers: times in the viewer's time zone, labels.

use wasm_bindgen::JsValue;

/// An RFC 3339 time shown in the viewer's locale and time zone.
pub fn local_time(rfc3339: &str) -> String {
    let date = js_sys::Date::new(&JsValue::from_str(rfc3339));
    if date.get_time().is_nan() {
        return rfc3339.to_string();
    }
    String::from(date.to_locale_string("default", &JsValue::UNDEFINED))
}

/// Same, for chrono values from the REST API.
pub fn local(t: &chrono::DateTime<chrono::Utc>) -> String {
    local_time(&cirhub_shared::time::format(t))
}

/// Same, with the name of the viewer's time zone (e.g. "GMT+9", "CET").
pub fn local_zoned(t: &chrono::DateTime<chrono::Utc>) -> String {
    let date = js_sys::Date::new(&JsValue::from_str(&cirhub_shared::time::format(t)));
    let opts = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&opts, &"timeZoneName".into(), &"short".into());
    String::from(date.to_locale_string("default", &opts))
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
