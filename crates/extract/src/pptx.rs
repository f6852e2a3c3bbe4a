//! PPTX: each slide is a page (cited as "slide 3"), in the order of the deck, not of the
//! file names; its title opens a section, then its text boxes and tables, then its speaker
//! notes.

use crate::archive::{resolve, Archive};
use crate::builder::TextBuilder;
use crate::xml::{attr, local, push_reference};
use crate::ExtractError;
use cairn_core::{DocumentKind, ExtractedDocument};
use quick_xml::events::Event;

const FORMAT: &str = "PPTX";
const PRESENTATION: &str = "ppt/presentation.xml";

pub(crate) fn extract(bytes: &[u8]) -> Result<ExtractedDocument, ExtractError> {
    let mut archive = Archive::open(bytes, FORMAT)?;
    let order = slide_ids(&archive.read(PRESENTATION)?)?;
    let rels = relationships(&mut archive, PRESENTATION)?;
    let mut builder = TextBuilder::new();
    let mut number = 0u32;
    for id in order {
        let Some(target) = rels.iter().find(|r| r.id == id).map(|r| r.target.clone()) else {
            continue;
        };
        let slide_path = resolve(PRESENTATION, &target);
        let Some(xml) = archive.read_optional(&slide_path)? else {
            continue;
        };
        number += 1;
        let shapes = shapes(&xml)?;
        let title = shapes
            .iter()
            .find(|s| matches!(s.placeholder.as_deref(), Some("title" | "ctrTitle")))
            .map(|s| s.lines.join(" "))
            .filter(|t| !t.trim().is_empty());
        let mut body: Vec<String> = shapes
            .iter()
            .filter(|s| {
                !matches!(
                    s.placeholder.as_deref(),
                    Some("title" | "ctrTitle" | "sldNum" | "dt" | "ftr")
                )
            })
            .flat_map(|s| s.lines.iter().cloned())
            .collect();
        let notes = notes_of(&mut archive, &slide_path)?;
        if !notes.is_empty() {
            body.push(format!("Notes: {}", notes.join("\n")));
        }
        builder.titled_page(number, title.as_deref(), &body.join("\n"));
    }
    if number == 0 {
        return Err(archive.corrupt("it has no slides"));
    }
    Ok(builder.finish(DocumentKind::Pptx, None))
}

/// The `r:id`s of `<p:sldIdLst>`, in the deck's order.
fn slide_ids(xml: &[u8]) -> Result<Vec<String>, ExtractError> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut ids = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).map_err(corrupt)? {
            Event::Start(e) | Event::Empty(e) if local(&e) == b"sldId" => {
                // `r:id`, whatever prefix the relationships namespace has; the bare `id` is a
                // number of its own.
                let id = e
                    .attributes()
                    .flatten()
                    .find(|a| a.key.as_ref() != b"id" && a.key.local_name().as_ref() == b"id")
                    .and_then(|a| String::from_utf8(a.value.into_owned()).ok());
                if let Some(id) = id {
                    ids.push(id);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(ids)
}

pub(crate) struct Relationship {
    pub id: String,
    pub kind: String,
    pub target: String,
}

/// The relationships of the part `part` (`ppt/_rels/presentation.xml.rels` for
/// `ppt/presentation.xml`); links to outside the package are left out.
pub(crate) fn relationships(
    archive: &mut Archive<'_>,
    part: &str,
) -> Result<Vec<Relationship>, ExtractError> {
    let (folder, name) = part.rsplit_once('/').unwrap_or(("", part));
    let rels_path = if folder.is_empty() {
        format!("_rels/{name}.rels")
    } else {
        format!("{folder}/_rels/{name}.rels")
    };
    let Some(xml) = archive.read_optional(&rels_path)? else {
        return Ok(Vec::new());
    };
    let mut reader = quick_xml::Reader::from_reader(xml.as_slice());
    let mut buf = Vec::new();
    let mut out = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).map_err(corrupt)? {
            Event::Start(e) | Event::Empty(e) if local(&e) == b"Relationship" => {
                if attr(&e, b"TargetMode").as_deref() == Some("External") {
                    continue;
                }
                if let (Some(id), Some(target)) = (attr(&e, b"Id"), attr(&e, b"Target")) {
                    out.push(Relationship {
                        id,
                        kind: attr(&e, b"Type").unwrap_or_default(),
                        target,
                    });
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(out)
}

/// The speaker notes of a slide: the body placeholder of its notes slide.
fn notes_of(archive: &mut Archive<'_>, slide_path: &str) -> Result<Vec<String>, ExtractError> {
    let rels = relationships(archive, slide_path)?;
    let Some(rel) = rels.iter().find(|r| r.kind.ends_with("/notesSlide")) else {
        return Ok(Vec::new());
    };
    let Some(xml) = archive.read_optional(&resolve(slide_path, &rel.target))? else {
        return Ok(Vec::new());
    };
    Ok(shapes(&xml)?
        .into_iter()
        .filter(|s| s.placeholder.as_deref() == Some("body"))
        .flat_map(|s| s.lines)
        .collect())
}

/// A text-bearing shape: a text box, a placeholder or a table.
struct Shape {
    /// The placeholder type (`title`, `body`, `sldNum`…); `None` for free shapes.
    placeholder: Option<String>,
    lines: Vec<String>,
}

/// The shapes of a slide or notes slide, in document order; a table is one shape whose
/// lines are its rows, cells joined by " | ".
fn shapes(xml: &[u8]) -> Result<Vec<Shape>, ExtractError> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut shape: Option<Shape> = None;
    let mut paragraph = String::new();
    let mut in_text = false;
    let mut in_field = false;
    let mut cell: Option<Vec<String>> = None;
    let mut row: Option<Vec<String>> = None;
    loop {
        let event = reader.read_event_into(&mut buf).map_err(corrupt)?;
        match event {
            Event::Start(e) if matches!(local(&e), b"sp" | b"graphicFrame") => {
                // A group's shapes are flushed one by one; an unclosed one starts over.
                flush(&mut out, shape.take());
                shape = Some(Shape {
                    placeholder: None,
                    lines: Vec::new(),
                });
            }
            Event::End(e) if matches!(e.local_name().as_ref(), b"sp" | b"graphicFrame") => {
                flush(&mut out, shape.take());
            }
            Event::Start(e) | Event::Empty(e) if local(&e) == b"ph" => {
                if let Some(s) = shape.as_mut() {
                    // A placeholder without a type is a body placeholder.
                    s.placeholder = Some(attr(&e, b"type").unwrap_or_else(|| "body".into()));
                }
            }
            Event::Start(e) if local(&e) == b"tr" => row = Some(Vec::new()),
            Event::Start(e) if local(&e) == b"tc" => cell = Some(Vec::new()),
            Event::Start(e) if local(&e) == b"fld" => in_field = true,
            Event::End(e) if e.local_name().as_ref() == b"fld" => in_field = false,
            Event::Start(e) if local(&e) == b"t" => in_text = true,
            Event::End(e) if e.local_name().as_ref() == b"t" => in_text = false,
            Event::Empty(e) if local(&e) == b"br" => paragraph.push('\n'),
            Event::Text(t) if in_text && !in_field => {
                paragraph.push_str(&t.decode().map_err(corrupt)?);
            }
            Event::GeneralRef(r) if in_text && !in_field => {
                push_reference(&mut paragraph, &r, |reason| ExtractError::Corrupt {
                    format: FORMAT,
                    reason,
                })?;
            }
            Event::End(e) if e.local_name().as_ref() == b"p" => {
                let text = crate::xml::tidy(&paragraph);
                paragraph.clear();
                if let Some(c) = cell.as_mut().filter(|_| !text.is_empty()) {
                    c.push(text);
                } else if let Some(s) = shape.as_mut().filter(|_| !text.is_empty()) {
                    s.lines.push(text);
                }
            }
            Event::End(e) if e.local_name().as_ref() == b"tc" => {
                if let (Some(c), Some(r)) = (cell.take(), row.as_mut()) {
                    r.push(c.join(" "));
                }
            }
            Event::End(e) if e.local_name().as_ref() == b"tr" => {
                let cells = row.take().unwrap_or_default();
                if cells.iter().any(|c| !c.is_empty()) {
                    if let Some(s) = shape.as_mut() {
                        s.lines.push(cells.join(" | "));
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    flush(&mut out, shape);
    Ok(out)
}

fn flush(out: &mut Vec<Shape>, shape: Option<Shape>) {
    if let Some(s) = shape.filter(|s| !s.lines.is_empty()) {
        out.push(s);
    }
}

fn corrupt(e: impl std::fmt::Display) -> ExtractError {
    ExtractError::Corrupt {
        format: FORMAT,
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::tests::zip_of;

    const NS: &str = r#"xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main""#;

    fn slide(title: &str, body: &str) -> String {
        format!(
            r#"<p:sld {NS}><p:cSld><p:spTree>
            <p:sp><p:nvSpPr><p:nvPr><p:ph type="title"/></p:nvPr></p:nvSpPr><p:txBody><a:p><a:r><a:t>{title}</a:t></a:r></a:p></p:txBody></p:sp>
            <p:sp><p:nvSpPr><p:nvPr><p:ph idx="1"/></p:nvPr></p:nvSpPr><p:txBody><a:p><a:r><a:t>{body}</a:t></a:r></a:p></p:txBody></p:sp>
            <p:sp><p:nvSpPr><p:nvPr><p:ph type="sldNum"/></p:nvPr></p:nvSpPr><p:txBody><a:p><a:fld type="slidenum"><a:t>7</a:t></a:fld></a:p></p:txBody></p:sp>
            </p:spTree></p:cSld></p:sld>"#
        )
    }

    /// A deck whose file names run against its order: slide2.xml is shown first.
    fn deck() -> Vec<u8> {
        let presentation = format!(
            r#"<p:presentation {NS}><p:sldIdLst><p:sldId id="256" r:id="rId3"/><p:sldId id="257" r:id="rId2"/></p:sldIdLst></p:presentation>"#
        );
        let rels = r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
            <Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/slide" Target="slides/slide1.xml"/>
            <Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/slide" Target="/ppt/slides/slide2.xml"/>
            </Relationships>"#;
        let slide1 = slide("Revenue by region", "Europe grew 14% &amp; Asia 9%");
        let slide2 = slide("Agenda", "Results, outlook");
        let slide1_rels = r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
            <Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/notesSlide" Target="../notesSlides/notesSlide9.xml"/>
            </Relationships>"#;
        let notes = format!(
            r#"<p:notes {NS}><p:cSld><p:spTree>
            <p:sp><p:nvSpPr><p:nvPr><p:ph type="sldImg"/></p:nvPr></p:nvSpPr></p:sp>
            <p:sp><p:nvSpPr><p:nvPr><p:ph type="body" idx="1"/></p:nvPr></p:nvSpPr><p:txBody><a:p><a:r><a:t>Mention the Lisbon office.</a:t></a:r></a:p></p:txBody></p:sp>
            </p:spTree></p:cSld></p:notes>"#
        );
        zip_of(&[
            ("ppt/presentation.xml", presentation.as_bytes()),
            ("ppt/_rels/presentation.xml.rels", rels.as_bytes()),
            ("ppt/slides/slide1.xml", slide1.as_bytes()),
            ("ppt/slides/slide2.xml", slide2.as_bytes()),
            ("ppt/slides/_rels/slide1.xml.rels", slide1_rels.as_bytes()),
            ("ppt/notesSlides/notesSlide9.xml", notes.as_bytes()),
        ])
    }

    #[test]
    fn slides_come_in_deck_order_with_titles_and_notes() {
        let doc = extract(&deck()).unwrap();
        assert_eq!(doc.kind, DocumentKind::Pptx);
        assert_eq!(doc.pages.len(), 2);
        let page = |i: usize| &doc.text[doc.pages[i].start..doc.pages[i].end];
        assert_eq!(page(0), "Agenda\n\nResults, outlook");
        assert_eq!(
            page(1),
            "Revenue by region\n\nEurope grew 14% & Asia 9%\nNotes: Mention the Lisbon office."
        );
        assert_eq!(doc.pages[1].number, 2);
        assert_eq!(doc.sections[1].heading_path, ["Revenue by region"]);
        // The slide number field is not text of the slide.
        assert!(!doc.text.contains('7'), "{}", doc.text);
    }

    #[test]
    fn a_table_is_read_row_by_row() {
        let xml = format!(
            r#"<p:sld {NS}><p:cSld><p:spTree><p:graphicFrame><a:graphic><a:graphicData><a:tbl>
            <a:tr><a:tc><a:txBody><a:p><a:r><a:t>Region</a:t></a:r></a:p></a:txBody></a:tc><a:tc><a:txBody><a:p><a:r><a:t>Growth</a:t></a:r></a:p></a:txBody></a:tc></a:tr>
            <a:tr><a:tc><a:txBody><a:p><a:r><a:t>Europe</a:t></a:r></a:p></a:txBody></a:tc><a:tc><a:txBody><a:p><a:r><a:t>14%</a:t></a:r></a:p></a:txBody></a:tc></a:tr>
            </a:tbl></a:graphicData></a:graphic></p:graphicFrame></p:spTree></p:cSld></p:sld>"#
        );
        let shapes = shapes(xml.as_bytes()).unwrap();
        assert_eq!(shapes.len(), 1);
        assert_eq!(shapes[0].lines, ["Region | Growth", "Europe | 14%"]);
    }

    #[test]
    fn a_deck_without_slides_is_damaged() {
        let presentation = format!(r#"<p:presentation {NS}><p:sldIdLst/></p:presentation>"#);
        let bytes = zip_of(&[("ppt/presentation.xml", presentation.as_bytes())]);
        let err = extract(&bytes).unwrap_err().to_string();
        assert!(
            err.contains("the PPTX is damaged: it has no slides"),
            "{err}"
        );
    }
}
