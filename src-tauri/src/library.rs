//! Ingestion in the background: files dropped or chosen, documents read again, and watched
//! folders kept in step. Progress goes to the window as `library` events.

use crate::error::AppError;
use crate::state::{AppState, Core};
use cairn_core::ingest::{IngestEvent, IngestReport};
use cairn_core::DocumentId;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tauri::{AppHandle, Emitter, Manager};
use ts_rs::TS;

/// The event name the window listens to.
pub const LIBRARY_EVENT: &str = "library";

/// What happens to the library, in order for each job.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum LibraryEvent {
    /// A job was accepted; it starts when the jobs before it finish.
    Queued {
        job: u32,
        roots: Vec<String>,
    },
    Progress {
        job: u32,
        event: IngestEvent,
    },
    Finished {
        job: u32,
        summary: JobSummary,
    },
    Failed {
        job: u32,
        error: AppError,
    },
    /// Documents were removed or the watched folders changed: read the library again.
    Changed,
}

/// How a job ended.
#[derive(Debug, Clone, Default, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct JobSummary {
    pub indexed: u32,
    pub unchanged: u32,
    pub failed: u32,
    pub renamed: u32,
    pub removed: u32,
    /// Chunks whose embeddings were computed (the rest were reused).
    pub embedded: u32,
    /// Files whose re-read failed; their indexed version stays.
    pub kept: u32,
    /// Folders that could not be read; nothing under them was removed.
    pub unreadable_folders: u32,
}

impl From<&IngestReport> for JobSummary {
    fn from(r: &IngestReport) -> Self {
        let n = |len: usize| u32::try_from(len).unwrap_or(u32::MAX);
        JobSummary {
            indexed: n(r.indexed.len()),
            unchanged: n(r.unchanged.len()),
            failed: n(r.failed.len()),
            renamed: n(r.renamed.len()),
            removed: n(r.removed.len()),
            embedded: u32::try_from(r.embedded).unwrap_or(u32::MAX),
            kept: n(r.kept.len()),
            unreadable_folders: n(r.unreadable_folders.len()),
        }
    }
}

/// What a job does.
pub enum Job {
    Ingest(Vec<PathBuf>),
    Reread(DocumentId),
    Sync(Vec<PathBuf>),
}

pub fn emit(app: &AppHandle, event: LibraryEvent) {
    if let Err(e) = app.emit(LIBRARY_EVENT, event) {
        tracing::warn!(error = %e, "cannot send a library event to the window");
    }
}

/// Runs a job in the background (jobs queue on the engine's single writer). Returns its id.
pub fn spawn(app: &AppHandle, job: Job) -> u32 {
    let state = app.state::<AppState>();
    let id = state.next_job();
    let roots = match &job {
        Job::Ingest(paths) | Job::Sync(paths) => {
            paths.iter().map(|p| p.display().to_string()).collect()
        }
        Job::Reread(doc) => vec![format!("document {doc}")],
    };
    emit(app, LibraryEvent::Queued { job: id, roots });
    state.writes.fetch_add(1, Ordering::SeqCst);
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        let result = match state.core().await {
            Ok(core) => run(&app, &core, id, job).await,
            Err(e) => Err(e),
        };
        state.writes.fetch_sub(1, Ordering::SeqCst);
        match result {
            Ok(summary) => emit(&app, LibraryEvent::Finished { job: id, summary }),
            Err(error) => emit(&app, LibraryEvent::Failed { job: id, error }),
        }
    });
    id
}

async fn run(app: &AppHandle, core: &Core, job: u32, what: Job) -> Result<JobSummary, AppError> {
    let observer = |event: &IngestEvent| {
        emit(
            app,
            LibraryEvent::Progress {
                job,
                event: event.clone(),
            },
        )
    };
    let report = match what {
        Job::Ingest(paths) => core.engine.ingest(&paths, &observer).await?,
        Job::Reread(id) => core.engine.reread(id, &observer).await?,
        Job::Sync(folders) => core.engine.sync(&folders, &observer).await?,
    };
    Ok(JobSummary::from(&report))
}

/// (Re)starts keeping the watched folders in step: one sync now, then one after every burst
/// of changes.
pub fn watch(app: &AppHandle, core: Arc<Core>) {
    let handle = app.clone();
    let task = tauri::async_runtime::spawn(async move {
        let folders = match core.engine.watched_folders().await {
            Ok(f) if !f.is_empty() => f,
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the watched folders");
                return;
            }
        };
        let mut changes = match cairn_host::watch::Changes::watch(&folders, &core.paths.data_dir) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch folders");
                return;
            }
        };
        for (folder, e) in &changes.unwatched {
            tracing::warn!(folder = %folder.display(), error = %e, "cannot watch a folder");
        }
        spawn(&handle, Job::Sync(folders.clone()));
        while changes.next_burst(Duration::from_secs(1)).await {
            spawn(&handle, Job::Sync(folders.clone()));
        }
    });
    app.state::<AppState>().replace_watcher(Some(task));
}
