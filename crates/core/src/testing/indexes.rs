//! The two derived indexes in memory: full text scored with BM25 over lower-cased words, and
//! vectors searched by cosine distance, both by a full scan. Text writes become visible at
//! `commit`, as in Tantivy; vector writes at once, as in LanceDB.

use super::{lock, words};
use crate::chunk::Chunk;
use crate::ids::{Bm25Score, ChunkId, DocumentId, VectorDistance};
use crate::ports::{PortResult, TextIndex, VectorIndex, VectorRows};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// A chunk as the text index holds it: its document and its words (with the document's names).
type Rows = BTreeMap<ChunkId, (DocumentId, Vec<String>)>;

#[derive(Default)]
pub struct MemoryText {
    state: Mutex<TextState>,
}

#[derive(Default)]
struct TextState {
    committed: Rows,
    staged: Rows,
}

const K1: f32 = 1.2;
const B: f32 = 0.75;

fn row(names: &str, chunk: &Chunk) -> (DocumentId, Vec<String>) {
    let text = format!("{} {names}", chunk.text);
    (chunk.document_id, words(&text).collect())
}

impl MemoryText {
    /// BM25 of every committed chunk (of `documents`, when given) for words that each come
    /// with alternatives: a chunk scores by the alternative of each word it matches best.
    fn score(
        &self,
        query: &[Vec<String>],
        limit: usize,
        documents: Option<&[DocumentId]>,
    ) -> Vec<(ChunkId, Bm25Score)> {
        let state = lock(&self.state);
        let rows = &state.committed;
        let n = rows.len() as f32;
        let average = rows.values().map(|(_, w)| w.len()).sum::<usize>() as f32 / n.max(1.0);
        let document_frequency = |term: &str| {
            rows.values()
                .filter(|(_, w)| w.iter().any(|x| x == term))
                .count() as f32
        };
        let idf = |term: &str| {
            let df = document_frequency(term);
            (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
        };
        let mut hits: Vec<(ChunkId, Bm25Score)> = rows
            .iter()
            .filter(|(_, (doc, _))| documents.is_none_or(|d| d.contains(doc)))
            .filter_map(|(id, (_, chunk_words))| {
                let length = chunk_words.len() as f32;
                let term_score = |term: &str| {
                    let tf = chunk_words.iter().filter(|w| *w == term).count() as f32;
                    if tf == 0.0 {
                        return 0.0;
                    }
                    idf(term) * tf * (K1 + 1.0)
                        / (tf + K1 * (1.0 - B + B * length / average.max(1.0)))
                };
                let score: f32 = query
                    .iter()
                    .map(|alternatives| {
                        alternatives
                            .iter()
                            .map(|a| term_score(a))
                            .fold(0.0, f32::max)
                    })
                    .sum();
                (score > 0.0).then(|| (id.clone(), Bm25Score(score)))
            })
            .collect();
        hits.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0).then_with(|| a.0.cmp(&b.0)));
        hits.truncate(limit);
        hits
    }
}

#[async_trait]
impl TextIndex for MemoryText {
    async fn replace_document(
        &self,
        id: DocumentId,
        names: &str,
        chunks: &[Chunk],
    ) -> PortResult<()> {
        let mut state = lock(&self.state);
        state.staged.retain(|_, (doc, _)| *doc != id);
        for chunk in chunks {
            state.staged.insert(chunk.id.clone(), row(names, chunk));
        }
        Ok(())
    }

    async fn add_chunks(&self, names: &str, chunks: &[Chunk]) -> PortResult<()> {
        let mut state = lock(&self.state);
        for chunk in chunks {
            state.staged.insert(chunk.id.clone(), row(names, chunk));
        }
        Ok(())
    }

    async fn delete_document(&self, id: DocumentId) -> PortResult<()> {
        lock(&self.state).staged.retain(|_, (doc, _)| *doc != id);
        Ok(())
    }

    async fn commit(&self) -> PortResult<()> {
        let mut state = lock(&self.state);
        state.committed = state.staged.clone();
        Ok(())
    }

    async fn clear(&self) -> PortResult<()> {
        let mut state = lock(&self.state);
        state.staged.clear();
        state.committed.clear();
        Ok(())
    }

    async fn search(
        &self,
        query: &str,
        limit: usize,
        documents: Option<&[DocumentId]>,
    ) -> PortResult<Vec<(ChunkId, Bm25Score)>> {
        let query: Vec<Vec<String>> = words(query).map(|w| vec![w]).collect();
        Ok(self.score(&query, limit, documents))
    }

    async fn search_alternatives(
        &self,
        words_with_alternatives: &[Vec<String>],
        _languages: (&str, &str),
        limit: usize,
        documents: Option<&[DocumentId]>,
    ) -> PortResult<Vec<(ChunkId, Bm25Score)>> {
        let query: Vec<Vec<String>> = words_with_alternatives
            .iter()
            .map(|alternatives| alternatives.iter().flat_map(|a| words(a)).collect())
            .collect();
        Ok(self.score(&query, limit, documents))
    }

    async fn count(&self) -> PortResult<u64> {
        Ok(lock(&self.state).committed.len() as u64)
    }

    async fn chunk_ids(&self) -> PortResult<Vec<(ChunkId, DocumentId)>> {
        Ok(lock(&self.state)
            .committed
            .iter()
            .map(|(id, (doc, _))| (id.clone(), *doc))
            .collect())
    }

    async fn check_integrity(&self) -> PortResult<Vec<String>> {
        Ok(Vec::new())
    }
}

#[derive(Default)]
pub struct MemoryVectors {
    rows: Mutex<BTreeMap<ChunkId, (DocumentId, Vec<f32>)>>,
}

fn cosine_distance(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let denominator = norm(a) * norm(b);
    if denominator == 0.0 {
        1.0
    } else {
        1.0 - dot / denominator
    }
}

#[async_trait]
impl VectorIndex for MemoryVectors {
    async fn replace_documents(&self, rows: VectorRows) -> PortResult<()> {
        let mut stored = lock(&self.rows);
        for (doc, items) in rows {
            stored.retain(|_, (d, _)| *d != doc);
            for (id, vector) in items {
                stored.insert(id, (doc, vector));
            }
        }
        Ok(())
    }

    async fn add(&self, rows: VectorRows) -> PortResult<()> {
        let mut stored = lock(&self.rows);
        for (doc, items) in rows {
            for (id, vector) in items {
                stored.insert(id, (doc, vector));
            }
        }
        Ok(())
    }

    async fn delete_document(&self, id: DocumentId) -> PortResult<()> {
        lock(&self.rows).retain(|_, (d, _)| *d != id);
        Ok(())
    }

    async fn clear(&self) -> PortResult<()> {
        lock(&self.rows).clear();
        Ok(())
    }

    async fn search(
        &self,
        vector: &[f32],
        limit: usize,
        documents: Option<&[DocumentId]>,
    ) -> PortResult<Vec<(ChunkId, VectorDistance)>> {
        let stored = lock(&self.rows);
        let mut hits: Vec<(ChunkId, VectorDistance)> = stored
            .iter()
            .filter(|(_, (doc, _))| documents.is_none_or(|d| d.contains(doc)))
            .map(|(id, (_, v))| (id.clone(), VectorDistance(cosine_distance(vector, v))))
            .collect();
        hits.sort_by(|a, b| a.1 .0.total_cmp(&b.1 .0).then_with(|| a.0.cmp(&b.0)));
        hits.truncate(limit);
        Ok(hits)
    }

    async fn optimize(&self) -> PortResult<()> {
        Ok(())
    }

    async fn count(&self) -> PortResult<u64> {
        Ok(lock(&self.rows).len() as u64)
    }

    async fn chunk_ids(&self) -> PortResult<Vec<(ChunkId, DocumentId)>> {
        Ok(lock(&self.rows)
            .iter()
            .map(|(id, (doc, _))| (id.clone(), *doc))
            .collect())
    }
}
