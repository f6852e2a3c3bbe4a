//! The three stages of an ingest run, at once: extraction (worker processes, a few files
//! ahead on a bounded channel, each document then cut into chunks on a thread of its own),
//! embedding (every core, one document at a time) and committing
//! (catalog, then both indexes in batches bounded by size and by time, so that each document
//! is searchable within seconds of being embedded). A stage that stops early (an error)
//! closes its channels and the others wind down; the run returns the first error.

use super::pipeline::{Job, Prepared};
use super::Engine;
use crate::chunk::Chunk;
use crate::chunker::chunk_document;
use crate::document::ExtractedDocument;
use crate::error::CoreError;
use crate::ids::DocumentId;
use crate::ingest::{IngestEvent, IngestObserver, IngestReport, Outcome, Stage};
use crate::ports::{EmbedKind, Embedder};
use crate::retrieval::names::document_names;
use futures::channel::{mpsc, oneshot};
use futures::{SinkExt, StreamExt};
use std::sync::Arc;
use tracing::Instrument;

/// What extraction hands on to embedding: a settled file, or a document with its chunks.
enum Chunked {
    Done(String, Outcome),
    Ready(Box<ChunkedDocument>),
}

/// A document cut into chunks, sized by the tokenizer of the embedder `model`.
struct ChunkedDocument {
    path: String,
    id: DocumentId,
    doc: Arc<ExtractedDocument>,
    chunks: Vec<Chunk>,
    model: String,
}

/// What embedding hands on to the commit stage.
enum Embedded {
    Done(String, u64, Outcome),
    Ready(Box<EmbeddedDocument>),
}

/// A chunked document with a vector for every chunk.
struct EmbeddedDocument {
    path: String,
    bytes: u64,
    id: DocumentId,
    doc: Arc<ExtractedDocument>,
    chunks: Vec<Chunk>,
    vectors: Vec<Vec<f32>>,
    /// Chunks whose vector was computed (the others were stored already).
    embedded: usize,
}

/// A document's chunks with their vectors, ready for both indexes.
pub(super) struct ToIndex {
    pub id: DocumentId,
    /// What the document is called ([`crate::retrieval::names::document_names`]).
    pub names: String,
    pub chunks: Vec<Chunk>,
    pub vectors: Vec<Vec<f32>>,
}

/// Documents stored in the catalog whose chunks are not yet committed to the indexes.
#[derive(Default)]
struct Pending {
    docs: Vec<ToIndex>,
    events: Vec<(String, u64, Outcome)>,
    chunks: usize,
    /// When the oldest pending document was stored.
    since: Option<std::time::Instant>,
}

impl Engine {
    pub(super) async fn run(
        &self,
        jobs: Vec<Job>,
        observer: &dyn IngestObserver,
    ) -> Result<IngestReport, CoreError> {
        let (prepared_tx, prepared_rx) = mpsc::channel(self.config.extract_ahead.max(1));
        let (embedded_tx, embedded_rx) = mpsc::channel(1);
        // One task, three stages: while embedding waits for the model, extraction (in worker
        // processes) and committing go on. A stage that stops early (an error) closes its
        // channels, and the others wind down.
        let (extracted, embedded, committed) = futures::join!(
            self.extract_stage(jobs, prepared_tx, observer),
            self.embed_stage(prepared_rx, embedded_tx, observer),
            self.commit_stage(embedded_rx, observer),
        );
        let report = committed?;
        embedded?;
        extracted?;
        if !report.indexed.is_empty() {
            self.side()
                .vectors
                .optimize()
                .await
                .map_err(CoreError::VectorIndex)?;
            // Every document is committed: a failed checkpoint costs only disk space.
            if let Err(e) = self.ports.catalog.checkpoint().await {
                tracing::warn!(error = %e, "the catalog's write-ahead log was not folded in");
            }
        }
        Ok(report)
    }

    /// Extracts files a few at a time (each in its own worker process) and cuts each into
    /// chunks, handing them on as they are ready.
    async fn extract_stage(
        &self,
        jobs: Vec<Job>,
        mut out: mpsc::Sender<(u64, Chunked)>,
        observer: &dyn IngestObserver,
    ) -> Result<(), CoreError> {
        let mut prepared = futures::stream::iter(jobs)
            .map(|job| async {
                let bytes = job.bytes();
                let prepared = self.prepare(job, observer).await?;
                Ok::<_, CoreError>((bytes, self.chunk(prepared).await))
            })
            .buffer_unordered(self.config.extract_workers.max(1));
        while let Some(next) = prepared.next().await {
            if out.send(next?).await.is_err() {
                // The later stages stopped; their error is the run's.
                return Ok(());
            }
        }
        Ok(())
    }

    /// Cuts an extracted document into chunks on a thread of its own: a long document is cut
    /// while the embedder works on the one before it, and the stages that share this task
    /// go on meanwhile.
    async fn chunk(&self, prepared: Prepared) -> Chunked {
        let (path, id, doc) = match prepared {
            Prepared::Done(path, outcome) => return Chunked::Done(path, outcome),
            Prepared::Ready(path, id, doc) => (path, id, Arc::new(doc)),
        };
        let embedder = self.side().embedder;
        let model = embedder.model_id().to_string();
        let config = self.config.chunker;
        let (tx, rx) = oneshot::channel();
        let (cut, counter) = (Arc::clone(&doc), Arc::clone(&embedder));
        let spawned = std::thread::Builder::new()
            .name("cairn-chunk".into())
            .spawn(move || {
                let _ = tx.send(chunk_document(id, &cut, counter.as_ref(), &config));
            });
        let chunks = match (spawned, rx.await) {
            (Ok(_), Ok(chunks)) => chunks,
            // No thread to be had: cut here.
            _ => chunk_document(id, &doc, embedder.as_ref(), &config),
        };
        Chunked::Ready(Box::new(ChunkedDocument {
            path,
            id,
            doc,
            chunks,
            model,
        }))
    }

    /// Embeds the chunks of each document that have no stored vector.
    async fn embed_stage(
        &self,
        mut input: mpsc::Receiver<(u64, Chunked)>,
        mut out: mpsc::Sender<Embedded>,
        observer: &dyn IngestObserver,
    ) -> Result<(), CoreError> {
        while let Some((bytes, chunked)) = input.next().await {
            let next = match chunked {
                Chunked::Done(path, outcome) => Embedded::Done(path, bytes, outcome),
                Chunked::Ready(document) => {
                    observer.on_event(&IngestEvent::Stage {
                        path: document.path.clone(),
                        stage: Stage::Embedding,
                    });
                    Embedded::Ready(Box::new(self.embed_document(*document, bytes).await?))
                }
            };
            if out.send(next).await.is_err() {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Reuses the vectors a document's unchanged chunks already have, and embeds the rest.
    async fn embed_document(
        &self,
        document: ChunkedDocument,
        bytes: u64,
    ) -> Result<EmbeddedDocument, CoreError> {
        let ChunkedDocument {
            path,
            id,
            doc,
            mut chunks,
            model,
        } = document;
        let side = self.side();
        let embedder: &Arc<dyn Embedder> = &side.embedder;
        // The embedder was switched since the document was cut: cut it for the new one.
        if embedder.model_id() != model {
            chunks = chunk_document(id, &doc, embedder.as_ref(), &self.config.chunker);
        }
        let ids: Vec<_> = chunks.iter().map(|c| c.id.clone()).collect();
        let mut known = self
            .ports
            .catalog
            .embeddings(&ids, embedder.model_id())
            .await
            .map_err(CoreError::Catalog)?;
        let missing: Vec<&Chunk> = chunks
            .iter()
            .filter(|c| !known.contains_key(&c.id))
            .collect();
        let span = tracing::debug_span!("ingest.embed", document = %id, chunks = missing.len());
        for batch in missing.chunks(self.config.embed_batch.max(1)) {
            let texts = batch.iter().map(|c| c.embedding_text()).collect();
            let vectors = embedder
                .embed(texts, EmbedKind::Passage)
                .instrument(span.clone())
                .await
                .map_err(CoreError::Embedder)?;
            for (chunk, vector) in batch.iter().zip(vectors) {
                known.insert(chunk.id.clone(), vector);
            }
        }
        let embedded = missing.len();
        let vectors = chunks
            .iter()
            .map(|c| known.remove(&c.id).unwrap_or_default())
            .collect();
        Ok(EmbeddedDocument {
            path,
            bytes,
            id,
            doc,
            chunks,
            vectors,
            embedded,
        })
    }

    /// Stores each embedded document in the catalog and commits them to both indexes in
    /// batches: when `commit_chunks` are waiting, or `commit_interval` after the oldest was
    /// stored, or at the end. Reports each file as it is settled.
    async fn commit_stage(
        &self,
        mut input: mpsc::Receiver<Embedded>,
        observer: &dyn IngestObserver,
    ) -> Result<IngestReport, CoreError> {
        let mut report = IngestReport::default();
        let mut pending = Pending::default();
        loop {
            let next = match pending.since {
                None => input.next().await,
                Some(since) => {
                    let due = self.config.commit_interval.saturating_sub(since.elapsed());
                    let timer = futures_timer::Delay::new(due);
                    match futures::future::select(input.next(), timer).await {
                        futures::future::Either::Left((next, _)) => next,
                        futures::future::Either::Right(((), _)) => {
                            self.flush(&mut pending, &mut report, observer).await?;
                            continue;
                        }
                    }
                }
            };
            let Some(next) = next else { break };
            match next {
                Embedded::Done(path, bytes, outcome) => {
                    report.record(&path, &outcome);
                    observer.on_event(&IngestEvent::File {
                        path,
                        bytes,
                        outcome,
                    });
                }
                Embedded::Ready(d) => {
                    let d = *d;
                    let model = self.side().embedder.model_id().to_string();
                    self.ports
                        .catalog
                        .store_extracted(d.id, &d.doc, &d.chunks, &d.vectors, &model)
                        .await
                        .map_err(CoreError::Catalog)?;
                    let outcome = Outcome::Indexed {
                        chunks: u32::try_from(d.chunks.len()).unwrap_or(u32::MAX),
                        pages: d.doc.page_count(),
                        embedded: u32::try_from(d.embedded).unwrap_or(u32::MAX),
                    };
                    pending.chunks += d.chunks.len();
                    pending.since.get_or_insert_with(std::time::Instant::now);
                    let names = document_names(&d.path, d.doc.title.as_deref(), &d.doc.text);
                    pending.docs.push(ToIndex {
                        id: d.id,
                        names,
                        chunks: d.chunks,
                        vectors: d.vectors,
                    });
                    pending.events.push((d.path, d.bytes, outcome));
                    if pending.chunks >= self.config.commit_chunks {
                        self.flush(&mut pending, &mut report, observer).await?;
                    }
                }
            }
        }
        self.flush(&mut pending, &mut report, observer).await?;
        Ok(report)
    }

    /// Commits pending documents to both indexes, then marks them indexed.
    async fn flush(
        &self,
        pending: &mut Pending,
        report: &mut IngestReport,
        observer: &dyn IngestObserver,
    ) -> Result<(), CoreError> {
        let docs = std::mem::take(&mut pending.docs);
        pending.chunks = 0;
        pending.since = None;
        if docs.is_empty() {
            return Ok(());
        }
        let ids = self.index_documents(docs).await?;
        observer.on_event(&IngestEvent::Committed {
            documents: ids.len(),
        });
        for (path, bytes, outcome) in pending.events.drain(..) {
            report.record(&path, &outcome);
            observer.on_event(&IngestEvent::File {
                path,
                bytes,
                outcome,
            });
        }
        Ok(())
    }
}

impl Engine {
    /// Writes documents' chunks and vectors to both indexes (replacing what they held of
    /// them), then marks the documents indexed in the catalog.
    pub(super) async fn index_documents(
        &self,
        docs: Vec<ToIndex>,
    ) -> Result<Vec<DocumentId>, CoreError> {
        let text = &self.ports.text;
        for doc in &docs {
            text.replace_document(doc.id, &doc.names, &doc.chunks)
                .await
                .map_err(CoreError::TextIndex)?;
        }
        text.commit().await.map_err(CoreError::TextIndex)?;
        let ids: Vec<DocumentId> = docs.iter().map(|d| d.id).collect();
        let rows = docs
            .into_iter()
            .map(|d| {
                let ids = d.chunks.into_iter().map(|c| c.id);
                (d.id, ids.zip(d.vectors).collect())
            })
            .collect();
        self.side()
            .vectors
            .replace_documents(rows)
            .await
            .map_err(CoreError::VectorIndex)?;
        self.ports
            .catalog
            .mark_indexed(&ids)
            .await
            .map_err(CoreError::Catalog)?;
        Ok(ids)
    }
}
