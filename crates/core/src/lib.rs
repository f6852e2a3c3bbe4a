//! The domain of Cairn: documents, chunks, grounded answers with citations, and the ports the
//! outer crates implement.
//!
//! Nothing in this crate touches the disk, the network or a model. The [`Engine`] drives the
//! ingest and search pipelines through the traits in [`ports`]; the composition roots (the CLI
//! and the desktop shell) plug in the real extractor, stores and embedder.

pub mod answer;
pub mod cancel;
pub mod chunk;
pub mod chunker;
pub mod conversation;
pub mod document;
pub mod engine;
pub mod error;
pub mod eval;
pub mod generation;
pub mod ids;
pub mod ingest;
pub mod ports;
pub mod retrieval;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use cancel::{Cancel, CancelHandle};
pub use chunk::Chunk;
pub use document::{
    DocumentKind, DocumentRecord, DocumentState, ExtractedDocument, Failure, PageSpan, PageUnit,
    SectionSpan, TextRange,
};
pub use engine::Engine;
pub use error::{CoreError, ErrorCode};
pub use ids::{Bm25Score, ChatId, ChunkId, ContentHash, DocumentId, MessageId, VectorDistance};
pub use retrieval::search::{SearchHit, SearchMode, SearchRequest};
