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
    /// A damaged DOCX, PPTX, EPUB, spreadsheet, CSV or image.
    #[error("the {format} is damaged: {reason}")]
    Corrupt {
        format: &'static str,
        reason: String,
    },
    /// An ebook whose chapters are encrypted.
    #[error("the {0} is protected by DRM: its chapters are encrypted")]
    Protected(&'static str),
    /// A zip container whose entries expand past the caps.
    #[error("the {format} expands to more than {limit_mib} MiB (a zip bomb?)")]
    Bomb {
        format: &'static str,
        limit_mib: u64,
    },
    /// More content than one document may hold: cells, pixels, pages to recognise.
    #[error("{0}")]
    Limit(String),
    #[error("the HTML cannot be converted: {0}")]
    Html(#[source] std::io::Error),
    #[error("the file is larger than the {limit_mib} MiB limit")]
    TooLarge { limit_mib: u64 },
    /// Text recognition is needed and cannot run (Tesseract or its languages are missing).
    #[error("{0}")]
    OcrUnavailable(String),
    /// Tesseract or poppler failed on a page.
    #[error("{0}")]
    Ocr(String),
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl cairn_core::error::Coded for ExtractError {
    fn code(&self) -> ErrorCode {
        ExtractError::code(self)
    }
}

impl ExtractError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ExtractError::Unsupported(_) | ExtractError::Binary => ErrorCode::UnsupportedFile,
            ExtractError::Encrypted | ExtractError::Decryption(_) | ExtractError::Protected(_) => {
                ErrorCode::Encrypted
            }
            ExtractError::CorruptPdf(_)
            | ExtractError::NoReadablePage(_)
            | ExtractError::Corrupt { .. }
            | ExtractError::Ocr(_)
            | ExtractError::Html(_) => ErrorCode::CorruptFile,
            ExtractError::Bomb { .. } | ExtractError::TooLarge { .. } | ExtractError::Limit(_) => {
                ErrorCode::TooLarge
            }
            ExtractError::OcrUnavailable(_) => ErrorCode::OcrUnavailable,
            ExtractError::Io { .. } => ErrorCode::Unreadable,
        }
    }

    pub fn to_failure(&self) -> Failure {
        Failure::new(self.code(), self.to_string())
    }
}
