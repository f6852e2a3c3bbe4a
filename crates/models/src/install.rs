//! The models folder: what is installed, downloading a catalogue model or any GGUF of the
//! Hub into it, importing a GGUF of one's own (checked first), and removing one.
//!
//! Layout: a chat model is `<models>/<folder>/<file>.gguf`; an embedder is the folder
//! `<models>/embedders/<name>/` with `model.onnx`, `tokenizer.json` and
//! `cairn-embedder.json`; imported GGUFs go to `<models>/imported/`.

use crate::catalogue::{Entry, Fit, Kind, Machine, CATALOGUE};
use crate::gguf::{check_chat_model, GgufProblem};
use cairn_hub::{Cancel, Download, Hub, HubError, Progress, Request, Retry};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Why a model could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error(transparent)]
    Hub(#[from] HubError),
    #[error(transparent)]
    Gguf(#[from] GgufProblem),
    #[error("no model called {0} is installed or in the catalogue (`cairn models list`)")]
    Unknown(String),
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl cairn_core::error::Coded for InstallError {
    fn code(&self) -> cairn_core::ErrorCode {
        match self {
            InstallError::Hub(e) => cairn_core::error::Coded::code(e),
            InstallError::Gguf(_) => cairn_core::ErrorCode::UnsupportedFile,
            InstallError::Unknown(_) => cairn_core::ErrorCode::NotFound,
            InstallError::Io { .. } => cairn_core::ErrorCode::Unreadable,
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> InstallError {
    let path = path.display().to_string();
    move |source| InstallError::Io { path, source }
}

/// A model in the models folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Installed {
    /// The file name (chat models) or folder name (embedders).
    pub name: String,
    pub kind: Kind,
    pub path: PathBuf,
    pub size: u64,
}

/// A model as a person choosing one sees it: from the catalogue (with what it needs and
/// whether it fits this machine) or installed by other means.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overview {
    pub name: String,
    pub title: String,
    pub kind: Kind,
    pub repo: Option<String>,
    pub licence: Option<String>,
    pub size: u64,
    pub memory_needed: Option<u64>,
    pub fit: Option<Fit>,
    pub installed: bool,
    pub recommended: bool,
    pub path: Option<PathBuf>,
}

/// Hears of the interruptions downloads recover from.
type RetryNotice = std::sync::Arc<dyn Fn(&Retry) + Send + Sync>;

/// The models folder.
pub struct Models {
    pub folder: PathBuf,
    /// Told of each interruption a download recovers from.
    on_retry: Option<RetryNotice>,
}

impl Models {
    pub fn new(folder: impl Into<PathBuf>) -> Self {
        Models {
            folder: folder.into(),
            on_retry: None,
        }
    }

    /// Downloads tell `notice` of each interruption they recover from (a cut connection, a
    /// stall), before they resume.
    pub fn on_retry(mut self, notice: impl Fn(&Retry) + Send + Sync + 'static) -> Self {
        self.on_retry = Some(std::sync::Arc::new(notice));
        self
    }

    fn download<'a>(&self, hub: &'a Hub, request: Request) -> Download<'a> {
        let mut download = Download::new(hub, request);
        if let Some(notice) = self.on_retry.clone() {
            download.on_retry = Box::new(move |r| notice(r));
        }
        download
    }

    /// Where a catalogue model is (or would be) installed.
    pub fn path_of(&self, entry: &Entry) -> PathBuf {
        self.folder.join(entry.installed_path())
    }

    /// Whether a catalogue model is installed (fully: a `.part` does not count).
    pub fn has(&self, entry: &Entry) -> bool {
        let path = self.path_of(entry);
        match entry.kind {
            Kind::Chat => path.is_file(),
            Kind::Embedder => path.join(crate::EMBEDDER_FILE).is_file(),
        }
    }

    /// Downloads a catalogue model: each file resumable and verified, an embedder's folder
    /// completed with its description. Returns where it is.
    pub async fn pull(
        &self,
        hub: &Hub,
        entry: &Entry,
        progress: &(dyn Fn(&str, Progress) + Send + Sync),
        cancel: &Cancel,
    ) -> Result<PathBuf, InstallError> {
        let folder = self.folder.join(entry.folder);
        for file in entry.files {
            let request = Request {
                repo: entry.repo.into(),
                revision: entry.revision.into(),
                file: file.path.into(),
                folder: folder.clone(),
                sha256: file.sha256.map(str::to_string),
            };
            let shown = |p: Progress| progress(file.path, p);
            self.download(hub, request).run(&shown, cancel).await?;
        }
        if let Some(e) = &entry.embedder {
            let description = serde_json::json!({
                "name": entry.name,
                "dimension": e.dimension,
                "max_tokens": e.max_tokens,
                "pooling": "mean",
                "query_prefix": e.query_prefix,
                "passage_prefix": e.passage_prefix,
                "languages": e.languages,
            });
            let path = folder.join(crate::EMBEDDER_FILE);
            std::fs::write(&path, description.to_string()).map_err(io(&path))?;
        }
        let installed = self.path_of(entry);
        if entry.kind == Kind::Chat {
            check_chat_model(&installed)?;
        }
        Ok(installed)
    }

    /// Downloads any GGUF of the Hub (`repo`, `file` at `revision`) as a chat model, checked.
    pub async fn pull_gguf(
        &self,
        hub: &Hub,
        repo: &str,
        revision: &str,
        file: &str,
        progress: &(dyn Fn(Progress) + Send + Sync),
        cancel: &Cancel,
    ) -> Result<PathBuf, InstallError> {
        let folder = self.folder.join(
            repo.rsplit('/')
                .next()
                .unwrap_or(repo)
                .trim_end_matches("-GGUF"),
        );
        let request = Request {
            repo: repo.into(),
            revision: revision.into(),
            file: file.into(),
            folder,
            sha256: None,
        };
        let path = self.download(hub, request).run(progress, cancel).await?;
        if let Err(problem) = check_chat_model(&path) {
            // Verified, but not a model Cairn can chat with: nothing is kept.
            let _ = std::fs::remove_file(&path);
            return Err(problem.into());
        }
        Ok(path)
    }

    /// Imports a GGUF of one's own: checked (magic, version, an architecture llama.cpp knows,
    /// a chat template), then copied into `<models>/imported/`.
    pub fn import(&self, file: &Path) -> Result<PathBuf, InstallError> {
        check_chat_model(file)?;
        let folder = self.folder.join("imported");
        std::fs::create_dir_all(&folder).map_err(io(&folder))?;
        let name = file
            .file_name()
            .ok_or_else(|| InstallError::Unknown(file.display().to_string()))?;
        let target = folder.join(name);
        if std::fs::canonicalize(file).ok() == std::fs::canonicalize(&target).ok() {
            return Ok(target);
        }
        let mut part = target.clone().into_os_string();
        part.push(".part");
        let part = PathBuf::from(part);
        std::fs::copy(file, &part).map_err(io(&part))?;
        std::fs::rename(&part, &target).map_err(io(&target))?;
        Ok(target)
    }

    /// The catalogue (what fits `machine`, the one recommended for it, what is installed),
    /// then the other installed models.
    pub fn overview(&self, machine: &Machine) -> Vec<Overview> {
        let recommended = machine.recommended().name;
        let mut rows: Vec<Overview> = CATALOGUE
            .iter()
            .map(|e| Overview {
                name: e.name.into(),
                title: e.title.into(),
                kind: e.kind,
                repo: Some(e.repo.into()),
                licence: Some(e.licence.into()),
                size: e.size(),
                memory_needed: (e.kind == Kind::Chat).then(|| e.memory_needed()),
                fit: (e.kind == Kind::Chat).then(|| machine.fit(e)),
                installed: self.has(e),
                recommended: e.name == recommended,
                path: self.has(e).then(|| self.path_of(e)),
            })
            .collect();
        let known: Vec<PathBuf> = CATALOGUE.iter().map(|e| self.path_of(e)).collect();
        for i in self
            .installed()
            .into_iter()
            .filter(|i| !known.contains(&i.path))
        {
            rows.push(Overview {
                title: i.name.clone(),
                name: i.name,
                kind: i.kind,
                repo: None,
                licence: None,
                size: i.size,
                memory_needed: None,
                fit: None,
                installed: true,
                recommended: false,
                path: Some(i.path),
            });
        }
        rows
    }

    /// The chat models (`*.gguf`) and embedders in the folder.
    pub fn installed(&self) -> Vec<Installed> {
        let mut out = Vec::new();
        let entries = |dir: &Path| {
            std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .collect::<Vec<_>>()
        };
        for dir in entries(&self.folder).into_iter().filter(|p| p.is_dir()) {
            if dir.file_name().is_some_and(|n| n == "embedders") {
                for e in entries(&dir) {
                    if e.join(crate::EMBEDDER_FILE).is_file() {
                        out.push(Installed {
                            name: e
                                .file_name()
                                .map(|n| n.to_string_lossy().into_owned())
                                .unwrap_or_default(),
                            kind: Kind::Embedder,
                            size: folder_size(&e),
                            path: e,
                        });
                    }
                }
                continue;
            }
            for f in entries(&dir) {
                if f.extension().is_some_and(|x| x == "gguf") && f.is_file() {
                    out.push(Installed {
                        name: f
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                        kind: Kind::Chat,
                        size: std::fs::metadata(&f).map_or(0, |m| m.len()),
                        path: f,
                    });
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Removes an installed model (by file or folder name, or catalogue name), with any
    /// download of it in progress.
    pub fn remove(&self, name: &str) -> Result<PathBuf, InstallError> {
        let path = crate::catalogue::find(name)
            .map(|e| self.path_of(e))
            .filter(|p| p.exists())
            .or_else(|| {
                self.installed()
                    .into_iter()
                    .find(|i| i.name == name)
                    .map(|i| i.path)
            })
            .ok_or_else(|| InstallError::Unknown(name.to_string()))?;
        if path.is_dir() {
            std::fs::remove_dir_all(&path).map_err(io(&path))?;
        } else {
            std::fs::remove_file(&path).map_err(io(&path))?;
            for suffix in [".part", ".part.sha256"] {
                let mut part = path.clone().into_os_string();
                part.push(suffix);
                let _ = std::fs::remove_file(PathBuf::from(part));
            }
        }
        Ok(path)
    }
}

fn folder_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}
