//! The one surface the CLI and the desktop app use: ingest, search, ask, documents, remove,
//! re-index.

mod ask;
mod doctor;
mod gate;
mod passage;
mod pipeline;
mod reindex;
mod retrieve;
mod stages;
mod switch;
mod sync;
mod tune;
mod write;

pub use ask::AnswerPorts;
pub use doctor::{HealthReport, IndexCheck, PendingDocument, RepairReport};
pub use passage::Passage;
pub use reindex::ReindexReport;
pub use switch::{SwitchProgress, SwitchReport, EMBEDDER_SETTING};
pub use tune::FUSION_SETTING;
pub use write::WriteJournal;

use crate::chunker::ChunkerConfig;
use crate::document::DocumentRecord;
use crate::error::CoreError;
use crate::ids::DocumentId;
use crate::ports::{Catalog, Embedder, Extractor, Lexicon, TextIndex, VectorIndex};
use crate::retrieval::calibration::GateCalibration;
use crate::retrieval::fusion::FusionConfig;
use crate::retrieval::language::LanguageMix;
use futures::lock::Mutex;
use std::sync::Arc;

/// The adapters the engine runs on.
#[derive(Clone)]
pub struct Ports {
    pub extractor: Arc<dyn Extractor>,
    pub catalog: Arc<dyn Catalog>,
    pub text: Arc<dyn TextIndex>,
    pub vectors: Arc<dyn VectorIndex>,
    pub embedder: Arc<dyn Embedder>,
}

/// Tunables of the engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub chunker: ChunkerConfig,
    pub fusion: FusionConfig,
    /// Texts per embedder call.
    pub embed_batch: usize,
    /// Chunks gathered before both indexes are committed.
    pub commit_chunks: usize,
    /// Longest a stored document waits for both indexes to commit it.
    pub commit_interval: std::time::Duration,
    /// Extracted files waiting to be embedded, at most.
    pub extract_ahead: usize,
    /// Files extracted at once (each in its own worker process).
    pub extract_workers: usize,
}

impl EngineConfig {
    pub fn for_embedder(embedder: &dyn Embedder) -> Self {
        EngineConfig {
            chunker: ChunkerConfig::for_embedder(embedder.max_tokens()),
            fusion: FusionConfig::default(),
            embed_batch: 32,
            commit_chunks: 2048,
            commit_interval: std::time::Duration::from_secs(2),
            extract_ahead: 4,
            extract_workers: 2,
        }
    }
}

/// The embedder and the vector table searched with it: swapped as one when the library
/// changes embedders, so that a query is never embedded by one model and matched against the
/// vectors of another.
#[derive(Clone)]
pub struct VectorSide {
    pub embedder: Arc<dyn Embedder>,
    pub vectors: Arc<dyn VectorIndex>,
}

impl VectorSide {
    /// Embeds questions as queries, `batch` to a call of the embedder, in order.
    async fn embed_queries(
        &self,
        texts: Vec<String>,
        batch: usize,
    ) -> Result<Vec<Vec<f32>>, CoreError> {
        let mut vectors = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(batch.max(1)) {
            vectors.extend(
                self.embedder
                    .embed(chunk.to_vec(), crate::ports::EmbedKind::Query)
                    .await
                    .map_err(CoreError::Embedder)?,
            );
        }
        Ok(vectors)
    }
}

/// Cairn's engine. Writes (ingest, remove, re-index) are serialised; searches run alongside.
pub struct Engine {
    ports: Ports,
    side: std::sync::RwLock<VectorSide>,
    /// What hybrid search fuses with: the config's until the library is tuned.
    fusion: std::sync::RwLock<FusionConfig>,
    /// The languages of the library's passages (from its tuning; empty until then), by which
    /// a question in another language leans on vectors.
    languages: std::sync::RwLock<LanguageMix>,
    /// The relevance gate's calibration, with the embedder it was made with (from the
    /// library's tuning, or made on the first question).
    gate: std::sync::RwLock<Option<(String, GateCalibration)>>,
    config: EngineConfig,
    writer: Mutex<()>,
    journal: Option<Arc<dyn WriteJournal>>,
    /// Dictionaries a question's words are translated through when it is asked in a
    /// language the library is not written in.
    lexicon: Option<Arc<dyn Lexicon>>,
}

impl Engine {
    pub fn new(ports: Ports, config: EngineConfig) -> Self {
        let side = VectorSide {
            embedder: ports.embedder.clone(),
            vectors: ports.vectors.clone(),
        };
        Engine {
            ports,
            side: std::sync::RwLock::new(side),
            fusion: std::sync::RwLock::new(config.fusion),
            languages: std::sync::RwLock::new(LanguageMix::default()),
            gate: std::sync::RwLock::new(None),
            config,
            writer: Mutex::new(()),
            journal: None,
            lexicon: None,
        }
    }

    /// The embedder searches and writes use now, with its vector table.
    pub fn side(&self) -> VectorSide {
        self.side
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn set_side(&self, side: VectorSide) {
        *self
            .side
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = side;
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Every document in the catalog, with its state.
    pub async fn documents(&self) -> Result<Vec<DocumentRecord>, CoreError> {
        self.ports
            .catalog
            .documents()
            .await
            .map_err(CoreError::Catalog)
    }

    /// One document of the catalog.
    pub async fn document(&self, id: DocumentId) -> Result<DocumentRecord, CoreError> {
        self.ports
            .catalog
            .document(id)
            .await
            .map_err(CoreError::Catalog)?
            .ok_or(CoreError::DocumentNotFound(id))
    }

    /// What a stored document is called, for the full-text index.
    pub(super) async fn names_of(&self, id: DocumentId) -> Result<String, CoreError> {
        let record = self.document(id).await?;
        if !crate::retrieval::names::is_file(&record.path) {
            return Ok(String::new());
        }
        let extracted = self
            .ports
            .catalog
            .extracted(id)
            .await
            .map_err(CoreError::Catalog)?;
        let text = extracted.as_ref().map_or("", |d| d.text.as_str());
        Ok(crate::retrieval::names::document_names(
            &record.path,
            record.title.as_deref(),
            text,
        ))
    }

    /// Removes a document from both indexes, then from the catalog.
    pub async fn remove(&self, id: DocumentId) -> Result<DocumentRecord, CoreError> {
        let write = self.begin_write("removing a document").await;
        let result = async {
            let record = self.document(id).await?;
            self.forget(id).await?;
            tracing::info!(document = %id, "document removed");
            Ok(record)
        }
        .await;
        write.finish(result)
    }

    /// Takes a document out of both indexes, then out of the catalog.
    async fn forget(&self, id: DocumentId) -> Result<(), CoreError> {
        self.drop_from_indexes(id).await?;
        self.ports
            .catalog
            .remove_document(id)
            .await
            .map_err(CoreError::Catalog)
    }

    /// Takes a document's chunks out of both indexes, committed.
    async fn drop_from_indexes(&self, id: DocumentId) -> Result<(), CoreError> {
        let text = &self.ports.text;
        text.delete_document(id)
            .await
            .map_err(CoreError::TextIndex)?;
        text.commit().await.map_err(CoreError::TextIndex)?;
        self.side()
            .vectors
            .delete_document(id)
            .await
            .map_err(CoreError::VectorIndex)
    }

    /// Counts of the three stores, for status lines and consistency checks.
    pub async fn counts(&self) -> Result<StoreCounts, CoreError> {
        let documents = self.documents().await?;
        Ok(StoreCounts {
            documents: documents.len() as u64,
            catalog_chunks: documents.iter().map(|d| u64::from(d.chunk_count)).sum(),
            text_chunks: self
                .ports
                .text
                .count()
                .await
                .map_err(CoreError::TextIndex)?,
            vector_chunks: self
                .side()
                .vectors
                .count()
                .await
                .map_err(CoreError::VectorIndex)?,
        })
    }
}

/// How much each store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StoreCounts {
    pub documents: u64,
    pub catalog_chunks: u64,
    pub text_chunks: u64,
    pub vector_chunks: u64,
}

#[cfg(test)]
mod tests;
