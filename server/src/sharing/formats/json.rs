//! Streaming over JSON with serde: a list visited element by element as `serde_json::Value`
//! (never collected), and the translation of parser errors into positions and reasons.

use super::{ReadError, Sink, TooLong};
use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde_json::Value;
use std::fmt;
use std::marker::PhantomData;

/// The message of the error that unwinds the parser when the callback asks to stop; the
/// callback's own error is kept in the sink.
pub(super) const STOPPED: &str = "reading stopped";

/// The most a JSON reader reads without a record ending: past it a string, object or list
/// that is never closed ends the read instead of filling memory with the rest of the file.
pub(super) const RECORD_CAP: usize = 32 * 1024 * 1024;

/// A JSON list whose elements are handed to `f` one at a time with their index, as `T`
/// (a `Value`, or `IgnoredAny` to skip them); `f` returns false to stop. `null` counts as
/// an empty list.
pub(super) struct EachValue<F, T = Value> {
    pub what: &'static str,
    pub f: F,
    pub element: PhantomData<T>,
}

impl<F> EachValue<F> {
    /// Each element as a `Value`.
    pub fn new(what: &'static str, f: F) -> Self {
        EachValue {
            what,
            f,
            element: PhantomData,
        }
    }
}

impl<'de, T: Deserialize<'de>, F: FnMut(usize, T) -> bool> DeserializeSeed<'de>
    for EachValue<F, T>
{
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: Deserialize<'de>, F: FnMut(usize, T) -> bool> Visitor<'de> for EachValue<F, T> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.what)
    }

    fn visit_unit<Er: de::Error>(self) -> Result<(), Er> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while let Some(v) = seq.next_element::<T>()? {
            if !(self.f)(i, v) {
                return Err(de::Error::custom(STOPPED));
            }
            i += 1;
        }
        Ok(())
    }
}

/// The name of a JSON value's kind, for reasons such as "found a string".
pub(super) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "true or false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// serde_json's message without its trailing position (the position is reported apart).
fn message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Why a JSON read stopped: the callback's stop, an I/O failure, a file cut off, or text
/// that is not the format (`what` says what was expected).
pub(super) fn error<E>(e: serde_json::Error, sink: &mut Sink<'_, E>, what: &str) -> ReadError<E> {
    if let Some(stop) = sink.stopped.take() {
        return ReadError::Stopped(stop);
    }
    let position = format!("line {}, column {}", e.line(), e.column());
    match e.classify() {
        serde_json::error::Category::Io => {
            let io: std::io::Error = e.into();
            if !TooLong::is(&io) {
                return ReadError::Io(io);
            }
            ReadError::Malformed {
                position,
                reason: format!(
                    "more than {} MiB without the end of a record: a string, object or list is never closed; expected {what}",
                    RECORD_CAP / (1024 * 1024)
                ),
            }
        }
        serde_json::error::Category::Eof => ReadError::Malformed {
            position,
            reason: format!(
                "the file ends before the JSON is complete: it was cut off (truncated); send the whole {what}"
            ),
        },
        serde_json::error::Category::Syntax => ReadError::Malformed {
            position,
            reason: format!("not valid JSON ({}): expected {what}", message(&e)),
        },
        serde_json::error::Category::Data => ReadError::Malformed {
            position,
            reason: message(&e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visit(text: &str, stop_after: usize) -> (Vec<(usize, Value)>, Result<(), String>) {
        let mut seen = Vec::new();
        let mut de = serde_json::Deserializer::from_str(text);
        let end = EachValue::new("a list of things", |i, v| {
            seen.push((i, v));
            i + 1 < stop_after
        })
        .deserialize(&mut de)
        .map_err(|e| message(&e));
        (seen, end)
    }

    #[test]
    fn a_list_is_visited_element_by_element() {
        let (seen, end) = visit(r#"[1, "a", {"b": 2}]"#, 9);
        assert_eq!((seen.len(), end), (3, Ok(())));
        assert_eq!(seen[2], (2, serde_json::json!({"b": 2})));
        let (seen, end) = visit(r#"[1, "a", {"b": 2}]"#, 2);
        assert_eq!((seen.len(), end), (2, Err(STOPPED.to_string())));
        assert_eq!(visit("null", 9), (vec![], Ok(())));
        let (_, end) = visit("7", 9);
        assert_eq!(
            end,
            Err("invalid type: integer `7`, expected a list of things".into())
        );
    }
}
