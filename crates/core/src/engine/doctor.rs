//! Checking that the catalog and the two indexes agree, and bringing them back in line:
//! documents left half-done by a crash are finished, drifted ones re-added from the catalog
//! (the source of truth), stray rows dropped, and a damaged index rebuilt.

use super::pipeline::Job;
use super::stages::ToIndex;
use super::Engine;
use crate::document::{DocumentRecord, DocumentState, Failure};
use crate::error::{CoreError, ErrorCode};
use crate::ids::{ChunkId, ContentHash, DocumentId};
use crate::ingest::{IngestObserver, IngestReport};
use crate::ports::{PortResult, Scanned};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

/// How one index compares with the catalog's indexed documents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IndexCheck {
    /// Rows the index holds.
    pub rows: u64,
    /// Chunks of indexed documents the index lacks.
    pub missing: u64,
    /// Rows of no indexed chunk (stale versions, removed or failed documents).
    pub orphans: u64,
    /// Rows held more than once.
    pub duplicates: u64,
    /// Why the index could not be read or failed its checksums; empty when sound.
    pub problems: Vec<String>,
}

/// A document an interrupted run left before `indexed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingDocument {
    pub id: DocumentId,
    pub path: String,
    pub state: DocumentState,
}

/// What `cairn doctor` finds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HealthReport {
    pub documents: u64,
    pub indexed_documents: u64,
    pub failed_documents: u64,
    /// Chunks of indexed documents (what both indexes must hold).
    pub indexed_chunks: u64,
    /// Documents to finish (the next ingest or a repair does).
    pub pending: Vec<PendingDocument>,
    /// Problems SQLite finds in the catalog file; a catalog is never repaired from the indexes.
    pub catalog_problems: Vec<String>,
    pub text: IndexCheck,
    pub vectors: IndexCheck,
    /// Indexed documents whose rows in an index differ from the catalog.
    pub drifted: Vec<DocumentId>,
    /// Documents an index holds that the catalog does not hold as indexed or pending.
    pub strays: Vec<DocumentId>,
}

impl HealthReport {
    /// The three stores agree on every settled document and their files are sound.
    pub fn consistent(&self) -> bool {
        self.drifted.is_empty()
            && self.strays.is_empty()
            && self.catalog_problems.is_empty()
            && self.text.problems.is_empty()
            && self.vectors.problems.is_empty()
    }

    /// Consistent, with nothing left to finish.
    pub fn healthy(&self) -> bool {
        self.consistent() && self.pending.is_empty()
    }
}

/// What a repair did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RepairReport {
    /// The check the repair started from.
    pub before: HealthReport,
    /// Both indexes were rebuilt from the catalog (an index was damaged).
    pub rebuilt: bool,
    /// Documents re-added to the indexes from the catalog (drifted or left `extracted`).
    pub readded: usize,
    /// Stray documents dropped from the indexes.
    pub strays_removed: usize,
    /// Documents left `queued` whose file was read again.
    pub resumed: IngestReport,
    /// Documents left `queued` whose file is gone and that had no indexed version: removed.
    pub abandoned: Vec<String>,
    /// Documents left `queued` by an interrupted re-read whose file cannot be found now (an
    /// unplugged drive, say): their indexed version is kept, and read again later.
    pub kept: Vec<String>,
    pub after: HealthReport,
}

impl Engine {
    /// Compares the three stores (counts and ids) and checks their files.
    pub async fn check(&self) -> Result<HealthReport, CoreError> {
        let _writer = self.writer.lock().await;
        self.check_locked().await
    }

    async fn check_locked(&self) -> Result<HealthReport, CoreError> {
        let ports = &self.ports;
        let documents = self.documents().await?;
        let mut report = HealthReport {
            documents: documents.len() as u64,
            catalog_problems: ports
                .catalog
                .check_integrity()
                .await
                .map_err(CoreError::Catalog)?,
            ..HealthReport::default()
        };
        let states: HashMap<DocumentId, DocumentState> =
            documents.iter().map(|d| (d.id, d.state)).collect();
        for d in &documents {
            match d.state {
                DocumentState::Indexed => report.indexed_documents += 1,
                DocumentState::Failed => report.failed_documents += 1,
                state => report.pending.push(PendingDocument {
                    id: d.id,
                    path: d.path.clone(),
                    state,
                }),
            }
        }
        let expected: HashMap<ChunkId, DocumentId> = ports
            .catalog
            .chunk_ids()
            .await
            .map_err(CoreError::Catalog)?
            .into_iter()
            .filter(|(_, d)| states.get(d) == Some(&DocumentState::Indexed))
            .collect();
        report.indexed_chunks = expected.len() as u64;
        let mut drifted = BTreeSet::new();
        let mut strays = BTreeSet::new();
        // Rows of an index whose files fail their checksums are not worth comparing.
        let (text_problems, text_rows) = match ports.text.check_integrity().await {
            Ok(problems) if problems.is_empty() => (problems, ports.text.chunk_ids().await),
            Ok(problems) => (problems, Ok(Vec::new())),
            Err(e) => (Vec::new(), Err(e)),
        };
        report.text = compare(
            text_problems,
            text_rows,
            &expected,
            &states,
            &mut drifted,
            &mut strays,
        );
        let vector_rows = self.side().vectors.chunk_ids().await;
        report.vectors = compare(
            Vec::new(),
            vector_rows,
            &expected,
            &states,
            &mut drifted,
            &mut strays,
        );
        report.drifted = drifted.into_iter().collect();
        report.strays = strays.into_iter().collect();
        Ok(report)
    }

    /// Brings the stores back in line with the catalog and finishes interrupted documents.
    pub async fn repair(&self, observer: &dyn IngestObserver) -> Result<RepairReport, CoreError> {
        let write = self.begin_write("a repair").await;
        write.finish(self.repair_locked(observer).await)
    }

    async fn repair_locked(
        &self,
        observer: &dyn IngestObserver,
    ) -> Result<RepairReport, CoreError> {
        let before = self.check_locked().await?;
        let mut report = RepairReport::default();
        if !before.catalog_problems.is_empty() {
            // The source of truth itself is damaged: nothing is rewritten from it.
            report.after = before.clone();
            report.before = before;
            return Ok(report);
        }
        let mut readd: BTreeSet<DocumentId> = before
            .pending
            .iter()
            .filter(|p| p.state == DocumentState::Extracted)
            .map(|p| p.id)
            .collect();
        if !before.text.problems.is_empty() || !before.vectors.problems.is_empty() {
            self.reindex_locked().await?;
            report.rebuilt = true;
        } else {
            for id in &before.strays {
                self.drop_from_indexes(*id).await?;
            }
            report.strays_removed = before.strays.len();
            readd.extend(before.drifted.iter().copied());
        }
        report.readded = readd.len();
        self.readd(&readd.into_iter().collect::<Vec<_>>()).await?;
        let queued: Vec<_> = before
            .pending
            .iter()
            .filter(|p| p.state == DocumentState::Queued)
            .collect();
        let paths: Vec<PathBuf> = queued.iter().map(|p| PathBuf::from(&p.path)).collect();
        // Matched by path: the scan sorts its own way.
        let mut scanned: HashMap<String, Scanned> = self
            .ports
            .extractor
            .scan(&paths)
            .await
            .into_iter()
            .filter_map(|s| match &s {
                Scanned::File(info) => Some((info.path.to_string_lossy().into_owned(), s)),
                Scanned::Unreadable { .. } | Scanned::UnreadableFolder { .. } => None,
            })
            .collect();
        let mut jobs = Vec::new();
        for pending in queued {
            match scanned.remove(&pending.path) {
                Some(Scanned::File(info)) => jobs.push(Job::File(info)),
                _ if self.keep_previous_version(pending.id).await? => {
                    report.kept.push(pending.path.clone());
                }
                _ => {
                    self.forget(pending.id).await?;
                    report.abandoned.push(pending.path.clone());
                }
            }
        }
        report.resumed = self.run(jobs, observer).await?;
        report.after = self.check_locked().await?;
        report.before = before;
        Ok(report)
    }

    /// A document left `queued` by an interrupted re-read whose file cannot be read now goes
    /// back to its indexed version (its chunks are still those the indexes hold), marked so
    /// that the next ingest reads the file again. Returns false when it had no such version.
    async fn keep_previous_version(&self, id: DocumentId) -> Result<bool, CoreError> {
        let Some(record) = self
            .ports
            .catalog
            .document(id)
            .await
            .map_err(CoreError::Catalog)?
            .filter(|d| d.chunk_count > 0)
        else {
            return Ok(false);
        };
        // The record already holds the new file's fingerprint: forget it, so that the file is
        // read again whatever it looks like when it is back.
        let previous = DocumentRecord {
            content_hash: ContentHash(String::new()),
            mtime_ms: -1,
            ..record
        };
        let failure = Failure::new(
            ErrorCode::Unreadable,
            "the file could not be found to finish an interrupted re-read: the indexed version is kept and read again later",
        );
        self.ports
            .catalog
            .keep_indexed(id, &previous, &failure)
            .await
            .map_err(CoreError::Catalog)?;
        tracing::info!(document = %id, "interrupted re-read of a missing file: the indexed version is kept");
        Ok(true)
    }

    /// Puts documents' chunks from the catalog into both indexes (embedding any chunk that
    /// lacks a stored vector) and marks them indexed.
    pub(super) async fn readd(&self, ids: &[DocumentId]) -> Result<(), CoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let model = self.side().embedder.model_id().to_string();
        let mut docs = Vec::with_capacity(ids.len());
        for id in ids {
            let items = self
                .ports
                .catalog
                .document_chunks(*id, &model)
                .await
                .map_err(CoreError::Catalog)?;
            let (items, _) = self.complete_vectors(items, &self.side()).await?;
            let (chunks, vectors) = items.into_iter().unzip();
            docs.push(ToIndex {
                id: *id,
                names: self.names_of(*id).await?,
                chunks,
                vectors,
            });
        }
        self.index_documents(docs).await?;
        Ok(())
    }
}

/// Compares one index's rows with the chunks of indexed documents.
fn compare(
    mut problems: Vec<String>,
    rows: PortResult<Vec<(ChunkId, DocumentId)>>,
    expected: &HashMap<ChunkId, DocumentId>,
    states: &HashMap<DocumentId, DocumentState>,
    drifted: &mut BTreeSet<DocumentId>,
    strays: &mut BTreeSet<DocumentId>,
) -> IndexCheck {
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => {
            problems.push(e.to_string());
            return IndexCheck {
                problems,
                ..IndexCheck::default()
            };
        }
    };
    let mut check = IndexCheck {
        rows: rows.len() as u64,
        problems,
        ..IndexCheck::default()
    };
    let mut seen: HashMap<&ChunkId, u32> = HashMap::new();
    for (chunk, doc) in &rows {
        match states.get(doc) {
            None | Some(DocumentState::Failed) => {
                check.orphans += 1;
                strays.insert(*doc);
            }
            Some(DocumentState::Indexed) => {
                let count = seen.entry(chunk).or_insert(0);
                *count += 1;
                if expected.get(chunk) != Some(doc) {
                    check.orphans += 1;
                    drifted.insert(*doc);
                } else if *count > 1 {
                    check.duplicates += 1;
                    drifted.insert(*doc);
                }
            }
            // Documents in flight may hold an older version or part of the new one.
            Some(DocumentState::Queued | DocumentState::Extracted) => {}
        }
    }
    for (chunk, doc) in expected {
        if !seen.contains_key(chunk) {
            check.missing += 1;
            drifted.insert(*doc);
        }
    }
    check
}
