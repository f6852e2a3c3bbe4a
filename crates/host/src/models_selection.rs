//! The installed models `cairn` and the app use when no flag, variable or setting names one:
//! `<models>/selection.json`, written by `cairn models use` (and the app's Settings).

use cairn_models::catalogue::{self, Kind};
use cairn_models::install::{InstallError, Installed, Models};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    pub chat: Option<PathBuf>,
    pub embedder: Option<PathBuf>,
}

fn file(models: &Path) -> PathBuf {
    models.join("selection.json")
}

/// The selection in the models folder (empty when none was made).
pub fn load(models: &Path) -> Selection {
    std::fs::read(file(models))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Makes the installed model `name` (catalogue name, or file or folder name) the default of
/// its kind.
pub fn choose(models: &Models, name: &str) -> Result<Installed, InstallError> {
    let wanted = catalogue::find(name).map(|e| models.path_of(e));
    let chosen = models
        .installed()
        .into_iter()
        .find(|i| Some(&i.path) == wanted.as_ref() || i.name == name)
        .ok_or_else(|| InstallError::Unknown(name.to_string()))?;
    let mut selection = load(&models.folder);
    match chosen.kind {
        Kind::Chat => selection.chat = Some(chosen.path.clone()),
        Kind::Embedder => selection.embedder = Some(chosen.path.clone()),
    }
    let path = file(&models.folder);
    let json = serde_json::to_vec_pretty(&selection).unwrap_or_default();
    std::fs::write(&path, json).map_err(|source| InstallError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(chosen)
}
