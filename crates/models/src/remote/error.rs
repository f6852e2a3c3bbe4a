//! What goes wrong with a served model, said so that a person can act on it. No message
//! holds the API key: it only ever travels in a header.

use cairn_core::error::PortError;
use cairn_core::ErrorCode;

/// Errors of the remote generator.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("the model server at {url} cannot be reached: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the model server at {url} refused the API key ({status}): check the key in Settings, `cairn key set` or CAIRN_API_KEY")]
    Refused { url: String, status: u16 },
    #[error(
        "the model server at {url} has no model {model} or no chat-completions endpoint (404)"
    )]
    NotFound { url: String, model: String },
    #[error("the model server at {url} answered {status}: {message}")]
    Status {
        url: String,
        status: u16,
        message: String,
    },
    #[error("the model server at {url} sent no answer within {seconds} s")]
    FirstTokenTimeout { url: String, seconds: u64 },
    #[error("the model server at {url} stopped sending mid-answer: nothing for {seconds} s, so the answer ends here")]
    Stalled { url: String, seconds: u64 },
    #[error("the model server at {url} closed the answer before its first word")]
    Empty { url: String },
    #[error("the connection to the model server at {url} broke: {reason}")]
    Cut { url: String, reason: String },
    #[error("the model server at {url} reported an error: {message}")]
    Server { url: String, message: String },
    #[error("the server URL {url} is not a valid http(s) URL")]
    BadUrl { url: String },
    #[error("cannot read the tokenizer {path}: {reason}")]
    Tokenizer { path: String, reason: String },
}

impl RemoteError {
    /// Worth another try before the first token: the server may be starting, busy or
    /// restarting. A refused key, a missing model or a bad request will not change.
    pub fn is_transient(&self) -> bool {
        match self {
            RemoteError::Unreachable { .. }
            | RemoteError::Empty { .. }
            | RemoteError::Cut { .. } => true,
            RemoteError::Status { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

impl cairn_core::error::Coded for RemoteError {
    fn code(&self) -> ErrorCode {
        match self {
            RemoteError::NotFound { .. } | RemoteError::Tokenizer { .. } => ErrorCode::ModelMissing,
            RemoteError::FirstTokenTimeout { .. } | RemoteError::Stalled { .. } => {
                ErrorCode::Timeout
            }
            RemoteError::BadUrl { .. } => ErrorCode::InvalidRequest,
            RemoteError::Refused { .. } => ErrorCode::Unauthorized,
            RemoteError::Unreachable { .. } | RemoteError::Cut { .. } => ErrorCode::Unreachable,
            _ => ErrorCode::Internal,
        }
    }
}

impl From<RemoteError> for PortError {
    fn from(e: RemoteError) -> Self {
        let code = cairn_core::error::Coded::code(&e);
        PortError {
            code,
            context: e.to_string(),
            source: Some(Box::new(e)),
        }
    }
}
