//! In-memory adapters of every port, so the engine's behaviour can be tested in milliseconds,
//! without a disk, a worker process or a model: a catalog, the two indexes, a file tree, a
//! deterministic embedder, a scripted generator and a chat store. Each keeps the contract its
//! port documents, in the plainest way (a full scan where the real store has an index), and
//! holds nothing the real adapters do not.
//!
//! Core's own tests use them, and other crates reach them through the `testing` feature.
//! Integration tests of the real stack stay in `crates/cli/tests`: what needs the binary, the
//! lock, the worker, real models and real servers.

mod catalog;
mod chats;
mod embedder;
mod files;
mod generator;
mod indexes;

pub use catalog::MemoryCatalog;
pub use chats::MemoryChats;
pub use embedder::WordEmbedder;
pub use files::MemoryFiles;
pub use generator::ScriptedGenerator;
pub use indexes::{MemoryText, MemoryVectors};

use crate::engine::{AnswerPorts, EngineConfig, Ports};
use crate::Engine;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Every in-memory adapter, wired as an engine's ports.
#[derive(Clone)]
pub struct House {
    pub files: Arc<MemoryFiles>,
    pub catalog: Arc<MemoryCatalog>,
    pub text: Arc<MemoryText>,
    pub vectors: Arc<MemoryVectors>,
    pub embedder: Arc<WordEmbedder>,
    pub generator: Arc<ScriptedGenerator>,
    pub chats: Arc<MemoryChats>,
}

impl Default for House {
    fn default() -> Self {
        House {
            files: Arc::new(MemoryFiles::default()),
            catalog: Arc::new(MemoryCatalog::default()),
            text: Arc::new(MemoryText::default()),
            vectors: Arc::new(MemoryVectors::default()),
            embedder: Arc::new(WordEmbedder::default()),
            generator: Arc::new(ScriptedGenerator::default()),
            chats: Arc::new(MemoryChats::default()),
        }
    }
}

impl House {
    /// The ports of an engine over this house.
    pub fn ports(&self) -> Ports {
        Ports {
            extractor: self.files.clone(),
            catalog: self.catalog.clone(),
            text: self.text.clone(),
            vectors: self.vectors.clone(),
            embedder: self.embedder.clone(),
        }
    }

    /// An engine over this house, configured as the real one is for its embedder, with one
    /// extraction at a time (the order of events is then the order of the files).
    pub fn engine(&self) -> Engine {
        let mut config = EngineConfig::for_embedder(self.embedder.as_ref());
        config.extract_workers = 1;
        Engine::new(self.ports(), config)
    }

    /// What answering needs besides the engine: the scripted model and the chat store.
    pub fn answer_ports(&self) -> AnswerPorts {
        AnswerPorts {
            generator: self.generator.clone(),
            conversations: self.chats.clone(),
        }
    }
}

/// The state behind a mutex, also after a test thread panicked holding it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Lower-case words of letters and digits: what the in-memory index and embedder match on.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}
