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
    /// A scan or photo (PNG, JPEG, TIFF), read by OCR.
    Image,
    /// Slides: each slide is a page, cited as "slide N".
    Pptx,
    /// A workbook (XLSX, ODS): each sheet is a section.
    Spreadsheet,
    Csv,
    /// An ebook: each chapter of the spine is a section.
    Epub,
    Odt,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Pdf => "pdf",
            DocumentKind::Markdown => "markdown",
            DocumentKind::Text => "text",
            DocumentKind::Html => "html",
            DocumentKind::Docx => "docx",
            DocumentKind::Image => "image",
            DocumentKind::Pptx => "pptx",
            DocumentKind::Spreadsheet => "spreadsheet",
            DocumentKind::Csv => "csv",
            DocumentKind::Epub => "epub",
            DocumentKind::Odt => "odt",
        }
    }

    /// What a page of this kind is called in a citation.
    pub fn page_unit(self) -> PageUnit {
        match self {
            DocumentKind::Pptx => PageUnit::Slide,
            _ => PageUnit::Page,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            DocumentKind::Pdf,
            DocumentKind::Markdown,
            DocumentKind::Text,
            DocumentKind::Html,
            DocumentKind::Docx,
            DocumentKind::Image,
            DocumentKind::Pptx,
            DocumentKind::Spreadsheet,
            DocumentKind::Csv,
            DocumentKind::Epub,
            DocumentKind::Odt,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// What the numbered pages of a document are: printed pages, or the slides of a deck.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum PageUnit {
    #[default]
    Page,
    Slide,
}

impl PageUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            PageUnit::Page => "page",
            PageUnit::Slide => "slide",
        }
    }

    /// Unknown names read as pages, the unit of every document before slides existed.
    pub fn parse(s: &str) -> Self {
        if s == "slide" {
            PageUnit::Slide
        } else {
            PageUnit::Page
        }
    }

    /// `p. 3`, `pp. 3–4`, `slide 3`, `slides 3–4`.
    pub fn cite(self, first: u32, last: u32) -> String {
        match (self, first == last) {
            (PageUnit::Page, true) => format!("p. {first}"),
            (PageUnit::Page, false) => format!("pp. {first}–{last}"),
            (PageUnit::Slide, true) => format!("slide {first}"),
            (PageUnit::Slide, false) => format!("slides {first}–{last}"),
        }
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
    /// Pages whose text Tesseract recognised from an image (scans, photos); for an image file,
    /// its frames.
    #[serde(default)]
    pub ocr_pages: Vec<u32>,
}

impl ExtractedDocument {
    /// A document that is only text: no pages, headings, furniture or OCR.
    pub fn plain(kind: DocumentKind, title: Option<String>, text: impl Into<String>) -> Self {
        ExtractedDocument {
            kind,
            title,
            text: text.into(),
            pages: Vec::new(),
            sections: Vec::new(),
            furniture: Vec::new(),
            ocr_pages: Vec::new(),
        }
    }

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
    /// Pages whose text came from OCR ("text from OCR" in the library).
    #[serde(default)]
    pub ocr_pages: u32,
}
