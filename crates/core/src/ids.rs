//! Identifiers and scores that cross module boundaries.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Catalog id of a document; assigned by the catalog, stable across re-ingests of one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct DocumentId(#[cfg_attr(feature = "ts", ts(type = "number"))] pub i64);

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Content-derived id of a chunk: the same text in the same place of the same document always
/// gets the same id, so unchanged chunks keep their embeddings across edits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ChunkId(pub String);

impl ChunkId {
    /// Derives the id from the chunk's document, heading path, text and the number of earlier
    /// chunks in the document with the same heading and text (repeated boilerplate).
    pub fn derive(document: DocumentId, heading_path: &[String], text: &str, repeat: u32) -> Self {
        let mut hasher = blake3::Hasher::new();
        hasher.update(&document.0.to_le_bytes());
        for heading in heading_path {
            hasher.update(heading.as_bytes());
            hasher.update(&[0x1f]);
        }
        hasher.update(&[0x1e]);
        hasher.update(text.as_bytes());
        hasher.update(&repeat.to_le_bytes());
        let hex = hasher.finalize().to_hex();
        ChunkId(hex.as_str()[..32].to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChunkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// BLAKE3 hash of a file's bytes, hex encoded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ContentHash(pub String);

impl ContentHash {
    pub fn of_bytes(bytes: &[u8]) -> Self {
        ContentHash(blake3::hash(bytes).to_hex().to_string())
    }
}

/// BM25 score from the full-text index; larger is better.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Bm25Score(pub f32);

/// Cosine distance from the vector store; smaller is better (0 = same direction).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct VectorDistance(pub f32);

/// Reciprocal-rank-fusion score; larger is better.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct FusedScore(pub f32);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_ids_depend_on_document_text_heading_and_repeat() {
        let h = vec!["Intro".to_string()];
        let a = ChunkId::derive(DocumentId(1), &h, "hello", 0);
        assert_eq!(a, ChunkId::derive(DocumentId(1), &h, "hello", 0));
        assert_ne!(a, ChunkId::derive(DocumentId(2), &h, "hello", 0));
        assert_ne!(a, ChunkId::derive(DocumentId(1), &[], "hello", 0));
        assert_ne!(a, ChunkId::derive(DocumentId(1), &h, "hello!", 0));
        assert_ne!(a, ChunkId::derive(DocumentId(1), &h, "hello", 1));
        assert_eq!(a.as_str().len(), 32);
    }
}

/// Catalog id of a chat (a conversation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ChatId(#[cfg_attr(feature = "ts", ts(type = "number"))] pub i64);

impl fmt::Display for ChatId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Catalog id of one message of a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct MessageId(#[cfg_attr(feature = "ts", ts(type = "number"))] pub i64);

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
