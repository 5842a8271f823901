//! Import and export of indicators in the formats organisations already use: STIX 2.1
//! bundles (and JSON lines of STIX objects), MISP JSON events and CSV. Reading streams a file
//! record by record into a callback and writing streams objects out one at a time, so memory
//! stays bounded by one record whatever the file's size. Everything here is pure: no
//! database, no HTTP; the caller checks each produced object with [`super::stix::check`].

mod blocklist;
mod build;
mod bundle;
mod csv;
mod export;
mod json;
mod lines;
mod misp;
mod misp_de;
mod misp_map;

pub use blocklist::BlockList;
pub use export::{BundleWriter, CsvWriter, MispWriter};

use chrono::{DateTime, Utc};
use cirhub_shared::sharing::Tlp;
use serde_json::Value;
use std::cell::Cell;
use std::fmt;
use std::io::BufRead;
use std::rc::Rc;

/// A file format the hub reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A STIX 2.1 bundle, a JSON list of STIX objects, or JSON lines of STIX objects.
    StixBundle,
    /// A MISP JSON event, a MISP REST `response` list, or a list of events.
    Misp,
    /// CSV with a header row naming the columns `type,value,tlp,category,comment`.
    Csv,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "stix" | "bundle" | "stix-bundle" => Ok(Format::StixBundle),
            "misp" => Ok(Format::Misp),
            "csv" => Ok(Format::Csv),
            _ => Err(format!(
                "format '{s}' is not one the hub reads: use stix, misp or csv"
            )),
        }
    }
}

impl Format {
    /// The format a file most likely is, from its name and first bytes (a few KiB are
    /// plenty); `None` when neither tells.
    pub fn guess(file_name: &str, first_bytes: &[u8]) -> Option<Format> {
        let name = file_name.to_ascii_lowercase();
        let text = String::from_utf8_lossy(first_bytes);
        let body = text.trim_start_matches('\u{feff}').trim_start();
        if name.ends_with(".csv") || name.ends_with(".tsv") {
            return Some(Format::Csv);
        }
        if body.starts_with('{') || body.starts_with('[') {
            // MISP names its structures with capitals; STIX keys are lower-case.
            let misp = ["\"Event\"", "\"Attribute\"", "\"response\""]
                .iter()
                .any(|k| body.contains(k));
            return Some(if misp {
                Format::Misp
            } else {
                Format::StixBundle
            });
        }
        let first_line = body.lines().next().unwrap_or("").to_ascii_lowercase();
        let header_has_value = first_line
            .split(',')
            .any(|c| c.trim().trim_matches('"') == "value");
        header_has_value.then_some(Format::Csv)
    }
}

/// What a file leaves unsaid.
#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    /// The TLP for records that carry none.
    pub tlp: Tlp,
    /// The time for records without timestamps.
    pub now: DateTime<Utc>,
}

/// One record of a file: a STIX object to check and store, or why it cannot be one.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Where it is in the file, e.g. `line 12`, `objects[3]`, `Event.Attribute[17]`.
    pub position: String,
    /// The STIX object, or a reason a person can act on.
    pub object: Result<Value, String>,
}

/// What a read passed on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Records holding an object.
    pub objects: u64,
    /// Records holding a reason instead.
    pub rejected: u64,
    /// Entries left out on purpose, not errors: marking definitions and identities in a
    /// bundle, deleted MISP attributes, galaxies the hub does not exchange.
    pub skipped: u64,
}

/// Why a read stopped before the end of the file. The records passed on before it stand:
/// a caller that wants all or nothing rolls them back.
#[derive(Debug)]
pub enum ReadError<E> {
    /// The file is not in the format, or breaks off (truncated) at `position`.
    Malformed { position: String, reason: String },
    /// Reading the file failed.
    Io(std::io::Error),
    /// The callback asked to stop.
    Stopped(E),
}

impl<E: fmt::Display> fmt::Display for ReadError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Malformed { position, reason } => write!(f, "{position}: {reason}"),
            ReadError::Io(e) => write!(f, "the file could not be read: {e}"),
            ReadError::Stopped(e) => write!(f, "{e}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for ReadError<E> {}

impl<E> From<std::io::Error> for ReadError<E> {
    fn from(e: std::io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// Opens the file from its start; a read may open it more than once (MISP reads it twice).
pub type Open<'a> = dyn FnMut() -> std::io::Result<Box<dyn BufRead>> + 'a;

/// Reads a file of `format`, calling `each` once per record in file order. A bad record is
/// passed on as an `Err` record and reading goes on; a file that is not of the format, or
/// is cut off, ends the read with [`ReadError::Malformed`].
pub fn read<E>(
    format: Format,
    open: &mut Open<'_>,
    defaults: &Defaults,
    each: &mut dyn FnMut(Record) -> Result<(), E>,
) -> Result<Summary, ReadError<E>> {
    let mut sink = Sink::new(each);
    match format {
        Format::StixBundle => bundle::read(open()?, defaults, &mut sink)?,
        Format::Misp => misp::read(open, defaults, &mut sink)?,
        Format::Csv => csv::read(open()?, defaults, &mut sink)?,
    }
    Ok(sink.summary)
}

/// The reader went further than its cap since the last record: a string, object or quoted
/// cell that never ends.
#[derive(Debug)]
pub(crate) struct TooLong;

impl fmt::Display for TooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("too long without the end of a record")
    }
}

impl std::error::Error for TooLong {}

impl TooLong {
    fn is(e: &std::io::Error) -> bool {
        e.get_ref().is_some_and(|e| e.is::<TooLong>())
    }
}

/// A reader that fails with [`TooLong`] once `cap` bytes have passed since the counter was
/// last set to zero (at each record), so a record that never ends cannot pull the rest of
/// the file into memory.
pub(crate) struct Capped<R> {
    inner: R,
    cap: usize,
    since: Rc<Cell<usize>>,
}

impl<R> Capped<R> {
    fn new(inner: R, cap: usize) -> (Self, Rc<Cell<usize>>) {
        let since = Rc::new(Cell::new(0));
        let counter = since.clone();
        (Capped { inner, cap, since }, counter)
    }
}

impl<R: std::io::Read> std::io::Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.since.get() > self.cap {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                TooLong,
            ));
        }
        let n = self.inner.read(buf)?;
        self.since.set(self.since.get() + n);
        Ok(n)
    }
}

/// Where records go: the caller's callback, the count, and the callback's stop if any.
pub(crate) struct Sink<'a, E> {
    each: &'a mut dyn FnMut(Record) -> Result<(), E>,
    stopped: Option<E>,
    summary: Summary,
    /// The counter of the [`Capped`] reader being read, set to zero at each record.
    progress: Option<Rc<Cell<usize>>>,
}

impl<'a, E> Sink<'a, E> {
    fn new(each: &'a mut dyn FnMut(Record) -> Result<(), E>) -> Self {
        Sink {
            each,
            stopped: None,
            summary: Summary::default(),
            progress: None,
        }
    }

    /// A record (or a part of the file that holds none) has ended here.
    fn mark(&self) {
        if let Some(p) = &self.progress {
            p.set(0);
        }
    }

    /// Passes one record on; false once the callback has asked to stop.
    fn emit(&mut self, position: String, object: Result<Value, String>) -> bool {
        if self.stopped.is_some() {
            return false;
        }
        self.mark();
        match &object {
            Ok(_) => self.summary.objects += 1,
            Err(_) => self.summary.rejected += 1,
        }
        match (self.each)(Record { position, object }) {
            Ok(()) => true,
            Err(e) => {
                self.stopped = Some(e);
                false
            }
        }
    }

    /// The callback's stop, once [`Sink::emit`] has returned false.
    fn take_stop(&mut self) -> ReadError<E> {
        match self.stopped.take() {
            Some(e) => ReadError::Stopped(e),
            None => ReadError::Malformed {
                position: String::new(),
                reason: "reading stopped".into(),
            },
        }
    }

    fn skip(&mut self) {
        self.mark();
        self.summary.skipped += 1;
    }
}

/// Reading from memory, for the tests of every format.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::sharing::stix::check;
    use serde_json::json;
    use std::convert::Infallible;

    /// A valid indicator without a marking, numbered `n`.
    pub fn ioc(n: usize) -> Value {
        json!({
            "type": "indicator", "spec_version": "2.1",
            "id": format!("indicator--8e2e2d2b-17d4-4cbf-938f-{n:012}"),
            "created": "2026-01-01T10:00:00Z", "modified": "2026-01-01T10:00:00Z",
            "pattern": format!("[ipv4-addr:value = '203.0.113.{}']", n % 250),
            "pattern_type": "stix", "valid_from": "2026-01-01T10:00:00Z"
        })
    }

    pub fn defaults() -> Defaults {
        Defaults {
            tlp: Tlp::Green,
            now: DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default(),
        }
    }

    /// Every record of `bytes`, and how the read ended.
    pub fn read_all(
        format: Format,
        bytes: &[u8],
    ) -> (Vec<Record>, Result<Summary, ReadError<Infallible>>) {
        let data = bytes.to_vec();
        let mut open = || -> std::io::Result<Box<dyn BufRead>> {
            Ok(Box::new(std::io::Cursor::new(data.clone())))
        };
        let mut records = Vec::new();
        let end = read(format, &mut open, &defaults(), &mut |r| {
            records.push(r);
            Ok(())
        });
        (records, end)
    }

    /// The objects of the records, each checked as the hub checks what it stores.
    pub fn checked(records: &[Record]) -> Vec<crate::sharing::stix::Checked> {
        records
            .iter()
            .filter_map(|r| r.object.as_ref().ok())
            .map(|o| check(o.clone(), "org", "").expect("every produced object is valid STIX"))
            .collect()
    }

    /// The positions and reasons of the rejected records.
    pub fn rejected(records: &[Record]) -> Vec<(String, String)> {
        records
            .iter()
            .filter_map(|r| Some((r.position.clone(), r.object.clone().err()?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{defaults, ioc};
    use super::*;
    use serde_json::json;

    #[test]
    fn formats_are_named_and_guessed() {
        assert_eq!("STIX".parse::<Format>(), Ok(Format::StixBundle));
        assert_eq!("misp".parse::<Format>(), Ok(Format::Misp));
        assert!("xml"
            .parse::<Format>()
            .unwrap_err()
            .contains("stix, misp or csv"));
        let bundle = br#"{"type": "bundle", "id": "bundle--1", "objects": []}"#;
        assert_eq!(Format::guess("x.json", bundle), Some(Format::StixBundle));
        assert_eq!(
            Format::guess("upload", b"{\"Event\": {\"info\": \"x\"}}"),
            Some(Format::Misp)
        );
        assert_eq!(
            Format::guess("e.json", b"[{\"Event\": {}}]"),
            Some(Format::Misp)
        );
        assert_eq!(Format::guess("iocs.csv", b"whatever"), Some(Format::Csv));
        assert_eq!(
            Format::guess("iocs", b"\xef\xbb\xbfType,Value\nip,1.2.3.4"),
            Some(Format::Csv)
        );
        assert_eq!(Format::guess("blob.bin", &[0, 159, 146, 150]), None);
    }

    #[test]
    fn the_callback_can_stop_the_read() {
        let text = json!({"type": "bundle", "objects": [ioc(1), ioc(2), ioc(3)]}).to_string();
        let data = text.into_bytes();
        let mut open = || -> std::io::Result<Box<dyn BufRead>> {
            Ok(Box::new(std::io::Cursor::new(data.clone())))
        };
        let mut calls = 0;
        let end = read(Format::StixBundle, &mut open, &defaults(), &mut |_| {
            calls += 1;
            if calls == 2 {
                Err("quota reached")
            } else {
                Ok(())
            }
        });
        assert!(matches!(end, Err(ReadError::Stopped("quota reached"))));
        assert_eq!(calls, 2);
    }
}
