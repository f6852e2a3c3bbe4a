//! Keeping the watched folders in step, the same way for both front ends: a sync of every
//! watched folder first, then one of the folders each burst of changes touched (all of them
//! after an overflow or a watcher failure), and the problems on the way. What a front end does
//! with a sync (run it now, or queue it as a job) and how it shows a problem is its own.

use crate::{HostError, HostResult};
use cairn_watch::Changes;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// A folder cannot be watched (`Some`), or the watcher failed and every folder is scanned
    /// again (`None`).
    Problem {
        folder: Option<PathBuf>,
        message: String,
    },
    /// These folders changed: sync them.
    Sync(Vec<PathBuf>),
}

pub struct Watching {
    changes: Changes,
    ready: VecDeque<WatchEvent>,
}

impl Watching {
    /// Starts watching `folders`. The first events are the folders that cannot be watched,
    /// then a sync of them all.
    pub fn start(folders: &[PathBuf], data_dir: &Path) -> HostResult<Watching> {
        let changes = Changes::watch(folders, data_dir).map_err(|e| HostError::Watch {
            message: format!("{e:#}"),
        })?;
        let mut ready: VecDeque<WatchEvent> = changes
            .unwatched
            .iter()
            .map(|(folder, message)| WatchEvent::Problem {
                folder: Some(folder.clone()),
                message: message.clone(),
            })
            .collect();
        ready.push_back(WatchEvent::Sync(folders.to_vec()));
        Ok(Watching { changes, ready })
    }

    /// The next thing to do: what is ready, else what the next burst of changes (after
    /// `quiet` without any) asks for. `None` once the watcher has stopped.
    pub async fn next(&mut self, quiet: Duration) -> Option<WatchEvent> {
        if let Some(event) = self.ready.pop_front() {
            return Some(event);
        }
        let burst = self.changes.next_burst(quiet).await?;
        self.ready
            .extend(burst.errors.into_iter().map(|message| WatchEvent::Problem {
                folder: None,
                message,
            }));
        self.ready.push_back(WatchEvent::Sync(burst.folders));
        self.ready.pop_front()
    }
}
