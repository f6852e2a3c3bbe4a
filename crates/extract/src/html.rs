//! HTML → Markdown (htmd) → sections, so headings give heading paths as in Markdown.

use crate::ExtractError;
use cairn_core::{DocumentKind, ExtractedDocument};

pub(crate) fn extract(html: &str) -> Result<ExtractedDocument, ExtractError> {
    let markdown = to_markdown(html)?;
    let mut doc = crate::markdown::extract_as(&markdown, DocumentKind::Html);
    if let Some(title) = title_of(html) {
        doc.title = Some(title);
    }
    Ok(doc)
}

/// The readable part of an HTML page as Markdown: scripts, styles and navigation left out.
pub(crate) fn to_markdown(html: &str) -> Result<String, ExtractError> {
    let converter = htmd::HtmlToMarkdown::builder()
        .skip_tags(vec![
            "script", "style", "head", "nav", "noscript", "template", "svg",
        ])
        .build();
    converter.convert(html).map_err(ExtractError::Html)
}

fn title_of(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let start = lower.find("<title")?;
    let open_end = start + lower[start..].find('>')? + 1;
    let close = open_end + lower[open_end..].find("</title")?;
    let raw = html.get(open_end..close)?;
    // `<title>R&amp;D</title>` is "R&D": the title is raw HTML text, entities included.
    let decoded = quick_xml::escape::unescape_with(raw, quick_xml::escape::resolve_html5_entity)
        .unwrap_or(std::borrow::Cow::Borrowed(raw));
    let title = decoded.split_whitespace().collect::<Vec<_>>().join(" ");
    (!title.is_empty()).then_some(title)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_headings_become_sections_and_scripts_vanish() {
        let html = "<html><head><title>My Page</title><script>var x=1;</script></head><body>\
            <h1>Top</h1><p>Alpha text.</p><h2>Sub</h2><p>Beta text.</p></body></html>";
        let doc = extract(html).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(doc.title.as_deref(), Some("My Page"));
        assert!(!doc.text.contains("var x"));
        let last = doc
            .sections
            .last()
            .map(|s| s.heading_path.clone())
            .unwrap_or_default();
        assert_eq!(last, vec!["Top".to_string(), "Sub".to_string()]);
        assert!(doc.text.contains("Beta text."));
    }

    #[test]
    fn html_entities_keep_their_text_in_title_headings_and_body() {
        let html = "<html><head><title>R&amp;D &ndash; 2024</title></head><body>\
            <h1>Q&amp;A</h1><p>R&amp;D spent &lt;5% &#8364; caf&eacute; &quot;ok&quot;</p></body></html>";
        let doc = extract(html).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(doc.title.as_deref(), Some("R&D – 2024"));
        assert_eq!(doc.sections[0].heading_path, vec!["Q&A".to_string()]);
        for kept in ["R&D", "5%", "€", "café", "ok"] {
            assert!(doc.text.contains(kept), "{kept:?} lost in {:?}", doc.text);
        }
        assert!(!doc.text.contains("&amp;"), "{:?}", doc.text);
    }
}
