//! Errors of the core and the stable codes the front ends branch on.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What went wrong, as a stable code: the UI and scripts branch on this, never on message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum ErrorCode {
    UnsupportedFile,
    EmptyDocument,
    Encrypted,
    CorruptFile,
    Unreadable,
    TooLarge,
    /// Extraction hit its memory limit: tried again later, not a property of the file.
    MemoryLimit,
    Timeout,
    ExtractorCrashed,
    /// The file needs OCR and Tesseract (or a language it needs) is not installed.
    OcrUnavailable,
    /// The file changed while it was being read; it is read again once it settles.
    FileChanged,
    /// Another Cairn process is using the data folder.
    Busy,
    ModelMissing,
    NotFound,
    Cancelled,
    InvalidRequest,
    /// The disk has no room for what is being written (a download, say).
    DiskFull,
    /// A server or the model hub cannot be reached, or the connection broke.
    Unreachable,
    /// A token, an API key or a licence acceptance is needed, or was refused.
    Unauthorized,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::UnsupportedFile => "unsupported_file",
            ErrorCode::EmptyDocument => "empty_document",
            ErrorCode::Encrypted => "encrypted",
            ErrorCode::CorruptFile => "corrupt_file",
            ErrorCode::Unreadable => "unreadable",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::MemoryLimit => "memory_limit",
            ErrorCode::Timeout => "timeout",
            ErrorCode::ExtractorCrashed => "extractor_crashed",
            ErrorCode::OcrUnavailable => "ocr_unavailable",
            ErrorCode::FileChanged => "file_changed",
            ErrorCode::Busy => "busy",
            ErrorCode::ModelMissing => "model_missing",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Cancelled => "cancelled",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::DiskFull => "disk_full",
            ErrorCode::Unreachable => "unreachable",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Internal => "internal",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        const ALL: [ErrorCode; 20] = [
            ErrorCode::UnsupportedFile,
            ErrorCode::EmptyDocument,
            ErrorCode::Encrypted,
            ErrorCode::CorruptFile,
            ErrorCode::Unreadable,
            ErrorCode::TooLarge,
            ErrorCode::MemoryLimit,
            ErrorCode::Timeout,
            ErrorCode::ExtractorCrashed,
            ErrorCode::OcrUnavailable,
            ErrorCode::FileChanged,
            ErrorCode::Busy,
            ErrorCode::ModelMissing,
            ErrorCode::NotFound,
            ErrorCode::Cancelled,
            ErrorCode::InvalidRequest,
            ErrorCode::DiskFull,
            ErrorCode::Unreachable,
            ErrorCode::Unauthorized,
            ErrorCode::Internal,
        ];
        ALL.into_iter().find(|c| c.as_str() == code)
    }
}

impl ErrorCode {
    /// Whether a document that failed with this code is read again by the next ingest or
    /// sync even when its file looks unchanged: the cause lies in the moment (a time-out, a
    /// memory limit, a file still being written, a drive or permission that may come back),
    /// not in the file's bytes. The others wait for the file to change, or for `--retry-failed`.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorCode::Timeout
                | ErrorCode::MemoryLimit
                | ErrorCode::ExtractorCrashed
                | ErrorCode::OcrUnavailable
                | ErrorCode::FileChanged
                | ErrorCode::Unreadable
                | ErrorCode::Busy
                | ErrorCode::Cancelled
                | ErrorCode::DiskFull
                | ErrorCode::Unreachable
                | ErrorCode::Internal
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error that carries its stable code. Every error type a front end can meet implements
/// it, so a code is read, never recovered by downcasting.
pub trait Coded: std::error::Error {
    fn code(&self) -> ErrorCode;
}

impl Coded for CoreError {
    fn code(&self) -> ErrorCode {
        CoreError::code(self)
    }
}

impl Coded for PortError {
    fn code(&self) -> ErrorCode {
        self.code
    }
}

/// An error from one of the ports, as the engine sees it.
#[derive(Debug, thiserror::Error)]
#[error("{context}")]
pub struct PortError {
    pub code: ErrorCode,
    pub context: String,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl PortError {
    pub fn new(code: ErrorCode, context: impl Into<String>) -> Self {
        PortError {
            code,
            context: context.into(),
            source: None,
        }
    }

    pub fn internal<E>(context: impl Into<String>, source: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        PortError {
            code: ErrorCode::Internal,
            context: context.into(),
            source: Some(Box::new(source)),
        }
    }
}

/// Errors of the engine.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("catalog failed: {0}")]
    Catalog(#[source] PortError),
    #[error("full-text index failed: {0}")]
    TextIndex(#[source] PortError),
    #[error("vector store failed: {0}")]
    VectorIndex(#[source] PortError),
    #[error("embedder failed: {0}")]
    Embedder(#[source] PortError),
    #[error("extractor failed: {0}")]
    Extractor(#[source] PortError),
    #[error("the language model failed: {0}")]
    Generator(#[source] PortError),
    #[error("chat storage failed: {0}")]
    Conversations(#[source] PortError),
    #[error("no chat with id {0}")]
    ChatNotFound(crate::ids::ChatId),
    #[error("no document with id {0}")]
    DocumentNotFound(crate::DocumentId),
    #[error("the search query is empty")]
    EmptyQuery,
    #[error("{0}")]
    InvalidRequest(String),
    #[error("cancelled")]
    Cancelled,
}

impl CoreError {
    /// The stable code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            CoreError::Catalog(e)
            | CoreError::TextIndex(e)
            | CoreError::VectorIndex(e)
            | CoreError::Embedder(e)
            | CoreError::Extractor(e)
            | CoreError::Generator(e)
            | CoreError::Conversations(e) => e.code,
            CoreError::ChatNotFound(_) => ErrorCode::NotFound,
            CoreError::DocumentNotFound(_) => ErrorCode::NotFound,
            CoreError::EmptyQuery | CoreError::InvalidRequest(_) => ErrorCode::InvalidRequest,
            CoreError::Cancelled => ErrorCode::Cancelled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_their_names() {
        for code in [
            ErrorCode::Encrypted,
            ErrorCode::Timeout,
            ErrorCode::UnsupportedFile,
        ] {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
        }
        assert_eq!(ErrorCode::parse("nonsense"), None);
    }
}
