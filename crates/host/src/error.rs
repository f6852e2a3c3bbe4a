//! The one error type of host: whatever fails behind it, with its stable code (`Coded`) and a
//! sentence a person can act on. The front ends read the code; none is recovered by
//! downcasting.

use cairn_core::error::{Coded, PortError};
use cairn_core::{CoreError, ErrorCode};
use cairn_models::ModelError;
use cairn_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The platform names no folder for this, and none was given.
    #[error("no {what} could be determined: {hint}")]
    NoFolder {
        what: &'static str,
        hint: &'static str,
    },
    /// An environment setting has a value Cairn cannot use.
    #[error("{name}={value:?} is not {expected}")]
    Setting {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("cannot open the data folder {folder}: {source}")]
    Open {
        folder: String,
        #[source]
        source: StoreError,
    },
    #[error("cannot open the vector table of the new embedder: {source}")]
    VectorTable {
        #[source]
        source: StoreError,
    },
    #[error(
        "cannot load the embedding model from {folder} (run scripts/setup to fetch it): {source}"
    )]
    Embedder {
        folder: String,
        #[source]
        source: ModelError,
    },
    #[error(
        "no language model at {path}: download Llama 3.1 8B Instruct (`cairn models pull \
         llama-3.1-8b-instruct-q4_k_m`, or Models in the app), or choose another GGUF chat \
         model (--model or CAIRN_GENERATOR, or Settings in the app)"
    )]
    NoGenerator { path: String },
    #[error("cannot watch folders: {message}")]
    Watch { message: String },
    #[error("the catalog is damaged ({problems}); restore catalog.sqlite from a backup")]
    CatalogDamaged { problems: String },
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is malformed: {source}")]
    Malformed {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error(transparent)]
    Port(#[from] PortError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Served(cairn_models::RemoteError),
    #[error("a background task stopped: {0}")]
    Join(#[from] tokio::task::JoinError),
}

impl Coded for HostError {
    fn code(&self) -> ErrorCode {
        match self {
            HostError::NoFolder { .. } | HostError::Setting { .. } => ErrorCode::InvalidRequest,
            HostError::Open { source, .. } | HostError::VectorTable { source } => source.code(),
            HostError::Embedder { .. } | HostError::NoGenerator { .. } => ErrorCode::ModelMissing,
            HostError::CatalogDamaged { .. } | HostError::Malformed { .. } => {
                ErrorCode::CorruptFile
            }
            HostError::Io { .. } | HostError::Watch { .. } => ErrorCode::Unreadable,
            HostError::Core(e) => e.code(),
            HostError::Port(e) => e.code,
            HostError::Model(e) => Coded::code(e),
            HostError::Served(e) => Coded::code(e),
            HostError::Join(_) => ErrorCode::Internal,
        }
    }
}

pub type HostResult<T> = Result<T, HostError>;
