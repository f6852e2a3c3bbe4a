//! Whether retrieval found anything worth showing the model. When it did not, Cairn says so
//! itself instead of letting the model invent an answer.

use super::citations::terms;
use crate::retrieval::search::SearchHit;
use serde::{Deserialize, Serialize};

/// Thresholds of the relevance gate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RelevanceConfig {
    /// Least cosine similarity between the question and a passage, to override the library's
    /// calibration ([`super::GateCalibration`]); `None` (the default) uses the calibration.
    /// Cosines are the embedder's own scale, so a fixed value suits one embedder only.
    #[serde(default)]
    pub min_similarity: Option<f32>,
    /// A passage containing at least this share of the question's content words is relevant
    /// whatever its similarity (names, codes and numbers embed poorly).
    pub min_term_coverage: f32,
    /// Content words the question needs before term coverage counts.
    pub min_terms: usize,
}

impl Default for RelevanceConfig {
    fn default() -> Self {
        RelevanceConfig {
            min_similarity: None,
            min_term_coverage: 1.0,
            min_terms: 2,
        }
    }
}

/// The gate's decision, with the evidence.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct RelevanceVerdict {
    pub relevant: bool,
    /// Highest cosine similarity of a retrieved passage.
    pub best_similarity: Option<f32>,
    /// The similarity the gate asked for (the library's calibration or an override).
    pub min_similarity: f32,
    /// Highest share of the question's content words found in one passage.
    pub best_term_coverage: f32,
}

/// Judges whether `hits` can answer `question`, with `min_similarity` as the least cosine
/// similarity of the best passage (the library's calibration unless `config` overrides it).
pub fn is_relevant(
    question: &str,
    hits: &[SearchHit],
    config: &RelevanceConfig,
    min_similarity: f32,
) -> RelevanceVerdict {
    let min_similarity = config.min_similarity.unwrap_or(min_similarity);
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
    let relevant = best_similarity.is_some_and(|s| s >= min_similarity)
        || (wanted.len() >= config.min_terms && best_term_coverage >= config.min_term_coverage);
    RelevanceVerdict {
        relevant,
        best_similarity,
        min_similarity,
        best_term_coverage,
    }
}
