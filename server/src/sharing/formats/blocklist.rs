//! Block lists for firewalls, proxies and mail gateways: the normalised values of one kind,
//! one per line, streamed to any `std::io::Write`.

use crate::sharing::values::{normalise, of_object};
use cirhub_shared::sharing::ValueKind;
use serde_json::Value;
use std::io::{self, Write};

/// A block list: the normalised values of one kind, one per line, networks included for
/// address kinds. It writes every value it is given: the caller deduplicates (e.g. by
/// listing distinct values from the index), so that the writer holds nothing.
pub struct BlockList<W: Write> {
    w: W,
    kind: ValueKind,
}

impl<W: Write> BlockList<W> {
    pub fn new(w: W, kind: ValueKind) -> Self {
        BlockList { w, kind }
    }

    /// Writes the object's values of the list's kind; returns how many.
    pub fn object(&mut self, object: &Value) -> io::Result<usize> {
        let Some(o) = object.as_object() else {
            return Ok(0);
        };
        let mut n = 0;
        let stix_type = o.get("type").and_then(Value::as_str).unwrap_or("");
        for (kind, value) in of_object(stix_type, o) {
            if kind == self.kind && self.line(&value)? {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Writes one value (normalised first); false when it is not a value of the kind.
    pub fn value(&mut self, raw: &str) -> io::Result<bool> {
        match normalise(self.kind, raw) {
            Ok(v) => self.line(&v),
            Err(_) => Ok(false),
        }
    }

    /// A value with a line break or other control character would split or forge a line.
    fn line(&mut self, value: &str) -> io::Result<bool> {
        if value.chars().any(char::is_control) {
            return Ok(false);
        }
        writeln!(self.w, "{value}")?;
        Ok(true)
    }

    pub fn finish(mut self) -> io::Result<W> {
        self.w.flush()?;
        Ok(self.w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cirhub_shared::sharing::Tlp;
    use serde_json::json;

    #[test]
    fn a_block_list_holds_one_kind_of_value_per_line() {
        let t = "2026-01-02T03:04:05.000Z";
        let objects = [
            json!({"type": "indicator", "id": "indicator--0b6c3e8a-2a5c-4f6e-9a53-0c6a4f1f2a11",
                "created": t, "modified": t, "valid_from": t, "pattern_type": "stix",
                "pattern": "[ipv4-addr:value = '198.51.100.0/24'] OR [domain-name:value = 'evil.example.com']",
                "object_marking_refs": [Tlp::Amber.marking_definition_id()]}),
            json!({"type": "ipv4-addr", "value": "203.0.113.7"}),
            json!({"type": "ipv6-addr", "value": "2001:db8::1"}),
            json!({"type": "indicator", "revoked": true, "pattern_type": "stix",
                "pattern": "[ipv4-addr:value = '192.0.2.1']"}),
        ];
        let mut w = BlockList::new(Vec::new(), ValueKind::Ipv4);
        let n: usize = objects.iter().map(|o| w.object(o).unwrap_or(0)).sum();
        assert!(w.value("203.0.113[.]9").unwrap_or(false));
        assert!(!w.value("evil.example.com").unwrap_or(true));
        let text = String::from_utf8(w.finish().unwrap_or_default()).unwrap_or_default();
        assert_eq!(
            (n, text.as_str()),
            (2, "198.51.100.0/24\n203.0.113.7\n203.0.113.9\n")
        );
        let mut mail = BlockList::new(Vec::new(), ValueKind::Email);
        assert!(
            !mail.value("a\nb@evil.example.com").unwrap_or(true),
            "no forged line"
        );
    }
}
