//! Hybrid retrieval: BM25 and vector candidates, fused, resolved to chunks and documents.

use super::Engine;
use crate::error::CoreError;
use crate::ids::{DocumentId, FusedScore};
use crate::ports::{EmbedKind, Lexicon};
use crate::retrieval::fusion::{fuse, Fused, Ranked};
use crate::retrieval::search::{SearchHit, SearchMode, SearchRequest};
use crate::retrieval::translation;
use std::collections::HashMap;
use tracing::Instrument;

impl Engine {
    /// Returns the best `request.limit` chunks for the query.
    pub async fn search(&self, request: &SearchRequest) -> Result<Vec<SearchHit>, CoreError> {
        let query = request.query.trim();
        if query.is_empty() {
            return Err(CoreError::EmptyQuery);
        }
        let span =
            tracing::debug_span!("query.retrieve", mode = ?request.mode, limit = request.limit);
        let fused = self.candidates(query, request).instrument(span).await?;
        self.resolve(fused, request.limit).await
    }

    /// Per-retriever candidate lists, fused. Each retriever is asked for more than the
    /// final `limit`, since fusion promotes what both agree on from further down.
    async fn candidates(
        &self,
        query: &str,
        request: &SearchRequest,
    ) -> Result<Vec<Fused>, CoreError> {
        let depth = (request.limit * 2).max(50);
        let filter = request.documents.as_deref();
        let want_text = request.mode != SearchMode::Vector;
        let want_vector = request.mode != SearchMode::Bm25;
        let translated = if want_text {
            self.translated_words(query).await
        } else {
            None
        };
        let text = async {
            if !want_text {
                return Ok(Vec::new());
            }
            let found = match &translated {
                Some((words, from, to)) => {
                    self.ports
                        .text
                        .search_alternatives(words, (from, to), depth, filter)
                        .await
                }
                None => self.ports.text.search(query, depth, filter).await,
            };
            found.map_err(CoreError::TextIndex)
        };
        // One embedder and its table for the whole query, even if the library switches
        // embedders meanwhile.
        let side = self.side();
        let vector = async {
            if !want_vector {
                return Ok(Vec::new());
            }
            let mut vectors = side
                .embedder
                .embed(vec![query.to_string()], EmbedKind::Query)
                .await
                .map_err(CoreError::Embedder)?;
            let v = vectors.pop().unwrap_or_default();
            side.vectors
                .search(&v, depth, filter)
                .await
                .map_err(CoreError::VectorIndex)
        };
        let (text, vector) = futures::try_join!(text, vector)?;
        // Only a hybrid search weighs one list against the other; a single list keeps its order.
        // Translated words reach the library as its own language's would.
        let fusion = if request.mode == SearchMode::Hybrid && translated.is_none() {
            self.fusion_for_question(query)
        } else {
            self.fusion()
        };
        let mut fused = fuse(&text, &vector, &fusion);
        // A single retriever keeps its own order and score.
        match request.mode {
            SearchMode::Bm25 => {
                for f in &mut fused {
                    f.score = FusedScore(f.bm25.map_or(0.0, |r| r.score.0));
                }
            }
            SearchMode::Vector => {
                for f in &mut fused {
                    f.score = FusedScore(f.vector.map_or(0.0, |r| 1.0 - r.score.0));
                }
            }
            SearchMode::Hybrid => {}
        }
        Ok(fused)
    }

    /// Searches a question asked in a language the library is not written in through a
    /// dictionary into the library's language ([`crate::retrieval::translation`]): each word with its
    /// translations, and the two languages. `None` searches the
    /// question as written: no dictionary covers it, or the dictionary cannot be read (which
    /// must not stop a search).
    async fn translated_words(
        &self,
        question: &str,
    ) -> Option<(Vec<Vec<String>>, &'static str, String)> {
        let lexicon = self.lexicon.as_deref()?;
        let (from, to) = {
            let languages = self
                .languages
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            translation::translation_for(question, &languages, lexicon)?
        };
        let words = translation::question_words(question);
        match lexicon
            .translate(from, &to, &words, translation::PER_WORD)
            .await
        {
            Ok(translations) => {
                tracing::debug!(from, to = %to, words = words.len(), "question translated");
                Some((translation::alternatives(words, translations), from, to))
            }
            Err(e) => {
                tracing::warn!(from, to = %to, error = %e, "searching the question untranslated");
                None
            }
        }
    }

    /// Translates questions through `lexicon` where the library is written in another
    /// language than the question.
    pub fn with_lexicon(mut self, lexicon: std::sync::Arc<dyn Lexicon>) -> Self {
        self.lexicon = Some(lexicon);
        self
    }

    async fn resolve(&self, fused: Vec<Fused>, limit: usize) -> Result<Vec<SearchHit>, CoreError> {
        let top: Vec<Fused> = fused.into_iter().take(limit).collect();
        let ids: Vec<_> = top.iter().map(|f| f.id.clone()).collect();
        let catalog = &self.ports.catalog;
        let mut chunks: HashMap<_, _> = catalog
            .chunks(&ids)
            .await
            .map_err(CoreError::Catalog)?
            .into_iter()
            .map(|c| (c.id.clone(), c))
            .collect();
        let mut documents: HashMap<DocumentId, (String, Option<String>)> = HashMap::new();
        let mut hits = Vec::with_capacity(top.len());
        for f in top {
            // An index can briefly hold a chunk the catalog has just replaced: skip it.
            let Some(chunk) = chunks.remove(&f.id) else {
                continue;
            };
            if let std::collections::hash_map::Entry::Vacant(slot) =
                documents.entry(chunk.document_id)
            {
                let record = catalog
                    .document(chunk.document_id)
                    .await
                    .map_err(CoreError::Catalog)?;
                let Some(record) = record else { continue };
                slot.insert((record.path, record.title));
            }
            let (path, title) = documents
                .get(&chunk.document_id)
                .cloned()
                .unwrap_or_default();
            hits.push(SearchHit {
                chunk,
                document_path: path,
                document_title: title,
                score: f.score,
                bm25: f.bm25.map(|r| Ranked {
                    rank: r.rank,
                    score: r.score,
                }),
                vector: f.vector,
            });
        }
        Ok(hits)
    }
}
