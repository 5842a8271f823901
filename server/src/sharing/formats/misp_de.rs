//! The shapes a MISP file takes, walked with serde: `{"Event": ...}`, `{"response": [...]}`,
//! a list of either, or a bare event; each event's fields go to [`Walk::field`].

use super::misp::{Walk, WHAT};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// Keys that make a top-level object a bare event (PyMISP's `to_json()`).
const EVENT_KEYS: &[&str] = &[
    "Attribute",
    "Object",
    "Galaxy",
    "Tag",
    "info",
    "uuid",
    "timestamp",
    "date",
];

/// A top-level value, an element of a list of events, or of a `response` list. `prefix`
/// is its path followed by a dot, or empty at the top.
pub(super) struct Top<'s, 'w, 'a, E> {
    pub walk: &'s mut Walk<'w, 'a, E>,
    pub prefix: String,
}

impl<'de, E> DeserializeSeed<'de> for Top<'_, '_, '_, E> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, E> Visitor<'de> for Top<'_, '_, '_, E> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(WHAT)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let walk = self.walk;
        let base = self.prefix.trim_end_matches('.').to_string();
        let mut bare = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "Event" => map.next_value_seed(Event {
                    walk: &mut *walk,
                    path: format!("{}Event", self.prefix),
                })?,
                "response" => map.next_value_seed(List {
                    walk: &mut *walk,
                    path: format!("{}response", self.prefix),
                })?,
                k if EVENT_KEYS.contains(&k) => {
                    let idx = match bare {
                        Some(i) => i,
                        None => *bare.insert(walk.begin()),
                    };
                    walk.field(idx, k, &mut map, &base)?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        List {
            walk: self.walk,
            path: self.prefix.trim_end_matches('.').to_string(),
        }
        .visit_seq(seq)
    }
}

/// A list of events (or of `{"Event": ...}` wrappers).
struct List<'s, 'w, 'a, E> {
    walk: &'s mut Walk<'w, 'a, E>,
    path: String,
}

impl<'de, E> DeserializeSeed<'de> for List<'_, '_, '_, E> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, E> Visitor<'de> for List<'_, '_, '_, E> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of MISP events")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        loop {
            let element = Top {
                walk: &mut *self.walk,
                prefix: format!("{}[{i}].", self.path),
            };
            if seq.next_element_seed(element)?.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }
}

/// The object under an `Event` key.
struct Event<'s, 'w, 'a, E> {
    walk: &'s mut Walk<'w, 'a, E>,
    path: String,
}

impl<'de, E> DeserializeSeed<'de> for Event<'_, '_, '_, E> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, E> Visitor<'de> for Event<'_, '_, '_, E> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a MISP event: an object with info, Tag, Attribute, ...")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let idx = self.walk.begin();
        while let Some(key) = map.next_key::<String>()? {
            self.walk.field(idx, &key, &mut map, &self.path)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{checked, read_all};
    use super::super::Format;

    #[test]
    fn related_events_and_unknown_keys_are_not_read_as_events() {
        let text = r#"{"Event": {"info": "x",
            "RelatedEvent": [{"Event": {"Attribute": [
                {"type": "domain", "value": "related.example.com", "to_ids": true}]}}],
            "Attribute": [{"type": "domain", "value": "own.example.com", "to_ids": true}]},
            "Extra": {"Attribute": [{"type": "domain", "value": "x.example.com"}]}}"#;
        let (records, end) = read_all(Format::Misp, text.as_bytes());
        end.expect("read to the end");
        let positions: Vec<&str> = records.iter().map(|r| r.position.as_str()).collect();
        assert_eq!(positions, ["Event.Attribute[0]"]);
        assert_eq!(checked(&records)[0].object["name"], "own.example.com");
    }
}
