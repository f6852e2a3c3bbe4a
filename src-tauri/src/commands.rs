//! The commands the window calls. Each returns a typed value or an [`AppError`]; the
//! TypeScript side of every type is generated (`ui/src/lib/bindings`).
//!
//! The window never names a file to read: documents come from native dialogs opened here or
//! from files dropped on the window (handled in `lib.rs`), and documents are referred to by id.

use crate::error::{AppError, AppResult};
use crate::library::{self, Job, LibraryEvent};
use crate::settings::Settings;
use crate::state::AppState;
use cairn_core::answer::{AskEvent, AskRequest};
use cairn_core::conversation::{ChatSummary, StoredMessage};
use cairn_core::engine::{AnswerPorts, Passage};
use cairn_core::retrieval::tuning::FusionTuning;
use cairn_core::{Cancel, ChatId, DocumentId, DocumentKind, DocumentRecord, ErrorCode};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tauri::ipc::Channel;
use tauri::{AppHandle, State};
use tauri_plugin_dialog::DialogExt;
use tauri_plugin_opener::OpenerExt;
use ts_rs::TS;

/// Bytes of text shown around a quoted passage.
const PASSAGE_CONTEXT: usize = 700;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Phase {
    /// The data folder is being opened (and checked after a crash).
    Opening,
    Ready,
    /// It could not be opened; `error` says why.
    Failed,
}

/// Where the app stands, for the status bar, Settings and the first-run screen.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct AppStatus {
    pub phase: Phase,
    pub error: Option<AppError>,
    pub version: String,
    pub data_dir: String,
    /// The folder of the embedder the library searches with (Settings' until it is open).
    pub embedder: String,
    pub embedder_present: bool,
    /// Its name (multilingual-e5-small), once the library is open.
    pub embedder_name: Option<String>,
    pub generator: String,
    pub generator_present: bool,
    pub generator_loaded: bool,
    /// Why the language model could not be loaded (a damaged or unsupported file, too
    /// little memory), until a model loads.
    pub generator_error: Option<AppError>,
    /// The GPU this build can use (`cuda`, `metal`), if any.
    pub gpu_build: Option<String>,
    /// What opening did that a person should hear about (a recovery after a crash, say).
    pub notes: Vec<String>,
    /// The data folder in Settings differs from the one open: restart to apply.
    pub restart_needed: bool,
    /// The served model answers come from (`model at URL`), when Settings choose a server.
    pub server: Option<String>,
}

fn gpu_build() -> Option<String> {
    if cfg!(feature = "cuda") {
        Some("cuda".into())
    } else if cfg!(feature = "metal") {
        Some("metal".into())
    } else {
        None
    }
}

#[tauri::command]
pub async fn status(state: State<'_, AppState>) -> AppResult<AppStatus> {
    let settings = state.settings();
    let wanted = settings.paths()?;
    let opened = state.opened_with();
    let current_embedder = match state.core_now() {
        Some(Ok(core)) => Some(core.embedder()),
        _ => None,
    };
    let (phase, error, notes, loaded, generator_error) = match state.core_now() {
        None => (Phase::Opening, None, vec![], false, None),
        Some(Ok(core)) => (
            Phase::Ready,
            None,
            core.notes.clone(),
            core.generator_loaded(),
            core.generator_error(),
        ),
        Some(Err(e)) => (Phase::Failed, Some(e.clone()), vec![], false, None),
    };
    Ok(AppStatus {
        phase,
        error,
        version: env!("CARGO_PKG_VERSION").to_string(),
        data_dir: opened.data_dir.display().to_string(),
        embedder: current_embedder
            .as_ref()
            .map_or_else(|| opened.embedder.clone(), |e| e.folder().to_path_buf())
            .display()
            .to_string(),
        embedder_present: current_embedder.is_some() || opened.embedder.is_dir(),
        embedder_name: current_embedder.map(|e| e.describe().name.clone()),
        generator: wanted.generator.display().to_string(),
        generator_present: wanted.generator.is_file(),
        generator_loaded: loaded,
        generator_error,
        gpu_build: gpu_build(),
        notes,
        restart_needed: wanted.data_dir != opened.data_dir,
        server: settings
            .remote()
            .map(|r| format!("{} at {}", r.model, r.url)),
    })
}

#[tauri::command]
pub fn get_settings(state: State<'_, AppState>) -> Settings {
    state.settings()
}

#[tauri::command]
pub fn save_settings(state: State<'_, AppState>, settings: Settings) -> AppResult<Settings> {
    settings.save(&state.settings_file)?;
    state.set_settings(settings.clone());
    Ok(settings)
}

/// Asks for a GGUF file in a native dialog; `None` when the person cancels.
#[tauri::command]
pub async fn choose_model_file(app: AppHandle) -> AppResult<Option<String>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title("Choose a GGUF chat model")
        .add_filter("GGUF model", &["gguf"])
        .pick_file(move |file| {
            // The command waits for this answer; it is only gone if the command was dropped.
            let _ = tx.send(file);
        });
    let file = rx.await.ok().flatten();
    Ok(file
        .and_then(|f| f.into_path().ok())
        .map(|p| p.display().to_string()))
}

/// Loads the language model named in Settings, in the background; the window hears of the
/// outcome through a status event.
#[tauri::command]
pub async fn load_model(app: AppHandle, state: State<'_, AppState>) -> AppResult<()> {
    let core = state.core().await?;
    crate::model::load_in_background(app, core);
    Ok(())
}

/// The model catalogue and the installed models, with what fits this machine.
#[tauri::command]
pub fn models() -> AppResult<Vec<crate::downloads::ModelChoice>> {
    crate::downloads::overview()
}

/// Starts downloading a catalogue model; progress comes as `models` events.
#[tauri::command]
pub fn download_model(app: AppHandle, name: String) -> AppResult<()> {
    crate::downloads::start(&app, &name)
}

/// Pauses the download under way (what was fetched is kept; downloading again resumes).
#[tauri::command]
pub fn pause_download(app: AppHandle) -> bool {
    crate::downloads::stop(&app, false)
}

/// Cancels the download under way and deletes what was fetched.
#[tauri::command]
pub fn cancel_download(app: AppHandle) -> bool {
    crate::downloads::stop(&app, true)
}

/// Deletes an installed model.
#[tauri::command]
pub fn delete_model(name: String) -> AppResult<()> {
    crate::downloads::models()?.remove(&name)?;
    Ok(())
}

/// Answers with the installed GGUF at `path` from now on (kept in Settings, loaded now).
#[tauri::command]
pub fn use_model(app: AppHandle, path: String) {
    crate::downloads::use_path(&app, Path::new(&path));
}

/// An embedder installed in the models folder.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct EmbedderChoice {
    pub folder: String,
    pub name: String,
    pub languages: String,
    /// The library searches with it.
    pub current: bool,
}

/// The embedders in the models folder, the library's own marked.
#[tauri::command]
pub async fn embedders(state: State<'_, AppState>) -> AppResult<Vec<EmbedderChoice>> {
    let core = state.core().await?;
    let current = core.embedder().folder().to_path_buf();
    let models = cairn_host::models_folder()?;
    Ok(cairn_host::embedders::installed(&models)
        .into_iter()
        .map(|e| EmbedderChoice {
            current: e.folder == current,
            folder: e.folder.display().to_string(),
            name: e.name,
            languages: e.languages,
        })
        .collect())
}

/// How long re-embedding the library with another embedder would take here.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct SwitchEstimate {
    #[ts(type = "number")]
    pub passages: u64,
    pub seconds: f64,
}

/// Times the embedder in `folder` on a sample of the library's passages.
#[tauri::command]
pub async fn estimate_embedder_switch(
    state: State<'_, AppState>,
    folder: String,
) -> AppResult<SwitchEstimate> {
    let core = state.core().await?;
    let next = cairn_host::load_embedder(Path::new(&folder)).await?;
    let e = cairn_host::embedders::estimate(&core.engine, &next).await?;
    Ok(SwitchEstimate {
        passages: e.passages,
        seconds: e.seconds,
    })
}

/// Keeps the embedder in `folder` in Settings and re-embeds the library with it in the
/// background (searches go on meanwhile). Returns the job id.
#[tauri::command]
pub fn switch_embedder(
    app: AppHandle,
    state: State<'_, AppState>,
    folder: String,
) -> AppResult<u32> {
    let mut settings = state.settings();
    settings.embedder = folder.clone();
    settings.save(&state.settings_file)?;
    state.set_settings(settings);
    Ok(library::spawn(
        &app,
        Job::SwitchEmbedder(PathBuf::from(folder)),
    ))
}

#[tauri::command]
pub async fn list_documents(state: State<'_, AppState>) -> AppResult<Vec<DocumentRecord>> {
    Ok(state.core().await?.engine.documents().await?)
}

/// Opens a native dialog for files (or one folder) and indexes what was chosen. Returns the
/// job id, or `None` when the person cancelled.
#[tauri::command]
pub async fn add_from_dialog(app: AppHandle, folders: bool) -> AppResult<Option<u32>> {
    let (tx, rx) = tokio::sync::oneshot::channel::<Vec<PathBuf>>();
    let dialog = app.dialog().file();
    let to_paths = |files: Vec<tauri_plugin_dialog::FilePath>| -> Vec<PathBuf> {
        files
            .into_iter()
            .filter_map(|f| f.into_path().ok())
            .collect()
    };
    if folders {
        dialog
            .set_title("Add a folder to Cairn")
            .pick_folders(move |f| {
                let _ = tx.send(to_paths(f.unwrap_or_default()));
            });
    } else {
        dialog
            .set_title("Add documents to Cairn")
            .add_filter("Documents", &cairn_extract::extensions())
            .pick_files(move |f| {
                let _ = tx.send(to_paths(f.unwrap_or_default()));
            });
    }
    let paths = rx.await.unwrap_or_default();
    if paths.is_empty() {
        return Ok(None);
    }
    Ok(Some(library::spawn(&app, Job::Ingest(paths))))
}

#[tauri::command]
pub async fn remove_document(
    app: AppHandle,
    state: State<'_, AppState>,
    id: DocumentId,
) -> AppResult<()> {
    state.core().await?.engine.remove(id).await?;
    library::emit(&app, LibraryEvent::Changed);
    Ok(())
}

/// Reads a document's file again (retrying a failure, or refreshing it). Returns the job id.
#[tauri::command]
pub fn reread_document(app: AppHandle, id: DocumentId) -> u32 {
    library::spawn(&app, Job::Reread(id))
}

async fn document(state: &AppState, id: DocumentId) -> AppResult<DocumentRecord> {
    Ok(state.core().await?.engine.document(id).await?)
}

/// Shows the document's file in the system file manager.
#[tauri::command]
pub async fn reveal_document(
    app: AppHandle,
    state: State<'_, AppState>,
    id: DocumentId,
) -> AppResult<()> {
    let doc = document(&state, id).await?;
    app.opener().reveal_item_in_dir(&doc.path).map_err(|e| {
        AppError::new(
            ErrorCode::Unreadable,
            format!("cannot show {}: {e}", doc.path),
        )
    })
}

/// Opens the document in the system viewer, at `page` where a viewer that takes a page is
/// installed (Evince, Okular, Zathura), otherwise at its start.
#[tauri::command]
pub async fn open_document(
    app: AppHandle,
    state: State<'_, AppState>,
    id: DocumentId,
    page: Option<u32>,
) -> AppResult<()> {
    let doc = document(&state, id).await?;
    let path = Path::new(&doc.path);
    if let (Some(page), Some(DocumentKind::Pdf)) = (page, doc.kind) {
        if open_pdf_at_page(path, page) {
            return Ok(());
        }
    }
    app.opener()
        .open_path(&doc.path, None::<&str>)
        .map_err(|e| {
            AppError::new(
                ErrorCode::Unreadable,
                format!("cannot open {}: {e}", doc.path),
            )
        })
}

/// Starts a PDF viewer that can open at a page; `false` when none is installed.
fn open_pdf_at_page(path: &Path, page: u32) -> bool {
    if !cfg!(target_os = "linux") {
        return false;
    }
    let opened = pdf_viewers_at_page(path, page)
        .into_iter()
        .any(|(program, args)| {
            std::process::Command::new(program)
                .args(args)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .is_ok()
        });
    opened
}

/// The viewers tried, in order, with the arguments that open `path` at `page`, the page's
/// place in the file counted from 1 (as Cairn cites it). Evince is given the index, not the
/// label: a PDF whose pages are labelled i, ii, … or start at 17 would open elsewhere.
fn pdf_viewers_at_page(path: &Path, page: u32) -> Vec<(&'static str, Vec<std::ffi::OsString>)> {
    let with = |flag: String| vec![flag.into(), path.as_os_str().to_os_string()];
    vec![
        ("evince", with(format!("--page-index={page}"))),
        ("okular", with(format!("--page={page}"))),
        ("zathura", with(format!("--page={page}"))),
    ]
}

/// A question from the window.
#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct AskInput {
    pub question: String,
    /// Continue this chat; a new one is started when absent.
    pub chat_id: Option<ChatId>,
    /// Only use these documents.
    pub documents: Option<Vec<DocumentId>>,
    /// The window's id for this answer, to stop it with [`stop_answer`].
    pub ask_id: String,
}

/// Answers a question, streaming [`AskEvent`]s through `on_event`; ends with `done` or
/// `refused` (or an error).
#[tauri::command]
pub async fn ask(
    state: State<'_, AppState>,
    input: AskInput,
    on_event: Channel<AskEvent>,
) -> AppResult<()> {
    let core = state.core().await?;
    let settings = state.settings();
    let paths = settings.paths()?;
    let generator = core.generator(settings.generator_choice(&paths)).await?;
    let mut request = AskRequest::new(input.question);
    request.chat = input.chat_id;
    request.documents = input.documents;
    request.settings.passages = settings.passages as usize;
    request.settings.generation.max_tokens = settings.max_tokens as usize;
    request.settings.rewrite_follow_ups = settings.rewrite_follow_ups;
    let models = AnswerPorts {
        generator,
        conversations: core.conversations.clone(),
    };
    let (handle, cancel) = Cancel::pair();
    state.start_answer(input.ask_id.clone(), handle);
    let mut sink = |event: AskEvent| {
        if let Err(e) = on_event.send(event) {
            tracing::warn!(error = %e, "cannot stream an answer event to the window");
        }
    };
    let result = core.engine.ask(&models, request, cancel, &mut sink).await;
    state.end_answer(&input.ask_id);
    result.map(|_| ()).map_err(AppError::from)
}

/// Stops an answer; what was said so far is kept, cited and stored as cancelled.
#[tauri::command]
pub fn stop_answer(state: State<'_, AppState>, ask_id: String) -> bool {
    match state.end_answer(&ask_id) {
        Some(handle) => {
            handle.cancel();
            true
        }
        None => false,
    }
}

#[tauri::command]
pub async fn list_chats(state: State<'_, AppState>) -> AppResult<Vec<ChatSummary>> {
    let core = state.core().await?;
    core.conversations.chats().await.map_err(AppError::from)
}

#[tauri::command]
pub async fn chat_messages(
    state: State<'_, AppState>,
    chat_id: ChatId,
) -> AppResult<Vec<StoredMessage>> {
    let core = state.core().await?;
    core.conversations
        .messages(chat_id)
        .await
        .map_err(AppError::from)
}

#[tauri::command]
pub async fn delete_chat(state: State<'_, AppState>, chat_id: ChatId) -> AppResult<()> {
    let core = state.core().await?;
    core.conversations
        .delete_chat(chat_id)
        .await
        .map_err(AppError::from)
}

/// A cited passage in its surrounding text, with its page.
#[tauri::command]
pub async fn passage(
    state: State<'_, AppState>,
    document_id: DocumentId,
    start: usize,
    end: usize,
) -> AppResult<Passage> {
    let core = state.core().await?;
    Ok(core
        .engine
        .passage(document_id, start, end, PASSAGE_CONTEXT)
        .await?)
}

/// The formats Cairn reads, in words with their extensions (the list the scan and the file
/// dialog use).
#[tauri::command]
pub fn formats() -> String {
    cairn_extract::supported()
}

/// How search is tuned for this library, once it has been.
#[tauri::command]
pub async fn search_tuning(state: State<'_, AppState>) -> AppResult<Option<FusionTuning>> {
    Ok(state.core().await?.engine.fusion_tuning().await?)
}

#[tauri::command]
pub async fn watched_folders(state: State<'_, AppState>) -> AppResult<Vec<String>> {
    let core = state.core().await?;
    Ok(core
        .engine
        .watched_folders()
        .await?
        .into_iter()
        .map(|f| f.display().to_string())
        .collect())
}

/// Asks for a folder in a native dialog and keeps it in step from now on.
#[tauri::command]
pub async fn watch_folder(app: AppHandle, state: State<'_, AppState>) -> AppResult<Option<String>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title("Watch a folder")
        .pick_folder(move |f| {
            let _ = tx.send(f);
        });
    let Some(folder) = rx.await.ok().flatten().and_then(|f| f.into_path().ok()) else {
        return Ok(None);
    };
    let core = state.core().await?;
    let folder = core.engine.watch_folder(&folder).await?;
    library::watch(&app, core);
    library::emit(&app, LibraryEvent::Changed);
    Ok(Some(folder.display().to_string()))
}

#[tauri::command]
pub async fn unwatch_folder(
    app: AppHandle,
    state: State<'_, AppState>,
    folder: String,
) -> AppResult<bool> {
    let core = state.core().await?;
    let removed = core.engine.unwatch_folder(Path::new(&folder)).await?;
    library::watch(&app, core);
    library::emit(&app, LibraryEvent::Changed);
    Ok(removed)
}

/// Restarts the app (to open another data folder or embedder).
#[tauri::command]
pub fn restart(app: AppHandle, state: State<'_, AppState>) {
    state.close();
    app.restart();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_viewers_open_the_cited_page_by_its_place_in_the_file_not_its_label() {
        let viewers = pdf_viewers_at_page(Path::new("/docs/report.pdf"), 17);
        let evince = viewers.iter().find(|(p, _)| *p == "evince").map(|(_, a)| a);
        assert_eq!(
            evince,
            Some(&vec!["--page-index=17".into(), "/docs/report.pdf".into()])
        );
        for (program, args) in &viewers {
            assert!(
                !args.iter().any(|a| a.to_string_lossy().contains("label")),
                "{program} is given a page label"
            );
            assert_eq!(
                args.last()
                    .map(|a| a.to_string_lossy().into_owned())
                    .as_deref(),
                Some("/docs/report.pdf")
            );
        }
    }
}
