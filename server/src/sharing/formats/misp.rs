//! MISP JSON input, as MISP's REST API and PyMISP write it: `{"Event": {...}}`,
//! `{"response": [{"Event": ...}]}`, a list of those, or a bare event. Read in two passes
//! because MISP often writes an event's `Tag` after its `Attribute` list: the first reads
//! only what attributes inherit (TLP tags, timestamps), skipping the attributes unparsed;
//! the second streams the attributes, objects and galaxies one at a time.

use super::json::{self, EachValue};
use super::misp_de::Top;
use super::misp_map::{self, EventInfo};
use super::{Capped, Defaults, Open, ReadError, Sink};
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess};
use serde_json::Value;
use std::io::BufRead;
use std::marker::PhantomData;

pub(super) const WHAT: &str = "a MISP event {\"Event\": {...}}, a MISP response {\"response\": [{\"Event\": ...}]}, or a list of events";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// What each event's attributes inherit.
    Events,
    /// The attributes, objects and galaxies.
    Records,
}

pub(super) struct Walk<'w, 'a, E> {
    pass: Pass,
    events: Vec<EventInfo>,
    /// Events met so far in this pass (both passes meet them in the same order).
    met: usize,
    defaults: &'w Defaults,
    sink: &'w mut Sink<'a, E>,
}

pub(super) fn read<E>(
    open: &mut Open<'_>,
    defaults: &Defaults,
    sink: &mut Sink<'_, E>,
) -> Result<(), ReadError<E>> {
    let mut walk = Walk {
        pass: Pass::Events,
        events: Vec::new(),
        met: 0,
        defaults,
        sink,
    };
    walk.run(open()?)?;
    if walk.events.is_empty() {
        return Err(ReadError::Malformed {
            position: "line 1".into(),
            reason: format!("no MISP event found: expected {WHAT}"),
        });
    }
    walk.pass = Pass::Records;
    walk.met = 0;
    walk.run(open()?)
}

impl<E> Walk<'_, '_, E> {
    fn run(&mut self, mut r: Box<dyn BufRead>) -> Result<(), ReadError<E>> {
        if r.fill_buf()?.is_empty() {
            return Err(ReadError::Malformed {
                position: "line 1".into(),
                reason: format!("the file is empty: expected {WHAT}"),
            });
        }
        let (capped, progress) = Capped::new(r, json::RECORD_CAP);
        self.sink.progress = Some(progress);
        let mut de = serde_json::Deserializer::from_reader(capped);
        let done = Top {
            walk: &mut *self,
            prefix: String::new(),
        }
        .deserialize(&mut de)
        .and_then(|()| de.end());
        done.map_err(|e| json::error(e, self.sink, WHAT))
    }

    /// The index of the event that starts here.
    pub(super) fn begin(&mut self) -> usize {
        if self.pass == Pass::Events {
            self.events.push(EventInfo::default());
        }
        self.met += 1;
        self.met - 1
    }

    fn event(&self, idx: usize) -> EventInfo {
        self.events.get(idx).copied().unwrap_or_default()
    }

    fn attribute(&mut self, idx: usize, at: String, v: Value) -> bool {
        match misp_map::attribute(v, &self.event(idx), self.defaults) {
            Ok(objects) if objects.is_empty() => {
                self.sink.skip();
                true
            }
            Ok(objects) => objects
                .into_iter()
                .all(|o| self.sink.emit(at.clone(), Ok(o))),
            Err(why) => self.sink.emit(at, Err(why)),
        }
    }

    /// A MISP object: its attributes are mapped like the event's own.
    fn object(&mut self, idx: usize, at: String, v: Value) -> bool {
        let Value::Object(mut o) = v else {
            let why = format!(
                "must be a MISP object (a JSON object); found {}",
                json::kind_of(&v)
            );
            return self.sink.emit(at, Err(why));
        };
        let Some(Value::Array(attributes)) = o.remove("Attribute") else {
            return true;
        };
        attributes
            .into_iter()
            .enumerate()
            .all(|(j, a)| self.attribute(idx, format!("{at}.Attribute[{j}]"), a))
    }

    fn galaxy(&mut self, idx: usize, at: String, v: Value) -> bool {
        let kind = v
            .get("type")
            .and_then(Value::as_str)
            .and_then(misp_map::galaxy_kind);
        let (Some(kind), Value::Object(mut g)) = (kind, v) else {
            self.sink.skip();
            return true;
        };
        let Some(Value::Array(clusters)) = g.remove("GalaxyCluster") else {
            return true;
        };
        let event = self.event(idx);
        clusters.into_iter().enumerate().all(|(j, c)| {
            let object = misp_map::cluster(kind, c, &event, self.defaults);
            self.sink.emit(format!("{at}.GalaxyCluster[{j}]"), object)
        })
    }

    /// One field of event `idx`; `base` is the event's path (empty for a bare event).
    pub(super) fn field<'de, A: MapAccess<'de>>(
        &mut self,
        idx: usize,
        key: &str,
        map: &mut A,
        base: &str,
    ) -> Result<(), A::Error> {
        let at = if base.is_empty() {
            key.to_string()
        } else {
            format!("{base}.{key}")
        };
        self.sink.mark();
        let list = match key {
            "Attribute" => Some("an event's Attribute: a list of MISP attributes"),
            "Object" => Some("an event's Object: a list of MISP objects"),
            "Galaxy" => Some("an event's Galaxy: a list of MISP galaxies"),
            _ => None,
        };
        let what = match (self.pass, list) {
            (Pass::Events, None) if matches!(key, "Tag" | "timestamp" | "date") => {
                let v: Value = map.next_value()?;
                if let Some(e) = self.events.get_mut(idx) {
                    e.set(key, &v);
                }
                return Ok(());
            }
            (Pass::Events, Some(what)) => {
                // Skipped unparsed, one element at a time.
                let sink = &*self.sink;
                return map.next_value_seed(EachValue {
                    what,
                    f: |_, _: IgnoredAny| {
                        sink.mark();
                        true
                    },
                    element: PhantomData,
                });
            }
            (Pass::Records, Some(what)) => what,
            _ => {
                map.next_value::<IgnoredAny>()?;
                return Ok(());
            }
        };
        map.next_value_seed(EachValue::new(what, |i, v| {
            let at = format!("{at}[{i}]");
            match key {
                "Attribute" => self.attribute(idx, at, v),
                "Object" => self.object(idx, at, v),
                _ => self.galaxy(idx, at, v),
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{checked, defaults, read_all, rejected};
    use super::super::{read, Format, Summary};
    use super::*;
    use cirhub_shared::sharing::Tlp;
    use serde_json::json;

    /// An event as PyMISP writes it: bare, with the event's Tag after its attributes.
    const EVENT: &str = r#"{
        "uuid": "ed3bd1bb-6489-448f-a6c0-9000859fdf5b",
        "timestamp": "1767225600",
        "Attribute": [
            {"uuid": "6dd2b1c9-8161-45e0-853a-d3a1ff52a3b2", "type": "ip-dst",
             "value": "203.0.113[.]7", "to_ids": true, "comment": "C2"},
            {"type": "url", "value": "hxxp://evil[.]example.com/a", "to_ids": false},
            {"type": "text", "value": "see report", "to_ids": false},
            {"type": "sha256", "value": "abc", "to_ids": true},
            {"type": "md5", "value": "d41d8cd98f00b204e9800998ecf8427e", "to_ids": true,
             "deleted": true},
            {"type": "email-src", "value": "x@evil.example.com", "to_ids": "1",
             "timestamp": "1767312000", "Tag": [{"name": "tlp:red"}]}
        ],
        "Object": [{"name": "domain-ip", "Attribute": [
            {"type": "domain", "value": "evil.example.com", "to_ids": true},
            {"type": "port", "value": "443", "to_ids": false}
        ]}],
        "Galaxy": [
            {"type": "mitre-attack-pattern", "GalaxyCluster": [
                {"value": "Phishing - T1566", "uuid": "a62a8db3-f23a-4d8f-afd6-9dbc77e7813b",
                 "meta": {"external_id": ["T1566"]}}]},
            {"type": "threat-actor", "GalaxyCluster": [{"value": "APT0"}]},
            {"type": "malpedia", "GalaxyCluster": [{"value": "Emotet"}, {"uuid": "x"}]}
        ],
        "Tag": [{"name": "tlp:amber"}, {"name": "misp-galaxy:threat-actor=\"APT0\""}],
        "info": "Phishing wave"
    }"#;

    #[test]
    fn an_event_read_in_two_passes_inherits_a_tag_written_after_its_attributes() {
        let (records, end) = read_all(Format::Misp, EVENT.as_bytes());
        assert_eq!(
            end.expect("read to the end"),
            Summary {
                objects: 6,
                rejected: 4,
                skipped: 2
            }
        );
        let objects = checked(&records);
        let got: Vec<(&str, &str, Tlp)> = records
            .iter()
            .filter(|r| r.object.is_ok())
            .zip(&objects)
            .map(|(r, c)| (r.position.as_str(), c.stix_type.as_str(), c.tlp))
            .collect();
        assert_eq!(
            got,
            [
                ("Attribute[0]", "indicator", Tlp::Amber),
                ("Attribute[1]", "url", Tlp::Amber),
                ("Attribute[5]", "indicator", Tlp::Red),
                ("Object[0].Attribute[0]", "indicator", Tlp::Amber),
                ("Galaxy[0].GalaxyCluster[0]", "attack-pattern", Tlp::Amber),
                ("Galaxy[2].GalaxyCluster[0]", "malware", Tlp::Amber),
            ]
        );
        assert_eq!(
            objects[0].object["pattern"],
            "[ipv4-addr:value = '203.0.113.7']"
        );
        assert_eq!(objects[0].object["created"], "2026-01-01T00:00:00.000Z");
        assert_eq!(objects[1].object["value"], "http://evil.example.com/a");
        assert_eq!(objects[2].object["created"], "2026-01-02T00:00:00.000Z");
        let bad = rejected(&records);
        let positions: Vec<&str> = bad.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            positions,
            [
                "Attribute[2]",
                "Attribute[3]",
                "Object[0].Attribute[1]",
                "Galaxy[2].GalaxyCluster[1]"
            ]
        );
        assert!(bad[0]
            .1
            .starts_with("MISP type text is not exchanged; supported: ip-src"));
        assert!(
            bad[1].1.starts_with("value 'abc' is not a hash"),
            "{}",
            bad[1].1
        );
        assert!(bad[3].1.contains("no value"));
    }

    #[test]
    fn wrapped_listed_and_rest_responses_name_each_event() {
        let green = EVENT.replace("tlp:amber", "TLP:WHITE");
        let cases = [
            (
                format!(r#"{{"Event": {EVENT}}}"#),
                "Event.Attribute[0]",
                Tlp::Amber,
            ),
            (
                format!(r#"{{"response": [{{"Event": {green}}}]}}"#),
                "response[0].Event.Attribute[0]",
                Tlp::Clear,
            ),
            (
                format!(r#"[{{"Event": {EVENT}}}, {{"Event": {green}}}]"#),
                "[1].Event.Attribute[0]",
                Tlp::Clear,
            ),
        ];
        for (file, last, tlp) in cases {
            let (records, end) = read_all(Format::Misp, file.as_bytes());
            end.expect("read to the end");
            let first_of_last = records
                .iter()
                .rev()
                .find(|r| r.position.ends_with("Event.Attribute[0]"))
                .expect("an attribute");
            assert_eq!(first_of_last.position, last);
            let c = checked(std::slice::from_ref(first_of_last));
            assert_eq!(c[0].tlp, tlp, "{last}");
        }
        let untagged = json!({"Event": {"info": "x", "Attribute": [
            {"type": "hostname", "value": "a.example.org", "to_ids": true}]}});
        let (records, _) = read_all(Format::Misp, untagged.to_string().as_bytes());
        let c = checked(&records);
        assert_eq!(
            (c[0].tlp, c[0].object["created"].clone()),
            (Tlp::Green, json!("2026-01-01T00:00:00.000Z"))
        );
    }

    #[test]
    fn a_truncated_or_foreign_file_ends_the_read() {
        let whole = format!(r#"{{"Event": {EVENT}}}"#);
        let cut = &whole[..whole.len() / 2];
        let (_, end) = read_all(Format::Misp, cut.as_bytes());
        let Err(ReadError::Malformed { position, reason }) = end else {
            panic!("truncated event accepted");
        };
        let line = 1 + cut.matches('\n').count();
        assert!(
            position.starts_with(&format!("line {line}, column ")),
            "{position}"
        );
        assert!(reason.contains("truncated"), "{reason}");
        for (text, says) in [
            (
                r#"{"type": "bundle", "objects": []}"#,
                "no MISP event found",
            ),
            ("", "the file is empty"),
            ("ip,value", "not valid JSON"),
            (
                r#"{"Event": {"Attribute": 7}}"#,
                "a list of MISP attributes",
            ),
        ] {
            let (_, end) = read_all(Format::Misp, text.as_bytes());
            let Err(ReadError::Malformed { reason, .. }) = end else {
                panic!("{text} accepted");
            };
            assert!(reason.contains(says), "{text}: {reason}");
        }
    }

    #[test]
    fn the_file_is_opened_twice_and_read_as_a_stream_each_time() {
        let data = format!(r#"{{"Event": {EVENT}}}"#).into_bytes();
        let mut opened = 0;
        let mut open = || -> std::io::Result<Box<dyn BufRead>> {
            opened += 1;
            Ok(Box::new(std::io::Cursor::new(data.clone())))
        };
        let mut n = 0;
        read(Format::Misp, &mut open, &defaults(), &mut |_| {
            n += 1;
            Ok::<(), ()>(())
        })
        .expect("read");
        assert_eq!((opened, n), (2, 10));
    }
}
