//! Markdown: the source text is kept as is (quotes match the file), with one section per
//! heading and its heading path.

use crate::ExtractError;
use cairn_core::{DocumentKind, ExtractedDocument, SectionSpan};
use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

pub(crate) fn extract(source: &str) -> Result<ExtractedDocument, ExtractError> {
    Ok(extract_as(source, DocumentKind::Markdown))
}

/// Extracts Markdown produced from another format (HTML), keeping that format's kind.
pub(crate) fn extract_as(source: &str, kind: DocumentKind) -> ExtractedDocument {
    let text = strip_front_matter(source).to_string();
    let mut sections = Vec::new();
    let mut stack: Vec<(u8, String)> = Vec::new();
    let mut open: Option<usize> = None;
    let mut heading: Option<(u8, usize, String)> = None;
    let mut title = None;
    for (event, range) in Parser::new_ext(&text, Options::empty()).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                if let Some(start) = open.take() {
                    push_section(&mut sections, &stack, start, range.start);
                }
                heading = Some((level_number(level), range.start, String::new()));
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, _, h)) = heading.as_mut() {
                    h.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, start, h)) = heading.take() {
                    let h = h.split_whitespace().collect::<Vec<_>>().join(" ");
                    stack.retain(|(l, _)| *l < level);
                    if level == 1 && title.is_none() && !h.is_empty() {
                        title = Some(h.clone());
                    }
                    stack.push((level, h));
                    open = Some(start);
                }
            }
            _ => {}
        }
    }
    if let Some(start) = open {
        push_section(&mut sections, &stack, start, text.len());
    }
    ExtractedDocument {
        sections,
        ..ExtractedDocument::plain(kind, title, text)
    }
}

fn push_section(sections: &mut Vec<SectionSpan>, stack: &[(u8, String)], start: usize, end: usize) {
    if end > start {
        sections.push(SectionSpan {
            heading_path: stack
                .iter()
                .map(|(_, h)| h.clone())
                .filter(|h| !h.is_empty())
                .collect(),
            start,
            end,
        });
    }
}

fn level_number(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// YAML front matter is metadata, not prose.
fn strip_front_matter(source: &str) -> &str {
    if let Some(rest) = source.strip_prefix("---\n") {
        if let Some(end) = rest.find("\n---\n") {
            return &rest[end + 5..];
        }
    }
    source
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_carry_their_heading_path() {
        let md =
            "# Guide\n\nIntro.\n\n## Install\n\nRun it.\n\n### Linux\n\napt.\n\n## Use\n\nAsk.\n";
        let doc = extract(md).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(doc.title.as_deref(), Some("Guide"));
        let paths: Vec<String> = doc
            .sections
            .iter()
            .map(|s| s.heading_path.join("/"))
            .collect();
        assert_eq!(
            paths,
            vec!["Guide", "Guide/Install", "Guide/Install/Linux", "Guide/Use"]
        );
        let linux = &doc.sections[2];
        assert_eq!(&doc.text[linux.start..linux.end], "### Linux\n\napt.\n\n");
    }
}
