use cairn_core::error::PortError;
use cairn_core::ErrorCode;

/// What went wrong reading a dictionary.
#[derive(Debug, thiserror::Error)]
pub enum LexiconError {
    #[error("cannot read the dictionary file {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the dictionary {path} is malformed: {reason}")]
    Malformed { path: String, reason: String },
    #[error("reading a dictionary stopped: {0}")]
    Join(#[from] tokio::task::JoinError),
}

impl From<LexiconError> for PortError {
    fn from(e: LexiconError) -> Self {
        let code = match &e {
            LexiconError::Io { .. } | LexiconError::Malformed { .. } => ErrorCode::Unreadable,
            LexiconError::Join(_) => ErrorCode::Internal,
        };
        PortError {
            code,
            context: e.to_string(),
            source: Some(Box::new(e)),
        }
    }
}
