//! STIX 2.1 objects as the hub accepts them: checked once at the edge (type, id, timestamps,
//! the one TLP 2.0 marking, what each type requires), then stored as sent, with the owner's
//! identity as `created_by_ref`. Own serde-free checks over `serde_json::Value`: published
//! STIX crates are immature, and what is emitted is checked against the OASIS validator in
//! the test suite instead.

use crate::error::AppError;
use chrono::{DateTime, SecondsFormat, Utc};
use cirhub_shared::sharing::{DataCategory, Tlp};
use serde_json::{Map, Value};

/// Largest object accepted, in bytes of its JSON.
pub const MAX_OBJECT_BYTES: usize = 64 * 1024;

/// Domain and relationship objects the hub exchanges (versioned by `modified`).
const VERSIONED: &[&str] = &[
    "indicator",
    "malware",
    "attack-pattern",
    "vulnerability",
    "sighting",
    "relationship",
    "report",
    "grouping",
];

/// Cyber-observables the hub exchanges (not versioned: an id names one content).
const OBSERVABLES: &[&str] = &[
    "ipv4-addr",
    "ipv6-addr",
    "domain-name",
    "url",
    "file",
    "email-addr",
];

/// TLP 1.0 marking definitions (STIX 2.0/2.1 `TLP_WHITE` ...) read as their TLP 2.0 level.
const TLP_V1: &[(&str, Tlp)] = &[
    (
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
        Tlp::Clear,
    ),
    (
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
        Tlp::Green,
    ),
    (
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
        Tlp::Amber,
    ),
    (
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
        Tlp::Red,
    ),
];

/// The STIX identity of an organisation: a UUIDv5 of its id, stable across instances.
pub fn identity_of(org_id: &str) -> String {
    // The namespace is a fixed random UUID of cirhub's own.
    const NAMESPACE: uuid::Uuid = uuid::uuid!("4b1f6f1e-3c35-4d8e-9a53-2f4b8c1d7e60");
    format!(
        "identity--{}",
        uuid::Uuid::new_v5(&NAMESPACE, org_id.as_bytes())
    )
}

/// A checked object and the facts the hub indexes it by.
#[derive(Debug, Clone)]
pub struct Checked {
    pub id: String,
    pub stix_type: String,
    pub category: DataCategory,
    pub tlp: Tlp,
    /// `modified` as sent (the version's name in TAXII); the creation time for observables.
    pub modified: Option<String>,
    pub revoked: bool,
    pub object: Map<String, Value>,
}

impl Checked {
    /// Whether the type is versioned by `modified`.
    pub fn versioned(&self) -> bool {
        VERSIONED.contains(&self.stix_type.as_str())
    }
}

fn fail(field: &str, message: impl Into<String>) -> AppError {
    AppError::field(field, message)
}

/// A STIX timestamp: RFC 3339 in UTC with a `Z`.
fn timestamp(
    obj: &Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<Option<DateTime<Utc>>, AppError> {
    let Some(v) = obj.get(key) else {
        return Ok(None);
    };
    let s = v.as_str().filter(|s| s.ends_with('Z')).ok_or_else(|| {
        fail(
            field,
            "must be a UTC timestamp such as 2026-12-03T10:00:00.000Z",
        )
    })?;
    let t = DateTime::parse_from_rfc3339(s).map_err(|_| {
        fail(
            field,
            "must be a UTC timestamp such as 2026-12-03T10:00:00.000Z",
        )
    })?;
    Ok(Some(t.with_timezone(&Utc)))
}

/// The canonical text of a timestamp: millisecond precision, `Z`.
pub fn stix_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Bytes of an object's JSON, counted as it is written, without keeping them.
fn json_size(obj: &Map<String, Value>) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut n = Count(0);
    match serde_json::to_writer(&mut n, obj) {
        Ok(()) => n.0,
        Err(_) => usize::MAX,
    }
}

/// Checks one object (`at` is its JSON path in the request, for error fields) and sets its
/// `created_by_ref` to the owner's identity.
pub fn check(value: Value, owner_org: &str, at: &str) -> Result<Checked, AppError> {
    let f = |k: &str| {
        if at.is_empty() {
            k.to_string()
        } else {
            format!("{at}.{k}")
        }
    };
    let Value::Object(mut obj) = value else {
        return Err(fail(
            at.trim_end_matches('.'),
            "must be a STIX 2.1 object (a JSON object)",
        ));
    };
    let size = json_size(&obj);
    if size > MAX_OBJECT_BYTES {
        return Err(fail(
            at,
            format!("an object is at most {MAX_OBJECT_BYTES} bytes of JSON"),
        ));
    }
    let stix_type = obj
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| fail(&f("type"), "required: the STIX type, e.g. indicator"))?
        .to_string();
    let category = DataCategory::of_stix_type(&stix_type).ok_or_else(|| {
        fail(
            &f("type"),
            format!(
                "cirhub exchanges {}",
                VERSIONED
                    .iter()
                    .chain(OBSERVABLES)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })?;
    let id = obj
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| fail(&f("id"), "required: type--UUID"))?
        .to_string();
    let uuid_ok = id
        .strip_prefix(&format!("{stix_type}--"))
        .and_then(|u| uuid::Uuid::parse_str(u).ok())
        .is_some();
    if !uuid_ok {
        return Err(fail(&f("id"), format!("must be {stix_type}--<UUID>")));
    }
    match obj.get("spec_version") {
        Some(Value::String(v)) if v == "2.1" => {}
        None if OBSERVABLES.contains(&stix_type.as_str()) => {
            obj.insert("spec_version".into(), Value::String("2.1".into()));
        }
        _ => return Err(fail(&f("spec_version"), "must be \"2.1\"")),
    }
    let tlp = marking(&obj, &f("object_marking_refs"))?;
    let revoked = match obj.get("revoked") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(fail(&f("revoked"), "must be true or false")),
    };
    let versioned = VERSIONED.contains(&stix_type.as_str());
    let mut modified = None;
    if versioned {
        let created = timestamp(&obj, "created", &f("created"))?
            .ok_or_else(|| fail(&f("created"), "required for a STIX domain object"))?;
        let m = timestamp(&obj, "modified", &f("modified"))?
            .ok_or_else(|| fail(&f("modified"), "required for a STIX domain object"))?;
        if m < created {
            return Err(fail(&f("modified"), "must not be before created"));
        }
        obj.insert("created".into(), Value::String(stix_time(created)));
        obj.insert("modified".into(), Value::String(stix_time(m)));
        modified = Some(stix_time(m));
    } else if revoked {
        return Err(fail(
            &f("revoked"),
            "cyber-observables are not versioned: they cannot be revoked",
        ));
    }
    if stix_type == "indicator" {
        indicator(&obj, &f)?;
    }
    if !matches!(obj.get("object_refs"), None | Some(Value::Array(_))) {
        return Err(fail(&f("object_refs"), "must be a list of STIX ids"));
    }
    if matches!(stix_type.as_str(), "report" | "grouping") {
        let refs = obj.get("object_refs").and_then(Value::as_array);
        if refs.is_none_or(|r| r.is_empty()) {
            return Err(fail(
                &f("object_refs"),
                "required: the ids of the objects it ties together",
            ));
        }
    }
    obj.insert(
        "created_by_ref".into(),
        Value::String(identity_of(owner_org)),
    );
    Ok(Checked {
        id,
        stix_type,
        category,
        tlp,
        modified,
        revoked,
        object: obj,
    })
}

/// The TLP level of a marking definition id: TLP 2.0, or TLP 1.0 read as its 2.0 level.
pub fn tlp_of_marking(id: &str) -> Option<Tlp> {
    Tlp::from_marking_definition_id(id)
        .or_else(|| TLP_V1.iter().find(|(v1, _)| *v1 == id).map(|(_, t)| *t))
}

/// The one TLP marking among `object_marking_refs` (TLP 2.0, or TLP 1.0 read as 2.0).
fn marking(obj: &Map<String, Value>, field: &str) -> Result<Tlp, AppError> {
    let refs = obj
        .get("object_marking_refs")
        .and_then(Value::as_array)
        .ok_or_else(|| fail(field, "required: one TLP 2.0 marking definition id"))?;
    let mut found = Vec::new();
    for r in refs {
        let s = r
            .as_str()
            .ok_or_else(|| fail(field, "must be a list of marking definition ids"))?;
        if let Some(t) = tlp_of_marking(s) {
            found.push(t);
        }
    }
    match found.as_slice() {
        [t] => Ok(*t),
        [] => Err(fail(field, "must hold one TLP 2.0 marking definition id (TLP:CLEAR, GREEN, AMBER, AMBER+STRICT or RED)")),
        _ => Err(fail(field, "must hold exactly one TLP marking")),
    }
}

/// An indicator's own requirements: a STIX pattern, its type, and when it starts to apply.
fn indicator(obj: &Map<String, Value>, f: &dyn Fn(&str) -> String) -> Result<(), AppError> {
    let pattern_type = obj.get("pattern_type").and_then(Value::as_str);
    if pattern_type.is_none() {
        return Err(fail(&f("pattern_type"), "required, e.g. \"stix\""));
    }
    let pattern = obj
        .get("pattern")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            fail(
                &f("pattern"),
                "required: e.g. [ipv4-addr:value = '203.0.113.7']",
            )
        })?;
    if pattern_type == Some("stix") && !(pattern.starts_with('[') && pattern.contains(']')) {
        return Err(fail(
            &f("pattern"),
            "a STIX pattern is one or more comparisons in brackets, e.g. [domain-name:value = 'example.com']",
        ));
    }
    if let Some(why) = super::values::unreadable_in(pattern) {
        return Err(fail(&f("pattern"), why));
    }
    let from = timestamp(obj, "valid_from", &f("valid_from"))?.ok_or_else(|| {
        fail(
            &f("valid_from"),
            "required: when the indicator starts to apply",
        )
    })?;
    if let Some(until) = timestamp(obj, "valid_until", &f("valid_until"))? {
        if until <= from {
            return Err(fail(&f("valid_until"), "must be after valid_from"));
        }
    }
    if let Some(c) = obj.get("confidence") {
        if !c.as_i64().is_some_and(|c| (0..=100).contains(&c)) {
            return Err(fail(
                &f("confidence"),
                "must be a whole number from 0 to 100",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ioc() -> Value {
        json!({
            "type": "indicator", "spec_version": "2.1",
            "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2026-12-01T10:00:00Z", "modified": "2026-12-01T10:00:00.5Z",
            "pattern": "[ipv4-addr:value = '203.0.113.7']", "pattern_type": "stix",
            "valid_from": "2026-12-01T10:00:00Z",
            "object_marking_refs": [Tlp::Amber.marking_definition_id()]
        })
    }

    #[test]
    fn an_indicator_is_checked_and_stamped_with_its_owner() {
        let c = check(ioc(), "org-1", "").expect("valid");
        assert_eq!((c.tlp, c.category), (Tlp::Amber, DataCategory::Indicators));
        assert_eq!(c.modified.as_deref(), Some("2026-12-01T10:00:00.500Z"));
        assert_eq!(c.object["created_by_ref"], json!(identity_of("org-1")));
        assert_ne!(identity_of("org-1"), identity_of("org-2"));
    }

    #[test]
    fn each_fault_names_its_field() {
        let cases: Vec<(&str, Value, &str)> = vec![
            ("type", json!("x-thing"), "type"),
            ("id", json!("indicator--nope"), "id"),
            ("spec_version", json!("2.0"), "spec_version"),
            ("object_marking_refs", json!([]), "object_marking_refs"),
            ("modified", json!("2026-11-01T00:00:00Z"), "modified"),
            ("pattern", json!("ipv4 is bad"), "pattern"),
            (
                "pattern",
                json!("[ipv4-addr:value = '192.0.2.300']"),
                "pattern",
            ),
            ("confidence", json!(101), "confidence"),
            ("valid_from", json!("yesterday"), "valid_from"),
        ];
        for (key, value, field) in cases {
            let mut v = ioc();
            v[key] = value;
            let Err(AppError::Validation(errors)) = check(v, "o", "objects[3]") else {
                panic!("{key} accepted");
            };
            assert_eq!(errors[0].field, format!("objects[3].{field}"));
        }
        let mut two = ioc();
        two["object_marking_refs"] = json!([
            Tlp::Red.marking_definition_id(),
            Tlp::Green.marking_definition_id()
        ]);
        assert!(check(two, "o", "").is_err());
        let mut v1 = ioc();
        v1["object_marking_refs"] =
            json!(["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]);
        assert_eq!(check(v1, "o", "").expect("TLP 1.0 green").tlp, Tlp::Green);
    }
}
