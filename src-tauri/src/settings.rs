//! What a person can set in the app, kept as JSON in the platform's config folder.
//!
//! Empty paths mean "the default": `CAIRN_DATA_DIR`, `CAIRN_EMBEDDER` and `CAIRN_GENERATOR`
//! when set (the README's run command points them at the test models), otherwise the
//! platform's data and model folders.

use crate::error::{AppError, AppResult};
use cairn_core::ErrorCode;
use cairn_host::answering::GeneratorChoice;
use cairn_host::Paths;
use cairn_models::remote::keychain;
use cairn_models::{Backend, GeneratorOptions, RemoteOptions};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use ts_rs::TS;

/// Answers come from the GGUF model on this computer, or from a served model.
pub const LOCAL: &str = "local";
pub const SERVER: &str = "server";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct Settings {
    /// GGUF chat model; empty for the default.
    pub generator: String,
    /// Sentence-transformers folder; empty for the default.
    pub embedder: String,
    /// Where the catalog and indexes live; empty for the default.
    pub data_dir: String,
    /// Passages retrieved for each question.
    pub passages: u32,
    /// Most tokens of an answer.
    pub max_tokens: u32,
    /// Have the model rewrite a follow-up into a question that stands alone before searching
    /// (one short extra generation: worth it with a fast or served model).
    pub rewrite_follow_ups: bool,
    /// Run the language model on the GPU when this build has one (CUDA or Metal).
    pub use_gpu: bool,
    /// The engine that runs the language model: `auto` (llama.cpp on the CPU, mistral.rs on
    /// a GPU), `llama.cpp` or `mistral.rs`.
    pub backend: String,
    /// Where answers come from: `local` (the GGUF model on this computer) or `server` (a
    /// served model; its API key is kept in the system keychain, never in this file).
    pub answer_with: String,
    /// The served model's OpenAI-compatible API, e.g. `http://gpu-box:8000/v1`.
    pub server_url: String,
    /// The name the server gives the model, e.g. `meta-llama/Llama-3.1-70B-Instruct`.
    pub server_model: String,
    /// Tokens of context the server runs the model with (Llama 3.1: 131072).
    pub server_context: u32,
    /// The languages scans are read in, as Tesseract names them (`deu+eng`); empty for the
    /// system language plus English.
    pub ocr_languages: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            generator: String::new(),
            embedder: String::new(),
            data_dir: String::new(),
            passages: 8,
            max_tokens: 512,
            rewrite_follow_ups: false,
            use_gpu: true,
            backend: "auto".into(),
            answer_with: LOCAL.into(),
            server_url: String::new(),
            server_model: String::new(),
            server_context: RemoteOptions::DEFAULT_CONTEXT as u32,
            ocr_languages: String::new(),
        }
    }
}

impl Settings {
    /// The OCR languages to read scans in; empty for the default.
    pub fn ocr_languages(&self) -> Vec<String> {
        cairn_extract::ocr::parse_languages(&self.ocr_languages)
    }

    /// Reads the settings file; a missing file gives the defaults.
    pub fn load(file: &Path) -> AppResult<Settings> {
        match std::fs::read(file) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                AppError::new(
                    ErrorCode::InvalidRequest,
                    format!("the settings file {} is not valid: {e}", file.display()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(e) => Err(AppError::new(
                ErrorCode::Unreadable,
                format!("cannot read the settings file {}: {e}", file.display()),
            )),
        }
    }

    /// Checks the values and writes them (through a temporary file, so a crash keeps the old).
    pub fn save(&self, file: &Path) -> AppResult<()> {
        self.validate()?;
        let io = |e: std::io::Error| {
            AppError::new(
                ErrorCode::Unreadable,
                format!("cannot write the settings file {}: {e}", file.display()),
            )
        };
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?;
        let tmp = file.with_extension("json.tmp");
        std::fs::write(&tmp, json).map_err(io)?;
        std::fs::rename(&tmp, file).map_err(io)
    }

    pub fn validate(&self) -> AppResult<()> {
        let invalid = |m: &str| Err(AppError::new(ErrorCode::InvalidRequest, m));
        if !(1..=50).contains(&self.passages) {
            return invalid("retrieval depth must be between 1 and 50 passages");
        }
        if !(16..=4096).contains(&self.max_tokens) {
            return invalid("the answer length must be between 16 and 4096 tokens");
        }
        if let Err(e) = self.backend() {
            return invalid(&e);
        }
        match self.answer_with.as_str() {
            LOCAL => {}
            SERVER => {
                if keychain::account(&self.server_url).is_err() {
                    return invalid(
                        "the server URL must be an http(s) URL such as http://gpu-box:8000/v1",
                    );
                }
                if self.server_model.trim().is_empty() {
                    return invalid("name the served model, as the server lists it");
                }
                if !(2048..=2_000_000).contains(&self.server_context) {
                    return invalid(
                        "the server's context window must be between 2048 and 2000000 tokens",
                    );
                }
            }
            _ => return invalid("answers come from the local model or a server"),
        }
        let names_only = self
            .ocr_languages
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | ',' | ' '));
        if !names_only || self.ocr_languages().len() > 8 {
            return invalid(
                "OCR languages are up to 8 of Tesseract's names joined by +, such as deu+eng",
            );
        }
        if !self.generator.is_empty() && !Path::new(&self.generator).is_file() {
            return invalid("the language model must be an existing .gguf file");
        }
        if !self.embedder.is_empty() && !Path::new(&self.embedder).is_dir() {
            return invalid("the embedding model must be an existing folder");
        }
        Ok(())
    }

    /// The served model answers come from, when Settings choose a server (without its key,
    /// which the keychain holds).
    pub fn remote(&self) -> Option<RemoteOptions> {
        (self.answer_with == SERVER).then(|| {
            let mut options = RemoteOptions::new(self.server_url.trim(), self.server_model.trim());
            options.context_window = self.server_context as usize;
            options
        })
    }

    /// The model that answers: the served one, or the local file of `paths` run as Settings
    /// say (GPU or not, which engine).
    pub fn generator_choice(&self, paths: &Paths) -> GeneratorChoice {
        match self.remote() {
            Some(options) => GeneratorChoice::Served(options),
            None => GeneratorChoice::Local {
                path: paths.generator.clone(),
                options: GeneratorOptions {
                    force_cpu: !self.use_gpu,
                    backend: self.backend().unwrap_or_default(),
                    ..GeneratorOptions::default()
                },
            },
        }
    }

    /// The generation engine chosen (`auto` when unset).
    pub fn backend(&self) -> Result<Backend, String> {
        self.backend.parse()
    }

    /// The paths these settings resolve to (empty settings fall back to the environment, then
    /// to the platform folders).
    pub fn paths(&self) -> AppResult<Paths> {
        let given = |s: &str| (!s.is_empty()).then(|| PathBuf::from(s));
        let env = |k: &str| std::env::var_os(k).map(PathBuf::from);
        Paths::resolve(
            given(&self.data_dir).or_else(|| env("CAIRN_DATA_DIR")),
            given(&self.embedder).or_else(|| env("CAIRN_EMBEDDER")),
            given(&self.generator).or_else(|| env("CAIRN_GENERATOR")),
        )
        .map_err(AppError::from)
    }
}

/// The settings file: `$CAIRN_SETTINGS`, or `settings.json` in the platform's config folder.
pub fn settings_file() -> AppResult<PathBuf> {
    if let Some(file) = std::env::var_os("CAIRN_SETTINGS") {
        return Ok(PathBuf::from(file));
    }
    directories::ProjectDirs::from("", "", "cairn")
        .map(|d| d.config_dir().join("settings.json"))
        .ok_or_else(|| AppError::new(ErrorCode::Internal, "no config folder could be determined"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_bad_values_are_refused() -> Result<(), AppError> {
        let dir =
            tempfile::tempdir().map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?;
        let file = dir.path().join("cfg").join("settings.json");
        assert_eq!(Settings::load(&file)?, Settings::default());
        let mine = Settings {
            passages: 12,
            max_tokens: 256,
            use_gpu: false,
            rewrite_follow_ups: true,
            ..Settings::default()
        };
        mine.save(&file)?;
        assert_eq!(Settings::load(&file)?, mine);
        let bad = Settings {
            passages: 0,
            ..Settings::default()
        };
        assert_eq!(
            bad.save(&file).map_err(|e| e.code),
            Err(ErrorCode::InvalidRequest)
        );
        let unknown_engine = Settings {
            backend: "ollama".into(),
            ..Settings::default()
        };
        assert!(unknown_engine.validate().is_err());
        let missing_model = Settings {
            generator: "/nowhere/model.gguf".into(),
            ..Settings::default()
        };
        assert!(missing_model.validate().is_err());
        let german = Settings {
            ocr_languages: "deu+eng".into(),
            ..Settings::default()
        };
        german.save(&file)?;
        assert_eq!(Settings::load(&file)?.ocr_languages(), ["deu", "eng"]);
        for smuggled in ["deu --psm 0", "deu;rm", "a+b+c+d+e+f+g+h+i"] {
            let bad = Settings {
                ocr_languages: smuggled.into(),
                ..Settings::default()
            };
            assert!(bad.validate().is_err(), "{smuggled}");
        }
        let server = Settings {
            answer_with: SERVER.into(),
            server_url: "http://gpu-box:8000/v1".into(),
            server_model: "meta-llama/Llama-3.1-70B-Instruct".into(),
            ..Settings::default()
        };
        server.save(&file)?;
        let remote = Settings::load(&file)?.remote();
        assert_eq!(
            remote.map(|r| (r.url, r.model, r.context_window)),
            Some((
                "http://gpu-box:8000/v1".to_string(),
                "meta-llama/Llama-3.1-70B-Instruct".to_string(),
                131_072
            ))
        );
        for bad in [
            Settings {
                server_url: "gpu-box:8000".into(),
                ..server.clone()
            },
            Settings {
                server_model: " ".into(),
                ..server.clone()
            },
            Settings {
                answer_with: "cloud".into(),
                ..server.clone()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        assert_eq!(Settings::default().remote().map(|r| r.url), None);
        // A file written by an older version (fewer fields) still loads.
        std::fs::write(&file, br#"{"passages": 5}"#)
            .map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?;
        assert_eq!(Settings::load(&file)?.passages, 5);
        Ok(())
    }
}
