//! `[n]` markers of an answer mapped to the passages they name, with the sentence of each
//! passage that best supports the claim, checked against the stored extracted text.

use super::Source;
use crate::conversation::Citation;
use crate::document::{PageSpan, TextRange};
use crate::ids::DocumentId;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The extracted text of a cited document, as stored in the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceText {
    pub text: String,
    pub pages: Vec<PageSpan>,
    /// Running headers, footers and page numbers: never quoted.
    pub furniture: Vec<TextRange>,
}

impl SourceText {
    /// The furniture inside `chunk`, as byte ranges of the chunk's text.
    fn furniture_in(&self, chunk: &crate::Chunk) -> Vec<(usize, usize)> {
        self.furniture
            .iter()
            .filter(|f| f.end > chunk.start && f.start < chunk.end)
            .map(|f| {
                (
                    f.start.saturating_sub(chunk.start),
                    f.end.min(chunk.end) - chunk.start,
                )
            })
            .collect()
    }
}

/// An answer with its citations resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Cited {
    /// The answer with markers that name no source removed, and markers added to sentences
    /// the model left uncited where a source clearly supports them.
    pub answer: String,
    /// One per cited source, in source order.
    pub citations: Vec<Citation>,
    /// Sources the answer does not cite.
    pub uncited: Vec<usize>,
}

/// A citation marker in an answer: `[1]`, `[1, 2]`, `[2-3]` or `[Source 1]`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Marker {
    /// Byte range of the marker in the answer.
    start: usize,
    end: usize,
    numbers: Vec<usize>,
}

fn parse_marker(inner: &str) -> Option<Vec<usize>> {
    let lowered = inner.trim().to_lowercase();
    let body = lowered
        .strip_prefix("sources")
        .or_else(|| lowered.strip_prefix("source"))
        .unwrap_or(&lowered)
        .trim();
    if body.is_empty() {
        return None;
    }
    let mut numbers = Vec::new();
    for part in body.split([',', ';']) {
        let part = part.trim();
        let part = part.strip_prefix("source").map(str::trim).unwrap_or(part);
        if let Some((a, b)) = part.split_once(['-', '–']) {
            let a: usize = a.trim().parse().ok()?;
            let b: usize = b.trim().parse().ok()?;
            if a > b || b - a > 20 {
                return None;
            }
            numbers.extend(a..=b);
        } else {
            numbers.push(part.parse().ok()?);
        }
    }
    Some(numbers)
}

fn markers(answer: &str) -> Vec<Marker> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(open) = answer[from..].find('[').map(|i| i + from) {
        let Some(close) = answer[open..].find(']').map(|i| i + open) else {
            break;
        };
        let inner = &answer[open + 1..close];
        if inner.len() <= 40 && !inner.contains('[') {
            if let Some(numbers) = parse_marker(inner) {
                found.push(Marker {
                    start: open,
                    end: close + 1,
                    numbers,
                });
                from = close + 1;
                continue;
            }
        }
        from = open + 1;
    }
    found
}

/// Removes the markers at `drop` (and the space before each) from `text`.
fn remove_spans(text: &str, drop: &[&Marker]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for m in drop {
        let mut start = m.start;
        // A space glued to the marker goes with it ("claim [9]." → "claim.").
        if text[at..start].ends_with(' ') {
            start -= 1;
        }
        out.push_str(&text[at..start]);
        at = m.end;
    }
    out.push_str(&text[at..]);
    out
}

/// The text without any citation marker.
pub(crate) fn strip_markers(text: &str) -> String {
    let all = markers(text);
    remove_spans(text, &all.iter().collect::<Vec<_>>())
}

#[rustfmt::skip]
const STOPWORDS: &[&str] = &[
    "the", "and", "for", "are", "was", "were", "with", "that", "this", "from", "what", "which",
    "who", "whom", "when", "where", "why", "how", "did", "does", "has", "have", "had", "its",
    "their", "there", "been", "being", "into", "than", "then", "they", "them", "not", "but",
    "can", "could", "would", "should", "also", "about", "any", "all", "one", "his", "her",
    "she", "him", "you", "your", "our", "use", "used", "according", "source", "sources",
    "der", "die", "das", "und", "ist", "mit", "von", "den", "dem", "des", "ein", "eine",
    "wie", "was", "wer", "wann", "warum", "nicht", "auf", "für", "sich", "auch",
];

/// Content words of a text, lowercased and cut to a short stem, so that "finished" meets
/// "finish" and "bridges" meets "bridge".
pub(crate) fn terms(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| {
            let chars = w.chars().count();
            (chars >= 3 || w.chars().all(|c| c.is_ascii_digit()))
                && !STOPWORDS.contains(&w.as_str())
        })
        .map(|w| w.chars().take(6).collect())
        .collect()
}

/// Sentences of a passage as byte ranges, trimmed: the chunker's own sentence cuts.
fn sentences(text: &str) -> Vec<(usize, usize)> {
    crate::chunker::sentence_units(text, (0, text.len()))
}

/// The claim a marker supports: the answer's text from the previous sentence end to it.
fn claim_before(answer: &str, marker: &Marker) -> String {
    let before = &answer[..marker.start];
    let begin = before
        .rfind(['.', '!', '?', '\n', '。'])
        .map_or(0, |i| i + 1);
    // Markers directly before this one ("[1][2]") belong to the same claim.
    let mut claim = strip_markers(&answer[begin..marker.start]);
    if terms(&claim).is_empty() {
        // "[1] The bridge …": the claim follows the marker.
        let after = &answer[marker.end..];
        let stop = after
            .find(['.', '!', '?', '\n', '。'])
            .unwrap_or(after.len());
        claim = strip_markers(&after[..stop]);
    }
    claim
}

/// Sentences of a passage with the ranges in `excluded` (page furniture) cut out of them.
fn evidence(passage: &str, excluded: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (start, end) in sentences(passage) {
        let mut at = start;
        for &(x0, x1) in excluded.iter().filter(|(x0, x1)| *x1 > start && *x0 < end) {
            push_piece(passage, at, x0.max(at), &mut out);
            at = at.max(x1);
        }
        push_piece(passage, at, end, &mut out);
    }
    out
}

fn push_piece(passage: &str, start: usize, end: usize, out: &mut Vec<(usize, usize)>) {
    if start >= end {
        return;
    }
    let piece = &passage[start..end];
    let lead = piece.len() - piece.trim_start().len();
    let trail = piece.len() - piece.trim_end().len();
    if lead + trail < piece.len() {
        out.push((start + lead, end - trail));
    }
}

/// Best supporting sentence(s) of `passage` for `claim`: byte range in the passage and score.
/// Nothing in `excluded` (running headers and footers) is ever chosen.
fn best_support(
    passage: &str,
    claim: &BTreeSet<String>,
    excluded: &[(usize, usize)],
) -> ((usize, usize), usize) {
    let spans = evidence(passage, excluded);
    let score = |range: (usize, usize)| {
        terms(&passage[range.0..range.1])
            .intersection(claim)
            .count()
    };
    let mut best = ((0, passage.trim_end().len()), 0);
    for (i, &span) in spans.iter().enumerate() {
        let s = score(span);
        if s > best.1 {
            best = (span, s);
        }
        // Two sentences when the second adds support the first lacks (and no furniture
        // lies between them).
        if let Some(&next) = spans
            .get(i + 1)
            .filter(|n| !excluded.iter().any(|x| x.0 < n.0 && x.1 > span.1))
        {
            let pair = (span.0, next.1);
            let s2 = score(pair);
            if s2 > best.1 && s2 > s && s2 > score(next) {
                best = (pair, s2);
            }
        }
    }
    best
}

/// The answer with each marker reduced to the numbers in `kept` (same order as `all`);
/// a marker left with none goes, with the space before it.
fn rewrite_markers(answer: &str, all: &[Marker], kept: &[Vec<usize>]) -> String {
    let mut text = String::with_capacity(answer.len());
    let mut at = 0;
    for (m, keep) in all.iter().zip(kept) {
        if *keep == m.numbers {
            continue;
        }
        let mut start = m.start;
        if keep.is_empty() && answer[at..start].ends_with(' ') {
            start -= 1;
        }
        text.push_str(&answer[at..start]);
        text.extend(keep.iter().map(|n| format!("[{n}]")));
        at = m.end;
    }
    text.push_str(&answer[at..]);
    text
}

fn page_at(pages: &[PageSpan], offset: usize) -> Option<u32> {
    pages
        .iter()
        .find(|p| p.start <= offset && offset < p.end.max(p.start + 1))
        .map(|p| p.number)
}

/// Least content words a sentence shares with a passage sentence to be attributed to it, and
/// the least share of the sentence's content words that must be shared.
const ATTRIBUTE_MIN_TERMS: usize = 2;
const ATTRIBUTE_MIN_SHARE: f32 = 0.5;

/// Adds a marker to each sentence of `answer` that has none but is clearly supported by a
/// source; records the support in `best`. Returns the new answer and the sources attributed.
fn attribute(
    answer: &str,
    sources: &[Source],
    excluded: &HashMap<usize, Vec<(usize, usize)>>,
    best: &mut BTreeMap<usize, ((usize, usize), usize)>,
) -> (String, BTreeSet<usize>) {
    let mut inserts: Vec<(usize, usize)> = Vec::new();
    let mut attributed = BTreeSet::new();
    for (start, end) in sentences(answer) {
        let sentence = &answer[start..end];
        if !markers(sentence).is_empty() {
            continue;
        }
        let claim = terms(sentence);
        if claim.len() < ATTRIBUTE_MIN_TERMS {
            continue;
        }
        let found = sources
            .iter()
            .map(|s| {
                let x = excluded.get(&s.n).map_or(&[][..], Vec::as_slice);
                (s.n, best_support(&s.hit.chunk.text, &claim, x))
            })
            .max_by(|a, b| a.1 .1.cmp(&b.1 .1).then(b.0.cmp(&a.0)));
        let Some((n, support)) = found else { continue };
        let enough = support.1 >= ATTRIBUTE_MIN_TERMS
            && support.1 as f32 >= ATTRIBUTE_MIN_SHARE * claim.len() as f32;
        if !enough {
            continue;
        }
        // Before the sentence's closing punctuation: "… 1932 [1]."
        let body = sentence.trim_end_matches(['.', '!', '?', '。', '！', '？']);
        inserts.push((start + body.len(), n));
        attributed.insert(n);
        if best.get(&n).is_none_or(|b| support.1 > b.1) {
            best.insert(n, support);
        }
    }
    let mut text = answer.to_string();
    for (at, n) in inserts.into_iter().rev() {
        text.insert_str(at, &format!(" [{n}]"));
    }
    (text, attributed)
}

/// Resolves the markers of `answer` against `sources`. Markers naming no source are removed.
/// `texts` holds the stored extracted text of each source's document; a quote is `verified`
/// when it is found at its offsets there.
pub fn cite(
    answer: &str,
    question: &str,
    sources: &[Source],
    texts: &HashMap<DocumentId, SourceText>,
) -> Cited {
    let all = markers(answer);
    let by_n: HashMap<usize, &Source> = sources.iter().map(|s| (s.n, s)).collect();
    let excluded: HashMap<usize, Vec<(usize, usize)>> = sources
        .iter()
        .filter_map(|s| {
            let stored = texts.get(&s.hit.chunk.document_id)?;
            Some((s.n, stored.furniture_in(&s.hit.chunk)))
        })
        .collect();
    let excluded_of = |n: &usize| excluded.get(n).map_or(&[][..], Vec::as_slice);

    // For each cited source, the claim it supports best. A marker keeps only the sources
    // that share a content word with its claim: a phantom number, or a passage that has
    // nothing in common with what is claimed, is never shown as evidence.
    let question_terms = terms(question);
    let mut best: BTreeMap<usize, ((usize, usize), usize)> = BTreeMap::new();
    let mut kept: Vec<Vec<usize>> = Vec::with_capacity(all.len());
    for marker in &all {
        let mut claim = terms(&claim_before(answer, marker));
        if claim.is_empty() {
            claim = question_terms.clone();
        }
        let mut supported = Vec::new();
        for n in &marker.numbers {
            let Some(source) = by_n.get(n) else { continue };
            let support = best_support(&source.hit.chunk.text, &claim, excluded_of(n));
            if support.1 == 0 {
                continue;
            }
            supported.push(*n);
            if best.get(n).is_none_or(|b| support.1 > b.1) {
                best.insert(*n, support);
            }
        }
        kept.push(supported);
    }
    let cleaned_answer = rewrite_markers(answer, &all, &kept);

    // Sentences the model left uncited get the source that supports them best, when one
    // clearly does: small models often answer from the sources without citing them.
    let explicit: BTreeSet<usize> = best.keys().copied().collect();
    let (answer_text, inferred) = attribute(&cleaned_answer, sources, &excluded, &mut best);

    let citations = best
        .into_iter()
        .filter_map(|(n, ((s, e), _))| {
            let source = by_n.get(&n)?;
            let chunk = &source.hit.chunk;
            let quote = chunk.text.get(s..e)?.to_string();
            let quote_start = chunk.start + s;
            let quote_end = chunk.start + e;
            let stored = texts.get(&chunk.document_id);
            let verified =
                stored.and_then(|t| t.text.get(quote_start..quote_end)) == Some(quote.as_str());
            let page = stored
                .and_then(|t| page_at(&t.pages, quote_start))
                .or(chunk.page_start);
            Some(Citation {
                n,
                chunk_id: chunk.id.clone(),
                document_id: chunk.document_id,
                document_path: source.hit.document_path.clone(),
                document_title: source.hit.document_title.clone(),
                page,
                page_unit: chunk.page_unit,
                heading_path: chunk.heading_path.clone(),
                quote,
                quote_start,
                quote_end,
                verified,
                inferred: inferred.contains(&n) && !explicit.contains(&n),
            })
        })
        .collect::<Vec<_>>();
    let cited: BTreeSet<usize> = citations.iter().map(|c| c.n).collect();
    let uncited = sources
        .iter()
        .map(|s| s.n)
        .filter(|n| !cited.contains(n))
        .collect();
    Cited {
        answer: answer_text,
        citations,
        uncited,
    }
}

#[cfg(test)]
mod tests;
