//! `POST /api/v1/search` and `GET /api/v1/documents`: the library itself, for tools that do
//! their own answering.

use crate::error::ApiError;
use crate::Library;
use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use cairn_core::{DocumentId, SearchHit, SearchMode, SearchRequest};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

#[derive(Deserialize)]
struct Search {
    query: String,
    #[serde(default = "default_k")]
    k: usize,
    #[serde(default)]
    documents: Vec<i64>,
    #[serde(default)]
    mode: Option<SearchMode>,
}

fn default_k() -> usize {
    8
}

pub async fn search(
    State(library): State<Arc<Library>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let search: Search = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid(format!("the body is not a search request: {e}")))?;
    if search.query.trim().is_empty() {
        return Err(ApiError::invalid("the query is empty"));
    }
    let request = SearchRequest {
        query: search.query,
        limit: search.k.clamp(1, 100),
        mode: search.mode.unwrap_or(SearchMode::Hybrid),
        documents: (!search.documents.is_empty())
            .then(|| search.documents.into_iter().map(DocumentId).collect()),
    };
    let hits = library.engine.search(&request).await?;
    Ok(Json(json!({
        "results": hits.iter().map(hit).collect::<Vec<_>>(),
    })))
}

/// A passage found: where it is (document, page or headings) and its text.
pub fn hit(h: &SearchHit) -> Value {
    json!({
        "chunk_id": h.chunk.id,
        "document_id": h.chunk.document_id,
        "document": h.document_path,
        "title": h.document_title,
        "page": h.chunk.page_start,
        "page_end": h.chunk.page_end,
        "location": h.chunk.location(),
        "text": h.chunk.text,
        "score": h.score.0,
    })
}

pub async fn documents(State(library): State<Arc<Library>>) -> Result<Json<Value>, ApiError> {
    let documents = library.engine.documents().await?;
    Ok(Json(json!({
        "documents": documents.iter().map(|d| json!({
            "id": d.id,
            "path": d.path,
            "title": d.title,
            "kind": d.kind,
            "state": d.state,
            "pages": d.page_count,
            "chunks": d.chunk_count,
            "failure": d.failure,
        })).collect::<Vec<_>>(),
    })))
}
