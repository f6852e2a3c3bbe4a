//! Fusion of the full-text and vector rankings: weighted reciprocal rank fusion, or a convex
//! combination of the two scores, each min-max normalised over its own candidates.
//!
//! Neither needs a calibration between BM25 and cosine distance, which differ per corpus and
//! per query. Equal weights suit a library where both retrievers are good; where one is weak
//! (a language the embedder does not know, tables of numbers for BM25) it must weigh less:
//! [`crate::retrieval::tuning`] picks the method and the weights for each library.

use crate::ids::{Bm25Score, ChunkId, FusedScore, VectorDistance};
use std::collections::HashMap;

/// A candidate's position in one retriever's ranking (1-based) and that retriever's score.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Ranked<S> {
    pub rank: u32,
    pub score: S,
}

/// A fused candidate with what each retriever said about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fused {
    pub id: ChunkId,
    pub score: FusedScore,
    pub bm25: Option<Ranked<Bm25Score>>,
    pub vector: Option<Ranked<VectorDistance>>,
}

/// How the two rankings are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case")]
pub enum FusionMethod {
    /// Weighted reciprocal rank fusion: `w / (k + rank)` summed over the retrievers.
    Rrf,
    /// `w_bm25 · s_bm25 + w_vector · s_vector` with each score min-max normalised over that
    /// retriever's candidates for the query (0 where a retriever did not list the chunk).
    Convex,
    /// As [`FusionMethod::Convex`], but each score is measured from the list's lowest in
    /// standard deviations of the list: a hit far above the rest of its list (an exact
    /// phrase for BM25) keeps its lead, while a retriever whose list is flat (it has no clear
    /// answer for this query) adds little order of its own.
    ZScore,
}

/// Constants of the fusion.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct FusionConfig {
    pub method: FusionMethod,
    /// RRF's damping constant; 60 is the value of the original paper.
    pub k: f32,
    pub bm25_weight: f32,
    pub vector_weight: f32,
}

impl Default for FusionConfig {
    fn default() -> Self {
        FusionConfig::rrf(1.0, 1.0)
    }
}

impl FusionConfig {
    /// Weighted RRF with the paper's `k`.
    pub fn rrf(bm25_weight: f32, vector_weight: f32) -> Self {
        FusionConfig {
            method: FusionMethod::Rrf,
            k: 60.0,
            bm25_weight,
            vector_weight,
        }
    }

    /// A weighted sum of scores in standard deviations of their lists.
    pub fn z_score(bm25_weight: f32, vector_weight: f32) -> Self {
        FusionConfig {
            method: FusionMethod::ZScore,
            k: 60.0,
            bm25_weight,
            vector_weight,
        }
    }

    /// A convex combination of normalised scores.
    pub fn convex(bm25_weight: f32, vector_weight: f32) -> Self {
        FusionConfig {
            method: FusionMethod::Convex,
            k: 60.0,
            bm25_weight,
            vector_weight,
        }
    }

    /// BM25's share of the two weights, from 0 (vectors alone) to 1 (BM25 alone).
    pub fn bm25_share(&self) -> f32 {
        let total = self.bm25_weight + self.vector_weight;
        if total > 0.0 {
            self.bm25_weight / total
        } else {
            0.5
        }
    }
}

/// Fuses two rankings (best first) as the config says. The result has no duplicate ids, is
/// ordered by fused score, then by best single rank, then by id, so equal inputs always give
/// equal outputs.
pub fn fuse(
    bm25: &[(ChunkId, Bm25Score)],
    vector: &[(ChunkId, VectorDistance)],
    config: &FusionConfig,
) -> Vec<Fused> {
    match config.method {
        FusionMethod::Rrf => reciprocal_rank_fusion(bm25, vector, config),
        FusionMethod::Convex => convex_fusion(bm25, vector, config),
        FusionMethod::ZScore => z_score_fusion(bm25, vector, config),
    }
}

/// Weighted reciprocal rank fusion (see [`fuse`]).
pub fn reciprocal_rank_fusion(
    bm25: &[(ChunkId, Bm25Score)],
    vector: &[(ChunkId, VectorDistance)],
    config: &FusionConfig,
) -> Vec<Fused> {
    let k = config.k;
    combine(
        bm25,
        vector,
        config,
        |rank, _| config.bm25_weight / (k + rank as f32),
        |rank, _| config.vector_weight / (k + rank as f32),
    )
}

/// Convex combination of min-max normalised scores (see [`fuse`]).
pub fn convex_fusion(
    bm25: &[(ChunkId, Bm25Score)],
    vector: &[(ChunkId, VectorDistance)],
    config: &FusionConfig,
) -> Vec<Fused> {
    score_fusion::<MinMax>(bm25, vector, config)
}

/// Sum of scores in standard deviations above the list's lowest (see [`fuse`]).
pub fn z_score_fusion(
    bm25: &[(ChunkId, Bm25Score)],
    vector: &[(ChunkId, VectorDistance)],
    config: &FusionConfig,
) -> Vec<Fused> {
    score_fusion::<Spread>(bm25, vector, config)
}

/// How one retriever's scores for a query are put on a common scale.
trait Scale {
    fn of(scores: impl Iterator<Item = f32>) -> Self;
    /// The score on the scale: 0 for the list's lowest, more for better.
    fn scale(&self, s: f32) -> f32;
}

/// A weighted sum of the two retrievers' scores, each on its own list's scale.
fn score_fusion<S: Scale>(
    bm25: &[(ChunkId, Bm25Score)],
    vector: &[(ChunkId, VectorDistance)],
    config: &FusionConfig,
) -> Vec<Fused> {
    let text = S::of(bm25.iter().map(|(_, s)| s.0));
    // Cosine distance: smaller is better, so the similarity is its negation.
    let vec = S::of(vector.iter().map(|(_, d)| -d.0));
    combine(
        bm25,
        vector,
        config,
        |_, s: Bm25Score| config.bm25_weight * text.scale(s.0),
        |_, d: VectorDistance| config.vector_weight * vec.scale(-d.0),
    )
}

/// The lowest score of a list and its standard deviation.
struct Spread {
    min: f32,
    deviation: f32,
}

impl Scale for Spread {
    fn of(scores: impl Iterator<Item = f32>) -> Self {
        let finite: Vec<f64> = scores.filter(|s| s.is_finite()).map(f64::from).collect();
        let n = finite.len().max(1) as f64;
        let mean = finite.iter().sum::<f64>() / n;
        let variance = finite.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / n;
        let min = finite.iter().copied().fold(f64::INFINITY, f64::min);
        #[allow(clippy::cast_possible_truncation)]
        Spread {
            min: min as f32,
            deviation: variance.sqrt() as f32,
        }
    }

    /// Standard deviations above the lowest score; 1 for every score of a flat list.
    fn scale(&self, s: f32) -> f32 {
        if !s.is_finite() {
            0.0
        } else if self.deviation > 0.0 {
            ((s - self.min) / self.deviation).max(0.0)
        } else {
            1.0
        }
    }
}

/// The range of one retriever's scores for a query.
struct MinMax {
    min: f32,
    max: f32,
}

impl Scale for MinMax {
    fn of(scores: impl Iterator<Item = f32>) -> Self {
        scores.filter(|s| s.is_finite()).fold(
            MinMax {
                min: f32::INFINITY,
                max: f32::NEG_INFINITY,
            },
            |m, s| MinMax {
                min: m.min.min(s),
                max: m.max.max(s),
            },
        )
    }

    /// 0 for the worst candidate, 1 for the best; 1 when all are equal.
    fn scale(&self, s: f32) -> f32 {
        let span = self.max - self.min;
        if !s.is_finite() {
            0.0
        } else if span > 0.0 {
            ((s - self.min) / span).clamp(0.0, 1.0)
        } else {
            1.0
        }
    }
}

/// Adds each retriever's contribution for the first place it lists a chunk, then orders;
/// ties go to the better rank in a retriever that has weight.
fn combine(
    bm25: &[(ChunkId, Bm25Score)],
    vector: &[(ChunkId, VectorDistance)],
    config: &FusionConfig,
    bm25_part: impl Fn(u32, Bm25Score) -> f32,
    vector_part: impl Fn(u32, VectorDistance) -> f32,
) -> Vec<Fused> {
    let mut by_id: HashMap<&ChunkId, Fused> = HashMap::new();
    for (i, (id, score)) in bm25.iter().enumerate() {
        let rank = rank_of(i);
        let entry = by_id.entry(id).or_insert_with(|| empty(id));
        if entry.bm25.is_none() {
            entry.bm25 = Some(Ranked {
                rank,
                score: *score,
            });
            entry.score.0 += bm25_part(rank, *score);
        }
    }
    for (i, (id, distance)) in vector.iter().enumerate() {
        let rank = rank_of(i);
        let entry = by_id.entry(id).or_insert_with(|| empty(id));
        if entry.vector.is_none() {
            entry.vector = Some(Ranked {
                rank,
                score: *distance,
            });
            entry.score.0 += vector_part(rank, *distance);
        }
    }
    let mut fused: Vec<Fused> = by_id.into_values().collect();
    fused.sort_by(|a, b| {
        b.score
            .0
            .total_cmp(&a.score.0)
            .then_with(|| best_rank(a, config).cmp(&best_rank(b, config)))
            .then_with(|| a.id.cmp(&b.id))
    });
    fused
}

fn rank_of(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

fn empty(id: &ChunkId) -> Fused {
    Fused {
        id: id.clone(),
        score: FusedScore(0.0),
        bm25: None,
        vector: None,
    }
}

fn best_rank(f: &Fused, config: &FusionConfig) -> u32 {
    let rank = |r: Option<u32>, weight: f32| r.filter(|_| weight > 0.0).unwrap_or(u32::MAX);
    let a = rank(f.bm25.map(|r| r.rank), config.bm25_weight);
    let b = rank(f.vector.map(|r| r.rank), config.vector_weight);
    a.min(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(s: &str) -> ChunkId {
        ChunkId(s.to_string())
    }

    #[test]
    fn a_candidate_both_retrievers_like_wins() {
        let bm25 = vec![(id("a"), Bm25Score(9.0)), (id("b"), Bm25Score(5.0))];
        let vector = vec![
            (id("c"), VectorDistance(0.1)),
            (id("b"), VectorDistance(0.2)),
        ];
        let fused = reciprocal_rank_fusion(&bm25, &vector, &FusionConfig::default());
        let order: Vec<&str> = fused.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(order, vec!["b", "a", "c"]);
        assert_eq!(fused[0].bm25.map(|r| r.rank), Some(2));
        assert_eq!(fused[0].vector.map(|r| r.rank), Some(2));
        assert!(fused[1].vector.is_none());
    }

    #[test]
    fn a_retriever_with_no_weight_leaves_the_other_in_charge() {
        let bm25 = vec![
            (id("a"), Bm25Score(9.0)),
            (id("b"), Bm25Score(5.0)),
            (id("c"), Bm25Score(1.0)),
        ];
        let vector = vec![
            (id("c"), VectorDistance(0.1)),
            (id("b"), VectorDistance(0.2)),
            (id("d"), VectorDistance(0.3)),
        ];
        for ((b, v), expected) in [((1.0, 0.0), ["a", "b", "c"]), ((0.0, 1.0), ["c", "b", "d"])] {
            for config in [
                FusionConfig::rrf(b, v),
                FusionConfig::convex(b, v),
                FusionConfig::z_score(b, v),
            ] {
                let fused = fuse(&bm25, &vector, &config);
                let order: Vec<&str> = fused.iter().map(|f| f.id.as_str()).collect();
                assert_eq!(&order[..3], &expected, "{config:?}");
            }
        }
    }

    #[test]
    fn convex_fusion_weighs_by_score_not_rank() {
        // BM25 barely prefers a over b; the vectors strongly prefer b: b must win, while
        // equal-weight RRF calls it a tie broken by rank.
        let bm25 = vec![
            (id("a"), Bm25Score(10.0)),
            (id("b"), Bm25Score(9.9)),
            (id("z"), Bm25Score(1.0)),
        ];
        let vector = vec![
            (id("b"), VectorDistance(0.1)),
            (id("a"), VectorDistance(0.8)),
            (id("z"), VectorDistance(0.9)),
        ];
        let fused = fuse(&bm25, &vector, &FusionConfig::convex(0.5, 0.5));
        assert_eq!(fused[0].id.as_str(), "b");
        assert!((fused[0].score.0 - (0.5 * (8.9 / 9.0) + 0.5)).abs() < 1e-5);
    }

    fn arb_ranking() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec("[a-h]", 0..12)
    }

    proptest! {
        #[test]
        fn fusion_is_deterministic_complete_and_without_duplicates(
            a in arb_ranking(),
            b in arb_ranking(),
            method in 0u8..3,
            share in 0.0f32..=1.0,
        ) {
            let bm25: Vec<_> = a.iter().enumerate().map(|(i, s)| (id(s), Bm25Score(100.0 - i as f32))).collect();
            let vector: Vec<_> = b.iter().enumerate().map(|(i, s)| (id(s), VectorDistance(i as f32))).collect();
            let config = match method {
                0 => FusionConfig::rrf(share, 1.0 - share),
                1 => FusionConfig::convex(share, 1.0 - share),
                _ => FusionConfig::z_score(share, 1.0 - share),
            };
            let fused = fuse(&bm25, &vector, &config);
            let again = fuse(&bm25, &vector, &config);
            prop_assert_eq!(&fused, &again);

            let ids: std::collections::HashSet<&str> = fused.iter().map(|f| f.id.as_str()).collect();
            prop_assert_eq!(ids.len(), fused.len(), "duplicates in fused list");
            let inputs: std::collections::HashSet<&str> = a.iter().chain(b.iter()).map(String::as_str).collect();
            prop_assert_eq!(ids, inputs, "every candidate and nothing else");

            for pair in fused.windows(2) {
                prop_assert!(pair[0].score.0 >= pair[1].score.0);
            }
            for f in &fused {
                // A rank reported for a retriever is the first place it listed the id.
                if let Some(r) = f.bm25 {
                    prop_assert_eq!(a.iter().position(|s| s == f.id.as_str()), Some(r.rank as usize - 1));
                }
                if let Some(r) = f.vector {
                    prop_assert_eq!(b.iter().position(|s| s == f.id.as_str()), Some(r.rank as usize - 1));
                }
            }
        }
    }
}
