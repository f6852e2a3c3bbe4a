//! Reciprocal rank fusion of the full-text and vector rankings.
//!
//! RRF needs no score calibration between BM25 and cosine distance, which differ per corpus
//! and per query; `cairn eval retrieval` measures it against either retriever alone.

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

/// Constants of the fusion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FusionConfig {
    /// RRF's damping constant; 60 is the value of the original paper.
    pub k: f32,
    pub bm25_weight: f32,
    pub vector_weight: f32,
}

impl Default for FusionConfig {
    fn default() -> Self {
        FusionConfig {
            k: 60.0,
            bm25_weight: 1.0,
            vector_weight: 1.0,
        }
    }
}

/// Fuses two rankings (best first). The result has no duplicate ids, is ordered by fused
/// score, then by best single rank, then by id, so equal inputs always give equal outputs.
pub fn reciprocal_rank_fusion(
    bm25: &[(ChunkId, Bm25Score)],
    vector: &[(ChunkId, VectorDistance)],
    config: &FusionConfig,
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
            entry.score.0 += config.bm25_weight / (config.k + rank as f32);
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
            entry.score.0 += config.vector_weight / (config.k + rank as f32);
        }
    }
    let mut fused: Vec<Fused> = by_id.into_values().collect();
    fused.sort_by(|a, b| {
        b.score
            .0
            .total_cmp(&a.score.0)
            .then_with(|| best_rank(a).cmp(&best_rank(b)))
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

fn best_rank(f: &Fused) -> u32 {
    let a = f.bm25.map_or(u32::MAX, |r| r.rank);
    let b = f.vector.map_or(u32::MAX, |r| r.rank);
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

    fn arb_ranking() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec("[a-h]", 0..12)
    }

    proptest! {
        #[test]
        fn fusion_is_deterministic_complete_and_without_duplicates(
            a in arb_ranking(),
            b in arb_ranking(),
        ) {
            let bm25: Vec<_> = a.iter().enumerate().map(|(i, s)| (id(s), Bm25Score(100.0 - i as f32))).collect();
            let vector: Vec<_> = b.iter().enumerate().map(|(i, s)| (id(s), VectorDistance(i as f32))).collect();
            let config = FusionConfig::default();
            let fused = reciprocal_rank_fusion(&bm25, &vector, &config);
            let again = reciprocal_rank_fusion(&bm25, &vector, &config);
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
