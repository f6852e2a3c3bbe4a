//! Search requests and results.

use crate::chunk::Chunk;
use crate::ids::{Bm25Score, DocumentId, FusedScore, VectorDistance};
use crate::retrieval::fusion::Ranked;
use serde::{Deserialize, Serialize};

/// Which retrievers a search uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum SearchMode {
    /// BM25 and vector candidates fused.
    Hybrid,
    Bm25,
    Vector,
}

/// A question to search the indexes with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchRequest {
    pub query: String,
    /// How many chunks to return.
    pub limit: usize,
    pub mode: SearchMode,
    /// Only search these documents when given.
    pub documents: Option<Vec<DocumentId>>,
}

impl SearchRequest {
    pub fn hybrid(query: impl Into<String>, limit: usize) -> Self {
        SearchRequest {
            query: query.into(),
            limit,
            mode: SearchMode::Hybrid,
            documents: None,
        }
    }
}

/// A retrieved chunk with its document and what each retriever said about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct SearchHit {
    pub chunk: Chunk,
    pub document_path: String,
    pub document_title: Option<String>,
    /// Fused score in hybrid mode; the single retriever's score otherwise.
    pub score: FusedScore,
    pub bm25: Option<Ranked<Bm25Score>>,
    pub vector: Option<Ranked<VectorDistance>>,
}
