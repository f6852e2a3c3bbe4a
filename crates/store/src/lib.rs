//! Cairn's stores and their on-disk layout:
//!
//! ```text
//! <data dir>/catalog.sqlite   documents, text, chunks, embeddings, chats (source of truth)
//! <data dir>/fulltext/        Tantivy index of the chunks (derived)
//! <data dir>/vectors/         LanceDB table of chunk embeddings (derived)
//! <data dir>/cairn.lock       held by the one process that has the folder open
//! <data dir>/cairn.running    present while a process has it open (left by a crash)
//! ```

mod catalog;
mod conversations;
mod error;
mod fulltext;
mod lock;
mod vectors;

pub use catalog::SqliteCatalog;
pub use error::StoreError;
pub use fulltext::TantivyIndex;
pub use lock::DataLock;
pub use vectors::{LanceVectors, INDEX_MIN_ROWS};

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The three stores of one data directory.
pub struct Stores {
    pub catalog: Arc<SqliteCatalog>,
    pub text: Arc<TantivyIndex>,
    pub vectors: Arc<LanceVectors>,
    /// Derived stores that could not be opened and were set aside (`<name>.damaged-<ms>`)
    /// and started empty: they must be rebuilt from the catalog.
    pub recreated: Vec<String>,
}

/// Paths inside a data directory.
#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
}

impl Layout {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Layout { root: root.into() }
    }
    pub fn catalog(&self) -> PathBuf {
        self.root.join("catalog.sqlite")
    }
    pub fn fulltext(&self) -> PathBuf {
        self.root.join("fulltext")
    }
    pub fn vectors(&self) -> PathBuf {
        self.root.join("vectors")
    }
}

impl Stores {
    /// Opens (creating where missing) the stores of `root` for vectors of `dimension`,
    /// taking the folder's lock: a second process gets [`StoreError::Busy`].
    pub async fn open(root: &Path, dimension: usize) -> Result<Self, StoreError> {
        let layout = Layout::new(root);
        std::fs::create_dir_all(&layout.root).map_err(|source| StoreError::Io {
            path: layout.root.display().to_string(),
            source,
        })?;
        let lock = DataLock::acquire(&layout.root)?;
        let catalog = SqliteCatalog::open(&layout.catalog()).await?.hold(lock);
        let mut recreated = Vec::new();
        let text = match TantivyIndex::open(&layout.fulltext()) {
            Ok(text) => text,
            Err(e) => {
                recreated.push(set_aside(&layout.fulltext(), &e)?);
                TantivyIndex::open(&layout.fulltext())?
            }
        };
        let vectors = match LanceVectors::open(&layout.vectors(), dimension).await {
            Ok(vectors) => vectors,
            Err(e) => {
                recreated.push(set_aside(&layout.vectors(), &e)?);
                LanceVectors::open(&layout.vectors(), dimension).await?
            }
        };
        Ok(Stores {
            catalog: Arc::new(catalog),
            text: Arc::new(text),
            vectors: Arc::new(vectors),
            recreated,
        })
    }

    /// Whether the previous process on this folder was killed (or crashed).
    pub fn unclean_shutdown(&self) -> bool {
        self.catalog.unclean_shutdown()
    }
}

/// Moves a derived store that cannot be opened out of the way, keeping it for inspection.
fn set_aside(dir: &Path, error: &StoreError) -> Result<String, StoreError> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let aside = dir.with_file_name(format!("{name}.damaged-{}", catalog::now_ms()));
    std::fs::rename(dir, &aside).map_err(|source| StoreError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    tracing::warn!(store = %name, "a derived store could not be opened; rebuilding it");
    Ok(format!(
        "{name} could not be opened ({error}); moved to {} and rebuilt from the catalog",
        aside.display()
    ))
}
