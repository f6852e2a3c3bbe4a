//! Whether retrieval found anything worth showing the model. When it did not, Cairn says so
//! itself instead of letting the model invent an answer.

use super::citations::terms;
use crate::search::SearchHit;
use serde::{Deserialize, Serialize};

/// Thresholds of the relevance gate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RelevanceConfig {
    /// Least cosine similarity between the question and a passage (embedder-specific; the
    /// default suits all-MiniLM-L6-v2: `cairn eval refusal` on SQuAD, half the articles held
    /// out, let 91.7% of answerable questions through and refused 93.3% of the others at 0.30,
    /// 89.0%/96.3% at 0.35, 84.0%/98.3% at 0.40). A question let through wrongly still meets
    /// the prompt's own refusal rule; a refusal here is final, so the gate leans to letting
    /// through.
    pub min_similarity: f32,
    /// A passage containing at least this share of the question's content words is relevant
    /// whatever its similarity (names, codes and numbers embed poorly).
    pub min_term_coverage: f32,
    /// Content words the question needs before term coverage counts.
    pub min_terms: usize,
}

impl Default for RelevanceConfig {
    fn default() -> Self {
        RelevanceConfig {
            min_similarity: 0.30,
            min_term_coverage: 1.0,
            min_terms: 2,
        }
    }
}

/// The gate's decision, with the evidence.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RelevanceVerdict {
    pub relevant: bool,
    /// Highest cosine similarity of a retrieved passage.
    pub best_similarity: Option<f32>,
    /// Highest share of the question's content words found in one passage.
    pub best_term_coverage: f32,
}

/// Judges whether `hits` can answer `question`.
pub fn is_relevant(
    question: &str,
    hits: &[SearchHit],
    config: &RelevanceConfig,
) -> RelevanceVerdict {
    let best_similarity = hits
        .iter()
        .filter_map(|h| h.vector.map(|v| 1.0 - v.score.0))
        .fold(None, |best: Option<f32>, s| {
            Some(best.map_or(s, |b| b.max(s)))
        });
    let wanted = terms(question);
    let best_term_coverage = if wanted.len() < config.min_terms {
        0.0
    } else {
        hits.iter()
            .map(|h| {
                let have = terms(&h.chunk.embedding_text());
                wanted.intersection(&have).count() as f32 / wanted.len() as f32
            })
            .fold(0.0, f32::max)
    };
    let relevant = best_similarity.is_some_and(|s| s >= config.min_similarity)
        || (wanted.len() >= config.min_terms && best_term_coverage >= config.min_term_coverage);
    RelevanceVerdict {
        relevant,
        best_similarity,
        best_term_coverage,
    }
}
