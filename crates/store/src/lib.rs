//! Cairn's stores and their on-disk layout:
//!
//! ```text
//! <data dir>/catalog.sqlite   documents, text, chunks, embeddings, chats (source of truth)
//! <data dir>/fulltext/        Tantivy index of the chunks (derived)
//! <data dir>/vectors/         LanceDB table of chunk embeddings (derived)
//! ```

mod catalog;
mod conversations;
mod error;
mod fulltext;
mod vectors;

pub use catalog::SqliteCatalog;
pub use error::StoreError;
pub use fulltext::TantivyIndex;
pub use vectors::LanceVectors;

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The three stores of one data directory.
pub struct Stores {
    pub catalog: Arc<SqliteCatalog>,
    pub text: Arc<TantivyIndex>,
    pub vectors: Arc<LanceVectors>,
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
    /// Opens (creating where missing) the stores of `root` for vectors of `dimension`.
    pub async fn open(root: &Path, dimension: usize) -> Result<Self, StoreError> {
        let layout = Layout::new(root);
        std::fs::create_dir_all(&layout.root).map_err(|source| StoreError::Io {
            path: layout.root.display().to_string(),
            source,
        })?;
        let catalog = SqliteCatalog::open(&layout.catalog()).await?;
        let text = TantivyIndex::open(&layout.fulltext())?;
        let vectors = LanceVectors::open(&layout.vectors(), dimension).await?;
        Ok(Stores {
            catalog: Arc::new(catalog),
            text: Arc::new(text),
            vectors: Arc::new(vectors),
        })
    }
}
