use cairn_core::{ErrorCode, Failure};

/// Why a document could not be extracted.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("unsupported file type{}", .0.as_deref().map(|e| format!(" .{e}")).unwrap_or_default())]
    Unsupported(Option<String>),
    #[error("the file looks binary, not text")]
    Binary,
    #[error("the PDF is protected by a password")]
    Encrypted,
    #[error("the PDF cannot be decrypted: {0}")]
    Decryption(String),
    #[error("the PDF is damaged: {0}")]
    CorruptPdf(String),
    #[error("no page of the PDF could be read: {0}")]
    NoReadablePage(String),
    #[error("the DOCX is damaged: {0}")]
    CorruptDocx(String),
    #[error("the DOCX expands to more than {limit_mib} MiB (a zip bomb?)")]
    DocxTooLarge { limit_mib: u64 },
    #[error("the HTML cannot be converted: {0}")]
    Html(#[source] std::io::Error),
    #[error("the file is larger than the {limit_mib} MiB limit")]
    TooLarge { limit_mib: u64 },
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl ExtractError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ExtractError::Unsupported(_) | ExtractError::Binary => ErrorCode::UnsupportedFile,
            ExtractError::Encrypted | ExtractError::Decryption(_) => ErrorCode::Encrypted,
            ExtractError::CorruptPdf(_)
            | ExtractError::NoReadablePage(_)
            | ExtractError::CorruptDocx(_)
            | ExtractError::Html(_) => ErrorCode::CorruptFile,
            ExtractError::DocxTooLarge { .. } | ExtractError::TooLarge { .. } => {
                ErrorCode::TooLarge
            }
            ExtractError::Io { .. } => ErrorCode::Unreadable,
        }
    }

    pub fn to_failure(&self) -> Failure {
        Failure::new(self.code(), self.to_string())
    }
}
