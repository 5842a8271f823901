//! What counts as acceptable and as blank text, for every text a client sends and every
//! document the server writes. Stored texts reach XML (Atom, RSS), HTML, mail and
//! PostgreSQL, so the strictest of them sets the rule: XML 1.0's `Char` production.

/// True if XML 1.0 allows `c` (its `Char` production): tab, line feed, carriage return,
/// and everything from U+0020 except U+FFFE and U+FFFF (surrogates cannot occur in a Rust
/// `char`). This also excludes NUL, which PostgreSQL cannot store in text.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r')
        || ('\u{20}'..='\u{D7FF}').contains(&c)
        || ('\u{E000}'..='\u{FFFD}').contains(&c)
        || c >= '\u{10000}'
}

/// Characters that show nothing on their own: Unicode format characters (general category
/// Cf: zero-width space and joiners, word joiner, byte-order mark, bidirectional controls,
/// tag characters) and the other default-ignorable code points (fillers, variation
/// selectors). A text made only of these and whitespace looks empty, so it is blank.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c as u32,
        0x00AD
            | 0x034F
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x115F..=0x1160
            | 0x17B4..=0x17B5
            | 0x180B..=0x180F
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x206F
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFEFF
            | 0xFFA0
            | 0xFFF0..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF
    )
}

/// True if `s` shows nothing: only whitespace and invisible characters.
pub fn is_blank(s: &str) -> bool {
    s.chars().all(|c| c.is_whitespace() || is_invisible(c))
}

/// The first character of `s` that XML 1.0 forbids, if any.
pub fn forbidden_char(s: &str) -> Option<char> {
    s.chars().find(|&c| !is_xml_char(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_chars_follow_the_char_production() {
        for ok in [
            '\t',
            '\n',
            '\r',
            ' ',
            'a',
            '\u{D7FF}',
            '\u{E000}',
            '\u{FFFD}',
            '\u{10000}',
        ] {
            assert!(is_xml_char(ok), "{ok:?}");
        }
        for bad in ['\0', '\u{1}', '\u{B}', '\u{1F}', '\u{FFFE}', '\u{FFFF}'] {
            assert!(!is_xml_char(bad), "{bad:?}");
        }
        assert_eq!(forbidden_char("ok \u{FFFE} no"), Some('\u{FFFE}'));
        assert_eq!(forbidden_char("tab\tand\r\nnewline"), None);
    }

    #[test]
    fn blank_means_nothing_visible() {
        for blank in [
            "",
            " \t\n",
            "\u{200B}",
            "\u{200C}\u{200D}",
            "\u{2060}\u{FEFF}",
            "\u{3000}\u{00A0}\u{00AD}",
        ] {
            assert!(is_blank(blank), "{blank:?}");
        }
        for text in ["a", " x\u{200B}", "\u{1F469}\u{200D}\u{1F4BB}", "\u{0301}"] {
            assert!(!is_blank(text), "{text:?}");
        }
    }
}
