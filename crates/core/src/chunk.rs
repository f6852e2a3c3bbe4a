//! Chunks: the passages that are indexed, retrieved and cited.

use crate::document::PageUnit;
use crate::ids::{ChunkId, DocumentId};
use serde::{Deserialize, Serialize};

/// A passage of a document. `text` is exactly `document.text[start..end]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Chunk {
    pub id: ChunkId,
    pub document_id: DocumentId,
    /// Position of the chunk in its document, from 0.
    pub ordinal: u32,
    pub text: String,
    /// UTF-8 byte offsets into the extracted text of the document.
    pub start: usize,
    pub end: usize,
    /// First and last page the chunk touches (1-based); `None` for formats without pages.
    pub page_start: Option<u32>,
    pub page_end: Option<u32>,
    /// Whether those pages are printed pages or slides.
    #[serde(default)]
    pub page_unit: PageUnit,
    pub heading_path: Vec<String>,
    /// Tokens of [`Chunk::embedding_text`] as the embedder counts them.
    pub token_count: u32,
}

impl Chunk {
    /// The text handed to the embedder: the heading path gives a passage its context.
    pub fn embedding_text(&self) -> String {
        embedding_text(&self.heading_path, &self.text)
    }

    /// `p. 3`, `pp. 3–4`, `slide 3` or the heading path, for people reading a result.
    pub fn location(&self) -> String {
        match (self.page_start, self.page_end) {
            (Some(a), b) => self.page_unit.cite(a, b.unwrap_or(a)),
            _ if !self.heading_path.is_empty() => self.heading_path.join(" › "),
            _ => String::new(),
        }
    }
}

/// Joins a heading path and a passage the way chunks are embedded.
pub fn embedding_text(heading_path: &[String], text: &str) -> String {
    if heading_path.is_empty() {
        text.to_string()
    } else {
        format!("{}\n{}", heading_path.join(" > "), text)
    }
}
