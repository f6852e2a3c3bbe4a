//! Opening a data folder from the command line: the host's composition, with its notes
//! printed to stderr.

pub use cairn_host::*;

use cairn_core::Engine;
use cairn_models::OnnxEmbedder;
use std::path::Path;

/// Opens the engine and the chat store, recovering the folder after an unclean shutdown.
pub async fn open_stores(data_dir: &Path, embedder: OnnxEmbedder) -> anyhow::Result<Opened> {
    let opened = cairn_host::open_stores(data_dir, embedder).await?;
    for note in &opened.notes {
        eprintln!("note: {note}");
    }
    Ok(opened)
}

/// Opens the engine on a data folder.
pub async fn open_engine(data_dir: &Path, embedder: OnnxEmbedder) -> anyhow::Result<Engine> {
    Ok(open_stores(data_dir, embedder).await?.engine)
}

/// Opens the engine the command line points at.
pub async fn open(paths: &Paths) -> anyhow::Result<Engine> {
    let embedder = load_embedder(&paths.embedder).await?;
    open_engine(&paths.data_dir, embedder).await
}

/// Tunes search to the library when it has changed enough since the last tuning, and says
/// so; a failure only leaves the fusion in force (a warning).
pub async fn tune_search(engine: &Engine, say: bool) {
    match engine.tune_fusion_if_due().await {
        Ok(Some(tuning)) if say => println!("search tuned for this library: {}", tuning.summary()),
        Ok(_) => {}
        Err(e) => eprintln!("warning: search could not be tuned for this library: {e}"),
    }
}
