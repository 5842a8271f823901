//! STIX 2.1 input: a bundle (keys in any order) whose `objects` list is visited element by
//! element, a bare JSON list of objects, or JSON lines with one object per line. Objects go
//! on as sent, given the default TLP marking when they carry none; marking definitions and
//! identities are context, not records.

use super::build::tlp_of_refs;
use super::json::{self, EachValue, STOPPED};
use super::lines::read_lines;
use super::{Capped, Defaults, ReadError, Sink};
use crate::sharing::stix::MAX_OBJECT_BYTES;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;
use std::io::{BufRead, Cursor, Read};

/// How much of the first line is looked at to tell JSON lines from a bundle: a first line
/// longer than any object the hub accepts is read as a bundle (or as values one after
/// another, which JSON lines also are).
const SNIFF_CAP: usize = 2 * MAX_OBJECT_BYTES;

const WHAT: &str = "a STIX 2.1 bundle {\"type\": \"bundle\", \"objects\": [...]}, a list of STIX objects, or one STIX object per line";

/// An object ready to pass on: `None` for what is skipped, `Err` for what is not an object.
fn prepare(v: Value, defaults: &Defaults) -> Option<Result<Value, String>> {
    let Value::Object(mut obj) = v else {
        return Some(Err(format!(
            "must be a STIX object (a JSON object); found {}",
            json::kind_of(&v)
        )));
    };
    let stix_type = obj.get("type").and_then(Value::as_str);
    if matches!(stix_type, Some("marking-definition" | "identity")) {
        return None;
    }
    if tlp_of_refs(obj.get("object_marking_refs")).is_none() {
        let marking = Value::String(defaults.tlp.marking_definition_id().into());
        match obj.get_mut("object_marking_refs") {
            Some(Value::Array(refs)) => refs.push(marking),
            None => {
                obj.insert("object_marking_refs".into(), Value::Array(vec![marking]));
            }
            // Not a list: left for the check to name.
            Some(_) => {}
        }
    }
    Some(Ok(Value::Object(obj)))
}

/// Passes one object on (or counts it skipped); false once the callback stopped.
pub(super) fn pass_on<E>(
    sink: &mut Sink<'_, E>,
    defaults: &Defaults,
    position: String,
    v: Value,
) -> bool {
    match prepare(v, defaults) {
        None => {
            sink.skip();
            true
        }
        Some(object) => sink.emit(position, object),
    }
}

pub(super) fn is_bundle(obj: &Map<String, Value>) -> bool {
    obj.get("type").and_then(Value::as_str) == Some("bundle") || obj.contains_key("objects")
}

/// Reads a bundle, a list, or JSON lines: the first non-blank line tells which (a complete
/// object that is not a bundle means JSON lines, where a bad line is one bad record).
pub(super) fn read<E>(
    mut r: Box<dyn BufRead>,
    defaults: &Defaults,
    sink: &mut Sink<'_, E>,
) -> Result<(), ReadError<E>> {
    // Whatever is read here is put back in front of the rest, so nothing is read twice.
    let mut head = Vec::new();
    let (start, complete) = loop {
        let start = head.len();
        let limit = SNIFF_CAP.saturating_sub(start);
        let n = (&mut r).take(limit as u64).read_until(b'\n', &mut head)?;
        let line = &head[start..];
        let complete = line.ends_with(b"\n") || n < limit;
        if n == 0 || !complete || !line.trim_ascii().is_empty() || !line.ends_with(b"\n") {
            break (start, complete);
        }
    };
    if head.trim_ascii().is_empty() {
        return Err(ReadError::Malformed {
            position: "line 1".into(),
            reason: format!("the file is empty: expected {WHAT}"),
        });
    }
    let lines = complete
        && matches!(serde_json::from_slice(&head[start..]), Ok(Value::Object(o)) if !is_bundle(&o));
    let stream = Cursor::new(head).chain(r);
    if lines {
        read_lines(stream, defaults, sink)
    } else {
        read_json(stream, defaults, sink)
    }
}

fn read_json<E>(
    r: impl BufRead,
    defaults: &Defaults,
    sink: &mut Sink<'_, E>,
) -> Result<(), ReadError<E>> {
    let (capped, progress) = Capped::new(r, json::RECORD_CAP);
    sink.progress = Some(progress);
    let mut de = serde_json::Deserializer::from_reader(capped);
    let mut k = 0;
    // One value, or several one after another (concatenated bundles).
    loop {
        match de.end() {
            Ok(()) => return Ok(()),
            Err(e) if e.is_io() => return Err(json::error(e, sink, WHAT)),
            Err(_) => {}
        }
        k += 1;
        let done = Top {
            sink: &mut *sink,
            defaults,
            k,
        }
        .deserialize(&mut de);
        done.map_err(|e| json::error(e, sink, WHAT))?;
    }
}

/// One top-level JSON value: a bundle, a list of objects, or one object.
struct Top<'s, 'a, E> {
    sink: &'s mut Sink<'a, E>,
    defaults: &'s Defaults,
    /// Which top-level value this is (1 for the usual single bundle).
    k: usize,
}

impl<'s, 'a, E> Top<'s, 'a, E> {
    fn prefix(&self, what: &str) -> String {
        if self.k > 1 {
            format!("{what} {} ", self.k)
        } else {
            String::new()
        }
    }
}

impl<'de, E> DeserializeSeed<'de> for Top<'_, '_, E> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, E> Visitor<'de> for Top<'_, '_, E> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(WHAT)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let prefix = self.prefix("bundle");
        let (sink, defaults) = (self.sink, self.defaults);
        let mut fields = Map::new();
        let mut bundle = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "objects" {
                bundle = true;
                map.next_value_seed(EachValue::new(
                    "the bundle's objects: a list of STIX objects",
                    |i, v| pass_on(sink, defaults, format!("{prefix}objects[{i}]"), v),
                ))?;
            } else {
                sink.mark();
                let v: Value = map.next_value()?;
                fields.insert(key, v);
            }
        }
        let typed_bundle = fields.get("type").and_then(Value::as_str) == Some("bundle");
        if typed_bundle {
            Ok(())
        } else if bundle {
            Err(de::Error::custom(
                "an object holding an objects list must be a STIX bundle: set \"type\": \"bundle\"",
            ))
        } else if pass_on(
            sink,
            defaults,
            format!("object {}", self.k),
            Value::Object(fields),
        ) {
            Ok(())
        } else {
            Err(de::Error::custom(STOPPED))
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let prefix = self.prefix("list");
        let mut i = 0;
        while let Some(v) = seq.next_element::<Value>()? {
            if !pass_on(self.sink, self.defaults, format!("{prefix}[{i}]"), v) {
                return Err(de::Error::custom(STOPPED));
            }
            i += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{checked, defaults, ioc, read_all, rejected};
    use super::super::{read, Format, Record, Summary};
    use super::*;
    use cirhub_shared::sharing::Tlp;
    use serde_json::json;
    use std::cell::Cell;
    use std::rc::Rc;

    #[test]
    fn a_bundle_with_keys_in_any_order_gives_each_object_and_rejects_the_bad() {
        let mut red = ioc(2);
        red["object_marking_refs"] = json!([Tlp::Red.marking_definition_id()]);
        let mut v1 = ioc(3);
        v1["object_marking_refs"] =
            json!(["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"]);
        let bundle = json!({
            "objects": [
                ioc(1), "203.0.113.9", red,
                {"type": "marking-definition", "id": "marking-definition--x"},
                {"type": "identity", "id": "identity--x", "name": "ACME"},
                v1, 42
            ],
            "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
            "type": "bundle"
        });
        let (records, end) = read_all(Format::StixBundle, bundle.to_string().as_bytes());
        let summary = end.expect("read to the end");
        assert_eq!(
            summary,
            Summary {
                objects: 3,
                rejected: 2,
                skipped: 2
            }
        );
        let positions: Vec<&str> = records.iter().map(|r| r.position.as_str()).collect();
        assert_eq!(
            positions,
            [
                "objects[0]",
                "objects[1]",
                "objects[2]",
                "objects[5]",
                "objects[6]"
            ]
        );
        assert_eq!(
            rejected(&records)[0].1,
            "must be a STIX object (a JSON object); found a string"
        );
        let tlps: Vec<Tlp> = checked(&records).iter().map(|c| c.tlp).collect();
        assert_eq!(
            tlps,
            [Tlp::Green, Tlp::Red, Tlp::Amber],
            "default only where none"
        );
    }

    #[test]
    fn a_truncated_or_foreign_file_ends_the_read_with_its_position() {
        let whole =
            json!({"type": "bundle", "id": "bundle--1", "objects": [ioc(1), ioc(2)]}).to_string();
        let cut = &whole[..whole.len() - 40];
        let (records, end) = read_all(Format::StixBundle, cut.as_bytes());
        assert_eq!(records.len(), 1, "what came before the cut was passed on");
        let Err(ReadError::Malformed { position, reason }) = end else {
            panic!("truncated bundle accepted");
        };
        assert_eq!(position, format!("line 1, column {}", cut.len()));
        assert!(reason.contains("cut off (truncated)"), "{reason}");

        for (text, says) in [
            ("type,value\nip,203.0.113.7\n", "not valid JSON"),
            ("  \n", "the file is empty"),
            ("\"just a string\"", "invalid type: string"),
            (
                "{\"type\": \"report\", \"objects\": []}",
                "must be a STIX bundle",
            ),
            (
                "{\"type\": \"bundle\", \"objects\": [1] } trailing",
                "not valid JSON",
            ),
        ] {
            let (_, end) = read_all(Format::StixBundle, text.as_bytes());
            let Err(ReadError::Malformed { reason, .. }) = end else {
                panic!("{text} accepted");
            };
            assert!(reason.contains(says), "{text}: {reason}");
        }
    }

    #[test]
    fn a_list_a_pretty_bundle_and_concatenated_bundles_are_read() {
        let pretty = serde_json::to_string_pretty(&json!({"type": "bundle", "objects": [ioc(1)]}))
            .unwrap_or_default();
        let list = json!([ioc(1), ioc(2)]).to_string();
        let two = format!("{pretty}\n{pretty}");
        let cases = [
            (pretty.clone(), vec!["objects[0]"]),
            (list, vec!["[0]", "[1]"]),
            (two, vec!["objects[0]", "bundle 2 objects[0]"]),
        ];
        for (text, expected) in cases {
            let (records, end) = read_all(Format::StixBundle, text.as_bytes());
            end.expect("read");
            let positions: Vec<&str> = records.iter().map(|r| r.position.as_str()).collect();
            assert_eq!(positions, expected);
        }
    }

    /// A bundle of `total` indicators made up while it is read, counting the bytes handed out.
    struct Generated {
        next: usize,
        total: usize,
        pending: Vec<u8>,
        produced: Rc<Cell<usize>>,
    }

    impl Read for Generated {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.pending.is_empty() {
                self.pending = match self.next {
                    0 => b"{\"id\":\"bundle--1\",\"objects\":[".to_vec(),
                    n if n <= self.total => {
                        let sep = if n > 1 { "," } else { "" };
                        format!("{sep}{}", ioc(n)).into_bytes()
                    }
                    n if n == self.total + 1 => b"],\"type\":\"bundle\"}".to_vec(),
                    _ => return Ok(0),
                };
                self.next += 1;
            }
            let n = out.len().min(self.pending.len());
            out[..n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            self.produced.set(self.produced.get() + n);
            Ok(n)
        }
    }

    #[test]
    fn a_bundle_is_streamed_not_buffered() {
        let total = 50_000;
        let produced = Rc::new(Cell::new(0));
        let counter = produced.clone();
        let mut open = move || -> std::io::Result<Box<dyn BufRead>> {
            Ok(Box::new(std::io::BufReader::new(Generated {
                next: 0,
                total,
                pending: Vec::new(),
                produced: counter.clone(),
            })))
        };
        let mut seen = 0;
        let mut produced_at_first = None;
        let summary = read(
            Format::StixBundle,
            &mut open,
            &defaults(),
            &mut |r: Record| {
                produced_at_first.get_or_insert(produced.get());
                seen += 1;
                r.object.map(|_| ())
            },
        )
        .expect("read to the end");
        assert_eq!((summary.objects, seen), (total as u64, total));
        let all = produced.get();
        let first = produced_at_first.unwrap_or(all);
        assert!(all > 10_000_000, "{all} bytes");
        assert!(
            first <= SNIFF_CAP + 8 * 1024,
            "the first object came after {first} of {all} bytes"
        );
    }

    #[test]
    fn a_string_that_never_ends_stops_the_read_instead_of_filling_memory() {
        let mut open = || -> std::io::Result<Box<dyn BufRead>> {
            let head = format!(
                "{{\"type\": \"bundle\", \"objects\": [{}, {{\"name\": \"",
                ioc(1)
            );
            let endless = Cursor::new(head.into_bytes()).chain(std::io::repeat(b'a'));
            Ok(Box::new(std::io::BufReader::new(endless)))
        };
        let mut n = 0;
        let end = read(Format::StixBundle, &mut open, &defaults(), &mut |_| {
            n += 1;
            Ok::<(), ()>(())
        });
        let Err(ReadError::Malformed { position, reason }) = end else {
            panic!("an endless string was read");
        };
        assert_eq!(n, 1);
        assert!(position.starts_with("line 1, column "), "{position}");
        assert!(reason.contains("never closed"), "{reason}");
    }
}
