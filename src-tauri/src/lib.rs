//! The Cairn desktop app: a thin Tauri shell over the engine. Commands are in [`commands`],
//! background ingestion and watched folders in [`library`]; files dropped on the window are
//! taken here, from the window's own drag-and-drop event.

pub mod commands;
pub mod downloads;
pub mod error;
pub mod library;
pub mod model;
pub mod served;
pub mod settings;
pub mod state;

use settings::Settings;
use state::AppState;
use std::process::ExitCode;
use tauri::{AppHandle, DragDropEvent, Manager, RunEvent, WindowEvent};

/// The event telling the window to read the status again.
pub const STATUS_EVENT: &str = "status";

/// Runs the app until its window closes.
pub fn run() -> ExitCode {
    cairn_host::init_logging();
    let state = match settings::settings_file()
        .and_then(|file| Ok((Settings::load(&file)?, file)))
        .and_then(|(settings, file)| AppState::new(file, settings))
    {
        Ok(state) => state,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_opener::init())
        .manage(state)
        .manage(downloads::Downloading::default())
        .setup(|app| {
            open_in_background(app.handle().clone());
            Ok(())
        })
        .on_window_event(|window, event| {
            if let WindowEvent::DragDrop(DragDropEvent::Drop { paths, .. }) = event {
                // A GGUF is a model to import; everything else is a document.
                let (models, documents): (Vec<_>, Vec<_>) = paths.iter().cloned().partition(|p| {
                    p.extension()
                        .is_some_and(|x| x.eq_ignore_ascii_case("gguf"))
                });
                for model in models {
                    downloads::imported(window.app_handle(), &model);
                }
                if !documents.is_empty() {
                    library::spawn(window.app_handle(), library::Job::Ingest(documents));
                }
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::status,
            commands::get_settings,
            commands::save_settings,
            commands::choose_model_file,
            commands::models,
            commands::download_model,
            commands::pause_download,
            commands::cancel_download,
            commands::delete_model,
            commands::use_model,
            commands::embedders,
            commands::estimate_embedder_switch,
            commands::switch_embedder,
            commands::load_model,
            commands::list_documents,
            commands::add_from_dialog,
            commands::remove_document,
            commands::reread_document,
            commands::reveal_document,
            commands::open_document,
            commands::ask,
            commands::stop_answer,
            commands::list_chats,
            commands::chat_messages,
            commands::delete_chat,
            commands::passage,
            commands::watched_folders,
            commands::search_tuning,
            commands::formats,
            commands::watch_folder,
            commands::unwatch_folder,
            commands::restart,
            served::save_server_key,
            served::forget_server_key,
            served::server_key_stored,
            served::test_server,
        ])
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("error: cannot start the window: {e}");
            return ExitCode::FAILURE;
        }
    };
    app.run(|handle, event| {
        if let RunEvent::Exit = event {
            handle.state::<AppState>().close();
        }
    });
    ExitCode::SUCCESS
}

/// Opens the data folder (repairing it after a crash), then starts the watched folders and
/// loads the language model, telling the window after each step.
fn open_in_background(app: AppHandle) {
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        let opened = state.core().await;
        model::announce(&app);
        let Ok(core) = opened else {
            return;
        };
        library::watch(&app, core.clone());
        if let Some(next) = &core.pending_embedder {
            // Settings name another embedder than the library's (or a switch was cut short):
            // re-embed in the background; searches go on meanwhile.
            library::spawn(
                &app,
                library::Job::SwitchEmbedder(next.folder().to_path_buf()),
            );
        }
        model::load_in_background(app.clone(), core);
    });
}
