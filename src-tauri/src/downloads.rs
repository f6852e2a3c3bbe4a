//! Models from the app: the catalogue with what fits this machine, one download at a time
//! with progress events (pause keeps what was fetched for a resume, cancel deletes it),
//! choosing, deleting and importing a GGUF.

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use cairn_core::ErrorCode;
use cairn_hub::{Cancel, Hub, Progress};
use cairn_models::catalogue::{self, Fit, Kind, Machine};
use cairn_models::install::{InstallError, Models, Overview};
use serde::Serialize;
use std::path::Path;
use std::sync::Mutex;
use tauri::{AppHandle, Emitter, Manager};
use ts_rs::TS;

/// The event name the window listens to.
pub const MODELS_EVENT: &str = "models";

/// A model the window can offer.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct ModelChoice {
    pub name: String,
    pub title: String,
    /// `chat` or `embedder`.
    pub kind: String,
    pub repo: Option<String>,
    pub licence: Option<String>,
    #[ts(type = "number")]
    pub size: u64,
    #[ts(type = "number | null")]
    pub memory_needed: Option<u64>,
    /// `gpu`, `ram`, `tight` (a warning) or `no` (does not fit); none for embedders.
    pub fit: Option<String>,
    pub installed: bool,
    pub recommended: bool,
    pub path: Option<String>,
}

impl From<Overview> for ModelChoice {
    fn from(o: Overview) -> Self {
        ModelChoice {
            name: o.name,
            title: o.title,
            kind: match o.kind {
                Kind::Chat => "chat",
                Kind::Embedder => "embedder",
            }
            .into(),
            repo: o.repo,
            licence: o.licence,
            size: o.size,
            memory_needed: o.memory_needed,
            fit: o.fit.map(|f| {
                match f {
                    Fit::Gpu => "gpu",
                    Fit::Ram => "ram",
                    Fit::Tight => "tight",
                    Fit::No => "no",
                }
                .into()
            }),
            installed: o.installed,
            recommended: o.recommended,
            path: o.path.map(|p| p.display().to_string()),
        }
    }
}

/// What happens to a download, in order.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum ModelEvent {
    Progress {
        name: String,
        #[ts(type = "number")]
        done: u64,
        #[ts(type = "number")]
        total: u64,
        bytes_per_s: f64,
        eta_s: Option<f64>,
    },
    Installed {
        name: String,
        path: String,
    },
    /// Stopped; what was fetched is kept and a new download resumes it.
    Paused {
        name: String,
    },
    /// Stopped and what was fetched deleted.
    Cancelled {
        name: String,
    },
    Failed {
        name: String,
        error: AppError,
    },
}

/// The download under way: its model, its stop switch, and whether stopping deletes it.
#[derive(Default)]
pub struct Downloading(Mutex<Option<(String, Cancel, bool)>>);

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub fn emit(app: &AppHandle, event: ModelEvent) {
    if let Err(e) = app.emit(MODELS_EVENT, event) {
        tracing::warn!(error = %e, "cannot send a model event to the window");
    }
}

pub fn models() -> AppResult<Models> {
    Ok(Models::new(cairn_host::models_folder()?))
}

/// The catalogue and the installed models, with what fits this machine.
pub fn overview() -> AppResult<Vec<ModelChoice>> {
    let machine = Machine::detect(cairn_host::gpu_free_memory());
    Ok(models()?
        .overview(&machine)
        .into_iter()
        .map(ModelChoice::from)
        .collect())
}

/// Starts downloading the catalogue model `name` (resuming what an earlier one left).
pub fn start(app: &AppHandle, name: &str) -> AppResult<()> {
    let entry = catalogue::find(name)
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, format!("no model called {name}")))?;
    let downloading = app.state::<Downloading>();
    let cancel = Cancel::default();
    {
        let mut slot = locked(&downloading.0);
        if let Some((other, _, _)) = slot.as_ref() {
            return Err(AppError::new(
                ErrorCode::Busy,
                format!("{other} is downloading; one download at a time"),
            ));
        }
        *slot = Some((name.to_string(), cancel.clone(), false));
    }
    let app = app.clone();
    let name = name.to_string();
    tauri::async_runtime::spawn(async move {
        let result = async {
            let hub = Hub::from_env().map_err(InstallError::from)?;
            let progress = |_: &str, p: Progress| {
                emit(
                    &app,
                    ModelEvent::Progress {
                        name: name.clone(),
                        done: p.done,
                        total: p.total,
                        bytes_per_s: p.bytes_per_s,
                        eta_s: p.eta_s,
                    },
                )
            };
            models()
                .map_err(|e| InstallError::Unknown(e.message))?
                .pull(&hub, entry, &progress, &cancel)
                .await
        }
        .await;
        let delete = locked(&app.state::<Downloading>().0)
            .take()
            .is_some_and(|(_, _, delete)| delete);
        let event = match result {
            Ok(path) => {
                if entry.kind == Kind::Chat {
                    use_path(&app, &path);
                }
                ModelEvent::Installed {
                    name,
                    path: path.display().to_string(),
                }
            }
            Err(InstallError::Hub(cairn_hub::HubError::Cancelled)) if delete => {
                discard_parts(&models().map(|m| m.path_of(entry)).ok());
                ModelEvent::Cancelled { name }
            }
            Err(InstallError::Hub(cairn_hub::HubError::Cancelled)) => ModelEvent::Paused { name },
            Err(e) => ModelEvent::Failed {
                name,
                error: e.into(),
            },
        };
        emit(&app, event);
    });
    Ok(())
}

/// Stops the download under way: `delete` drops what was fetched, otherwise it is kept for a
/// resume. Returns whether a download was running.
pub fn stop(app: &AppHandle, delete: bool) -> bool {
    let downloading = app.state::<Downloading>();
    let mut slot = locked(&downloading.0);
    match slot.as_mut() {
        Some((_, cancel, wants_delete)) => {
            *wants_delete = delete;
            cancel.cancel();
            true
        }
        None => false,
    }
}

/// Removes the `.part` files left beside a model's path.
fn discard_parts(path: &Option<std::path::PathBuf>) {
    let Some(path) = path else { return };
    let folder = if path.is_dir() || path.extension().is_none() {
        path.clone()
    } else {
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    for entry in std::fs::read_dir(folder).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".part") || name.ends_with(".part.sha256") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Makes the GGUF at `path` the model in Settings and loads it.
pub fn use_path(app: &AppHandle, path: &Path) {
    let state = app.state::<AppState>();
    let mut settings = state.settings();
    settings.generator = path.display().to_string();
    if let Err(e) = settings.save(&state.settings_file) {
        tracing::warn!(error = %e, "cannot save the chosen model in the settings");
        return;
    }
    state.set_settings(settings);
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        if let Ok(core) = app.state::<AppState>().core().await {
            crate::model::load_in_background(app.clone(), core);
        }
    });
}

/// Imports a GGUF dropped on the window (checked first); uses it when no model is set up yet.
pub fn import(app: &AppHandle, file: &Path) -> AppResult<std::path::PathBuf> {
    let path = models()?.import(file)?;
    let wanted = app.state::<AppState>().settings().paths()?;
    if !wanted.generator.is_file() {
        use_path(app, &path);
    }
    Ok(path)
}

/// Imports a dropped GGUF and tells the window how it went.
pub fn imported(app: &AppHandle, file: &Path) {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let event = match import(app, file) {
        Ok(path) => ModelEvent::Installed {
            name,
            path: path.display().to_string(),
        },
        Err(error) => ModelEvent::Failed { name, error },
    };
    emit(app, event);
}
