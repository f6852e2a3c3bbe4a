//! Markdown, HTML, text, DOCX, ODT, PPTX, spreadsheet, CSV, EPUB and image bytes through the
//! in-process extractors (without OCR), then the chunker. (PDF parsing is contained by the
//! worker process instead; see `tests/extract.rs`.)
#![no_main]

use cairn_core::DocumentKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let kind = match selector % 10 {
        0 => DocumentKind::Markdown,
        1 => DocumentKind::Html,
        2 => DocumentKind::Text,
        3 => DocumentKind::Docx,
        4 => DocumentKind::Pptx,
        5 => DocumentKind::Spreadsheet,
        6 => DocumentKind::Csv,
        7 => DocumentKind::Epub,
        8 => DocumentKind::Odt,
        _ => DocumentKind::Image,
    };
    if let Ok(doc) = cairn_extract::extract_bytes(kind, bytes) {
        cairn_fuzz::check_document(&doc);
        cairn_fuzz::check_chunks(&doc, 16 + usize::from(selector % 64));
    }
});
