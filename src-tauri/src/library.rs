//! Ingestion in the background: files dropped or chosen, documents read again, and watched
//! folders kept in step. Progress goes to the window as `library` events.

use crate::error::AppError;
use crate::state::{AppState, Core};
use cairn_core::ingest::{IngestEvent, IngestReport};
use cairn_core::DocumentId;
use cairn_core::ErrorCode;
use cairn_host::watching::{WatchEvent, Watching};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// A switch of embedders has re-embedded `done` of the library's `total` passages.
    Reembedding {
        job: u32,
        #[ts(type = "number")]
        done: u64,
        #[ts(type = "number")]
        total: u64,
    },
    /// A watched folder cannot be watched (`folder` set), or the watcher failed (then every
    /// watched folder is scanned again, since changes may have been missed).
    WatchProblem {
        folder: Option<String>,
        message: String,
    },
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
    /// Re-embed the library with the embedder in this folder, then search with it.
    SwitchEmbedder(PathBuf),
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
        Job::SwitchEmbedder(folder) => vec![format!("embedder {}", folder.display())],
    };
    emit(app, LibraryEvent::Queued { job: id, roots });
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        let _running = Running::new(&state.writes);
        let result = match state.core().await {
            Ok(core) => {
                let job_app = app.clone();
                contained(async move { run(&job_app, &core, id, job).await }).await
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(summary) => emit(&app, LibraryEvent::Finished { job: id, summary }),
            Err(error) => emit(&app, LibraryEvent::Failed { job: id, error }),
        }
    });
    id
}

/// Counts a write job for as long as it runs, however it ends.
struct Running<'a>(&'a AtomicUsize);

impl<'a> Running<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Running(count)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs a job as a task of its own, so that a panic in it ends the job as failed, with the
/// reason, instead of leaving it running (the engine's writer is released as the panic
/// unwinds, and the write is recorded as interrupted).
pub async fn contained<T: Send + 'static>(
    job: impl std::future::Future<Output = Result<T, AppError>> + Send + 'static,
) -> Result<T, AppError> {
    match tauri::async_runtime::spawn(job).await {
        Ok(result) => result,
        Err(e) => {
            let reason = match e {
                tauri::Error::JoinError(join) if join.is_panic() => {
                    panic_message(join.into_panic().as_ref())
                }
                other => other.to_string(),
            };
            tracing::error!(%reason, "a background job stopped unexpectedly");
            Err(AppError::new(
                ErrorCode::Internal,
                format!("the job stopped unexpectedly: {reason}"),
            ))
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
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
        Job::SwitchEmbedder(folder) => {
            let next = cairn_host::load_embedder(&folder).await?;
            let progress = |p: cairn_core::engine::SwitchProgress| {
                emit(
                    app,
                    LibraryEvent::Reembedding {
                        job,
                        done: p.done,
                        total: p.total,
                    },
                )
            };
            let report = core.switch_embedder(next, &progress).await?;
            crate::model::announce(app);
            tune(core).await;
            return Ok(JobSummary {
                embedded: u32::try_from(report.embedded).unwrap_or(u32::MAX),
                ..JobSummary::default()
            });
        }
    };
    tune(core).await;
    Ok(JobSummary::from(&report))
}

/// After a job has changed the library, search is tuned to it again if it changed enough
/// (the job ends after that, so the library view shows the new tuning); a failure only keeps
/// the fusion in force.
async fn tune(core: &Core) {
    if let Err(e) = core.engine.tune_fusion_if_due().await {
        tracing::warn!(error = %e, "search could not be tuned for this library");
    }
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
        let mut watching = match Watching::start(&folders, &core.paths.data_dir) {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch folders");
                emit(
                    &handle,
                    LibraryEvent::WatchProblem {
                        folder: None,
                        message: e.to_string(),
                    },
                );
                return;
            }
        };
        while let Some(event) = watching.next(Duration::from_secs(1)).await {
            match event {
                WatchEvent::Problem { folder, message } => {
                    tracing::warn!(folder = ?folder, error = %message, "a folder is not watched");
                    emit(
                        &handle,
                        LibraryEvent::WatchProblem {
                            folder: folder.map(|f| f.display().to_string()),
                            message,
                        },
                    );
                }
                WatchEvent::Sync(changed) => {
                    spawn(&handle, Job::Sync(changed));
                }
            }
        }
    });
    app.state::<AppState>().replace_watcher(Some(task));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_that_panics_ends_failed_with_the_reason_and_is_no_longer_counted() {
        let writes = AtomicUsize::new(0);
        let result: Result<(), AppError> = tauri::async_runtime::block_on(async {
            let _running = Running::new(&writes);
            assert_eq!(writes.load(Ordering::SeqCst), 1);
            contained(job_with_a_bug()).await
        });
        let error = result.expect_err("a panicking job must fail");
        assert_eq!(error.code, ErrorCode::Internal);
        assert!(
            error.message.contains("a bug in the job"),
            "{}",
            error.message
        );
        assert_eq!(
            writes.load(Ordering::SeqCst),
            0,
            "the job still counts as running"
        );
    }

    async fn job_with_a_bug() -> Result<(), AppError> {
        panic!("a bug in the job")
    }

    #[test]
    fn a_job_that_finishes_keeps_its_result() {
        let result = tauri::async_runtime::block_on(contained(async { Ok(7) }));
        assert_eq!(result, Ok(7));
    }
}
