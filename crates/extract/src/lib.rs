//! Bytes → text with structure: pages for PDFs, heading paths for Markdown, HTML and DOCX.
//!
//! Parsers of hostile formats panic, loop and allocate without bound, so [`IsolatedExtractor`]
//! runs every extraction in a worker process with a time and memory limit; the in-process
//! [`extract_bytes`] is what that worker calls.

mod builder;
mod docx;
mod error;
mod furniture;
mod html;
mod isolate;
mod markdown;
mod pdf;
mod scan;
mod text;
pub mod worker;

pub use error::ExtractError;
pub use isolate::{IsolatedExtractor, Limits, WorkerCommand};
pub use scan::{is_ignored, kind_for_path, scan_paths};

use cairn_core::{DocumentKind, ExtractedDocument};

/// Extracts a document of a known kind from its bytes, in this process.
pub fn extract_bytes(kind: DocumentKind, bytes: &[u8]) -> Result<ExtractedDocument, ExtractError> {
    match kind {
        DocumentKind::Pdf => pdf::extract(bytes),
        DocumentKind::Markdown => markdown::extract(&text::decode(bytes)?),
        DocumentKind::Text => text::extract(bytes),
        DocumentKind::Html => html::extract(&text::decode(bytes)?),
        DocumentKind::Docx => docx::extract(bytes),
    }
}
