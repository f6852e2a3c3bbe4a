//! Retrieval metrics over graded relevance judgements (BEIR/TREC qrels).

use std::collections::HashMap;

/// Relevance grades of one query: document key → grade (> 0 is relevant).
pub type Judgements = HashMap<String, u32>;

/// nDCG@k with the linear gain TREC's `trec_eval` and BEIR use.
pub fn ndcg_at(ranked: &[String], judged: &Judgements, k: usize) -> f64 {
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, doc)| gain(judged.get(doc).copied().unwrap_or(0)) / discount(i))
        .sum();
    let mut ideal: Vec<u32> = judged.values().copied().filter(|g| *g > 0).collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, g)| gain(*g) / discount(i))
        .sum();
    if idcg == 0.0 {
        0.0
    } else {
        dcg / idcg
    }
}

/// Share of the relevant documents found in the first `k`.
pub fn recall_at(ranked: &[String], judged: &Judgements, k: usize) -> f64 {
    let relevant = judged.values().filter(|g| **g > 0).count();
    if relevant == 0 {
        return 0.0;
    }
    let found = ranked
        .iter()
        .take(k)
        .filter(|d| judged.get(*d).is_some_and(|g| *g > 0))
        .count();
    found as f64 / relevant as f64
}

/// Reciprocal rank of the first relevant document within the first `k`, else 0.
pub fn reciprocal_rank_at(ranked: &[String], judged: &Judgements, k: usize) -> f64 {
    ranked
        .iter()
        .take(k)
        .position(|d| judged.get(d).is_some_and(|g| *g > 0))
        .map_or(0.0, |i| 1.0 / (i as f64 + 1.0))
}

fn gain(grade: u32) -> f64 {
    f64::from(grade)
}

fn discount(index: usize) -> f64 {
    (index as f64 + 2.0).log2()
}

/// Mean metrics of one retriever over a query set.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct RetrievalMetrics {
    #[serde(rename = "ndcg@10")]
    pub ndcg_at_10: f64,
    #[serde(rename = "recall@100")]
    pub recall_at_100: f64,
    #[serde(rename = "mrr@10")]
    pub mrr_at_10: f64,
    pub queries: usize,
}

impl RetrievalMetrics {
    /// Averages the metrics of `runs` (one ranking and its judgements per query).
    pub fn mean<'a>(runs: impl IntoIterator<Item = (&'a [String], &'a Judgements)>) -> Self {
        let mut m = RetrievalMetrics::default();
        for (ranked, judged) in runs {
            m.ndcg_at_10 += ndcg_at(ranked, judged, 10);
            m.recall_at_100 += recall_at(ranked, judged, 100);
            m.mrr_at_10 += reciprocal_rank_at(ranked, judged, 10);
            m.queries += 1;
        }
        if m.queries > 0 {
            let n = m.queries as f64;
            m.ndcg_at_10 /= n;
            m.recall_at_100 /= n;
            m.mrr_at_10 /= n;
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn perfect_ranking_scores_one_and_misses_score_zero() {
        let judged: Judgements = [("a".to_string(), 1), ("b".to_string(), 1)].into();
        let perfect = docs(&["a", "b", "x"]);
        assert!((ndcg_at(&perfect, &judged, 10) - 1.0).abs() < 1e-9);
        assert_eq!(recall_at(&perfect, &judged, 100), 1.0);
        assert_eq!(reciprocal_rank_at(&perfect, &judged, 10), 1.0);
        let none = docs(&["x", "y"]);
        assert_eq!(ndcg_at(&none, &judged, 10), 0.0);
        assert_eq!(reciprocal_rank_at(&none, &judged, 10), 0.0);
    }

    #[test]
    fn ndcg_matches_a_hand_computed_value() {
        // One relevant document at rank 2: DCG = 1/log2(3), IDCG = 1.
        let judged: Judgements = [("a".to_string(), 1)].into();
        let ranked = docs(&["x", "a"]);
        assert!((ndcg_at(&ranked, &judged, 10) - 1.0 / 3f64.log2()).abs() < 1e-9);
        assert_eq!(reciprocal_rank_at(&ranked, &judged, 10), 0.5);
        assert_eq!(recall_at(&ranked, &judged, 1), 0.0);
    }
}
