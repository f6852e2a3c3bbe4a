//! What every fuzz target checks: an extracted document and its chunks keep Cairn's
//! invariants (spans inside the text on character boundaries, chunk text equal to its span,
//! chunks within the token budget).

use cairn_core::chunker::{chunk_document, ChunkerConfig, TokenCounter};
use cairn_core::{DocumentId, ExtractedDocument};

/// A word per whitespace-separated run: what a WordPiece tokenizer does roughly.
pub struct Words;

impl TokenCounter for Words {
    fn count(&self, text: &str) -> usize {
        text.split_whitespace().count()
    }
}

/// Panics (a fuzz finding) when the document's spans break the contract.
pub fn check_document(doc: &ExtractedDocument) {
    let text = &doc.text;
    for page in &doc.pages {
        assert!(page.start <= page.end && page.end <= text.len(), "page span out of the text");
        assert!(text.is_char_boundary(page.start) && text.is_char_boundary(page.end));
    }
    for section in &doc.sections {
        assert!(section.start <= section.end && section.end <= text.len(), "section span out of the text");
        assert!(text.is_char_boundary(section.start) && text.is_char_boundary(section.end));
    }
}

/// Chunks the document and checks each chunk against the text.
pub fn check_chunks(doc: &ExtractedDocument, max_tokens: usize) {
    let config = ChunkerConfig {
        max_tokens,
        overlap_tokens: max_tokens / 8,
    };
    let chunks = chunk_document(DocumentId(1), doc, &Words, &config);
    for (i, chunk) in chunks.iter().enumerate() {
        assert_eq!(chunk.ordinal as usize, i);
        assert_eq!(chunk.text, doc.text[chunk.start..chunk.end], "chunk text is not its span");
        assert!(!chunk.text.trim().is_empty(), "an empty chunk");
        assert!(
            doc.furniture
                .iter()
                .all(|f| f.end <= chunk.start || f.start >= chunk.end),
            "a chunk holds page furniture"
        );
        // A single word longer than the budget is the one thing that may exceed it.
        if chunk.text.split_whitespace().count() > 1 {
            assert!(
                Words.count(&chunk.text) <= max_tokens,
                "a chunk over its budget"
            );
        }
    }
}
