//! One Cairn process per data folder, and a record of whether the last one closed cleanly.
//!
//! `cairn.lock` holds an advisory lock (`flock`) for as long as the process has the folder
//! open; the operating system drops it when the process ends, however it ends, so a crash
//! never leaves a stale lock. `cairn.running` exists while a process has the folder open and
//! is removed when it closes it: finding it at start means the previous process was killed,
//! and the stores are checked (see `Engine::repair`).

use crate::StoreError;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// The lock of one data folder; released when dropped.
#[derive(Debug)]
pub struct DataLock {
    _file: File,
    marker: PathBuf,
    unclean: bool,
    /// Whether closing may remove the marker: false after an unclean shutdown until the
    /// stores were checked and repaired, so a look without repair keeps the warning.
    settled: AtomicBool,
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
        std::fs::write(&marker, &holder).map_err(io(&marker))?;
        Ok(DataLock {
            _file: file,
            marker,
            unclean,
            settled: AtomicBool::new(!unclean),
        })
    }

    /// Whether the previous process stopped without closing the folder.
    pub fn unclean_shutdown(&self) -> bool {
        self.unclean
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

impl Drop for DataLock {
    fn drop(&mut self) {
        // Closed cleanly; the file lock itself goes with the file handle.
        self.close();
    }
}
