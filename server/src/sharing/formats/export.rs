//! Export, streamed to any `std::io::Write` one object at a time (an HTTP body, a file): a
//! STIX 2.1 bundle, a MISP event or CSV (block lists: [`super::blocklist`]). No writer keeps
//! the objects it was given; each is finished with `finish`, which returns the sink.

use super::build::{derived_uuid, tlp_of_refs, tlp_tag};
use super::csv::FORMULA;
use crate::sharing::values::of_object;
use chrono::{DateTime, Utc};
use cirhub_shared::sharing::{Tlp, ValueKind};
use serde_json::{json, Map, Value};
use std::io::{self, Write};
use uuid::Uuid;

/// A STIX 2.1 bundle: `{"type":"bundle","id":...,"objects":[` ... `]}`.
pub struct BundleWriter<W: Write> {
    w: W,
    first: bool,
}

impl<W: Write> BundleWriter<W> {
    /// Starts a bundle with a fresh id.
    pub fn new(w: W) -> io::Result<Self> {
        Self::with_id(w, &format!("bundle--{}", Uuid::new_v4()))
    }

    /// Starts a bundle with the given id (`bundle--<UUID>`).
    pub fn with_id(mut w: W, id: &str) -> io::Result<Self> {
        w.write_all(b"{\"type\":\"bundle\",\"id\":")?;
        serde_json::to_writer(&mut w, id)?;
        w.write_all(b",\"objects\":[")?;
        Ok(BundleWriter { w, first: true })
    }

    /// Writes one object as it is.
    pub fn object(&mut self, object: &Value) -> io::Result<()> {
        if !self.first {
            self.w.write_all(b",")?;
        }
        self.first = false;
        serde_json::to_writer(&mut self.w, object)?;
        Ok(())
    }

    /// Closes the bundle.
    pub fn finish(mut self) -> io::Result<W> {
        self.w.write_all(b"]}")?;
        self.w.flush()?;
        Ok(self.w)
    }
}

/// The MISP attribute type and category of a kind of value.
fn misp_type(kind: ValueKind) -> (&'static str, &'static str) {
    match kind {
        ValueKind::Ipv4 | ValueKind::Ipv6 => ("ip-dst", "Network activity"),
        ValueKind::Domain => ("domain", "Network activity"),
        ValueKind::Url => ("url", "Network activity"),
        ValueKind::Email => ("email-src", "Payload delivery"),
        ValueKind::Md5 => ("md5", "Payload delivery"),
        ValueKind::Sha1 => ("sha1", "Payload delivery"),
        ValueKind::Sha256 => ("sha256", "Payload delivery"),
        ValueKind::Sha512 => ("sha512", "Payload delivery"),
    }
}

fn text<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Value::as_str)
}

/// When an object last changed (`modified`, else `created`).
fn changed(o: &Map<String, Value>) -> Option<DateTime<Utc>> {
    let t = text(o, "modified").or_else(|| text(o, "created"))?;
    Some(DateTime::parse_from_rfc3339(t).ok()?.with_timezone(&Utc))
}

/// A MISP event whose attributes are the values of the STIX objects given: indicators'
/// values for detection (`to_ids`), observables' for context. Loads in PyMISP
/// (`MISPEvent().load(...)`) and MISP's event import.
pub struct MispWriter<W: Write> {
    w: W,
    first: bool,
    tlp: Tlp,
    now: DateTime<Utc>,
}

impl<W: Write> MispWriter<W> {
    /// Starts an event; `tlp` tags the event and every object that carries no marking.
    pub fn new(
        mut w: W,
        info: &str,
        event_uuid: Uuid,
        tlp: Tlp,
        now: DateTime<Utc>,
    ) -> io::Result<Self> {
        let head = json!({
            "info": info,
            "uuid": event_uuid.hyphenated().to_string(),
            "date": now.format("%Y-%m-%d").to_string(),
            "timestamp": now.timestamp().to_string(),
            // 4 undefined; analysis 0 initial; distribution 0 this organisation only:
            // the receiving MISP widens it, never this file.
            "threat_level_id": "4",
            "analysis": "0",
            "distribution": "0",
            "published": false,
            "Tag": [{ "name": tlp_tag(tlp) }],
        });
        w.write_all(b"{\"Event\":{")?;
        if let Value::Object(fields) = head {
            for (k, v) in &fields {
                serde_json::to_writer(&mut w, k)?;
                w.write_all(b":")?;
                serde_json::to_writer(&mut w, v)?;
                w.write_all(b",")?;
            }
        }
        w.write_all(b"\"Attribute\":[")?;
        Ok(MispWriter {
            w,
            first: true,
            tlp,
            now,
        })
    }

    /// Writes one attribute per indexed value of `object`; returns how many (none for
    /// objects without values, such as malware or reports).
    pub fn object(&mut self, object: &Value) -> io::Result<usize> {
        let Some(o) = object.as_object() else {
            return Ok(0);
        };
        let stix_type = text(o, "type").unwrap_or("");
        let id = text(o, "id").unwrap_or("");
        let tlp = tlp_of_refs(o.get("object_marking_refs")).unwrap_or(self.tlp);
        let timestamp = changed(o).unwrap_or(self.now).timestamp().to_string();
        let comment = text(o, "description").unwrap_or("");
        let values = of_object(stix_type, o);
        for (i, (kind, value)) in values.iter().enumerate() {
            let (misp, category) = misp_type(*kind);
            let attribute = json!({
                "uuid": derived_uuid(&format!("{id}#{i}")).hyphenated().to_string(),
                "type": misp,
                "category": category,
                "value": value,
                "to_ids": stix_type == "indicator",
                // 5: as the event.
                "distribution": "5",
                "timestamp": timestamp,
                "comment": comment,
                "disable_correlation": false,
                "Tag": [{ "name": tlp_tag(tlp) }],
            });
            if !self.first {
                self.w.write_all(b",")?;
            }
            self.first = false;
            serde_json::to_writer(&mut self.w, &attribute)?;
        }
        Ok(values.len())
    }

    /// Closes the event.
    pub fn finish(mut self) -> io::Result<W> {
        self.w.write_all(b"]}}")?;
        self.w.flush()?;
        Ok(self.w)
    }
}

/// A cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) is written
/// behind a `'` (as is one that already starts with such a `'`); the CSV importer takes it
/// off again.
fn guard(cell: &str) -> String {
    let quoted = cell
        .strip_prefix('\'')
        .is_some_and(|rest| rest.starts_with(FORMULA));
    if quoted || cell.starts_with(&FORMULA[..4]) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

/// CSV with the columns the importer reads: `type,value,tlp,category,comment`, one row per
/// indexed value.
pub struct CsvWriter<W: Write> {
    w: ::csv::Writer<W>,
}

impl<W: Write> CsvWriter<W> {
    /// Starts the file with its header row.
    pub fn new(w: W) -> io::Result<Self> {
        let mut w = ::csv::Writer::from_writer(w);
        w.write_record(["type", "value", "tlp", "category", "comment"])?;
        Ok(CsvWriter { w })
    }

    /// Writes one row per indexed value of `object`; returns how many.
    pub fn object(&mut self, object: &Value) -> io::Result<usize> {
        let Some(o) = object.as_object() else {
            return Ok(0);
        };
        let stix_type = text(o, "type").unwrap_or("");
        let tlp = tlp_of_refs(o.get("object_marking_refs")).map_or("", Tlp::as_str);
        let words = |key: &str| -> Vec<String> {
            o.get(key)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default()
        };
        let category = [words("indicator_types"), words("labels")]
            .concat()
            .join(";");
        let comment = text(o, "description").unwrap_or("");
        let values = of_object(stix_type, o);
        for (kind, value) in &values {
            self.w.write_record([
                kind.as_str(),
                &guard(value),
                tlp,
                &guard(&category),
                &guard(comment),
            ])?;
        }
        Ok(values.len())
    }

    /// Flushes the last rows.
    pub fn finish(self) -> io::Result<W> {
        self.w.into_inner().map_err(|e| e.into_error())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{checked, defaults, read_all};
    use super::super::Format;
    use super::*;
    use crate::sharing::values::of_object;

    fn objects() -> Vec<Value> {
        let t = "2026-01-02T03:04:05.000Z";
        vec![
            json!({"type": "indicator", "spec_version": "2.1",
                "id": "indicator--0b6c3e8a-2a5c-4f6e-9a53-0c6a4f1f2a11", "created": t, "modified": t,
                "pattern": "[ipv4-addr:value = '198.51.100.0/24'] OR [domain-name:value = 'evil.example.com']",
                "pattern_type": "stix", "valid_from": t,
                "indicator_types": ["compromised"], "labels": ["c2, \"quoted\""],
                "description": "=HYPERLINK(\"http://x\")\nsecond line",
                "object_marking_refs": [Tlp::AmberStrict.marking_definition_id()]}),
            json!({"type": "url", "spec_version": "2.1", "id": "url--4a1e8c7e-2f6b-5b55-9e3e-7d0c3b1d6f20",
                "value": "http://evil.example.com/a,b", "object_marking_refs": [Tlp::Red.marking_definition_id()]}),
            json!({"type": "file", "spec_version": "2.1", "id": "file--2c9bf050-fbc0-588a-992c-6a88a6f56651",
                "hashes": {"SHA-256": "a".repeat(64), "MD5": "d41d8cd98f00b204e9800998ecf8427e"}}),
            json!({"type": "malware", "spec_version": "2.1", "id": "malware--2c9bf050-fbc0-588a-992c-6a88a6f56651",
                "created": t, "modified": t, "name": "Emotet", "is_family": true,
                "object_marking_refs": [Tlp::Clear.marking_definition_id()]}),
        ]
    }

    fn values(objects: &[Value]) -> Vec<(ValueKind, String)> {
        let mut all: Vec<(ValueKind, String)> = objects
            .iter()
            .filter_map(Value::as_object)
            .flat_map(|o| of_object(o.get("type").and_then(Value::as_str).unwrap_or(""), o))
            .collect();
        all.sort();
        all
    }

    #[test]
    fn a_written_bundle_reads_back_as_the_same_objects() {
        let mut w = BundleWriter::new(Vec::new()).expect("write");
        for o in objects() {
            w.object(&o).expect("write");
        }
        let bytes = w.finish().expect("write");
        let (records, end) = read_all(Format::StixBundle, &bytes);
        assert_eq!(end.expect("read").objects, 4);
        let read: Vec<Value> = records.into_iter().filter_map(|r| r.object.ok()).collect();
        let mut expected = objects();
        expected[2]["object_marking_refs"] = json!([defaults().tlp.marking_definition_id()]);
        assert_eq!(
            read, expected,
            "as written, plus the default marking where none"
        );
        let empty = BundleWriter::with_id(Vec::new(), "bundle--1").and_then(BundleWriter::finish);
        assert_eq!(
            empty.ok(),
            Some(br#"{"type":"bundle","id":"bundle--1","objects":[]}"#.to_vec())
        );
    }

    #[test]
    fn a_written_csv_reads_back_as_the_same_values() {
        let mut w = CsvWriter::new(Vec::new()).expect("write");
        let rows: usize = objects().iter().map(|o| w.object(o).unwrap_or(0)).sum();
        let bytes = w.finish().expect("write");
        let text = String::from_utf8_lossy(&bytes).to_string();
        assert!(text.starts_with("type,value,tlp,category,comment\n"));
        assert!(
            text.contains(",\"'=HYPERLINK("),
            "a formula is guarded: {text}"
        );
        let (records, end) = read_all(Format::Csv, &bytes);
        assert_eq!(end.expect("read").objects, rows as u64);
        let back = checked(&records);
        let objs: Vec<Value> = back
            .iter()
            .map(|c| Value::Object(c.object.clone()))
            .collect();
        assert_eq!(values(&objs), values(&objects()));
        let first = &back[0].object;
        assert_eq!(
            (back[0].tlp, back[2].tlp, back[3].tlp),
            (Tlp::AmberStrict, Tlp::Red, Tlp::Green)
        );
        assert_eq!(first["description"], objects()[0]["description"]);
        assert_eq!(first["indicator_types"], json!(["compromised"]));
        assert_eq!(first["labels"], json!(["c2, \"quoted\""]));
    }

    #[test]
    fn a_written_misp_event_reads_back_with_its_tags() {
        let now = defaults().now;
        let event = Uuid::from_u128(7);
        let mut w =
            MispWriter::new(Vec::new(), "Shared \"wave\"", event, Tlp::Amber, now).expect("write");
        let n: usize = objects().iter().map(|o| w.object(o).unwrap_or(0)).sum();
        let bytes = w.finish().expect("write");
        let doc: Value = serde_json::from_slice(&bytes).expect("JSON");
        let e = &doc["Event"];
        assert_eq!(
            (e["info"].clone(), e["date"].clone()),
            (json!("Shared \"wave\""), json!("2026-01-01"))
        );
        assert_eq!(e["Tag"], json!([{"name": "tlp:amber"}]));
        let attrs = e["Attribute"].as_array().cloned().unwrap_or_default();
        assert_eq!(attrs.len(), n);
        let summary: Vec<(&str, &str, bool, &str)> = attrs
            .iter()
            .map(|a| {
                (
                    a["type"].as_str().unwrap_or(""),
                    a["value"].as_str().unwrap_or(""),
                    a["to_ids"] == json!(true),
                    a["Tag"][0]["name"].as_str().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            summary[..3],
            [
                ("ip-dst", "198.51.100.0/24", true, "tlp:amber+strict"),
                ("domain", "evil.example.com", true, "tlp:amber+strict"),
                ("url", "http://evil.example.com/a,b", false, "tlp:red"),
            ]
        );
        assert_eq!(attrs[0]["timestamp"], "1767323045");
        assert_eq!(
            attrs[4]["Tag"][0]["name"], "tlp:amber",
            "unmarked: the event's TLP"
        );
        // Deterministic: the same objects give the same attribute ids.
        let mut again = MispWriter::new(Vec::new(), "x", event, Tlp::Amber, now).expect("write");
        again.object(&objects()[0]).expect("write");
        let again: Value = serde_json::from_slice(&again.finish().expect("write")).expect("JSON");
        assert_eq!(again["Event"]["Attribute"][0]["uuid"], attrs[0]["uuid"]);

        let (records, end) = read_all(Format::Misp, &bytes);
        assert_eq!(end.expect("read").rejected, 0);
        let back = checked(&records);
        let objs: Vec<Value> = back
            .iter()
            .map(|c| Value::Object(c.object.clone()))
            .collect();
        assert_eq!(values(&objs), values(&objects()));
        assert_eq!(back[0].tlp, Tlp::AmberStrict);
        assert_eq!(back[0].stix_type, "indicator");
        assert_eq!(back[2].stix_type, "url");
    }
}
