//! Which model answers: the local GGUF chat model, loaded once and kept while its file and
//! its options stay the same, or a served model, with its API key from `CAIRN_API_KEY` or
//! the system keychain. `cairn ask`, `cairn chat` and the app all get their model here.

use crate::{HostError, HostResult};
use cairn_core::ports::Generator;
use cairn_models::remote::keychain;
use cairn_models::{ApiKey, GeneratorOptions, RemoteGenerator, RemoteOptions};
use std::path::PathBuf;
use std::sync::Arc;

/// The served model `options` name, with the key for its server when the options carry none.
pub async fn served(mut options: RemoteOptions) -> HostResult<RemoteGenerator> {
    if options.api_key.is_none() {
        options.api_key = key_for(&options.url).await;
    }
    RemoteGenerator::new(options).map_err(HostError::Served)
}

/// The key for a server: `CAIRN_API_KEY` when set, else the keychain's. A keychain that
/// cannot be used counts as no key (most servers on a LAN want none); the server's refusal
/// then says where to put one.
async fn key_for(url: &str) -> Option<ApiKey> {
    if let Some(key) = std::env::var("CAIRN_API_KEY").ok().and_then(ApiKey::new) {
        return Some(key);
    }
    match keychain::stored_async(url.to_string()).await {
        Ok(key) => key,
        Err(e) => {
            tracing::debug!(error = %e, "no API key from the keychain");
            None
        }
    }
}

/// The model a person chose to answer with.
#[derive(Debug, Clone)]
pub enum GeneratorChoice {
    /// A GGUF file run here, with these options.
    Local {
        path: PathBuf,
        options: GeneratorOptions,
    },
    /// A model on an OpenAI-compatible server. Without a key in the options, the key stored
    /// for the server is used.
    Served(RemoteOptions),
}

struct Loaded {
    path: PathBuf,
    options: GeneratorOptions,
    model: Arc<dyn Generator>,
}

/// The models that answer, the local one kept loaded between questions.
#[derive(Default)]
pub struct Generators {
    local: tokio::sync::Mutex<Option<Loaded>>,
}

impl Generators {
    /// The model `choice` names: the local one already loaded when its file and options are
    /// the same, else loaded now (and the one loaded before let go first, so that two large
    /// models are never in memory at once).
    pub async fn get(&self, choice: GeneratorChoice) -> HostResult<Arc<dyn Generator>> {
        match choice {
            GeneratorChoice::Served(options) => Ok(Arc::new(served(options).await?)),
            GeneratorChoice::Local { path, options } => {
                let mut slot = self.local.lock().await;
                if let Some(loaded) = slot.as_ref() {
                    if loaded.path == path && loaded.options == options {
                        return Ok(Arc::clone(&loaded.model));
                    }
                }
                *slot = None;
                let model = crate::load_generator(&path, options.clone()).await?;
                *slot = Some(Loaded {
                    path,
                    options,
                    model: Arc::clone(&model),
                });
                Ok(model)
            }
        }
    }

    /// Whether a local model is loaded now (false while one is being loaded).
    pub fn local_loaded(&self) -> bool {
        self.local.try_lock().is_ok_and(|l| l.is_some())
    }
}
