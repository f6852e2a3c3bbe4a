//! Which embedder a library searches with, and changing it.
//!
//! A library records the model its vectors come from (and the folder it was loaded from) in
//! its catalog. Opened with another embedder configured, it keeps searching with its own
//! until a switch has re-embedded every chunk (`Engine::switch_embedder`), which the app runs
//! in the background and `cairn embedder use` in the foreground.

use crate::{HostError, HostResult};
use cairn_core::engine::{SwitchProgress, SwitchReport, VectorSide, EMBEDDER_SETTING};
use cairn_core::ports::Embedder;
use cairn_core::Engine;
use cairn_models::{OnnxEmbedder, Precision};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The catalog setting that names the folder of the library's embedder.
pub const EMBEDDER_FOLDER_SETTING: &str = "embedder_folder";

/// The embedder a library is opened with.
pub struct Chosen {
    /// The one its vectors come from (the configured one for a new library).
    pub active: OnnxEmbedder,
    /// The configured one, when it differs: the library can switch to it.
    pub pending: Option<OnnxEmbedder>,
    /// What a person should hear about.
    pub notes: Vec<String>,
}

/// Loads an embedder folder with the precision its model id names.
fn load_recorded(folder: &Path, model: &str) -> HostResult<OnnxEmbedder> {
    let precision = if model.contains("/onnx-fp32/") {
        Precision::Fp32
    } else {
        Precision::Int8
    };
    Ok(OnnxEmbedder::load(
        folder,
        &crate::embedder_options(precision)?,
    )?)
}

/// The library's own embedder, given what the catalog records and what is configured.
pub async fn choose(
    recorded_model: Option<String>,
    recorded_folder: Option<String>,
    configured: OnnxEmbedder,
) -> Chosen {
    let (Some(model), Some(folder)) = (recorded_model, recorded_folder) else {
        return Chosen {
            active: configured,
            pending: None,
            notes: Vec::new(),
        };
    };
    if model == configured.model_id() {
        return Chosen {
            active: configured,
            pending: None,
            notes: Vec::new(),
        };
    }
    let folder = PathBuf::from(folder);
    let loaded = {
        let (folder, model) = (folder.clone(), model.clone());
        tokio::task::spawn_blocking(move || load_recorded(&folder, &model)).await
    };
    match loaded {
        Ok(Ok(own)) if own.model_id() == model => Chosen {
            notes: vec![format!(
                "this library searches with {} (from {}); {} is configured: switching re-embeds \
                 every passage (`cairn embedder use`, or Settings in the app)",
                own.describe().name,
                folder.display(),
                configured.describe().name
            )],
            active: own,
            pending: Some(configured),
        },
        Ok(Ok(_)) | Ok(Err(_)) | Err(_) => Chosen {
            notes: vec![format!(
                "this library's embedder ({model}) cannot be loaded from {}: its vectors are \
                 rebuilt with {}",
                folder.display(),
                configured.describe().name
            )],
            active: configured,
            pending: None,
        },
    }
}

/// Records `embedder` as the one the library's vectors come from.
pub async fn record(engine: &Engine, embedder: &OnnxEmbedder) -> HostResult<()> {
    engine
        .set_library_setting(EMBEDDER_SETTING, embedder.model_id())
        .await?;
    engine
        .set_library_setting(
            EMBEDDER_FOLDER_SETTING,
            &embedder.folder().display().to_string(),
        )
        .await?;
    Ok(())
}

/// Re-embeds the library in `data_dir` with `next` and switches its searches to it; searches
/// use the old embedder until then. Tables of other models are dropped at the next open.
pub async fn switch(
    engine: &Engine,
    data_dir: &Path,
    next: OnnxEmbedder,
    progress: &(dyn Fn(SwitchProgress) + Send + Sync),
) -> HostResult<SwitchReport> {
    let vectors =
        cairn_store::CatalogStores::open_vectors(data_dir, next.model_id(), next.dimension())
            .await
            .map_err(|source| HostError::VectorTable { source })?;
    let side = VectorSide {
        embedder: Arc::new(next.clone()),
        vectors: Arc::new(vectors),
    };
    let report = engine.switch_embedder(side, progress).await?;
    record(engine, &next).await?;
    Ok(report)
}

/// How long switching the library to `next` would take: its passages, and the seconds at the
/// speed `next` embeds a sample of them on this machine.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Estimate {
    pub passages: u64,
    pub seconds: f64,
}

/// Times `next` on up to 24 of the library's passages and scales to all of them.
pub async fn estimate(engine: &Engine, next: &OnnxEmbedder) -> HostResult<Estimate> {
    use cairn_core::ports::EmbedKind;
    let (sample, passages) = engine.sample_passages(26).await?;
    if sample.len() < 3 {
        return Ok(Estimate {
            passages,
            seconds: 0.0,
        });
    }
    // The first passes warm the engine up; they are not timed.
    let (warm, timed) = sample.split_at(2);
    next.embed(warm.to_vec(), EmbedKind::Passage).await?;
    let started = std::time::Instant::now();
    next.embed(timed.to_vec(), EmbedKind::Passage).await?;
    let per_passage = started.elapsed().as_secs_f64() / timed.len() as f64;
    Ok(Estimate {
        passages,
        seconds: per_passage * passages as f64,
    })
}

/// An embedder Cairn can use: an embedder folder under the models folder.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Installed {
    pub folder: PathBuf,
    pub name: String,
    pub languages: String,
    pub dimension: usize,
}

/// The embedder folders under `models/embedders`, by name.
pub fn installed(models: &Path) -> Vec<Installed> {
    let mut out: Vec<Installed> = std::fs::read_dir(models.join("embedders"))
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let folder = entry.ok()?.path();
            let info = OnnxEmbedder::info(&folder).ok()?;
            Some(Installed {
                folder,
                name: info.name,
                languages: info.languages,
                dimension: info.dimension,
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}
