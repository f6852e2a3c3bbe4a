//! What can go wrong with a download, in words a person can act on.

/// Errors of the Hub client.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error(
        "{repo} needs you to accept its licence: open its page on Hugging Face, accept the \
         licence, then set a token (HF_TOKEN, or the token field in Settings) and try again"
    )]
    Gated { repo: String },
    #[error("{what} is not on the Hub ({url})")]
    NotFound { what: String, url: String },
    #[error("the Hub answered {status} for {url}")]
    Status { status: u16, url: String },
    #[error("cannot reach the Hub at {url}: {source}")]
    Network {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("the connection was cut ({source})")]
    Cut {
        #[source]
        source: reqwest::Error,
    },
    #[error("the download stalled: no data for {seconds} s")]
    Stalled { seconds: u64 },
    #[error("not enough disk space in {folder}: {needed_mib} MiB needed, {free_mib} MiB free")]
    DiskFull {
        folder: String,
        needed_mib: u64,
        free_mib: u64,
    },
    #[error(
        "the downloaded {file} is damaged (SHA-256 {got}, the Hub says {expected}); it was \
         deleted, nothing was installed"
    )]
    Corrupt {
        file: String,
        got: String,
        expected: String,
    },
    #[error("the Hub's {file} ({hub}) is not the one the catalogue pins ({pinned})")]
    Mismatch {
        file: String,
        hub: String,
        pinned: String,
    },
    #[error("the download of {file} ended at {got} of {expected} bytes")]
    Short {
        file: String,
        got: u64,
        expected: u64,
    },
    #[error("the download was cancelled; what was downloaded is kept and resumes next time")]
    Cancelled,
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the Hub's answer for {url} is malformed: {message}")]
    Malformed { url: String, message: String },
}

impl cairn_core::error::Coded for HubError {
    fn code(&self) -> cairn_core::ErrorCode {
        use cairn_core::ErrorCode;
        match self {
            HubError::Gated { .. } => ErrorCode::Unauthorized,
            HubError::NotFound { .. } => ErrorCode::NotFound,
            HubError::Status {
                status: 401 | 403, ..
            } => ErrorCode::Unauthorized,
            HubError::Status { .. } | HubError::Network { .. } | HubError::Cut { .. } => {
                ErrorCode::Unreachable
            }
            HubError::Stalled { .. } => ErrorCode::Timeout,
            HubError::DiskFull { .. } => ErrorCode::DiskFull,
            HubError::Corrupt { .. }
            | HubError::Mismatch { .. }
            | HubError::Short { .. }
            | HubError::Malformed { .. } => ErrorCode::CorruptFile,
            HubError::Cancelled => ErrorCode::Cancelled,
            HubError::Io { .. } => ErrorCode::Unreadable,
        }
    }
}

impl HubError {
    /// Whether trying again (from where the download stopped) may help.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            HubError::Network { .. }
                | HubError::Cut { .. }
                | HubError::Stalled { .. }
                | HubError::Short { .. }
        ) || matches!(self, HubError::Status { status, .. } if *status >= 500 || *status == 429)
    }
}
