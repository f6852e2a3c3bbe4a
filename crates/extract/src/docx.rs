//! DOCX: paragraphs of `word/document.xml`, with Heading and Title styles as sections.
//! The archive is read with a cap on expanded size, so a zip bomb fails instead of filling
//! memory.

use crate::archive::Archive;
use crate::builder::TextBuilder;
use crate::xml::{attr, local, push_reference};
use crate::ExtractError;
use cairn_core::{DocumentKind, ExtractedDocument};
use quick_xml::events::Event;

pub(crate) fn extract(bytes: &[u8]) -> Result<ExtractedDocument, ExtractError> {
    let xml = Archive::open(bytes, "DOCX")?.read("word/document.xml")?;
    let corrupt = |reason: String| ExtractError::Corrupt {
        format: "DOCX",
        reason,
    };
    let mut reader = quick_xml::Reader::from_reader(xml.as_slice());
    let mut builder = TextBuilder::new();
    let mut paragraph = String::new();
    let mut style: Option<String> = None;
    let mut in_text = false;
    let mut buf = Vec::new();
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| corrupt(e.to_string()))?;
        match event {
            Event::Start(e) | Event::Empty(e) if local(&e) == b"pStyle" => {
                style = attr(&e, b"val");
            }
            Event::Start(e) if local(&e) == b"t" => in_text = true,
            Event::End(e) if e.local_name().as_ref() == b"t" => in_text = false,
            Event::Empty(e) if local(&e) == b"tab" => paragraph.push('\t'),
            Event::Empty(e) if matches!(local(&e), b"br" | b"cr") => paragraph.push('\n'),
            Event::Text(t) if in_text => {
                let text = t.decode().map_err(|e| corrupt(e.to_string()))?;
                paragraph.push_str(&text);
            }
            // quick-xml reports `&amp;`, `&lt;`, `&#8364;`… apart from the text around them.
            Event::GeneralRef(r) if in_text => push_reference(&mut paragraph, &r, corrupt)?,
            Event::End(e) if e.local_name().as_ref() == b"p" => {
                match style.take().as_deref().and_then(heading_level) {
                    Some(level) => builder.heading(level, &paragraph),
                    None => builder.paragraph(&paragraph),
                }
                paragraph.clear();
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(builder.finish(DocumentKind::Docx, None))
}

/// `Heading1`…`Heading9` and `Title` (as level 1); other styles are body text.
fn heading_level(style: &str) -> Option<u8> {
    let lower = style.to_ascii_lowercase();
    if lower == "title" {
        return Some(1);
    }
    lower
        .strip_prefix("heading")
        .and_then(|n| n.trim().parse::<u8>().ok())
        .filter(|n| (1..=9).contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::tests::zip_of;

    fn docx(body: &str) -> Vec<u8> {
        let xml = format!(
            r#"<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>"#
        );
        zip_of(&[("word/document.xml", xml.as_bytes())])
    }

    #[test]
    fn headings_and_paragraphs_come_out_in_order() {
        let body = r#"<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>Report</w:t></w:r></w:p>
            <w:p><w:r><w:t xml:space="preserve">Sales rose </w:t></w:r><w:r><w:t>12%.</w:t></w:r></w:p>"#;
        let doc = extract(&docx(body)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(doc.text, "Report\n\nSales rose 12%.");
        assert_eq!(doc.sections[0].heading_path, vec!["Report".to_string()]);
        assert_eq!(doc.title.as_deref(), Some("Report"));
    }

    #[test]
    fn entities_and_character_references_keep_their_text() {
        let body = r#"<w:p><w:r><w:t>R&amp;D spent &lt;5% &gt; plan, &quot;ok&quot; &apos;n&apos; 10&#8364; &#x2013; caf&#233;</w:t></w:r></w:p>"#;
        let doc = extract(&docx(body)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(doc.text, "R&D spent <5% > plan, \"ok\" 'n' 10€ – café");
    }

    #[test]
    fn not_a_zip_is_a_corrupt_docx() {
        assert!(matches!(
            extract(b"plain bytes"),
            Err(ExtractError::Corrupt { format: "DOCX", .. })
        ));
    }
}
