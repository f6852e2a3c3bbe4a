//! Markdown, HTML, text and DOCX bytes through the in-process extractors, then the chunker.
//! (PDF parsing is contained by the worker process instead; see `tests/extract.rs`.)
#![no_main]

use cairn_core::DocumentKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let kind = match selector % 4 {
        0 => DocumentKind::Markdown,
        1 => DocumentKind::Html,
        2 => DocumentKind::Text,
        _ => DocumentKind::Docx,
    };
    if let Ok(doc) = cairn_extract::extract_bytes(kind, bytes) {
        cairn_fuzz::check_document(&doc);
        cairn_fuzz::check_chunks(&doc, 16 + usize::from(selector % 64));
    }
});
