//! Structure-aware, token-aware chunking.
//!
//! A chunk never crosses a section (so it has one heading path), is cut at sentence or
//! paragraph ends where possible, and never holds more tokens than the embedder reads, as
//! counted by the embedder's own tokenizer. Consecutive chunks of a section overlap.

use crate::chunk::{embedding_text, Chunk};
use crate::document::{ExtractedDocument, TextRange};
use crate::ids::{ChunkId, DocumentId};
use std::collections::HashMap;

/// Counts tokens the way the embedder will, without special tokens.
pub trait TokenCounter: Send + Sync {
    fn count(&self, text: &str) -> usize;
}

/// Sizes for the chunker, in tokens of the embedder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkerConfig {
    /// Most tokens of a chunk's embedding text (heading path included).
    pub max_tokens: usize,
    /// Tokens that consecutive chunks of one section share, at most.
    pub overlap_tokens: usize,
}

impl ChunkerConfig {
    /// Chunks sized for an embedder that reads `embedder_max` tokens: at most 256, with an
    /// eighth of overlap. Smaller chunks retrieve more precisely and cite more exactly.
    pub fn for_embedder(embedder_max: usize) -> Self {
        let max_tokens = embedder_max.clamp(16, 256);
        ChunkerConfig {
            max_tokens,
            overlap_tokens: max_tokens / 8,
        }
    }
}

/// A byte range `[start, end)` of the document text.
type Span = (usize, usize);

/// Splits a document into chunks. Offsets of every chunk map back to `doc.text`.
pub fn chunk_document(
    document: DocumentId,
    doc: &ExtractedDocument,
    counter: &dyn TokenCounter,
    config: &ChunkerConfig,
) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut repeats: HashMap<(Vec<String>, String), u32> = HashMap::new();
    for (heading_path, section) in blocks(doc) {
        let heading_path = fit_heading_path(heading_path, counter, config.max_tokens / 4);
        let prefix_tokens = if heading_path.is_empty() {
            0
        } else {
            counter.count(&embedding_text(&heading_path, ""))
        };
        let budget = config.max_tokens.saturating_sub(prefix_tokens).max(1);
        let spans = outside_furniture(section, &doc.furniture)
            .into_iter()
            .flat_map(|block| pack(&doc.text, block, counter, budget, config.overlap_tokens));
        for ((start, end), tokens) in spans {
            let text = doc.text[start..end].to_string();
            let key = (heading_path.clone(), text.clone());
            let repeat = repeats.entry(key).or_insert(0);
            let id = ChunkId::derive(document, &heading_path, &text, *repeat);
            *repeat += 1;
            // Without a heading path the embedding text is the chunk's text, counted already.
            let token_count = if heading_path.is_empty() {
                tokens
            } else {
                counter.count(&embedding_text(&heading_path, &text))
            };
            chunks.push(Chunk {
                id,
                document_id: document,
                ordinal: u32::try_from(chunks.len()).unwrap_or(u32::MAX),
                page_start: page_of(doc, start, true),
                page_end: page_of(doc, end, false),
                page_unit: doc.kind.page_unit(),
                heading_path: heading_path.clone(),
                token_count: u32::try_from(token_count).unwrap_or(u32::MAX),
                text,
                start,
                end,
            });
        }
    }
    chunks
}

/// The sections of the document, with the text outside any section as untitled blocks.
fn blocks(doc: &ExtractedDocument) -> Vec<(Vec<String>, Span)> {
    let mut out = Vec::new();
    let mut cursor = 0;
    for section in &doc.sections {
        let start = section.start.max(cursor).min(doc.text.len());
        let end = section.end.min(doc.text.len());
        if start > cursor {
            out.push((Vec::new(), (cursor, start)));
        }
        if end > start {
            out.push((section.heading_path.clone(), (start, end)));
            cursor = end;
        }
    }
    if cursor < doc.text.len() {
        out.push((Vec::new(), (cursor, doc.text.len())));
    }
    out
}

/// The parts of `block` outside running headers, footers and page numbers: a chunk never
/// holds them, so they are neither embedded, nor matched, nor quoted.
fn outside_furniture((start, end): Span, furniture: &[TextRange]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut at = start;
    for f in furniture.iter().filter(|f| f.end > start && f.start < end) {
        if f.start > at {
            out.push((at, f.start));
        }
        at = at.max(f.end);
    }
    if at < end {
        out.push((at, end));
    }
    out
}

/// Drops outer headings until the path costs at most `limit` tokens.
fn fit_heading_path(
    mut path: Vec<String>,
    counter: &dyn TokenCounter,
    limit: usize,
) -> Vec<String> {
    while !path.is_empty() && counter.count(&embedding_text(&path, "")) > limit {
        path.remove(0);
    }
    path
}

/// The page that holds byte `offset` (the first byte of a chunk when `at_start`, else the
/// byte just before `offset`).
fn page_of(doc: &ExtractedDocument, offset: usize, at_start: bool) -> Option<u32> {
    if doc.pages.is_empty() {
        return None;
    }
    let page = if at_start {
        doc.pages.iter().find(|p| p.end > offset)
    } else {
        doc.pages.iter().rev().find(|p| p.start < offset)
    };
    page.or(if at_start {
        doc.pages.last()
    } else {
        doc.pages.first()
    })
    .map(|p| p.number)
}

/// Packs the sentence units of one block into chunks of at most `budget` tokens; returns
/// each chunk's span with its tokens.
///
/// The units are first cut into runs at *anchors*: paragraph ends chosen by their own text
/// (a content hash), once a run holds a quarter of the budget. Runs are then packed greedily,
/// each next chunk starting with up to `overlap` tokens of the previous one. Because anchors
/// depend on nearby text only, editing one paragraph changes the chunks between the anchors
/// around it and leaves the rest of a long section, and their embeddings, as they were.
fn pack(
    text: &str,
    block: Span,
    counter: &dyn TokenCounter,
    budget: usize,
    overlap: usize,
) -> Vec<(Span, usize)> {
    let mut counted = Vec::new();
    for unit in sentence_units(text, block) {
        split_to_fit(text, unit, counter, budget, &mut counted);
    }
    let (units, counts): (Vec<Span>, Vec<usize>) = counted.into_iter().unzip();
    let mut out = Vec::new();
    let mut run_start = 0;
    let mut run_tokens = 0;
    for k in 0..units.len() {
        run_tokens += counts[k];
        let last = k + 1 == units.len();
        if last || (run_tokens >= budget / 4 && is_anchor(text, &units, k)) {
            let run = run_start..k + 1;
            pack_run(
                text,
                &units[run.clone()],
                &counts[run],
                counter,
                budget,
                overlap,
                &mut out,
            );
            run_start = k + 1;
            run_tokens = 0;
        }
    }
    out
}

/// Whether unit `k` ends a paragraph whose last sentence hashes to an even byte: about every
/// second paragraph end, decided by its own text.
fn is_anchor(text: &str, units: &[Span], k: usize) -> bool {
    let Some(next) = units.get(k + 1) else {
        return true;
    };
    let gap = &text[units[k].1..next.0];
    let paragraph_end = gap.matches('\n').count() >= 2;
    paragraph_end
        && blake3::hash(&text.as_bytes()[units[k].0..units[k].1]).as_bytes()[0].is_multiple_of(2)
}

/// Greedily packs consecutive units into chunks with overlap; each chunk comes with its
/// tokens.
fn pack_run(
    text: &str,
    units: &[Span],
    counts: &[usize],
    counter: &dyn TokenCounter,
    budget: usize,
    overlap: usize,
    out: &mut Vec<(Span, usize)>,
) {
    let mut i = 0;
    while i < units.len() {
        let mut j = i;
        let mut tokens = 0;
        while j < units.len() && (j == i || tokens + counts[j] <= budget) {
            tokens += counts[j];
            j += 1;
        }
        // Joined units can tokenise differently from their parts: check the real count.
        let joined = |j: usize| {
            if j == i + 1 {
                counts[i]
            } else {
                counter.count(&text[units[i].0..units[j - 1].1])
            }
        };
        let mut tokens = joined(j);
        while j > i + 1 && tokens > budget {
            j -= 1;
            tokens = joined(j);
        }
        out.push(((units[i].0, units[j - 1].1), tokens));
        if j == units.len() {
            break;
        }
        let mut next = j;
        let mut shared = 0;
        while next > i + 1 && shared + counts[next - 1] <= overlap {
            shared += counts[next - 1];
            next -= 1;
        }
        i = next;
    }
}

/// Sentence and paragraph pieces of a block, trimmed of surrounding whitespace.
pub(crate) fn sentence_units(text: &str, (start, end): Span) -> Vec<Span> {
    let slice = &text[start..end];
    let mut units = Vec::new();
    let mut unit_start = 0;
    let mut chars = slice.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        let boundary = match c {
            '.' | '!' | '?' | ';' | ':' => next.is_some_and(char::is_whitespace),
            '。' | '！' | '？' | '；' => true,
            '\n' => next == Some('\n') || next == Some('\r'),
            _ => false,
        };
        if boundary {
            let cut = i + c.len_utf8();
            push_trimmed(slice, start, unit_start, cut, &mut units);
            unit_start = cut;
        }
    }
    push_trimmed(slice, start, unit_start, slice.len(), &mut units);
    units
}

fn push_trimmed(slice: &str, base: usize, s: usize, e: usize, out: &mut Vec<Span>) {
    let piece = &slice[s..e];
    let lead = piece.len() - piece.trim_start().len();
    let trail = piece.len() - piece.trim_end().len();
    if lead + trail < piece.len() {
        out.push((base + s + lead, base + e - trail));
    }
}

/// Splits a unit that is over budget at the whitespace (or character) nearest its middle;
/// each piece comes with its tokens.
fn split_to_fit(
    text: &str,
    (s, e): Span,
    counter: &dyn TokenCounter,
    budget: usize,
    out: &mut Vec<(Span, usize)>,
) {
    let piece = &text[s..e];
    let tokens = counter.count(piece);
    if tokens <= budget || piece.chars().nth(1).is_none() {
        out.push(((s, e), tokens));
        return;
    }
    let mut mid = s + piece.len() / 2;
    while !text.is_char_boundary(mid) {
        mid -= 1;
    }
    let cut = nearest_whitespace(text, s, e, mid).unwrap_or_else(|| char_boundary(text, s, e, mid));
    let mut left = Vec::new();
    push_trimmed(text, 0, s, cut, &mut left);
    push_trimmed(text, 0, cut, e, &mut left);
    for part in left {
        split_to_fit(text, part, counter, budget, out);
    }
}

fn nearest_whitespace(text: &str, s: usize, e: usize, mid: usize) -> Option<usize> {
    let before = text[s..mid].rfind(char::is_whitespace).map(|i| s + i);
    let after = text[mid..e].find(char::is_whitespace).map(|i| mid + i);
    let best = match (before, after) {
        (Some(b), Some(a)) => Some(if mid - b <= a - mid { b } else { a }),
        (b, a) => b.or(a),
    };
    best.filter(|&c| c > s && c < e)
}

/// A character boundary strictly inside `(s, e)` near `mid`; `e` holds at least two chars.
fn char_boundary(text: &str, s: usize, e: usize, mid: usize) -> usize {
    let mut cut = mid.max(s + 1);
    while cut < e && !text.is_char_boundary(cut) {
        cut += 1;
    }
    if cut >= e {
        cut = s + text[s..e].chars().next().map_or(1, char::len_utf8);
    }
    cut
}

#[cfg(test)]
mod tests;
