use super::*;
use crate::document::{DocumentKind, PageSpan, SectionSpan};
use proptest::prelude::*;

/// Counts a token per whitespace-separated word and per CJK character, like a WordPiece
/// tokenizer does roughly.
struct WordCounter;

impl TokenCounter for WordCounter {
    fn count(&self, text: &str) -> usize {
        text.split_whitespace()
            .map(|w| w.chars().filter(|c| is_cjk(*c)).count().max(1))
            .sum()
    }
}

fn is_cjk(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{3040}'..='\u{30ff}').contains(&c)
}

fn doc(text: &str, pages: Vec<PageSpan>, sections: Vec<SectionSpan>) -> ExtractedDocument {
    ExtractedDocument {
        pages,
        sections,
        ..ExtractedDocument::plain(DocumentKind::Text, None, text)
    }
}

fn config(max_tokens: usize, overlap_tokens: usize) -> ChunkerConfig {
    ChunkerConfig {
        max_tokens,
        overlap_tokens,
    }
}

#[test]
fn short_text_is_one_chunk() {
    let d = doc("Hello world. This is Cairn.", vec![], vec![]);
    let chunks = chunk_document(DocumentId(1), &d, &WordCounter, &config(50, 5));
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].text, "Hello world. This is Cairn.");
    assert_eq!(chunks[0].page_start, None);
}

#[test]
fn long_text_is_split_at_sentences_with_overlap() {
    let text = (0..40)
        .map(|i| format!("Sentence number {i} has five words."))
        .collect::<Vec<_>>()
        .join(" ");
    let d = doc(&text, vec![], vec![]);
    let chunks = chunk_document(DocumentId(1), &d, &WordCounter, &config(30, 10));
    assert!(chunks.len() > 5);
    for c in &chunks {
        assert!(c.token_count <= 30, "{} tokens", c.token_count);
        assert!(
            c.text.starts_with("Sentence"),
            "cut inside a sentence: {}",
            c.text
        );
        assert!(c.text.ends_with('.'));
    }
    for pair in chunks.windows(2) {
        assert!(pair[1].start < pair[0].end, "consecutive chunks overlap");
    }
}

fn paragraphs(n: usize, edited: Option<usize>) -> String {
    (0..n)
        .map(|p| {
            // The edit adds a sentence, which moves every later cut of a greedy packer.
            let sentences = if Some(p) == edited { 5 } else { 4 };
            (0..sentences)
                .map(|s| format!("Paragraph {p} sentence {s} is plain and has nine words."))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[test]
fn editing_one_paragraph_of_a_long_section_changes_only_nearby_chunks() {
    let before = doc(&paragraphs(60, None), vec![], vec![]);
    let after = doc(&paragraphs(60, Some(30)), vec![], vec![]);
    let ids = |d: &ExtractedDocument| -> Vec<ChunkId> {
        chunk_document(DocumentId(1), d, &WordCounter, &config(64, 8))
            .into_iter()
            .map(|c| c.id)
            .collect()
    };
    let (old, new) = (ids(&before), ids(&after));
    assert!(old.len() > 30, "{} chunks", old.len());
    let changed = new.iter().filter(|id| !old.contains(id)).count();
    assert!(
        (1..=4).contains(&changed),
        "{changed} of {} chunks changed for one edited paragraph",
        new.len()
    );
}

#[test]
fn chunks_keep_their_section_heading_and_pages() {
    let text = "Intro text here.\n\nDetails on page two.";
    let split = text.find("Details").unwrap_or(0);
    let d = doc(
        text,
        vec![
            PageSpan {
                number: 1,
                start: 0,
                end: split,
            },
            PageSpan {
                number: 2,
                start: split,
                end: text.len(),
            },
        ],
        vec![
            SectionSpan {
                heading_path: vec!["Intro".into()],
                start: 0,
                end: split,
            },
            SectionSpan {
                heading_path: vec!["Intro".into(), "Details".into()],
                start: split,
                end: text.len(),
            },
        ],
    );
    let chunks = chunk_document(DocumentId(7), &d, &WordCounter, &config(100, 10));
    assert_eq!(chunks.len(), 2);
    assert_eq!(chunks[0].heading_path, vec!["Intro".to_string()]);
    assert_eq!(chunks[0].page_start, Some(1));
    assert_eq!(chunks[1].heading_path.len(), 2);
    assert_eq!(
        (chunks[1].page_start, chunks[1].page_end),
        (Some(2), Some(2))
    );
    assert_eq!(chunks[1].location(), "p. 2");
}

#[test]
fn running_headers_and_footers_are_left_out_of_every_chunk() {
    let header = "The Digital Millennium Copyright Act of 1998";
    let bodies = [
        "The act protects works of authorship.",
        "Circumvention of technical measures is prohibited.",
        "Libraries may make copies for preservation.",
    ];
    let mut text = String::new();
    let mut pages = Vec::new();
    let mut furniture = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        let start = text.len();
        furniture.push(crate::TextRange {
            start,
            end: start + header.len(),
        });
        text.push_str(&format!("{header}\n{body}\n"));
        let footer = format!("Page {} of 3", i + 1);
        furniture.push(crate::TextRange {
            start: text.len(),
            end: text.len() + footer.len(),
        });
        text.push_str(&footer);
        pages.push(PageSpan {
            number: u32::try_from(i + 1).unwrap(),
            start,
            end: text.len(),
        });
    }
    let mut d = doc(&text, pages, vec![]);
    d.furniture = furniture;
    let chunks = chunk_document(DocumentId(3), &d, &WordCounter, &config(200, 20));
    let all: String = chunks.iter().map(|c| c.text.as_str()).collect();
    for body in bodies {
        assert!(all.contains(body), "{body} is chunked: {chunks:?}");
    }
    for c in &chunks {
        assert!(
            !c.text.contains(header) && !c.text.contains("Page "),
            "{c:?}"
        );
        assert_eq!(c.text, text[c.start..c.end]);
    }
}

#[test]
fn unbroken_cjk_text_is_split_within_budget() {
    let text: String = "日本語のテキスト".repeat(50);
    let d = doc(&text, vec![], vec![]);
    let chunks = chunk_document(DocumentId(1), &d, &WordCounter, &config(40, 0));
    assert!(chunks.len() >= 10);
    assert!(chunks.iter().all(|c| c.token_count <= 40));
    let joined: String = chunks.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(joined, text, "without overlap the chunks tile the text");
}

#[test]
fn repeated_passages_get_distinct_ids() {
    let d = doc("Same.\n\nSame.", vec![], vec![]);
    let chunks = chunk_document(DocumentId(1), &d, &WordCounter, &config(1, 0));
    assert_eq!(chunks.len(), 2);
    assert_ne!(chunks[0].id, chunks[1].id);
}

fn arb_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-z]{1,12}",
        Just(" ".to_string()),
        Just(". ".to_string()),
        Just("\n\n".to_string()),
        Just("; ".to_string()),
        "[日本語中文字]{1,20}",
        Just("。".to_string()),
        Just("ü".to_string()),
    ];
    prop::collection::vec(piece, 0..300).prop_map(|v| v.concat())
}

/// Cuts `text` at random character boundaries into consecutive spans.
fn cuts(text: &str, fractions: &[f64]) -> Vec<(usize, usize)> {
    let mut points: Vec<usize> = fractions
        .iter()
        .map(|f| {
            let mut p = (text.len() as f64 * f) as usize;
            while !text.is_char_boundary(p) {
                p -= 1;
            }
            p
        })
        .collect();
    points.push(0);
    points.push(text.len());
    points.sort_unstable();
    points.dedup();
    points.windows(2).map(|w| (w[0], w[1])).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn chunks_map_back_cover_the_text_and_know_their_pages(
        text in arb_text(),
        page_cuts in prop::collection::vec(0.0f64..1.0, 0..6),
        section_cuts in prop::collection::vec(0.0f64..1.0, 0..6),
        max_tokens in 1usize..60,
        overlap in 0usize..20,
    ) {
        let pages: Vec<PageSpan> = cuts(&text, &page_cuts)
            .into_iter()
            .enumerate()
            .map(|(i, (start, end))| PageSpan { number: i as u32 + 1, start, end })
            .collect();
        let sections: Vec<SectionSpan> = cuts(&text, &section_cuts)
            .into_iter()
            .enumerate()
            .map(|(i, (start, end))| SectionSpan { heading_path: vec![format!("h{i}")], start, end })
            .collect();
        let d = doc(&text, pages.clone(), sections.clone());
        let chunks = chunk_document(DocumentId(3), &d, &WordCounter, &config(max_tokens, overlap));

        let mut covered = vec![false; text.len()];
        for c in &chunks {
            // Offsets map back to the text.
            prop_assert_eq!(&text[c.start..c.end], c.text.as_str());
            prop_assert!(!c.text.trim().is_empty());
            // One section per chunk, and its heading.
            let section = sections.iter().find(|s| s.start <= c.start && c.end <= s.end);
            prop_assert!(section.is_some(), "chunk crosses a section");
            // Page range: the pages of the first and last byte.
            if !pages.is_empty() {
                let first = pages.iter().find(|p| p.start <= c.start && c.start < p.end).map(|p| p.number);
                let last = pages.iter().find(|p| p.start < c.end && c.end <= p.end).map(|p| p.number);
                prop_assert_eq!(c.page_start, first);
                prop_assert_eq!(c.page_end, last);
            }
            // Never over budget: the embedder will read every token.
            prop_assert!(c.token_count as usize <= max_tokens, "{} tokens > {}", c.token_count, max_tokens);
            // The count is the embedding text's, heading path included.
            prop_assert_eq!(c.token_count as usize, WordCounter.count(&c.embedding_text()));
            covered[c.start..c.end].iter_mut().for_each(|b| *b = true);
        }
        // Every visible character is in some chunk.
        for (i, ch) in text.char_indices() {
            if !ch.is_whitespace() {
                prop_assert!(covered[i], "byte {} ({:?}) is in no chunk", i, ch);
            }
        }
        // Ordinals count up and ids are unique.
        let ids: std::collections::HashSet<_> = chunks.iter().map(|c| c.id.clone()).collect();
        prop_assert_eq!(ids.len(), chunks.len());
        for (i, c) in chunks.iter().enumerate() {
            prop_assert_eq!(c.ordinal as usize, i);
        }
    }
}
