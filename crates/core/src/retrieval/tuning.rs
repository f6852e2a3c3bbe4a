//! Fusion that suits the library: a self-check with probe queries drawn from the library's
//! own chunks scores BM25 alone, vectors alone and a grid of fused settings, and keeps a
//! setting that scores at least as well as the better single retriever.
//!
//! The probes follow the inverse cloze task (Lee et al., 2019): a window of one sentence of a
//! sampled chunk is the query, the chunk itself is left out of both result lists, and the
//! chunks next to it in its document are the right answers. Finding a passage's context from
//! one of its sentences takes what a real question takes: the words are not the answer's
//! words, the topic is. (Probes answered by their own chunk were tried first: BM25 finds its
//! own words almost always, so they handed BM25 the weight even where vectors answer real
//! questions better.) Where the embedder does not know the library's language, vectors miss
//! the context and BM25 gets the weight; where both find it, the fusion stays balanced.

use crate::chunk::Chunk;
use crate::chunker::sentence_units;
use crate::ids::{Bm25Score, ChunkId, VectorDistance};
use crate::retrieval::calibration::GateCalibration;
use crate::retrieval::fusion::{fuse, FusionConfig, FusionMethod};
use crate::retrieval::language::LanguageMix;
use serde::{Deserialize, Serialize};

/// Probes per self-check.
pub const PROBES: usize = 200;
/// Fewer usable probes than this and the library keeps the balanced default.
pub const MIN_PROBES: usize = 30;
/// Settings within this much of the best score (or within the noise of the probes, if more)
/// count as equally good; the most balanced of them is kept, so noise in a few probes does
/// not swing the weights.
const TOLERANCE: f64 = 0.01;
/// Probes are judged on the top of the list, as a reader sees it.
const DEPTH: usize = 10;

/// One probe query, the chunk it was drawn from and that chunk's neighbours, the answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub query: String,
    pub source: ChunkId,
    pub targets: Vec<ChunkId>,
}

/// What each retriever returned for one probe (the source chunk taken out).
#[derive(Debug, Clone)]
pub struct ProbeRun {
    pub targets: Vec<ChunkId>,
    pub bm25: Vec<(ChunkId, Bm25Score)>,
    pub vector: Vec<(ChunkId, VectorDistance)>,
}

/// Self-check scores (mean nDCG@10 over the probes; one right answer each).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct TuningScores {
    pub bm25: f64,
    pub vector: f64,
    /// Equal-weight RRF, the setting before any tuning.
    pub balanced: f64,
    pub chosen: f64,
}

/// The fusion a library was tuned to, and the evidence for it (kept in the catalog).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct FusionTuning {
    pub fusion: FusionConfig,
    pub scores: TuningScores,
    pub probes: u32,
    /// The embedder and the number of indexed chunks it was tuned on: a new embedder, or a
    /// library a fifth larger or smaller, is tuned again.
    pub embedder: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub chunks: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub tuned_at_ms: i64,
    /// Why the balanced default was kept without a choice, if it was (too few chunks).
    pub note: Option<String>,
    /// The languages of a sample of the library's passages (`None` in a tuning made before
    /// Cairn measured them: such a library is tuned again).
    #[serde(default)]
    pub languages: Option<LanguageMix>,
    /// The relevance gate's calibration (`None` in a tuning made before Cairn calibrated the
    /// gate per library, or of an empty library: such a library is tuned again).
    #[serde(default)]
    pub gate: Option<GateCalibration>,
}

impl FusionTuning {
    /// One line for people: the weights and what the self-check measured.
    pub fn summary(&self) -> String {
        let languages = self
            .languages
            .as_ref()
            .map(LanguageMix::describe)
            .filter(|d| !d.is_empty())
            .map_or_else(String::new, |d| format!("; passages in {d}"));
        if let Some(note) = &self.note {
            return format!("balanced fusion kept: {note}{languages}");
        }
        let share = (self.fusion.bm25_share() * 100.0).round();
        let method = match self.fusion.method {
            FusionMethod::Rrf => "rank fusion",
            FusionMethod::Convex => "score fusion",
            FusionMethod::ZScore => "deviation fusion",
        };
        format!(
            "BM25 {share:.0}% and vectors {:.0}% ({method}); self-check on {} probe queries, \
             nDCG@10: fused {:.3}, BM25 {:.3}, vectors {:.3}, balanced {:.3}{languages}",
            100.0 - share,
            self.probes,
            self.scores.chosen,
            self.scores.bm25,
            self.scores.vector,
            self.scores.balanced
        )
    }

    /// Whether the library has changed enough since this tuning to check again.
    pub fn is_stale(&self, embedder: &str, chunks: u64) -> bool {
        let changed = chunks.abs_diff(self.chunks) as f64;
        embedder != self.embedder
            || changed > self.chunks.max(1) as f64 * 0.2
            || self.languages.is_none()
            || self.gate.is_none()
    }
}

/// The chunks to draw probes from: a deterministic, even spread over the library (ordered by
/// a hash of the id, so documents added later mix in rather than queue at the end).
pub fn sample(ids: &[ChunkId], count: usize) -> Vec<ChunkId> {
    let mut keyed: Vec<(blake3::Hash, &ChunkId)> = ids
        .iter()
        .map(|id| (blake3::hash(id.as_str().as_bytes()), id))
        .collect();
    keyed.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()).then(a.1.cmp(b.1)));
    keyed
        .into_iter()
        .take(count)
        .map(|(_, id)| id.clone())
        .collect()
}

/// A probe from each sampled chunk that has a sentence to draw one from and a neighbour in
/// its document (`chunks` holds the sampled chunks' documents, each in order).
pub fn probes(sampled: &[ChunkId], documents: &[Vec<Chunk>]) -> Vec<Probe> {
    let mut out = Vec::new();
    for document in documents {
        for (i, chunk) in document.iter().enumerate() {
            if !sampled.contains(&chunk.id) {
                continue;
            }
            let targets: Vec<ChunkId> = [i.checked_sub(1), Some(i + 1)]
                .into_iter()
                .flatten()
                .filter_map(|j| document.get(j))
                .map(|c| c.id.clone())
                .collect();
            if targets.is_empty() {
                continue;
            }
            if let Some(query) = probe_query(chunk.id.as_str(), &chunk.text) {
                out.push(Probe {
                    query,
                    source: chunk.id.clone(),
                    targets,
                });
            }
        }
    }
    out
}

/// Words of one sentence of the text (chosen by the seed), a window of at most 16, with about
/// a third left out; for text written without spaces (Chinese, Japanese), a window of
/// characters. `None` when the text has no sentence long enough to ask about.
pub fn probe_query(seed: &str, text: &str) -> Option<String> {
    let mut rng = Seeded::new(seed);
    let sentences: Vec<&str> = sentence_units(text, (0, text.len()))
        .into_iter()
        .map(|(s, e)| &text[s..e])
        .filter(|s| words(s).len() >= 6 || s.chars().filter(|c| is_cjk(*c)).count() >= 12)
        .collect();
    let sentence = sentences.get(rng.below(sentences.len().max(1)))?;
    let all = words(sentence);
    if all.len() < 6 {
        let chars: Vec<char> = sentence.chars().filter(|c| !c.is_whitespace()).collect();
        let len = chars.len().min(16);
        let start = rng.below(chars.len() - len + 1);
        return Some(chars[start..start + len].iter().collect());
    }
    let len = all.len().min(16);
    let start = rng.below(all.len() - len + 1);
    let window = &all[start..start + len];
    let mut kept: Vec<&str> = window
        .iter()
        .copied()
        .filter(|_| rng.below(3) != 0)
        .collect();
    if kept.len() < 4 {
        kept = window.iter().copied().take(4).collect();
    }
    Some(kept.join(" "))
}

fn words(sentence: &str) -> Vec<&str> {
    sentence
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|w| !w.is_empty())
        .collect()
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF)
}

/// A small deterministic generator seeded by a chunk id, so a library's probes are the same
/// on every run.
struct Seeded(u64);

impl Seeded {
    fn new(seed: &str) -> Self {
        let hash = blake3::hash(seed.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&hash.as_bytes()[..8]);
        Seeded(u64::from_le_bytes(first) | 1)
    }

    /// Uniform enough in `0..n` (xorshift64*); 0 when `n` is 0.
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        if n == 0 {
            0
        } else {
            (x % n as u64) as usize
        }
    }
}

/// The settings the self-check tries: both methods, BM25's share from 0 to 1 in tenths (the
/// ends are the single retrievers).
pub fn grid() -> Vec<FusionConfig> {
    let mut out = Vec::new();
    for method in [
        FusionMethod::Rrf,
        FusionMethod::Convex,
        FusionMethod::ZScore,
    ] {
        for tenth in 0..=10u8 {
            let share = f32::from(tenth) / 10.0;
            out.push(match method {
                FusionMethod::Rrf => FusionConfig::rrf(share, 1.0 - share),
                FusionMethod::Convex => FusionConfig::convex(share, 1.0 - share),
                FusionMethod::ZScore => FusionConfig::z_score(share, 1.0 - share),
            });
        }
    }
    out
}

/// Mean nDCG@10 of a setting over the probes.
pub fn score(config: &FusionConfig, runs: &[ProbeRun]) -> f64 {
    mean(&per_probe(config, runs))
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        0.0
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// nDCG@10 of a setting on each probe.
fn per_probe(config: &FusionConfig, runs: &[ProbeRun]) -> Vec<f64> {
    let gain = |i: usize| 1.0 / ((i + 2) as f64).log2();
    runs.iter()
        .map(|run| {
            let found: f64 = fuse(&run.bm25, &run.vector, config)
                .iter()
                .take(DEPTH)
                .enumerate()
                .filter(|(_, f)| run.targets.contains(&f.id))
                .map(|(i, _)| gain(i))
                .sum();
            let ideal: f64 = (0..run.targets.len().min(DEPTH)).map(gain).sum();
            if ideal > 0.0 {
                found / ideal
            } else {
                0.0
            }
        })
        .collect()
}

/// Three standard errors of the mean of the per-probe differences `a − b`: a lead smaller
/// than this is within the noise of the probes drawn. Three, not two, because the best of 33
/// settings is compared, and the best of many noisy scores is lucky more often than one is.
fn noise(a: &[f64], b: &[f64]) -> f64 {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    if d.len() < 2 {
        return f64::INFINITY;
    }
    let m = mean(&d);
    let variance = d.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (d.len() - 1) as f64;
    3.0 * (variance / d.len() as f64).sqrt()
}

/// Picks the setting: of those that score at least as well as the better single retriever,
/// the most balanced one that the best does not beat by more than the noise of the probes
/// (three standard errors of the paired difference, at least [`TOLERANCE`]); RRF before the
/// score fusions on a tie, as it is the least sensitive to odd score distributions. So the
/// balanced default stays unless the self-check shows clearly that another setting is better.
pub fn choose(runs: &[ProbeRun]) -> (FusionConfig, TuningScores) {
    let bm25 = score(&FusionConfig::rrf(1.0, 0.0), runs);
    let vector = score(&FusionConfig::rrf(0.0, 1.0), runs);
    let balanced = score(&FusionConfig::default(), runs);
    let floor = bm25.max(vector);
    let scored: Vec<(FusionConfig, Vec<f64>, f64)> = grid()
        .into_iter()
        .map(|c| {
            let each = per_probe(&c, runs);
            let s = mean(&each);
            tracing::debug!(method = ?c.method, bm25_share = c.bm25_share(), score = s, "fusion self-check");
            (c, each, s)
        })
        .filter(|(_, _, s)| *s >= floor)
        .collect();
    let best = scored
        .iter()
        .max_by(|a, b| a.2.total_cmp(&b.2))
        .map(|(_, each, s)| (each.clone(), *s));
    let chosen = best.and_then(|(best_each, best_score)| {
        scored
            .into_iter()
            .filter(|(_, each, s)| best_score - s <= noise(&best_each, each).max(TOLERANCE))
            .min_by(|a, b| {
                let balance = |c: &FusionConfig| (c.bm25_share() - 0.5).abs();
                balance(&a.0)
                    .total_cmp(&balance(&b.0))
                    .then_with(|| method_order(a.0.method).cmp(&method_order(b.0.method)))
                    .then_with(|| b.2.total_cmp(&a.2))
            })
            .map(|(c, _, s)| (c, s))
    });
    // The grid holds both single retrievers, so a setting at the floor always exists.
    let (fusion, chosen_score) = chosen.unwrap_or((FusionConfig::default(), balanced));
    (
        fusion,
        TuningScores {
            bm25,
            vector,
            balanced,
            chosen: chosen_score,
        },
    )
}

fn method_order(m: FusionMethod) -> u8 {
    match m {
        FusionMethod::Rrf => 0,
        FusionMethod::Convex => 1,
        FusionMethod::ZScore => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ChunkId {
        ChunkId(s.to_string())
    }

    fn bm25_list(ids: &[&str]) -> Vec<(ChunkId, Bm25Score)> {
        ids.iter()
            .enumerate()
            .map(|(i, s)| (id(s), Bm25Score(20.0 - i as f32)))
            .collect()
    }

    fn vector_list(ids: &[&str]) -> Vec<(ChunkId, VectorDistance)> {
        ids.iter()
            .enumerate()
            .map(|(i, s)| (id(s), VectorDistance(0.1 + 0.05 * i as f32)))
            .collect()
    }

    /// Probes where BM25 ranks the target first and the vectors list only other chunks, as
    /// with an embedder that does not know the language.
    fn runs_where_vectors_are_blind(n: usize) -> Vec<ProbeRun> {
        (0..n)
            .map(|i| {
                let target = format!("t{i}");
                let others: Vec<String> = (0..12).map(|j| format!("o{i}-{j}")).collect();
                let mut text: Vec<&str> = vec![target.as_str()];
                text.extend(others.iter().take(9).map(String::as_str));
                let vec_ids: Vec<&str> = others.iter().rev().map(String::as_str).collect();
                ProbeRun {
                    targets: vec![id(&target)],
                    bm25: bm25_list(&text),
                    vector: vector_list(&vec_ids),
                }
            })
            .collect()
    }

    #[test]
    fn blind_vectors_hand_the_weight_to_bm25_and_fusion_keeps_its_score() {
        let runs = runs_where_vectors_are_blind(50);
        let (config, scores) = choose(&runs);
        assert_eq!(scores.bm25, 1.0);
        assert_eq!(scores.vector, 0.0);
        assert!(scores.chosen >= scores.bm25, "{scores:?}");
        assert!(config.bm25_share() > 0.5, "{config:?}");
    }

    #[test]
    fn two_good_retrievers_keep_the_balanced_default() {
        // Each retriever puts the target first for half of the probes and second for the
        // other half, behind a different chunk: only together do they get every one right.
        let runs: Vec<ProbeRun> = (0..40)
            .map(|i| {
                let t = format!("t{i}");
                let a = format!("a{i}");
                let b = format!("b{i}");
                let c = format!("c{i}");
                let (text, vec): (Vec<&str>, Vec<&str>) = if i % 2 == 0 {
                    (vec![&t, &a, &b], vec![&c, &t, &a])
                } else {
                    (vec![&b, &t, &a], vec![&t, &c, &a])
                };
                ProbeRun {
                    targets: vec![id(&t)],
                    bm25: bm25_list(&text),
                    vector: vector_list(&vec),
                }
            })
            .collect();
        let (config, scores) = choose(&runs);
        assert_eq!(config.method, FusionMethod::Rrf, "{scores:?}");
        assert_eq!(config.bm25_share(), 0.5, "{scores:?}");
        assert_eq!(scores.chosen, 1.0);
        assert_eq!(scores.balanced, 1.0);
        assert!(scores.bm25 < 0.9 && scores.vector < 0.9, "{scores:?}");
    }

    #[test]
    fn a_probe_is_part_of_one_sentence_and_the_same_every_time() {
        let text = "Short one. The committee approved the annual budget for the new library \
                    building after a long debate in March. Another short one.";
        let q = probe_query("chunk-7", text).expect("a long sentence");
        assert_eq!(probe_query("chunk-7", text), Some(q.clone()));
        let sentence = "The committee approved the annual budget for the new library building \
                        after a long debate in March";
        let n = q.split_whitespace().count();
        assert!((4..=16).contains(&n), "{q}");
        for w in q.split_whitespace() {
            assert!(sentence.contains(w), "{w} of {q}");
        }
        assert_eq!(probe_query("x", "Too short. Also short."), None);
    }

    #[test]
    fn text_without_spaces_gets_a_window_of_characters() {
        let text = "北京是中华人民共和国的首都，也是全国的政治和文化中心。";
        let q = probe_query("c", text).expect("a probe");
        assert!(text.contains(&q), "{q}");
        assert!(q.chars().count() >= 12);
    }

    #[test]
    fn the_sample_is_stable_and_spread() {
        let ids: Vec<ChunkId> = (0..1000)
            .map(|i| id(&format!("d{}-{}", i / 10, i % 10)))
            .collect();
        let a = sample(&ids, 100);
        assert_eq!(a, sample(&ids, 100));
        assert_eq!(a.len(), 100);
        let docs: std::collections::HashSet<&str> = a
            .iter()
            .map(|c| c.as_str().split('-').next().unwrap_or(""))
            .collect();
        assert!(docs.len() > 50, "{} documents", docs.len());
    }

    #[test]
    fn staleness_follows_the_embedder_and_a_fifth_of_the_library() {
        let t = FusionTuning {
            fusion: FusionConfig::default(),
            scores: TuningScores::default(),
            probes: 200,
            embedder: "e5".into(),
            chunks: 1000,
            tuned_at_ms: 0,
            note: None,
            languages: Some(LanguageMix::default()),
            gate: GateCalibration::from_background(&[("eng", 0.8), ("eng", 0.81), ("deu", 0.82)]),
        };
        assert!(!t.is_stale("e5", 1150));
        assert!(t.is_stale("e5", 1250));
        assert!(t.is_stale("e5", 700));
        assert!(t.is_stale("minilm", 1000));
        // A tuning from before languages were measured is made again.
        let older = FusionTuning {
            languages: None,
            ..t.clone()
        };
        assert!(older.is_stale("e5", 1000));
        // So is one from before the relevance gate was calibrated per library.
        let ungated = FusionTuning { gate: None, ..t };
        assert!(ungated.is_stale("e5", 1000));
    }
}
