//! Keeping folders in step with the catalog: new and changed files are ingested, files that
//! moved are renamed (nothing extracted or embedded again) and deleted files are removed.

use super::pipeline::Job;
use super::Engine;
use crate::document::{DocumentRecord, DocumentState};
use crate::error::CoreError;
use crate::ids::DocumentId;
use crate::ingest::{IngestEvent, IngestObserver, IngestReport, Outcome};
use crate::ports::{FileInfo, Scanned};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

impl Engine {
    /// Brings the catalog in line with what is under `roots` now. A document is removed only
    /// when the folder that held it was read in full and its file is not there: a root,
    /// subfolder or link target that cannot be read (an unplugged drive, say) removes nothing
    /// under it, and is reported (`IngestEvent::FolderUnreadable`).
    pub async fn sync(
        &self,
        roots: &[PathBuf],
        observer: &dyn IngestObserver,
    ) -> Result<IngestReport, CoreError> {
        let write = self.begin_write("a folder sync").await;
        write.finish(self.sync_locked(roots, observer).await)
    }

    async fn sync_locked(
        &self,
        roots: &[PathBuf],
        observer: &dyn IngestObserver,
    ) -> Result<IngestReport, CoreError> {
        let roots: Vec<PathBuf> = roots
            .iter()
            .map(|r| std::path::absolute(r).unwrap_or_else(|_| r.clone()))
            .collect();
        let scanned = self.ports.extractor.scan(&roots).await;
        // A document may be taken for deleted only where its folder was read in full: under
        // an unreadable root, subfolder or dangling link (an unplugged drive), or when the
        // scan itself failed, everything is kept.
        let unseen: Vec<PathBuf> = scanned
            .iter()
            .filter_map(|s| match s {
                Scanned::Unreadable { path, .. } if roots.contains(path) => Some(path.clone()),
                Scanned::UnreadableFolder { path, .. } => Some(path.clone()),
                _ => None,
            })
            .collect();
        let present: HashSet<String> = scanned.iter().map(|s| key(path_of(s))).collect();
        let (jobs_found, unreadable_folders) =
            self.scanned_jobs(scanned, Job::File, observer).await?;
        let documents = self.documents().await?;
        let known: HashSet<&str> = documents.iter().map(|d| d.path.as_str()).collect();
        let mut gone: Vec<&DocumentRecord> = documents
            .iter()
            .filter(|d| {
                let path = Path::new(&d.path);
                !present.contains(&d.path)
                    && roots.iter().any(|r| path.starts_with(r))
                    && !unseen.iter().any(|u| path.starts_with(u))
            })
            .collect();
        let mut moves = Vec::new();
        let mut jobs = Vec::new();
        for job in jobs_found {
            match job {
                Job::File(info) if !known.contains(key(&info.path).as_str()) => {
                    match self.moved_from(&info, &mut gone).await {
                        Some(doc) => moves.push((doc.id, doc.path.clone(), info)),
                        None => jobs.push(Job::File(info)),
                    }
                }
                other => jobs.push(other),
            }
        }
        let mut settled = IngestReport::default();
        let moved: Vec<DocumentId> = moves.iter().map(|(id, _, _)| *id).collect();
        for (id, from, info) in moves {
            let to = key(&info.path);
            self.ports
                .catalog
                .rename_document(id, &to, info.mtime_ms)
                .await
                .map_err(CoreError::Catalog)?;
            tracing::info!(document = %id, "document moved");
            let outcome = Outcome::Renamed { from };
            settled.record(&to, &outcome);
            observer.on_event(&IngestEvent::File {
                path: to,
                bytes: info.size_bytes,
                outcome,
            });
        }
        // A moved document's file name is one of its names in the full-text index.
        self.readd(&moved).await?;
        for doc in gone {
            self.forget(doc.id).await?;
            tracing::info!(document = %doc.id, "document removed: its file is gone");
            settled.record(&doc.path, &Outcome::Removed);
            observer.on_event(&IngestEvent::File {
                path: doc.path.clone(),
                // Not part of what the scan found: no progress.
                bytes: 0,
                outcome: Outcome::Removed,
            });
        }
        let mut report = self.run(jobs, observer).await?;
        report.renamed = settled.renamed;
        report.removed = settled.removed;
        report.unreadable_folders = unreadable_folders;
        Ok(report)
    }

    /// The vanished document a new file is (same size, same bytes), taken out of `gone`.
    async fn moved_from<'a>(
        &self,
        info: &FileInfo,
        gone: &mut Vec<&'a DocumentRecord>,
    ) -> Option<&'a DocumentRecord> {
        let settled = |d: &DocumentRecord| {
            matches!(d.state, DocumentState::Indexed | DocumentState::Failed)
                && d.size_bytes == info.size_bytes
                && !d.content_hash.0.is_empty()
        };
        if !gone.iter().any(|d| settled(d)) {
            return None;
        }
        let hash = self.ports.extractor.fingerprint(&info.path).await.ok()?;
        let at = gone
            .iter()
            .position(|d| settled(d) && d.content_hash == hash)?;
        Some(gone.swap_remove(at))
    }

    /// Adds a folder to those kept in sync; returns its absolute path.
    pub async fn watch_folder(&self, folder: &Path) -> Result<PathBuf, CoreError> {
        let folder = std::path::absolute(folder).unwrap_or_else(|_| folder.to_path_buf());
        self.ports
            .catalog
            .add_watched_folder(&key(&folder))
            .await
            .map_err(CoreError::Catalog)?;
        Ok(folder)
    }

    /// Stops keeping a folder in sync (its documents stay); returns whether it was watched.
    pub async fn unwatch_folder(&self, folder: &Path) -> Result<bool, CoreError> {
        let folder = std::path::absolute(folder).unwrap_or_else(|_| folder.to_path_buf());
        self.ports
            .catalog
            .remove_watched_folder(&key(&folder))
            .await
            .map_err(CoreError::Catalog)
    }

    /// The folders kept in sync.
    pub async fn watched_folders(&self) -> Result<Vec<PathBuf>, CoreError> {
        Ok(self
            .ports
            .catalog
            .watched_folders()
            .await
            .map_err(CoreError::Catalog)?
            .into_iter()
            .map(PathBuf::from)
            .collect())
    }
}

fn path_of(s: &Scanned) -> &Path {
    match s {
        Scanned::File(info) => &info.path,
        Scanned::Unreadable { path, .. } | Scanned::UnreadableFolder { path, .. } => path,
    }
}

/// The catalog key of a file: its path as text.
pub(super) fn key(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}
