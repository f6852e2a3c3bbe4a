//! Documents: what extraction produces and what the catalog records.

use crate::error::ErrorCode;
use crate::ids::{ContentHash, DocumentId};
use serde::{Deserialize, Serialize};

/// The format a document was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum DocumentKind {
    Pdf,
    Markdown,
    Text,
    Html,
    Docx,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Pdf => "pdf",
            DocumentKind::Markdown => "markdown",
            DocumentKind::Text => "text",
            DocumentKind::Html => "html",
            DocumentKind::Docx => "docx",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            DocumentKind::Pdf,
            DocumentKind::Markdown,
            DocumentKind::Text,
            DocumentKind::Html,
            DocumentKind::Docx,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A page of the extracted text, as a byte range into [`ExtractedDocument::text`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageSpan {
    /// 1-based page number as printed by a viewer.
    pub number: u32,
    pub start: usize,
    pub end: usize,
}

/// A section under a heading path, as a byte range into [`ExtractedDocument::text`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionSpan {
    /// Headings from the outermost to the innermost, e.g. `["Install", "On Linux"]`.
    pub heading_path: Vec<String>,
    pub start: usize,
    pub end: usize,
}

/// A byte range `[start, end)` of [`ExtractedDocument::text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextRange {
    pub start: usize,
    pub end: usize,
}

/// The text of a document with its structure. Offsets are UTF-8 byte offsets that always fall
/// on character boundaries; pages and sections each cover the text in order without overlap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtractedDocument {
    pub kind: DocumentKind,
    pub title: Option<String>,
    pub text: String,
    /// Empty for formats without pages.
    pub pages: Vec<PageSpan>,
    /// Empty when the format has no headings.
    pub sections: Vec<SectionSpan>,
    /// Page furniture: running headers and footers and page numbers, lines repeated at the
    /// top or bottom of most pages. Never chunked and never quoted as evidence.
    #[serde(default)]
    pub furniture: Vec<TextRange>,
}

impl ExtractedDocument {
    /// Number of pages, or 0 for formats without pages.
    pub fn page_count(&self) -> u32 {
        u32::try_from(self.pages.len()).unwrap_or(u32::MAX)
    }

    /// Whether the document has any visible text at all.
    pub fn has_text(&self) -> bool {
        self.text.chars().any(|c| !c.is_whitespace())
    }
}

/// Where a document is in its life: queued → extracted → indexed, or failed with a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum DocumentState {
    Queued,
    Extracted,
    Indexed,
    Failed,
}

impl DocumentState {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentState::Queued => "queued",
            DocumentState::Extracted => "extracted",
            DocumentState::Indexed => "indexed",
            DocumentState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            DocumentState::Queued,
            DocumentState::Extracted,
            DocumentState::Indexed,
            DocumentState::Failed,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Why a document could not be indexed, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Failure {
    pub code: ErrorCode,
    pub message: String,
}

impl Failure {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

/// A document as the catalog records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct DocumentRecord {
    pub id: DocumentId,
    /// Absolute path of the file, or a `scheme:id` key for documents that came from a dataset.
    pub path: String,
    pub kind: Option<DocumentKind>,
    pub title: Option<String>,
    pub content_hash: ContentHash,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub size_bytes: u64,
    /// Modification time in milliseconds since the Unix epoch.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub mtime_ms: i64,
    pub state: DocumentState,
    pub failure: Option<Failure>,
    pub page_count: u32,
    pub chunk_count: u32,
}
