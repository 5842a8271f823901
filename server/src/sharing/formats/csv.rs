//! CSV input: a header row naming the columns (`type`, `value`, `tlp`, `category`,
//! `comment`, any order, any case; only `value` is required), then one indicator per row,
//! named by its value so that importing the same value again names the same object.

use super::build::{indicator, indicator_id, tlp_named, typed, TYPE_NAMES};
use super::{Capped, Defaults, ReadError, Sink, TooLong};
use crate::sharing::values::{classify, normalise};
use serde_json::{json, Value};
use std::io::BufRead;

/// The STIX 2.1 indicator type vocabulary (indicator-type-ov); other categories are labels.
const INDICATOR_TYPES: &[&str] = &[
    "anomalous-activity",
    "anonymization",
    "benign",
    "compromised",
    "malicious-activity",
    "attribution",
    "unknown",
];

/// The columns the importer reads, by position in the header.
#[derive(Debug, Default)]
struct Columns {
    type_: Option<usize>,
    value: usize,
    tlp: Option<usize>,
    category: Option<usize>,
    comment: Option<usize>,
    count: usize,
}

impl Columns {
    /// A `#` line is a remark unless the first column holds comments (which may start with
    /// `#`). The csv crate's own comment lines would put the next row on the wrong line.
    fn remark(&self, record: &::csv::StringRecord) -> bool {
        self.comment != Some(0) && record.get(0).is_some_and(|c| c.starts_with('#'))
    }
}

fn columns(header: &::csv::StringRecord) -> Option<Columns> {
    let find = |name: &str| {
        header.iter().position(|h| {
            h.trim()
                .trim_start_matches('\u{feff}')
                .eq_ignore_ascii_case(name)
        })
    };
    Some(Columns {
        type_: find("type"),
        value: find("value")?,
        tlp: find("tlp"),
        category: find("category"),
        comment: find("comment"),
        count: header.len(),
    })
}

/// First characters that make a spreadsheet run a cell as a formula, and the quote that
/// guards them.
pub(super) const FORMULA: [char; 5] = ['=', '+', '-', '@', '\''];

/// A cell the exporter guarded against spreadsheet formulas (`'=...`), unguarded.
pub(super) fn unguard(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA) => rest,
        _ => cell,
    }
}

/// The most bytes one row may span. A quote that is never closed would otherwise pull the
/// rest of the file into one row, and all of it into memory.
const ROW_CAP: usize = 1024 * 1024;

pub(super) fn read<E>(
    r: Box<dyn BufRead>,
    defaults: &Defaults,
    sink: &mut Sink<'_, E>,
) -> Result<(), ReadError<E>> {
    let (capped, since_row) = Capped::new(r, ROW_CAP);
    let mut rdr = ::csv::ReaderBuilder::new()
        .flexible(true)
        .trim(::csv::Trim::All)
        .from_reader(capped);
    let header = rdr.headers().map_err(|e| fatal(e, "line 1"))?.clone();
    let cols = columns(&header).ok_or_else(|| ReadError::Malformed {
        position: "line 1".into(),
        reason: "the header row has no value column: the first row names the columns, e.g. type,value,tlp,category,comment (value is required)".into(),
    })?;
    let mut record = ::csv::StringRecord::new();
    loop {
        let next_line = rdr.position().line();
        since_row.set(0);
        let (line, object) = match rdr.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let line = record.position().map_or(0, |p| p.line());
                let object = if record.len() > cols.count {
                    Err(format!(
                        "the row has {} cells but the header {}: quote a cell that holds a comma",
                        record.len(),
                        cols.count
                    ))
                } else if record.iter().all(str::is_empty) || cols.remark(&record) {
                    continue;
                } else {
                    row(&record, &cols, defaults)
                };
                (line, object)
            }
            Err(e) => match e.kind() {
                ::csv::ErrorKind::Utf8 { pos, .. } => (
                    pos.as_ref().map_or(0, |p| p.line()),
                    Err("the row is not UTF-8 text: save the file as UTF-8".into()),
                ),
                ::csv::ErrorKind::Io(io) if TooLong::is(io) => {
                    return Err(ReadError::Malformed {
                        position: format!("line {next_line}"),
                        reason: format!("the row is longer than {} KiB: a quote (\") opened here is never closed; close it, or double a quote inside a quoted cell (\"\")", ROW_CAP / 1024),
                    });
                }
                _ => return Err(fatal(e, "")),
            },
        };
        if !sink.emit(format!("line {line}"), object) {
            return Err(sink.take_stop());
        }
    }
}

fn fatal<E>(e: ::csv::Error, at: &str) -> ReadError<E> {
    let position = e
        .position()
        .map_or(at.to_string(), |p| format!("line {}", p.line()));
    let text = e.to_string();
    match e.into_kind() {
        ::csv::ErrorKind::Io(io) => ReadError::Io(io),
        ::csv::ErrorKind::Utf8 { .. } => ReadError::Malformed {
            position,
            reason: "the header row is not UTF-8 text: save the file as UTF-8".into(),
        },
        _ => ReadError::Malformed {
            position,
            reason: format!("not readable as CSV: {text}"),
        },
    }
}

/// One row as an indicator, or why it cannot be one.
fn row(record: &::csv::StringRecord, cols: &Columns, defaults: &Defaults) -> Result<Value, String> {
    let cell = |c: Option<usize>| c.and_then(|i| record.get(i)).map(unguard).unwrap_or("");
    let raw = cell(Some(cols.value));
    if raw.is_empty() {
        return Err("the value cell is empty: put the indicator in the value column".into());
    }
    let type_name = cell(cols.type_);
    let values = if type_name.is_empty() {
        let kind = classify(raw).ok_or_else(|| format!("value '{raw}' is not an IP address or network, domain, URL, e-mail address or MD5/SHA-1/SHA-256/SHA-512 hash; if it is one, name its kind in the type column"))?;
        vec![(
            kind,
            normalise(kind, raw).map_err(|why| format!("value '{raw}' is not {why}"))?,
        )]
    } else {
        typed(type_name, raw)?
            .ok_or_else(|| format!("type '{type_name}' is not exchanged; use ip, ipv4, ipv6, or one of {TYPE_NAMES}; or leave the cell blank to tell the kind from the value"))?
            .values
    };
    let tlp = match cell(cols.tlp) {
        "" => defaults.tlp,
        t => tlp_named(t, false).ok_or_else(|| {
            format!(
                "tlp '{t}' is not a TLP 2.0 level: use clear, green, amber, amber+strict or red"
            )
        })?,
    };
    let mut o = indicator(indicator_id(&values), &values, defaults.now, tlp);
    let (mut types, mut labels) = (Vec::new(), Vec::new());
    for c in cell(cols.category)
        .split(';')
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        let word = c.to_ascii_lowercase().replace([' ', '_'], "-");
        if INDICATOR_TYPES.contains(&word.as_str()) {
            types.push(word);
        } else {
            labels.push(c.to_string());
        }
    }
    if !types.is_empty() {
        o.insert("indicator_types".into(), json!(types));
    }
    if !labels.is_empty() {
        o.insert("labels".into(), json!(labels));
    }
    let comment = cell(cols.comment);
    if !comment.is_empty() {
        o.insert("description".into(), json!(comment));
    }
    Ok(Value::Object(o))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{checked, read_all, rejected};
    use super::super::{Format, ReadError, Summary};
    use cirhub_shared::sharing::Tlp;
    use serde_json::json;

    const FILE: &str = "\u{feff}Category,VALUE,Type,TLP,comment
# exported from the SOC's tracker, by hand
malicious-activity,203.0.113[.]7,,TLP:AMBER,C2 server
Compromised;phishing kit,hxxps://evil[.]example.com/login,url,red,
,evil.example.com,hostname,white,\"multi-line
note, with comma\"
,300.1.1.1,ipv4,,
,whatever,,,
,x,mutex,,
,evil.example.org,domain,orange,
,,url,,
,\"a.example.com\",domain,green,benign,extra
,,,,
,d41d8cd98f00b204e9800998ecf8427e,filename|md5,,
,example.net|198.51.100.1,domain|ip,,
";

    #[test]
    fn each_row_is_an_indicator_or_a_reason_with_its_line() {
        let (records, end) = read_all(Format::Csv, FILE.as_bytes());
        assert_eq!(
            end.expect("read to the end"),
            Summary {
                objects: 4,
                rejected: 7,
                skipped: 0
            }
        );
        let objects = checked(&records);
        let got: Vec<(&str, String, Tlp)> = records
            .iter()
            .filter(|r| r.object.is_ok())
            .zip(&objects)
            .map(|(r, c)| (r.position.as_str(), c.object["pattern"].to_string(), c.tlp))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "line 3",
                    json!("[ipv4-addr:value = '203.0.113.7']").to_string(),
                    Tlp::Amber
                ),
                (
                    "line 4",
                    json!("[url:value = 'https://evil.example.com/login']").to_string(),
                    Tlp::Red
                ),
                (
                    "line 5",
                    json!("[domain-name:value = 'evil.example.com']").to_string(),
                    Tlp::Clear
                ),
                (
                    "line 15",
                    json!(
                        "[domain-name:value = 'example.net'] OR [ipv4-addr:value = '198.51.100.1']"
                    )
                    .to_string(),
                    Tlp::Green
                ),
            ]
        );
        assert_eq!(objects[0].object["description"], "C2 server");
        assert_eq!(
            objects[0].object["indicator_types"],
            json!(["malicious-activity"])
        );
        assert_eq!(objects[1].object["indicator_types"], json!(["compromised"]));
        assert_eq!(objects[1].object["labels"], json!(["phishing kit"]));
        assert_eq!(
            objects[2].object["description"],
            "multi-line\nnote, with comma"
        );
        assert_eq!(objects[2].object["created"], "2026-01-01T00:00:00.000Z");
        let bad = rejected(&records);
        let lines: Vec<&str> = bad.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            lines,
            ["line 7", "line 8", "line 9", "line 10", "line 11", "line 12", "line 14"]
        );
        let says = |i: usize, what: &str| assert!(bad[i].1.contains(what), "{}", bad[i].1);
        says(0, "'300.1.1.1' is not an IPv4 address");
        says(1, "name its kind in the type column");
        says(2, "type 'mutex' is not exchanged");
        says(3, "tlp 'orange' is not a TLP 2.0 level");
        says(4, "the value cell is empty");
        says(5, "the row has 6 cells but the header 5");
        says(6, "a filename|md5 value is two parts joined by '|'");
    }

    #[test]
    fn the_same_value_names_the_same_indicator() {
        let file = "value\nevil.example.com\nEVIL.example[.]com.\nevil.example.org\n";
        let (records, _) = read_all(Format::Csv, file.as_bytes());
        let ids: Vec<String> = checked(&records).iter().map(|c| c.id.clone()).collect();
        assert_eq!(ids[0], ids[1]);
        assert_ne!(ids[0], ids[2]);
    }

    #[test]
    fn a_file_without_a_value_column_or_with_broken_text_is_reported() {
        let (records, end) = read_all(Format::Csv, b"ip,comment\n203.0.113.7,x\n");
        assert!(records.is_empty());
        let Err(ReadError::Malformed { position, reason }) = end else {
            panic!("a file without a value column was read");
        };
        assert_eq!(position, "line 1");
        assert!(reason.contains("no value column"));

        let mut runaway = b"value,comment\n203.0.113.7,ok\n203.0.113.8,\"never closed\n".to_vec();
        runaway.extend(b"203.0.113.9,x\n".repeat(200_000));
        let (records, end) = read_all(Format::Csv, &runaway);
        assert_eq!(records.len(), 1);
        let Err(ReadError::Malformed { position, reason }) = end else {
            panic!("a row without end was read");
        };
        assert_eq!(position, "line 3");
        assert!(reason.contains("never closed"), "{reason}");

        let (records, end) = read_all(
            Format::Csv,
            b"value,comment\n203.0.113.7,caf\xe9\n203.0.113.8,ok\n",
        );
        assert_eq!(end.expect("read on").objects, 1);
        assert_eq!(
            rejected(&records),
            [(
                "line 2".to_string(),
                "the row is not UTF-8 text: save the file as UTF-8".to_string()
            )]
        );
    }
}
