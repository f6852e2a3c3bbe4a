use cairn_core::error::PortError;
use cairn_core::ErrorCode;

/// Errors of the stores.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("catalog query failed: {0}")]
    Sqlite(#[from] sqlx::Error),
    #[error("catalog migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("catalog holds malformed data: {0}")]
    Malformed(String),
    #[error("full-text index failed: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("full-text query failed: {0}")]
    TantivyQuery(#[from] tantivy::query::QueryParserError),
    #[error("vector store failed: {0}")]
    Lance(#[from] lancedb::Error),
    #[error("vector data failed: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("background task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[error(
        "another Cairn is using the data folder {path} ({holder}): close it first, or point \
         --data-dir at another folder"
    )]
    Busy { path: String, holder: String },
    #[error("vectors have {got} dimensions, the store holds {want}")]
    Dimension { got: usize, want: usize },
}

impl cairn_core::error::Coded for StoreError {
    fn code(&self) -> ErrorCode {
        StoreError::code(self)
    }
}

impl StoreError {
    /// The stable code the front ends branch on.
    pub fn code(&self) -> ErrorCode {
        match self {
            StoreError::Dimension { .. } => ErrorCode::InvalidRequest,
            StoreError::Busy { .. } => ErrorCode::Busy,
            _ => ErrorCode::Internal,
        }
    }
}

impl From<StoreError> for PortError {
    fn from(e: StoreError) -> Self {
        let code = e.code();
        PortError {
            code,
            context: e.to_string(),
            source: Some(Box::new(e)),
        }
    }
}
