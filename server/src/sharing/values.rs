//! Observable values: what lookups match and imports build patterns from. Each value is
//! refanged (`hxxp`, `[.]`), normalised per kind (lower-case hosts and hashes, addresses in
//! canonical form, a CIDR as its network address), and indexed under that form; a lookup
//! turns its value into the exact index keys that can match it (an address: itself and every
//! network containing it; a domain: itself and its parents), so every probe is an index seek.

use cirhub_shared::sharing::ValueKind;
use serde_json::{Map, Value};
use std::net::{Ipv4Addr, Ipv6Addr};

/// Undoes the usual defanging of shared indicators: `hxxp://`, `[.]`, `(.)`, `[dot]`, `[:]`,
/// `[@]`, `[at]`.
pub fn refang(raw: &str) -> String {
    let mut s = raw.trim().to_string();
    for (from, to) in [
        ("[.]", "."),
        ("(.)", "."),
        ("{.}", "."),
        ("[dot]", "."),
        ("(dot)", "."),
        ("[:]", ":"),
        ("[://]", "://"),
        ("[@]", "@"),
        ("[at]", "@"),
        ("(at)", "@"),
    ] {
        if s.contains(from) {
            s = s.replace(from, to);
        }
    }
    let lower = s.to_ascii_lowercase();
    for (from, to) in [
        ("hxxps://", "https://"),
        ("hxxp://", "http://"),
        ("fxp://", "ftp://"),
    ] {
        if lower.starts_with(from) {
            s = format!("{to}{}", &s[from.len()..]);
            break;
        }
    }
    s
}

/// An address or network: the address and its prefix length (32 or 128 for a host).
fn ip_net<A: std::str::FromStr>(s: &str, max: u8) -> Option<(A, u8)> {
    match s.split_once('/') {
        None => Some((s.parse().ok()?, max)),
        Some((a, len)) => {
            let len: u8 = len.parse().ok().filter(|l| *l <= max)?;
            Some((a.parse().ok()?, len))
        }
    }
}

fn v4_mask(a: Ipv4Addr, len: u8) -> Ipv4Addr {
    let bits = u32::from(a);
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    Ipv4Addr::from(bits & mask)
}

fn v6_mask(a: Ipv6Addr, len: u8) -> Ipv6Addr {
    let bits = u128::from(a);
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - len)
    };
    Ipv6Addr::from(bits & mask)
}

fn v4_text(a: Ipv4Addr, len: u8) -> String {
    if len == 32 {
        a.to_string()
    } else {
        format!("{a}/{len}")
    }
}

fn v6_text(a: Ipv6Addr, len: u8) -> String {
    if len == 128 {
        a.to_string()
    } else {
        format!("{a}/{len}")
    }
}

fn domain(s: &str) -> Result<String, &'static str> {
    let d = s.trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = d.split('.').collect();
    let ok = labels.len() >= 2
        && d.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
    if ok {
        Ok(d)
    } else {
        Err("a domain name is two or more dot-separated labels of letters, digits and hyphens")
    }
}

/// The normalised form of a value of `kind`, or why it is not one.
pub fn normalise(kind: ValueKind, raw: &str) -> Result<String, &'static str> {
    let s = refang(raw);
    // No kind holds control characters; an e-mail's local part would otherwise carry one
    // (a NUL into PostgreSQL is an error, not a miss).
    if s.chars().any(char::is_control) {
        return Err("a value holds no control characters");
    }
    let hex = |len: usize| {
        if s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(s.to_ascii_lowercase())
        } else {
            Err("a hash is hexadecimal of its algorithm's length (MD5 32, SHA-1 40, SHA-256 64, SHA-512 128)")
        }
    };
    match kind {
        ValueKind::Ipv4 => ip_net::<Ipv4Addr>(&s, 32)
            .map(|(a, l)| v4_text(v4_mask(a, l), l))
            .ok_or("an IPv4 address or network such as 203.0.113.7 or 198.51.100.0/24"),
        ValueKind::Ipv6 => ip_net::<Ipv6Addr>(&s, 128)
            .map(|(a, l)| v6_text(v6_mask(a, l), l))
            .ok_or("an IPv6 address or network such as 2001:db8::1 or 2001:db8::/32"),
        ValueKind::Domain => domain(&s),
        ValueKind::Email => {
            let (local, host) = s
                .rsplit_once('@')
                .filter(|(l, _)| !l.is_empty())
                .ok_or("an e-mail address such as someone@example.com")?;
            Ok(format!("{}@{}", local.to_ascii_lowercase(), domain(host)?))
        }
        ValueKind::Url => {
            let u = url::Url::parse(&s)
                .ok()
                .filter(|u| u.has_host())
                .ok_or("an absolute URL such as http://example.com/path")?;
            // The url crate lower-cases scheme and host and drops a default port.
            Ok(u.to_string())
        }
        ValueKind::Md5 => hex(32),
        ValueKind::Sha1 => hex(40),
        ValueKind::Sha256 => hex(64),
        ValueKind::Sha512 => hex(128),
    }
}

/// The kind a bare value most likely is (for lookups and block lists that do not say).
pub fn classify(raw: &str) -> Option<ValueKind> {
    let s = refang(raw);
    let hash = |k: ValueKind, len: usize| (s.len() == len).then_some(k);
    if s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return hash(ValueKind::Md5, 32)
            .or(hash(ValueKind::Sha1, 40))
            .or(hash(ValueKind::Sha256, 64))
            .or(hash(ValueKind::Sha512, 128));
    }
    [
        ValueKind::Ipv4,
        ValueKind::Ipv6,
        ValueKind::Url,
        ValueKind::Email,
        ValueKind::Domain,
    ]
    .into_iter()
    .find(|k| {
        // A URL needs its scheme: "example.com" is a domain.
        (*k != ValueKind::Url || s.contains("://")) && normalise(*k, &s).is_ok()
    })
}

/// A normalised value's containment key: the network address as fixed-width hex, so that
/// every address and network inside a network sorts between its first and last address.
pub fn ip_key(kind: ValueKind, normalised: &str) -> Option<String> {
    match kind {
        ValueKind::Ipv4 => {
            ip_net::<Ipv4Addr>(normalised, 32).map(|(a, _)| format!("{:08x}", u32::from(a)))
        }
        ValueKind::Ipv6 => {
            ip_net::<Ipv6Addr>(normalised, 128).map(|(a, _)| format!("{:032x}", u128::from(a)))
        }
        _ => None,
    }
}

/// What a lookup of one value probes: exact index keys, and for a network the range of
/// containment keys inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub kind: ValueKind,
    pub normalised: String,
    pub keys: Vec<(ValueKind, String)>,
    pub inside: Option<(ValueKind, String, String)>,
}

fn parents(d: &str, kind: ValueKind, keys: &mut Vec<(ValueKind, String)>) {
    let mut rest = d;
    keys.push((kind, rest.to_string()));
    while let Some((_, parent)) = rest.split_once('.') {
        // A bare top-level domain is not an indicator anybody shares.
        if !parent.contains('.') {
            break;
        }
        keys.push((ValueKind::Domain, parent.to_string()));
        rest = parent;
    }
}

fn host_keys(
    host: &str,
    held: &dyn Fn(ValueKind, u8) -> bool,
    keys: &mut Vec<(ValueKind, String)>,
) {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(a) = h.parse::<Ipv4Addr>() {
        v4_keys(a, 32, held, keys);
    } else if let Ok(a) = h.parse::<Ipv6Addr>() {
        v6_keys(a, 128, held, keys);
    } else if let Ok(d) = domain(h) {
        parents(&d, ValueKind::Domain, keys);
    }
}

/// The keys of an address or network: itself, and each wider network of a prefix length
/// `held` says the index may hold.
fn v4_keys(
    a: Ipv4Addr,
    len: u8,
    held: &dyn Fn(ValueKind, u8) -> bool,
    keys: &mut Vec<(ValueKind, String)>,
) {
    for l in (0..=len)
        .rev()
        .filter(|l| *l == len || held(ValueKind::Ipv4, *l))
    {
        keys.push((ValueKind::Ipv4, v4_text(v4_mask(a, l), l)));
    }
}

fn v6_keys(
    a: Ipv6Addr,
    len: u8,
    held: &dyn Fn(ValueKind, u8) -> bool,
    keys: &mut Vec<(ValueKind, String)>,
) {
    for l in (0..=len)
        .rev()
        .filter(|l| *l == len || held(ValueKind::Ipv6, *l))
    {
        keys.push((ValueKind::Ipv6, v6_text(v6_mask(a, l), l)));
    }
}

/// The probe for a looked-up value: an address matches itself and every network holding
/// it, a network also what lies inside it; a domain matches itself and its parent domains;
/// a URL or e-mail address itself and its host's keys.
pub fn probe(raw: &str) -> Result<Probe, &'static str> {
    probe_held(raw, &|_, _| true)
}

/// [`probe`], with only the networks of the prefix lengths `held` says the index may hold
/// (a lookup asks the index which lengths it holds: usually none, so an address is one key,
/// not 33).
pub fn probe_held(raw: &str, held: &dyn Fn(ValueKind, u8) -> bool) -> Result<Probe, &'static str> {
    let kind = classify(raw).ok_or(
        "not a value the hub indexes: give an IPv4/IPv6 address or network, a domain, a URL, an e-mail address or an MD5/SHA-1/SHA-256/SHA-512 hash",
    )?;
    let normalised = normalise(kind, raw)?;
    let mut keys = Vec::new();
    let mut inside = None;
    match kind {
        ValueKind::Ipv4 => {
            let (a, l) = ip_net::<Ipv4Addr>(&normalised, 32).ok_or("unreachable")?;
            v4_keys(a, l, held, &mut keys);
            if l < 32 {
                let last = u32::from(a) | (u32::MAX.checked_shr(u32::from(l)).unwrap_or(0));
                inside = Some((kind, format!("{:08x}", u32::from(a)), format!("{last:08x}")));
            }
        }
        ValueKind::Ipv6 => {
            let (a, l) = ip_net::<Ipv6Addr>(&normalised, 128).ok_or("unreachable")?;
            v6_keys(a, l, held, &mut keys);
            if l < 128 {
                let last = u128::from(a) | (u128::MAX.checked_shr(u32::from(l)).unwrap_or(0));
                inside = Some((
                    kind,
                    format!("{:032x}", u128::from(a)),
                    format!("{last:032x}"),
                ));
            }
        }
        ValueKind::Domain => parents(&normalised, kind, &mut keys),
        ValueKind::Url => {
            keys.push((kind, normalised.clone()));
            if let Some(h) = url::Url::parse(&normalised)
                .ok()
                .and_then(|u| u.host_str().map(String::from))
            {
                host_keys(&h, held, &mut keys);
            }
        }
        ValueKind::Email => {
            keys.push((kind, normalised.clone()));
            if let Some((_, h)) = normalised.rsplit_once('@') {
                host_keys(h, held, &mut keys);
            }
        }
        _ => keys.push((kind, normalised.clone())),
    }
    Ok(Probe {
        kind,
        normalised,
        keys,
        inside,
    })
}

/// The kind a pattern's object path names, if the hub indexes it.
fn kind_of_path(path: &str) -> Option<ValueKind> {
    let p: String = path.chars().filter(|c| !c.is_whitespace()).collect();
    let hash = |name: &str| -> Option<ValueKind> {
        match name
            .trim_matches('\'')
            .to_ascii_uppercase()
            .replace('-', "")
            .as_str()
        {
            "MD5" => Some(ValueKind::Md5),
            "SHA1" => Some(ValueKind::Sha1),
            "SHA256" => Some(ValueKind::Sha256),
            "SHA512" => Some(ValueKind::Sha512),
            _ => None,
        }
    };
    match p.as_str() {
        "ipv4-addr:value" => Some(ValueKind::Ipv4),
        "ipv6-addr:value" => Some(ValueKind::Ipv6),
        "domain-name:value" => Some(ValueKind::Domain),
        "url:value" => Some(ValueKind::Url),
        "email-addr:value" | "email-message:from_ref.value" | "email-message:sender_ref.value" => {
            Some(ValueKind::Email)
        }
        _ => p.strip_prefix("file:hashes.").and_then(hash),
    }
}

/// The kind a comparison's left side names when its operator is `=` or `ISSUBSET`.
fn compared(head: &str) -> Option<ValueKind> {
    let h = head.trim();
    if h.ends_with("!=") {
        return None;
    }
    let path = match h.strip_suffix('=') {
        Some(p) => p,
        None if h.to_ascii_uppercase().ends_with("ISSUBSET") => &h[..h.len() - "ISSUBSET".len()],
        None => return None,
    };
    kind_of_path(path.split_whitespace().last()?)
}

/// The values a STIX pattern compares for equality (or subset, for networks): each
/// `path = 'value'` / `path ISSUBSET 'value'` comparison whose path the hub indexes.
/// Values that do not normalise are left out ([`unreadable_in`] refuses them on the way in).
pub fn of_pattern(pattern: &str) -> Vec<(ValueKind, String)> {
    let mut out = Vec::new();
    for (kind, _, v) in comparisons(pattern) {
        if let Ok(v) = v {
            if !out.contains(&(kind, v.clone())) {
                out.push((kind, v));
            }
        }
    }
    out
}

/// Why a STIX pattern cannot be stored: an equality (or subset) comparison of a path the hub
/// indexes with a literal that is not a value of that kind (`[ipv4-addr:value =
/// '192.0.2.300']` could never match anything).
pub fn unreadable_in(pattern: &str) -> Option<String> {
    comparisons(pattern).into_iter().find_map(|(kind, lit, v)| {
        v.err()
            .map(|e| format!("'{lit}' compared with {}: {e}", kind.stix_path()))
    })
}

/// Each indexed comparison of a pattern: its kind, its literal, and the literal normalised.
fn comparisons(pattern: &str) -> Vec<(ValueKind, String, Result<String, &'static str>)> {
    let mut out = Vec::new();
    // The text of the comparison being read, since the last bracket or literal.
    let mut head = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '[' | ']' | '(' | ')' => head.clear(),
            '\'' => {
                let mut lit = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => lit.extend(chars.next()),
                        '\'' => break,
                        _ => lit.push(c),
                    }
                }
                if head.trim_end().ends_with('.') {
                    // A quoted path component, as in file:hashes.'SHA-256'.
                    head.push('\'');
                    head.push_str(&lit);
                    head.push('\'');
                    continue;
                }
                if let Some(kind) = compared(&head) {
                    let v = normalise(kind, &lit);
                    out.push((kind, lit, v));
                }
                head.clear();
            }
            _ => head.push(c),
        }
    }
    out
}

/// The values an object puts in the index: an indicator's STIX pattern, an observable's
/// value or file hashes. A revoked object indexes nothing.
pub fn of_object(stix_type: &str, object: &Map<String, Value>) -> Vec<(ValueKind, String)> {
    if object.get("revoked") == Some(&Value::Bool(true)) {
        return Vec::new();
    }
    let text = |k: &str| object.get(k).and_then(Value::as_str);
    let one = |kind: ValueKind| {
        text("value")
            .and_then(|v| normalise(kind, v).ok())
            .map(|v| vec![(kind, v)])
            .unwrap_or_default()
    };
    match stix_type {
        "indicator" if text("pattern_type") == Some("stix") => {
            text("pattern").map(of_pattern).unwrap_or_default()
        }
        "ipv4-addr" => one(ValueKind::Ipv4),
        "ipv6-addr" => one(ValueKind::Ipv6),
        "domain-name" => one(ValueKind::Domain),
        "url" => one(ValueKind::Url),
        "email-addr" => one(ValueKind::Email),
        "file" => object
            .get("hashes")
            .and_then(Value::as_object)
            .map(|h| {
                h.iter()
                    .filter_map(|(name, v)| {
                        let kind = kind_of_path(&format!("file:hashes.{name}"))?;
                        Some((kind, normalise(kind, v.as_str()?).ok()?))
                    })
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ValueKind::*;

    #[test]
    fn defanged_values_are_refanged_and_normalised() {
        assert_eq!(
            normalise(Url, "hxxps://Evil[.]Example[.]com:443/a?b=1").unwrap(),
            "https://evil.example.com/a?b=1"
        );
        assert_eq!(
            normalise(Domain, "WWW.Example[.]COM.").unwrap(),
            "www.example.com"
        );
        assert_eq!(
            normalise(Email, "Bob[@]Example(.)com").unwrap(),
            "bob@example.com"
        );
        assert_eq!(
            normalise(Ipv4, "198.51.100.77/24").unwrap(),
            "198.51.100.0/24"
        );
        assert_eq!(normalise(Ipv4, "203.0.113.7/32").unwrap(), "203.0.113.7");
        assert_eq!(normalise(Ipv6, "2001:DB8:0:0::1").unwrap(), "2001:db8::1");
        assert_eq!(
            normalise(Sha256, &"AB".repeat(32)).unwrap(),
            "ab".repeat(32)
        );
        assert!(normalise(Ipv4, "300.1.1.1").is_err());
        assert!(normalise(Domain, "localhost").is_err());
        assert!(normalise(Md5, "xyz").is_err());
        assert!(normalise(Email, "a\u{0}b@example.com").is_err());
        assert!(probe("a\u{0}b@example.com").is_err());
    }

    #[test]
    fn bare_values_are_classified() {
        assert_eq!(classify("203.0.113.7"), Some(Ipv4));
        assert_eq!(classify("10.0.0.0/8"), Some(Ipv4));
        assert_eq!(classify("2001:db8::/32"), Some(Ipv6));
        assert_eq!(classify("evil[.]example.com"), Some(Domain));
        assert_eq!(classify("hxxp://evil.example.com/x"), Some(Url));
        assert_eq!(classify("a@b.example"), Some(Email));
        assert_eq!(classify(&"0".repeat(40)), Some(Sha1));
        assert_eq!(classify("not a value"), None);
    }

    #[test]
    fn a_pattern_built_for_a_value_gives_the_value_back() {
        for (k, v) in [
            (Ipv4, "203.0.113.7"),
            (Ipv4, "198.51.100.0/24"),
            (Ipv6, "2001:db8::/32"),
            (Domain, "evil.example.com"),
            (Url, "http://evil.example.com/it's"),
            (Email, "x@evil.example.com"),
            (Md5, "d41d8cd98f00b204e9800998ecf8427e"),
            (Sha256, &"a".repeat(64)),
        ] {
            assert_eq!(of_pattern(&k.pattern(v)), vec![(k, v.to_string())], "{k}");
        }
    }

    #[test]
    fn compound_patterns_give_every_indexed_comparison() {
        let p = "([ipv4-addr:value = '203.0.113.7' OR domain-name:value='EVIL.example.com'] AND [file:hashes.'SHA-256' = 'AA' ]) OR [file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e'] AND [process:name = 'x.exe'] FOLLOWEDBY [url:value != 'http://a.example/']";
        assert_eq!(
            of_pattern(p),
            vec![
                (Ipv4, "203.0.113.7".into()),
                (Domain, "evil.example.com".into()),
                (Md5, "d41d8cd98f00b204e9800998ecf8427e".into()),
            ]
        );
    }

    #[test]
    fn an_address_probes_every_network_holding_it_and_a_domain_its_parents() {
        let p = probe("198.51.100.77").unwrap();
        assert_eq!(p.keys.len(), 33);
        assert!(p.keys.contains(&(Ipv4, "198.51.100.0/24".into())));
        assert!(p.keys.contains(&(Ipv4, "198.51.100.77".into())));
        assert!(p.inside.is_none());
        let n = probe("198.51.100.0/24").unwrap();
        assert_eq!(n.inside, Some((Ipv4, "c6336400".into(), "c63364ff".into())));
        assert_eq!(ip_key(Ipv4, "198.51.100.77").as_deref(), Some("c633644d"));
        let d = probe("a.b.example.co.uk").unwrap();
        let names: Vec<&str> = d.keys.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(
            names,
            [
                "a.b.example.co.uk",
                "b.example.co.uk",
                "example.co.uk",
                "co.uk"
            ]
        );
        let u = probe("hxxp://evil[.]example.com/x").unwrap();
        assert_eq!(u.keys[0], (Url, "http://evil.example.com/x".into()));
        assert!(u.keys.contains(&(Domain, "example.com".into())));
    }
}
