//! PDF → pages of text with pdf-extract (over lopdf).
//!
//! Pages with tables are written from their glyphs' positions, each row with its label and
//! its column headers (`crate::pdf_tables`). Pages are extracted one by one so that one
//! unreadable page costs that page, not the document. A page pdf-extract finds no words on is
//! read again by poppler (`crate::poppler_text`); only pages without a usable text layer
//! (scans) are then rendered and read by OCR. Panics of the parser are caught here; loops and
//! runaway memory are the worker process's limits to stop.

use crate::builder::TextBuilder;
use crate::ocr::OcrRequest;
use crate::pdf_tables::{self, Recorder};
use crate::poppler_text;
use crate::ExtractError;
use cairn_core::{DocumentKind, ExtractedDocument};
use lopdf::Document;
use std::panic::{catch_unwind, AssertUnwindSafe};

pub(crate) fn extract(
    bytes: &[u8],
    ocr: Option<&OcrRequest<'_>>,
) -> Result<ExtractedDocument, ExtractError> {
    let mut doc = guarded(|| Document::load_mem(bytes))
        .map_err(ExtractError::CorruptPdf)?
        .map_err(|e| load_error(&e))?;
    if doc.is_encrypted() {
        match guarded(|| doc.decrypt("")) {
            Ok(Ok(())) => {}
            Ok(Err(lopdf::Error::Decryption(
                lopdf::encryption::DecryptionError::IncorrectPassword,
            ))) => return Err(ExtractError::Encrypted),
            Ok(Err(e)) => return Err(ExtractError::Decryption(e.to_string())),
            Err(panic) => return Err(ExtractError::Decryption(panic)),
        }
    }
    let page_numbers: Vec<u32> =
        guarded(|| doc.get_pages().into_keys().collect()).map_err(ExtractError::CorruptPdf)?;
    if page_numbers.is_empty() {
        return Err(ExtractError::CorruptPdf("it has no pages".into()));
    }
    let mut texts = Vec::with_capacity(page_numbers.len());
    let mut tables = vec![Vec::new(); page_numbers.len()];
    let mut first_error = None;
    let mut read = 0;
    for (index, number) in page_numbers.iter().enumerate() {
        let text = guarded(|| {
            let mut out = String::new();
            let glyphs = {
                let mut sink = Recorder::new(&mut out);
                pdf_extract::output_doc_page(&doc, &mut sink, *number).map(|()| sink.glyphs)
            };
            glyphs.map(|g| (out, g))
        });
        texts.push(match text {
            Ok(Ok((t, glyphs))) => {
                read += 1;
                // A page with tables is written from its glyphs, rows labelled.
                match guarded(|| pdf_tables::read(&glyphs)).ok().flatten() {
                    Some(page) => {
                        tables[index] = page.tables;
                        page.text
                    }
                    None => clean(&t),
                }
            }
            Ok(Err(e)) => {
                first_error.get_or_insert_with(|| e.to_string());
                String::new()
            }
            Err(panic) => {
                first_error.get_or_insert(panic);
                String::new()
            }
        });
    }
    read += reread_textless(bytes, &mut texts);
    let ocr_pages = match ocr {
        Some(ocr) => recognise_textless(bytes, &doc, &page_numbers, &mut texts, ocr)?,
        None => Vec::new(),
    };
    if read == 0 && ocr_pages.is_empty() {
        return Err(ExtractError::NoReadablePage(
            first_error.unwrap_or_default(),
        ));
    }
    if let Some(e) = first_error {
        tracing::debug!(error = %e, read, total = page_numbers.len(), "some pdf pages unreadable");
    }
    for page in &ocr_pages {
        if let Some(t) = tables.get_mut(*page as usize - 1) {
            t.clear();
        }
    }
    let mut builder = TextBuilder::new();
    for (index, text) in texts.iter().enumerate() {
        // Viewers number pages from 1 in document order, whatever the page tree says.
        builder.page(printed(index), text);
        for (title, span) in &tables[index] {
            if let Some(title) = title {
                builder.section_in_page(title, span.clone());
            }
        }
    }
    let mut out = builder.finish(DocumentKind::Pdf, info_title(&doc));
    out.ocr_pages = ocr_pages;
    Ok(out)
}

fn printed(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

/// Fewer letters and digits than this, and a page is taken for a scan (an image with, at
/// most, a page number or a stamp in its text layer).
const SCAN_TEXT_CHARS: usize = 16;

fn looks_scanned(text: &str) -> bool {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .take(SCAN_TEXT_CHARS)
        .count()
        < SCAN_TEXT_CHARS
}

/// Reads again with poppler the pages that pdf-extract found no words on (or could not read),
/// keeping poppler's text where it has more letters; returns the number of pages it gave text
/// to. Only pages still without words are left for OCR, which keeps a short exact text (a
/// title, a stamp) unless the picture clearly holds more.
fn reread_textless(bytes: &[u8], texts: &mut [String]) -> usize {
    let textless: Vec<usize> = (0..texts.len())
        .filter(|&i| looks_scanned(&texts[i]))
        .collect();
    let (Some(&first), Some(&last)) = (textless.first(), textless.last()) else {
        return 0;
    };
    let pages = match poppler_text::read_pages(bytes, printed(first)..=printed(last)) {
        Ok(pages) => pages,
        Err(e) => {
            tracing::debug!(error = %e, pages = textless.len(), "textless pages not read again");
            return 0;
        }
    };
    let mut given = 0;
    for index in textless {
        if let Some(page) = pages.get(index - first) {
            if letters(page) > letters(&texts[index]) {
                texts[index] = clean(page);
                given += 1;
            }
        }
    }
    given
}

fn letters(text: &str) -> usize {
    text.chars().filter(|c| c.is_alphanumeric()).count()
}

/// Renders the pages without a usable text layer and reads them with Tesseract; returns the
/// numbers of the pages whose text now comes from OCR. A mixed PDF keeps the text layer of
/// every other page. With no Tesseract, a PDF that also has text pages keeps those.
fn recognise_textless(
    bytes: &[u8],
    doc: &Document,
    page_numbers: &[u32],
    texts: &mut [String],
    ocr: &OcrRequest<'_>,
) -> Result<Vec<u32>, ExtractError> {
    let scanned: Vec<usize> = (0..texts.len())
        .filter(|&i| looks_scanned(&texts[i]))
        .collect();
    if scanned.is_empty() {
        return Ok(Vec::new());
    }
    ocr.check_pages(scanned.len())?;
    let engine = match ocr.engine() {
        Ok(engine) => engine,
        Err(e) if scanned.len() < texts.len() => {
            tracing::warn!(error = %e, pages = scanned.len(), "scanned pages left unread");
            return Ok(Vec::new());
        }
        Err(e) => return Err(e),
    };
    let pages = guarded(|| doc.get_pages()).unwrap_or_default();
    let sizes: Vec<Option<(f32, f32)>> = scanned
        .iter()
        .map(|&i| {
            let id = pages.get(&page_numbers[i])?;
            guarded(|| page_size(doc, *id)).ok().flatten()
        })
        .collect();
    let jobs: Vec<(usize, Option<(f32, f32)>)> = scanned.iter().copied().zip(sizes).collect();
    let results = crate::ocr::in_parallel(&jobs, ocr.progress, |&(index, size)| {
        let (image, dpi) = crate::raster::render_page(bytes, printed(index), size)?;
        // A page that shows fewer marks than a text layer needs letters (blank, a figure,
        // words in a font that could not be drawn) has nothing for Tesseract to read.
        if !crate::marks::may_hold_text(&image, dpi, SCAN_TEXT_CHARS) {
            return Ok(Vec::new());
        }
        engine.recognise(image, dpi)
    });
    let mut recognised = Vec::new();
    for ((index, _), result) in jobs.iter().zip(results) {
        let text = result?.join("\n\n");
        let (have, read) = (letters(&texts[*index]), letters(&text));
        // A short text layer (a title, a stamp) is exact: OCR replaces it only when the
        // picture clearly holds more.
        let better = if have == 0 {
            read > 0
        } else {
            read >= 2 * have && read >= have + 16
        };
        if better {
            texts[*index] = text;
            recognised.push(printed(*index));
        }
    }
    Ok(recognised)
}

/// The page's size in points (its CropBox, else its MediaBox, inherited from the page
/// tree), turned by its /Rotate.
fn page_size(doc: &Document, page: lopdf::ObjectId) -> Option<(f32, f32)> {
    let mut node = doc.get_dictionary(page).ok()?;
    let mut rotate = None;
    let mut bbox = None;
    for _ in 0..32 {
        if bbox.is_none() {
            bbox = [b"CropBox".as_slice(), b"MediaBox"]
                .iter()
                .find_map(|key| node.get(key).ok().and_then(|b| rect(doc, b)));
        }
        if rotate.is_none() {
            rotate = node.get(b"Rotate").ok().and_then(|r| r.as_i64().ok());
        }
        if bbox.is_some() && rotate.is_some() {
            break;
        }
        let Ok(parent) = node.get(b"Parent").and_then(lopdf::Object::as_reference) else {
            break;
        };
        node = doc.get_dictionary(parent).ok()?;
    }
    let (w, h) = bbox?;
    Some(if rotate.unwrap_or(0).rem_euclid(180) == 90 {
        (h, w)
    } else {
        (w, h)
    })
}

fn rect(doc: &Document, object: &lopdf::Object) -> Option<(f32, f32)> {
    let array = doc.dereference(object).ok()?.1.as_array().ok()?;
    let n: Vec<f32> = array
        .iter()
        .filter_map(|v| doc.dereference(v).ok()?.1.as_float().ok())
        .collect();
    let [x0, y0, x1, y1] = n.as_slice() else {
        return None;
    };
    let (w, h) = ((x1 - x0).abs(), (y1 - y0).abs());
    (w >= 1.0 && h >= 1.0 && w.is_finite() && h.is_finite()).then_some((w, h))
}

fn load_error(e: &lopdf::Error) -> ExtractError {
    match e {
        lopdf::Error::Decryption(lopdf::encryption::DecryptionError::IncorrectPassword) => {
            ExtractError::Encrypted
        }
        lopdf::Error::Decryption(d) => ExtractError::Decryption(d.to_string()),
        other => ExtractError::CorruptPdf(other.to_string()),
    }
}

/// Runs parser code, turning a panic into its message.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        format!("the PDF parser crashed: {message}")
    })
}

/// The document title from the Info dictionary, when it is plain text.
fn info_title(doc: &Document) -> Option<String> {
    let info = doc.trailer.get(b"Info").ok()?;
    let info = doc.dereference(info).ok()?.1.as_dict().ok()?;
    let title = info.get(b"Title").ok()?;
    let title = lopdf::decode_text_string(title).ok()?;
    let title = title.trim();
    (!title.is_empty() && title.len() < 300).then(|| title.to_string())
}

/// Tidies pdf-extract's layout text: ligatures, trailing spaces, runs of blank lines, and
/// words hyphenated across a line break.
fn clean(text: &str) -> String {
    let text = text
        .replace('\u{fb01}', "fi")
        .replace('\u{fb02}', "fl")
        .replace('\u{fb00}', "ff")
        .replace('\u{fb03}', "ffi")
        .replace('\u{fb04}', "ffl")
        .replace('\u{0}', "");
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            blank_run += 1;
            if blank_run == 1 && !out.is_empty() {
                out.push('\n');
            }
            continue;
        }
        blank_run = 0;
        if ends_with_split_word(&out) && line.trim_start().starts_with(char::is_lowercase) {
            out.pop();
            out.pop();
            out.push_str(line.trim_start());
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out.trim().to_string()
}

fn ends_with_split_word(out: &str) -> bool {
    let mut tail = out.chars().rev();
    tail.next() == Some('\n')
        && tail.next() == Some('-')
        && tail.next().is_some_and(char::is_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning_joins_hyphenated_words_and_collapses_blank_lines() {
        let raw = "The exam-\nple text\n\n\n\nnext  \n\u{fb01}ne";
        assert_eq!(clean(raw), "The example text\n\nnext\nfine");
    }

    #[test]
    fn a_page_with_at_most_a_number_or_stamp_is_taken_for_a_scan() {
        assert!(looks_scanned(""));
        assert!(looks_scanned("  12 \n"));
        assert!(looks_scanned("CONFIDENTIAL"));
        assert!(!looks_scanned(
            "The committee met on 3 May and agreed the budget."
        ));
    }

    #[test]
    fn garbage_is_a_corrupt_pdf_not_a_panic() {
        let err = extract(b"%PDF-1.4 this is not really a pdf", None).err();
        assert!(matches!(err, Some(ExtractError::CorruptPdf(_))), "{err:?}");
    }
}
