//! The catalog in memory: documents with their states, texts, chunks, embeddings by model,
//! settings and watched folders.

use super::lock;
use crate::chunk::Chunk;
use crate::document::{DocumentRecord, DocumentState, ExtractedDocument, Failure};
use crate::ids::{ChunkId, DocumentId};
use crate::ports::{Catalog, NewDocument, PortResult};
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

#[derive(Default)]
pub struct MemoryCatalog {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    last_id: i64,
    documents: BTreeMap<DocumentId, DocumentRecord>,
    texts: HashMap<DocumentId, ExtractedDocument>,
    chunks: BTreeMap<ChunkId, Chunk>,
    /// By chunk id and model id.
    embeddings: HashMap<(ChunkId, String), Vec<f32>>,
    settings: HashMap<String, String>,
    watched: BTreeSet<String>,
}

impl State {
    fn record(&self, record: &DocumentRecord) -> DocumentRecord {
        let chunk_count = self
            .chunks
            .values()
            .filter(|c| c.document_id == record.id)
            .count();
        let ocr_pages = self.texts.get(&record.id).map_or(0, |t| t.ocr_pages.len());
        DocumentRecord {
            chunk_count: u32::try_from(chunk_count).unwrap_or(u32::MAX),
            ocr_pages: u32::try_from(ocr_pages).unwrap_or(u32::MAX),
            ..record.clone()
        }
    }

    fn drop_contents(&mut self, id: DocumentId) {
        self.texts.remove(&id);
        self.chunks.retain(|_, c| c.document_id != id);
        let chunks = &self.chunks;
        self.embeddings
            .retain(|(chunk, _), _| chunks.contains_key(chunk));
    }

    fn with_embedding(&self, chunk: &Chunk, model_id: &str) -> (Chunk, Option<Vec<f32>>) {
        let key = (chunk.id.clone(), model_id.to_string());
        (chunk.clone(), self.embeddings.get(&key).cloned())
    }
}

#[async_trait]
impl Catalog for MemoryCatalog {
    async fn document_by_path(&self, path: &str) -> PortResult<Option<DocumentRecord>> {
        let state = lock(&self.state);
        Ok(state
            .documents
            .values()
            .find(|d| d.path == path)
            .map(|d| state.record(d)))
    }

    async fn document(&self, id: DocumentId) -> PortResult<Option<DocumentRecord>> {
        let state = lock(&self.state);
        Ok(state.documents.get(&id).map(|d| state.record(d)))
    }

    async fn documents(&self) -> PortResult<Vec<DocumentRecord>> {
        let state = lock(&self.state);
        let mut all: Vec<DocumentRecord> =
            state.documents.values().map(|d| state.record(d)).collect();
        all.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(all)
    }

    async fn begin_document(&self, doc: &NewDocument) -> PortResult<DocumentId> {
        let mut state = lock(&self.state);
        if let Some(existing) = state.documents.values_mut().find(|d| d.path == doc.path) {
            existing.content_hash = doc.content_hash.clone();
            existing.size_bytes = doc.size_bytes;
            existing.mtime_ms = doc.mtime_ms;
            existing.state = DocumentState::Queued;
            existing.failure = None;
            return Ok(existing.id);
        }
        state.last_id += 1;
        let id = DocumentId(state.last_id);
        state.documents.insert(
            id,
            DocumentRecord {
                id,
                path: doc.path.clone(),
                kind: None,
                title: None,
                content_hash: doc.content_hash.clone(),
                size_bytes: doc.size_bytes,
                mtime_ms: doc.mtime_ms,
                state: DocumentState::Queued,
                failure: None,
                page_count: 0,
                chunk_count: 0,
                ocr_pages: 0,
            },
        );
        Ok(id)
    }

    async fn touch_document(&self, id: DocumentId, mtime_ms: i64) -> PortResult<()> {
        if let Some(d) = lock(&self.state).documents.get_mut(&id) {
            d.mtime_ms = mtime_ms;
            if d.state == DocumentState::Indexed {
                d.failure = None;
            }
        }
        Ok(())
    }

    async fn store_extracted(
        &self,
        id: DocumentId,
        doc: &ExtractedDocument,
        chunks: &[Chunk],
        embeddings: &[Vec<f32>],
        model_id: &str,
    ) -> PortResult<()> {
        let mut state = lock(&self.state);
        state.drop_contents(id);
        if let Some(d) = state.documents.get_mut(&id) {
            d.state = DocumentState::Extracted;
            d.kind = Some(doc.kind);
            d.title = doc.title.clone();
            d.page_count = doc.page_count();
        }
        state.texts.insert(id, doc.clone());
        for chunk in chunks {
            state.chunks.insert(chunk.id.clone(), chunk.clone());
        }
        for (chunk, vector) in chunks.iter().zip(embeddings) {
            state
                .embeddings
                .insert((chunk.id.clone(), model_id.to_string()), vector.clone());
        }
        Ok(())
    }

    async fn mark_indexed(&self, ids: &[DocumentId]) -> PortResult<()> {
        let mut state = lock(&self.state);
        for id in ids {
            if let Some(d) = state.documents.get_mut(id) {
                if d.state == DocumentState::Extracted {
                    d.state = DocumentState::Indexed;
                }
            }
        }
        Ok(())
    }

    async fn mark_failed(&self, id: DocumentId, failure: &Failure) -> PortResult<()> {
        let mut state = lock(&self.state);
        state.drop_contents(id);
        if let Some(d) = state.documents.get_mut(&id) {
            d.state = DocumentState::Failed;
            d.failure = Some(failure.clone());
            d.page_count = 0;
        }
        Ok(())
    }

    async fn keep_indexed(
        &self,
        id: DocumentId,
        previous: &DocumentRecord,
        failure: &Failure,
    ) -> PortResult<()> {
        if let Some(d) = lock(&self.state).documents.get_mut(&id) {
            d.state = DocumentState::Indexed;
            d.content_hash = previous.content_hash.clone();
            d.size_bytes = previous.size_bytes;
            d.mtime_ms = previous.mtime_ms;
            d.failure = Some(failure.clone());
        }
        Ok(())
    }

    async fn remove_document(&self, id: DocumentId) -> PortResult<()> {
        let mut state = lock(&self.state);
        state.drop_contents(id);
        state.documents.remove(&id);
        Ok(())
    }

    async fn embeddings(
        &self,
        ids: &[ChunkId],
        model_id: &str,
    ) -> PortResult<HashMap<ChunkId, Vec<f32>>> {
        let state = lock(&self.state);
        Ok(ids
            .iter()
            .filter_map(|id| {
                let key = (id.clone(), model_id.to_string());
                state.embeddings.get(&key).map(|v| (id.clone(), v.clone()))
            })
            .collect())
    }

    async fn chunks(&self, ids: &[ChunkId]) -> PortResult<Vec<Chunk>> {
        let state = lock(&self.state);
        Ok(ids
            .iter()
            .filter_map(|id| state.chunks.get(id).cloned())
            .collect())
    }

    async fn extracted(&self, id: DocumentId) -> PortResult<Option<ExtractedDocument>> {
        Ok(lock(&self.state).texts.get(&id).cloned())
    }

    async fn chunk_page(
        &self,
        after: Option<&ChunkId>,
        limit: usize,
        model_id: &str,
    ) -> PortResult<Vec<(Chunk, Option<Vec<f32>>)>> {
        let state = lock(&self.state);
        let live = |c: &Chunk| {
            state.documents.get(&c.document_id).is_some_and(|d| {
                matches!(d.state, DocumentState::Extracted | DocumentState::Indexed)
            })
        };
        Ok(state
            .chunks
            .values()
            .filter(|c| after.is_none_or(|a| c.id > *a) && live(c))
            .take(limit)
            .map(|c| state.with_embedding(c, model_id))
            .collect())
    }

    async fn store_embeddings(
        &self,
        items: &[(ChunkId, Vec<f32>)],
        model_id: &str,
    ) -> PortResult<()> {
        let mut state = lock(&self.state);
        for (id, vector) in items {
            state
                .embeddings
                .insert((id.clone(), model_id.to_string()), vector.clone());
        }
        Ok(())
    }

    async fn document_chunks(
        &self,
        id: DocumentId,
        model_id: &str,
    ) -> PortResult<Vec<(Chunk, Option<Vec<f32>>)>> {
        let state = lock(&self.state);
        let mut chunks: Vec<&Chunk> = state
            .chunks
            .values()
            .filter(|c| c.document_id == id)
            .collect();
        chunks.sort_by_key(|c| c.ordinal);
        Ok(chunks
            .into_iter()
            .map(|c| state.with_embedding(c, model_id))
            .collect())
    }

    async fn chunk_ids(&self) -> PortResult<Vec<(ChunkId, DocumentId)>> {
        Ok(lock(&self.state)
            .chunks
            .values()
            .map(|c| (c.id.clone(), c.document_id))
            .collect())
    }

    async fn rename_document(&self, id: DocumentId, path: &str, mtime_ms: i64) -> PortResult<()> {
        if let Some(d) = lock(&self.state).documents.get_mut(&id) {
            d.path = path.to_string();
            d.mtime_ms = mtime_ms;
        }
        Ok(())
    }

    async fn check_integrity(&self) -> PortResult<Vec<String>> {
        Ok(Vec::new())
    }

    async fn checkpoint(&self) -> PortResult<()> {
        Ok(())
    }

    async fn setting(&self, key: &str) -> PortResult<Option<String>> {
        Ok(lock(&self.state).settings.get(key).cloned())
    }

    async fn set_setting(&self, key: &str, value: &str) -> PortResult<()> {
        lock(&self.state)
            .settings
            .insert(key.to_string(), value.to_string());
        Ok(())
    }

    async fn watched_folders(&self) -> PortResult<Vec<String>> {
        Ok(lock(&self.state).watched.iter().cloned().collect())
    }

    async fn add_watched_folder(&self, path: &str) -> PortResult<()> {
        lock(&self.state).watched.insert(path.to_string());
        Ok(())
    }

    async fn remove_watched_folder(&self, path: &str) -> PortResult<bool> {
        Ok(lock(&self.state).watched.remove(path))
    }
}
