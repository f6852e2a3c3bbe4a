//! Cairn's stores and their on-disk layout:
//!
//! ```text
//! <data dir>/catalog.sqlite   documents, text, chunks, embeddings, chats (source of truth)
//! <data dir>/fulltext/        Tantivy index of the chunks (derived)
//! <data dir>/vectors/         LanceDB, a table of chunk embeddings per model (derived)
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
pub use vectors::{table_for, LanceVectors, TableOpening, INDEX_MIN_ROWS};

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The three stores of one data directory.
pub struct Stores {
    pub catalog: Arc<SqliteCatalog>,
    pub text: Arc<TantivyIndex>,
    pub vectors: Arc<LanceVectors>,
    /// Derived stores that could not be opened and were set aside (`<name>.damaged-<ms>`),
    /// or vector tables made anew: they must be rebuilt from the catalog.
    pub recreated: Vec<String>,
}

/// A data directory opened up to its vectors: the lock, the catalog and the full-text index.
/// Which embedder's vector table to open is read from the catalog first.
pub struct CatalogStores {
    pub catalog: Arc<SqliteCatalog>,
    pub text: Arc<TantivyIndex>,
    pub recreated: Vec<String>,
    layout: Layout,
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
    /// Opens (creating where missing) the stores of `root` with the vectors of `model`
    /// (`dimension` wide), taking the folder's lock: a second process gets
    /// [`StoreError::Busy`].
    pub async fn open(root: &Path, model: &str, dimension: usize) -> Result<Self, StoreError> {
        CatalogStores::open(root)
            .await?
            .with_vectors(model, dimension)
            .await
    }

    /// Whether the previous process on this folder was killed (or crashed).
    pub fn unclean_shutdown(&self) -> bool {
        self.catalog.unclean_shutdown()
    }
}

impl CatalogStores {
    /// Takes the folder's lock and opens the catalog and the full-text index.
    pub async fn open(root: &Path) -> Result<Self, StoreError> {
        let layout = Layout::new(root);
        std::fs::create_dir_all(&layout.root).map_err(|source| StoreError::Io {
            path: layout.root.display().to_string(),
            source,
        })?;
        let lock = DataLock::acquire(&layout.root)?;
        let catalog = SqliteCatalog::open(&layout.catalog()).await?.hold(lock);
        let mut recreated = Vec::new();
        if fulltext::is_outdated(&layout.fulltext()) {
            std::fs::remove_dir_all(layout.fulltext()).map_err(|source| StoreError::Io {
                path: layout.fulltext().display().to_string(),
                source,
            })?;
            recreated.push(
                "the full-text index was made by an older Cairn (words such as FY2018 were not \
                 split into FY and 2018); it is built again from the catalog"
                    .to_string(),
            );
        }
        let text = match TantivyIndex::open(&layout.fulltext()) {
            Ok(text) => text,
            Err(e) => {
                recreated.push(set_aside(&layout.fulltext(), &e)?);
                TantivyIndex::open(&layout.fulltext())?
            }
        };
        Ok(CatalogStores {
            catalog: Arc::new(catalog),
            text: Arc::new(text),
            recreated,
            layout,
        })
    }

    /// Opens the vector table of `model`, dropping the tables of other models. A table made
    /// anew while the catalog holds chunks (a new embedder, or vectors of another model) is
    /// reported in `recreated`, so that it is filled from the catalog.
    pub async fn with_vectors(
        mut self,
        model: &str,
        dimension: usize,
    ) -> Result<Stores, StoreError> {
        let dir = self.layout.vectors();
        let vectors = match LanceVectors::open(&dir, model, dimension).await {
            Ok((vectors, opening)) => {
                let dropped = LanceVectors::drop_others(&dir, model).await?;
                let has_chunks = !cairn_core::ports::Catalog::chunk_ids(self.catalog.as_ref())
                    .await
                    .map_err(|e| StoreError::Malformed(e.to_string()))?
                    .is_empty();
                let dropped = if dropped.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (dropped the vectors of another embedder: {})",
                        dropped.join(", ")
                    )
                };
                match (opening, has_chunks) {
                    (TableOpening::Replaced { had }, true) => {
                        let had = had.map_or("another shape".to_string(), |n| {
                            format!("{n} dimensions")
                        });
                        self.recreated.push(format!(
                            "the vectors of {model} had {had}, not {dimension}: the table was \
                             dropped and is built again from the catalog{dropped}"
                        ));
                    }
                    (TableOpening::Created, true) => self.recreated.push(format!(
                        "the vectors of {model} were missing and are built from the catalog{dropped}"
                    )),
                    _ if !dropped.is_empty() => self
                        .recreated
                        .push(format!("the vectors of {model} are kept{dropped}")),
                    _ => {}
                }
                vectors
            }
            Err(e) => {
                self.recreated.push(set_aside(&dir, &e)?);
                LanceVectors::open(&dir, model, dimension).await?.0
            }
        };
        Ok(Stores {
            catalog: self.catalog,
            text: self.text,
            vectors: Arc::new(vectors),
            recreated: self.recreated,
        })
    }

    /// Opens (creating it when missing) the vector table of another model, beside the one in
    /// use: what a switch of embedders fills.
    pub async fn open_vectors(
        root: &Path,
        model: &str,
        dimension: usize,
    ) -> Result<LanceVectors, StoreError> {
        Ok(
            LanceVectors::open(&Layout::new(root).vectors(), model, dimension)
                .await?
                .0,
        )
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
