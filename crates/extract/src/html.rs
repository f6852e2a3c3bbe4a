//! HTML → Markdown (htmd) → sections, so headings give heading paths as in Markdown.

use crate::ExtractError;
use cairn_core::{DocumentKind, ExtractedDocument};

pub(crate) fn extract(html: &str) -> Result<ExtractedDocument, ExtractError> {
    let converter = htmd::HtmlToMarkdown::builder()
        .skip_tags(vec![
            "script", "style", "head", "nav", "noscript", "template", "svg",
        ])
        .build();
    let markdown = converter.convert(html).map_err(ExtractError::Html)?;
    let mut doc = crate::markdown::extract_as(&markdown, DocumentKind::Html);
    if let Some(title) = title_of(html) {
        doc.title = Some(title);
    }
    Ok(doc)
}

fn title_of(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let start = lower.find("<title")?;
    let open_end = start + lower[start..].find('>')? + 1;
    let close = open_end + lower[open_end..].find("</title")?;
    let title = html
        .get(open_end..close)?
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
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
}
