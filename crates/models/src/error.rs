use cairn_core::error::PortError;
use cairn_core::ErrorCode;

/// Errors of the local models.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model file {path} is missing: download the model or point Cairn at its folder")]
    Missing { path: String },
    #[error("cannot read model file {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("model file {path} is malformed: {source}")]
    Config {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("tokenizer failed: {0}")]
    Tokenizer(String),
    #[error("the embedding engine failed: {0}")]
    Runtime(String),
    #[error("embedding task stopped: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[error("cannot load the language model {path}: {message}")]
    Load { path: String, message: String },
    #[error("the language model failed: {0}")]
    Generation(String),
    #[error(
        "this CPU lacks {missing}, which Cairn's llama.cpp engine was built for (x86-64-v3: \
         Intel Haswell, AMD Zen or newer): choose the mistral.rs engine (--backend mistral.rs, \
         or Engine in Settings), which runs on any x86-64 CPU, more slowly"
    )]
    UnsupportedCpu { missing: String },
}

impl cairn_core::error::Coded for ModelError {
    fn code(&self) -> ErrorCode {
        match self {
            ModelError::Missing { .. } => ErrorCode::ModelMissing,
            ModelError::Io { .. } => ErrorCode::Unreadable,
            ModelError::Config { .. } => ErrorCode::CorruptFile,
            ModelError::UnsupportedCpu { .. } => ErrorCode::InvalidRequest,
            ModelError::Tokenizer(_)
            | ModelError::Runtime(_)
            | ModelError::Join(_)
            | ModelError::Load { .. }
            | ModelError::Generation(_) => ErrorCode::Internal,
        }
    }
}

impl From<ModelError> for PortError {
    fn from(e: ModelError) -> Self {
        let code = cairn_core::error::Coded::code(&e);
        PortError {
            code,
            context: e.to_string(),
            source: Some(Box::new(e)),
        }
    }
}
