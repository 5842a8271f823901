//! One MISP attribute or galaxy cluster as STIX 2.1: an attribute flagged for detection
//! (`to_ids`) becomes an indicator, any other the observable it names; ATT&CK technique
//! clusters become attack patterns and malware clusters malware families.

use super::build::{
    self, day, derived_uuid, indicator, indicator_id, observable, tlp_named, typed, unix_time,
};
use super::json::kind_of;
use super::Defaults;
use crate::sharing::stix::stix_time;
use chrono::{DateTime, Utc};
use cirhub_shared::sharing::Tlp;
use serde_json::{json, Map, Value};

/// What the attributes of an event inherit from it.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct EventInfo {
    pub tlp: Option<Tlp>,
    pub timestamp: Option<DateTime<Utc>>,
    pub date: Option<DateTime<Utc>>,
}

impl EventInfo {
    /// Reads one event-level field that attributes inherit; other fields change nothing.
    pub fn set(&mut self, key: &str, v: &Value) {
        match key {
            "Tag" => self.tlp = tags_tlp(Some(v)),
            "timestamp" => self.timestamp = unix_time(Some(v)),
            "date" => self.date = day(Some(v)),
            _ => {}
        }
    }

    fn time(&self, defaults: &Defaults) -> DateTime<Utc> {
        self.timestamp.or(self.date).unwrap_or(defaults.now)
    }
}

/// The TLP of a MISP tag list (`[{"name": "tlp:amber"}]`): the most restrictive when a
/// list holds several, so that nothing is shared wider than one of its tags allows.
pub(super) fn tags_tlp(tags: Option<&Value>) -> Option<Tlp> {
    tags?
        .as_array()?
        .iter()
        .filter_map(|t| tlp_named(t.get("name").or(Some(t))?.as_str()?, true))
        .max_by_key(|t| t.rank())
}

fn text<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    m.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// MISP writes booleans as true, 1, "1" or "true".
fn flag(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        Some(Value::String(s)) => matches!(s.trim(), "1" | "true" | "True"),
        _ => false,
    }
}

/// The STIX objects of one attribute: one indicator, or one observable per value. An
/// empty list means a deleted attribute, left out.
pub(super) fn attribute(
    attr: Value,
    event: &EventInfo,
    defaults: &Defaults,
) -> Result<Vec<Value>, String> {
    let Value::Object(a) = attr else {
        return Err(format!(
            "must be a MISP attribute (a JSON object); found {}",
            kind_of(&attr)
        ));
    };
    if flag(a.get("deleted")) {
        return Ok(Vec::new());
    }
    let type_name =
        text(&a, "type").ok_or("the attribute has no type: set \"type\", e.g. \"ip-dst\"")?;
    let value = match a.get("value") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.as_str(),
        _ => return Err("the attribute has no value: set \"value\" to the indicator".into()),
    };
    let typed = typed(type_name, value)?.ok_or_else(|| {
        format!(
            "MISP type {type_name} is not exchanged; supported: {}",
            build::TYPE_NAMES
        )
    })?;
    let tlp = tags_tlp(a.get("Tag")).or(event.tlp).unwrap_or(defaults.tlp);
    if !flag(a.get("to_ids")) {
        return Ok(typed
            .values
            .iter()
            .map(|(k, v)| observable(*k, v, typed.file_name.as_deref(), tlp))
            .collect());
    }
    let time = unix_time(a.get("timestamp")).unwrap_or_else(|| event.time(defaults));
    let id = match text(&a, "uuid").and_then(|u| uuid::Uuid::parse_str(u).ok()) {
        Some(u) => format!("indicator--{}", u.hyphenated()),
        None => indicator_id(&typed.values),
    };
    let mut ind = indicator(id, &typed.values, time, tlp);
    if let Some(c) = text(&a, "comment") {
        ind.insert("description".into(), json!(c));
    }
    Ok(vec![Value::Object(ind)])
}

/// What a MISP galaxy's clusters become in STIX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GalaxyKind {
    AttackPattern,
    Malware,
}

/// The STIX type of a galaxy's clusters; `None` for galaxies the hub does not exchange
/// (threat actors, sectors, countries, tools: the hub has no STIX type for them).
pub(super) fn galaxy_kind(galaxy_type: &str) -> Option<GalaxyKind> {
    match galaxy_type {
        "mitre-attack-pattern"
        | "mitre-enterprise-attack-attack-pattern"
        | "mitre-mobile-attack-attack-pattern"
        | "mitre-pre-attack-attack-pattern" => Some(GalaxyKind::AttackPattern),
        "mitre-malware"
        | "mitre-enterprise-attack-malware"
        | "mitre-mobile-attack-malware"
        | "malpedia" => Some(GalaxyKind::Malware),
        _ => None,
    }
}

/// The ATT&CK id of a technique cluster: `meta.external_id`, else the ` - T1566` its
/// value ends with.
fn technique_id(c: &Map<String, Value>, value: &str) -> Option<String> {
    let meta = c.get("meta").and_then(|m| m.get("external_id"));
    let listed = match meta {
        Some(Value::Array(ids)) => ids.first().and_then(Value::as_str),
        Some(Value::String(s)) => Some(s.as_str()),
        _ => None,
    };
    let from_value = value
        .rsplit_once(" - ")
        .map(|(_, id)| id.trim())
        .filter(|id| {
            id.starts_with('T') && id[1..].chars().all(|c| c.is_ascii_digit() || c == '.')
        });
    listed.or(from_value).map(str::to_string)
}

/// One galaxy cluster as an attack pattern or a malware family, named by the cluster's
/// UUID so that importing it again names the same object.
pub(super) fn cluster(
    kind: GalaxyKind,
    c: Value,
    event: &EventInfo,
    defaults: &Defaults,
) -> Result<Value, String> {
    let Value::Object(c) = c else {
        return Err(format!(
            "must be a MISP galaxy cluster (a JSON object); found {}",
            kind_of(&c)
        ));
    };
    let value =
        text(&c, "value").ok_or("the galaxy cluster has no value: set \"value\" to its name")?;
    let stix_type = match kind {
        GalaxyKind::AttackPattern => "attack-pattern",
        GalaxyKind::Malware => "malware",
    };
    let uuid = text(&c, "uuid")
        .and_then(|u| uuid::Uuid::parse_str(u).ok())
        .unwrap_or_else(|| derived_uuid(&format!("{stix_type}:{value}")));
    let t = stix_time(event.time(defaults));
    let mut o = json!({
        "type": stix_type,
        "spec_version": "2.1",
        "id": format!("{stix_type}--{}", uuid.hyphenated()),
        "created": t,
        "modified": t,
        "name": value,
        "object_marking_refs": [event.tlp.unwrap_or(defaults.tlp).marking_definition_id()],
    });
    match kind {
        GalaxyKind::AttackPattern => {
            if let Some(id) = technique_id(&c, value) {
                let suffix = format!(" - {id}");
                o["name"] = json!(value.strip_suffix(&suffix).unwrap_or(value).trim());
                o["external_references"] =
                    json!([{ "source_name": "mitre-attack", "external_id": id }]);
            }
        }
        GalaxyKind::Malware => o["is_family"] = json!(true),
    }
    if let Some(d) = text(&c, "description") {
        o["description"] = json!(d);
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sharing::stix::check;

    fn defaults() -> Defaults {
        Defaults {
            tlp: Tlp::Green,
            now: DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
        }
    }

    #[test]
    fn an_attribute_for_detection_is_an_indicator_named_by_its_uuid() {
        let event = EventInfo {
            tlp: Some(Tlp::Amber),
            ..EventInfo::default()
        };
        let a = json!({"type": "ip-dst|port", "value": "203.0.113[.]7|443", "to_ids": "1",
            "uuid": "5A0B37B3-2B5C-4C1E-9F60-6E4C0A7B2F11", "timestamp": 1700000100,
            "comment": "C2", "Tag": [{"name": "TLP:RED"}]});
        let out = attribute(a, &event, &defaults()).expect("mapped");
        let o = &out[0];
        assert_eq!(o["id"], "indicator--5a0b37b3-2b5c-4c1e-9f60-6e4c0a7b2f11");
        assert_eq!(o["pattern"], "[ipv4-addr:value = '203.0.113.7']");
        assert_eq!(o["created"], "2023-11-14T22:15:00.000Z");
        assert_eq!(o["description"], "C2");
        let c = check(o.clone(), "org", "").expect("valid");
        assert_eq!(c.tlp, Tlp::Red, "the attribute's own tag wins");
    }

    #[test]
    fn an_attribute_for_context_is_its_observables() {
        let a = json!({"type": "domain|ip", "value": "evil.example.com|203.0.113.7",
            "to_ids": false});
        let out = attribute(a, &EventInfo::default(), &defaults()).expect("mapped");
        assert_eq!(out.len(), 2);
        assert_eq!(
            (out[0]["type"].clone(), out[1]["type"].clone()),
            (json!("domain-name"), json!("ipv4-addr"))
        );
        for o in out {
            assert_eq!(check(o, "org", "").expect("valid").tlp, Tlp::Green);
        }
        let deleted = json!({"type": "md5", "value": "x", "deleted": true});
        assert_eq!(
            attribute(deleted, &EventInfo::default(), &defaults()),
            Ok(vec![])
        );
        let text = json!({"type": "text", "value": "x"});
        let why = attribute(text, &EventInfo::default(), &defaults()).unwrap_err();
        assert!(why.starts_with("MISP type text is not exchanged; supported: ip-src"));
    }

    #[test]
    fn technique_and_malware_clusters_are_named_and_referenced() {
        let t = json!({"value": "Phishing - T1566", "uuid": "a62a8db3-f23a-4d8f-afd6-9dbc77e7813b",
            "meta": {"external_id": ["T1566"]}});
        let o = cluster(
            GalaxyKind::AttackPattern,
            t,
            &EventInfo::default(),
            &defaults(),
        )
        .expect("mapped");
        assert_eq!(o["name"], "Phishing");
        assert_eq!(
            o["id"],
            "attack-pattern--a62a8db3-f23a-4d8f-afd6-9dbc77e7813b"
        );
        assert_eq!(o["external_references"][0]["external_id"], "T1566");
        check(o, "org", "").expect("valid attack pattern");
        let m = json!({"value": "Emotet"});
        let o = cluster(
            GalaxyKind::Malware,
            m.clone(),
            &EventInfo::default(),
            &defaults(),
        )
        .expect("mapped");
        assert_eq!(o["is_family"], true);
        let again =
            cluster(GalaxyKind::Malware, m, &EventInfo::default(), &defaults()).expect("mapped");
        assert_eq!(o["id"], again["id"]);
        check(o, "org", "").expect("valid malware");
        assert_eq!(galaxy_kind("mitre-tool"), None);
    }
}
