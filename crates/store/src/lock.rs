//! One Cairn process per data folder, and a record of whether the last one closed cleanly.
//!
//! `cairn.lock` holds an advisory lock (`flock`) for as long as the process has the folder
//! open; the operating system drops it when the process ends, however it ends, so a crash
//! never leaves a stale lock. `cairn.running` exists while a process has the folder open and
//! is removed when it closes it: finding it at start means the previous process was killed,
//! and the stores are checked (see `Engine::repair`). A write that failed part-way (an error,
//! not a crash) keeps the marker too, with a line saying which write, so that the next open
//! checks the stores just the same.

use crate::StoreError;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// The marker's line that names an interrupted write.
const INTERRUPTED: &str = "interrupted: ";

/// The lock of one data folder; released when dropped.
#[derive(Debug)]
pub struct DataLock {
    _file: File,
    marker: PathBuf,
    holder: String,
    unclean: bool,
    /// The write the previous process recorded as interrupted, if it did.
    interrupted_before: Option<String>,
    /// Whether closing may remove the marker: false after an unclean shutdown until the
    /// stores were checked and repaired, so a look without repair keeps the warning; false
    /// again after a write is interrupted.
    settled: AtomicBool,
    /// Serialises rewrites of the marker.
    marker_write: Mutex<()>,
}

impl DataLock {
    /// Takes the folder's lock, or says which process holds it.
    pub fn acquire(root: &Path) -> Result<Self, StoreError> {
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| StoreError::Io { path, source }
        };
        let path = root.join("cairn.lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(StoreError::Busy {
                    path: root.display().to_string(),
                    holder: holder.trim().to_string(),
                });
            }
            Err(TryLockError::Error(source)) => return Err(io(&path)(source)),
        }
        let holder = format!("process {}", std::process::id());
        file.set_len(0).map_err(io(&path))?;
        file.seek(SeekFrom::Start(0)).map_err(io(&path))?;
        file.write_all(holder.as_bytes()).map_err(io(&path))?;
        let marker = root.join("cairn.running");
        let unclean = marker.exists();
        let interrupted_before = std::fs::read_to_string(&marker).ok().and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix(INTERRUPTED))
                .map(str::to_string)
        });
        std::fs::write(&marker, &holder).map_err(io(&marker))?;
        Ok(DataLock {
            _file: file,
            marker,
            holder,
            unclean,
            interrupted_before,
            settled: AtomicBool::new(!unclean),
            marker_write: Mutex::new(()),
        })
    }

    /// Whether the previous process stopped without closing the folder.
    pub fn unclean_shutdown(&self) -> bool {
        self.unclean
    }

    /// The write the previous process recorded as interrupted (when it did not crash but a
    /// write failed part-way).
    pub fn interrupted_before(&self) -> Option<&str> {
        self.interrupted_before.as_deref()
    }

    /// The stores were repaired after an unclean shutdown: closing now is a clean close.
    pub fn mark_recovered(&self) {
        self.settled.store(true, Ordering::SeqCst);
    }

    /// Records a clean close now, for a process that exits without dropping the lock (a
    /// desktop app's event loop ends the process). Nothing may be written afterwards.
    pub fn close(&self) {
        if self.settled.load(Ordering::SeqCst) {
            // Already gone when closed twice.
            let _ = std::fs::remove_file(&self.marker);
        }
    }
}

impl cairn_core::engine::WriteJournal for DataLock {
    /// Keeps the marker at close, naming the write, so the next open checks the stores.
    fn write_interrupted(&self, what: &str) {
        let _serial = self
            .marker_write
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.settled.store(false, Ordering::SeqCst);
        let what = what.replace('\n', " ");
        if let Err(e) = std::fs::write(
            &self.marker,
            format!("{}\n{INTERRUPTED}{what}\n", self.holder),
        ) {
            // The marker itself still exists (it was written at open), so the next open
            // checks the stores even without the reason.
            tracing::warn!(error = %e, "cannot record an interrupted write in the marker");
        }
    }
}

impl Drop for DataLock {
    fn drop(&mut self) {
        // Closed cleanly; the file lock itself goes with the file handle.
        self.close();
    }
}
