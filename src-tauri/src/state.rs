//! What the app holds while it runs: the settings, the engine once the data folder is open,
//! the language model once loaded, and the answers being generated.

use crate::error::{AppError, AppResult};
use crate::settings::Settings;
use cairn_core::ports::{Conversations, Generator};
use cairn_core::{CancelHandle, Engine};
use cairn_host::answering::{GeneratorChoice, Generators};
use cairn_host::Paths;
use cairn_models::OnnxEmbedder;
use cairn_store::DataLock;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// The open data folder.
pub struct Core {
    pub engine: Engine,
    pub conversations: Arc<dyn Conversations>,
    pub paths: Paths,
    /// What opening did that a person should hear about.
    pub notes: Vec<String>,
    /// The embedder the library searches with now (it changes when a switch ends).
    embedder: Mutex<OnnxEmbedder>,
    /// The embedder Settings name, when the library still searches with another: the app
    /// switches to it in the background.
    pub pending_embedder: Option<OnnxEmbedder>,
    /// The engine's extractor: Settings change its OCR languages.
    pub extractor: Arc<cairn_extract::IsolatedExtractor>,
    lock: Option<Arc<DataLock>>,
    /// The model that answers, the local one kept loaded.
    generators: Generators,
    /// Why the last attempt to load the language model failed, until one succeeds.
    generator_error: Mutex<Option<AppError>>,
}

impl Core {
    /// Opens the data folder: loads the embedder, takes the folder's lock, and repairs the
    /// stores when the last process was killed.
    pub async fn open(paths: Paths, ocr_languages: &[String]) -> AppResult<Core> {
        let embedder = cairn_host::load_embedder(&paths.embedder).await?;
        let opened = cairn_host::open_stores(&paths.data_dir, embedder).await?;
        opened.extractor.set_ocr_languages(ocr_languages);
        Ok(Core {
            extractor: opened.extractor,
            engine: opened.engine,
            conversations: opened.conversations,
            notes: opened.notes,
            embedder: Mutex::new(opened.embedder),
            pending_embedder: opened.pending_embedder,
            lock: opened.lock,
            paths,
            generators: Generators::default(),
            generator_error: Mutex::new(None),
        })
    }

    /// The model that answers: the local one at `path` (loaded on first use, and again
    /// when the path, the device or the engine changed), or the served one Settings name.
    pub async fn generator(&self, choice: GeneratorChoice) -> AppResult<Arc<dyn Generator>> {
        let local = matches!(choice, GeneratorChoice::Local { .. });
        let loaded = self.generators.get(choice).await.map_err(AppError::from);
        if local {
            *locked(&self.generator_error) = loaded.as_ref().err().cloned();
        }
        loaded
    }

    /// Whether a model is loaded now.
    pub fn generator_loaded(&self) -> bool {
        self.generators.local_loaded()
    }

    /// Why the last attempt to load the language model failed, until one succeeds.
    pub fn generator_error(&self) -> Option<AppError> {
        locked(&self.generator_error).clone()
    }

    /// The embedder the library searches with.
    pub fn embedder(&self) -> OnnxEmbedder {
        locked(&self.embedder).clone()
    }

    /// Re-embeds the library with `next` (searches go on with the current embedder), then
    /// searches with it.
    pub async fn switch_embedder(
        &self,
        next: OnnxEmbedder,
        progress: &(dyn Fn(cairn_core::engine::SwitchProgress) + Send + Sync),
    ) -> AppResult<cairn_core::engine::SwitchReport> {
        let report = cairn_host::embedders::switch(
            &self.engine,
            &self.paths.data_dir,
            next.clone(),
            progress,
        )
        .await?;
        *locked(&self.embedder) = next;
        Ok(report)
    }

    /// Records a clean close of the data folder.
    pub fn close(&self) {
        if let Some(lock) = &self.lock {
            lock.close();
        }
    }
}

pub struct AppState {
    pub settings_file: PathBuf,
    settings: Mutex<Settings>,
    /// The settings the data folder was opened with.
    opened_with: Paths,
    core: tokio::sync::OnceCell<Result<Arc<Core>, AppError>>,
    asks: Mutex<HashMap<String, CancelHandle>>,
    /// Ingest, re-read and sync jobs not yet finished.
    pub writes: AtomicUsize,
    next_job: AtomicU32,
    pub watcher: Mutex<Option<tauri::async_runtime::JoinHandle<()>>>,
}

/// A std mutex whose holder cannot have panicked in a way that matters here: the data it
/// guards is replaced whole.
fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl AppState {
    pub fn new(settings_file: PathBuf, settings: Settings) -> AppResult<Self> {
        let opened_with = settings.paths()?;
        Ok(AppState {
            settings_file,
            settings: Mutex::new(settings),
            opened_with,
            core: tokio::sync::OnceCell::new(),
            asks: Mutex::new(HashMap::new()),
            writes: AtomicUsize::new(0),
            next_job: AtomicU32::new(1),
            watcher: Mutex::new(None),
        })
    }

    pub fn settings(&self) -> Settings {
        locked(&self.settings).clone()
    }

    /// Takes new settings; the OCR languages apply to the next file read.
    pub fn set_settings(&self, settings: Settings) {
        if let Some(Ok(core)) = self.core.get() {
            core.extractor.set_ocr_languages(&settings.ocr_languages());
        }
        *locked(&self.settings) = settings;
    }

    pub fn opened_with(&self) -> &Paths {
        &self.opened_with
    }

    /// The open data folder, opening it on first use; every caller waits for the same open.
    pub async fn core(&self) -> AppResult<Arc<Core>> {
        self.core
            .get_or_init(|| async {
                let languages = self.settings().ocr_languages();
                Core::open(self.opened_with.clone(), &languages)
                    .await
                    .map(Arc::new)
            })
            .await
            .clone()
    }

    /// The data folder if it finished opening (successfully or not).
    pub fn core_now(&self) -> Option<&Result<Arc<Core>, AppError>> {
        self.core.get()
    }

    pub fn next_job(&self) -> u32 {
        self.next_job.fetch_add(1, Ordering::SeqCst)
    }

    pub fn start_answer(&self, id: String, handle: CancelHandle) {
        locked(&self.asks).insert(id, handle);
    }

    pub fn end_answer(&self, id: &str) -> Option<CancelHandle> {
        locked(&self.asks).remove(id)
    }

    pub fn replace_watcher(&self, task: Option<tauri::async_runtime::JoinHandle<()>>) {
        if let Some(old) = std::mem::replace(&mut *locked(&self.watcher), task) {
            old.abort();
        }
    }

    /// Records a clean close unless a write is still running (then the next start checks).
    pub fn close(&self) {
        for (_, handle) in locked(&self.asks).drain() {
            handle.cancel();
        }
        if self.writes.load(Ordering::SeqCst) > 0 {
            return;
        }
        if let Some(Ok(core)) = self.core.get() {
            core.close();
        }
    }
}
