//! Rebuilding both indexes from the catalog, the source of truth.

use super::Engine;
use crate::error::CoreError;
use crate::ids::DocumentId;
use crate::ports::{EmbedKind, VectorRows};
use std::collections::BTreeMap;

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
        let _writer = self.writer.lock().await;
        self.reindex_locked().await
    }

    pub(super) async fn reindex_locked(&self) -> Result<ReindexReport, CoreError> {
        let model = self.ports.embedder.model_id().to_string();
        self.ports
            .text
            .clear()
            .await
            .map_err(CoreError::TextIndex)?;
        self.ports
            .vectors
            .clear()
            .await
            .map_err(CoreError::VectorIndex)?;
        let mut report = ReindexReport::default();
        let mut documents = std::collections::BTreeSet::new();
        let mut after = None;
        loop {
            let page = self
                .ports
                .catalog
                .chunk_page(after.as_ref(), 2048, &model)
                .await
                .map_err(CoreError::Catalog)?;
            let Some((last, _)) = page.last() else { break };
            after = Some(last.id.clone());
            let mut by_doc: BTreeMap<DocumentId, Vec<_>> = BTreeMap::new();
            let mut missing = Vec::new();
            for (chunk, embedding) in page {
                if embedding.is_none() {
                    missing.push(chunk.clone());
                }
                by_doc
                    .entry(chunk.document_id)
                    .or_default()
                    .push((chunk, embedding));
            }
            let fresh = self.embed_missing(&missing).await?;
            report.embedded += fresh.len();
            self.ports
                .catalog
                .store_embeddings(&fresh, &model)
                .await
                .map_err(CoreError::Catalog)?;
            let fresh: std::collections::HashMap<_, _> = fresh.into_iter().collect();
            let mut rows: VectorRows = Vec::new();
            for (doc, items) in by_doc {
                documents.insert(doc);
                let chunks: Vec<_> = items.iter().map(|(c, _)| c.clone()).collect();
                report.chunks += chunks.len();
                // Chunks are paged by id, so a document may span pages: add, never replace.
                self.ports
                    .text
                    .add_chunks(&chunks)
                    .await
                    .map_err(CoreError::TextIndex)?;
                let vectors = items
                    .into_iter()
                    .map(|(c, e)| {
                        let e = e.or_else(|| fresh.get(&c.id).cloned()).unwrap_or_default();
                        (c.id, e)
                    })
                    .collect();
                rows.push((doc, vectors));
            }
            self.ports
                .vectors
                .add(rows)
                .await
                .map_err(CoreError::VectorIndex)?;
        }
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
        self.ports
            .vectors
            .optimize()
            .await
            .map_err(CoreError::VectorIndex)?;
        report.documents = ids.len();
        Ok(report)
    }

    pub(super) async fn embed_missing(
        &self,
        chunks: &[crate::Chunk],
    ) -> Result<Vec<(crate::ChunkId, Vec<f32>)>, CoreError> {
        let mut out = Vec::with_capacity(chunks.len());
        for batch in chunks.chunks(self.config.embed_batch.max(1)) {
            let texts = batch.iter().map(|c| c.embedding_text()).collect();
            let vectors = self
                .ports
                .embedder
                .embed(texts, EmbedKind::Passage)
                .await
                .map_err(CoreError::Embedder)?;
            out.extend(batch.iter().map(|c| c.id.clone()).zip(vectors));
        }
        Ok(out)
    }
}
