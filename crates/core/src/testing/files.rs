//! A file tree in memory behind the extractor port: files with their text and modification
//! time, files that fail to read, and folders that cannot be listed (an unplugged drive).

use super::lock;
use crate::document::{DocumentKind, ExtractedDocument, Failure};
use crate::error::ErrorCode;
use crate::ids::ContentHash;
use crate::ports::{ExtractProgressSender, Extractor, FileInfo, Scanned};
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Default)]
pub struct MemoryFiles {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    files: BTreeMap<PathBuf, File>,
    unreadable: BTreeSet<PathBuf>,
    /// Milliseconds; each write moves it on, so every write has a new modification time.
    clock: i64,
}

struct File {
    text: String,
    mtime_ms: i64,
    /// Reading it fails with this.
    failure: Option<Failure>,
}

impl MemoryFiles {
    /// Writes (or overwrites) a file.
    pub fn write(&self, path: impl AsRef<Path>, text: &str) {
        self.put(path.as_ref(), text.to_string(), None);
    }

    /// Overwrites a file with bytes its extractor cannot read.
    pub fn corrupt(&self, path: impl AsRef<Path>) {
        let failure = Failure::new(ErrorCode::CorruptFile, "the file is damaged");
        self.put(path.as_ref(), "\u{0}damaged".to_string(), Some(failure));
    }

    pub fn remove(&self, path: impl AsRef<Path>) {
        lock(&self.state).files.remove(path.as_ref());
    }

    /// Whether listing the folder fails (a drive unplugged, permissions taken away).
    pub fn set_unreadable(&self, folder: impl AsRef<Path>, unreadable: bool) {
        let mut state = lock(&self.state);
        let folder = folder.as_ref().to_path_buf();
        if unreadable {
            state.unreadable.insert(folder);
        } else {
            state.unreadable.remove(&folder);
        }
    }

    fn put(&self, path: &Path, text: String, failure: Option<Failure>) {
        let mut state = lock(&self.state);
        state.clock += 1_000;
        let mtime_ms = state.clock;
        state.files.insert(
            path.to_path_buf(),
            File {
                text,
                mtime_ms,
                failure,
            },
        );
    }
}

fn kind_of(path: &Path) -> DocumentKind {
    match path.extension().and_then(|e| e.to_str()) {
        Some("md") => DocumentKind::Markdown,
        _ => DocumentKind::Text,
    }
}

fn unreadable_folder(path: &Path) -> Scanned {
    Scanned::UnreadableFolder {
        path: path.to_path_buf(),
        failure: Failure::new(ErrorCode::Unreadable, "the folder cannot be read"),
    }
}

#[async_trait]
impl Extractor for MemoryFiles {
    async fn scan(&self, roots: &[PathBuf]) -> Vec<Scanned> {
        let state = lock(&self.state);
        let mut found = Vec::new();
        for root in roots {
            if state.unreadable.iter().any(|u| root.starts_with(u)) {
                found.push(unreadable_folder(root));
                continue;
            }
            let blocked: Vec<&PathBuf> = state
                .unreadable
                .iter()
                .filter(|u| u.starts_with(root))
                .collect();
            found.extend(blocked.iter().map(|u| unreadable_folder(u)));
            for (path, file) in &state.files {
                if path.starts_with(root) && !blocked.iter().any(|u| path.starts_with(u)) {
                    found.push(Scanned::File(FileInfo {
                        path: path.clone(),
                        size_bytes: file.text.len() as u64,
                        mtime_ms: file.mtime_ms,
                    }));
                }
            }
        }
        found
    }

    async fn fingerprint(&self, path: &Path) -> Result<ContentHash, Failure> {
        lock(&self.state)
            .files
            .get(path)
            .map(|f| ContentHash::of_bytes(f.text.as_bytes()))
            .ok_or_else(|| Failure::new(ErrorCode::NotFound, "the file is gone"))
    }

    async fn extract(
        &self,
        path: &Path,
        _progress: ExtractProgressSender,
    ) -> Result<ExtractedDocument, Failure> {
        let state = lock(&self.state);
        let file = state
            .files
            .get(path)
            .ok_or_else(|| Failure::new(ErrorCode::NotFound, "the file is gone"))?;
        match &file.failure {
            Some(failure) => Err(failure.clone()),
            None => Ok(ExtractedDocument::plain(
                kind_of(path),
                None,
                file.text.clone(),
            )),
        }
    }
}
