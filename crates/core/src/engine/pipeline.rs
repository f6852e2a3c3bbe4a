//! The ingest pipeline: scan → fingerprint → extract → chunk → embed → catalog → indexes.
//! This module turns paths into jobs and prepares each file (unchanged? extracted? failed?);
//! `stages` runs extraction, embedding and commits at once.
//!
//! A document is `indexed` in the catalog only after both indexes have committed its chunks,
//! so a run that stops anywhere leaves documents the next run picks up again.

use super::Engine;
use crate::document::{DocumentRecord, DocumentState, ExtractedDocument, Failure};
use crate::error::{CoreError, ErrorCode};
use crate::ids::{ContentHash, DocumentId};
use crate::ingest::{IngestEvent, IngestObserver, IngestReport, InlineDocument, Outcome, Stage};
use crate::ports::{ExtractProgress, FileInfo, NewDocument, Scanned};
use futures::{FutureExt, StreamExt};
use std::path::{Path, PathBuf};
use tracing::Instrument;

pub(super) enum Job {
    File(FileInfo),
    /// A file read again even when it looks unchanged.
    Reread(FileInfo),
    Inline(InlineDocument),
    Unreadable(PathBuf, Failure),
    /// A file refused before anything is stored: reported, never kept in the catalog.
    Refused(String, Failure),
}

/// What extraction hands on: a file settled without embedding (unchanged, failed), or a
/// document to embed.
impl Job {
    /// The size of what the job reads, for progress.
    pub(super) fn bytes(&self) -> u64 {
        match self {
            Job::File(info) | Job::Reread(info) => info.size_bytes,
            Job::Inline(inline) => inline.document.text.len() as u64,
            Job::Unreadable(..) | Job::Refused(..) => 0,
        }
    }
}

pub(super) enum Prepared {
    Done(String, Outcome),
    Ready(String, DocumentId, ExtractedDocument),
}

impl Engine {
    /// Ingests files and folders. Unchanged files are skipped, changed ones replaced, and
    /// every file that cannot be indexed ends `failed` with a reason; one bad file never
    /// stops the run. Errors are returned only when a store itself fails.
    pub async fn ingest(
        &self,
        roots: &[PathBuf],
        observer: &dyn IngestObserver,
    ) -> Result<IngestReport, CoreError> {
        let write = self.begin_write("an ingest").await;
        write.finish(self.scan_and_run(roots, Job::File, observer).await)
    }

    /// The jobs for what a scan found; folders that could not be read are reported (with the
    /// documents kept under them) and make no job.
    pub(super) async fn scanned_jobs(
        &self,
        scanned: Vec<Scanned>,
        file_job: fn(FileInfo) -> Job,
        observer: &dyn IngestObserver,
    ) -> Result<(Vec<Job>, Vec<(String, Failure)>), CoreError> {
        let files = scanned
            .iter()
            .filter(|s| !matches!(s, Scanned::UnreadableFolder { .. }))
            .count();
        let bytes = scanned
            .iter()
            .map(|s| match s {
                Scanned::File(info) => info.size_bytes,
                _ => 0,
            })
            .sum();
        observer.on_event(&IngestEvent::Scanned {
            total: files,
            bytes,
        });
        let mut jobs = Vec::with_capacity(files);
        let mut folders = Vec::new();
        let mut documents = None;
        for s in scanned {
            match s {
                Scanned::File(info) if info.path.to_str().is_none() => {
                    jobs.push(refuse_lossy_name(&info.path))
                }
                Scanned::Unreadable { path, .. } if path.to_str().is_none() => {
                    jobs.push(refuse_lossy_name(&path))
                }
                Scanned::File(info) => jobs.push(file_job(info)),
                Scanned::Unreadable { path, failure } => jobs.push(Job::Unreadable(path, failure)),
                Scanned::UnreadableFolder { path, failure } => {
                    if documents.is_none() {
                        documents = Some(self.documents().await?);
                    }
                    let kept = documents
                        .iter()
                        .flatten()
                        .filter(|d| Path::new(&d.path).starts_with(&path))
                        .count();
                    let path = path.to_string_lossy().into_owned();
                    tracing::warn!(folder = %path, code = %failure.code, kept, "folder unreadable: its documents are kept");
                    observer.on_event(&IngestEvent::FolderUnreadable {
                        path: path.clone(),
                        failure: failure.clone(),
                        kept,
                    });
                    folders.push((path, failure));
                }
            }
        }
        Ok((jobs, folders))
    }

    /// Ingests documents that are already text (records of a dataset, say).
    pub async fn ingest_documents(
        &self,
        documents: Vec<InlineDocument>,
        observer: &dyn IngestObserver,
    ) -> Result<IngestReport, CoreError> {
        let write = self.begin_write("an ingest").await;
        observer.on_event(&IngestEvent::Scanned {
            total: documents.len(),
            bytes: documents.iter().map(|d| d.document.text.len() as u64).sum(),
        });
        let jobs = documents.into_iter().map(Job::Inline).collect();
        write.finish(self.run(jobs, observer).await)
    }

    /// Reads one document's file again even when it looks unchanged: to retry a failure
    /// (an encrypted file since unlocked, a file that was busy) or to refresh its text.
    /// Embeddings of unchanged chunks are reused. The app's Retry and Re-index.
    pub async fn reread(
        &self,
        id: DocumentId,
        observer: &dyn IngestObserver,
    ) -> Result<IngestReport, CoreError> {
        let write = self.begin_write("a re-read").await;
        let result = async {
            let record = self.document(id).await?;
            let paths = [PathBuf::from(&record.path)];
            self.scan_and_run(&paths, Job::Reread, observer).await
        }
        .await;
        write.finish(result)
    }

    /// Reads again every document whose last read failed, whatever its file looks like:
    /// the failed ones and the indexed ones whose re-read failed (`cairn ingest
    /// --retry-failed`). The same path as [`Engine::reread`].
    pub async fn retry_failed(
        &self,
        observer: &dyn IngestObserver,
    ) -> Result<IngestReport, CoreError> {
        let write = self.begin_write("a retry of failed documents").await;
        let result = async {
            let paths = self
                .documents()
                .await?
                .into_iter()
                .filter(|d| d.state == DocumentState::Failed || d.failure.is_some())
                .map(|d| PathBuf::from(d.path))
                // Records of a dataset (`scheme:id` keys) have no file to read again.
                .filter(|p| p.is_absolute())
                .collect::<Vec<_>>();
            self.scan_and_run(&paths, Job::Reread, observer).await
        }
        .await;
        write.finish(result)
    }

    /// Scans `paths` and runs a `file_job` for each file found (the writer lock held).
    async fn scan_and_run(
        &self,
        paths: &[PathBuf],
        file_job: fn(FileInfo) -> Job,
        observer: &dyn IngestObserver,
    ) -> Result<IngestReport, CoreError> {
        let scanned = self.ports.extractor.scan(paths).await;
        let (jobs, folders) = self.scanned_jobs(scanned, file_job, observer).await?;
        let mut report = self.run(jobs, observer).await?;
        report.unreadable_folders = folders;
        Ok(report)
    }

    pub(super) async fn prepare(
        &self,
        job: Job,
        observer: &dyn IngestObserver,
    ) -> Result<Prepared, CoreError> {
        let catalog = &self.ports.catalog;
        match job {
            Job::Refused(key, failure) => Ok(Prepared::Done(key, Outcome::Failed(failure))),
            Job::Unreadable(path, failure) => {
                let key = path.to_string_lossy().into_owned();
                self.fail_new(&key, 0, 0, failure).await
            }
            Job::Inline(inline) => {
                let hash = inline_hash(&inline.document);
                let existing = catalog
                    .document_by_path(&inline.key)
                    .await
                    .map_err(CoreError::Catalog)?;
                if existing
                    .is_some_and(|d| d.content_hash == hash && d.state == DocumentState::Indexed)
                {
                    return Ok(Prepared::Done(inline.key, Outcome::Unchanged));
                }
                let new = NewDocument {
                    path: inline.key.clone(),
                    content_hash: hash,
                    size_bytes: inline.document.text.len() as u64,
                    mtime_ms: 0,
                };
                let id = catalog
                    .begin_document(&new)
                    .await
                    .map_err(CoreError::Catalog)?;
                self.check_text(inline.key, id, inline.document, None).await
            }
            Job::File(info) => self.prepare_file(info, false, observer).await,
            Job::Reread(info) => self.prepare_file(info, true, observer).await,
        }
    }

    async fn prepare_file(
        &self,
        info: FileInfo,
        force: bool,
        observer: &dyn IngestObserver,
    ) -> Result<Prepared, CoreError> {
        let catalog = &self.ports.catalog;
        let key = info.path.to_string_lossy().into_owned();
        let existing = catalog
            .document_by_path(&key)
            .await
            .map_err(CoreError::Catalog)?;
        if let Some(d) = existing.as_ref().filter(|_| !force) {
            if d.size_bytes == info.size_bytes && d.mtime_ms == info.mtime_ms {
                if let Some(outcome) = settled_outcome(d) {
                    return Ok(Prepared::Done(key, outcome));
                }
            }
        }
        let hash = match self.ports.extractor.fingerprint(&info.path).await {
            Ok(hash) => hash,
            Err(failure) => {
                return self
                    .fail_new(&key, info.size_bytes, info.mtime_ms, failure)
                    .await
            }
        };
        if let Some(d) = existing.as_ref().filter(|_| !force) {
            if d.content_hash == hash {
                if let Some(outcome) = settled_outcome(d) {
                    catalog
                        .touch_document(d.id, info.mtime_ms)
                        .await
                        .map_err(CoreError::Catalog)?;
                    return Ok(Prepared::Done(key, outcome));
                }
            }
        }
        let new = NewDocument {
            path: key.clone(),
            content_hash: hash,
            size_bytes: info.size_bytes,
            mtime_ms: info.mtime_ms,
        };
        let id = catalog
            .begin_document(&new)
            .await
            .map_err(CoreError::Catalog)?;
        observer.on_event(&IngestEvent::Stage {
            path: key.clone(),
            stage: Stage::Extracting,
        });
        let span = tracing::debug_span!("ingest.extract", document = %id);
        let (progress, reports) = futures::channel::mpsc::channel(4);
        let extracted = self
            .ports
            .extractor
            .extract(&info.path, progress)
            .instrument(span);
        match forward_progress(extracted, reports, &key, observer).await {
            Ok(doc) => self.check_text(key, id, doc, existing).await,
            Err(failure) => self.fail(key, id, existing, failure).await,
        }
    }

    async fn check_text(
        &self,
        key: String,
        id: DocumentId,
        doc: ExtractedDocument,
        previous: Option<DocumentRecord>,
    ) -> Result<Prepared, CoreError> {
        if doc.has_text() {
            return Ok(Prepared::Ready(key, id, doc));
        }
        let message = if doc.page_count() == 1 {
            "no text found on its page, not even by OCR".to_string()
        } else if doc.page_count() > 1 {
            format!(
                "no text found on any of its {} pages, not even by OCR",
                doc.page_count()
            )
        } else {
            "the document contains no text".to_string()
        };
        self.fail(
            key,
            id,
            previous,
            Failure::new(ErrorCode::EmptyDocument, message),
        )
        .await
    }

    async fn fail_new(
        &self,
        key: &str,
        size_bytes: u64,
        mtime_ms: i64,
        failure: Failure,
    ) -> Result<Prepared, CoreError> {
        let previous = self
            .ports
            .catalog
            .document_by_path(key)
            .await
            .map_err(CoreError::Catalog)?;
        let new = NewDocument {
            path: key.to_string(),
            content_hash: ContentHash(String::new()),
            size_bytes,
            mtime_ms,
        };
        let id = self
            .ports
            .catalog
            .begin_document(&new)
            .await
            .map_err(CoreError::Catalog)?;
        self.fail(key.to_string(), id, previous, failure).await
    }

    /// Records the failure. A document whose earlier version is indexed keeps that version
    /// searchable, with the failure beside it, and is tried again by the next ingest; any
    /// other ends `failed`, out of both indexes.
    async fn fail(
        &self,
        key: String,
        id: DocumentId,
        previous: Option<DocumentRecord>,
        failure: Failure,
    ) -> Result<Prepared, CoreError> {
        if let Some(previous) =
            previous.filter(|p| p.state == DocumentState::Indexed && p.chunk_count > 0)
        {
            self.ports
                .catalog
                .keep_indexed(id, &previous, &failure)
                .await
                .map_err(CoreError::Catalog)?;
            tracing::info!(document = %id, code = %failure.code, "re-read failed: the indexed version is kept");
            return Ok(Prepared::Done(key, Outcome::KeptPrevious(failure)));
        }
        // Only a document that was indexed before has anything to take out.
        let was_indexed = self
            .ports
            .catalog
            .document(id)
            .await
            .map_err(CoreError::Catalog)?
            .is_some_and(|d| d.chunk_count > 0);
        if was_indexed {
            self.drop_from_indexes(id).await?;
        }
        self.ports
            .catalog
            .mark_failed(id, &failure)
            .await
            .map_err(CoreError::Catalog)?;
        tracing::info!(document = %id, code = %failure.code, "document failed");
        Ok(Prepared::Done(key, Outcome::Failed(failure)))
    }
}

/// A file whose name is not UTF-8 cannot be kept under its own name in the catalog (its
/// paths are text): kept under a lossy one, it could never be opened, re-read or repaired
/// again, so it is refused with the reason and nothing is stored.
fn refuse_lossy_name(path: &Path) -> Job {
    let shown = path.to_string_lossy().into_owned();
    let failure = Failure::new(
        ErrorCode::UnsupportedFile,
        "the file name is not valid UTF-8 (written by a system with another encoding?): rename it to index it",
    );
    Job::Refused(shown, failure)
}

/// What a document whose file looks as when it was last read ends as without being read
/// again: indexed ones are unchanged, failures that lie in the file's bytes stay failed (and
/// say so); transient failures and unfinished documents give `None`: they are read again.
fn settled_outcome(d: &DocumentRecord) -> Option<Outcome> {
    match d.state {
        DocumentState::Indexed => Some(Outcome::Unchanged),
        DocumentState::Failed => d
            .failure
            .as_ref()
            .filter(|f| !f.code.is_transient())
            .map(|f| Outcome::Failed(f.clone())),
        DocumentState::Queued | DocumentState::Extracted => None,
    }
}

fn inline_hash(doc: &ExtractedDocument) -> ContentHash {
    let mut bytes = doc.title.clone().unwrap_or_default().into_bytes();
    bytes.push(0);
    bytes.extend_from_slice(doc.text.as_bytes());
    ContentHash::of_bytes(&bytes)
}

/// Awaits an extraction while passing its OCR progress on as [`IngestEvent::Recognising`].
async fn forward_progress<T>(
    extraction: impl std::future::Future<Output = T>,
    mut reports: futures::channel::mpsc::Receiver<ExtractProgress>,
    path: &str,
    observer: &dyn IngestObserver,
) -> T {
    let extraction = std::pin::pin!(extraction);
    let mut extraction = extraction.fuse();
    loop {
        futures::select_biased! {
            out = extraction => return out,
            report = reports.next() => match report {
                Some(ExtractProgress { page, pages }) => {
                    observer.on_event(&IngestEvent::Recognising {
                        path: path.to_string(),
                        page,
                        pages,
                    });
                }
                // The extractor dropped its sender: only the result is left to wait for.
                None => return extraction.await,
            },
        }
    }
}
