//! ODT (OpenDocument text): the paragraphs and headings of `content.xml`; a heading's
//! outline level gives its depth in the heading path.

use crate::archive::Archive;
use crate::builder::TextBuilder;
use crate::xml::{attr, local, push_reference};
use crate::ExtractError;
use cairn_core::{DocumentKind, ExtractedDocument};
use quick_xml::events::Event;

const FORMAT: &str = "ODT";

pub(crate) fn extract(bytes: &[u8]) -> Result<ExtractedDocument, ExtractError> {
    let xml = Archive::open(bytes, FORMAT)?.read("content.xml")?;
    let corrupt = |reason: String| ExtractError::Corrupt {
        format: FORMAT,
        reason,
    };
    let mut reader = quick_xml::Reader::from_reader(xml.as_slice());
    let mut builder = TextBuilder::new();
    let mut block = String::new();
    // The heading level of the open block, or 0 for a paragraph; nested blocks (a
    // paragraph in a list or table cell) are written as they close.
    let mut levels: Vec<u8> = Vec::new();
    let mut skip = 0usize;
    let mut buf = Vec::new();
    loop {
        match reader
            .read_event_into(&mut buf)
            .map_err(|e| corrupt(e.to_string()))?
        {
            Event::Start(e) if matches!(local(&e), b"h" | b"p") => {
                flush(&mut builder, &mut block, levels.last().copied());
                let level = if local(&e) == b"h" {
                    attr(&e, b"outline-level")
                        .and_then(|l| l.parse::<u8>().ok())
                        .unwrap_or(1)
                        .clamp(1, 9)
                } else {
                    0
                };
                levels.push(level);
            }
            Event::End(e) if matches!(e.local_name().as_ref(), b"h" | b"p") => {
                flush(&mut builder, &mut block, levels.pop());
            }
            // Notes and annotations are not body text.
            Event::Start(e)
                if matches!(local(&e), b"note" | b"annotation" | b"tracked-changes") =>
            {
                skip += 1;
            }
            Event::End(e)
                if matches!(
                    e.local_name().as_ref(),
                    b"note" | b"annotation" | b"tracked-changes"
                ) =>
            {
                skip = skip.saturating_sub(1);
            }
            Event::Empty(e) if skip == 0 && !levels.is_empty() => match local(&e) {
                b"s" => block.push(' '),
                b"tab" => block.push('\t'),
                b"line-break" => block.push('\n'),
                _ => {}
            },
            Event::Text(t) if skip == 0 && !levels.is_empty() => {
                block.push_str(&t.decode().map_err(|e| corrupt(e.to_string()))?);
            }
            Event::GeneralRef(r) if skip == 0 && !levels.is_empty() => {
                push_reference(&mut block, &r, corrupt)?;
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(builder.finish(DocumentKind::Odt, None))
}

fn flush(builder: &mut TextBuilder, block: &mut String, level: Option<u8>) {
    match level {
        Some(level) if level > 0 => builder.heading(level, block),
        _ => builder.paragraph(block),
    }
    block.clear();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::tests::zip_of;

    #[test]
    fn headings_nest_by_outline_level() {
        let content = r#"<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>
            <text:h text:outline-level="1">Bericht</text:h>
            <text:p>Der Umsatz stieg<text:s/>um 12&#160;%.</text:p>
            <text:h text:outline-level="2">Ausblick</text:h>
            <text:p>Mehr <text:span>Wachstum</text:span> erwartet.<text:note><text:note-body><text:p>Fußnote</text:p></text:note-body></text:note></text:p>
            </office:text></office:body></office:document-content>"#;
        let bytes = zip_of(&[("content.xml", content.as_bytes())]);
        let doc = extract(&bytes).unwrap();
        assert_eq!(
            doc.text,
            "Bericht\n\nDer Umsatz stieg um 12\u{a0}%.\n\nAusblick\n\nMehr Wachstum erwartet."
        );
        assert_eq!(doc.sections[1].heading_path, ["Bericht", "Ausblick"]);
        assert_eq!(doc.title.as_deref(), Some("Bericht"));
    }
}
