//! Any text with any (valid) page and section spans through the chunker.
#![no_main]

use cairn_core::{DocumentKind, ExtractedDocument, PageSpan, SectionSpan, TextRange};
use libfuzzer_sys::fuzz_target;

/// The nearest character boundary at or below `at`.
fn floor(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let (head, body) = data.split_at(4);
    let text = String::from_utf8_lossy(body).into_owned();
    let len = text.len().max(1);
    // Cut points from the head bytes, sorted: they become page and section boundaries.
    let mut cuts: Vec<usize> = head[1..]
        .iter()
        .map(|b| floor(&text, usize::from(*b) * len / 255))
        .collect();
    cuts.push(0);
    cuts.push(text.len());
    cuts.sort_unstable();
    cuts.dedup();
    let pages = cuts
        .windows(2)
        .enumerate()
        .map(|(i, w)| PageSpan {
            number: i as u32 + 1,
            start: w[0],
            end: w[1],
        })
        .collect();
    let sections = cuts
        .windows(2)
        .skip(1)
        .enumerate()
        .map(|(i, w)| SectionSpan {
            heading_path: vec![format!("Part {i}")],
            start: w[0],
            end: w[1],
        })
        .collect();
    // With an odd first byte, each page's first line is page furniture (a running header).
    let furniture = if head[0] % 2 == 1 {
        cuts.windows(2)
            .filter_map(|w| {
                let line = text[w[0]..w[1]].find('\n')?;
                Some(TextRange {
                    start: w[0],
                    end: w[0] + line,
                })
            })
            .filter(|r| r.end > r.start)
            .collect()
    } else {
        Vec::new()
    };
    let doc = ExtractedDocument {
        kind: DocumentKind::Text,
        title: None,
        text,
        pages,
        sections,
        furniture,
        ocr_pages: Vec::new(),
    };
    cairn_fuzz::check_chunks(&doc, 8 + usize::from(head[0] % 120));
});
