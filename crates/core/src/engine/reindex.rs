//! Rebuilding both indexes from the catalog, the source of truth.

use super::Engine;
use crate::error::CoreError;
use crate::ids::DocumentId;
use crate::ports::{EmbedKind, VectorRows};
use crate::{Chunk, ChunkId};
use std::collections::{BTreeMap, HashMap};

/// What a re-index did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReindexReport {
    pub documents: usize,
    pub chunks: usize,
    /// Chunks with no stored embedding of the current model, embedded again.
    pub embedded: usize,
}

impl Engine {
    /// Clears the full-text index and the vector store and fills them again from the
    /// catalog's chunks and stored embeddings.
    pub async fn reindex(&self) -> Result<ReindexReport, CoreError> {
        let write = self.begin_write("a re-index").await;
        write.finish(self.reindex_locked().await)
    }

    pub(super) async fn reindex_locked(&self) -> Result<ReindexReport, CoreError> {
        let side = self.side();
        self.ports
            .text
            .clear()
            .await
            .map_err(CoreError::TextIndex)?;
        side.vectors.clear().await.map_err(CoreError::VectorIndex)?;
        let mut report = ReindexReport::default();
        let mut documents = std::collections::BTreeSet::new();
        let mut pages = CompletePages::new(self, &side);
        // A document's names, kept for the pages after its first.
        let mut names: HashMap<DocumentId, String> = HashMap::new();
        while let Some(by_doc) = pages.next().await? {
            let mut rows: VectorRows = Vec::new();
            for (doc, items) in by_doc {
                documents.insert(doc);
                let (chunks, vectors): (Vec<_>, Vec<_>) = items.into_iter().unzip();
                report.chunks += chunks.len();
                let doc_names = match names.get(&doc) {
                    Some(known) => known.clone(),
                    None => {
                        let found = self.names_of(doc).await?;
                        names.insert(doc, found.clone());
                        found
                    }
                };
                // Chunks are paged by id, so a document may span pages: add, never replace.
                self.ports
                    .text
                    .add_chunks(&doc_names, &chunks)
                    .await
                    .map_err(CoreError::TextIndex)?;
                rows.push((doc, chunks.into_iter().map(|c| c.id).zip(vectors).collect()));
            }
            side.vectors
                .add(rows)
                .await
                .map_err(CoreError::VectorIndex)?;
        }
        report.embedded = pages.embedded;
        self.ports
            .text
            .commit()
            .await
            .map_err(CoreError::TextIndex)?;
        let ids: Vec<DocumentId> = documents.iter().copied().collect();
        self.ports
            .catalog
            .mark_indexed(&ids)
            .await
            .map_err(CoreError::Catalog)?;
        side.vectors
            .optimize()
            .await
            .map_err(CoreError::VectorIndex)?;
        report.documents = ids.len();
        Ok(report)
    }

    /// Gives every chunk its vector of `side`'s model: the stored one, or one embedded now
    /// (and stored in the catalog). Returns the pairs and how many were embedded.
    pub(super) async fn complete_vectors(
        &self,
        items: Vec<(Chunk, Option<Vec<f32>>)>,
        side: &super::VectorSide,
    ) -> Result<(Vec<(Chunk, Vec<f32>)>, usize), CoreError> {
        let missing: Vec<&Chunk> = items
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(c, _)| c)
            .collect();
        let mut fresh: Vec<(ChunkId, Vec<f32>)> = Vec::with_capacity(missing.len());
        for batch in missing.chunks(self.config.embed_batch.max(1)) {
            let texts = batch.iter().map(|c| c.embedding_text()).collect();
            let vectors = side
                .embedder
                .embed(texts, EmbedKind::Passage)
                .await
                .map_err(CoreError::Embedder)?;
            fresh.extend(batch.iter().map(|c| c.id.clone()).zip(vectors));
        }
        let embedded = fresh.len();
        if embedded > 0 {
            self.ports
                .catalog
                .store_embeddings(&fresh, side.embedder.model_id())
                .await
                .map_err(CoreError::Catalog)?;
        }
        let mut fresh: HashMap<ChunkId, Vec<f32>> = fresh.into_iter().collect();
        let items = items
            .into_iter()
            .map(|(c, v)| {
                let v = v.or_else(|| fresh.remove(&c.id)).unwrap_or_default();
                (c, v)
            })
            .collect();
        Ok((items, embedded))
    }
}

/// The catalog's chunks a page at a time, each with a vector of one model (the stored one, or
/// one embedded and stored now), grouped by document.
pub(super) struct CompletePages<'a> {
    engine: &'a Engine,
    side: &'a super::VectorSide,
    after: Option<ChunkId>,
    /// Chunks embedded so far (the others had a stored vector).
    pub embedded: usize,
}

/// One page: each document's chunks with their vectors.
pub(super) type DocumentPage = BTreeMap<DocumentId, Vec<(Chunk, Vec<f32>)>>;

impl<'a> CompletePages<'a> {
    pub(super) fn new(engine: &'a Engine, side: &'a super::VectorSide) -> Self {
        CompletePages {
            engine,
            side,
            after: None,
            embedded: 0,
        }
    }

    /// The next page; `None` after the last.
    pub(super) async fn next(&mut self) -> Result<Option<DocumentPage>, CoreError> {
        let page = self
            .engine
            .ports
            .catalog
            .chunk_page(self.after.as_ref(), 2048, self.side.embedder.model_id())
            .await
            .map_err(CoreError::Catalog)?;
        let Some((last, _)) = page.last() else {
            return Ok(None);
        };
        self.after = Some(last.id.clone());
        let (page, embedded) = self.engine.complete_vectors(page, self.side).await?;
        self.embedded += embedded;
        let mut by_doc = DocumentPage::new();
        for (chunk, vector) in page {
            by_doc
                .entry(chunk.document_id)
                .or_default()
                .push((chunk, vector));
        }
        Ok(Some(by_doc))
    }
}
