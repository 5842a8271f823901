//! JSON lines of STIX objects: one object per line, read line by line, so a line that is
//! not JSON is one bad record and the lines after it are still read. A line that holds a
//! bundle gives the bundle's objects.

use super::bundle::{is_bundle, pass_on};
use super::{Defaults, ReadError, Sink};
use crate::sharing::stix::MAX_OBJECT_BYTES;
use serde_json::Value;
use std::io::BufRead;

/// The longest line kept; a longer one is reported and skipped unread.
const LINE_CAP: usize = 1024 * 1024;

/// Reads every line of `r`; positions are `line N` (1-based).
pub(super) fn read_lines<E>(
    mut r: impl BufRead,
    defaults: &Defaults,
    sink: &mut Sink<'_, E>,
) -> Result<(), ReadError<E>> {
    let mut buf = Vec::new();
    let mut n = 0;
    while let Some((fits, newline)) = read_line_capped(&mut r, LINE_CAP, &mut buf)? {
        n += 1;
        let at = format!("line {n}");
        let ok = if !fits {
            sink.emit(
                at,
                Err(format!(
                    "the line is longer than {} KiB: a STIX object is at most {} KiB",
                    LINE_CAP / 1024,
                    MAX_OBJECT_BYTES / 1024
                )),
            )
        } else if buf.trim_ascii().is_empty() {
            true
        } else {
            match serde_json::from_slice::<Value>(&buf) {
                Err(e) if e.is_eof() && !newline => {
                    return Err(ReadError::Malformed {
                        position: at,
                        reason: "the file ends inside this line: it was cut off (truncated); send the whole file".into(),
                    })
                }
                Err(e) => sink.emit(at, Err(format!("not valid JSON ({e}): each line holds one STIX object"))),
                Ok(Value::Object(mut o)) if is_bundle(&o) => {
                    let objects = match o.remove("objects") {
                        Some(Value::Array(a)) => a,
                        _ => Vec::new(),
                    };
                    objects.into_iter().enumerate().all(|(i, v)| {
                        pass_on(sink, defaults, format!("{at} objects[{i}]"), v)
                    })
                }
                Ok(v) => pass_on(sink, defaults, at, v),
            }
        };
        if !ok {
            return Err(sink.take_stop());
        }
    }
    Ok(())
}

/// Reads up to the end of a line into `buf` (without the newline), keeping at most `cap`
/// bytes: the rest of a longer line is consumed unread. Returns `None` at the end of the
/// file, else whether the line fitted and whether it ended with a newline.
fn read_line_capped(
    r: &mut dyn std::io::BufRead,
    cap: usize,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<(bool, bool)>> {
    buf.clear();
    let mut fits = true;
    let mut any = false;
    loop {
        let chunk = r.fill_buf()?;
        if chunk.is_empty() {
            return Ok(any.then_some((fits, false)));
        }
        any = true;
        let (part, newline) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (&chunk[..i], Some(i + 1)),
            None => (chunk, None),
        };
        if fits && buf.len() + part.len() <= cap {
            buf.extend_from_slice(part);
        } else {
            fits = false;
            buf.clear();
        }
        let used = newline.unwrap_or(chunk.len());
        r.consume(used);
        if newline.is_some() {
            return Ok(Some((fits, true)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{checked, ioc, read_all, rejected};
    use super::super::Format;
    use super::*;
    use serde_json::json;

    #[test]
    fn long_lines_are_consumed_without_being_kept() {
        let text = format!("short\n{}\nlast", "x".repeat(100));
        let mut r = std::io::Cursor::new(text.into_bytes());
        let mut buf = Vec::new();
        assert_eq!(
            read_line_capped(&mut r, 10, &mut buf).unwrap(),
            Some((true, true))
        );
        assert_eq!(buf, b"short");
        assert_eq!(
            read_line_capped(&mut r, 10, &mut buf).unwrap(),
            Some((false, true))
        );
        assert!(buf.is_empty());
        assert_eq!(
            read_line_capped(&mut r, 10, &mut buf).unwrap(),
            Some((true, false))
        );
        assert_eq!(buf, b"last");
        assert_eq!(read_line_capped(&mut r, 10, &mut buf).unwrap(), None);
    }

    #[test]
    fn json_lines_read_line_by_line_and_a_bad_line_is_one_bad_record() {
        let text = format!(
            "{}\n\n{{\"type\": \"indicator\", oops}}\n{}\n{}\n",
            ioc(1),
            json!({"type": "bundle", "id": "bundle--1", "objects": [ioc(2), ioc(3)]}),
            ioc(4)
        );
        let (records, end) = read_all(Format::StixBundle, text.as_bytes());
        assert_eq!(end.expect("read to the end").objects, 4);
        let positions: Vec<&str> = records.iter().map(|r| r.position.as_str()).collect();
        assert_eq!(
            positions,
            [
                "line 1",
                "line 3",
                "line 4 objects[0]",
                "line 4 objects[1]",
                "line 5"
            ]
        );
        assert!(rejected(&records)[0]
            .1
            .starts_with("not valid JSON (key must be a string"));
        assert_eq!(checked(&records).len(), 4);

        let long = format!("{{\"x\": \"{}\"}}\n{}\n", "a".repeat(LINE_CAP), ioc(2));
        let (records, end) = read_all(Format::StixBundle, format!("{}\n{long}", ioc(1)).as_bytes());
        assert_eq!(end.expect("read on").objects, 2);
        assert_eq!(
            rejected(&records),
            [(
                "line 2".to_string(),
                "the line is longer than 1024 KiB: a STIX object is at most 64 KiB".to_string()
            )]
        );

        let cut = format!("{}\n{{\"type\": \"indic", ioc(1));
        let (records, end) = read_all(Format::StixBundle, cut.as_bytes());
        assert_eq!(records.len(), 1);
        let Err(ReadError::Malformed { position, reason }) = end else {
            panic!("a cut-off last line is a truncated file");
        };
        assert_eq!(position, "line 2");
        assert!(reason.contains("truncated"), "{reason}");
    }
}
