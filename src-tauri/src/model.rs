//! Loading the language model in the background, and telling the window how it went: loaded,
//! or the reason it could not be (shown with a way to choose another file).

use crate::state::{AppState, Core};
use cairn_host::answering::GeneratorChoice;
use std::sync::Arc;
use tauri::{AppHandle, Emitter, Manager};

/// Loads the model the settings name, unless no file is there (the first-run page says what
/// to do then); the window hears of the outcome through a status event.
pub fn load_in_background(app: AppHandle, core: Arc<Core>) {
    tauri::async_runtime::spawn(async move {
        let settings = app.state::<AppState>().settings();
        if settings.remote().is_some() {
            // Answers come from a server: no local model to load.
            return;
        }
        let Ok(paths) = settings.paths() else {
            return;
        };
        if !paths.generator.is_file() {
            return;
        }
        let choice = settings.generator_choice(&paths);
        if !matches!(choice, GeneratorChoice::Local { .. }) {
            return;
        }
        if let Err(e) = core.generator(choice).await {
            tracing::warn!(error = %e, "cannot load the language model");
        }
        announce(&app);
    });
}

/// Tells the window to read the status again.
pub fn announce(app: &AppHandle) {
    if let Err(e) = app.emit(crate::STATUS_EVENT, ()) {
        tracing::warn!(error = %e, "cannot tell the window about the status");
    }
}
