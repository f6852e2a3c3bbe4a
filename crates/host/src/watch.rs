//! File-system changes under watched folders, gathered into bursts (debounced), for the CLI's
//! `cairn watch` and the desktop app alike.

use anyhow::Context;
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

/// Watches folders (recursively) for changes to files outside Cairn's data folder.
pub struct Changes {
    _watcher: RecommendedWatcher,
    rx: UnboundedReceiver<()>,
    /// Folders that could not be watched, with the reason.
    pub unwatched: Vec<(PathBuf, String)>,
}

impl Changes {
    /// Starts watching. Watch first, then sync: a change made during the sync is not missed.
    pub fn watch(folders: &[PathBuf], data_dir: &Path) -> anyhow::Result<Self> {
        let (tx, rx) = unbounded_channel();
        let data_dir = std::path::absolute(data_dir)?;
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if event.is_ok_and(|e| relevant(&e, &data_dir)) {
                    // The receiver is gone only when watching stopped.
                    let _ = tx.send(());
                }
            })
            .context("cannot watch for file changes")?;
        let mut unwatched = Vec::new();
        for folder in folders {
            if let Err(e) = watcher.watch(folder, RecursiveMode::Recursive) {
                unwatched.push((folder.clone(), e.to_string()));
            }
        }
        Ok(Changes {
            _watcher: watcher,
            rx,
            unwatched,
        })
    }

    /// Waits for a change, then for the burst it starts to end: `quiet` without changes, at
    /// most 10 × `quiet`. `false` when watching has stopped.
    pub async fn next_burst(&mut self, quiet: Duration) -> bool {
        if self.rx.recv().await.is_none() {
            return false;
        }
        let deadline = Instant::now() + quiet * 10;
        while Instant::now() < deadline {
            match tokio::time::timeout(quiet, self.rx.recv()).await {
                Ok(Some(())) => continue,
                _ => break,
            }
        }
        true
    }
}

/// Changes to files, not reads, and not Cairn's own writes to its data folder.
fn relevant(event: &notify::Event, data_dir: &Path) -> bool {
    !matches!(event.kind, EventKind::Access(_))
        && event.paths.iter().any(|p| !p.starts_with(data_dir))
}
