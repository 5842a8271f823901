//! The STIX objects an import builds from plain values (a MISP attribute, a CSV row): typed
//! values, indicators, observables with the deterministic ids STIX 2.1 prescribes, and the
//! TLP levels other formats name in words.

use crate::sharing::stix::stix_time;
use crate::sharing::values::normalise;
use chrono::{DateTime, NaiveDate, Utc};
use cirhub_shared::sharing::{Tlp, ValueKind};
use serde_json::{json, Map, Value};
use uuid::Uuid;

/// Namespace of the ids the hub derives for imported indicators (a fixed random UUID), so
/// that importing the same value again names the same object.
const NAMESPACE: Uuid = uuid::uuid!("d2d820e0-da70-44e0-8578-2c62c18697fc");

/// The namespace STIX 2.1 (section 2.9) fixes for the ids of cyber-observables.
const SCO_NAMESPACE: Uuid = uuid::uuid!("00abedb4-aa42-466c-9c01-fed23315a9b7");

/// The TLP marking among an object's `object_marking_refs` (TLP 2.0 or 1.0), if any.
pub(super) fn tlp_of_refs(refs: Option<&Value>) -> Option<Tlp> {
    refs?
        .as_array()?
        .iter()
        .find_map(|r| crate::sharing::stix::tlp_of_marking(r.as_str()?))
}

/// A TLP level named in words: `amber`, `TLP:AMBER+STRICT`, `white` (TLP 1.0's CLEAR). A
/// MISP tag must carry the `tlp:` prefix; a CSV cell may leave it out.
pub(super) fn tlp_named(text: &str, prefix_required: bool) -> Option<Tlp> {
    let t = text.trim().to_ascii_lowercase();
    let level = match t.strip_prefix("tlp:") {
        Some(l) => l.trim(),
        None if prefix_required => return None,
        None => t.as_str(),
    };
    match level {
        "white" => Some(Tlp::Clear),
        l => l.parse().ok(),
    }
}

/// The MISP TLP 2.0 tag of a level, e.g. `tlp:amber+strict`.
pub(super) fn tlp_tag(tlp: Tlp) -> String {
    format!("tlp:{}", tlp.as_str())
}

/// A Unix time in seconds, as MISP writes it (a string or a number).
pub(super) fn unix_time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    let secs = match v? {
        Value::String(s) => s.trim().parse::<i64>().ok()?,
        Value::Number(n) => n.as_i64()?,
        _ => return None,
    };
    (secs > 0).then(|| DateTime::from_timestamp(secs, 0))?
}

/// A MISP event `date` (`2026-01-15`) as midnight UTC.
pub(super) fn day(v: Option<&Value>) -> Option<DateTime<Utc>> {
    let d = NaiveDate::parse_from_str(v?.as_str()?.trim(), "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc())
}

/// Values of one attribute or row: one value, or two for `domain|ip`, and the file name of
/// a `filename|sha256`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Typed {
    pub values: Vec<(ValueKind, String)>,
    pub file_name: Option<String>,
}

/// The MISP attribute types the hub reads (CSV also takes `ip`, `ipv4` and `ipv6`).
pub(super) const TYPE_NAMES: &str = "ip-src, ip-dst, ip-src|port, ip-dst|port, domain, hostname, domain|ip, url, uri, email, email-src, email-dst, md5, sha1, sha256, sha512, filename|md5, filename|sha1, filename|sha256, filename|sha512";

fn hash_kind(name: &str) -> Option<ValueKind> {
    match name {
        "md5" => Some(ValueKind::Md5),
        "sha1" => Some(ValueKind::Sha1),
        "sha256" => Some(ValueKind::Sha256),
        "sha512" => Some(ValueKind::Sha512),
        _ => None,
    }
}

fn one(kind: ValueKind, raw: &str) -> Result<(ValueKind, String), String> {
    normalise(kind, raw)
        .map(|v| (kind, v))
        .map_err(|why| format!("value '{}' is not {why}", raw.trim()))
}

/// An IPv4 or IPv6 address or network, whichever it parses as.
fn ip(raw: &str) -> Result<(ValueKind, String), String> {
    one(ValueKind::Ipv4, raw).or_else(|_| {
        one(ValueKind::Ipv6, raw).map_err(|_| {
            format!(
                "value '{}' is not an IP address: an IPv4 or IPv6 address or network such as 203.0.113.7 or 2001:db8::/32",
                raw.trim()
            )
        })
    })
}

fn split<'a>(raw: &'a str, type_name: &str, example: &str) -> Result<(&'a str, &'a str), String> {
    raw.rsplit_once('|').ok_or_else(|| {
        format!("a {type_name} value is two parts joined by '|', e.g. {example}; got '{raw}'")
    })
}

/// The values of a value of a named type (case-insensitive); `Ok(None)` when the hub does
/// not exchange that type.
pub(super) fn typed(type_name: &str, raw: &str) -> Result<Option<Typed>, String> {
    let t = type_name.trim().to_ascii_lowercase();
    let just = |v: (ValueKind, String)| {
        Ok(Some(Typed {
            values: vec![v],
            file_name: None,
        }))
    };
    match t.as_str() {
        "ip" | "ip-src" | "ip-dst" => just(ip(raw)?),
        "ipv4" => just(one(ValueKind::Ipv4, raw)?),
        "ipv6" => just(one(ValueKind::Ipv6, raw)?),
        "ip-src|port" | "ip-dst|port" => {
            let (addr, port) = split(raw, &t, "203.0.113.7|443")?;
            port.trim().parse::<u16>().map_err(|_| {
                format!("the port after '|' must be a number from 0 to 65535; got '{port}'")
            })?;
            just(ip(addr)?)
        }
        "domain" | "hostname" => just(one(ValueKind::Domain, raw)?),
        "domain|ip" => {
            let (d, a) = split(raw, &t, "evil.example.com|203.0.113.7")?;
            Ok(Some(Typed {
                values: vec![one(ValueKind::Domain, d)?, ip(a)?],
                file_name: None,
            }))
        }
        "url" | "uri" => just(one(ValueKind::Url, raw).map_err(|why| {
            if t == "uri" {
                format!("{why}; a relative uri names no host and is not exchanged")
            } else {
                why
            }
        })?),
        "email" | "email-src" | "email-dst" => just(one(ValueKind::Email, raw)?),
        _ => {
            if let Some(kind) = hash_kind(&t) {
                return just(one(kind, raw)?);
            }
            let Some(kind) = t.strip_prefix("filename|").and_then(hash_kind) else {
                return Ok(None);
            };
            let (name, hash) = split(raw, &t, "invoice.exe|<hash>")?;
            let name = name.trim();
            Ok(Some(Typed {
                values: vec![one(kind, hash)?],
                file_name: (!name.is_empty()).then(|| name.to_string()),
            }))
        }
    }
}

/// The id of an imported indicator for its values: the same values name the same object.
pub(super) fn indicator_id(values: &[(ValueKind, String)]) -> String {
    let name: Vec<String> = values.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    format!(
        "indicator--{}",
        Uuid::new_v5(&NAMESPACE, name.join("\n").as_bytes())
    )
}

/// An id derived from a name, for objects whose source id is not a UUID.
pub(super) fn derived_uuid(name: &str) -> Uuid {
    Uuid::new_v5(&NAMESPACE, name.as_bytes())
}

/// An indicator matching any of `values` (`malicious-activity` unless the caller says
/// otherwise), valid from `time`.
pub(super) fn indicator(
    id: String,
    values: &[(ValueKind, String)],
    time: DateTime<Utc>,
    tlp: Tlp,
) -> Map<String, Value> {
    let t = stix_time(time);
    let pattern: Vec<String> = values.iter().map(|(k, v)| k.pattern(v)).collect();
    let name: Vec<&str> = values.iter().map(|(_, v)| v.as_str()).collect();
    let Value::Object(m) = json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": id,
        "created": t,
        "modified": t,
        "name": name.join("|"),
        "pattern": pattern.join(" OR "),
        "pattern_type": "stix",
        "valid_from": t,
        "indicator_types": ["malicious-activity"],
        "object_marking_refs": [tlp.marking_definition_id()],
    }) else {
        return Map::new();
    };
    m
}

/// The STIX name of a hash algorithm.
fn hash_name(kind: ValueKind) -> Option<&'static str> {
    match kind {
        ValueKind::Md5 => Some("MD5"),
        ValueKind::Sha1 => Some("SHA-1"),
        ValueKind::Sha256 => Some("SHA-256"),
        ValueKind::Sha512 => Some("SHA-512"),
        _ => None,
    }
}

/// A cyber-observable holding one normalised value (a file: its hash, and its name if
/// known), with the id STIX 2.1 derives from its id-contributing properties (UUIDv5 of
/// their canonical JSON), so every producer names the same value alike.
pub(super) fn observable(kind: ValueKind, value: &str, file_name: Option<&str>, tlp: Tlp) -> Value {
    let (stix_type, mut props) = match hash_name(kind) {
        Some(algo) => {
            let mut p = json!({ "hashes": { algo: value } });
            if let Some(n) = file_name {
                p["name"] = json!(n);
            }
            ("file", p)
        }
        None => {
            let t = match kind {
                ValueKind::Ipv4 => "ipv4-addr",
                ValueKind::Ipv6 => "ipv6-addr",
                ValueKind::Domain => "domain-name",
                ValueKind::Url => "url",
                _ => "email-addr",
            };
            (t, json!({ "value": value }))
        }
    };
    let canonical = serde_jcs::to_string(&props).unwrap_or_else(|_| props.to_string());
    props["type"] = json!(stix_type);
    props["spec_version"] = json!("2.1");
    props["id"] = json!(format!(
        "{stix_type}--{}",
        Uuid::new_v5(&SCO_NAMESPACE, canonical.as_bytes())
    ));
    props["object_marking_refs"] = json!([tlp.marking_definition_id()]);
    props
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sharing::stix::check;

    #[test]
    fn tlp_levels_are_read_from_words_and_markings() {
        assert_eq!(tlp_named("TLP:WHITE", true), Some(Tlp::Clear));
        assert_eq!(tlp_named("tlp:amber+strict", true), Some(Tlp::AmberStrict));
        assert_eq!(tlp_named("amber", true), None);
        assert_eq!(tlp_named(" Amber ", false), Some(Tlp::Amber));
        assert_eq!(tlp_named("tlp:ex:chr", true), None);
        let v1 = json!(["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]);
        assert_eq!(tlp_of_refs(Some(&v1)), Some(Tlp::Green));
        assert_eq!(tlp_of_refs(Some(&json!(["x"]))), None);
    }

    #[test]
    fn typed_values_are_split_refanged_and_checked() {
        let t = typed("domain|ip", "evil[.]example.com|2001:DB8::1")
            .unwrap()
            .unwrap();
        assert_eq!(
            t.values,
            vec![
                (ValueKind::Domain, "evil.example.com".into()),
                (ValueKind::Ipv6, "2001:db8::1".into())
            ]
        );
        let f = typed("FILENAME|MD5", "a|b.exe|D41D8CD98F00B204E9800998ECF8427E")
            .unwrap()
            .unwrap();
        assert_eq!(f.file_name.as_deref(), Some("a|b.exe"));
        assert_eq!(
            typed("ip-dst|port", "203.0.113.7|99999").unwrap_err(),
            "the port after '|' must be a number from 0 to 65535; got '99999'"
        );
        assert!(typed("uri", "/admin.php")
            .unwrap_err()
            .contains("relative uri"));
        assert!(typed("mutex", "x").unwrap().is_none());
        assert!(typed("ip-src", "not-an-ip")
            .unwrap_err()
            .contains("not an IP address"));
    }

    #[test]
    fn observable_ids_follow_stix_and_pass_the_check() {
        // The ids the OASIS library (cti-python-stix2) gives the same observables.
        let o = observable(ValueKind::Ipv4, "198.51.100.3", None, Tlp::Green);
        assert_eq!(o["id"], "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4");
        let f = observable(ValueKind::Sha256, &"a".repeat(64), Some("x.exe"), Tlp::Red);
        assert_eq!(f["id"], "file--2c9bf050-fbc0-588a-992c-6a88a6f56651");
        for v in [o, f] {
            check(v, "org", "").expect("valid observable");
        }
        let values = [(ValueKind::Domain, "evil.example.com".to_string())];
        assert_eq!(indicator_id(&values), indicator_id(&values));
        let i = indicator(indicator_id(&values), &values, Utc::now(), Tlp::Amber);
        check(Value::Object(i), "org", "").expect("valid indicator");
    }
}
