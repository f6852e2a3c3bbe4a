//! File-system changes under watched folders, gathered into bursts (debounced), for the CLI's
//! `cairn watch` and the desktop app alike. A burst names the watched folders that changed,
//! so only those are scanned again; when events may have been lost (the kernel's queue
//! overflowed, or the watcher failed) it asks for a scan of every folder.

use anyhow::Context;
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

/// Watches folders (recursively) for changes to files outside Cairn's data folder.
pub struct Changes {
    _watcher: RecommendedWatcher,
    folders: Vec<PathBuf>,
    rx: UnboundedReceiver<Signal>,
    /// Folders that could not be watched, with the reason.
    pub unwatched: Vec<(PathBuf, String)>,
}

/// What one burst of changes asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Burst {
    /// The watched folders to scan again: those with a change under them, or all of them
    /// after a rescan request.
    pub folders: Vec<PathBuf>,
    /// Events may have been lost (queue overflow, a watcher error): every folder is scanned.
    pub rescan: bool,
    /// What the watcher reported as failing, in words.
    pub errors: Vec<String>,
}

/// One event, as the burst sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Signal {
    /// Something changed under this watched folder.
    Changed(PathBuf),
    /// Events may have been lost: scan everything.
    Rescan,
    /// The watcher failed (events may have been lost too).
    Failed(String),
}

impl Changes {
    /// Starts watching. Watch first, then sync: a change made during the sync is not missed.
    pub fn watch(folders: &[PathBuf], data_dir: &Path) -> anyhow::Result<Self> {
        let (tx, rx) = unbounded_channel();
        let data_dir = std::path::absolute(data_dir)?;
        let watched = folders.to_vec();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                for signal in signals(event, &watched, &data_dir) {
                    // The receiver is gone only when watching stopped.
                    let _ = tx.send(signal);
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
            folders: folders.to_vec(),
            rx,
            unwatched,
        })
    }

    /// Waits for a change, then for the burst it starts to end: `quiet` without changes, at
    /// most 10 × `quiet`. `None` when watching has stopped.
    pub async fn next_burst(&mut self, quiet: Duration) -> Option<Burst> {
        let mut signals = vec![self.rx.recv().await?];
        let deadline = Instant::now() + quiet * 10;
        while Instant::now() < deadline {
            match tokio::time::timeout(quiet, self.rx.recv()).await {
                Ok(Some(signal)) => signals.push(signal),
                _ => break,
            }
        }
        Some(burst(signals, &self.folders))
    }
}

/// Gathers a burst's signals into what to scan.
fn burst(signals: Vec<Signal>, folders: &[PathBuf]) -> Burst {
    let mut changed = BTreeSet::new();
    let mut out = Burst::default();
    for signal in signals {
        match signal {
            Signal::Changed(folder) => {
                changed.insert(folder);
            }
            Signal::Rescan => out.rescan = true,
            Signal::Failed(e) => {
                out.rescan = true;
                if !out.errors.contains(&e) {
                    out.errors.push(e);
                }
            }
        }
    }
    out.folders = if out.rescan {
        folders.to_vec()
    } else {
        folders
            .iter()
            .filter(|f| changed.contains(*f))
            .cloned()
            .collect()
    };
    out
}

/// What one event from the watcher means: changes under watched folders (not reads, not
/// Cairn's own data folder, not hidden or temporary files), a rescan, or a failure.
fn signals(
    event: notify::Result<notify::Event>,
    folders: &[PathBuf],
    data_dir: &Path,
) -> Vec<Signal> {
    let event = match event {
        Ok(event) => event,
        Err(e) => return vec![Signal::Failed(e.to_string())],
    };
    if event.need_rescan() {
        return vec![Signal::Rescan];
    }
    if matches!(event.kind, EventKind::Access(_)) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for path in &event.paths {
        if path.starts_with(data_dir) {
            continue;
        }
        // The innermost watched folder holding the path (folders may nest).
        let Some(folder) = folders
            .iter()
            .filter(|f| path.starts_with(f))
            .max_by_key(|f| f.as_os_str().len())
        else {
            continue;
        };
        let ignored = path
            .strip_prefix(folder)
            .map(|rest| rest.iter().any(cairn_extract::is_ignored))
            .unwrap_or(false);
        let signal = Signal::Changed(folder.clone());
        if !ignored && !out.contains(&signal) {
            out.push(signal);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, Flag, ModifyKind, RenameMode};

    fn event(kind: EventKind, paths: &[&str]) -> notify::Result<notify::Event> {
        let mut e = notify::Event::new(kind);
        for p in paths {
            e = e.add_path(PathBuf::from(p));
        }
        Ok(e)
    }

    fn folders() -> Vec<PathBuf> {
        vec![
            PathBuf::from("/home/a/Papers"),
            PathBuf::from("/mnt/usb/Scans"),
        ]
    }

    #[test]
    fn a_change_names_only_the_folder_it_happened_in() {
        let data = Path::new("/home/a/.local/share/cairn");
        let created = event(
            EventKind::Create(CreateKind::File),
            &["/home/a/Papers/2024/report.pdf"],
        );
        let signals = signals(created, &folders(), data);
        assert_eq!(
            signals,
            vec![Signal::Changed(PathBuf::from("/home/a/Papers"))]
        );
        let b = burst(signals, &folders());
        assert_eq!(b.folders, vec![PathBuf::from("/home/a/Papers")]);
        assert!(!b.rescan);
    }

    #[test]
    fn a_move_between_folders_names_both() {
        let moved = event(
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)),
            &["/home/a/Papers/x.pdf", "/mnt/usb/Scans/x.pdf"],
        );
        let b = burst(signals(moved, &folders(), Path::new("/data")), &folders());
        assert_eq!(b.folders, folders());
    }

    #[test]
    fn hidden_temporary_and_own_files_are_not_changes() {
        let data = Path::new("/home/a/Papers/.cairn-data");
        for path in [
            "/home/a/Papers/~$letter.docx",
            "/home/a/Papers/.notes.md.swp",
            "/home/a/Papers/draft.pdf.crdownload",
            "/home/a/Papers/.git/index",
            "/home/a/Papers/.cairn-data/catalog.sqlite",
        ] {
            let e = event(EventKind::Modify(ModifyKind::Any), &[path]);
            assert_eq!(signals(e, &folders(), data), vec![], "{path}");
        }
        // A download renamed to its final name is a change.
        let done = event(
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)),
            &["/home/a/Papers/r.pdf.part", "/home/a/Papers/r.pdf"],
        );
        assert_eq!(signals(done, &folders(), data).len(), 1);
    }

    #[test]
    fn an_overflow_or_a_watcher_error_rescans_every_folder_and_reports_the_error() {
        let overflow = Ok(notify::Event::new(EventKind::Other).set_flag(Flag::Rescan));
        let b = burst(signals(overflow, &folders(), Path::new("/d")), &folders());
        assert!(b.rescan);
        assert_eq!(b.folders, folders());
        let failed = Err(notify::Error::generic("inotify watch limit reached"));
        let b = burst(signals(failed, &folders(), Path::new("/d")), &folders());
        assert_eq!(b.folders, folders());
        assert_eq!(b.errors, vec!["inotify watch limit reached".to_string()]);
    }
}

#[cfg(test)]
mod real {
    use super::*;

    /// A real watcher on two folders: a file written in one names only that one.
    #[tokio::test]
    async fn a_file_written_in_one_watched_folder_names_only_that_folder() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        let folders = vec![a.path().to_path_buf(), b.path().to_path_buf()];
        let mut changes = Changes::watch(&folders, data.path()).unwrap();
        assert!(changes.unwatched.is_empty());
        std::fs::write(a.path().join("~$draft.docx"), "lock").unwrap();
        std::fs::write(a.path().join("minutes.md"), "# Minutes\n\nThe board met.").unwrap();
        let burst = tokio::time::timeout(
            Duration::from_secs(20),
            changes.next_burst(Duration::from_millis(200)),
        )
        .await
        .expect("a burst within 20 s")
        .expect("watching goes on");
        assert_eq!(burst.folders, vec![a.path().to_path_buf()], "{burst:?}");
        assert!(!burst.rescan && burst.errors.is_empty(), "{burst:?}");
    }
}
