//! Atom (RFC 4287) and RSS 2.0 feeds of a provider's public incident and maintenance history,
//! one entry per incident with its update timeline as content.

use crate::publishing::statuspage::{PublicData, PublicIncident};
use cirhub_shared::time::from_millis;

/// Escapes text for XML element content and attribute values.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Input is refused with these, but a record stored before that check (or
            // written by another path) must not break the document: drop them.
            c if !crate::text::is_xml_char(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// The entry's HTML body: each update, newest first, as "<strong>Status</strong> - body".
fn content_html(i: &PublicIncident) -> String {
    let mut html = String::new();
    for u in &i.updates {
        let when = from_millis(u.created_at)
            .format("%b %e, %H:%M UTC")
            .to_string();
        let status = u
            .status
            .parse::<cirhub_shared::IncidentStatus>()
            .map(|s| s.label())
            .unwrap_or("Update");
        html.push_str(&format!(
            "<p><small>{}</small><br><strong>{}</strong> - {}</p>",
            xml_escape(&when),
            xml_escape(status),
            xml_escape(&u.body)
        ));
    }
    html
}

fn rfc3339(ms: i64) -> String {
    cirhub_shared::time::format(&from_millis(ms))
}

/// Atom 1.0 document.
pub fn atom(data: &PublicData) -> String {
    let url = data.page_url();
    let updated = data
        .incidents
        .iter()
        .map(|i| i.row.updated_at)
        .max()
        .unwrap_or(data.org.updated_at);
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str("<feed xml:lang=\"en-US\" xmlns=\"http://www.w3.org/2005/Atom\">\n");
    x.push_str(&format!("  <id>{}</id>\n", xml_escape(&data.feed_ids.feed)));
    x.push_str(&format!(
        "  <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
        xml_escape(&url)
    ));
    x.push_str(&format!(
        "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n",
        xml_escape(&data.feed_url("history.atom"))
    ));
    x.push_str(&format!(
        "  <title>{} Status - Incident History</title>\n",
        xml_escape(&data.org.name)
    ));
    x.push_str(&format!("  <updated>{}</updated>\n", rfc3339(updated)));
    x.push_str(&format!(
        "  <author><name>{}</name></author>\n",
        xml_escape(&data.org.name)
    ));
    for i in &data.incidents {
        x.push_str("  <entry>\n");
        x.push_str(&format!(
            "    <id>{}{}</id>\n",
            xml_escape(&data.feed_ids.entry_prefix),
            xml_escape(&i.row.id)
        ));
        x.push_str(&format!(
            "    <published>{}</published>\n",
            rfc3339(i.row.created_at)
        ));
        x.push_str(&format!(
            "    <updated>{}</updated>\n",
            rfc3339(i.row.updated_at)
        ));
        x.push_str(&format!(
            "    <link rel=\"alternate\" type=\"text/html\" href=\"{}#incident-{}\"/>\n",
            xml_escape(&url),
            xml_escape(&i.row.id)
        ));
        x.push_str(&format!(
            "    <title>{}</title>\n",
            xml_escape(&i.row.title)
        ));
        x.push_str(&format!(
            "    <content type=\"html\">{}</content>\n",
            xml_escape(&content_html(i))
        ));
        x.push_str("  </entry>\n");
    }
    x.push_str("</feed>\n");
    x
}

/// RSS 2.0 document.
pub fn rss(data: &PublicData) -> String {
    let url = data.page_url();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str("<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\">\n  <channel>\n");
    x.push_str(&format!(
        "    <title>{} Status - Incident History</title>\n",
        xml_escape(&data.org.name)
    ));
    x.push_str(&format!("    <link>{}</link>\n", xml_escape(&url)));
    x.push_str(&format!(
        "    <atom:link href=\"{}\" rel=\"self\" type=\"application/rss+xml\"/>\n",
        xml_escape(&data.feed_url("history.rss"))
    ));
    x.push_str(&format!(
        "    <description>Statuspage of {}</description>\n",
        xml_escape(&data.org.name)
    ));
    for i in &data.incidents {
        x.push_str("    <item>\n");
        x.push_str(&format!(
            "      <title>{}</title>\n",
            xml_escape(&i.row.title)
        ));
        x.push_str(&format!(
            "      <description>{}</description>\n",
            xml_escape(&content_html(i))
        ));
        x.push_str(&format!(
            "      <pubDate>{}</pubDate>\n",
            from_millis(i.row.created_at).to_rfc2822()
        ));
        x.push_str(&format!(
            "      <link>{}#incident-{}</link>\n",
            xml_escape(&url),
            xml_escape(&i.row.id)
        ));
        x.push_str(&format!(
            "      <guid isPermaLink=\"false\">{}{}</guid>\n",
            xml_escape(&data.feed_ids.entry_prefix),
            xml_escape(&i.row.id)
        ));
        x.push_str("    </item>\n");
    }
    x.push_str("  </channel>\n</rss>\n");
    x
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup_and_drops_forbidden_control_characters() {
        assert_eq!(
            super::xml_escape("a<b>&\"c'\u{1}\n"),
            "a&lt;b&gt;&amp;&quot;c&apos;\n"
        );
    }

    #[test]
    fn drops_every_character_xml_forbids_and_keeps_the_rest() {
        assert_eq!(
            super::xml_escape("\0x\u{B}\u{1F}y\u{FFFE}z\u{FFFF}\t\r\n\u{FFFD}\u{10000}\u{200B}"),
            "xyz\t\r\n\u{FFFD}\u{10000}\u{200B}"
        );
    }
}
