//! Composition: the real extractor, stores and models plugged into the engine, shared by the
//! `cairn` CLI and the desktop app. Nothing here prints: what a person should know (a
//! recovery after a crash, a store set aside) is returned as notes.

pub mod answering;
pub mod embedders;
mod error;
pub mod models_selection;
pub mod speeds;
pub mod watching;

pub use cairn_lexicon::DictionaryFile;
pub use error::{HostError, HostResult};

use cairn_core::engine::{EngineConfig, Ports, RepairReport};
use cairn_core::ingest::IngestEvent;
use cairn_core::ports::{Conversations, Embedder, Generator};
use cairn_core::Engine;
use cairn_extract::{IsolatedExtractor, Limits, WorkerCommand};
use cairn_models::{Backend, EmbedderOptions, GeneratorOptions, OnnxEmbedder, Precision};
use cairn_store::{CatalogStores, DataLock};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Logs to stderr, filtered by `CAIRN_LOG` (default: warnings, and the engines' errors only).
/// Document text, prompts and answers are logged at TRACE only.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CAIRN_LOG")
                .unwrap_or_else(|_| default_log_filter()),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// Warnings, and only the errors of the model engines. llama.cpp's own lines reach `tracing`
/// under the target `llama-cpp-2` (as llama-cpp-2 forwards them), its Rust code's under
/// `llama_cpp_2`: both are named.
pub fn default_log_filter() -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::new(
        "warn,mistralrs_core=error,mistralrs_quant=error,llama_cpp_2=error,llama-cpp-2=error",
    )
}

/// The default embedding model for new libraries (multilingual: German, French, Spanish and
/// about a hundred more languages), as a folder under the models folder: the catalogue's.
pub fn default_embedder() -> PathBuf {
    cairn_models::catalogue::default_embedder().installed_path()
}

/// The default language model, as a path under the models folder: the catalogue's.
pub fn default_generator() -> PathBuf {
    cairn_models::catalogue::default_chat().installed_path()
}

/// Where data and models are.
#[derive(Debug, Clone)]
pub struct Paths {
    pub data_dir: PathBuf,
    pub embedder: PathBuf,
    pub generator: PathBuf,
}

impl Paths {
    pub fn resolve(
        data_dir: Option<PathBuf>,
        embedder: Option<PathBuf>,
        generator: Option<PathBuf>,
    ) -> HostResult<Self> {
        let dirs = directories::ProjectDirs::from("", "", "cairn");
        let data_dir =
            match data_dir {
                Some(d) => d,
                None => dirs.as_ref().map(|d| d.data_dir().to_path_buf()).ok_or(
                    HostError::NoFolder {
                        what: "data folder",
                        hint: "pass --data-dir",
                    },
                )?,
            };
        // What `cairn models use` chose, else the defaults in the models folder.
        let selection = models_dir(dirs.as_ref()).map(|m| models_selection::load(&m));
        let embedder = match embedder {
            Some(e) => e,
            None => match selection.as_ref().ok().and_then(|s| s.embedder.clone()) {
                Some(e) => e,
                None => models_dir(dirs.as_ref())?.join(default_embedder()),
            },
        };
        let generator = match generator {
            Some(g) => g,
            None => match selection.as_ref().ok().and_then(|s| s.chat.clone()) {
                Some(g) => g,
                None => models_dir(dirs.as_ref())?.join(default_generator()),
            },
        };
        Ok(Paths {
            data_dir,
            embedder,
            generator,
        })
    }
}

/// Free memory of the largest GPU this build's llama.cpp can use (0 without one).
pub fn gpu_free_memory() -> u64 {
    cairn_models::gpu_free_memory()
}

/// The folder models are kept in: `CAIRN_MODELS`, or the platform's cache folder.
pub fn models_folder() -> HostResult<PathBuf> {
    models_dir(directories::ProjectDirs::from("", "", "cairn").as_ref())
}

fn models_dir(dirs: Option<&directories::ProjectDirs>) -> HostResult<PathBuf> {
    if let Some(dir) = std::env::var_os("CAIRN_MODELS") {
        return Ok(PathBuf::from(dir));
    }
    dirs.map(|d| d.cache_dir().join("models"))
        .ok_or(HostError::NoFolder {
            what: "models folder",
            hint: "set CAIRN_MODELS or pass --embedder",
        })
}

/// Where bilingual dictionaries (FreeDict's dictd files) are looked for: the folders in
/// `CAIRN_DICTIONARIES`, else `dictionaries` in the models folder and the system's dictd
/// folder (`apt install dict-freedict-eng-deu` puts them there).
pub fn dictionary_folders() -> Vec<PathBuf> {
    if let Some(list) = std::env::var_os("CAIRN_DICTIONARIES") {
        return std::env::split_paths(&list).collect();
    }
    let mut folders: Vec<PathBuf> = models_folder()
        .map(|m| m.join("dictionaries"))
        .into_iter()
        .collect();
    folders.push(PathBuf::from("/usr/share/dictd"));
    folders
}

/// The dictionaries questions can be translated through (`cairn doctor` lists them).
pub fn dictionaries() -> Vec<cairn_lexicon::DictionaryFile> {
    cairn_lexicon::FreeDict::discover(&dictionary_folders()).files()
}

/// `folder`, or a temporary folder that lives as long as the returned guard.
pub fn folder_or_temp(folder: Option<&Path>) -> HostResult<(PathBuf, Option<tempfile::TempDir>)> {
    Ok(match folder {
        Some(f) => (f.to_path_buf(), None),
        None => {
            let temp = tempfile::tempdir().map_err(|source| HostError::Io {
                action: "create",
                path: "a temporary folder".to_string(),
                source,
            })?;
            (temp.path().to_path_buf(), Some(temp))
        }
    })
}

/// ONNX Runtime's shared library: `CAIRN_ONNXRUNTIME`, else beside the executable (an
/// installed app), else in the models folder (where scripts/setup puts the PyPI wheel's).
pub fn onnxruntime_library() -> HostResult<PathBuf> {
    const NAME: &str = "libonnxruntime.so";
    if let Some(path) = std::env::var_os("CAIRN_ONNXRUNTIME") {
        return Ok(PathBuf::from(path));
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(NAME)));
    if let Some(path) = beside.filter(|p| p.is_file()) {
        return Ok(path);
    }
    let dirs = directories::ProjectDirs::from("", "", "cairn");
    Ok(models_dir(dirs.as_ref())?.join("onnxruntime").join(NAME))
}

/// How embedders run here: on this ONNX Runtime, at `precision`.
pub(crate) fn embedder_options(precision: Precision) -> HostResult<EmbedderOptions> {
    Ok(EmbedderOptions {
        runtime: onnxruntime_library()?,
        precision,
        ..EmbedderOptions::default()
    })
}

/// Loads the embedder (on a blocking thread: it reads 20–120 MB of weights), with the
/// weights `CAIRN_EMBED_PRECISION` names (int8 or fp32), else those its card recommends.
pub async fn load_embedder(path: &Path) -> HostResult<OnnxEmbedder> {
    let precision = match std::env::var("CAIRN_EMBED_PRECISION") {
        Ok(text) => text.parse::<Precision>().map_err(|_| HostError::Setting {
            name: "CAIRN_EMBED_PRECISION",
            value: text,
            expected: "int8 or fp32",
        })?,
        Err(_) => Precision::default(),
    };
    let options = embedder_options(precision)?;
    let path = path.to_path_buf();
    let shown = path.display().to_string();
    tokio::task::spawn_blocking(move || OnnxEmbedder::load(&path, &options))
        .await?
        .map_err(|source| HostError::Embedder {
            folder: shown,
            source,
        })
}

/// The extractor, running workers of this very binary. `CAIRN_EXTRACT_TIMEOUT` (seconds,
/// default 90) and `CAIRN_EXTRACT_MEMORY_MIB` (default 3,072) change the limits of one file.
pub fn extractor() -> HostResult<IsolatedExtractor> {
    let exe = std::env::current_exe().map_err(|source| HostError::Io {
        action: "find",
        path: "the cairn executable".to_string(),
        source,
    })?;
    let mut limits = Limits::default();
    if let Ok(text) = std::env::var("CAIRN_EXTRACT_TIMEOUT") {
        let seconds: f64 = text
            .trim()
            .parse()
            .ok()
            .filter(|s: &f64| s.is_finite() && *s > 0.0)
            .ok_or_else(|| HostError::Setting {
                name: "CAIRN_EXTRACT_TIMEOUT",
                value: text.clone(),
                expected: "a number of seconds above 0",
            })?;
        limits.timeout = std::time::Duration::from_secs_f64(seconds);
    }
    if let Ok(text) = std::env::var("CAIRN_EXTRACT_MEMORY_MIB") {
        let mib: u64 = text
            .trim()
            .parse()
            .ok()
            .filter(|m| *m >= 64)
            .ok_or_else(|| HostError::Setting {
                name: "CAIRN_EXTRACT_MEMORY_MIB",
                value: text.clone(),
                expected: "a whole number of MiB, 64 or more",
            })?;
        limits.memory_bytes = mib << 20;
    }
    Ok(IsolatedExtractor::new(
        WorkerCommand {
            program: exe,
            args: vec!["extract-worker".into()],
        },
        limits,
    ))
}

/// Loads the language model with the engine `options` name, saying what to do when it is
/// missing.
pub async fn load_generator(
    path: &Path,
    options: GeneratorOptions,
) -> HostResult<Arc<dyn Generator>> {
    if !path.is_file() {
        return Err(HostError::NoGenerator {
            path: path.display().to_string(),
        });
    }
    let mut options = options;
    if options.backend == Backend::Auto {
        // Measured on this machine (`cairn bench generation --record`) beats the rule.
        // A measurement decides only for the model it was made with (its file name).
        let gpu = Backend::GPU_BUILD && !options.force_cpu;
        let model = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(faster) = speeds::SpeedFile::default_location()
            .and_then(|f| f.load().ok())
            .and_then(|s| s.faster(gpu, &model))
        {
            options.backend = faster;
        }
    }
    // Every model error names the file already.
    Ok(cairn_models::load_generator(path, options).await?)
}

/// The engine and the chat store of a data folder.
pub struct Opened {
    pub engine: Engine,
    pub conversations: Arc<dyn Conversations>,
    /// The previous process on the folder was killed (or crashed) before closing it.
    pub unclean_shutdown: bool,
    /// Derived stores that were damaged, set aside and started empty.
    pub recreated: Vec<String>,
    /// The data folder's lock (told when the stores were recovered).
    pub lock: Option<Arc<DataLock>>,
    /// What opening did that a person should hear about (recovery after a crash, say).
    pub notes: Vec<String>,
    /// The embedder the library searches with (its own; the configured one when new).
    pub embedder: OnnxEmbedder,
    /// The configured embedder, when the library searches with another: switching to it
    /// re-embeds the library (`embedders::switch`).
    pub pending_embedder: Option<OnnxEmbedder>,
    /// The engine's extractor, to change the OCR languages of the next files.
    pub extractor: Arc<IsolatedExtractor>,
}

impl Opened {
    /// After a repair that left the stores healthy, closing counts as a clean close.
    pub fn mark_recovered(&self, report: &RepairReport) {
        if let (true, Some(lock)) = (report.after.healthy(), &self.lock) {
            lock.mark_recovered();
        }
    }
}

/// Opens the engine and the chat store on a data folder; after an unclean shutdown, or when
/// a derived store had to be started afresh, the stores are checked and repaired first.
pub async fn open_stores(data_dir: &Path, embedder: OnnxEmbedder) -> HostResult<Opened> {
    let mut opened = open_unchecked(data_dir, embedder).await?;
    if opened.unclean_shutdown || !opened.recreated.is_empty() {
        recover(&mut opened).await?;
    }
    Ok(opened)
}

/// Opens the stores as they are, without the recovery check (`cairn doctor` looks first).
/// The library searches with the embedder its catalog records; `configured` is recorded for
/// a new library, and otherwise offered as `pending_embedder`.
pub async fn open_unchecked(data_dir: &Path, configured: OnnxEmbedder) -> HostResult<Opened> {
    let cannot_open = |source| HostError::Open {
        folder: data_dir.display().to_string(),
        source,
    };
    let stores = CatalogStores::open(data_dir).await.map_err(cannot_open)?;
    let setting = |key: &'static str| {
        let catalog = stores.catalog.clone();
        async move { cairn_core::ports::Catalog::setting(catalog.as_ref(), key).await }
    };
    let chosen = embedders::choose(
        setting(cairn_core::engine::EMBEDDER_SETTING).await?,
        setting(embedders::EMBEDDER_FOLDER_SETTING).await?,
        configured,
    )
    .await;
    let active = chosen.active;
    let stores = stores
        .with_vectors(active.model_id(), active.dimension())
        .await
        .map_err(cannot_open)?;
    let unclean_shutdown = stores.unclean_shutdown();
    let recreated = stores.recreated.clone();
    let lock = stores.catalog.lock();
    let embedder: Arc<dyn Embedder> = Arc::new(active.clone());
    let config = EngineConfig::for_embedder(embedder.as_ref());
    let conversations: Arc<dyn Conversations> = stores.catalog.clone();
    let isolated = Arc::new(extractor()?);
    let ports = Ports {
        extractor: isolated.clone(),
        catalog: stores.catalog,
        text: stores.text,
        vectors: stores.vectors,
        embedder,
    };
    let mut engine = Engine::new(ports, config);
    if let Some(lock) = &lock {
        // A write that fails part-way leaves the folder to be checked at the next open.
        engine = engine.with_journal(lock.clone());
    }
    engine = engine.with_lexicon(Arc::new(cairn_lexicon::FreeDict::discover(
        &dictionary_folders(),
    )));
    embedders::record(&engine, &active).await?;
    engine.restore_fusion().await?;
    Ok(Opened {
        engine,
        conversations,
        unclean_shutdown,
        recreated,
        lock,
        notes: chosen.notes,
        embedder: active,
        pending_embedder: chosen.pending,
        extractor: isolated,
    })
}

/// Finishes what a killed process left and brings the indexes back in line.
async fn recover(opened: &mut Opened) -> HostResult<()> {
    opened.notes.extend(opened.recreated.iter().cloned());
    let interrupted = opened
        .lock
        .as_ref()
        .and_then(|l| l.interrupted_before().map(str::to_string));
    match interrupted {
        Some(write) => opened
            .notes
            .push(format!("last time {write}; the data folder was checked")),
        None if opened.unclean_shutdown => opened.notes.push(
            "Cairn did not close this data folder cleanly last time; it was checked".to_string(),
        ),
        None => {}
    }
    let report = opened.engine.repair(&|_: &IngestEvent| {}).await?;
    opened.notes.push(repair_summary(&report));
    opened.mark_recovered(&report);
    if !report.after.catalog_problems.is_empty() {
        return Err(HostError::CatalogDamaged {
            problems: report.after.catalog_problems.join("; "),
        });
    }
    Ok(())
}

/// One line on what a repair did.
pub fn repair_summary(report: &RepairReport) -> String {
    let mut parts = Vec::new();
    if report.rebuilt {
        parts.push("rebuilt both indexes from the catalog".to_string());
    }
    if report.readded > 0 {
        parts.push(format!(
            "re-added {} documents to the indexes",
            report.readded
        ));
    }
    if report.strays_removed > 0 {
        parts.push(format!(
            "dropped {} stray documents from the indexes",
            report.strays_removed
        ));
    }
    let resumed = report.resumed.indexed.len() + report.resumed.failed.len();
    if resumed > 0 {
        parts.push(format!("finished {resumed} interrupted files"));
    }
    if !report.kept.is_empty() {
        parts.push(format!(
            "kept the indexed version of {} interrupted files that cannot be found now",
            report.kept.len()
        ));
    }
    if !report.abandoned.is_empty() {
        parts.push(format!(
            "forgot {} interrupted files that are gone",
            report.abandoned.len()
        ));
    }
    let state = if report.after.healthy() {
        "the stores agree"
    } else {
        "the stores still disagree: run `cairn doctor`"
    };
    if parts.is_empty() {
        format!("nothing to repair; {state}")
    } else {
        format!("{}; {state}", parts.join(", "))
    }
}
